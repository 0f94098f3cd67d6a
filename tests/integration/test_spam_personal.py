"""Per-user Bayes stores at delivery (engine/user_spam.hpp): a recipient
trained with `nougat bayes train --user` gets their copy classified with
their own store over the global one. The global store here learns the usual
way round; bob, carol and erin learn the opposite (the global spam
vocabulary is their ham, three times as often, so it dominates). One message
to alice and bob in one transaction then lands in alice's Junk and bob's
INBOX (and the other way round for erin), each copy with exactly one set of
X-Spam-* fields; carol's ~/.forward sees her own $spam_score_int. A user
without a store still takes the direct path.
"""
import re
import shutil
import smtplib
import subprocess
import tempfile
import unittest
from pathlib import Path

from bayes_corpus import message, write_corpus
from harness import Nougat, nougat_bin, wait_files

SPAM_FIELDS = ("x-spam-score", "x-spam-status", "x-spam-flag")


def header_lines(raw):
    head = raw.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    return [l for l in head.split("\n") if l and not l[0].isspace()]


def spam_fields(raw):
    """name (lowercased) -> list of values, for the X-Spam-* fields."""
    out = {}
    for line in header_lines(raw):
        name, _, value = line.partition(":")
        if name.strip().lower() in SPAM_FIELDS:
            out.setdefault(name.strip().lower(), []).append(value.strip())
    return out


def train(data, flag, path, user=None):
    args = [nougat_bin(), "bayes", "train", "--data", str(data), flag, str(path)]
    if user:
        args[3:3] = ["--user", user]
    subprocess.run(args, check=True, capture_output=True)


def start_trained(cls, users, own, sets=()):
    """cls.tmp, cls.n: a server whose global store learnt the usual way
    round, with `users`; those in `own` then learn the opposite in their own
    stores (600 of the spam vocabulary as ham, 600 of the ham vocabulary as
    spam: other seeds, other messages), while the server runs — the stores
    are picked up without a restart."""
    cls.tmp = Path(tempfile.mkdtemp(prefix="nougat-personal-"))
    spam_dir, ham_dir = write_corpus(cls.tmp / "global", 200, 200)
    their_ham, their_spam = write_corpus(cls.tmp / "personal", 600, 600, seed=7)
    data = cls.tmp / "data"
    data.mkdir()
    train(data, "--spam", spam_dir)
    train(data, "--ham", ham_dir)
    cls.n = Nougat(data=str(data), sets=list(sets))
    cls.n.start()
    for u in users:
        cls.n.add_user(f"{u}@localhost")
    for u in own:
        train(data, "--ham", their_ham, user=f"{u}@localhost")
        train(data, "--spam", their_spam, user=f"{u}@localhost")


class TrainedServer(unittest.TestCase):
    """A server from start_trained() (setUpClass of the subclasses)."""

    @classmethod
    def tearDownClass(cls):
        cls.n.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def send(self, to, raw):
        with smtplib.SMTP("127.0.0.1", self.n.port("smtp"), timeout=20) as s:
            return s.sendmail("sender@example.org", to, raw.encode())


