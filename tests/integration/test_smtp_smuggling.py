"""SMTP smuggling probes (CVE-2023-51764/51765/51766 family).

Inside one DATA, a client sends a fake end-of-data made of bare LF / bare CR
variants, followed by a complete second transaction, then the real
<CRLF>.<CRLF>. A server that takes any of the fake terminators for the real
one would deliver the second, "smuggled" message. nougat must refuse the
outer message (554 5.6.0, bare CR/LF) and never deliver a second message,
whether the probe arrives in one write, byte by byte, or split at the fake
terminator. The smuggled part ends with the real <CRLF>.<CRLF>, which ends
the outer DATA, so the only reply after 354 must be the outer 554.
"""
import socket
import time
import unittest

from harness import Nougat, RawSmtp

FAKE_ENDS = {
    "lf_dot_lf": b"\n.\n",
    "crlf_dot_lf": b"\r\n.\n",
    "lf_dot_crlf": b"\n.\r\n",
    "cr_dot_crlf": b"\r.\r\n",
    "crlf_dot_cr": b"\r\n.\r",
    "cr_dot_cr": b"\r.\r",
    "crlf_dot_cr_lf_split": b"\r\n.\r\r\n",
}

SMUGGLED = (b"MAIL FROM:<evil@x>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\nevil\r\n.\r\n")


class Raw(RawSmtp):
    def pending(self, wait=0.15):
        """Whatever else the server says within `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    break
                self.buf += d
        except (socket.timeout, ConnectionError):
            pass
        self.sock.settimeout(10)
        return self.buf


class SmugglingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.n = Nougat().start()
        cls.n.add_user("alice@localhost", "pw")
        cls.n.add_user("bob@localhost", "pw")

    @classmethod
    def tearDownClass(cls):
        cls.n.__exit__(None, None, None)

    def setUp(self):
        self.before = len(self.n.messages("alice@localhost"))
        self.before_bob = len(self.n.messages("bob@localhost"))

    def open(self):
        r = Raw(self.n.port("smtp"))
        self.addCleanup(r.close)
        self.assertEqual(r.reply()[0], 220)
        self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        return r

    def assert_nothing_smuggled(self):
        time.sleep(0.1)
        alice = self.n.messages("alice@localhost")
        self.assertEqual(len(alice), self.before, "a smuggled message was delivered to alice")
        for m in alice:
            self.assertNotIn(b"Return-Path: <evil@x>", m)
        self.assertEqual(len(self.n.messages("bob@localhost")), self.before_bob,
                         "the outer message (with a bare CR/LF) must not be delivered")
        self.assertNotIn("<= evil@x", self.n.log())
        self.assertEqual(self.n.spool_files(), [])

    def probe(self, fake, mode):
        r = self.open()
        self.assertEqual(r.cmd("MAIL FROM:<outer@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<bob@localhost>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        # SMUGGLED ends with the real <CRLF>.<CRLF>: that is the end of the outer DATA
        payload = b"Subject: outer\r\n\r\nouter body" + fake + SMUGGLED
        if mode == "one_write":
            r.send(payload)
        elif mode == "split_at_fake":
            cut = payload.index(fake) + len(fake)
            r.send(payload[:cut])
            time.sleep(0.05)
            r.send(payload[cut:])
        else:  # byte by byte
            for i in range(0, len(payload)):
                r.send(payload[i:i + 1])
        code, text = r.reply()
        self.assertEqual(code, 554, f"outer message: {code} {text}")
        self.assertTrue(text.startswith("5.6.0"), text)
        # exactly one reply for the whole DATA: no 250/354 for smuggled commands
        extra = r.pending()
        self.assertEqual(extra, b"", f"replies to smuggled commands: {extra!r}")
        # the session is in a clean state: a new transaction works normally
        self.assertEqual(r.cmd("RCPT TO:<alice@localhost>")[0], 503)
        self.assertEqual(r.cmd("NOOP")[0], 250)
        self.assertEqual(r.cmd("QUIT")[0], 221)
        self.assert_nothing_smuggled()

    def test_probes(self):
        for name, fake in FAKE_ENDS.items():
            for mode in ("one_write", "split_at_fake", "byte_by_byte"):
                with self.subTest(fake=name, mode=mode):
                    self.probe(fake, mode)

    def test_smuggling_with_bdat_follow_up(self):
        """A fake end followed by pipelined BDAT instead of DATA."""
        r = self.open()
        r.send(b"MAIL FROM:<outer@remote.test>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n")
        self.assertEqual([r.reply()[0] for _ in range(3)], [250, 250, 354])
        evil = b"Subject: smuggled\r\n\r\nevil\r\n"
        r.send(b"Subject: outer\r\n\r\nx\n.\nMAIL FROM:<evil@x>\r\nRCPT TO:<alice@localhost>\r\n"
               + b"BDAT %d LAST\r\n" % len(evil) + evil + b".\r\n")
        self.assertEqual(r.reply()[0], 554)
        self.assertEqual(r.pending(), b"")
        self.assert_nothing_smuggled()

    def test_real_terminator_right_after_crlf_dot_cr(self):
        """'.\\r' then the real CRLF.CRLF: rejected as bare CR, nothing delivered."""
        r = self.open()
        self.assertEqual(r.cmd("MAIL FROM:<outer@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<bob@localhost>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: outer\r\n\r\nx\r\n.\rx\r\n.\r\n")
        self.assertEqual(r.reply()[0], 554)
        self.assert_nothing_smuggled()

    def test_clean_message_after_probe_same_session(self):
        """After a refused probe, the same session delivers a clean message once."""
        r = self.open()
        r.send(b"MAIL FROM:<outer@remote.test>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n")
        self.assertEqual([r.reply()[0] for _ in range(3)], [250, 250, 354])
        r.send(b"Subject: outer\r\n\r\nx\n.\n" + SMUGGLED)
        self.assertEqual(r.reply()[0], 554)
        self.assertEqual(r.pending(), b"")
        r.send(b"MAIL FROM:<clean@remote.test>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n")
        self.assertEqual([r.reply()[0] for _ in range(3)], [250, 250, 354])
        r.send(b"Subject: clean\r\n\r\nclean\r\n.\r\n")
        self.assertEqual(r.reply()[0], 250)
        msgs = self.n.wait_for_mail("bob@localhost", self.before_bob + 1)
        time.sleep(0.2)
        msgs = self.n.messages("bob@localhost")
        self.assertEqual(len(msgs), self.before_bob + 1)
        self.assertEqual(sum(1 for m in msgs if m.endswith(b"Subject: clean\n\nclean\n")), 1)
        self.assertFalse(any(b"smuggled" in m or b"evil" in m for m in msgs))
        self.assertEqual(len(self.n.messages("alice@localhost")), self.before)


if __name__ == "__main__":
    unittest.main()
