"""The system filter (filter.system_filter): one Exim filter run once per
message at end of DATA, after the scanners (engine/system_filter.hpp), with a
real `nougat serve`, smtplib and swaks:
  - headers add/remove change every recipient's copy (and $h_ at once);
  - it sees $recipients, the scanners' variables and header fields;
  - fail answers 550 with its text, defer 451, freeze holds the message;
  - a significant deliver redirects, unseen deliver adds a recipient,
    `seen finish` discards;
  - $n0..$n9 reach users' ~/.forward filters as $sn0..$sn9;
  - an edited filter is used for the next message, a broken one tempfails;
  - serve refuses to start with a broken filter, naming file and line.
"""
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from harness import REPO, Nougat, nougat_bin, wait_files

RULES = REPO / "rules" / "clamav"
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-" + "ANTIVIRUS-TEST-FILE!$H+H*"

FILTER = r"""# Exim filter
headers add "X-System-Filter: seen for $recipients"
if $h_subject: contains "reject me" then
  fail text "<<subject rule 1>>We do not take such mail here"
endif
if $h_subject: contains "later" then defer text "try again later" endif
if $h_subject: contains "hold" then freeze text "held for review" endif
if $h_subject: contains "redirect" then deliver bob@localhost endif
if $h_subject: contains "copy" then unseen deliver carol@localhost endif
if $h_subject: contains "drop" then seen finish endif
if $h_subject: contains "rewrite" then
  headers add "Old-Subject: $h_subject:"
  headers remove "Subject"
  headers add "Subject: [rewritten] $h_old-subject:"
  headers remove "Old-Subject"
endif
if $h_subject: is "[rewritten] rewrite me" then headers add "X-Saw-New-Subject: yes" endif
if "$malware_name" is not "" then headers add "X-Malware: $malware_name" endif
if $h_x-virus: is not "" then headers add "X-Saw-Virus-Header: $h_x-virus:" endif
if $h_subject: contains "score" then add 42 to n3 endif
"""


def headers_of(raw):
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")
    out = []
    for line in head.split("\n"):
        if line and not line[0].isspace() and ":" in line:
            k, v = line.split(":", 1)
            out.append((k.strip().lower(), v.strip()))
    return out


def header(raw, name):
    vals = [v for k, v in headers_of(raw) if k == name.lower()]
    return vals[0] if vals else None


class SystemFilter(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="nougat-sysfilter-"))
        cls.data = cls.tmp / "data"
        cls.data.mkdir()
        (cls.data / "system.filter").write_text(FILTER)
        cls.n = Nougat(data=str(cls.data), sets=["filter.system_filter=system.filter",
                                                  f'antivirus.signatures=["{RULES}"]', "antivirus.action=tag"])
        cls.n.start()
        for u in ("alice", "bob", "carol", "dave"):
            cls.n.add_user(f"{u}@localhost")

    @classmethod
    def tearDownClass(cls):
        cls.n.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def send(self, to, subject, body="hello\r\n", extra=""):
        raw = f"From: s@example.org\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\n{extra}\r\n{body}"
        with smtplib.SMTP("127.0.0.1", self.n.port("smtp"), timeout=20) as s:
            s.sendmail("s@example.org", to, raw.encode())

    def inbox(self, user, count, folder="new"):
        return wait_files(self.n.maildir(f"{user}@localhost") / folder, count)

    def count(self, user):
        d = self.n.maildir(f"{user}@localhost") / "new"
        return len(list(d.iterdir())) if d.is_dir() else 0

    def test_headers_added_for_every_recipient(self):
        self.send(["dave@localhost", "alice@localhost"], "plain hello")
        for user in ("dave", "alice"):
            mails = [m for m in self.inbox(user, 1) if b"plain hello" in m]
            self.assertEqual(len(mails), 1, user)
            self.assertEqual(header(mails[0], "x-system-filter"), "seen for dave@localhost, alice@localhost")
            # Our Received: stays the first field; the scanners' fields are there too.
            self.assertEqual(headers_of(mails[0])[2][0], "received")
            self.assertIsNotNone(header(mails[0], "x-spam-flag"))

    def test_header_rewrite_is_immediate(self):
        self.send(["alice@localhost"], "rewrite me")
        mails = [m for m in self.inbox("alice", 1) if b"rewrite me" in m]
        self.assertTrue(mails)
        mails = [m for m in self.inbox("alice", 1) if b"[rewritten] rewrite me" in m]
        self.assertEqual(len(mails), 1)
        subjects = [v for k, v in headers_of(mails[0]) if k == "subject"]
        self.assertEqual(subjects, ["[rewritten] rewrite me"])
        self.assertIsNone(header(mails[0], "old-subject"))
        self.assertEqual(header(mails[0], "x-saw-new-subject"), "yes")

    def test_fail_defer_freeze(self):
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            self.send(["alice@localhost"], "please reject me")
        self.assertEqual(cm.exception.smtp_code, 550)
        self.assertIn(b"5.7.1 We do not take such mail here", cm.exception.smtp_error)
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            self.send(["alice@localhost"], "later please")
        self.assertEqual(cm.exception.smtp_code, 451)
        before = self.count("alice")
        self.send(["alice@localhost"], "hold this one")  # accepted, held
        time.sleep(0.5)
        self.assertFalse(any(b"hold this one" in m for m in self.inbox("alice", before)))
        log = self.n.log()
        self.assertIn("rejected by the system filter: subject rule 1", log)
        self.assertIn("frozen by the system filter: held for review", log)
        self.assertIn("held in quarantine", log)
        queued = list((self.data / "spool" / "queue").iterdir())
        self.assertTrue(any(b"hold this one" in p.read_bytes() for p in queued if p.is_file()))

    def test_redirect_copy_and_discard(self):
        self.send(["dave@localhost"], "redirect this")
        self.assertTrue(any(b"redirect this" in m for m in self.inbox("bob", 1)))
        time.sleep(0.3)
        self.assertFalse(any(b"redirect this" in m for m in self.inbox("dave", 0)))
        self.send(["dave@localhost"], "copy this")
        self.assertTrue(any(b"copy this" in m for m in self.inbox("carol", 1)))
        self.assertTrue(any(b"copy this" in m for m in self.inbox("dave", 1)))
        self.send(["dave@localhost"], "drop this")  # 250, nothing delivered
        time.sleep(0.3)
        for u in ("alice", "bob", "carol", "dave"):
            self.assertFalse(any(b"drop this" in m for m in self.inbox(u, 0)), u)
        self.assertIn("seen by the system filter, no deliveries", self.n.log())

    def test_scanner_results_are_visible(self):
        self.send(["alice@localhost"], "eicar inside", body=EICAR + "\r\n")
        mails = [m for m in self.inbox("alice", 1) if b"eicar inside" in m]
        self.assertEqual(len(mails), 1)
        self.assertEqual(header(mails[0], "x-malware"), "Nougat.Test.EICAR.UNOFFICIAL")
        self.assertEqual(header(mails[0], "x-saw-virus-header"), "Nougat.Test.EICAR.UNOFFICIAL")

    def test_n_variables_reach_user_filters_as_sn(self):
        home = self.n.maildir("carol@localhost").parent
        home.mkdir(parents=True, exist_ok=True)
        (home / ".forward").write_text(
            "# Exim filter\n"
            "if $sn3 is 42 then save Maildir/.Scored/ endif\n")
        try:
            self.send(["carol@localhost"], "score me")
            mails = wait_files(self.n.maildir("carol@localhost") / ".Scored" / "new", 1)
            self.assertTrue(any(b"score me" in m for m in mails))
        finally:
            (home / ".forward").unlink()

    def test_swaks_sees_the_fail_text(self):
        if not shutil.which("swaks"):
            self.skipTest("swaks not installed")
        p = subprocess.run(["swaks", "--server", f"127.0.0.1:{self.n.port('smtp')}", "--to", "alice@localhost",
                            "--from", "s@example.org", "--header", "Subject: reject me now", "--body", "x"],
                           capture_output=True, text=True, timeout=30)
        self.assertIn("550 5.7.1 We do not take such mail here", p.stdout)


