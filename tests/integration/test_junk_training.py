"""Junk training (engine/junk_trainer.hpp) with a real `nougat serve`: alice
moves mail between INBOX and Maildir/.Junk the way a Maildir client does (a
rename, or a copy under a new name and an unlink) and her own Bayes store
learns from it: a hammy message moved into Junk is learnt as spam, moved
back it is unlearnt, a flagged one moved out of Junk is learnt as ham, a
flagged one left in Junk teaches nothing, and a restart trains nothing twice.
Then the point of it all: after she junks a few messages of a kind the
global store does not know, the next one lands in her Junk (her store,
engine/user_spam.hpp) and in bob's INBOX.
"""
import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from bayes_corpus import message, write_corpus
from harness import Nougat, nougat_bin, wait_files

ALICE = "alice@localhost"
NEWS = ("webinar digest subscription newsletter edition roundup weekly briefing highlights "
        "podcast episode recap upcoming speakers register panel").split()


def newsletter(seed):
    """A kind of mail the global store has never seen (a third vocabulary)."""
    import random
    r = random.Random(seed)
    words = " ".join(r.choice(NEWS) for _ in range(40))
    return (f"From: news@letters.example\r\nTo: {ALICE}\r\nSubject: {r.choice(NEWS)} {r.choice(NEWS)}\r\n"
            f"Message-ID: <{seed}@letters.example>\r\n\r\n{words}\r\n")


def spam_flag(raw):
    m = re.search(rb"^X-Spam-Flag: (\w+)$", raw.split(b"\n\n", 1)[0], re.M)
    return m.group(1).decode() if m else None


