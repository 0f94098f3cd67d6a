"""STARTTLS and AUTH on the submission ports, with smtplib and ssl.

AUTH is only offered after STARTTLS on `submission` and straight away on
`submissions` (implicit TLS); a wrong password is 535 5.7.8; mail on
submission needs AUTH (530 5.7.0); once authenticated, relaying to another
domain is accepted (and queued: no remote delivery happens in the test);
the plain `smtp` port never offers AUTH.
"""
import base64
import re
import smtplib
import socket
import ssl
import time
import unittest

from harness import Nougat


def insecure():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def b64(s):
    return base64.b64encode(s.encode("utf-8")).decode()


class TlsAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # An unroutable smarthost-free setup: relayed mail just waits in the queue.
        cls.n = Nougat().start()
        cls.n.add_user("alice@localhost", "alice-pw")
        cls.n.add_user("bob@localhost", "bob-pw")
        cls.n.add_user("carol@localhost", "pässwörd")

    @classmethod
    def tearDownClass(cls):
        cls.n.__exit__(None, None, None)

    def sub(self):
        s = smtplib.SMTP("127.0.0.1", self.n.port("submission"), timeout=10)
        self.addCleanup(s.close)
        return s

    def tls_sub(self):
        s = self.sub()
        s.ehlo("client.test")
        self.assertTrue(s.has_extn("starttls"))
        code, _ = s.starttls(context=insecure())
        self.assertEqual(code, 220)
        s.ehlo("client.test")
        return s

    def test_no_auth_before_starttls(self):
        s = self.sub()
        s.ehlo("client.test")
        self.assertFalse(s.has_extn("auth"), s.esmtp_features)
        code, text = s.docmd("AUTH", "PLAIN " + b64("\0alice@localhost\0alice-pw"))
        self.assertIn(code, (538, 503))
        if code == 538:
            self.assertTrue(text.startswith(b"5.7.11"), text)
        # and it was not accepted silently: MAIL still needs AUTH
        code, text = s.mail("alice@localhost")
        self.assertEqual(code, 530)
        self.assertTrue(text.startswith(b"5.7.0"), text)

    def test_submission_without_auth_530_even_after_tls(self):
        s = self.tls_sub()
        code, text = s.mail("alice@localhost")
        self.assertEqual(code, 530)
        self.assertTrue(text.startswith(b"5.7.0"), text)
        self.assertEqual(s.rcpt("bob@localhost")[0], 503)

    def test_auth_offered_after_starttls(self):
        s = self.tls_sub()
        self.assertTrue(s.has_extn("auth"))
        mechs = s.esmtp_features["auth"].upper().split()
        self.assertIn("PLAIN", mechs)
        self.assertIn("LOGIN", mechs)
        self.assertFalse(s.has_extn("starttls"), "STARTTLS must not be offered twice")
        self.assertIsNotNone(s.sock.version())

    def send_and_check(self, s, rcpt, subject):
        before = len(self.n.messages(rcpt))
        msg = f"From: alice@localhost\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nsent over TLS\r\n".encode()
        self.assertEqual(s.sendmail("alice@localhost", [rcpt], msg), {})
        got = self.n.wait_for_mail(rcpt, before + 1)
        self.assertEqual(len(got), before + 1)
        mine = [m for m in got if f"Subject: {subject}\n".encode() in m]
        self.assertEqual(len(mine), 1)
        return mine[0]

    def test_auth_plain(self):
        s = self.tls_sub()
        s.user, s.password = "alice@localhost", "alice-pw"
        code, text = s.auth("PLAIN", s.auth_plain)
        self.assertEqual(code, 235)
        self.assertTrue(text.startswith(b"2.7.0"), text)
        m = self.send_and_check(s, "bob@localhost", "auth plain")
        self.assertIn(b"with ESMTPSA id", m)
        self.assertIn(b"(authenticated as alice@localhost)", m)
        self.assertTrue(m.startswith(b"Return-Path: <alice@localhost>\nDelivered-To: bob@localhost\n"))

    def test_auth_login(self):
        s = self.tls_sub()
        s.user, s.password = "bob@localhost", "bob-pw"
        code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        self.assertEqual(code, 235)
        self.send_and_check(s, "alice@localhost", "auth login")

    def test_login_smtplib_default(self):
        s = self.tls_sub()
        code, _ = s.login("alice@localhost", "alice-pw")
        self.assertEqual(code, 235)
        self.send_and_check(s, "bob@localhost", "smtplib login")

    def test_utf8_password(self):
        s = self.tls_sub()
        # smtplib.login only encodes ASCII: send the UTF-8 PLAIN response by hand
        code, text = s.docmd("AUTH", "PLAIN " + b64("\0carol@localhost\0pässwörd"))
        self.assertEqual(code, 235, text)
        self.send_and_check(s, "bob@localhost", "utf8 password")

    def test_auth_plain_as_continuation(self):
        s = self.tls_sub()
        code, _ = s.docmd("AUTH", "PLAIN")
        self.assertEqual(code, 334)
        code, _ = s.docmd(b64("\0alice@localhost\0alice-pw"))
        self.assertEqual(code, 235)
        code, text = s.docmd("AUTH", "PLAIN " + b64("\0alice@localhost\0alice-pw"))
        self.assertEqual(code, 503)  # already authenticated

    def test_wrong_password(self):
        s = self.tls_sub()
        with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
            s.login("alice@localhost", "wrong")
        self.assertEqual(cm.exception.smtp_code, 535)
        self.assertTrue(cm.exception.smtp_error.startswith(b"5.7.8"), cm.exception.smtp_error)
        for mech, arg in (("PLAIN", b64("\0nobody@localhost\0x")),
                          ("PLAIN", b64("bob@localhost\0alice@localhost\0alice-pw"))):
            code, text = s.docmd("AUTH", f"{mech} {arg}")
            self.assertEqual(code, 535, (mech, text))
        code, _ = s.docmd("AUTH", "CRAM-MD5")
        self.assertEqual(code, 504)
        code, _ = s.docmd("AUTH", "PLAIN")
        self.assertEqual(code, 334)
        code, _ = s.docmd("*")
        self.assertEqual(code, 501)
        # still not authenticated
        self.assertEqual(s.mail("alice@localhost")[0], 530)
        self.assertIn("AUTH PLAIN failed for alice@localhost", self.n.log())

    def test_implicit_tls_submissions(self):
        s = smtplib.SMTP_SSL("127.0.0.1", self.n.port("submissions"), timeout=10, context=insecure())
        self.addCleanup(s.close)
        s.ehlo("client.test")
        self.assertFalse(s.has_extn("starttls"))
        self.assertTrue(s.has_extn("auth"))
        self.assertEqual(s.mail("alice@localhost")[0], 530)
        s.rset()
        s.login("alice@localhost", "alice-pw")
        self.send_and_check(s, "bob@localhost", "implicit tls")

    def test_plaintext_to_submissions_is_not_smtp(self):
        sock = socket.create_connection(("127.0.0.1", self.n.port("submissions")), timeout=5)
        self.addCleanup(sock.close)
        sock.sendall(b"EHLO client.test\r\n")
        try:
            data = sock.recv(100)
        except (ConnectionResetError, socket.timeout):
            data = b""
        self.assertFalse(data.startswith(b"220") or data.startswith(b"250"), data)
        # and the listener is still fine
        s = smtplib.SMTP_SSL("127.0.0.1", self.n.port("submissions"), timeout=10, context=insecure())
        self.addCleanup(s.close)
        self.assertEqual(s.noop()[0], 250)

    def test_password_guesses_are_not_forgiven_by_a_message(self):
        """limits.errors forgives refusals once a message is accepted
        (Postfix's rule), but not wrong passwords: a client that slips one
        message in between must not buy itself twenty more guesses."""
        with Nougat(sets=["limits.errors=3", "auth.on_smtp=true"]) as n:
            n.add_user("alice@localhost", "alice-pw")
            s = smtplib.SMTP("127.0.0.1", n.port("smtp"), timeout=10)
            self.addCleanup(s.close)
            s.ehlo("client.test")
            s.starttls(context=insecure())
            s.ehlo("client.test")
            for i in range(3):
                self.assertEqual(s.docmd("AUTH", "PLAIN " + b64(f"\0alice@localhost\0guess{i}"))[0], 535)
            s.sendmail("x@remote.test", ["alice@localhost"], b"Subject: in between\r\n\r\nhi\r\n")
            self.assertEqual(s.docmd("AUTH", "PLAIN " + b64("\0alice@localhost\0guess3"))[0], 535)
            self.assertEqual(s.getreply()[0], 421)  # the fourth guess: goodbye

    def test_smtp_port_offers_starttls_but_never_auth(self):
        s = smtplib.SMTP("127.0.0.1", self.n.port("smtp"), timeout=10)
        self.addCleanup(s.close)
        s.ehlo("client.test")
        self.assertFalse(s.has_extn("auth"))
        if s.has_extn("starttls"):
            s.starttls(context=insecure())
            s.ehlo("client.test")
            self.assertFalse(s.has_extn("auth"))
        code, _ = s.docmd("AUTH", "PLAIN " + b64("\0alice@localhost\0alice-pw"))
        self.assertIn(code, (503, 538))
        self.assertEqual(s.mail("x@remote.test")[0], 250)
        self.assertEqual(s.rcpt("someone@elsewhere.example")[0], 550)

    def test_starttls_forgets_pre_tls_state(self):
        """RFC 3207: after STARTTLS the client must EHLO again; earlier state is gone."""
        sock = socket.create_connection(("127.0.0.1", self.n.port("submission")), timeout=10)
        self.addCleanup(sock.close)
        f = sock.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220"))
        # STARTTLS with a pipelined command after it (CVE-2011-0411 style injection)
        sock.sendall(b"EHLO client.test\r\n")
        while True:
            l = f.readline()
            if l[3:4] == b" ":
                break
        sock.sendall(b"STARTTLS\r\nNOOP\r\n")
        self.assertTrue(f.readline().startswith(b"220"))
        tls = insecure().wrap_socket(sock, server_hostname="localhost")
        self.addCleanup(tls.close)
        tf = tls.makefile("rb")
        tls.sendall(b"MAIL FROM:<alice@localhost>\r\n")
        first = tf.readline()
        # the injected NOOP must not be answered inside TLS; MAIL before EHLO is 503
        self.assertTrue(first.startswith(b"503"), first)

    def test_relay_after_auth(self):
        s = self.tls_sub()
        s.login("alice@localhost", "alice-pw")
        self.assertEqual(s.mail("alice@localhost")[0], 250)
        code, text = s.rcpt("friend@example.invalid")
        self.assertEqual(code, 250, text)
        code, text = s.data(b"Subject: relayed\r\n\r\nto the outside\r\n")
        self.assertEqual(code, 250, text)
        # (the queue id is taken from the log: the 250 reply's id= is empty on the
        # spool path, see test_smtp_delivery.test_bug_queue_id_empty_on_spool_path)
        pattern = r"(\S+) <= alice@localhost .*P=ESMTPSA .*for friend@example\.invalid"
        deadline = time.time() + 5
        while time.time() < deadline and not re.search(pattern, self.n.log()):
            time.sleep(0.05)
        m = re.search(pattern, self.n.log())
        self.assertTrue(m, self.n.log())
        qid = m.group(1)
        # not delivered locally, and not lost: queued (or already being tried remotely)
        deadline = time.time() + 5
        while time.time() < deadline:
            log = self.n.log()
            if (qid in self.n.spool_files() or f"{qid} == friend@example.invalid" in log
                    or f"{qid} ** friend@example.invalid" in log):
                break
            time.sleep(0.05)
        else:
            self.fail(f"relayed message {qid} neither queued nor tried: {self.n.spool_files()}")
        self.assertNotIn(f"{qid} => friend@example.invalid R=local_user", self.n.log())

    def test_relay_refused_on_submission_port_without_auth(self):
        s = self.tls_sub()
        self.assertEqual(s.mail("x@remote.test")[0], 530)


if __name__ == "__main__":
    unittest.main()
