"""`nougat queue list|show|release|delete` against a real `nougat serve`
whose system filter freezes mail with "hold" in the subject and whose
antivirus quarantines EICAR (cli/queue_cmd.cpp, engine/spool.hpp):
  - list shows the held message with its reason, --count counts it;
  - show prints envelope and message (--headers, --body);
  - release delivers a held message while the server runs (within seconds)
    and, with the server stopped, at its next start; the queue is empty
    afterwards, marker included;
  - delete removes a held message; a message that is not held is neither
    released nor deleted without --force;
  - unknown and malformed ids are refused.
"""
import re
import smtplib
import time
import unittest

from harness import REPO, Nougat, wait_files

RULES = REPO / "rules" / "clamav"
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-" + "ANTIVIRUS-TEST-FILE!$H+H*"
FILTER = ('# Exim filter\nif $h_subject: contains "hold" then freeze text "held for review" endif\n'
          'if $malware_name is not "" then headers add "X-Sysfilter: saw $malware_name" endif\n')
ENTRY = re.compile(r"^\s*\d+[smhd]\s+\S+ (\S+) <([^>]*)>(?: \*\*\* (.*) \*\*\*)?$")


class QueueCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.n = Nougat(sets=["filter.system_filter=system.filter", f'antivirus.signatures=["{RULES}"]',
                             "antivirus.action=quarantine", 'domains.relay_networks=["127.0.0.0/8"]'])
        (cls.n.data / "system.filter").write_text(FILTER)
        cls.n.start()
        cls.n.add_user("alice@localhost")

    @classmethod
    def tearDownClass(cls):
        cls.n.__exit__(None, None, None)

    def tearDown(self):
        # Every test leaves the queue empty, so counts in the others are exact.
        for qid in self.entries():
            self.queue("delete", qid, "--force")

    # ---- helpers ----
    def send(self, subject, to=("alice@localhost",), body="a secret body\r\n"):
        """The queue id from the 250 reply."""
        msg = f"From: s@example.org\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\n\r\n{body}"
        with smtplib.SMTP("127.0.0.1", self.n.port("smtp"), timeout=20) as s:
            s.ehlo("client.test")
            self.assertEqual(s.mail("s@example.org")[0], 250)
            for r in to:
                self.assertEqual(s.rcpt(r)[0], 250)
            code, text = s.data(msg.encode())
        self.assertEqual(code, 250, text)
        return re.search(rb"id=(\S+)", text).group(1).decode()

    def queue(self, *args, code=0):
        r = self.n.run_cli("queue", *args, check=False)
        self.assertEqual(r.returncode, code, f"queue {' '.join(args)}: {r.stdout}{r.stderr}")
        return r

    def entries(self):
        """{id: (sender, held note or None, [recipient lines])} from `queue list`."""
        out, current = {}, None
        for line in self.queue("list").stdout.splitlines():
            m = ENTRY.match(line)
            if m:
                current = m.group(1)
                out[current] = (m.group(2), m.group(3), [])
            elif line.strip():
                out[current][2].append(line.strip())
        return out

    def inbox(self, count, timeout=10):
        return wait_files(self.n.maildir("alice@localhost") / "new", count, timeout)

    def subjects(self):
        return [re.search(rb"Subject: ([^\n]*)", m).group(1).decode() for m in self.inbox(0)]

    def main_log(self):
        """The log file: the server's lines and the CLI's (`serve` stderr has only the former)."""
        return (self.n.data / "log" / "nougat.log").read_text("utf-8", "replace")

    def queue_files(self):
        return sorted(p.name for d in ("queue", "release") for p in (self.n.data / "spool" / d).iterdir())

    # ---- tests ----
    def test_held_message_listed_shown_and_released_while_running(self):
        held = self.send("please hold this")
        before = len(self.inbox(0))
        self.send("an ordinary one")
        self.inbox(before + 1)
        # Its spool files go just after its Maildir copy is written: wait for that.
        deadline = time.time() + 20
        while len(self.entries()) > 1 and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.entries(), {held: ("s@example.org", "held: frozen by the system filter: held for review",
                                                 ["pending alice@localhost"])})
        self.assertEqual(self.queue("list", "--count").stdout, "1 message, 1 held\n")

        shown = self.queue("show", held).stdout
        for want in (f"Queue-Id: {held}\n", "Sender: <s@example.org>\n", "Recipient: pending alice@localhost\n",
                     "Status: held: frozen by the system filter: held for review\n",
                     "Subject: please hold this\n", "\n\na secret body\n"):
            self.assertIn(want, shown)
        headers = self.queue("show", held, "--headers").stdout
        self.assertIn("Subject: please hold this\n", headers)
        self.assertNotIn("a secret body", headers)
        self.assertEqual(self.queue("show", held, "--body").stdout, "a secret body\n")

        r = self.queue("release", held)
        self.assertIn(f"released {held}", r.stdout)
        # Delivered by the running server (it looks for release markers every
        # 2 s), not at a restart; the timeout only bounds a loaded machine.
        got = self.inbox(before + 2, timeout=30)
        self.assertEqual(len(got), before + 2, "released message delivered while the server runs")
        self.assertIn("please hold this", self.subjects())
        deadline = time.time() + 20
        while self.queue_files() and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.queue_files(), [], "message and marker removed once delivered")
        self.assertEqual(self.queue("list", "--count").stdout, "0 messages, 0 held\n")
        log = self.main_log()
        self.assertIn(f"{held} release requested by the administrator", log)
        self.assertIn(f"{held} released from quarantine by the administrator", log)
        self.assertIn(f"{held} => alice@localhost", log)
        self.assertIn("no message " + held, self.queue("release", held, code=1).stderr)

    def test_released_with_the_server_stopped_is_delivered_at_start(self):
        held = self.send("hold me over a restart")
        before = len(self.inbox(0))
        self.n.stop()
        try:
            self.queue("release", held)
            self.assertEqual(self.entries()[held][1],
                             "released (held: frozen by the system filter: held for review)")
            self.assertIn("already released", self.queue("release", held).stdout)
        finally:
            self.n.start()
        self.assertEqual(len(self.inbox(before + 1)), before + 1)
        self.assertIn("hold me over a restart", self.subjects())
        deadline = time.time() + 20
        while held in self.entries() and time.time() < deadline:
            time.sleep(0.05)
        self.assertNotIn(held, self.entries())

    def test_delete_a_held_message(self):
        held = self.send("hold and delete")
        r = self.queue("delete", held)
        self.assertIn(f"removed {held} from <s@example.org> for alice@localhost", r.stdout)
        self.assertNotIn(held, self.entries())
        self.assertFalse([f for f in self.queue_files() if f.startswith(held)])
        self.assertIn(f"{held} removed by the administrator", self.main_log())
        self.assertIn("no message", self.queue("delete", held, code=1).stderr)
        self.assertIn("no message", self.queue("show", held, code=1).stderr)

    def test_messages_that_are_not_held(self):
        # A remote recipient stays queued (no SMTP client transport yet), not held.
        pending = self.send("remote mail", to=("far@remote.test",))
        self.assertEqual(self.entries()[pending], ("s@example.org", None, ["pending far@remote.test"]))
        self.assertIn("not held", self.queue("release", pending, code=1).stderr)
        r = self.queue("delete", pending, code=1)
        self.assertIn("the server may be delivering it", r.stderr)
        self.assertIn("--force", r.stderr)
        self.assertIn(pending, self.entries())
        self.assertIn(f"removed {pending}", self.queue("delete", pending, "--force").stdout)
        self.assertNotIn(pending, self.entries())
        for bad in ("1xXD4z-00DhV1Wa", "../../etc/passwd", "x"):
            code = 1 if bad.startswith("1x") else 2
            for sub in ("release", "delete", "show"):
                self.queue(sub, bad, code=code)

    def test_virus_quarantine_is_listed_and_released(self):
        held = self.send("eicar inside", body=EICAR + "\r\n")
        self.assertEqual(self.entries()[held][1], "held: virus found: Nougat.Test.EICAR.UNOFFICIAL")
        self.assertIn("Header-Added: X-Virus: Nougat.Test.EICAR.UNOFFICIAL", self.queue("show", held).stdout)
        before = len(self.inbox(0))
        self.queue("release", held)
        got = self.inbox(before + 1)
        self.assertTrue(any(b"eicar inside" in m and b"X-Virus: Nougat.Test.EICAR.UNOFFICIAL" in m for m in got))
        # The system filter ran on it too, at end of DATA, after the scan.
        self.assertTrue(any(b"eicar inside" in m and b"X-Sysfilter: saw Nougat.Test.EICAR.UNOFFICIAL" in m
                            for m in got))


if __name__ == "__main__":
    unittest.main()
