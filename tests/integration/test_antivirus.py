"""Antivirus at end of DATA, end to end: a real `nougat serve` with the
in-process libclamav engine and the test signatures in rules/clamav, and
with engine "clamd" against Debian's real clamd (clamav-daemon) started by
the test on a socket in a temp dir. EICAR plain, in a base64 attachment, in
a zip and in a zip in a zip is refused with 550 5.7.1 naming the virus; a
clean message with an innocent zip is delivered; quarantine and tag
actions; a scanner error is 451 (or accepted when on_error = accept);
signatures reload on SIGHUP without dropping a connection.
"""
import io
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest
import zipfile
from email.message import EmailMessage
from pathlib import Path

from harness import REPO, Nougat, nougat_bin

RULES = REPO / "rules" / "clamav"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-" + b"ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_NAME = "Nougat.Test.EICAR.UNOFFICIAL"
CLAM_EXE = Path("/usr/share/clamav-testfiles/clam.exe")
CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"


def zipped(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def message(to, subject, attachment=None, filename="file.bin", body="Hello.\n"):
    m = EmailMessage()
    m["From"] = "sender@remote.test"
    m["To"] = to
    m["Subject"] = subject
    m.set_content(body)
    if attachment is not None:
        m.add_attachment(attachment, maintype="application", subtype="octet-stream", filename=filename)
    return m.as_bytes().replace(b"\n", b"\r\n")


def send(port, to, msg):
    """(code, text): 250 on acceptance, else the refusal at end of DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        try:
            s.sendmail("sender@remote.test", [to], msg)
            return 250, ""
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error.decode()


class VirusCases:
    """Shared cases: self.n is a running server whose users include the USERS."""

    def check_rejected(self, user, msg):
        code, text = send(self.n.port(), f"{user}@localhost", msg)
        self.assertEqual(code, 550, text)
        self.assertIn("5.7.1 virus found: " + EICAR_NAME, text)
        time.sleep(0.05)
        self.assertEqual(self.n.messages(f"{user}@localhost"), [])

    def test_eicar_plain(self):
        self.check_rejected("plain", message("plain@localhost", "plain", body=EICAR.decode() + "\n"))

    def test_eicar_base64_attachment(self):
        msg = message("b64@localhost", "attachment", EICAR, "eicar.com")
        self.assertNotIn(EICAR, msg, "the attachment must be base64 on the wire")
        self.check_rejected("b64", msg)

    def test_eicar_in_zip(self):
        self.check_rejected("zip", message("zip@localhost", "zip", zipped({"eicar.com": EICAR}), "e.zip"))

    def test_eicar_in_zip_in_zip(self):
        inner = zipped({"readme.txt": b"nothing here\n", "eicar.com": EICAR})
        outer = zipped({"inner.zip": inner})
        self.check_rejected("zipzip", message("zipzip@localhost", "zip in zip", outer, "outer.zip"))

    def test_clean_message_with_innocent_zip_is_delivered(self):
        z = zipped({"notes.txt": b"meeting at noon\n" * 100, "data.csv": b"a,b\n1,2\n"})
        msg = message("clean@localhost", "clean zip", z, "notes.zip")
        self.assertEqual(send(self.n.port(), "clean@localhost", msg)[0], 250)
        got = self.n.wait_for_mail("clean@localhost", 1)
        self.assertEqual(len(got), 1)
        self.assertNotIn(b"X-Virus", got[0])


USERS = ["plain", "b64", "zip", "zipzip", "clean", "clamexe", "hup"]


class LibclamavTest(VirusCases, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.n = Nougat(sets=[f'antivirus.signatures=["{RULES}"]']).start()
        for u in USERS:
            cls.n.add_user(f"{u}@localhost")

    @classmethod
    def tearDownClass(cls):
        cls.n.__exit__(None, None, None)

    def test_log_names_the_engine(self):
        self.assertIn("antivirus: libclamav", self.n.log())

    @unittest.skipUnless(CLAM_EXE.exists(), "clamav-testfiles not installed")
    def test_clamav_test_file(self):
        code, text = send(self.n.port(), "clamexe@localhost",
                          message("clamexe@localhost", "exe", CLAM_EXE.read_bytes(), "clam.exe"))
        self.assertEqual(code, 550)
        self.assertIn("virus found: Nougat.Test.ClamAVTestFile.UNOFFICIAL", text)


class DefaultConfigTest(unittest.TestCase):
    def test_default_signatures_start_and_reject(self):
        # No antivirus settings at all: /var/lib/clamav (if filled) + rules/clamav.
        with Nougat() as n:
            n.add_user("d@localhost")
            self.assertIn("antivirus: libclamav", n.log())
            code, text = send(n.port(), "d@localhost", message("d@localhost", "x", EICAR, "e.com"))
            self.assertEqual(code, 550, text)
            # Without the official database (no network here) only the test
            # signatures are loaded: a warning says so and what to install.
            official = [p for p in Path("/var/lib/clamav").glob("*") if p.suffix in (".cvd", ".cld")]
            if not official:
                self.assertRegex(n.log(), r"antivirus: warning: only \d+ signatures loaded")
                self.assertIn("clamav-freshclam", n.log())

    def test_broken_signature_file_is_named_in_the_log(self):
        """A malformed database file stops the start, as in clamd, and the
        log file (not only stderr) says which file it is."""
        sigs = Path(tempfile.mkdtemp(prefix="nougat-badsigs-"))
        self.addCleanup(shutil.rmtree, sigs, ignore_errors=True)
        shutil.copy(RULES / "nougat-test.ndb", sigs / "a.ndb")
        (sigs / "broken.ndb").write_text("this is not a valid signature line\n")
        n = Nougat(sets=[f'antivirus.signatures=["{sigs}"]'])
        self.addCleanup(shutil.rmtree, n.data, ignore_errors=True)
        self.addCleanup(n.stop)  # also if it started after all
        with self.assertRaises(RuntimeError):
            n.start(timeout=10)
        log = (Path(n.data) / "log" / "nougat.log").read_text()
        self.assertIn("cannot start: antivirus", log)
        self.assertIn(str(sigs / "broken.ndb"), log)

    def test_no_signatures_refuses_to_start(self):
        empty = tempfile.mkdtemp(prefix="nougat-nosigs-")
        try:
            n = Nougat(sets=[f'antivirus.signatures=["{empty}"]'])
            self.addCleanup(shutil.rmtree, n.data, ignore_errors=True)
            self.addCleanup(n.stop)  # also if it started after all
            with self.assertRaises(RuntimeError) as cm:
                n.start(timeout=10)
            self.assertIn("no ClamAV signatures found", str(cm.exception))
        finally:
            shutil.rmtree(empty, ignore_errors=True)

    def test_engine_off(self):
        with Nougat(sets=["antivirus.engine=off"]) as n:
            n.add_user("off@localhost")
            self.assertEqual(send(n.port(), "off@localhost", message("o@localhost", "x", EICAR, "e.com"))[0], 250)


class ActionsTest(unittest.TestCase):
    def test_quarantine_holds_in_spool(self):
        with Nougat(sets=[f'antivirus.signatures=["{RULES}"]', "antivirus.action=quarantine"]) as n:
            n.add_user("q@localhost")
            code, _ = send(n.port(), "q@localhost", message("q@localhost", "q", EICAR, "e.com"))
            self.assertEqual(code, 250)
            time.sleep(0.3)
            self.assertEqual(n.messages("q@localhost"), [])
            self.assertTrue(n.spool_files(), "the message is held in the spool")
            self.assertIn("quarantined: virus found: " + EICAR_NAME, n.log())

    def test_tag_adds_header(self):
        with Nougat(sets=[f'antivirus.signatures=["{RULES}"]', "antivirus.action=tag"]) as n:
            n.add_user("t@localhost")
            self.assertEqual(send(n.port(), "t@localhost", message("t@localhost", "t", EICAR, "e.com"))[0], 250)
            got = n.wait_for_mail("t@localhost", 1)
            self.assertEqual(len(got), 1)
            self.assertIn(b"X-Virus: " + EICAR_NAME.encode(), got[0])
            # A sender's own X-Virus field never reaches the reader, virus or not.
            for i, payload in enumerate((EICAR, b"harmless")):
                forged = message("t@localhost", f"f{i}", payload, "e.com").replace(
                    b"\r\n\r\n", b"\r\nX-Virus: none, trust me\r\nX-Virus-Status: Clean, trust me\r\n"
                    b"X-Virus-Scanned: trust me\r\n\r\n", 1)
                self.assertEqual(send(n.port(), "t@localhost", forged)[0], 250)
            got = n.wait_for_mail("t@localhost", 3)
            self.assertEqual(len(got), 3)
            for m in got:
                self.assertNotIn(b"trust me", m)


class SizeTest(unittest.TestCase):
    def test_every_message_the_limit_admits_is_scanned(self):
        """antivirus.max_size measures the message as sent, as limits.message_size
        does (our own Received field does not count): at equal limits a message
        of exactly that size is scanned. Without antivirus.max_size it follows
        the message limit: a 26 MiB message under a 27M limit is scanned (the
        old fixed 25M default passed it unscanned)."""
        def sized(size):
            head = b"Subject: size\r\n\r\n" + EICAR + b"\r\n"
            line = b"z" * 70 + b"\r\n"
            body = line * ((size - len(head)) // len(line))
            msg = head + body + b"z" * (size - len(head) - len(body) - 2) + b"\r\n"
            self.assertEqual(len(msg), size)
            return msg
        for sets, size in ((["limits.message_size=10000", "antivirus.max_size=10000"], 10000),
                           (["limits.message_size=27M"], 26 << 20)):
            with Nougat(sets=[f'antivirus.signatures=["{RULES}"]', *sets]) as n:
                n.add_user("sz@localhost")
                code, text = send(n.port(), "sz@localhost", sized(size))
                self.assertEqual(code, 550, (sets, text))
                self.assertNotIn("not scanned", n.log())


class ReloadTest(unittest.TestCase):
    def test_sighup_reload_keeps_connections(self):
        sigs = Path(tempfile.mkdtemp(prefix="nougat-sigs-"))
        self.addCleanup(shutil.rmtree, sigs, True)
        shutil.copy(RULES / "nougat-test.hdb", sigs)
        with Nougat(sets=[f'antivirus.signatures=["{sigs}"]']) as n:
            n.add_user("r@localhost")
            msg = message("r@localhost", "r", EICAR, "e.com")
            s = smtplib.SMTP("127.0.0.1", n.port(), timeout=20)
            s.ehlo()
            self.assertEqual(s.sendmail("a@remote.test", ["r@localhost"], msg), {})  # not known yet
            shutil.copy(RULES / "nougat-test.ndb", sigs)
            n.proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 10
            while "reloaded" not in n.log() and time.time() < deadline:
                time.sleep(0.05)
            self.assertIn("antivirus: reloaded", n.log())
            # same connection, new signatures
            with self.assertRaises(smtplib.SMTPDataError) as cm:
                s.sendmail("a@remote.test", ["r@localhost"], msg)
            self.assertEqual(cm.exception.smtp_code, 550)
            s.quit()


class ScanCommandTest(unittest.TestCase):
    """`nougat scan`, clamscan's way: one line per file as it goes, a
    directory stands for the files below it, exit 0 / 1 (virus) / 2 (error)."""

    def scan(self, *paths):
        return subprocess.run([nougat_bin(), "scan", "--database", str(RULES), *map(str, paths)],
                              capture_output=True, text=True, timeout=60)

    def test_directories_and_errors(self):
        d = Path(tempfile.mkdtemp(prefix="nougat-scan-"))
        self.addCleanup(shutil.rmtree, d, True)
        (d / "sub" / "deeper").mkdir(parents=True)
        (d / "a.txt").write_bytes(b"nothing to see\n")
        (d / "sub" / "deeper" / "e.zip").write_bytes(zipped({"e.com": EICAR}))
        r = self.scan(d / "a.txt")
        self.assertEqual((r.returncode, r.stdout), (0, f"{d}/a.txt: OK\n"))
        r = self.scan(d, d / "missing")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            f"{d}/a.txt: OK",
            f"{d}/sub/deeper/e.zip: {EICAR_NAME} FOUND",
            f"{d}/missing: ERROR: cannot read: No such file or directory",
        ])
        r = self.scan(d / "sub")
        self.assertEqual(r.returncode, 1)


def start_clamd(tmp):
    db = tmp / "db"
    db.mkdir()
    for f in RULES.glob("*.*db"):
        shutil.copy(f, db)
    sock = tmp / "clamd.sock"
    conf = tmp / "clamd.conf"
    conf.write_text(
        f"LocalSocket {sock}\nDatabaseDirectory {db}\nForeground yes\nLogFile {tmp}/clamd.log\n"
        f"PidFile {tmp}/clamd.pid\nTemporaryDirectory {tmp}\nStreamMaxLength 30M\n"
        "ScanMail yes\nScanArchive yes\nSelfCheck 0\nLogTime yes\n")
    with open(tmp / "clamd.stderr", "wb") as err:
        proc = subprocess.Popen([CLAMD, "--foreground", f"--config-file={conf}"],
                                stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("clamd exited: " + (tmp / "clamd.stderr").read_text())
        try:
            with socket.socket(socket.AF_UNIX) as c:
                c.settimeout(5)
                c.connect(str(sock))
                c.sendall(b"zPING\0")
                if c.recv(16).startswith(b"PONG"):
                    return proc, sock
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("clamd did not answer PING")


@unittest.skipUnless(os.path.exists(CLAMD), "clamd not installed (apt package clamav-daemon)")
class ClamdTest(VirusCases, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="nougat-clamd-"))
        cls.clamd, cls.sock = start_clamd(cls.tmp)
        cls.n = Nougat(sets=["antivirus.engine=clamd", f"antivirus.socket={cls.sock}"]).start()
        for u in USERS:
            cls.n.add_user(f"{u}@localhost")

    @classmethod
    def tearDownClass(cls):
        cls.n.__exit__(None, None, None)
        cls.clamd.terminate()
        try:
            cls.clamd.wait(10)
        except subprocess.TimeoutExpired:
            cls.clamd.kill()
            cls.clamd.wait()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_log_names_clamd(self):
        self.assertIn(f"antivirus: clamd at unix:{self.sock}", self.n.log())


class ScannerErrorTest(unittest.TestCase):
    def test_clamd_down_is_451(self):
        with Nougat(sets=["antivirus.engine=clamd", "antivirus.socket=/nonexistent/clamd.sock"]) as n:
            n.add_user("e@localhost")
            code, text = send(n.port(), "e@localhost", message("e@localhost", "e"))
            self.assertEqual(code, 451, text)
            self.assertIn("4.7.1", text)
            self.assertEqual(n.messages("e@localhost"), [])
            self.assertIn("antivirus: warning: clamd: cannot connect", n.log())

    def test_clamd_down_accepted_when_configured(self):
        with Nougat(sets=["antivirus.engine=clamd", "antivirus.socket=/nonexistent/clamd.sock",
                          "antivirus.on_error=accept"]) as n:
            n.add_user("e@localhost")
            self.assertEqual(send(n.port(), "e@localhost", message("e@localhost", "e"))[0], 250)
            self.assertEqual(len(n.wait_for_mail("e@localhost", 1)), 1)
            self.assertIn("accepted unscanned", n.log())

    def test_hung_clamd_delays_no_login(self):
        """A clamd that accepts and never answers ties up scans until
        antivirus.timeout (then 451), but logins hash passwords on a pool of
        their own: AUTH on submission answers at once meanwhile, also with
        more hung scans than the end-of-DATA pool has threads (16 here)."""
        import base64
        import ssl
        import threading
        tmp = Path(tempfile.mkdtemp(prefix="nougat-hung-"))
        sock_path = tmp / "clamd.sock"
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(sock_path))
        listener.listen(64)
        held, stop = [], threading.Event()

        def hang():  # accept everything, read it, answer nothing
            listener.settimeout(0.2)
            while not stop.is_set():
                try:
                    c, _ = listener.accept()
                    held.append(c)
                except OSError:
                    pass
        t = threading.Thread(target=hang, daemon=True)
        t.start()
        try:
            with Nougat(sets=["antivirus.engine=clamd", f"antivirus.socket={sock_path}", "antivirus.timeout=4s",
                              "server.threads=1"]) as n:
                n.add_user("h@localhost", "hung-pw")
                codes = []
                senders = [threading.Thread(target=lambda i=i: codes.append(
                    send(n.port(), "h@localhost", message("h@localhost", f"hung {i}"))[0])) for i in range(20)]
                for th in senders:
                    th.start()
                deadline = time.time() + 5
                while len(held) < 16 and time.time() < deadline:
                    time.sleep(0.05)
                self.assertGreaterEqual(len(held), 16, "every scan thread should be waiting on clamd")
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                with smtplib.SMTP("127.0.0.1", n.port("submission"), timeout=20) as s:
                    s.ehlo("client.test")
                    s.starttls(context=ctx)
                    s.ehlo("client.test")
                    start = time.time()
                    code, _ = s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0h@localhost\0hung-pw").decode())
                    took = time.time() - start
                self.assertEqual(code, 235)
                self.assertLess(took, 2.0, "a login waited for the hung scans")
                for th in senders:
                    th.join(30)
                self.assertEqual(codes, [451] * 20)
        finally:
            stop.set()
            t.join()
            for c in held:
                c.close()
            listener.close()
            shutil.rmtree(tmp, ignore_errors=True)

    def test_shutdown_is_not_held_by_a_hung_clamd(self):
        """SIGTERM with a scan waiting on a clamd that never answers: after
        the grace period (10 s) the scan fails, its client is told 451
        (nothing was acknowledged, nothing delivered) and the process ends,
        long before antivirus.timeout (120 s here) — also where scan
        failures are otherwise accepted unscanned: a scan cut short by the
        shutdown is no verdict on the message."""
        for sets in ([], ["antivirus.on_error=accept"]):
            with self.subTest(sets=sets):
                self.hung_clamd_shutdown(sets)

    def hung_clamd_shutdown(self, extra):
        import threading
        from harness import RawSmtp
        tmp = Path(tempfile.mkdtemp(prefix="nougat-hung-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        sock_path = tmp / "clamd.sock"
        listener = socket.socket(socket.AF_UNIX)
        self.addCleanup(listener.close)
        listener.bind(str(sock_path))
        listener.listen(8)
        held = []
        self.addCleanup(lambda: [c.close() for c in held])
        listener.settimeout(0.2)

        def hang():
            while True:
                try:
                    held.append(listener.accept()[0])
                except socket.timeout:
                    continue
                except OSError:
                    return
        threading.Thread(target=hang, daemon=True).start()
        with Nougat(sets=["antivirus.engine=clamd", f"antivirus.socket={sock_path}",
                          "antivirus.timeout=120s", *extra]) as n:
            n.add_user("h@localhost")
            c = RawSmtp(n.port())
            self.addCleanup(c.sock.close)
            c.greet()
            self.assertEqual(c.cmd("MAIL FROM:<s@remote.test>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<h@localhost>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send("Subject: hung scan\r\n\r\nbody\r\n.\r\n")
            deadline = time.time() + 10
            while not held and time.time() < deadline:
                time.sleep(0.05)
            self.assertTrue(held, "the scan should be waiting on clamd")
            start = time.time()
            c.sock.settimeout(30)  # the grace period is 10 s
            n.proc.send_signal(signal.SIGTERM)
            code, text = c.reply()
            self.assertEqual(code, 451, text)
            self.assertEqual(c.reply()[0], 421)
            n.proc.wait(30)
            self.assertLess(time.time() - start, 20)
            self.assertEqual(n.proc.returncode, 0)
            self.assertIn("clamd: scan cancelled (shutting down)", n.log())
            self.assertEqual(n.messages("h@localhost"), [])
            self.assertEqual(n.spool_files(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
