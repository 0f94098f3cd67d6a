#!/usr/bin/env python3
"""Differential test: nougat's message model (tests/tools/mime_dump) against
Python's email package, over a directory of raw messages (the SpamAssassin
public corpus, installed by scripts/corpus).

    mime_vs_python.py DATADIR --dump build/tests/tools/mime_dump [--show N] [--min-rate R]

For every *.txt under DATADIR (recursively) both sides describe the part tree
in document order: path, lowercased content type, charset, filename, and for
each text/* leaf the decoded text (UTF-8, line breaks -> \\n, spaces/tabs at
line ends and trailing empty lines removed). The script prints the agreement
rate per message and per field, plus the first N disagreements. Exit status 1
if the overall rate is below --min-rate (default 0.99).

Python side: email.message_from_bytes(raw, policy=compat32). compat32 rather
than policy.default because compat32 is the permissive raw-value parser:
header values and parameters come back as written (like our model), while
policy.default runs every header through its structured-header classes,
which already decode RFC 2047/2231 themselves (so the filename and charset
checks would compare Python to Python) and which raise or register defects
on the broken headers that are common in spam.

Bytes -> text uses the same charset *policy* as engine/charset.hpp (that is a
choice, not something to test against Python), implemented here with Python's
codecs, so what is compared is: MIME structure, parameters (RFC 2045/2231),
RFC 2047 filenames, transfer decoding, and iconv vs Python codecs.

Classes of disagreement found (SpamAssassin corpus, 6046 messages), and
what we do with them. Each is normalised away on the Python side only where
Python is wrong or the difference is a deliberate choice of ours:

 1. message/delivery-status (RFC 3464). Python parses its body as a list of
    header blocks and gives it child parts; we keep it a leaf, as IMAP
    BODYSTRUCTURE and RFC 3464 do (the blocks are not MIME entities).
    Normalised: Python's children of message/delivery-status are dropped.
 2. Base64 whose data-character count is 1 mod 4 (typically a mailing-list
    footer appended after the base64 body). Python gives up and returns the
    still-encoded text (bpo-27397); we drop the lone final character and
    return the decoded bytes, which is the usable answer.
    Normalised: when Python records InvalidBase64LengthDefect, the payload is
    re-decoded here the way RFC 2045 §6.8 lenient decoders do.
 3. Quoted-printable "==" (a literal '=' the encoder failed to escape).
    binascii.a2b_qp special-cases "==" as one '=' ("broken case from broken
    python qp", in CPython's source), which eats the next '=' even when that
    one is a soft line break or the start of "=3D". RFC 2045 §6.7 says a '='
    not followed by two hex digits or a line break is kept as is, which is
    what we do. Normalised: bodies containing "==" are decoded here by the
    RFC rule (single left-to-right pass).
 4. Content-Type without ';' before the parameters ("text/plain
    charset=us-ascii"). Python returns the whole string as the media type;
    we take the leading "type/subtype" tokens. Normalised: Python's type is
    cut at the first whitespace.
Not normalised (they are counted): anything else.
"""
import argparse
import binascii
import codecs
import email
import email.errors
import email.header
import email.policy
import json
import os
import re
import subprocess
import sys
from collections import Counter

NORMALISED = Counter()  # how often each class of the docstring was normalised

# --- charset policy: mirrors engine/charset.cpp -------------------------------------------

UTF8 = {"utf-8", "utf8", "x-utf-8"}
UNLABELLED = {"", "us-ascii", "ascii", "ansi_x3.4-1968", "iso-646-us", "us", "default",
              "unknown-8bit", "x-unknown", "unknown", "x-user-defined"}
LATIN1 = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "iso_8859-1", "l1", "windows-1252",
          "cp1252", "iso-8859-1:1987", "iso_8859-1:1987", "x-cp1252"}
