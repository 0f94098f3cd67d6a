"""`nougat bayes` end to end: train/classify round trips over every input
form (files, directories, Maildir, mbox), the --tsv contract, --user stores,
--unlearn, stats and eval, and the LMDB store surviving SIGKILL mid-training.
"""
import os
import shutil
import re
import signal
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from bayes_corpus import message, write_corpus
from harness import nougat_bin


def run(*args, check=True, **kw):
    return subprocess.run([nougat_bin(), "bayes", *map(str, args)], capture_output=True, text=True,
                          check=check, **kw)


def stats(data, *extra):
    out = run("stats", "--data", data, *extra).stdout
    return {k.strip(): v.strip() for k, v in (l.split(":", 1) for l in out.splitlines())}


def tsv(data, *paths, extra=()):
    out = run("classify", "--data", data, "--tsv", *extra, *paths).stdout
    rows = [l.split("\t") for l in out.splitlines()]
    for r in rows:
        assert len(r) == 3 and r[1] in ("ham", "unsure", "spam") and 0.0 <= float(r[2]) <= 1.0, r
    return rows


class BayesCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="nougat-bayes-"))
        cls.spam, cls.ham = write_corpus(cls.tmp / "train", 300, 300)
        cls.tspam, cls.tham = write_corpus(cls.tmp / "test", 40, 40, seed=7)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def trained(self, name):
        data = self.tmp / name
        run("train", "--data", data, "--spam", self.spam)
        run("train", "--data", data, "--ham", self.ham)
        return data

    def test_untrained_store_is_unsure(self):
        rows = tsv(self.tmp / "empty", self.tspam)
        self.assertEqual(len(rows), 40)
        self.assertTrue(all(r[1] == "unsure" and float(r[2]) == 0.5 for r in rows))
        # ... and says so: a mistyped --data must not pass for a store.
        r = run("classify", "--data", self.tmp / "empty", "--tsv", self.tspam)
        self.assertIn("warning: no token store in", r.stderr)
        r = run("stats", "--data", self.tmp / "empty")
        self.assertIn("warning: no token store in", r.stderr)
        (self.tmp / "a-file").write_text("x")
        r = run("stats", "--data", self.tmp / "a-file", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("is not a directory", r.stderr)

    def test_round_trip_tsv_one_line_per_message(self):
        data = self.trained("rt")
        s = stats(data)
        self.assertEqual(s["spam messages"], "300")
        self.assertEqual(s["ham messages"], "300")
        spam_rows = tsv(data, self.tspam)
        ham_rows = tsv(data, self.tham)
        self.assertEqual(len(spam_rows), 40)
        self.assertEqual([r[0] for r in spam_rows], sorted(str(p) for p in self.tspam.iterdir()))
        self.assertGreaterEqual(sum(r[1] == "spam" for r in spam_rows), 36)
        self.assertEqual(sum(r[1] == "spam" for r in ham_rows), 0)
        self.assertGreaterEqual(sum(r[1] == "ham" for r in ham_rows), 36)

    def test_report_shows_deciding_tokens(self):
        data = self.trained("report")
        out = run("classify", "--data", data, sorted(self.tspam.iterdir())[0]).stdout
        self.assertIn(": spam (score", out)
        lines = [l for l in out.splitlines() if l.startswith("  ") and "token" not in l]
        self.assertEqual(len(lines), 10)

    def test_input_forms_maildir_mbox_files(self):
        data = self.trained("forms")
        md = self.tmp / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (md / sub).mkdir(parents=True, exist_ok=True)
        (md / "new" / "1.host").write_text(message(True, 99))
        (md / "cur" / "2.host:2,S").write_text(message(False, 98))
        rows = tsv(data, md)
        self.assertEqual([r[1] for r in rows], ["ham", "spam"])  # cur/ before new/
        mbox = self.tmp / "box.mbox"
        with open(mbox, "w") as f:
            for i in range(3):
                f.write(f"From someone@example.org Mon Jan  1 00:00:0{i} 2024\n")
                f.write(message(i != 1, 200 + i).replace("\r\n", "\n") + "\n")
        rows = tsv(data, mbox)
        self.assertEqual([r[0] for r in rows], [f"{mbox}:1", f"{mbox}:2", f"{mbox}:3"])
        self.assertEqual([r[1] for r in rows], ["spam", "ham", "spam"])
        one = sorted(self.tham.iterdir())[0]
        self.assertEqual(len(tsv(data, one, one)), 2)
        bad = run("classify", "--data", data, "--tsv", self.tmp / "missing", check=False)
        self.assertEqual(bad.returncode, 1)

    def test_unlearn_and_user_store(self):
        data = self.trained("user")
        run("train", "--data", data, "--spam", "--unlearn", self.spam)
        self.assertEqual(stats(data)["spam messages"], "0")
        self.assertTrue(all(r[1] == "unsure" for r in tsv(data, self.tspam)))
        run("train", "--data", data, "--user", "alice@localhost", "--spam", self.spam)
        self.assertEqual(stats(data, "--user", "alice@localhost")["spam messages"], "300")
        self.assertEqual(stats(data, "--user", "alice@localhost")["user spam messages"], "300")
        self.assertEqual(stats(data, "--user", "bob@localhost")["user spam messages"], "0")
        self.assertEqual(stats(data)["spam messages"], "0")
        rows = tsv(data, self.tspam, extra=("--user", "alice@localhost"))
        self.assertGreaterEqual(sum(r[1] == "spam" for r in rows), 36)
        bad = run("train", "--data", data, "--user", "../x", "--spam", self.spam, check=False)
        self.assertEqual(bad.returncode, 1)
        # A user's own store holds words of her mail: hers alone, as her Maildir.
        own = data / "bayes" / "users" / "alice@localhost"
        self.assertEqual(own.stat().st_mode & 0o777, 0o700)
        self.assertEqual((own / "data.mdb").stat().st_mode & 0o777, 0o600)
        self.assertEqual((own / "lock.mdb").stat().st_mode & 0o777, 0o600)

    def test_usage_errors(self):
        self.assertEqual(run("train", "--spam", "--ham", "x", check=False).returncode, 2)
        self.assertEqual(run("frobnicate", check=False).returncode, 2)
        self.assertEqual(run("eval", "--spam", self.spam, check=False).returncode, 2)
        # An empty --user (an unset shell variable) must not train the global store.
        self.assertEqual(run("train", "--data", self.tmp / "u", "--user", "", "--spam", self.spam,
                             check=False).returncode, 2)
        self.assertFalse((self.tmp / "u" / "bayes").exists())
        # A flag of another subcommand, a mistyped eval flag.
        self.assertEqual(run("classify", "--spam", self.tspam, check=False).returncode, 2)
        self.assertEqual(run("train", "--tsv", "--spam", self.tspam, check=False).returncode, 2)
        self.assertEqual(run("eval", "--spam", self.spam, "--ham", self.ham, "--fold", "3", check=False).returncode, 2)
        self.assertEqual(run("tokens", check=False).returncode, 2)
        for bad in ("abc", "0", "-1", "100000"):
            r = run("classify", "--threads", bad, self.tspam, check=False)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn("--threads must be a number from 1 to 64", r.stderr)
        self.assertEqual(run("stats", "--data", self.tmp / "u", "extra", check=False).returncode, 2)
        # --help anywhere: the usage on stdout, exit 0 (as `nougat --help`).
        for args in (("--help",), ("train", "--help"), ("classify", "-h")):
            r = run(*args, check=False)
            self.assertEqual(r.returncode, 0, args)
            self.assertIn("nougat bayes classify", r.stdout)

    def test_odd_paths_keep_one_line_per_message(self):
        data = self.trained("odd")
        d = self.tmp / "odd-names"
        d.mkdir()
        src = sorted(self.tspam.iterdir())
        names = ["tab\there.eml", "new\nline.eml", "back\\slash.eml", "plain.eml"]
        for n, f in zip(names, src):
            shutil.copy(f, d / n)
        out = run("classify", "--data", data, "--tsv", d).stdout
        lines = out.split("\n")
        self.assertEqual(lines[-1], "")
        rows = [l.split("\t") for l in lines[:-1]]
        self.assertEqual(len(rows), 4)
        self.assertTrue(all(len(r) == 3 for r in rows), rows)
        self.assertEqual(sorted(r[0] for r in rows),
                         sorted(str(d) + "/" + n.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                                for n in names))
        # A path that is neither a file nor a directory; an empty directory; a
        # Maildir with only cur/.
        import socket
        sock = socket.socket(socket.AF_UNIX)
        self.addCleanup(sock.close)
        sock.bind(str(self.tmp / "a-socket"))
        bad = run("classify", "--data", data, "--tsv", self.tmp / "a-socket", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("not a message file", bad.stderr)
        # A named pipe or a device is read as it streams, like "-" (bash's
        # <(…), /dev/stdin); /dev/null holds no message.
        fifo = subprocess.run(["bash", "-c", f'"$0" bayes classify --data "$1" --tsv <(cat "$2") /dev/null',
                               str(nougat_bin()), str(data), str(d / "plain.eml")],
                              capture_output=True, text=True)
        self.assertEqual(fifo.returncode, 0, fifo.stderr)
        self.assertEqual(len(fifo.stdout.splitlines()), 1)
        self.assertIn("/dev/null: not a mail message (empty): left out", fifo.stderr)
        # One missing PATH among others: said, exit 1, and the others still
        # get their lines (train still learns them).
        bad = run("classify", "--data", data, "--tsv", self.tmp / "no-such.eml", d / "plain.eml", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("no-such.eml: No such file or directory", bad.stderr)
        self.assertEqual([l.split("\t")[0] for l in bad.stdout.splitlines()], [str(d / "plain.eml")])
        other = self.tmp / "odd-train"
        bad = run("train", "--data", other, "--ham", self.tmp / "no-such.eml", d / "plain.eml", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("learnt 1 as ham", bad.stdout)
        (self.tmp / "none").mkdir()
        r = run("classify", "--data", data, "--tsv", self.tmp / "none")
        self.assertEqual(r.stdout, "")
        self.assertIn("no message", r.stderr)
        md = self.tmp / "curonly"
        (md / "cur").mkdir(parents=True)
        shutil.copy(src[0], md / "cur" / "1.host:2,S")
        self.assertEqual([r[0] for r in tsv(data, md)], [str(md / "cur" / "1.host:2,S")])

    def test_empty_and_headerless_messages(self):
        data = self.trained("headerless")
        empty, head_only = self.tmp / "empty.eml", self.tmp / "head-only.eml"
        empty.write_text("")
        head_only.write_text("Subject: no body and no blank line\n")
        # An empty file holds no message: left out everywhere (learnt, it
        # would count as a message, as bogofilter does not). A header
        # without a body is one; no content is no evidence: unsure, not ham.
        r = run("classify", "--data", data, "--tsv", empty, head_only)
        self.assertEqual(r.stdout.count("\n"), 1)
        self.assertIn("empty.eml: not a mail message (empty): left out", r.stderr)
        # Such messages are remembered like any other: learnt once, unlearnt
        # only when they were learnt.
        before = stats(data)
        out = run("train", "--data", data, "--spam", "--unlearn", empty, head_only).stdout
        self.assertIn("unlearnt 0 spam; 1 not learnt as spam, left alone; 1 file not mail, left out", out)
        self.assertEqual(stats(data), before)
        run("train", "--data", data, "--spam", empty, head_only)
        out = run("train", "--data", data, "--spam", empty, head_only).stdout
        self.assertIn("learnt 0 as spam", out)
        self.assertEqual(int(stats(data)["spam messages"]), int(before["spam messages"]) + 1)
        out = run("train", "--data", data, "--ham", "-", input="").stdout
        self.assertIn("learnt 0 as ham (0 moved from spam); 0 already learnt as ham, skipped; 1 file not mail", out)

    def test_one_message_one_key_however_given(self):
        """A message file that starts with a From_ line and ends in a blank
        line is the same message given alone (an mbox of one), inside a
        folder, or on standard input: learnt once, moved, unlearnt."""
        data = self.tmp / "one-key"
        d = self.tmp / "one-key-in"
        d.mkdir()
        m = d / "m"
        m.write_text("From a@b Tue Aug  6 11:51:02 2002\nSubject: one key\n\ncheap pills here\n\n")
        self.assertIn("learnt 1 as spam", run("train", "--data", data, "--spam", d).stdout)
        self.assertIn("learnt 0 as spam (0 moved from ham); 1 already learnt", run("train", "--data", data, "--spam", m).stdout)
        self.assertIn("learnt 1 as ham (1 moved from spam)", run("train", "--data", data, "--ham", "-", input=m.read_text()).stdout)
        self.assertIn("unlearnt 1 ham", run("train", "--data", data, "--ham", "--unlearn", d).stdout)
        self.assertEqual((stats(data)["spam messages"], stats(data)["ham messages"]), ("0", "0"))

    def test_output_that_cannot_be_written_fails(self):
        data = self.trained("full")
        with open("/dev/full", "w") as full:
            r = subprocess.run([nougat_bin(), "bayes", "classify", "--data", str(data), "--tsv", str(self.tspam)],
                               stdout=full, stderr=subprocess.PIPE, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot write to standard output: No space left on device", r.stderr)

    def test_user_must_be_an_address(self):
        data = self.tmp / "bad-user"
        for user in ("alice", "@example.org", "a@b@c", "alice@"):
            r = run("train", "--data", data, "--user", user, "--spam", self.tspam, check=False)
            self.assertEqual(r.returncode, 1, user)
            self.assertIn(f"--user {user}: address", r.stderr)
        self.assertFalse((data / "bayes" / "users").exists())
        # An address that is no user (a typo?) is said, not refused: a store
        # may be made before its user.
        r = run("train", "--data", data, "--user", "alcie@localhost", "--spam", self.tspam)
        self.assertIn("alcie@localhost is no user in", r.stderr)

    def test_score_agrees_with_verdict(self):
        # Re-reading SCORE against the cut-offs gives VERDICT, also where six
        # decimals would round across a cut-off.
        # Messages drawn from one vocabulary, spam leaning to half of it, so
        # that scores spread over (0, 1) instead of sitting at 0 and 1.
        import random
        rnd = random.Random(5)
        words = [f"w{i}" for i in range(120)]
        root = self.tmp / "cut"
        for kind in ("spam", "ham", "test"):
            (root / kind).mkdir(parents=True)
            for i in range(40):
                lean = kind == "spam" or (kind == "test" and i % 2 == 0)
                body = " ".join(rnd.choice(words[:60] if lean and rnd.random() < 0.6 else words) for _ in range(40))
                (root / kind / f"{i:03d}.eml").write_text(f"Subject: m\n\n{body}\n")
        data = root / "data"
        run("train", "--data", data, "--spam", root / "spam")
        run("train", "--data", data, "--ham", root / "ham")
        scores = sorted({float(r[2]) for r in tsv(data, root / "test")})
        inner = [x for x in scores if 0.02 < x < 0.998]
        self.assertGreaterEqual(len(inner), 10, scores)
        for cut in inner[:: max(1, len(inner) // 10)]:
            for c in (cut - 3e-7, cut + 3e-7):
                spam_cut = ("--set", f"spam.spam_cutoff={c:.9f}", "--set", "spam.ham_cutoff=0.01")
                for r in tsv(data, root / "test", extra=spam_cut):
                    self.assertEqual(r[1] == "spam", float(r[2]) >= c, (c, r))
                ham_cut = ("--set", "spam.spam_cutoff=0.999", "--set", f"spam.ham_cutoff={c:.9f}")
                for r in tsv(data, root / "test", extra=ham_cut):
                    self.assertEqual(r[1] == "ham", float(r[2]) < c, (c, r))

    def test_eval(self):
        out = run("eval", "--data", self.tmp / "ev", "--spam", self.spam, "--ham", self.ham, "--folds", "3").stdout
        self.assertIn("messages: 300 ham, 300 spam, 3 folds", out)
        self.assertIn("false positives (ham -> spam): 0 ", out)
        # The trade at other cut-offs, the configured one marked; a lower cut-off
        # never has fewer false positives or catches less spam.
        rows = re.findall(r"^  (\d\.\d{3})( \*|  )\s+(\d+)\s+\([\d.]+%\)\s+(\d+)\s+\([\d.]+%\)$", out, re.M)
        self.assertEqual([r[0] for r in rows], ["0.500", "0.800", "0.900", "0.950", "0.980", "0.990", "0.995", "0.999"])
        self.assertEqual([r[0] for r in rows if r[1] == " *"], ["0.990"])
        fps, caught = [int(r[2]) for r in rows], [int(r[3]) for r in rows]
        self.assertEqual(fps, sorted(fps, reverse=True))
        self.assertEqual(caught, sorted(caught, reverse=True))
        spam_caught = int(re.search(r"spam caught \(spam -> spam\): (\d+)", out).group(1))
        self.assertEqual(caught[5], spam_caught)
        out = run("eval", "--data", self.tmp / "ev", "--spam", self.spam, "--ham", self.ham, "--folds", "3",
                  "--set", "spam.spam_cutoff=0.97").stdout
        self.assertRegex(out, r"\n  0\.970 \*")

    def test_sigkill_during_training_leaves_a_usable_store(self):
        big_spam, big_ham = write_corpus(self.tmp / "big", 6000, 600, seed=3)
        data = self.tmp / "killed"
        run("train", "--data", data, "--ham", big_ham)
        proc = subprocess.Popen([nougat_bin(), "bayes", "train", "--data", str(data), "--spam", str(big_spam)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        seen = 0
        while time.time() < deadline and proc.poll() is None:
            seen = int(stats(data)["spam messages"])  # a concurrent reader while training
            if seen >= 500:
                break
            time.sleep(0.01)
        self.assertIsNone(proc.poll(), "training finished before it could be killed")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Opens, holds only whole batches, classifies, and takes more training.
        n = int(stats(data)["spam messages"])
        self.assertGreaterEqual(n, seen)
        self.assertLess(n, 6000)
        self.assertEqual(n % 500, 0)
        rows = tsv(data, self.tspam)
        self.assertGreaterEqual(sum(r[1] == "spam" for r in rows), 36)
        run("train", "--data", data, "--spam", self.spam)
        self.assertEqual(int(stats(data)["spam messages"]), n + 300)

    def test_mbox_separators(self):
        """A From_ line separates messages when it has an asctime date and
        nothing but a zone after it (a blank line before it is not needed);
        a body line "From bob <date> wrote:" does not, so a single message
        given as PATH stays one line labelled PATH."""
        data = self.trained("mboxsep")
        d = self.tmp / "mboxsep-in"
        d.mkdir()
        one = d / "one.eml"
        one.write_text("From a@b Tue Aug  6 11:51:02 2002\nSubject: one\n\nhello\n\n"
                       "From bob Tue Feb  2 10:00:00 2021 wrote:\n> hi\n")
        five = d / "five.mbox"
        five.write_text("From a@b Tue Aug  6 11:51:02 2002\nSubject: one\n\nx\n"
                        "From c@d  Wed Aug  7 11:51:02 2002\nSubject: two\n\ny\n\n"
                        "From MAILER-DAEMON Fri Jul  8 12:08:34 2011 +0200\nSubject: three\n\nz\n\n"
                        "From - Sat Jan  3 01:05:34 1996\nSubject: four\n\nw\n\n"
                        "From e@f Sat Jan  3 01:05 EST 1996\nSubject: five\n\nFrom here on, v\n")
        # Mailman's archives: the sender is several words.
        two = d / "pipermail.txt"
        two.write_text("From barry at python.org  Fri Dec 13 21:34:09 2002\nSubject: a\n\nx\n\n"
                       "From barry at python.org  Fri Dec 13 21:35:09 2002\nSubject: b\n\n"
                       "From Tuesday March 5 09:00 2024 on, prose\n")
        rows = tsv(data, one, five, two)
        self.assertEqual([r[0] for r in rows],
                         [str(one)] + [f"{five}:{i}" for i in range(1, 6)] + [f"{two}:1", f"{two}:2"])

    def test_mbox_dialects_give_the_messages_as_written(self):
        """mboxcl2: a Content-Length that holds carries a body over a From_
        line in it. mboxrd: a ">From " body line is "From " again. So the
        messages of an mbox are the messages their writer was given, and
        training their own files afterwards finds them already learnt (also
        a file saved without its last line end)."""
        data = self.tmp / "dialects"
        d = self.tmp / "dialects-in"
        d.mkdir()
        body1 = "Hello,\nFrom Tue Feb  2 10:00:00 2021 on, read:\nFrom x Tue Feb  2 10:00:00 2021\nbye\n"
        one = "Subject: cl2\nMessage-ID: <cl2@x>\n\n" + body1
        two = "Subject: rd\n\nquote:\nFrom the start\n>From the quote\n"
        three = "Subject: last line\n\nno line end at the end"
        (d / "one.eml").write_text(one)
        (d / "two.eml").write_text(two)
        (d / "three.eml").write_text(three)
        box = d.parent / "dialects.mbox"
        with open(box, "w") as f:
            f.write("From a@b Tue Aug  6 11:51:02 2002\nSubject: cl2\nMessage-ID: <cl2@x>\n"
                    f"Content-Length: {len(body1)}\n\n{body1}\n")
            f.write("From c@d Wed Aug  7 11:51:02 2002\n" + two.replace("\nFrom the", "\n>From the")
                    .replace("\n>From the quote", "\n>>From the quote") + "\n")
        # mutt rewrites an mbox with a Content-Length and the ">From " its
        # writer put there (mboxcl): unescaped as well.
        four = "Subject: cl\nMessage-ID: <cl@x>\n\nFrom the start\n"
        (d / "four.eml").write_text(four)
        escaped = "\n>From the start\n"
        with open(box, "a") as f:
            f.write("From e@f Thu Aug  8 11:51:02 2002\nSubject: cl\nMessage-ID: <cl@x>\nStatus: RO\n"
                    f"Content-Length: {len(escaped) - 1}\nLines: 1\n{escaped}\n")
        rows = tsv(self.trained("dialects-ref"), box)
        self.assertEqual([r[0] for r in rows], [f"{box}:1", f"{box}:2", f"{box}:3"])
        out = run("train", "--data", data, "--spam", box).stdout
        self.assertIn("learnt 3 as spam", out)
        out = run("train", "--data", data, "--spam", d / "one.eml", d / "two.eml", d / "four.eml").stdout
        self.assertIn("learnt 0 as spam (0 moved from ham); 3 already learnt", out)
        # A file without its last line end is the message as sent with one.
        (d / "three-sent.eml").write_text(three.replace("\n", "\r\n") + "\r\n")
        run("train", "--data", data, "--spam", d / "three-sent.eml")
        out = run("train", "--data", data, "--spam", d / "three.eml").stdout
        self.assertIn("1 already learnt", out)

    def test_standard_input_is_a_path(self):
        """"-" reads a message, or an mbox, from standard input, as
        bogofilter and sa-learn do."""
        data = self.trained("stdin")
        src = sorted(self.tspam.iterdir())[0]
        r = run("classify", "--data", data, "--tsv", "-", input=src.read_text())
        self.assertEqual(r.stdout, run("classify", "--data", data, "--tsv", src).stdout.replace(str(src), "-"))
        box = "".join(f"From a@b Tue Aug  6 11:51:0{i} 2002\n" + f.read_text() + "\n"
                      for i, f in enumerate(sorted(self.tham.iterdir())[:3]))
        rows = [l.split("\t") for l in run("classify", "--data", data, "--tsv", "-", input=box).stdout.splitlines()]
        self.assertEqual([r[0] for r in rows], ["-:1", "-:2", "-:3"])
        out = run("train", "--data", self.tmp / "stdin-train", "--ham", "-", input=box).stdout
        self.assertIn("learnt 3 as ham", out)

    def test_files_that_are_not_mail_are_left_out(self):
        """A gzip'd, UTF-16 or JSON file in a training folder is not mail:
        train and eval leave it out with a warning; classify warns and still
        prints its one line. Text without a header is a message that is
        all body, as bogofilter reads it."""
        import gzip
        data = self.tmp / "binary"
        d = self.tmp / "binary-in"
        d.mkdir()
        src = sorted(self.tspam.iterdir())[0]
        (d / "a.eml").write_bytes(src.read_bytes())
        (d / "b.eml.gz").write_bytes(gzip.compress(src.read_bytes()))
        (d / "c.txt").write_bytes(src.read_text(errors="replace").encode("utf-16"))
        # A UTF-8 BOM before the first field (an editor's) is still mail,
        # even with a stray NUL in it.
        (d / "d.eml").write_bytes(b"\xef\xbb\xbfFrom: a@b\nSubject: bom\n\nhello\0world\n")
        # A corpus' JSON copies beside the messages (the SpamAssassin
        # corpus from npm has one per message) are no mail either.
        (d / "e.json").write_text('{"id":"00001","group":"spam-1","text":"From: x@y\\nSubject: s\\n\\nhi"}\n')
        (d / "f.json").write_text('[\n  {"id": 2}\n]\n')
        # Bare bodies (some corpora are only that), one starting like a
        # list: messages.
        (d / "g.txt").write_text("Dear friend, cheap meds at our online pharmacy.\n")
        (d / "h.txt").write_text("[SPAM] Cheap meds: click here\n")
        (d / "i.txt").write_text("[1] Claim your prize now\n")
        (d / "j.txt").write_text('{"Hi" she said, "buy now"}\n')
        r = run("train", "--data", data, "--spam", d)
        self.assertIn("learnt 6 as spam", r.stdout)
        self.assertIn("4 files not mail, left out", r.stdout)
        self.assertIn("b.eml.gz: not a mail message (binary data): left out", r.stderr)
        self.assertIn("e.json: not a mail message (JSON data): left out", r.stderr)
        self.assertIn("f.json: not a mail message (JSON data): left out", r.stderr)
        self.assertNotIn("g.txt", r.stderr)
        self.assertNotIn("h.txt", r.stderr)
        self.assertEqual(stats(data)["spam messages"], "6")
        # Named on the command line too: said, and no failure (the server's
        # Junk trainer names every file it stages; exit 1 made it retry
        # the batch forever).
        r = run("train", "--data", data, "--spam", d / "a.eml", d / "e.json")
        self.assertIn("1 file not mail, left out", r.stdout)
        # classify prints a line for each message, none for the rest.
        r = run("classify", "--data", data, "--tsv", d)
        self.assertEqual([l.split("\t")[0] for l in r.stdout.splitlines()],
                         [str(d / n) for n in ("a.eml", "d.eml", "g.txt", "h.txt", "i.txt", "j.txt")])
        self.assertIn("c.txt: not a mail message (binary data): left out", r.stderr)
        self.assertEqual(r.returncode, 0)

    def test_stats_user_says_which_stores(self):
        data = self.trained("stats-user")
        run("train", "--data", data, "--user", "carol@localhost", "--ham", self.tham)
        s = stats(data, "--user", "carol@localhost")
        self.assertEqual(s["store"], f"{data}/bayes + {s['user store']}")
        self.assertEqual(s["ham messages"], "340")
        self.assertEqual(s["user ham messages"], "40")
        # Two stores' token counts add up; the line says it is a sum.
        total, g, u = re.fullmatch(r"(\d+) \((\d+) global \+ (\d+) user; a token in both counts twice\)",
                                   s["tokens"]).groups()
        self.assertEqual(int(total), int(g) + int(u))
        self.assertEqual(u, s["user tokens"])
        alone = self.tmp / "stats-user-alone"
        run("train", "--data", alone, "--user", "carol@localhost", "--ham", self.tham)
        s = stats(alone, "--user", "carol@localhost")
        self.assertEqual(s["store"], s["user store"])
        # A user without a store of their own: the global one's alone.
        s = stats(data, "--user", "dave@localhost")
        self.assertEqual(s["store"], f"{data}/bayes")
        self.assertEqual(s["user spam messages"], "0")

    def test_works_under_an_address_space_limit(self):
        """The store's map is 64 GiB of address space, or, under a limit
        (ulimit -v, LimitAS=), sized from the file: training and reading
        still work there."""
        import resource
        data = self.trained("aslimit")

        def limited():
            resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        more, _ = write_corpus(self.tmp / "aslimit-more", 600, 1, seed=11)
        r = subprocess.run([nougat_bin(), "bayes", "train", "--data", str(data), "--spam", str(more)],
                           capture_output=True, text=True, preexec_fn=limited)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([nougat_bin(), "bayes", "stats", "--data", str(data)], capture_output=True, text=True,
                           preexec_fn=limited)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("spam messages: 900", r.stdout)

    def test_a_failed_batch_still_says_what_was_learnt(self):
        """When a batch cannot be written (here: a file size limit, as a full
        disk or a full store would do), train stops with the error and exit 1,
        after the summary of the batches before it, which stay in the store."""
        import resource
        big_spam, _ = write_corpus(self.tmp / "fsz", 2500, 1, seed=5)
        data = self.tmp / "fsz-store"
        run("train", "--data", data, "--ham", self.ham)
        limit = (data / "bayes" / "data.mdb").stat().st_size + 200 * 1024  # room for one batch (~112 KiB)

        def limited():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        r = subprocess.run([nougat_bin(), "bayes", "train", "--data", str(data), "--spam", str(big_spam)],
                           capture_output=True, text=True, preexec_fn=limited)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("nougat bayes: token store", r.stderr)
        m = re.search(r"learnt (\d+) as spam", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        learnt = int(m.group(1))
        self.assertGreaterEqual(learnt, 500)
        self.assertLess(learnt, 2500)
        self.assertEqual(int(stats(data)["spam messages"]), learnt)

    def test_training_a_folder_twice_counts_it_once(self):
        # Like sa-learn's seen database: a cron job re-training the same
        # folders must not double its counts; relabelling moves a message.
        data = self.trained("twice")
        before = stats(data)
        out = run("train", "--data", data, "--spam", self.spam).stdout
        self.assertIn("learnt 0 as spam", out)
        self.assertIn("300 already learnt as spam, skipped", out)
        self.assertEqual(stats(data), before)
        one = self.tmp / "relabel"
        one.mkdir()
        shutil.copy(sorted(self.spam.iterdir())[0], one / "m.eml")
        out = run("train", "--data", data, "--ham", one).stdout
        self.assertIn("learnt 1 as ham (1 moved from spam)", out)
        after = stats(data)
        self.assertEqual(int(after["spam messages"]), int(before["spam messages"]) - 1)
        self.assertEqual(int(after["ham messages"]), int(before["ham messages"]) + 1)
        out = run("train", "--data", data, "--unlearn", "--spam", one).stdout
        self.assertIn("unlearnt 0 spam; 1 not learnt as spam", out)

    def test_million_token_store_classifies_reading_a_small_part(self):
        # 500 messages of 2,000 words nobody else uses: a million tokens
        # (bigrams off to keep it at that). Classifying one message afterwards
        # must read the pages of its own tokens, not the store (the file is
        # evicted from the page cache first, so what is read shows as block input).
        root = self.tmp / "million"
        for cls_ in ("spam", "ham"):
            (root / cls_).mkdir(parents=True)
            for i in range(250):
                words = " ".join(f"{cls_[0]}{i}x{j}" for j in range(2000))
                (root / cls_ / f"{i:04d}.eml").write_text(f"Subject: m{i}\r\n\r\n{words}\r\n")
        data = root / "data"
        nobigrams = ("--set", "spam.bigrams=false")
        run("train", "--data", data, *nobigrams, "--spam", root / "spam")
        run("train", "--data", data, *nobigrams, "--ham", root / "ham")
        self.assertGreaterEqual(int(stats(data)["tokens"]), 1_000_000)
        db = data / "bayes" / "data.mdb"
        os.sync()
        fd = os.open(db, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        p = subprocess.Popen([nougat_bin(), "bayes", "classify", "--data", str(data), *nobigrams, "--tsv",
                              str(root / "spam" / "0007.eml")], stdout=subprocess.PIPE, text=True)
        out = p.stdout.read()
        _, status, usage = os.wait4(p.pid, 0)
        self.assertEqual(status, 0)
        self.assertEqual(out.split("\t")[1], "spam")
        read = usage.ru_inblock * 512
        self.assertLess(read, db.stat().st_size // 4, f"read {read} bytes of a {db.stat().st_size}-byte store")


if __name__ == "__main__":
    unittest.main(verbosity=2)
