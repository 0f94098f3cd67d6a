"""nougat against swaks, the SMTP swiss army knife: plain delivery,
pipelining, STARTTLS on every port that offers it, AUTH PLAIN/LOGIN on
submission, implicit TLS on submissions, and the refusals, each checked by
swaks' exit code (see `man swaks`, EXIT CODES), the server replies it
prints, and the Maildir.
"""
import re
import shutil
import subprocess
import time
import unittest

from harness import Nougat, body_of

# swaks exit codes
OK, MAIL_ERROR, NO_RCPT, AUTH_ERROR = 0, 23, 24, 28


@unittest.skipUnless(shutil.which("swaks"), "swaks not installed")
class SwaksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.n = Nougat().start()
        for u in ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"):
            cls.n.add_user(f"{u}@localhost", f"{u}-pw")

    @classmethod
    def tearDownClass(cls):
        cls.n.__exit__(None, None, None)

    def swaks(self, *args, port="smtp", input=None):
        cmd = ["swaks", "--server", f"127.0.0.1:{self.n.port(port)}", "--timeout", "10",
               "--ehlo", "swaks.test", *args]
        p = subprocess.run(cmd, input=input, capture_output=True, timeout=60)
        return p.returncode, p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")

    def one(self, addr):
        got = self.n.wait_for_mail(addr, 1)
        time.sleep(0.1)
        got = self.n.messages(addr)
        self.assertEqual(len(got), 1, got)
        return got[0]

    def test_plain_delivery(self):
        rc, out = self.swaks("--from", "sender@remote.test", "--to", "alice@localhost",
                             "--header", "Subject: swaks plain", "--body", "Hello from swaks")
        self.assertEqual(rc, OK, out)
        self.assertRegex(out, r"<-  250 2\.0\.0 OK id=\S+")
        m = self.one("alice@localhost")
        lines = m.split(b"\n")
        self.assertEqual(lines[0], b"Return-Path: <sender@remote.test>")
        self.assertEqual(lines[1], b"Delivered-To: alice@localhost")
        self.assertTrue(lines[2].startswith(b"Received: from swaks.test ([127.0.0.1])"), lines[2])
        body = body_of(m)
        self.assertIn(b"\nSubject: swaks plain\n", b"\n" + body)
        self.assertIn(b"\n\nHello from swaks\n", body)
        self.assertNotIn(b"\r", m)

    def test_pipelining_several_recipients(self):
        rc, out = self.swaks("--pipeline", "--from", "p@remote.test",
                             "--to", "bob@localhost,carol@localhost,ghost@localhost,dave@localhost",
                             "--header", "Subject: swaks pipelined")
        self.assertEqual(rc, OK, out)
        self.assertIn("PIPELINING", out)
        self.assertRegex(out, r"<\*\* +550 5\.1\.1")
        for u in ("bob", "carol", "dave"):
            m = self.one(f"{u}@localhost")
            self.assertIn(f"Delivered-To: {u}@localhost\n".encode(), m)
            self.assertIn(b"Subject: swaks pipelined", m)
        self.assertFalse(self.n.maildir("ghost@localhost").exists())

    def test_unknown_user_only(self):
        rc, out = self.swaks("--from", "p@remote.test", "--to", "nobody@localhost")
        self.assertEqual(rc, NO_RCPT, out)
        self.assertRegex(out, r"550 5\.1\.1")

    def test_relay_refused(self):
        rc, out = self.swaks("--from", "p@remote.test", "--to", "someone@elsewhere.example")
        self.assertEqual(rc, NO_RCPT, out)
        self.assertRegex(out, r"550 5\.7\.1")

    def test_8bit_data_with_dots_from_stdin(self):
        data = ("From: sender@remote.test\nTo: erin@localhost\nSubject: swaks 8bit\n"
                "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                "Grüße aus Köln — 日本語\n.\n..\n.x\nx.\nend").encode("utf-8")
        rc, out = self.swaks("--from", "sender@remote.test", "--to", "erin@localhost",
                             "--data", "-", input=data)
        self.assertEqual(rc, OK, out)
        m = self.one("erin@localhost")
        # swaks adds the CRLF before the final dot itself
        self.assertEqual(body_of(m), data + b"\n")

    def test_starttls_on_smtp_port(self):
        rc, out = self.swaks("-tls", "--from", "t@remote.test", "--to", "frank@localhost",
                             "--header", "Subject: swaks starttls")
        self.assertEqual(rc, OK, out)
        self.assertIn("TLS started", out)
        m = self.one("frank@localhost")
        self.assertIn(b"with ESMTPS id", m)

    def test_submission_auth_plain(self):
        rc, out = self.swaks("-tls", "--auth", "PLAIN", "--auth-user", "alice@localhost",
                             "--auth-password", "alice-pw", "--from", "alice@localhost",
                             "--to", "grace@localhost", "--header", "Subject: swaks auth plain",
                             port="submission")
        self.assertEqual(rc, OK, out)
        self.assertRegex(out, r"235 2\.7\.0")
        m = self.one("grace@localhost")
        self.assertIn(b"with ESMTPSA id", m)
        self.assertIn(b"(authenticated as alice@localhost)", m)

    def test_submission_auth_login_and_relay(self):
        rc, out = self.swaks("-tls", "--auth", "LOGIN", "--auth-user", "bob@localhost",
                             "--auth-password", "bob-pw", "--from", "bob@localhost",
                             "--to", "heidi@localhost,friend@example.invalid",
                             "--header", "Subject: swaks auth login", port="submission")
        self.assertEqual(rc, OK, out)
        self.assertNotRegex(out, r"<\*\* ")  # no refusal at all: relay allowed after AUTH
        m = self.one("heidi@localhost")
        self.assertIn(b"Subject: swaks auth login", m)
        self.assertRegex(self.n.log(), r"<= bob@localhost .*P=ESMTPSA .*friend@example\.invalid")

    def test_submission_wrong_password(self):
        rc, out = self.swaks("-tls", "--auth", "PLAIN", "--auth-user", "alice@localhost",
                             "--auth-password", "nope", "--from", "alice@localhost",
                             "--to", "ivan@localhost", port="submission")
        self.assertEqual(rc, AUTH_ERROR, out)
        self.assertRegex(out, r"535 5\.7\.8")
        self.assertEqual(self.n.messages("ivan@localhost"), [])

    def test_submission_auth_without_tls_refused(self):
        rc, out = self.swaks("--auth", "PLAIN", "--auth-user", "alice@localhost",
                             "--auth-password", "alice-pw", "--from", "alice@localhost",
                             "--to", "ivan@localhost", port="submission")
        self.assertEqual(rc, AUTH_ERROR, out)  # AUTH not advertised in clear
        self.assertEqual(self.n.messages("ivan@localhost"), [])

    def test_submission_without_auth(self):
        rc, out = self.swaks("-tls", "--from", "alice@localhost", "--to", "ivan@localhost",
                             port="submission")
        self.assertEqual(rc, MAIL_ERROR, out)
        self.assertRegex(out, r"530 5\.7\.0")
        self.assertEqual(self.n.messages("ivan@localhost"), [])

    def test_submissions_implicit_tls(self):
        rc, out = self.swaks("--tlsc", "--auth", "LOGIN", "--auth-user", "carol@localhost",
                             "--auth-password", "carol-pw", "--from", "carol@localhost",
                             "--to", "ivan@localhost", "--header", "Subject: swaks tlsc",
                             port="submissions")
        self.assertEqual(rc, OK, out)
        self.assertIn("TLS started", out)
        m = self.one("ivan@localhost")
        self.assertIn(b"Subject: swaks tlsc", m)
        self.assertIn(b"with ESMTPSA id", m)


if __name__ == "__main__":
    unittest.main()