ALIASES = {"ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "ks_c_5601-1989": "cp949",
           "euc-kr": "cp949", "gb2312": "gbk", "x-gbk": "gbk", "x-sjis": "shift_jis",
           "shift-jis": "shift_jis", "x-euc-jp": "euc_jp", "x-mac-roman": "mac_roman",
           "macintosh": "mac_roman", "tis-620": "tis_620", "windows-874": "cp874",
           "x-unicode-2-0-utf-7": "utf-7", "unicode-1-1-utf-7": "utf-7",
           "big5": "big5hkscs", "x-big5": "big5hkscs"}
SAFE = re.compile(r"^[a-z0-9._:+-]{1,40}$")


def cp1252(b):
    out = []
    for byte in b:
        if 0x80 <= byte < 0xA0:
            try:
                out.append(bytes([byte]).decode("cp1252"))
            except UnicodeDecodeError:
                out.append(chr(byte))
        else:
            out.append(chr(byte))
    return "".join(out)


def fallback(b):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return cp1252(b)


def normalize_charset(cs):
    return (cs or "").strip(" \t\r\n\"'").lower()


def to_utf8(b, charset):
    cs = normalize_charset(charset)
    stateful = (cs.startswith(("utf-16", "utf-32", "ucs", "iso-2022")) or cs in ("utf-7", "hz-gb-2312"))
    if b.isascii() and not stateful:
        return b.decode("ascii")
    if cs in UTF8:
        return b.decode("utf-8", "replace")
    if cs in LATIN1:
        return cp1252(b)
    if cs in UNLABELLED or not SAFE.match(cs):
        return fallback(b)
    try:
        codec = codecs.lookup(ALIASES.get(cs, cs))
    except LookupError:
        return fallback(b)
    return b.decode(codec.name, "replace")


def normalise_text(s):
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip(" \t") for line in s.split("\n")).rstrip(" \t\n")


def as_bytes(s):
    """compat32 hands back header/param text as str with surrogate escapes."""
    return s.encode("ascii", "surrogateescape") if isinstance(s, str) else bytes(s)


def decode_2047(value):
    if "=?" not in value:
        return to_utf8(as_bytes(value), "")
    out = []
    try:
        chunks = email.header.decode_header(value)
    except Exception:
        return to_utf8(as_bytes(value), "")
    for data, cs in chunks:
        if isinstance(data, str):
            data = as_bytes(data)
        out.append(to_utf8(data, cs or ""))
    return "".join(out)


# --- normalisations (see the classes in the module docstring) ---------------------------

B64_ALPHABET = re.compile(rb"[A-Za-z0-9+/]")
QP_RFC = re.compile(rb"=(?:([0-9A-Fa-f]{2})|[ \t]*\r?\n|[ \t]*\r?$)")


def b64_lenient(raw):
    """Class 2: drop the last data character when the count is 1 mod 4."""
    last = None
    for m in B64_ALPHABET.finditer(raw):
        last = m.start()
    if last is not None:
        raw = raw[:last] + raw[last + 1:]
    try:
        return binascii.a2b_base64(raw + b"==")
    except binascii.Error:
        return b""


def qp_rfc(raw):
    """Class 3: RFC 2045 quoted-printable in one left-to-right pass."""
    return QP_RFC.sub(lambda m: bytes([int(m.group(1), 16)]) if m.group(1) else b"", raw)


def py_payload(part):
    cte = str(part.get("content-transfer-encoding", "")).lower()
    payload = part.get_payload(decode=True) or b""
    if cte == "base64" and any(isinstance(d, email.errors.InvalidBase64LengthDefect) for d in part.defects):
        payload = b64_lenient(as_bytes(part._payload))  # raw, surrogate-escaped
        NORMALISED["2 base64 length"] += 1
    elif cte == "quoted-printable":
        raw = as_bytes(part._payload)  # raw, surrogate-escaped
        if b"==" in raw:
            NORMALISED["3 qp '=='"] += payload != qp_rfc(raw)
            payload = qp_rfc(raw)
    return payload


# --- the Python description -------------------------------------------------------------

