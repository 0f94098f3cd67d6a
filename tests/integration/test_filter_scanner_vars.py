"""Content-scan results reach ~/.forward filters at delivery, as Exim's
$spam_score, $spam_score_int, $spam_bar and $malware_name do: the checks set
them at end of DATA, the spool keeps them ("var" records), the router answers
them. The Bayes probability p is given the SpamAssassin scale p x 10
(engine/spam_check.hpp): spam (p >= 0.99) has $spam_score_int >= 99 and at
least nine "+" in $spam_bar.
"""
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from bayes_corpus import message as bayes_message, write_corpus
from harness import REPO, Nougat, nougat_bin, wait_files

RULES = REPO / "rules" / "clamav"
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-" + "ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_NAME = "Nougat.Test.EICAR.UNOFFICIAL"


def send(n, to, raw):
    with smtplib.SMTP("127.0.0.1", n.port("smtp"), timeout=20) as s:
        s.sendmail("sender@example.org", [to], raw.encode())


def write_forward(n, user, text):
    home = n.maildir(f"{user}@localhost").parent
    home.mkdir(parents=True, exist_ok=True)
    (home / ".forward").write_text(text)


def folders(n, user):
    md = n.maildir(f"{user}@localhost")
    return sorted(p.name for p in md.iterdir() if p.name.startswith(".")) if md.is_dir() else []


class ScannerVariables(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="nougat-scanvars-"))
        spam_dir, ham_dir = write_corpus(cls.tmp / "corpus", 200, 200)
        data = cls.tmp / "data"
        data.mkdir()
        for flag, d in (("--spam", spam_dir), ("--ham", ham_dir)):
            subprocess.run([nougat_bin(), "bayes", "train", "--data", str(data), flag, str(d)], check=True,
                           capture_output=True)
        cls.n = Nougat(data=str(data), sets=[f'antivirus.signatures=["{RULES}"]', "antivirus.action=tag"])
        cls.n.start()
        for u in ("alice", "bob", "carol", "dave"):
            cls.n.add_user(f"{u}@localhost")

    @classmethod
    def tearDownClass(cls):
        cls.n.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_spam_score_int_sorts_spam(self):
        write_forward(self.n, "alice", "# Exim filter\n"
                                       "if $spam_score_int is above 0 then save $home/Maildir/.Scored/ endif\n")
        write_forward(self.n, "bob", "# Exim filter\n"
                                     "if $spam_score_int is above 98 then save $home/Maildir/.Spammy/ endif\n")
        send(self.n, "alice@localhost", bayes_message(True, 818181))
        send(self.n, "bob@localhost", bayes_message(True, 828282))
        send(self.n, "bob@localhost", bayes_message(False, 838383))
        self.assertEqual(len(wait_files(self.n.maildir("alice@localhost") / ".Scored" / "new", 1)), 1)
        spammy = wait_files(self.n.maildir("bob@localhost") / ".Spammy" / "new", 1)
        self.assertEqual(len(spammy), 1)
        self.assertIn(b"X-Spam-Flag: YES", spammy[0])
        # The ham message: no significant delivery, so the normal one (INBOX).
        inbox = wait_files(self.n.maildir("bob@localhost") / "new", 1)
        self.assertEqual(len(inbox), 1)
        self.assertIn(b"X-Spam-Flag: NO", inbox[0])

    def test_values_follow_exim_formats(self):
        # The values themselves, as folder names: .I<int>, .S<score>.
        write_forward(self.n, "carol", "# Exim filter\n"
                                       "unseen save $home/Maildir/.I$spam_score_int/\n"
                                       "unseen save $home/Maildir/.S$spam_score/\n"
                                       "if $spam_bar begins \"+++++++++\" then save $home/Maildir/.Bar/ endif\n")
        send(self.n, "carol@localhost", bayes_message(True, 848484))
        wait_files(self.n.maildir("carol@localhost") / ".Bar" / "new", 1)
        names = folders(self.n, "carol")
        self.assertIn(".Bar", names, self.n.log()[-3000:])
        ints = [int(f[2:]) for f in names if re.fullmatch(r"\.I\d+", f)]
        scores = [f[2:] for f in names if re.fullmatch(r"\.S\d+\.\d", f)]
        self.assertEqual(len(ints), 1, names)
        self.assertEqual(len(scores), 1, names)
        self.assertGreaterEqual(ints[0], 99)
        self.assertLessEqual(ints[0], 100)
        self.assertIn(scores[0], ("9.9", "10.0"))

    def test_malware_name_with_tag_action(self):
        write_forward(self.n, "dave", "# Exim filter\n"
                                      f"if $malware_name is \"{EICAR_NAME}\" then\n"
                                      "  save $home/Maildir/.Virus/\n"
                                      "endif\n")
        virus = ("From: x@remote.test\r\nTo: dave@localhost\r\nSubject: test file\r\n"
                 "Message-ID: <virus-vars@test>\r\n\r\n" + EICAR + "\r\n")
        clean = ("From: x@remote.test\r\nTo: dave@localhost\r\nSubject: clean\r\n"
                 "Message-ID: <clean-vars@test>\r\n\r\nnothing to see\r\n")
        send(self.n, "dave@localhost", virus)
        send(self.n, "dave@localhost", clean)
        quarantined = wait_files(self.n.maildir("dave@localhost") / ".Virus" / "new", 1)
        self.assertEqual(len(quarantined), 1, self.n.log()[-3000:])
        self.assertIn(f"X-Virus: {EICAR_NAME}".encode(), quarantined[0])
        inbox = wait_files(self.n.maildir("dave@localhost") / "new", 1)
        self.assertEqual(len(inbox), 1)
        self.assertIn(b"Subject: clean", inbox[0])
        self.assertNotIn(b"X-Virus", inbox[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
