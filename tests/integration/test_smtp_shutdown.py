"""Stopping `nougat serve` (SIGTERM) with clients connected: RFC 5321 3.8 —
a server shutting down SHOULD answer 421 before it closes. A client waiting
between commands (or at an AUTH prompt) gets "421 4.3.2" at once; one
sending DATA finishes it (its 250 is sent, the message delivered) and then
gets the 421; a second signal ends the process at once. Nothing
acknowledged is lost either way.
"""
import signal
import time
import unittest

from harness import Nougat, RawSmtp, reply_lines, starttls_client


class ShutdownTest(unittest.TestCase):
    def server(self, sets=()):
        n = Nougat(listeners=("smtp",), sets=list(sets)).start()
        self.addCleanup(n.__exit__, None, None, None)
        n.add_user("alice@localhost", "pw")
        return n

    def client(self, n):
        c = RawSmtp(n.port("smtp"))
        self.addCleanup(c.sock.close)
        c.greet()
        return c

    def wait_exit(self, n, timeout):
        deadline = time.time() + timeout
        while n.proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        return n.proc.poll()

    def test_an_idle_client_gets_421(self):
        n = self.server()
        c = self.client(n)
        n.proc.send_signal(signal.SIGTERM)
        code, text = c.reply()
        self.assertEqual(code, 421)
        self.assertTrue(text.startswith("4.3.2"), text)
        with self.assertRaises(EOFError):
            c.line()
        self.assertEqual(self.wait_exit(n, 5), 0)

    def test_an_idle_tls_client_gets_421(self):
        n = self.server()
        _, tf = starttls_client(n.port("smtp"), self)
        n.proc.send_signal(signal.SIGTERM)
        self.assertTrue(reply_lines(tf)[0].startswith(b"421 4.3.2"))
        self.assertEqual(self.wait_exit(n, 5), 0)

    def test_a_client_at_an_auth_prompt_gets_421(self):
        """In the middle of an AUTH exchange there is no transaction in hand:
        the goodbye comes at once, not after the grace period."""
        n = self.server(sets=["auth.on_smtp=true"])
        t, tf = starttls_client(n.port("smtp"), self)
        t.sendall(b"AUTH LOGIN\r\n")
        self.assertTrue(reply_lines(tf)[0].startswith(b"334"))
        n.proc.send_signal(signal.SIGTERM)
        self.assertTrue(reply_lines(tf)[0].startswith(b"421 4.3.2"))
        self.assertEqual(self.wait_exit(n, 5), 0)

    def test_a_transaction_in_hand_is_finished_first(self):
        n = self.server()
        c = self.client(n)
        self.assertEqual(c.cmd("MAIL FROM:<s@remote.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@localhost>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: in flight\r\n\r\nfirst half\r\n")
        idle = self.client(n)  # another client, between commands: 421 at once
        n.proc.send_signal(signal.SIGTERM)
        self.assertEqual(idle.reply()[0], 421)
        time.sleep(0.3)
        self.assertIsNone(n.proc.poll())  # still there for the message in hand
        c.send("second half\r\n.\r\n")
        code, text = c.reply()
        self.assertEqual(code, 250, text)
        code, text = c.reply()
        self.assertEqual(code, 421, text)
        self.assertEqual(self.wait_exit(n, 5), 0)
        got = n.messages("alice@localhost")
        self.assertEqual(len(got), 1)
        self.assertIn(b"second half", got[0])

    def test_a_second_signal_stops_at_once(self):
        n = self.server()
        c = self.client(n)
        self.assertEqual(c.cmd("MAIL FROM:<s@remote.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@localhost>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: never ends\r\n\r\n")
        n.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        self.assertIsNone(n.proc.poll())
        n.proc.send_signal(signal.SIGTERM)  # the default action is back: ended at once
        self.assertIsNotNone(self.wait_exit(n, 3))
        self.assertEqual(n.messages("alice@localhost"), [])  # never acknowledged, never delivered


if __name__ == "__main__":
    unittest.main()