class JunkTraining(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="nougat-junk-"))
        spam_dir, ham_dir = write_corpus(cls.tmp / "corpus", 200, 200)
        cls.data = cls.tmp / "data"
        cls.data.mkdir()
        for flag, d in (("--spam", spam_dir), ("--ham", ham_dir)):
            subprocess.run([nougat_bin(), "bayes", "train", "--data", str(cls.data), flag, str(d)], check=True,
                           capture_output=True)
        # Viruses tagged, not refused: a tagged virus that is spam lands in
        # Junk with the virus check's field above our flag.
        cls.n = Nougat(data=str(cls.data), sets=["spam.junk_scan_interval=1s", "antivirus.action=tag"])
        cls.start_server()
        cls.n.add_user(ALICE)
        cls.n.add_user("bob@localhost")
        cls.n.add_user("carol@localhost")
        # A user added while serve runs gets a first pass of their own (mail
        # already there is not learnt); its seen sets are then saved.
        seen = cls.data / "bayes" / "users" / ALICE / "junk-seen"
        deadline = time.time() + 10
        while not seen.exists():
            assert time.time() < deadline, cls.n.log()[-2000:]
            time.sleep(0.02)
        cls.md = cls.n.maildir(ALICE)
        for sub in ("tmp", "new", "cur"):  # as a client creates the folder
            (cls.md / ".Junk" / sub).mkdir(parents=True, exist_ok=True)

    @classmethod
    def start_server(cls):
        before = cls.n.log().count("junk training: watching") if cls.n.stderr_path.exists() else 0
        cls.n.start()
        deadline = time.time() + 10
        while cls.n.log().count("junk training: watching") == before:  # the first pass is over
            assert time.time() < deadline, cls.n.log()[-2000:]
            time.sleep(0.02)

    @classmethod
    def tearDownClass(cls):
        cls.n.stop()
        if not os.environ.get("NOUGAT_KEEP_TEST_DATA"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ----
    def send(self, to, raw):
        with smtplib.SMTP("127.0.0.1", self.n.port("smtp"), timeout=20) as s:
            s.sendmail("sender@example.org", to, raw.encode())

    def deliver(self, raw, folder):
        """Sends `raw` to alice and returns its file in `folder` (new/)."""
        d = self.md / folder / "new" if folder else self.md / "new"
        before = set(d.iterdir()) if d.is_dir() else set()
        self.send([ALICE], raw)
        deadline = time.time() + 10
        while time.time() < deadline:
            now = set(d.iterdir()) if d.is_dir() else set()
            if now - before:
                return (now - before).pop()
            time.sleep(0.02)
        self.fail(f"not delivered to {d}:\n" + self.n.log()[-2000:])

    def user_stats(self):
        out = self.n.run_cli("bayes", "stats", "--user", ALICE).stdout
        s = dict(l.split(": ", 1) for l in out.splitlines())
        return int(s["user spam messages"]), int(s["user ham messages"])

    def junk_lines(self):
        return re.findall(r"junk training: alice@localhost: (.*)", self.n.log())

    def wait_trained(self, want, line, timeout=10):
        """Until the log has one more `line` (logged once the journal has it)
        and alice's own store counts `want` (spam, ham) messages."""
        count = self.junk_lines().count(line)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.junk_lines().count(line) > count:
                break
            time.sleep(0.05)
        self.assertEqual(self.user_stats(), want, self.n.log()[-3000:])
        self.assertEqual(self.junk_lines().count(line), count + 1, self.n.log()[-3000:])

    # ---- one story, in order ----
    def test_moves_train_the_users_store(self):
        # Our verdicts: hammy → INBOX (flag NO), spammy → Junk (flag YES).
        h1 = self.deliver(message(False, 424201), "")
        s1 = self.deliver(message(True, 424202), ".Junk")
        self.assertEqual(spam_flag(h1.read_bytes()), "NO")
        self.assertEqual(spam_flag(s1.read_bytes()), "YES")
        self.assertEqual(self.user_stats(), (0, 0))

        # 1. Moved into Junk with a rename (mutt, or IMAP later): learnt as spam.
        # The flagged message that stays in Junk is not learnt.
        os.rename(h1, self.md / ".Junk" / "cur" / (h1.name + ":2,S"))
        self.wait_trained((1, 0), "1 spam (moved or filed by the user)")

        # 2. Moved back: unlearnt.
        os.rename(self.md / ".Junk" / "cur" / (h1.name + ":2,S"), self.md / "cur" / (h1.name + ":2,S"))
        self.wait_trained((0, 0), "1 spam unlearnt (moved or filed by the user)")

        # 3. Copied into Junk under a new name, the original unlinked.
        h2 = self.deliver(message(False, 424203), "")
        tmpname = self.md / ".Junk" / "tmp" / "1764316000.M1P4242.client"
        shutil.copyfile(h2, tmpname)
        os.rename(tmpname, self.md / ".Junk" / "cur" / "1764316000.M1P4242.client:2,S")
        h2.unlink()
        self.wait_trained((1, 0), "1 spam (moved or filed by the user)")

        # 4. A flagged message moved out of Junk: learnt as ham.
        os.rename(s1, self.md / "cur" / (s1.name + ":2,S"))
        self.wait_trained((1, 1), "1 ham (moved or filed by the user)")
        own = self.data / "bayes" / "users" / ALICE
        for name in ("junk-journal", "junk-seen", "data.mdb"):  # hers alone, as her Maildir
            self.assertEqual((own / name).stat().st_mode & 0o777, 0o600, name)
        self.assertEqual(own.stat().st_mode & 0o777, 0o700)
        journal = (self.data / "bayes" / "users" / ALICE / "junk-journal").read_text()
        # Keyed as the store keys its seen records: the Message-ID and a hash of the body.
        self.assertRegex(journal, r" spam <424203@work\.example>\|body:[0-9a-f]{32}\n")
        self.assertRegex(journal, r" ham <424202@deals\.example>\|body:[0-9a-f]{32}\n")
        self.assertRegex(journal, r" none <424201@work\.example>\|body:[0-9a-f]{32}\n")

        # 5. A restart reads everything anew: nothing is trained twice.
        lines = len(self.junk_lines())
        self.n.stop()
        self.start_server()
        time.sleep(1.2)  # and one more pass
        self.assertEqual(self.user_stats(), (1, 1))
        self.assertEqual(len(self.junk_lines()), lines, self.junk_lines())

        # 5b. A move made while nougat is down counts after the restart
        # (what was seen is kept in junk-seen next to the journal).
        learnt = self.junk_lines().count("1 spam (moved or filed by the user)")
        self.n.stop()
        h1_now = self.md / "cur" / (h1.name + ":2,S")
        os.rename(h1_now, self.md / ".Junk" / "cur" / h1_now.name)
        self.start_server()  # returns after the first pass, which learns it
        self.assertEqual(self.user_stats(), (2, 1), self.n.log()[-3000:])
        self.assertEqual(self.junk_lines().count("1 spam (moved or filed by the user)"), learnt + 1)

        # 6. The effect: a kind of mail the global store does not know goes to
        # INBOX; alice junks five of them; the sixth goes to her Junk, and
        # still to bob's INBOX.
        first = self.deliver(newsletter(1), "")
        self.assertEqual(spam_flag(first.read_bytes()), "NO")
        moved = [first] + [self.deliver(newsletter(seed), "") for seed in range(2, 6)]
        for f in moved:
            os.rename(f, self.md / ".Junk" / "cur" / (f.name + ":2,S"))
        # One pass may see some of the moves and the next one the rest.
        before = len(self.junk_lines())
        deadline = time.time() + 10
        learnt = 0
        while learnt < 5 and time.time() < deadline:
            time.sleep(0.05)
            learnt = sum(int(m) for l in self.junk_lines()[before:]
                         for m in re.findall(r"^(\d+) spam \(moved or filed by the user\)$", l))
        self.assertEqual(learnt, 5, self.n.log()[-3000:])
        self.assertEqual(self.user_stats(), (7, 1))
        self.send([ALICE, "bob@localhost"], newsletter(6))
        junk = wait_files(self.md / ".Junk" / "new", 1)
        bob = wait_files(self.n.maildir("bob@localhost") / "new", 1)
        self.assertEqual(len(junk), 1, self.n.log()[-3000:])
        self.assertEqual(spam_flag(junk[0]), "YES")
        self.assertEqual(spam_flag(bob[0]), "NO")
        self.assertIn("spam check (own store of alice@localhost): spam", self.n.log())

    def test_tagged_virus_in_junk_teaches_nothing(self):
        """Spam with a virus let through (antivirus.action = "tag") goes to
        Junk carrying X-Virus and our YES flag: ours, so the trainer leaves
        it alone, like any flagged message in Junk."""
        bob = "bob@localhost"
        junk = self.n.maildir(bob) / ".Junk" / "new"
        eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-" + "ANTIVIRUS-TEST-FILE!$H+H*"
        lines = len(re.findall(r"junk training: bob@localhost", self.n.log()))
        self.send([bob], message(True, 525201) + eicar + "\r\n")
        files = wait_files(junk, 1)
        self.assertEqual(len(files), 1, self.n.log()[-3000:])
        raw = files[0]  # wait_files gives the contents
        self.assertIn(b"\nX-Virus: ", raw.split(b"\n\n", 1)[0])
        self.assertEqual(spam_flag(raw), "YES")
        time.sleep(2.5)  # two passes and more
        self.assertEqual(len(re.findall(r"junk training: bob@localhost", self.n.log())), lines,
                         self.n.log()[-3000:])

    def test_a_file_in_junk_that_is_no_mail_fails_nothing(self):
        """A file in Junk that is no mail (here: binary) is left out of the
        batch; the rest is learnt and the batch is done — not failed and
        retried forever — and the log counts what was learnt."""
        carol = "carol@localhost"
        junk = self.n.maildir(carol) / ".Junk" / "cur"
        junk.mkdir(parents=True, exist_ok=True)
        (junk / "1700000000.1.host:2,S").write_bytes(b"\x00\x01\x02 not a message \x00" * 10)
        (junk / "1700000000.2.host:2,S").write_text(message(True, 626201).replace("\r\n", "\n"))
        deadline = time.time() + 10
        pat = r"junk training: carol@localhost: \d+ spam"
        while not re.search(pat, self.n.log()) and time.time() < deadline:
            time.sleep(0.05)
        self.assertRegex(self.n.log(), r"junk training: carol@localhost: 1 spam \(moved or filed by the user\)")
        time.sleep(2.5)  # two passes and more: nothing retried
        self.assertNotRegex(self.n.log(), r"junk training: carol@localhost: .*failed")


if __name__ == "__main__":
    unittest.main(verbosity=2)