def py_charset(part):
    cs = part.get_content_charset()
    cs = normalize_charset(cs)
    return to_utf8(as_bytes(cs), "") if cs else None


def py_filename(part):
    try:
        fn = part.get_filename()
    except Exception:
        return None
    if not fn:
        return None
    fn = decode_2047(fn).strip(" \t\r\n")
    return fn or None


def describe_py(part, path, out):
    ctype = part.get_content_type()
    if len(ctype.split()) > 1:  # class 4
        NORMALISED["4 type without ';'"] += 1
        ctype = ctype.split()[0]
    entry = {"path": path, "type": ctype,
             "charset": py_charset(part), "filename": py_filename(part)}
    children = part.get_payload() if part.is_multipart() else []
    if ctype == "message/delivery-status" and children:  # class 1
        NORMALISED["1 delivery-status children"] += 1
        children = []
    if part.get_content_maintype() == "text" and not part.is_multipart():
        payload = py_payload(part)
        entry["text"] = normalise_text(to_utf8(payload, part.get_content_charset() or ""))
    out.append(entry)
    for i, child in enumerate(children, 1):
        describe_py(child, f"{path}.{i}" if path else str(i), out)
    return out


def python_side(path):
    with open(path, "rb") as f:
        raw = f.read()
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    return describe_py(msg, "", [])


# --- comparison ---------------------------------------------------------------------------

FIELDS = ("structure", "type", "charset", "filename", "text")


def compare(ours, theirs):
    """Returns {field: (ok, detail)}."""
    res = {}
    paths_o = [p["path"] for p in ours]
    paths_t = [p["path"] for p in theirs]
    res["structure"] = (paths_o == paths_t, f"ours={paths_o} python={paths_t}")
    by_path = {p["path"]: p for p in theirs}
    for field in FIELDS[1:]:
        bad = []
        for p in ours:
            q = by_path.get(p["path"])
            if q is None:
                continue
            if p.get(field) != q.get(field):
                bad.append((p["path"], p.get(field), q.get(field)))
        res[field] = (not bad, bad)
    return res


def clip(v, n=300):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "..."


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datadir")
    ap.add_argument("--dump", required=True, help="path to the mime_dump binary")
    ap.add_argument("--show", type=int, default=10, help="disagreements to print")
    ap.add_argument("--min-rate", type=float, default=0.99)
    ap.add_argument("--limit", type=int, default=0, help="only the first N files")
    args = ap.parse_args()

    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(args.datadir) for f in fs if f.endswith(".txt"))
    if args.limit:
        files = files[:args.limit]
    if not files:
        print(f"no *.txt under {args.datadir}", file=sys.stderr)
        return 2
    proc = subprocess.run([args.dump, "--stdin"], input="\n".join(files).encode(),
                          stdout=subprocess.PIPE, check=True)
    ours = {}
    for line in proc.stdout.decode("utf-8").splitlines():
        d = json.loads(line)
        ours[d["file"]] = d["parts"]

    total = Counter()
    agree = Counter()
    msgs_ok = 0
    shown = 0
    for path in files:
        theirs = python_side(path)
        res = compare(ours[path], theirs)
        all_ok = True
        for field, (ok, detail) in res.items():
            total[field] += 1
            agree[field] += ok
            if not ok:
                all_ok = False
                if shown < args.show:
                    print(f"DIFF {field} {os.path.relpath(path, args.datadir)}: {clip(detail)}")
        if all_ok:
            msgs_ok += 1
        elif shown < args.show:
            shown += 1
    n = len(files)
    rate = msgs_ok / n
    print(f"messages: {n}  agreement: {msgs_ok}/{n} = {rate:.4%}")
    for field in FIELDS:
        print(f"  {field:9s} {agree[field]}/{total[field]} = {agree[field] / total[field]:.4%}")
    for cls, count in sorted(NORMALISED.items()):
        print(f"  normalised class {cls}: {count}")
    return 0 if rate >= args.min_rate else 1


if __name__ == "__main__":
    sys.exit(main())