class PersonalSpam(TrainedServer):
    @classmethod
    def setUpClass(cls):
        start_trained(cls, ("alice", "bob", "carol", "dave", "erin"), ("bob", "carol", "erin"))

    def md(self, user):
        return self.n.maildir(f"{user}@localhost")

    def assert_one_set(self, raw, flag):
        fields = spam_fields(raw)
        for name in SPAM_FIELDS:
            self.assertEqual(len(fields.get(name, [])), 1, (name, header_lines(raw)))
        self.assertEqual(fields["x-spam-flag"][0], flag, header_lines(raw))
        return fields

    def test_global_spam_is_ham_for_bob(self):
        self.send(["alice@localhost", "bob@localhost"], message(True, 919191))
        alice = wait_files(self.md("alice") / ".Junk" / "new", 1)
        bob = wait_files(self.md("bob") / "new", 1)
        self.assertEqual(len(alice), 1, self.n.log()[-3000:])
        self.assertEqual(len(bob), 1, self.n.log()[-3000:])
        fa = self.assert_one_set(alice[0], "YES")
        fb = self.assert_one_set(bob[0], "NO")
        self.assertGreaterEqual(float(fa["x-spam-score"][0]), 0.99)
        self.assertLess(float(fb["x-spam-score"][0]), 0.45)
        self.assertTrue(fb["x-spam-status"][0].startswith("No, score="), fb)
        self.assertFalse((self.md("bob") / ".Junk").exists())
        self.assertIn("spam check (own store of bob@localhost): ham", self.n.log())
        self.assertNotIn("own store of alice@localhost", self.n.log())

    def test_global_ham_is_spam_for_erin(self):
        self.send(["alice@localhost", "erin@localhost"], message(False, 929292))
        alice = wait_files(self.md("alice") / "new", 1)
        erin = wait_files(self.md("erin") / ".Junk" / "new", 1)
        self.assertEqual(len(alice), 1, self.n.log()[-3000:])
        self.assertEqual(len(erin), 1, self.n.log()[-3000:])
        self.assert_one_set(alice[0], "NO")
        fe = self.assert_one_set(erin[0], "YES")
        self.assertTrue(fe["x-spam-status"][0].startswith("Yes, score="), fe)
        self.assertFalse((self.md("erin") / "new").exists() and any((self.md("erin") / "new").iterdir()))

    def test_forward_filter_sees_the_personal_score(self):
        home = self.md("carol").parent
        home.mkdir(parents=True, exist_ok=True)
        (home / ".forward").write_text("# Exim filter\n"
                                       "unseen save $home/Maildir/.I$spam_score_int/\n"
                                       "if $spam_score_int is above 98 then save $home/Maildir/.Spammy/ endif\n")
        self.send(["carol@localhost"], message(True, 939393))
        inbox = wait_files(self.md("carol") / "new", 1)
        self.assertEqual(len(inbox), 1, self.n.log()[-3000:])
        self.assert_one_set(inbox[0], "NO")
        ints = [int(p.name[2:]) for p in self.md("carol").iterdir() if re.fullmatch(r"\.I\d+", p.name)]
        self.assertEqual(len(ints), 1, sorted(p.name for p in self.md("carol").iterdir()))
        self.assertLess(ints[0], 45)  # the global verdict would have been 99 or 100
        self.assertFalse((self.md("carol") / ".Spammy").exists())

    def test_user_without_store_takes_the_direct_path(self):
        # The direct path puts the copy in place before the 250
        # (engine/intake.hpp); the spool path delivers after it.
        junk = self.md("dave") / ".Junk" / "new"
        with smtplib.SMTP("127.0.0.1", self.n.port("smtp"), timeout=20) as s:
            s.sendmail("sender@example.org", ["dave@localhost"], message(True, 949494).encode())
            files = list(junk.iterdir()) if junk.is_dir() else []
        self.assertEqual(len(files), 1, self.n.log()[-3000:])
        self.assert_one_set(files[0].read_bytes(), "YES")
        self.assertNotIn("own store of dave@localhost", self.n.log())




class PersonalSpamWithReject(TrainedServer):
    """spam.action = "reject": one SMTP answer covers every recipient, so a
    spam is refused only when each recipient with a store of their own calls
    it spam too; otherwise it is accepted and each copy goes where its
    recipient's verdict says (Junk for the global verdict's spam)."""

    @classmethod
    def setUpClass(cls):
        start_trained(cls, ("alice", "bob"), ("bob",), sets=['spam.action="reject"'])

    def test_spam_to_a_user_without_a_store_is_rejected(self):
        with self.assertRaises(smtplib.SMTPDataError) as e:
            self.send(["alice@localhost"], message(True, 949494))
        self.assertEqual(e.exception.smtp_code, 550)

    def test_a_recipients_own_store_keeps_what_it_calls_ham(self):
        self.send(["bob@localhost"], message(True, 959595))
        bob = wait_files(self.n.maildir("bob@localhost") / "new", 1)
        self.assertEqual(len(bob), 1, self.n.log()[-3000:])
        self.assertEqual(spam_fields(bob[0])["x-spam-flag"], ["NO"])
        self.assertIn("not rejected: bob@localhost's own store says ham", self.n.log())
        # With alice too: accepted; hers goes to Junk, bob's to his inbox.
        self.send(["alice@localhost", "bob@localhost"], message(True, 969696))
        alice = wait_files(self.n.maildir("alice@localhost") / ".Junk" / "new", 1)
        self.assertEqual(len(alice), 1, self.n.log()[-3000:])
        self.assertEqual(spam_fields(alice[0])["x-spam-flag"], ["YES"])
        self.assertEqual(len(wait_files(self.n.maildir("bob@localhost") / "new", 2)), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
