"""RFC 5321 4.5.1: mail to postmaster is always accepted; routers.postmaster
says who reads it when there is no user of that name."""

import smtplib
import time
import unittest

from harness import Nougat


def send(n, rcpt, subject):
    with smtplib.SMTP("127.0.0.1", n.port("smtp")) as s:
        s.sendmail("someone@example.org", [rcpt],
                   f"From: someone@example.org\r\nSubject: {subject}\r\n\r\nhi\r\n".encode())


class PostmasterTest(unittest.TestCase):
    def test_accepted_and_routed_to_the_configured_address(self):
        with Nougat(sets=["routers.postmaster=admin@localhost"]) as n:
            n.add_user("admin@localhost")
            send(n, "postmaster@localhost", "to postmaster")
            send(n, "PostMaster@LOCALHOST", "case does not matter")
            with smtplib.SMTP("127.0.0.1", n.port("smtp")) as s:
                s.ehlo("client.test")
                s.mail("someone@example.org")
                code, _ = s.rcpt("<postmaster>")  # no domain: RFC 5321 4.1.1.3
                self.assertEqual(code, 250)
                code, _ = s.rcpt("nobody@localhost")
                self.assertEqual(code, 550)
                s.rset()
            msgs = n.wait_for_mail("admin@localhost", 2)
            self.assertEqual(len(msgs), 2)
            self.assertTrue(all(b"Delivered-To: " in m for m in msgs))

    def test_accepted_and_kept_when_nobody_is_configured(self):
        with Nougat() as n:
            send(n, "postmaster@localhost", "kept")
            deadline = time.time() + 10
            while time.time() < deadline and "set routers.postmaster" not in n.log():
                time.sleep(0.05)
            self.assertIn("set routers.postmaster", n.log())
            self.assertEqual(len([f for f in n.spool_files() if "." not in f]), 1)


if __name__ == "__main__":
    unittest.main()
