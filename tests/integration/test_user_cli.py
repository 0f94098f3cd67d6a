"""`nougat user add|passwd|del|list` against a temporary data directory.

Runs the real binary ($NOUGAT_BIN) and checks the users file it leaves:
format, mode, Maildir creation, and that the stored hashes verify the right
password and not a wrong one (through Python's crypt module, i.e. libxcrypt,
the same library Dovecot uses).
"""
import os
import pty
import select
import shutil
import stat
import subprocess
import tempfile
import time
import unittest
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # deprecated in 3.11, removed in 3.13

NOUGAT = os.environ.get("NOUGAT_BIN", "nougat")


def verify(password, stored):
    """Checks a {SCHEME}hash the way the server does (crypt schemes only)."""
    scheme, _, hashed = stored[1:].partition("}")
    assert scheme in ("SHA512-CRYPT", "BLF-CRYPT"), stored
    return crypt.crypt(password, hashed) == hashed


class UserCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="nougat-user-")
        self.data = os.path.join(self.tmp, "var")  # does not exist yet: add creates it
        self.users = os.path.join(self.data, "users")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_user(self, *args, password=None, data=True):
        cmd = [NOUGAT, "user", *args]
        if data:
            cmd += ["--data", self.data]
        env = dict(os.environ)
        env.pop("NOUGAT_DATA", None)
        return subprocess.run(cmd, input=password, capture_output=True, text=True,
                              env=env, timeout=60, stdin=None if password is not None
                              else subprocess.DEVNULL, start_new_session=True)

    def lines(self):
        with open(self.users) as f:
            return [l for l in f.read().split("\n") if l]

    def entry(self, address):
        for line in self.lines():
            if line.split(":")[0] == address:
                return line.split(":")
        self.fail(f"{address} not in {self.lines()}")

    def test_round_trip(self):
        r = self.run_user("add", "KitKat@AAA.Test", "--password-stdin", password="s3cret\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        # The domain is lowercased, the local part kept as typed.
        fields = self.entry("KitKat@aaa.test")
        self.assertEqual(len(fields), 3)
        self.assertTrue(fields[1].startswith("{SHA512-CRYPT}$6$"), fields[1])
        self.assertEqual(fields[2], "")  # default home
        self.assertTrue(verify("s3cret", fields[1]))
        self.assertFalse(verify("s3cret\n", fields[1]))
        self.assertFalse(verify("wrong", fields[1]))
        self.assertEqual(stat.S_IMODE(os.stat(self.users).st_mode), 0o600)
        home = os.path.join(self.data, "home", "aaa.test", "kitkat")
        for sub in ("cur", "new", "tmp"):
            self.assertTrue(os.path.isdir(os.path.join(home, "Maildir", sub)), sub)
        self.assertFalse([n for n in os.listdir(self.data) if ".tmp." in n])

        # A second user with its own home and bcrypt; CRLF input.
        own_home = os.path.join(self.tmp, "homes", "nougat")
        r = self.run_user("add", "nougat@bbb.test", "--password-stdin", "--home", own_home,
                          "--scheme", "BLF-CRYPT", password="pass word\r\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        fields = self.entry("nougat@bbb.test")
        self.assertEqual(fields[2], own_home)
        self.assertTrue(fields[1].startswith("{BLF-CRYPT}$2y$"), fields[1])
        self.assertTrue(verify("pass word", fields[1]))
        self.assertTrue(os.path.isdir(os.path.join(own_home, "Maildir", "new")))

        r = self.run_user("list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            f"KitKat@aaa.test\t{home}",
            f"nougat@bbb.test\t{own_home}",
        ])

        # Adding again (any case) fails and leaves the file alone.
        before = self.lines()
        r = self.run_user("add", "kitkat@AAA.TEST", "--password-stdin", password="x\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("already exists", r.stderr)
        self.assertIn(self.users, r.stderr)
        self.assertEqual(self.lines(), before)

        # passwd changes only the hash.
        r = self.run_user("passwd", "kitkat@aaa.test", "--password-stdin", password="n3w\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        fields = self.entry("KitKat@aaa.test")
        self.assertTrue(verify("n3w", fields[1]))
        self.assertFalse(verify("s3cret", fields[1]))
        self.assertEqual(self.entry("nougat@bbb.test")[2], own_home)

        # del removes the line and keeps the mail.
        r = self.run_user("del", "KITKAT@aaa.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([l.split(":")[0] for l in self.lines()], ["nougat@bbb.test"])
        self.assertTrue(os.path.isdir(os.path.join(home, "Maildir")))
        r = self.run_user("del", "kitkat@aaa.test")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no user", r.stderr)

    def test_keeps_comments_and_dovecot_lines(self):
        os.makedirs(self.data)
        dovecot = ("d@bbb.test:{PLAIN}pw:1000:1000:Dee:/var/vmail/d:/bin/false:"
                   "userdb_quota_rule=*:storage=1G")
        with open(self.users, "w") as f:
            f.write(f"# managed by hand\n{dovecot}\nbroken line\n")
        r = self.run_user("add", "a@bbb.test", "--password-stdin", password="pw\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.lines()[:3], ["# managed by hand", dovecot, "broken line"])
        r = self.run_user("passwd", "d@bbb.test", "--password-stdin", password="new\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        fields = self.entry("d@bbb.test")
        self.assertEqual(fields[2:], dovecot.split(":")[2:])
        self.assertTrue(verify("new", fields[1]))
        r = self.run_user("list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([l.split("\t")[0] for l in r.stdout.splitlines()],
                         ["d@bbb.test", "a@bbb.test"])
        self.assertIn(f"{self.users}:3:", r.stderr)

    def test_data_dir_from_environment(self):
        env_data = os.path.join(self.tmp, "envdata")
        env = dict(os.environ, NOUGAT_DATA=env_data)
        r = subprocess.run([NOUGAT, "user", "add", "e@ccc.test", "--password-stdin"],
                           input="pw\n", capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(os.path.join(env_data, "users")))
        # A data directory that was not there (often: the wrong folder) is
        # said when made, and `list` in a folder without one says so.
        self.assertIn("did not exist and is created", r.stderr)
        r = subprocess.run([NOUGAT, "user", "list", "--data", os.path.join(self.tmp, "nowhere")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout), (0, ""))
        self.assertIn("no data directory at", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "nowhere")))

    def run_on_tty(self, args, answers):
        """Runs nougat with a pseudo-terminal as its controlling terminal,
        answering each prompt in turn; returns (exit code, terminal output)."""
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execv(NOUGAT, [NOUGAT, "user", *args, "--data", self.data])
            finally:
                os._exit(127)
        out = b""
        pending = list(answers)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
            if pending and out.rstrip().endswith(b"password:"):
                os.write(fd, pending.pop(0).encode() + b"\n")
                out += b"<answered>"
        os.close(fd)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status), out.decode(errors="replace")

    def test_prompts_on_terminal_without_echo(self):
        code, out = self.run_on_tty(["add", "t@ccc.test"], ["tty-pass", "tty-pass"])
        self.assertEqual(code, 0, out)
        self.assertIn("Retype new password:", out)
        self.assertNotIn("tty-pass", out)  # echo was off
        self.assertTrue(verify("tty-pass", self.entry("t@ccc.test")[1]))

        code, out = self.run_on_tty(["passwd", "t@ccc.test"], ["one", "two"])
        self.assertEqual(code, 1, out)
        self.assertIn("passwords do not match", out)
        self.assertTrue(verify("tty-pass", self.entry("t@ccc.test")[1]))

    def test_refusals(self):
        cases = [
            (("add", "nodomain", "--password-stdin"), "pw\n", 2),
            (("add", "a:b@c.test", "--password-stdin"), "pw\n", 2),
            (("add", "a b@c.test", "--password-stdin"), "pw\n", 2),
            (("add", "a@b@c.test", "--password-stdin"), "pw\n", 2),
            (("add", "a@c.test", "--password-stdin", "--scheme", "MD5"), "pw\n", 2),
            (("add", "a@c.test", "--password-stdin", "--home", "/x:y"), "pw\n", 2),
            (("add", "--password-stdin"), "pw\n", 2),
            (("frobnicate",), None, 2),
            (("list", "extra"), None, 2),
            (("add", "a@c.test", "--bogus"), None, 2),
            (("add", "a@c.test", "--password-stdin"), "\n", 1),  # empty password
            (("add", "a@c.test", "--password-stdin"), "", 1),    # no password at all
            (("add", "a@c.test"), None, 1),                      # no terminal to prompt on
            (("passwd", "ghost@c.test", "--password-stdin"), "pw\n", 1),
        ]
        for args, password, code in cases:
            with self.subTest(args=args):
                r = self.run_user(*args, password=password)
                self.assertEqual(r.returncode, code, r.stdout + r.stderr)
                self.assertTrue(r.stderr.startswith("nougat"), r.stderr)
        self.assertFalse(os.path.exists(self.users))


if __name__ == "__main__":
    unittest.main()
