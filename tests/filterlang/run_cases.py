#!/usr/bin/env python3
"""Differential suite: runs `nougat filter test` on every case in cases/ and
compares stdout plus the exit status byte for byte with the checked-in
output of real Exim (`exim -bf`, produced by regen.sh).

Each case directory holds: filter, message, args (the options, one line,
shell syntax), expected (oracle stdout + a final line "exit: N").
Prints the match count and every mismatch; exits 1 if any case differs."""
import argparse
import difflib
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_case(nougat, case_dir):
    with open(os.path.join(case_dir, "args")) as f:
        args = shlex.split(f.read().strip())
    with open(os.path.join(case_dir, "message"), "rb") as f:
        message = f.read()
    proc = subprocess.run([nougat, "filter", "test", "filter", *args], input=message,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=case_dir, timeout=30)
    return proc.stdout + b"exit: %d\n" % proc.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nougat", required=True)
    ap.add_argument("--cases", default=os.path.join(HERE, "cases"))
    ap.add_argument("only", nargs="*", help="case names to run (default: all)")
    opts = ap.parse_args()
    names = opts.only or sorted(os.listdir(opts.cases))
    bad = []
    for name in names:
        d = os.path.join(opts.cases, name)
        with open(os.path.join(d, "expected"), "rb") as f:
            want = f.read()
        got = run_case(opts.nougat, d)
        if got != want:
            bad.append(name)
            print(f"MISMATCH {name}")
            for line in difflib.unified_diff(want.decode("latin-1").splitlines(), got.decode("latin-1").splitlines(),
                                             "exim", "nougat", lineterm=""):
                print("  " + line)
    print(f"{len(names) - len(bad)}/{len(names)} cases match")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
