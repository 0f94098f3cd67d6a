"""Test harness: runs the real `nougat serve` on ephemeral loopback ports
with a temporary data directory, and cleans up after itself.

    with Nougat() as n:
        n.add_user("alice@localhost", "secret")
        smtplib.SMTP("127.0.0.1", n.port("smtp"))
        n.wait_for_mail("alice@localhost", 1)

The binary is $NOUGAT_BIN (set by ctest), else build/cli/nougat.
"""

import os
import re
import socket
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def nougat_bin():
    b = os.environ.get("NOUGAT_BIN")
    if b:
        return b
    return str(REPO / "build" / "cli" / "nougat")


def wait_files(folder, count, timeout=10):
    """Contents of the files in `folder` (sorted by name) once there are at
    least `count` of them, or whatever is there after `timeout` seconds."""
    def read():
        return [p.read_bytes() for p in sorted(folder.iterdir())] if folder.is_dir() else []
    deadline = time.time() + timeout
    while time.time() < deadline:
        files = read()
        if len(files) >= count:
            return files
        time.sleep(0.02)
    return read()


class Nougat:
    """One server instance. Listeners default to port 0 (the kernel picks);
    the real ports are read from the log lines 'listening for X on A:P'."""

    def __init__(self, data=None, sets=None, listeners=("smtp", "submission", "submissions"),
                 ports=None):
        self._own_data = data is None
        self.data = Path(data or tempfile.mkdtemp(prefix="nougat-test-"))
        self.sets = list(sets or [])
        self.listeners = listeners
        self.fixed_ports = dict(ports or {})
        self.proc = None
        self.ports = {}
        self.stderr_path = self.data / "serve.stderr"

    # ---- lifecycle ----
    def start(self, timeout=15):
        args = [nougat_bin(), "serve", "--data", str(self.data)]
        for name in ("smtp", "submission", "submissions"):
            if name in self.listeners:
                port = self.fixed_ports.get(name, 0)
                args += ["--set", f"listen.{name}=127.0.0.1:{port}"]
            else:
                args += ["--set", f"listen.{name}=[]"]
        for s in self.sets:
            args += ["--set", s]
        self._stderr = open(self.stderr_path, "ab")
        self._log_offset = self.stderr_path.stat().st_size
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self._stderr)
        deadline = time.time() + timeout
        self.ports = {}
        while time.time() < deadline:
            text = self._new_stderr()
            for m in re.finditer(r"listening for (\w+) on (?:\[[^\]]+\]|[\d.]+):(\d+)", text):
                self.ports[m.group(1)] = int(m.group(2))
            if "nougat ready" in text:
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"nougat serve exited {self.proc.returncode}:\n{text}")
            time.sleep(0.02)
        raise RuntimeError("nougat serve did not become ready:\n" + self._new_stderr())

    def _new_stderr(self):
        with open(self.stderr_path, "rb") as f:
            f.seek(self._log_offset)
            return f.read().decode("utf-8", "replace")

    def log(self):
        """Everything the server has logged to stderr so far (all runs)."""
        return self.stderr_path.read_text("utf-8", "replace")

    def wait_log(self, text, timeout=5):
        """The log once it contains `text` (a delivery's line follows its copy
        by a moment), or as it is after `timeout` seconds."""
        deadline = time.time() + timeout
        while text not in self.log() and time.time() < deadline:
            time.sleep(0.02)
        return self.log()

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "_stderr", None):
            self._stderr.close()
            self._stderr = None

    def kill(self):
        """SIGKILL: the crash case."""
        self.stop(signal.SIGKILL)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self._own_data and not os.environ.get("NOUGAT_KEEP_TEST_DATA"):
            shutil.rmtree(self.data, ignore_errors=True)

    def port(self, name="smtp"):
        return self.ports[name]

    # ---- users and mail ----
    def run_cli(self, *args, input=None, check=True):
        return subprocess.run([nougat_bin(), *args, "--data", str(self.data)], input=input,
                              capture_output=True, text=True, check=check)

    def add_user(self, address, password="secret"):
        self.run_cli("user", "add", address, "--password-stdin", input=password + "\n")

    def maildir(self, address):
        local, domain = address.split("@")
        return self.data / "home" / domain.lower() / local.lower() / "Maildir"

    def messages(self, address, folder="new"):
        d = self.maildir(address) / folder
        if not d.is_dir():
            return []
        return [p.read_bytes() for p in sorted(d.iterdir())]

    def wait_for_mail(self, address, count, timeout=10):
        return wait_files(self.maildir(address) / "new", count, timeout)

    def spool_files(self):
        q = self.data / "spool" / "queue"
        return sorted(p.name for p in q.iterdir()) if q.is_dir() else []


def body_of(delivered):
    """A delivered file without what nougat put on top of the message: the
    Return-Path, Delivered-To and Received fields, and the X-Spam-*/X-Virus
    tagging fields that end-of-DATA checks add right after Received."""
    m = re.match(rb"Return-Path: <[^>]*>\nDelivered-To: [^\n]*\nReceived: [^\n]*(?:\n\t[^\n]*)*\n"
                 rb"(?:X-(?:Spam|Virus)[A-Za-z-]*: [^\n]*(?:\n[ \t][^\n]*)*\n)*",
                 delivered)
    assert m, delivered[:300]
    return delivered[m.end():]


def reply_lines(fp):
    """The lines of one SMTP reply from a binary file object."""
    lines = [fp.readline()]
    while lines[-1][3:4] == b"-":
        lines.append(fp.readline())
    return lines


def starttls_client(port, test):
    """A socket to `port` after EHLO, STARTTLS (any certificate) and EHLO
    again, closed when `test` ends; returns (tls socket, its binary file)."""
    import ssl
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    test.addCleanup(s.close)
    f = s.makefile("rb")
    test.assertTrue(reply_lines(f)[0].startswith(b"220"))
    s.sendall(b"EHLO tls.test\r\n")
    reply_lines(f)
    s.sendall(b"STARTTLS\r\n")
    test.assertTrue(reply_lines(f)[0].startswith(b"220"))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s, server_hostname="localhost")
    tf = t.makefile("rb")
    t.sendall(b"EHLO tls.test\r\n")
    reply_lines(tf)
    return t, tf


class RawSmtp:
    """A plain socket SMTP client: sends exactly the bytes it is given, reads
    replies line by line. Test files subclass it for their own helpers."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data.encode("utf-8") if isinstance(data, str) else data)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError(f"connection closed; pending {self.buf!r}")
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l.decode("utf-8", "replace")

    def reply(self):
        """(code, text) of one possibly multi-line reply."""
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                break
        return int(lines[-1][:3]), "\n".join(x[4:] for x in lines)

    def cmd(self, c):
        self.send(c + "\r\n")
        return self.reply()

    def greet(self, name="client.test"):
        code, _ = self.reply()
        assert code == 220, code
        code, text = self.cmd(f"EHLO {name}")
        assert code == 250, (code, text)
        return text

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
