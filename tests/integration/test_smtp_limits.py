"""SMTP limits over real sockets: SIZE (declared and actual), line lengths
(commands and DATA), the recipient limit, clients that vanish mid-message,
and the idle timeout. Every refusal is checked on the wire (code and
enhanced code) and on disk (nothing delivered, nothing left in the spool),
and the session or server is shown to still work afterwards.
"""
import re
import smtplib
import socket
import time
import unittest

from harness import Nougat, RawSmtp, starttls_client

SIZE = 64 * 1024


class Raw(RawSmtp):
    """A plain socket SMTP client: sends exactly the bytes it is given."""

    def start_data(self, rcpt, sender="s@remote.test"):
        assert self.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        assert self.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        code, text = self.cmd("DATA")
        assert code == 354, (code, text)

    def closed_by_peer(self, timeout):
        """True if the server closes the connection (EOF or reset) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                d = self.sock.recv(4096)
                if not d:
                    return True
                self.buf += d
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def all_files(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()) if path.exists() else []


def exact_size(head):
    """A message of exactly SIZE octets: head, lines of 100 octets, and a shorter last line."""
    line = b"b" * 98 + b"\r\n"
    body = line * ((SIZE - len(head)) // len(line))
    rest = SIZE - len(head) - len(body)
    msg = head + body + b"c" * (rest - 2) + b"\r\n"
    assert len(msg) == SIZE
    return msg


class LimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.n = Nougat(sets=[f"limits.message_size={SIZE // 1024}K", "limits.recipients=3"]).start()
        for u in ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan",
                  "judy", "ken", "liam"):
            cls.n.add_user(f"{u}@localhost", "pw")

    @classmethod
    def tearDownClass(cls):
        cls.n.__exit__(None, None, None)

    def raw(self):
        r = Raw(self.n.port("smtp"))
        self.addCleanup(r.close)
        return r

    def count(self, u):
        return len(self.n.messages(f"{u}@localhost"))

    def assert_nothing_left(self):
        """No queued message and no half-written file anywhere in the spool."""
        deadline = time.time() + 3
        while time.time() < deadline and self.n.spool_files():
            time.sleep(0.05)
        self.assertEqual(self.n.spool_files(), [])
        # publish/gen-N is the intent log of acknowledged Maildir copies (see
        # engine/publish_log.hpp), not a message.
        left = [f for f in all_files(self.n.data / "spool")
                if not f.endswith(".lock") and not f.startswith("publish/gen-")]
        self.assertEqual(left, [], "stray spool files")
        home = self.n.data / "home"
        tmp = [p for p in home.glob("*/*/Maildir/tmp/*")] if home.is_dir() else []
        self.assertEqual(tmp, [], "half-written Maildir files")

    # ---- 3. SIZE ----
    def test_size_advertised(self):
        s = smtplib.SMTP("127.0.0.1", self.n.port("smtp"), timeout=10)
        self.addCleanup(s.close)
        s.ehlo("client.test")
        self.assertEqual(s.esmtp_features.get("size"), str(SIZE))

    def test_declared_size_too_big(self):
        r = self.raw()
        r.greet()
        code, text = r.cmd(f"MAIL FROM:<big@remote.test> SIZE={SIZE + 1}")
        self.assertEqual(code, 552)
        self.assertTrue(text.startswith("5.3.4"), text)
        # no transaction was opened
        self.assertEqual(r.cmd("RCPT TO:<alice@localhost>")[0], 503)
        code, text = r.cmd(f"MAIL FROM:<big@remote.test> SIZE={SIZE}")
        self.assertEqual(code, 250, text)
        code, _ = r.cmd("RSET")
        self.assertEqual(r.cmd("MAIL FROM:<big@remote.test> SIZE=99999999999999999999999")[0] // 100, 5)
        self.assertEqual(r.cmd("MAIL FROM:<big@remote.test> SIZE=abc")[0] // 100, 5)
        self.assertEqual(r.cmd("NOOP")[0], 250)

    def test_smtplib_refuses_itself_when_too_big(self):
        # smtplib declares SIZE; the server answers 552 at MAIL
        s = smtplib.SMTP("127.0.0.1", self.n.port("smtp"), timeout=10)
        self.addCleanup(s.close)
        msg = b"Subject: big\r\n\r\n" + (b"y" * 70 + b"\r\n") * 1000
        with self.assertRaises(smtplib.SMTPSenderRefused) as cm:
            s.sendmail("big@remote.test", ["alice@localhost"], msg)
        self.assertEqual(cm.exception.smtp_code, 552)
        self.assertEqual(self.count("alice"), 0)

    def test_body_bigger_than_limit(self):
        r = self.raw()
        r.greet()
        r.start_data("bob@localhost")
        line = b"z" * 78 + b"\r\n"
        r.send(b"Subject: too big\r\n\r\n" + line * (2 * SIZE // len(line)) + b".\r\n")
        code, text = r.reply()
        self.assertEqual(code, 552)
        self.assertTrue(text.startswith("5.3.4"), text)
        # the session is still usable afterwards
        r.start_data("bob@localhost")
        self.assertEqual(r.cmd("Subject: small\r\n\r\nsmall\r\n.")[0], 250)
        msgs = self.n.wait_for_mail("bob@localhost", 1)
        time.sleep(0.2)
        msgs = self.n.messages("bob@localhost")
        self.assertEqual(len(msgs), 1)
        self.assertTrue(msgs[0].endswith(b"Subject: small\n\nsmall\n"))
        self.assert_nothing_left()

    def test_size_boundary(self):
        """Exactly message_size octets (CRLFs counted, dots unstuffed) pass; one more fails."""
        r = self.raw()
        r.greet()
        exact = exact_size(b"Subject: boundary\r\n\r\n")
        r.start_data("carol@localhost")
        r.send(exact + b".\r\n")
        code, text = r.reply()
        self.assertEqual(code, 250, text)
        over = exact[:-2] + b"c\r\n"
        r.start_data("carol@localhost")
        r.send(over + b".\r\n")
        self.assertEqual(r.reply()[0], 552)
        msgs = self.n.wait_for_mail("carol@localhost", 1)
        time.sleep(0.2)
        msgs = self.n.messages("carol@localhost")
        self.assertEqual(len(msgs), 1)
        self.assertTrue(msgs[0].endswith(exact.replace(b"\r\n", b"\n")))

    def test_bdat_size_boundary(self):
        """BDAT is held to the same limit as DATA, to the octet (before, ~4 KB
        more passed)."""
        r = self.raw()
        r.greet()
        exact = exact_size(b"Subject: bdat boundary\r\n\r\n")
        for content, want in ((exact, 250), (exact + b"d\r\n", 552)):
            self.assertEqual(r.cmd("MAIL FROM:<bb@remote.test>")[0], 250)
            self.assertEqual(r.cmd("RCPT TO:<liam@localhost>")[0], 250)
            half = len(content) // 2
            r.send(b"BDAT %d\r\n" % half + content[:half])
            self.assertEqual(r.reply()[0], 250)
            r.send(b"BDAT %d LAST\r\n" % (len(content) - half) + content[half:])
            code, text = r.reply()
            self.assertEqual(code, want, text)
        self.n.wait_for_mail("liam@localhost", 1)
        time.sleep(0.2)
        self.assertEqual(self.count("liam"), 1)

    def test_bdat_bigger_than_limit(self):
        r = self.raw()
        r.greet()
        self.assertEqual(r.cmd("MAIL FROM:<bd@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<dave@localhost>")[0], 250)
        chunk = b"x" * 60 + b"\r\n"
        chunk = chunk * (SIZE // len(chunk) // 2)
        codes = []
        for _ in range(3):
            r.send(b"BDAT %d\r\n" % len(chunk) + chunk)
            codes.append(r.reply()[0])
        r.send(b"BDAT 2 LAST\r\n\r\n")
        codes.append(r.reply()[0])
        self.assertEqual(codes[0], 250)
        self.assertIn(552, codes)
        self.assertNotEqual(codes[-1], 250)
        self.assertEqual(r.cmd("RSET")[0], 250)
        self.assertEqual(r.cmd("NOOP")[0], 250)
        time.sleep(0.2)
        self.assertEqual(self.count("dave"), 0)
        self.assert_nothing_left()

    # ---- recipients ----
    def test_recipient_limit(self):
        r = self.raw()
        r.greet()
        self.assertEqual(r.cmd("MAIL FROM:<many@remote.test>")[0], 250)
        for u in ("erin", "frank", "grace"):
            self.assertEqual(r.cmd(f"RCPT TO:<{u}@localhost>")[0], 250)
        code, text = r.cmd("RCPT TO:<heidi@localhost>")
        self.assertEqual(code, 452)
        self.assertTrue(text.startswith("4.5.3"), text)
        self.assertEqual(r.cmd("DATA")[0], 354)
        self.assertEqual(r.cmd("Subject: three\r\n\r\nx\r\n.")[0], 250)
        for u in ("erin", "frank", "grace"):
            self.assertEqual(len(self.n.wait_for_mail(f"{u}@localhost", 1)), 1)
        time.sleep(0.2)
        self.assertEqual(self.count("heidi"), 0)

    # ---- errors ----
    def test_error_limit_counts_errors_since_the_last_delivered_message(self):
        """limits.errors counts errors made without delivering mail (Postfix's
        smtpd_hard_error_limit): a relay whose batch has some refused
        recipients or rejected messages is not cut off as long as it delivers
        mail in between; one that only makes errors is."""
        with Nougat(sets=["limits.errors=3"]) as n:
            n.add_user("alice@localhost", "pw")
            r = Raw(n.port("smtp"))
            self.addCleanup(r.close)
            r.greet()
            for batch in range(3):
                self.assertEqual(r.cmd(f"MAIL FROM:<relay@remote.test>")[0], 250)
                for k in range(3):  # three errors, the limit
                    self.assertEqual(r.cmd(f"RCPT TO:<nobody{k}@localhost>")[0], 550)
                self.assertEqual(r.cmd("RCPT TO:<alice@localhost>")[0], 250)
                self.assertEqual(r.cmd("DATA")[0], 354)
                self.assertEqual(r.cmd(f"Subject: batch {batch}\r\n\r\nx\r\n.")[0], 250)
            self.assertEqual(len(n.wait_for_mail("alice@localhost", 3)), 3)
            for k in range(3):
                self.assertEqual(r.cmd("RCPT TO:<nobody@localhost>")[0], 503)  # no MAIL: an error too
            self.assertEqual(r.cmd("RCPT TO:<nobody@localhost>")[0], 503)
            code, text = r.reply()  # the fourth error since the last message: and goodbye
            self.assertEqual(code, 421, text)

    # ---- 9. over-long lines ----
    def test_long_command_line(self):
        r = self.raw()
        r.greet()
        code, text = r.cmd("NOOP " + "a" * 595)
        self.assertEqual(code, 500)
        self.assertTrue(text.startswith("5.5.2"), text)
        # 512 octets including CRLF is the limit: exactly that is fine, one more is not
        self.assertEqual(r.cmd("NOOP " + "a" * (512 - 2 - 5))[0], 250)
        self.assertEqual(r.cmd("NOOP " + "a" * (512 - 2 - 4))[0], 500)
        # a huge line (several reads) is one error, and the session goes on
        code, _ = r.cmd("MAIL FROM:<" + "x" * 100000 + "@remote.test>")
        self.assertEqual(code, 500)
        self.assertEqual(r.cmd("MAIL FROM:<ok@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<ivan@localhost>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        self.assertEqual(r.cmd("Subject: after long\r\n\r\nx\r\n.")[0], 250)
        self.assertEqual(len(self.n.wait_for_mail("ivan@localhost", 1)), 1)

    def test_long_data_line(self):
        r = self.raw()
        r.greet()
        r.start_data("judy@localhost")
        r.send(b"Subject: long line\r\n\r\n" + b"L" * 2000 + b"\r\nafter\r\n.\r\n")
        code, text = r.reply()
        self.assertEqual(code, 500)
        self.assertTrue(text.startswith("5.5.2"), text)
        # The log says the reply that was sent.
        self.assertIn("500 5.5.2 Line too long", self.n.log())
        # BDAT answers the same.
        self.assertEqual(r.cmd("MAIL FROM:<ok@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<judy@localhost>")[0], 250)
        body = b"Subject: long line\r\n\r\n" + b"L" * 2000 + b"\r\n"
        r.send(b"BDAT %d LAST\r\n" % len(body) + body)
        code, text = r.reply()
        self.assertEqual(code, 500)
        self.assertTrue(text.startswith("5.5.2"), text)
        # 1000 octets including CRLF is allowed
        r.start_data("judy@localhost")
        ok = b"Subject: 998\r\n\r\n" + b"M" * 998 + b"\r\n"
        r.send(ok + b".\r\n")
        self.assertEqual(r.reply()[0], 250)
        r.start_data("judy@localhost")
        r.send(b"Subject: 999\r\n\r\n" + b"N" * 999 + b"\r\n.\r\n")
        self.assertEqual(r.reply()[0], 500)
        msgs = self.n.wait_for_mail("judy@localhost", 1)
        time.sleep(0.2)
        msgs = self.n.messages("judy@localhost")
        self.assertEqual(len(msgs), 1)
        self.assertTrue(msgs[0].endswith(ok.replace(b"\r\n", b"\n")))
        self.assert_nothing_left()

    # ---- 10. clients that vanish ----
    def test_disconnect_mid_data(self):
        r = self.raw()
        r.greet()
        r.start_data("ken@localhost")
        r.send(b"Subject: half\r\n\r\n" + b"half a message\r\n" * 200)
        time.sleep(0.2)
        r.close()
        time.sleep(0.3)
        self.assertEqual(self.count("ken"), 0)
        self.assert_nothing_left()
        self.assertIn("connection lost during DATA", self.n.log())
        # the server still serves the next client
        s = smtplib.SMTP("127.0.0.1", self.n.port("smtp"), timeout=10)
        self.addCleanup(s.close)
        self.assertEqual(s.sendmail("next@remote.test", ["ken@localhost"], b"Subject: next\r\n\r\nok\r\n"), {})
        msgs = self.n.wait_for_mail("ken@localhost", 1)
        self.assertEqual(len(msgs), 1)
        self.assertTrue(msgs[0].endswith(b"Subject: next\n\nok\n"))

    def test_disconnect_mid_bdat_and_after_crlf_dot_missing(self):
        r = self.raw()
        r.greet()
        self.assertEqual(r.cmd("MAIL FROM:<h@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<ken@localhost>")[0], 250)
        r.send(b"BDAT 100 LAST\r\nSubject: cut\r\n\r\nonly part")
        time.sleep(0.1)
        r.close()
        # a message complete except for the final dot line is not a message either
        r2 = self.raw()
        r2.greet()
        r2.start_data("ken@localhost")
        r2.send(b"Subject: no dot\r\n\r\ncomplete body\r\n")
        time.sleep(0.1)
        r2.sock.shutdown(socket.SHUT_WR)
        self.assertTrue(r2.closed_by_peer(5))
        time.sleep(0.3)
        self.assertFalse(any(b"Subject: cut" in m or b"Subject: no dot" in m
                             for m in self.n.messages("ken@localhost")))
        self.assert_nothing_left()


class IdleTimeoutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.n = Nougat(sets=["limits.idle_timeout=2s", "limits.commands=1000000"]).start()
        cls.n.add_user("alice@localhost", "pw")

    @classmethod
    def tearDownClass(cls):
        cls.n.__exit__(None, None, None)

    def test_client_that_never_reads_is_disconnected(self):
        """A client that pipelines commands and never reads the replies
        fills the socket's buffers: the server waits on it, and the idle
        timeout ends that too (no session held for ever)."""
        import threading
        s = socket.create_connection(("127.0.0.1", self.n.port("smtp")), timeout=30)
        self.addCleanup(s.close)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)

        def flood():  # ~ 30 MB of replies it will not read; ends when the server hangs up
            try:
                s.sendall(b"EHLO flood.test\r\n" * 200000)
            except OSError:
                pass
        threading.Thread(target=flood, daemon=True).start()
        deadline = time.time() + 20
        while time.time() < deadline and "SMTP timeout" not in self.n.log():
            time.sleep(0.1)
        self.assertIn("SMTP timeout", self.n.log())

    def test_stalled_tls_handshake_is_disconnected(self):
        """A TLS handshake that never completes (port 465 silent; STARTTLS
        and then nothing) is waiting on the client like any read: the idle
        timeout ends it, so no connection slot is held for ever."""
        s = socket.create_connection(("127.0.0.1", self.n.port("submissions")), timeout=10)
        self.addCleanup(s.close)
        r = Raw(self.n.port("smtp"))
        self.addCleanup(r.close)
        r.greet()
        self.assertEqual(r.cmd("STARTTLS")[0], 220)
        r.send(b"\x16\x03\x01\x00\x80")  # a record header, and then nothing
        s.settimeout(8)
        self.assertEqual(s.recv(100), b"")  # closed: no plain text into a handshake
        self.assertTrue(r.closed_by_peer(8))

    def test_silent_client_disconnected(self):
        r = Raw(self.n.port("smtp"))
        self.addCleanup(r.close)
        t0 = time.time()
        self.assertEqual(r.reply()[0], 220)
        self.assertTrue(r.closed_by_peer(6), "not disconnected after 6 s")
        took = time.time() - t0
        self.assertGreaterEqual(took, 1.5)
        self.assertLess(took, 5)
        # RFC 5321 4.2.2: the server says why before closing
        self.assertTrue(r.buf.startswith(b"421 4.4.2"), r.buf)
        self.assertIn("SMTP timeout", self.n.log())

    def test_silent_tls_client_gets_421_too(self):
        _, tf = starttls_client(self.n.port("smtp"), self)
        t0 = time.time()
        line = tf.readline()  # nothing more from us: the server's idle timeout speaks
        self.assertTrue(line.startswith(b"421 4.4.2"), line)
        self.assertLess(time.time() - t0, 5)

    def test_silent_mid_data_nothing_delivered(self):
        r = Raw(self.n.port("smtp"))
        self.addCleanup(r.close)
        r.greet()
        r.start_data("alice@localhost")
        r.send(b"Subject: stalled\r\n\r\nthen silence\r\n")
        self.assertTrue(r.closed_by_peer(6))
        time.sleep(0.2)
        self.assertEqual(self.n.messages("alice@localhost"), [])
        self.assertEqual(self.n.spool_files(), [])

    def test_activity_keeps_session(self):
        r = Raw(self.n.port("smtp"))
        self.addCleanup(r.close)
        r.greet()
        for _ in range(4):  # 4 s of activity, never 2 s of silence
            time.sleep(1)
            self.assertEqual(r.cmd("NOOP")[0], 250)


if __name__ == "__main__":
    unittest.main()