class SystemFilterFile(unittest.TestCase):
    def test_edits_apply_to_the_next_message_and_breakage_tempfails(self):
        with Nougat() as n:
            f = n.data / "system.filter"
            f.write_text('# Exim filter\nheaders add "X-Version: 1"\n')
            n.stop()
            n.sets = ["filter.system_filter=system.filter"]
            n.start()
            n.add_user("alice@localhost")

            def send(subject):
                with smtplib.SMTP("127.0.0.1", n.port("smtp"), timeout=20) as s:
                    s.sendmail("s@example.org", ["alice@localhost"],
                               f"Subject: {subject}\r\n\r\nx\r\n".encode())

            send("one")
            f.write_text('# Exim filter\nheaders add "X-Version: 2 (edited)"\n')
            send("two")
            mails = wait_files(n.maildir("alice@localhost") / "new", 2)
            versions = sorted(header(m, "x-version") for m in mails)
            self.assertEqual(versions, ["1", "2 (edited)"])
            f.write_text("# Exim filter\nif $h_subject: contains x then\n")
            with self.assertRaises(smtplib.SMTPDataError) as cm:
                send("three")
            self.assertEqual(cm.exception.smtp_code, 451)
            self.assertIn('"endif" missing', n.log())

    def test_logwrite_is_one_log_line(self):
        """A logwrite is one line of the main log however its text ends or
        what the sender put in it (a folded Subject): no blank line, no line
        that a sender wrote."""
        with Nougat() as n:
            (n.data / "system.filter").write_text(
                '# Exim filter\nlogwrite "one=$h_subject:"\nlogwrite "two\\n"\n')
            n.stop()
            n.sets = ["filter.system_filter=system.filter"]
            n.start()
            n.add_user("alice@localhost")
            with smtplib.SMTP("127.0.0.1", n.port("smtp"), timeout=20) as s:
                s.sendmail("s@example.org", ["alice@localhost"],
                           b"Subject: first\r\n 2026-11-28 00:00:00 1xFAKE-000001 => root@localhost\r\n\r\nx\r\n")
            wait_files(n.maildir("alice@localhost") / "new", 1)
            log = n.log()
            self.assertNotIn("\n\n", log)
            self.assertFalse(any(l.startswith(" ") for l in log.splitlines()))
            self.assertRegex(log, r"system filter logwrite: one=first\\n 2026-11-28 00:00:00 1xFAKE")
            self.assertRegex(log, r"system filter logwrite: two\n")

    def test_broken_filter_stops_serve_with_file_and_line(self):
        with tempfile.TemporaryDirectory(prefix="nougat-sysfilter-bad-") as d:
            (Path(d) / "system.filter").write_text("# Exim filter\nif $h_subject: contains x then\n  junkword\nendif\n")
            p = subprocess.run([nougat_bin(), "serve", "--data", d, "--set", "filter.system_filter=system.filter",
                                "--set", "listen.smtp=127.0.0.1:0", "--set", "listen.submission=[]",
                                "--set", "listen.submissions=[]", "--set", "antivirus.engine=off"],
                               capture_output=True, text=True, timeout=30)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("system.filter", p.stderr)
            self.assertIn('unknown filtering command "junkword" near line', p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
