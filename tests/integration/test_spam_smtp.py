"""The Bayes check over SMTP: with a trained store a spammy message lands in
Maildir/.Junk with X-Spam-Flag: YES and a hammy one in INBOX; an untrained
store tags everything unsure and junks nothing; action=reject refuses spam;
spam.enabled=false adds no headers.
"""
import shutil
import re
import smtplib
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from bayes_corpus import message, write_corpus
from harness import Nougat, nougat_bin, wait_files


def headers_of(raw):
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", "replace")
    out = {}
    for line in head.replace("\r\n", "\n").split("\n"):
        if ":" in line and not line[0].isspace():
            k, v = line.split(":", 1)
            out.setdefault(k.strip().lower(), v.strip())
    return out


class SpamSmtp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="nougat-spam-"))
        cls.spam_dir, cls.ham_dir = write_corpus(cls.tmp / "corpus", 200, 200)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def server(self, name, trained=True, sets=()):
        data = self.tmp / name
        data.mkdir()
        if trained:
            for cls_, d in (("--spam", self.spam_dir), ("--ham", self.ham_dir)):
                subprocess.run([nougat_bin(), "bayes", "train", "--data", str(data), cls_, str(d)], check=True,
                               capture_output=True)
        n = Nougat(data=str(data), sets=list(sets))
        n.start()
        self.addCleanup(n.stop)
        n.add_user("alice@localhost")
        return n

    def send(self, n, body):
        with smtplib.SMTP("127.0.0.1", n.port("smtp"), timeout=10) as s:
            s.sendmail("sender@example.org", ["alice@localhost"], body.encode())

    def test_spam_goes_to_junk_ham_to_inbox(self):
        n = self.server("junk")
        self.send(n, message(True, 424242))
        self.send(n, message(False, 434343))
        md = n.maildir("alice@localhost")
        junk = wait_files(md / ".Junk" / "new", 1)
        inbox = wait_files(md / "new", 1)
        self.assertEqual(len(junk), 1)
        self.assertEqual(len(inbox), 1)
        hj, hi = headers_of(junk[0]), headers_of(inbox[0])
        self.assertEqual(hj["x-spam-flag"], "YES")
        self.assertTrue(hj["x-spam-status"].startswith("Yes, score="), hj["x-spam-status"])
        self.assertGreaterEqual(float(hj["x-spam-score"]), 0.99)
        self.assertEqual(hi["x-spam-flag"], "NO")
        self.assertTrue(hi["x-spam-status"].startswith("No, score="))
        self.assertLess(float(hi["x-spam-score"]), 0.45)
        # The delivery log says which folder: "=> alice@localhost R=local_user T=maildir F=Junk".
        deadline = time.time() + 5  # the file is renamed into place just before the line is logged
        while len(deliveries := re.findall(r"=> alice@localhost R=local_user T=maildir(.*)", n.log())) < 2:
            if time.time() > deadline:
                break
            time.sleep(0.02)
        self.assertEqual(sorted(deliveries), ["", " F=Junk"], n.log()[-2000:])

    def test_junk_folder_is_configurable(self):
        n = self.server("spamfolder", sets=["spam.junk_folder=Spam"])
        self.send(n, message(True, 464646))
        md = n.maildir("alice@localhost")
        spam = wait_files(md / ".Spam" / "new", 1)
        self.assertEqual(len(spam), 1)
        self.assertEqual(headers_of(spam[0])["x-spam-flag"], "YES")
        self.assertTrue((md / ".Spam" / "maildirfolder").exists())  # a Maildir++ folder for IMAP servers
        self.assertFalse((md / ".Junk").exists())

    def test_senders_own_verdict_fields_are_removed(self):
        n = self.server("forged")
        forged = message(True, 454545).replace(
            "\r\n\r\n", "\r\nX-Spam-Flag: NO\r\nX-Spam-Status: No, all fine\r\n"
            "X-Spam-Level: \r\nx-spam-report: all fine\r\nX-Spam-Checker-Version: all fine\r\n\r\n", 1)
        self.send(n, forged)
        junk = wait_files(n.maildir("alice@localhost") / ".Junk" / "new", 1)
        self.assertEqual(len(junk), 1)
        head = junk[0].split(b"\n\n", 1)[0]
        self.assertEqual(head.count(b"X-Spam-Flag:"), 1)
        self.assertIn(b"X-Spam-Flag: YES", head)
        self.assertNotIn(b"all fine", head)  # every X-Spam-* field, as SpamAssassin removes them
        self.assertNotIn(b"X-Spam-Level", head)

    def test_untrained_store_is_unsure_and_delivers_to_inbox(self):
        n = self.server("untrained", trained=False)
        self.send(n, message(True, 515151))
        inbox = wait_files(n.maildir("alice@localhost") / "new", 1)
        self.assertEqual(len(inbox), 1)
        h = headers_of(inbox[0])
        self.assertEqual(h["x-spam-flag"], "NO")
        self.assertEqual(float(h["x-spam-score"]), 0.5)
        self.assertFalse((n.maildir("alice@localhost") / ".Junk").exists())

    def test_reject_action(self):
        n = self.server("reject", sets=["spam.action=reject"])
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            self.send(n, message(True, 616161))
        self.assertEqual(cm.exception.smtp_code, 550)
        self.send(n, message(False, 626262))
        self.assertEqual(len(wait_files(n.maildir("alice@localhost") / "new", 1)), 1)

    def test_disabled_adds_nothing(self):
        n = self.server("off", sets=["spam.enabled=false"])
        self.send(n, message(True, 717171))
        inbox = wait_files(n.maildir("alice@localhost") / "new", 1)
        self.assertEqual(len(inbox), 1)
        self.assertNotIn("x-spam-flag", headers_of(inbox[0]))

    def test_store_that_cannot_open_stops_the_start(self):
        """Running on would pass every message unclassified with the sender's
        own X-Spam fields: nougat refuses to start and says why, as for
        missing ClamAV signatures."""
        data = self.tmp / "badstore"
        data.mkdir()
        (data / "bayes").write_text("not a directory\n")
        n = Nougat(data=str(data))
        self.addCleanup(n.stop)  # also if it started after all
        with self.assertRaises(RuntimeError) as cm:
            n.start(timeout=10)
        self.assertIn("spam: token store", str(cm.exception))
        self.assertIn("spam.enabled = false", str(cm.exception))
        n = Nougat(data=str(data), sets=["spam.enabled=false"])
        n.start()
        self.addCleanup(n.stop)

    def test_virus_is_answered_as_virus_before_spam(self):
        """With spam.action = reject, a spammy message carrying EICAR gets the
        virus answer: the scan runs first."""
        n = self.server("virusfirst", sets=["spam.action=reject"])
        eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-" + "ANTIVIRUS-TEST-FILE!$H+H*"
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            self.send(n, message(True, 818181) + eicar + "\r\n")
        self.assertEqual(cm.exception.smtp_code, 550)
        self.assertIn(b"virus found", cm.exception.smtp_error)


if __name__ == "__main__":
    unittest.main(verbosity=2)
