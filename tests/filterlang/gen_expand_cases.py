#!/usr/bin/env python3
"""Regenerate expand_cases.tsv: every case is run through real Exim 4.96
(`exim -bf` via the exim-oracle tool) as a one-line `testprint` filter.

Usage: tests/filterlang/gen_expand_cases.py [--oracle PATH]

TSV columns (fields escaped: \\\\ \\t \\n \\r \\xHH):
  expansion  message-name  sender  local_part  domain  home  expected  headers-charset
expected is "OK:" + the Testprint text exactly as exim printed it (i.e. with
exim's output escaping applied), or "ERR:" + the expander's message (the text
after 'in testprint command: '). Messages are stored once, as rows whose
first column is "#MESSAGE". headers-charset is empty for the default (UTF-8);
otherwise the filter runs `headers charset "X"` before the testprint.
"""
import argparse, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

MESSAGES = {
    "basic": (
        "From: Fred Bloggs <fred@example.com>\n"
        "To: joe@example.org, \"Ann B\" <ann@example.net>\n"
        "Cc: carol@example.com\n"
        "Subject: Hello World\n"
        "Message-Id: <1@example.com>\n"
        "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
        "X-Spam-Score: 12.4\n"
        "X-Empty:\n"
        "X-Multi: one\n"
        "X-Multi: two\n"
        "To: second@example.org\n"
        "X-Folded: first line\n"
        "  second line\n"
        "X-Spaces:    padded value   \n"
        "Received: from a by b;\n"
        "\tMon, 1 Jan 2024\n"
        "\n"
        "Hello body line 1\n"
        "line 2\n"),
    "encoded": (
        "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.com>\n"
        "To: x@example.org\n"
        "Subject: =?UTF-8?B?SGVsbG8gV8O2cmxk?=\n"
        "X-Latin: =?iso-8859-1?q?caf=E9?= au lait\n"
        "X-Koi: =?koi8-r?b?8NLJ18XU?=\n"
        "X-Adjacent: =?utf-8?q?a?= =?utf-8?q?b?=  =?utf-8?q?c?= d =?utf-8?q?e?=\n"
        "X-Bad: =?utf-8?q?bad space?= and =?unknown-cs?q?x=41?=\n"
        "X-Long: =?utf-8?q?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?=\n"
        "X-Nul: =?utf-8?q?a=00b?=\n"
        "X-Enc-Multi: =?utf-8?q?one?=\n"
        "X-Enc-Multi: =?iso-8859-1?q?t=F6o?=\n"
        "X-Win: =?windows-1252?q?=80uro?=\n"
        "X-Folded-Enc: =?utf-8?q?fold?=\n"
        " =?utf-8?q?ed?=\n"
        "X-B64-Bad: =?utf-8?b?!!!?=\n"
        "X-Lower: =?utf-8?Q?x_y?=\n"
        "Message-Id: <2@example.com>\n"
        "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
        "Resent-To: r1@example.com\n"
        "Resent-To: r2@example.com\n"
        "Reply-To: reply@example.com\n"
        "Sender: s1@example.com\n"
        "Sender: s2@example.com\n"
        "\n"
        "body\n"),
}

DEFAULT_OPTS = ("fred@example.com", "joe", "example.org", "/home/joe")

# (expansion, message) ; options default to DEFAULT_OPTS
CASES = [
    # plain text, escapes
    ("hello world", "basic"), ("${lc:}", "basic"), ("tab\\there", "basic"), ("nl\\nthere", "basic"),
    ("back\\\\slash", "basic"), ("dollar \\$x", "basic"), ("\\N$x ${lc:A}\\N done", "basic"),
    ("\\x41\\101\\q", "basic"), ("a}b{c", "basic"), ("caf\u00e9", "basic"),
    # variables
    ("$sender_address", "basic"), ("${sender_address}", "basic"), ("$local_part@$domain", "basic"),
    ("$home/Mail", "basic"), ("$nosuch", "basic"), ("${nosuch}", "basic"), ("$", "basic"), ("$!", "basic"),
    ("${}", "basic"), ("${1x}", "basic"), ("$1$2", "basic"), ("${3}", "basic"), ("$_a", "basic"),
    ("$n0 $sn9", "basic"), ("$message_body_size", "basic"), ("$message_body", "basic"),
    ("$reply_address", "basic"), ("$reply_address", "encoded"), ("${lc x}", "basic"),
    # headers
    ("$h_subject:", "basic"), ("$header_Subject:", "basic"), ("$h_SUBJECT", "basic"), ("$h_subject x", "basic"),
    ("[$h_nosuch:]", "basic"), ("[$h_x-empty:]", "basic"), ("$h_x-multi:", "basic"), ("$h_to:", "basic"),
    ("$h_cc:", "basic"), ("$h_from:", "basic"), ("$h_x-folded:", "basic"), ("[$h_x-spaces:]", "basic"),
    ("[$rh_x-spaces:]", "basic"), ("$rh_x-multi:", "basic"), ("$rheader_to:", "basic"), ("$bh_x-folded:", "basic"),
    ("$h_received:", "basic"), ("${h_subject:}", "basic"), ("$h_x-spam-score:", "basic"), ("$h_subj:", "basic"),
    ("$h_subject:$h_x-empty:.", "basic"),
    ("$h_subject:", "encoded"), ("$h_from:", "encoded"), ("$bh_from:", "encoded"), ("$rh_from:", "encoded"),
    ("$h_x-latin:", "encoded"), ("$bh_x-latin:", "encoded"), ("$h_x-koi:", "encoded"), ("$h_x-adjacent:", "encoded"),
    ("$h_x-bad:", "encoded"), ("$h_x-long:", "encoded"), ("$h_x-nul:", "encoded"), ("$h_x-enc-multi:", "encoded"),
    ("$h_x-win:", "encoded"), ("$h_x-folded-enc:", "encoded"), ("$h_x-b64-bad:", "encoded"), ("$h_x-lower:", "encoded"),
    ("$h_resent-to:", "encoded"), ("$h_sender:", "encoded"), ("$h_reply-to:", "encoded"),
    ("${if def:h_subject:{y}{n}}", "basic"), ("${if def:h_nosuch:{y}{n}}", "basic"), ("${if def:h_x-empty:{y}{n}}", "basic"),
    ("${if def:header_to {y}{n}}", "basic"),
    # case, length, substr
    ("${lc:HeLLo}", "basic"), ("${uc:hello}", "basic"), ("${uc:h\u00e9llo}", "basic"), ("${lc:$h_subject:}", "basic"),
    ("${length_3:abcdef}", "basic"), ("${l_3:abcdef}", "basic"), ("${length_10:abc}", "basic"), ("${length_0:abc}", "basic"),
    ("${length{3}{abcdef}}", "basic"), ("${length{x}{abc}}", "basic"), ("${length{-1}{abc}}", "basic"),
    ("${length:abc}", "basic"), ("${length_x:abc}", "basic"), ("${length_3_4:abcdef}", "basic"),
    ("${substr_1_2:abcdef}", "basic"), ("${substr_1:abcdef}", "basic"), ("${substr_-2:abcdef}", "basic"),
    ("${substr_-2_1:abcdef}", "basic"), ("${s_2_2:abcdef}", "basic"), ("${substr_9:abc}", "basic"),
    ("${substr{1}{2}{abcdef}}", "basic"), ("${substr{-3}{abcdef}}", "basic"), ("${substr{-9}{2}{abc}}", "basic"),
    ("${substr{1}{x}{abc}}", "basic"), ("${substr{y}{1}{abc}}", "basic"), ("${substr_1_2_3:abcdef}", "basic"),
    ("${strlen:h\u00e9llo}", "basic"), ("${strlen:}", "basic"),
    # hashes
    ("${hash_3:abcdef}", "basic"), ("${h_3:abcdef}", "basic"), ("${hash{3}{abcdef}}", "basic"), ("${hash_3_5:abcdef}", "basic"),
    ("${hash{4}{62}{hello world}}", "basic"), ("${hash_3_63:abc}", "basic"), ("${hash_10:abc}", "basic"),
    ("${nhash_8:abcdef}", "basic"), ("${nhash_8_64:abcdef}", "basic"), ("${nh_100:hello}", "basic"),
    ("${nhash{1000}{hello}}", "basic"), ("${nhash{10}{10}{hello}}", "basic"),
    ("${md5:abc}", "basic"), ("${md5:}", "basic"), ("${sha1:abc}", "basic"), ("${sha256:abc}", "basic"),
    ("${sha256:$h_subject:}", "basic"),
    # base64 & friends
    ("${base64:abc}", "basic"), ("${base64:ab}", "basic"), ("${base64:a}", "basic"), ("${base64:}", "basic"),
    ("${base64d:YWJj}", "basic"), ("${base64d:YWI=}", "basic"), ("${base64d:!!}", "basic"), ("${str2b64:hello}", "basic"),
    ("${hex2b64:616263}", "basic"), ("${hex2b64:6x}", "basic"), ("${hexquote:a\\tb\u00e9}", "basic"),
    # quoting, escape, rfc2047
    ("${quote:abc}", "basic"), ("${quote:a b\"c\\\\d}", "basic"), ("${quote:}", "basic"), ("${quote:a.b-c_d}", "basic"),
    ("${quote:a\\nb}", "basic"), ("${quote_local_part:a b}", "basic"), ("${quote_local_part:a.b}", "basic"),
    ("${quote_local_part:a+b}", "basic"), ("${escape:a\\tb\\ncd\u00e9}", "basic"), ("${escape:\\x01\\x7f}", "basic"),
    ("${rfc2047:h\u00e9 llo}", "basic"), ("${rfc2047:hello}", "basic"), ("${rfc2047:a=b?c}", "basic"),
    ("${rfc2047:" + "\u00e9" * 30 + "}", "basic"),
    ("${rfc2047d:=?iso-8859-1?q?h=E9?=}", "basic"), ("${rfc2047d:plain}", "basic"),
    # addresses
    ("${address:Dr L <D@x.example>}", "basic"), ("${address:a@b (c)}", "basic"), ("${address:bad<}", "basic"),
    ("${address:$h_from:}", "basic"), ("${local_part:Fred <fred@Example.com>}", "basic"),
    ("${domain:Fred <fred@Example.com>}", "basic"), ("${domain:nodomain}", "basic"), ("${local_part:$h_from:}", "basic"),
    ("${addresses:a@b, \"x y\" <c@d>, e@f}", "basic"), ("${addresses:>; a@b, c@d}", "basic"),
    ("${addresses:$h_to:}", "basic"), ("${addresses:}", "basic"), ("${addresses:group: a@b, c@d;, e@f}", "basic"),
    ("${address:x@y}", "basic"), ("${domain:$h_from:}", "encoded"),
    # sg, tr, extract
    ("${sg{abcabc}{b}{X}}", "basic"), ("${sg{abcabc}{(b)(c)}{<\\$2\\$1>}}", "basic"), ("${sg{abc}{x*}{-}}", "basic"),
    ("${sg{hello}{^}{>}}", "basic"), ("${sg{a.b.c}{\\\\.}{/}}", "basic"), ("${sg{a}{b}}", "basic"),
    ("${sg{a}{b}{c}{d}}", "basic"), ("${sg{a}{b}{c}", "basic"), ("${sg {a} {a} {b} }", "basic"), ("${sg{abc}{(}{x}}", "basic"),
    ("${sg{$h_subject:}{o}{0}}", "basic"), ("${sg{aaa}{a}{\\$0\\$0}}", "basic"),
    ("${tr{abcabc}{ab}{xy}}", "basic"), ("${tr{abc}{ab}{x}}", "basic"), ("${tr{abc}{}{x}}", "basic"), ("${tr{abc}{a}{}}", "basic"),
    ("${tr{aaa}{aa}{xy}}", "basic"),
    ("${extract{b}{a=1 b=2}}", "basic"), ("${extract{B}{a=1 b=2}}", "basic"), ("${extract{c}{a=1 b=2}}", "basic"),
    ("${extract{b}{a=1 b = \"two words\"}}", "basic"), ("${extract{b}{a=1 b=2}{yes:$value}{no}}", "basic"),
    ("${extract{c}{a=1 b=2}{yes:$value}{no}}", "basic"), ("${extract{c}{a=1 b=2}{yes}}", "basic"),
    ("${extract{2}{:}{a:b:c}}", "basic"), ("${extract{-1}{:}{a:b:c}}", "basic"), ("${extract{4}{:}{a:b:c}}", "basic"),
    ("${extract{0}{:}{a:b:c}}", "basic"), ("${extract{2}{:,}{a,b:c}}", "basic"), ("${extract{-3}{:}{a:b:c}}", "basic"),
    ("${extract{2}{:}{a:b:c}{<$value>}{none}}", "basic"), ("${extract{9}{:}{a:b:c}{<$value>}{none}}", "basic"),
    ("${extract{ }{a=1}}", "basic"), ("${extract{2}{ }{$h_subject:}}", "basic"),
    # if
    ("${if eq{a}{a}{y}{n}}", "basic"), ("${if eq{a}{b}{y}{n}}", "basic"), ("${if eq{a}{A}{y}{n}}", "basic"),
    ("${if eqi{a}{A}{y}{n}}", "basic"), ("${if !eq{a}{b}{y}{n}}", "basic"), ("${if !!eq{a}{a}{y}{n}}", "basic"),
    ("${if eq{a}{a}}", "basic"), ("${if eq{a}{b}}", "basic"), ("${if eq{a}{a} {y}}", "basic"), ("${if eq{a}{b}{y}}", "basic"),
    ("${if eq {a} {a} {yes}fail}", "basic"), ("${if eq {a} {b} {yes}fail}", "basic"), ("${if eq{a}{a}fail}", "basic"),
    ("${if eq{a}{a}{y}{n}{z}}", "basic"), ("${if eq{a}{a}{y}{n}", "basic"), ("${if eq{a}}", "basic"), ("${if eq}", "basic"),
    ("${if}", "basic"), ("${if foo{a}{b}}", "basic"), ("${if eq{a}b{y}{n}}", "basic"),
    ("${if eq{a}{b}{y}{n}x}", "basic"), ("${if eq{a}{b}y}", "basic"),
    ("${if eq{a}{a}{y}{$nosuch}}", "basic"), ("${if eq{a}{b}{y}{${foo:x}}}", "basic"),
    ("${if eq{$h_subject:}{Hello World}{match}{nomatch}}", "basic"),
    ("${if <{1}{2}{y}{n}}", "basic"), ("${if <{a}{1}{y}{n}}", "basic"), ("${if <{}{1}{y}{n}}", "basic"),
    ("${if < {1k}{1025}{y}{n}}", "basic"), ("${if <{ 2 }{3}{y}{n}}", "basic"), ("${if <{2x}{3}{y}{n}}", "basic"),
    ("${if <{99999999999999999999}{3}{y}{n}}", "basic"), ("${if ={1g}{1073741824}{y}{n}}", "basic"),
    ("${if == {1}{1}{y}{n}}", "basic"), ("${if => {1}{1}{y}{n}}", "basic"), ("${if >={2}{2}{y}{n}}", "basic"),
    ("${if >{-1}{-2}{y}{n}}", "basic"), ("${if <={3}{2}{y}{n}}", "basic"), ("${if >{$h_x-spam-score:}{5}{y}{n}}", "basic"),
    ("${if lt{a}{b}{y}{n}}", "basic"), ("${if lti{B}{a}{y}{n}}", "basic"), ("${if ge{b}{b}{y}{n}}", "basic"),
    ("${if gt{b}{a}{y}{n}}", "basic"), ("${if le{abc}{ab}{y}{n}}", "basic"),
    ("${if def:sender_address{y}{n}}", "basic"), ("${if def:nosuch{y}{n}}", "basic"), ("${if def:{y}{n}}", "basic"),
    ("${if def:n0{y}{n}}", "basic"),
    ("${if and{{eq{a}{a}}{eq{b}{b}}}{y}{n}}", "basic"), ("${if and{{eq{a}{a}}{eq{b}{c}}}{y}{n}}", "basic"),
    ("${if and{}{y}{n}}", "basic"), ("${if or{}{y}{n}}", "basic"), ("${if and {eq{a}{a}} {y}{n}}", "basic"),
    ("${if or{{eq{a}{b}}{eq{b}{b}}}{y}{n}}", "basic"), ("${if or{ {eq{a}{b}} {eq{b}{c}} }{y}{n}}", "basic"),
    ("${if and{{eq{a}{a}}{foo}}{y}{n}}", "basic"), ("${if or{{eq{a}{a}}{eq{$nosuch}{x}}}{y}{n}}", "basic"),
    ("${if match{abc}{b(c)}{$1}{n}}", "basic"), ("${if match{abc}{(}{y}{n}}", "basic"), ("${if match{ABC}{b}{y}{n}}", "basic"),
    ("${if match{$h_subject:}{^(\\\\w+)\\\\s+(\\\\w+)}{$2 $1}{n}}", "basic"), ("${if match{abc}{x(y)?}{y}{n}}", "basic"),
    ("${if match{abc}{(a)(x)?}{[$1][$2]}{n}}", "basic"), ("${if match{abc}{b}{y}{n}}$0", "basic"),
    ("${if match_domain{a.b.c}{*.b.c}{y}{n}}", "basic"), ("${if match_domain{a.b.c}{x.y : a.b.c}{y}{n}}", "basic"),
    ("${if match_domain{a.b.c}{!a.b.c : *}{y}{n}}", "basic"), ("${if match_address{x@a.b}{*@a.b}{y}{n}}", "basic"),
    ("${if match_address{x@a.b}{y@a.b}{y}{n}}", "basic"), ("${if match_local_part{x}{x : y}{y}{n}}", "basic"),
    ("${if inlist{b}{a:b:c}{y}{n}}", "basic"), ("${if inlist{B}{a:b:c}{y}{n}}", "basic"), ("${if inlisti{B}{a:b:c}{y}{n}}", "basic"),
    ("${if forany{a:b}{eq{$item}{b}}{y}{n}}", "basic"), ("${if forall{a:b}{eq{$item}{b}}{y}{n}}", "basic"),
    ("${if forall{}{eq{$item}{b}}{y}{n}}", "basic"),
    ("${if isip{1.2.3.4}{y}{n}}", "basic"), ("${if isip{1.2.3}{y}{n}}", "basic"), ("${if isip4{::1}{y}{n}}", "basic"),
    ("${if isip6{::1}{y}{n}}", "basic"), ("${if bool{yes}{y}{n}}", "basic"), ("${if bool{ 0 }{y}{n}}", "basic"),
    ("${if bool{maybe}{y}{n}}", "basic"), ("${if bool_lax{maybe}{y}{n}}", "basic"), ("${if bool_lax{false}{y}{n}}", "basic"),
    ("${if first_delivery{y}{n}}", "basic"),
    ("${if eq{${lc:$h_x-multi:}}{one\\ntwo}{multi}{single}}", "basic"),
    # eval
    ("${eval:1+2*3}", "basic"), ("${eval:(1+2)*3}", "basic"), ("${eval:1/0}", "basic"), ("${eval:1+}", "basic"),
    ("${eval:2 x}", "basic"), ("${eval:(1}", "basic"), ("${eval:010+0x10}", "basic"), ("${eval10:010}", "basic"),
    ("${eval:1k+1M}", "basic"), ("${eval:-5%3}", "basic"), ("${eval:7>>1|8^3&1<<2}", "basic"), ("${eval:~0}", "basic"),
    ("${eval:}", "basic"), ("${eval:abc}", "basic"), ("${eval:9223372036854775807+1}", "basic"),
    ("${eval: 2 * ( 3 + 4 ) }", "basic"), ("${eval:-(-3)}", "basic"), ("${eval:7/2}", "basic"), ("${eval:-7/2}", "basic"),
    ("${eval:5%0}", "basic"), ("${eval:3000000000*3000000000*3}", "basic"), ("${eval:$message_body_size+1}", "basic"),
    # lists
    ("${listcount:a:b::c}", "basic"), ("${listcount:}", "basic"), ("${listcount:<; a;b;c}", "basic"),
    # operators, errors
    ("${foo:x}", "basic"), ("${foo{x}}", "basic"), ("${foo_3:x}", "basic"), ("${lc_x:AB}", "basic"), ("${lc:x", "basic"),
    ("${lc:a}}", "basic"), ("${lc:{a}}", "basic"), ("${lc:${uc:${lc:MiXeD}}}", "basic"),
    ("${lc:${length_2:$h_subject:}}x", "basic"),
    # list items
    ("${map{a:b}{<$item>}}", "basic"), ("${map{<; a;b}{$item:x}}", "basic"), ("${map{}{x}}", "basic"),
    ("${filter{a:b:c}{!eq{$item}{b}}}", "basic"), ("${filter{a:b}{foo}}", "basic"),
    ("${reduce{1:2:3}{0}{${eval:$value+$item}}}", "basic"), ("${reduce{a:b}{}{$value$item}}", "basic"),
    ("${sort{c:a:b}{lt}{$item}}", "basic"), ("${sort{3:10:2}{<}{$item}}", "basic"), ("${sort{b:A:c}{lti}{$item}}", "basic"),
    ("${listextract{2}{a:b:c}}", "basic"), ("${listextract{-1}{a:b:c}}", "basic"), ("${listextract{5}{a:b:c}}", "basic"),
    ("${listextract{2}{a:b:c}{<$value>}{none}}", "basic"), ("${listextract{7}{a:b:c}{<$value>}{none}}", "basic"),
    ("${listextract{x}{a:b}}", "basic"), ("${if forany{$h_to:}{match{$item}{example\\.net}}{y}{n}}", "basic"),
    ("${utf8clean:ab\xffc}", "basic"), ("${utf8clean:hé}", "basic"), ("${escape8bit:hé\n}", "basic"),
    # more headers and variables
    ("$message_headers", "basic"), ("${if def:h_x-folded:{$h_x-folded:}}", "basic"), ("$h_X-MULTI:", "basic"),
    ("${bheader_x-enc-multi:}", "encoded"), ("$bh_x-enc-multi:", "encoded"), ("$rh_x-enc-multi:", "encoded"),
    ("${uc:$h_x-latin:}", "encoded"), ("${strlen:$h_subject:}", "encoded"), ("${length_5:$h_x-koi:}", "encoded"),
    ("${rfc2047:$h_x-latin:}", "encoded"), ("$h_x-spaces", "basic"), ("$h_x-spaces:", "encoded"),
    ("${addresses:$h_from:}", "encoded"), ("${addresses:$h_resent-to:}", "encoded"),
    ("${if match{$message_headers}{\\\\n(X-Latin:[^\\\\n]*)}{$1}}", "encoded"), ("$message_headers_raw", "basic"), ("$message_body_end", "basic"), ("$message_size", "basic"),
    ("${if eq{$local_part}{joe}{me}{other}}", "basic", ("<>", "bob", "example.net", "/home/bob")),
    ("[$sender_address]", "basic", ("", "bob", "example.net", "/home/bob")),
    ("$local_part@$domain", "basic", ("x@y.example", "Mixed.Case", "Dom.Example", "/")),
    # skipping semantics
    # headers charset
    ("$h_subject:", "encoded", None, "ISO-8859-1"), ("$h_x-latin:", "encoded", None, "ISO-8859-1"),
    ("$h_x-koi:", "encoded", None, "ISO-8859-1"), ("$h_x-koi:", "encoded", None, "KOI8-R"),
    ("$bh_x-latin:", "encoded", None, "ISO-8859-1"), ("$h_from:", "encoded", None, "utf-8"),
    ("${rfc2047:caf\xe9}", "basic", None, "ISO-8859-1"), ("${rfc2047d:=?utf-8?q?caf=C3=A9?=}", "basic", None, "ISO-8859-1"),
    ("$h_x-win:", "encoded", None, "ISO-8859-15"),
    # more address forms
    ("${address:<a@b>}", "basic"), ("${address:\"q u\"@x.example}", "basic"), ("${address:a @ b . c}", "basic"),
    ("${address:<@route,@r2:u@d>}", "basic"), ("${address:Name <a@b> trailing}", "basic"), ("${address:a b@c}", "basic"),
    ("${local_part:\"q u\"@x.example}", "basic"), ("${domain:a@B.Example}", "basic"), ("${address:}", "basic"),
    ("${addresses:a@b, , c@d}", "basic"), ("${addresses:x:y@z}", "basic"), ("${addresses:>, a@b, c@d}", "basic"),
    ("${address:(comment) a@b}", "basic"), ("${address:a@b}}", "basic"),
    # extra operators
    ("${rxquote:a.b*c d}", "basic"), ("${sha2:abc}", "basic"), ("${sha2_512:abc}", "basic"), ("${sha2_384:abc}", "basic"),
    ("${sha3:abc}", "basic"), ("${sha3_512:abc}", "basic"), ("${sha2_1:a}", "basic"), ("${base32:1000}", "basic"),
    ("${base32:0}", "basic"), ("${base32:x}", "basic"), ("${base62:1000}", "basic"), ("${base62:x}", "basic"),
    ("${time_interval:1000000}", "basic"), ("${time_interval:0}", "basic"), ("${time_interval:x}", "basic"),
    ("${time_interval:3661}", "basic"), ("${reverse_ip:1.2.3.4}", "basic"), ("${reverse_ip:2001:db8::1}", "basic"),
    ("${reverse_ip:x}", "basic"), ("${mask:1.2.3.4/8}", "basic"), ("${mask:10.20.30.40/20}", "basic"),
    ("${mask:1.2.3.4}", "basic"), ("${mask:1.2.3.4/33}", "basic"), ("${hmac{md5}{secret}{abc}}", "basic"),
    ("${hmac{sha1}{secret}{$h_subject:}}", "basic"), ("${hmac{sha256}{secret}{abc}}", "basic"),
    # yes/no syntax and forced failure
    ("${extract{c}{a=1}{y}fail}", "basic"), ("${extract{a}{a=1}{y}fail}", "basic"), ("${extract{a}{a=1}fail}", "basic"),
    ("${listextract{5}{a:b}{y}fail}", "basic"), ("${extract{a}{a=1}{y}{n}{z}}", "basic"),
    ("${extract{1}{:}{a}{y}{n}{z}}", "basic"), ("${extract{a}{a=1}", "basic"), ("${sg{a}{b}{c}x}", "basic"),
    ("${if eq{a}{a}{y}{n}}}", "basic"), ("${extract{1}{:}}", "basic"), ("${if eq{a}{a}", "basic"),
    ("${extract{a}{a=1} }", "basic"), ("${extract{a}{a=1}{y} fail }", "basic"), ("${if eq{a}{b}{y}failx}", "basic"),
    ("${extract{$local_part}{joe=me bob=you}{[$value]}{none}}", "basic"),
    ("${extract{${lc:2}}{:}{a:b:c}{[$value]}{none}}", "basic"),
    ("${if eq{a}{b}{$h_nosuch:}{ok}}", "basic"), ("${if eq{a}{b}{${eval:1/0}}{ok}}", "basic"),
    ("${if eq{a}{b}{${sg{x}{(}{y}}}{ok}}", "basic"), ("${if eq{a}{b}{${if match{x}{(}{y}}}{ok}}", "basic"),
    ("${if eq{a}{b}{${length_x:abc}}{ok}}", "basic"), ("${if eq{a}{b}{${lc:x}{ok}}", "basic"),
    ("${if or{{eq{a}{a}}{match{x}{(}}}{y}{n}}", "basic"), ("${if eq{a}{a}{y}{${sg{x}{$h_subject:(}{y}}}}", "basic"),
    ("${if eq{a}{a}{y}{${hash_3_99:abcdef}}}", "basic"), ("${if eq{a}{a}{y}{${extract{}{x}}}}", "basic"),
    ("${if eq{a}{a}{y}{${length{x}{y}}}}", "basic"), ("${if eq{a}{a}{y}{${foo:x}}}", "basic"),
    ("${if eq{a}{a}{y}{${if foo{x}}}}", "basic"), ("${if eq{a}{a}{y}{$nosuch}}", "basic"), ("${if and{{eq{a}{b}}{<{x}{1}}}{y}{n}}", "basic"),
    # second differential review (stop 14)
    ("${time_eval:1w2d}", "basic"), ("${time_eval:1s1s}", "basic"), ("${time_eval:30}", "basic"),
    ("${time_eval:1h30}", "basic"), ("${time_eval:}", "basic"), ("${time_eval:99999999999s}", "basic"),
    ("${time_eval:5000w}", "basic"), ("${hex2b64:abc}", "basic"), ("${hex2b64:zz}", "basic"),
    ("${sort{3:1:a}{<}{$item}}", "basic"), ("${sort{a:3:1}{>}{$item}}", "basic"), ("${sort{b:a}{<=}{$item}}", "basic"),
    ("${sort{x:y}{<}{}}", "basic"), ("${sort{b:a}{foo}{$item}}", "basic"), ("${sort{b:a}{eq}{$item}}", "basic"),
    ("${sort{b:a}{ lt }{$item}}", "basic"), ("${sort{b:a}{lt x}{$item}}", "basic"), ("${sort{b:a}{==}{$item}}", "basic"),
    ("${if lti{a}{ab}{y}{n}}", "basic"), ("${if gti{a}{ab}{y}{n}}", "basic"), ("${if lei{}{a}{y}{n}}", "basic"),
    ("${sort{ab:a:B}{lti}{$item}}", "basic"),
    ("${if crypteq{hello}{abl0JrMf6tlhw}{y}{n}}", "basic"), ("${if crypteq{hello}{\{CRYPT\}abl0JrMf6tlhw}{y}{n}}", "basic"),
    ("${if crypteq{hellohello}{ab0CA5LHCrzM6}{y}{n}}", "basic"),
    ("${if crypteq{hellohello2}{\{crypt16\}ab0CA5LHCrzM6gkWvMk1Cs3.}{y}{n}}", "basic"),
    ("${if crypteq{hello}{\{md5\}XUFAKrxLKna5cZ2REBfFkg==}{y}{n}}", "basic"),
    ("${if crypteq{hello}{\{md5\}xufakrxlkna5cz2rebffkg==}{y}{n}}", "basic"),
    ("${if crypteq{hello}{\{MD5\}5D41402ABC4B2A76B9719D911017C592}{y}{n}}", "basic"),
    ("${if crypteq{hello}{\{sha1\}qvTGHdzF6KLavt4PO0gs2a6pQ00=}{y}{n}}", "basic"),
    ("${if crypteq{hello}{\{sha1\}aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d}{y}{n}}", "basic"),
    ("${if crypteq{hello}{\{sha1\}short}{y}{n}}", "basic"), ("${if crypteq{hello}{\{foo\}x}{y}{n}}", "basic"),
    ("${if crypteq{hello}{\$1\$salt\$BSpYmSAZQYBttsZ28Ph1f/}{y}{n}}", "basic"), ("${if crypteq{}{}{y}{n}}", "basic"),
    ("${if crypteq{hello}{\$9\$x}{y}{n}}", "basic"), ("${if crypteq{hello}{a}{y}{n}}", "basic"),
    ("${escape8bit:a\\b}", "basic"), ("${length:${escape8bit:a\x7f}}", "basic"),
    ("${filter{a::b}{def:item}}", "basic"), ("${map{a:b}{${if def:item{y}{n}}}}", "basic"), ("${if def:item{y}{n}}", "basic"),
    ("${reduce{a:b}{}{${if def:value{y}{n}}}}", "basic"), ("${extract{a}{a=}{${if def:value{y}{n}}}}", "basic"),
    ("${lc:$h_a}: x", "basic"), ("${lc:$rh_a}: x", "basic"), ("${if eq{$h_a}{x}}: y", "basic"), ("${lc:$h_to x}", "basic"),
    ("${address:@@x}", "basic"), ("${local_part:[b]}", "basic"), ("${address:a\x01b@c}", "basic"), ("${address:a\x7fb@c}", "basic"),
    ("${domain:a@b_c}", "basic"), ("${address:a@-b}", "basic"), ("${address:a@b.-c}", "basic"), ("${address:a@\xc3\xa9}", "basic"),
    ("${address:a.@b}", "basic"), ("${address:.a@b}", "basic"), ("${address:a. .b@b}", "basic"), ("${address:\"x\\\"y\"@d}", "basic"),
    ("${addresses:g: x@y, h: z@w}", "basic"), ("${addresses:x: a@b; c@d}", "basic"), ("${addresses:x:; c@d, e@f}", "basic"),
    ("${addresses:a@x:b@x}", "basic"), ("${addresses:a@b;c@d}", "basic"), ("${addresses:x: a;b}", "basic"),
    ("${addresses:a:b:c}", "basic"), ("${addresses:x: Fred <a@b>, y@z; w@v}", "basic"), ("${addresses:x, y: a@b}", "basic"),
    ("${addresses:>;a@b, c;d@e}", "basic"), ("${addresses: >,a@b, c@d}", "basic"), ("${addresses:>}", "basic"),
    ("${addresses:>:\":x\"@b, c@d}", "basic"),
    ("${extract json{b}{\{\"a\":1,\"b\":\"x\"\}}}", "basic"), ("${extract jsons{b}{\{\"a\":1,\"b\":\"x\"\}}}", "basic"),
    ("${extract json{c}{\{\"a\":1\}}{y}{n}}", "basic"), ("${extract json{a}{\{\"a\":[1,2],\"b\":\"x\"\}}{[$value]}}", "basic"),
    ("${extract json{a}{\{ \"a\" : 1 , \"b\" : 2 \}}}", "basic"), ("${extract json{2}{[1,[2,3],4]}}", "basic"),
    ("${extract jsons{2}{[\"a\",\"b\"]}}", "basic"), ("${extract json{0}{[1]}}", "basic"), ("${extract json{5}{[1]}}", "basic"),
    ("${extract json{a}{x}}", "basic"), ("${extract json{a}{\{\"a\":1}}", "basic"), ("${extract json{a}{\{a:1\}}}", "basic"),
    ("${extract json{a}{\{\"a\" 1\}}}", "basic"), ("${extract jsons{a}{\{\"a\":1\}}}", "basic"), ("${extract json{2}{1,2}}", "basic"),
    ("${extract json{z}{\{\"a\":1\}}{y}fail}", "basic"), ("${extract jsonx{a}{b}}", "basic"), ("${listextract x}", "basic"),
    ("$bogus${lcx:a}", "basic"), ("${hash{3}{abc}{x}}${if}", "basic"), ("${eval:2-}${acl{x}}", "basic"),
    ("${headerwrap_30:${mask:x}}", "basic"), ("${lc:a}${lcx:${eval:1/0}}", "basic"), ("${lc:$bogus}${if}", "basic"),
    ("${if eq{$bogus}{x}{${lcx:a}}}", "basic"), ("$h_subject:${if}", "basic"),
    ("${tr{$h_x}{ }{xyz}}", "basic"), ("${extract{4}{@<>}{$h_x}}${length_0:$h_to:}", "basic"),
    ("${tr{$h_x}{ }{a}{b}}", "basic"), ("${tr{$h_subject:}{a}}", "basic"),
    ("${if eq{$foo}{x}junk}", "basic"), ("${if eq{a}{a}junk}", "basic"), ("${tr{$foo}{a}}", "basic"),
    ("${if eq{$foo}{x}{y}{n}junk}", "basic"), ("${lc:a}${sg{$foo}{a}}", "basic"),
    ("-${hash{5}{abc}{${headerwrap_30:$h_x-enc}}}${base32:0}", "basic"), ("${lc:$bogus", "basic"),
    ("${tr{a}{$bogus", "basic"), ("${tr{a}{b}{${lcx:$bogus}}", "basic"), ("${nhash{-1}{abc}}", "basic"),
    ("${if eq{a}{a}{$nosuch}x", "basic"), ("${if eq{a}{b}{$nosuch}x", "basic"), ("${if eq{a}{b}{y}{$nosuch", "basic"),
    ("${if eq{a}{a}{${lcx:$nosuch}", "basic"), ("${address:g: x <a@b>}", "basic"), ("${address:A (c) <a@b>}", "basic"),
    ("${map{a:b}{${lcx:$item}}}", "basic"), ("${map{}{$nosuch}}", "basic"), ("${reduce{a:b}{}{${lcx:x}}}", "basic"),
    ("${map{a:b}{x}", "basic"), ("${map{a:b}", "basic"), ("${map{a:b}{${if}}}", "basic"), ("${reduce{a}{b}", "basic"),
    ("${map{a:b}{${eval:1/0}}}", "basic"),
    # IP operators and isip (Exim's string_is_ip_address: masks, %interface)
    ("${ipv6norm:2001:db8::1}", "basic"), ("${ipv6norm:1.2.3.4}", "basic"), ("${ipv6norm:1:0:0:2:0:0:0:3}", "basic"),
    ("${ipv6norm:1:0:0:2:0:0:3:4}", "basic"), ("${ipv6norm:1:0:2:3:4:5:6:7}", "basic"), ("${ipv6norm:0:0:0:0:0:0:0:0}", "basic"),
    ("${ipv6norm:ABCD::EF}", "basic"), ("${ipv6norm:fe80::1%eth0}", "basic"), ("${ipv6norm:1.2.3.4/24}", "basic"),
    ("${ipv6norm:}", "basic"), ("${ipv6norm:xyz}", "basic"), ("${ipv6denorm:::ffff:1.2.3.4}", "basic"),
    ("${ipv6denorm:::}", "basic"), ("${ipv6denorm:2001:db8::1/64}", "basic"),
    ("${mask:2001:db8::1/32}", "basic"), ("${mask_n:2001:db8::1/48}", "basic"), ("${mask:2001:db8::1/129}", "basic"),
    ("${mask:::ffff:1.2.3.4/120}", "basic"), ("${mask_n:2001:db8::1/0}", "basic"), ("${mask:2001:db8::1/}", "basic"),
    ("${mask_n:2001:db8:1:2:3:4:5:6/112}", "basic"), ("${mask:1.2.3.4/ 8}", "basic"), ("${mask:1.2.3.4/+8}", "basic"),
    ("${mask:1.2.3.4/8x}", "basic"), ("${mask:1.2.3.4/-1}", "basic"), ("${mask:2001:db8::1%eth0/64}", "basic"),
    ("${mask_n:1.2.3.4/8}", "basic"), ("${if isip{1.2.3.4/8}{y}{n}}", "basic"), ("${if isip{fe80::1%eth0}{y}{n}}", "basic"),
    ("${if isip4{1.2.3.4%x}{y}{n}}", "basic"),
    # ${expand:}, ${listquote}, ${randint}, ${listnamed}, ${env}, ${authresults}
    ("${expand:\\$sender_address}", "basic"), ("${expand:}", "basic"), ("${expand:\\${nosuch}", "basic"),
    ("${expand:\\$nosuchvar}", "basic"), ("${expand:${lc:\\$H_SUBJECT:}}", "basic"),
    ("${listquote{:}{a:b::c}}", "basic"), ("${listquote{;}{a;b}}", "basic"), ("${listquote{}{a:b}}", "basic"),
    ("${listquote{:}{}}", "basic"), ("${listquote{ab}{xaybz}}", "basic"), ("${listquote{:}}", "basic"),
    ("${listquote{:}{a}{b}}", "basic"), ("${randint:0}", "basic"), ("${randint:1}", "basic"), ("${randint:-5}", "basic"),
    ("${randint:}", "basic"), ("${randint:x}", "basic"), ("${listnamed:foo}", "basic"), ("${listnamed_d:foo}", "basic"),
    ("${listnamed_l:foo}", "basic"), ("${listnamed_x:foo}", "basic"), ("${listnamed_dd:foo}", "basic"),
    ("${env{PATH}{$value}{none}}", "basic"), ("${env{HOME}}", "basic"), ("${env{X}{y} fail }", "basic"),
    ("${env{X}{a}{b}{c}}", "basic"), ("${env{ TZ }{[$value]}}", "basic"), ("${authresults{example.com}}", "basic"),
    ("${authresults{a}{b}}", "basic"),
    # forall_json / forany_json(s): Exim 4.96's json_nextinlist() splitting
    ("${if forall_json{[1,2,3]}{>{$item}{0}}{y}{n}}", "basic"), ("${if forany_json{[1,2,3]}{eq{$item}{4}}{y}{n}}", "basic"),
    ("${if forany_json{ [ \"a\" , \"b\" ] }{eq{$item}{\"b\"}}{y}{n}}", "basic"),
    ("${if forany_jsons{ [ \"a\" , \"b\" ] }{eq{$item}{b}}{y}{n}}", "basic"),
    ("${if forany_jsons{[1,2]}{eq{$item}{1}}{y}{n}}", "basic"), ("${if forany_json{[]}{eq{$item}{1}}{y}{n}}", "basic"),
    ("${if forall_json{[]}{eq{$item}{1}}{y}{n}}", "basic"), ("${if forall_jsons{[]}{eq{$item}{1}}{y}{n}}", "basic"),
    ("${if forany_json{[\"a,b\"]}{eq{$item}{\"a,b\"}}{y}{n}}", "basic"), ("${if forany_json{[1,,2]}{eq{$item}{2}}{y}{n}}", "basic"),
    ("${if forany_json{[1, 2 ]}{eq{$item}{2}}{y}{n}}", "basic"), ("${if forany_json{[1,2]x}{eq{$item}{2}}{y}{n}}", "basic"),
    ("${if forany_jsons{[\"a\\\\\"b\"]}{eq{$item}{a\\\\\"b}}{y}{n}}", "basic"),
    ("${map{<, a,b}{$item}}", "basic"), ("${if !forall_json{[1,2]}{=={$item}{1}}{y}{n}}", "basic"),
    # match_ip: host lists, items expanded one by one, host names end the list
    ('${if match_ip{1.2.3.4}{1.2.3.4}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{1.2.3.5 : 1.2.3.4}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{1.2.0.0/16}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.5}{1.2.3.4/31}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{1.2.3.4/33}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{1.2.3.0/33}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{!1.2.3.0/33}{T}{F}}', "basic"),
    ('${if match_ip{9.9.9.9}{1.2.3.4/}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{1.2.3.0/x}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{!1.2.3.0/x}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{+ignore_unknown : 1.2.3.0/x : 1.2.3.4}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{*}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{!*}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{!1.2.3.4}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{!1.2.3.4 : *}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{1.2.3.4 : !1.2.3.4}{T}{F}}', "basic"),
    ('${if match_ip{}{1.2.3.4}{T}{F}}', "basic"),
    ('${if match_ip{}{*}{T}{F}}', "basic"),
    ('${if match_ip{}{}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{example.com}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{example.com : 1.2.3.4}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{1.2.3.4 : example.com}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{!example.com}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{+include_unknown : example.com}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{@}{T}{F}}', "basic"),
    ('${if match_ip{::1}{::1}{T}{F}}', "basic"),
    ('${if match_ip{::1}{<; ::1 ; 1.2.3.4}{T}{F}}', "basic"),
    ('${if match_ip{::1}{<; ::0:1}{T}{F}}', "basic"),
    ('${if match_ip{2001:db8::1}{<; 2001:db8::/32}{T}{F}}', "basic"),
    ('${if match_ip{2001:DB8:0:0::1}{<; 2001:db8::1}{T}{F}}', "basic"),
    ('${if match_ip{::ffff:1.2.3.4}{1.2.3.0/24}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{<; ::ffff:1.2.3.4}{T}{F}}', "basic"),
    ('${if match_ip{::ffff:1.2.3.4}{<; ::ffff:1.2.3.0/120}{T}{F}}', "basic"),
    ('${if match_ip{::1}{0.0.0.0/0}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{<; ::/0}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{<, 1.2.3.4, 5.6.7.8}{T}{F}}', "basic"),
    ("${if match_ip{1.2.3.4}{<; $h_subject:}{T}{F}}", "basic"), ("${if match_ip{1.2.3.4}{127.0.0.2 : @[]}{T}{F}}", "basic"),
    ("${if match_ip{foo}{*}{T}{F}}", "basic"), ("${if match_ip{1.2.3.4/8}{*}{T}{F}}", "basic"),
    ("${if match_ip{1.2.3.4}{1.2.3.5 : +foo}{T}{F}}", "basic"), ("${if match_ip{1.2.3.4}{$sender_address}{T}{F}}", "basic"),
    # domain/local-part/address lists: a list ending in a negated item matches the rest; inlist has no '!' 
    ("${if match_domain{x.example}{!y.example}{T}{F}}", "basic"), ("${if match_domain{x.example}{!x.example}{T}{F}}", "basic"),
    ("${if match_local_part{x}{!y}{T}{F}}", "basic"), ("${if match_address{a@x.example}{!b@x.example}{T}{F}}", "basic"),
    ("${if match_domain{a.example}{!b.example : c.example}{T}{F}}", "basic"), ("${if inlist{a}{!b}{T}{F}}", "basic"),
    ("${if inlist{!a}{!a}{T}{F}}", "basic"), ("${if inlisti{!A}{x : !a}{T}{F}}", "basic"),
    ("${if match_domain{other.example}{@}{T}{F}}", "basic"), ("${if match_local_part{x}{@}{T}{F}}", "basic"),
    ("${if match_domain{x}{@foo}{T}{F}}", "basic"), ("${if match_domain{[127.0.0.2]}{@[]}{T}{F}}", "basic"),
    ("${if match_domain{[127.0.0.1]}{@[]}{T}{F}}", "basic"), ("${if match_domain{127.0.0.1}{@[]}{T}{F}}", "basic"),
    ("${if match_domain{a.b}{+foo}{T}{F}}", "basic"), ("${if match_address{a@b}{+foo}{T}{F}}", "basic"),
    # ${quote_<lookup type>:} and ${imapfolder}
    ('${quote_:a}', "basic"),
    ('${quote_dnsdb:a:b}', "basic"),
    ('${quote_ldap:#a }', "basic"),
    ('${quote_ldap:a(b)c*d\\\\e/f,g=h+i"j<k>l;m#n x}', "basic"),
    ('${quote_ldap_dn:   }', "basic"),
    ('${quote_ldap_dn: a,b+c"d\\\\e<f>g;h#i=j x }', "basic"),
    ('${quote_ldap_dn:#a }', "basic"),
    ('${quote_ldap_dn:a*(b)}', "basic"),
    ('${quote_lsearch_x:a}', "basic"),
    ('${quote_mysql_:x}', "basic"),
    ('${quote_passwd:a b}', "basic"),
    ('${hexquote:${quote_mysql:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_pgsql:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_sqlite:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_ldap:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_ldapdn:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_ldapm:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_ldap_dn:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_ldapm_dn:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_ldapdn_dn:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_dnsdb:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_lsearch:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_passwd:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_redis:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_nisplus:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_lsearch_x:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_mysql_:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_ldap_dn_x:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_ldap_x:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_spf:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${hexquote:${quote_readsock:it\'s "q" \\\\ x\\n\\t\\r\\b\\x1a\\x7f%_;é}}', "basic"),
    ('${imapfolder{/INBOX/sub}}', "basic"),
    ('${imapfolder{//INBOX//sub//}}', "basic"),
    ('${imapfolder{a//b}}', "basic"),
    ('${imapfolder{a/}}', "basic"),
    ('${imapfolder{//}}', "basic"),
    ('${imapfolder{}}', "basic"),
    ('${imapfolder{a.b}}', "basic"),
    ('${imapfolder{a/b}{.}}', "basic"),
    ('${imapfolder{a.b}{.}}', "basic"),
    ('${imapfolder{.a.}{.}}', "basic"),
    ('${imapfolder{a&b}{&}}', "basic"),
    ('${imapfolder{a&b}}', "basic"),
    ('${imapfolder{&}}', "basic"),
    ('${imapfolder{a/&}}', "basic"),
    ('${imapfolder{a b}}', "basic"),
    ('${imapfolder{Entwürfe}}', "basic"),
    ('${imapfolder{Ä}}', "basic"),
    ('${imapfolder{ÄÖ}}', "basic"),
    ('${imapfolder{ÄÖÜ}}', "basic"),
    ('${imapfolder{日本語}}', "basic"),
    ('${imapfolder{😀}}', "basic"),
    ('${imapfolder{x/ä/y}}', "basic"),
    ('${imapfolder{ä/}}', "basic"),
    ('${imapfolder{INBOX/a~b}{/}{~}}', "basic"),
    ('${imapfolder{a.b}{/}{.}}', "basic"),
    ('${imapfolder{a/b}{.}{/}}', "basic"),
    ('${imapfolder{a&b}{/}{&}}', "basic"),
    ('${imapfolder{ab}{/}{b}}', "basic"),
    ('${imapfolder{a b}{/}{ }}', "basic"),
    ('${imapfolder{name}{sep}{specials}}', "basic"),
    ('${imapfolder{INBOX/sub}}', "basic"),
    ('${imapfolder{a}{xx}}', "basic"),
    ('${imapfolder}', "basic"),
    ('${imapfolder{a\x7fb}}', "basic"),
    ('${imapfolder{ÿ}}', "basic"),
    ('${imapfolder{//}}', "basic"),
    ('${imapfolder{a}{/}{/}}', "basic"),
    # prvs, prvscheck, srs_encode, inbound_srs: the cases that do not depend on the day (those are unit tests)
    ('${prvs{user}{secret}}', "basic"),
    ('${prvs{@example.com}{secret}}', "basic"),
    ('${prvs{user@}{secret}}', "basic"),
    ('${prvs{user@x}{secret}{33}}', "basic"),
    ('${prvs{user@x}{secret}{a}}', "basic"),
    ('${prvs{user@x}{secret}{}}', "basic"),
    ('${prvs{user@x}{01234567890123456789012345678901234567890123456789012345678901234}}', "basic"),
    ('${prvs{user@x}}', "basic"),
    ('${prvs{user@x}{a}{1}{2}}', "basic"),
    ('${prvscheck{user@example.com}{secret}}|$prvscheck_result|', "basic"),
    ('${prvscheck{prvs=0786a1b2c3=@d}{s}}', "basic"),
    ('${prvscheck{prvs=0786a1b2c3=a@b@c}{s}{$prvscheck_address}}', "basic"),
    ('${prvscheck{prvs=0786a1b2c3=a@b@c}{s}{K=$prvscheck_keynum R=$prvscheck_result}}', "basic"),
    ('${prvscheck{x}}', "basic"),
    ('${prvscheck{x}{a}{b}{c}}', "basic"),
    ('${prvscheck{prvs=0786a1b2c3=a@b}{a}{b}{c}}', "basic"),
    ('${prvscheck{x}{$nosuch}}', "basic"),
    ('${srs_encode{secret}{}{mydom.example}}', "basic"),
    ('${srs_encode{secret}{<>}{mydom.example}}', "basic"),
    ('${srs_encode{secret}{joe@}{mydom.example}}', "basic"),
    ('${srs_encode{secret}{@x.example}{mydom.example}}', "basic"),
    ('${srs_encode{a}{b}}', "basic"),
    ('${srs_encode{a}{b}{c}{d}}', "basic"),
    ('${if inbound_srs{SRS0=b3d4=js=example.com=user}{}{Y:$srs_recipient}{N:$srs_recipient}}', "basic"),
    ('${if inbound_srs{srs0=b3d4=jh=Example.COM=User}{}{Y:$srs_recipient}{N:$srs_recipient}}', "basic"),
    ('${if inbound_srs{SRS0=e74c=js=example.com=a b}{}{Y:$srs_recipient}{N:$srs_recipient}}', "basic"),
    ('${if inbound_srs{SRS0=b3d4=js=exa=mple.com=user}{}{Y:$srs_recipient}{N:$srs_recipient}}', "basic"),
    ('${if inbound_srs{SRS0=b3d4=js=example.com=}{}{Y:$srs_recipient}{N:$srs_recipient}}', "basic"),
    ('${if inbound_srs{SRS0=b3d4=js==user}{}{Y:$srs_recipient}{N:$srs_recipient}}', "basic"),
    ('${if inbound_srs{SRS0=b3d4=j1=x=user}{}{Y:$srs_recipient}{N:$srs_recipient}}', "basic"),
    ('${if inbound_srs{SRS0==js=x=user}{}{Y:$srs_recipient}{N:$srs_recipient}}', "basic"),
    ('${if inbound_srs{user@example.com}{}{Y:$srs_recipient}{N:$srs_recipient}}', "basic"),
    ('${if inbound_srs{a}}', "basic"),
    ('$srs_recipient|$prvscheck_result|$prvscheck_address|$prvscheck_keynum', "basic"),
    # utf8_* (IDNA through libidn2, Punycode as libidn): the inputs Exim 4.96 does not crash on
    ('${utf8_domain_to_alabel:}', "basic"),
    ('${utf8_domain_to_alabel: a . b }', "basic"),
    ('${utf8_domain_to_alabel:..}', "basic"),
    ('${utf8_domain_to_alabel:..ü}', "basic"),
    ('${utf8_domain_to_alabel:.a}', "basic"),
    ('${utf8_domain_to_alabel:BÜCHER.com}', "basic"),
    ('${utf8_domain_to_alabel:Bücher.Example}', "basic"),
    ('${utf8_domain_to_alabel:EXAMPLE.COM}', "basic"),
    ('${utf8_domain_to_alabel:Example.COM}', "basic"),
    ('${utf8_domain_to_alabel:Jörg}', "basic"),
    ('${utf8_domain_to_alabel:XN--BCHER-KVA.Example}', "basic"),
    ('${utf8_domain_to_alabel:a..b}', "basic"),
    ('${utf8_domain_to_alabel:a.b.}', "basic"),
    ('${utf8_domain_to_alabel:a.xn--.b}', "basic"),
    ('${utf8_domain_to_alabel:bücher.de}', "basic"),
    ('${utf8_domain_to_alabel:bücher_x.com}', "basic"),
    ('${utf8_domain_to_alabel:jörg}', "basic"),
    ('${utf8_domain_to_alabel:straße.de}', "basic"),
    ('${utf8_domain_to_alabel:xn--}', "basic"),
    ('${utf8_domain_to_alabel:xn--.de}', "basic"),
    ('${utf8_domain_to_alabel:xn--Jrg-sna}', "basic"),
    ('${utf8_domain_to_alabel:xn--a}', "basic"),
    ('${utf8_domain_to_alabel:xn--a.de}', "basic"),
    ('${utf8_domain_to_alabel:xn--ab-}', "basic"),
    ('${utf8_domain_to_alabel:xn--bcher-kva.example}', "basic"),
    ('${utf8_domain_to_alabel:xn--jrg-sna}', "basic"),
    ('${utf8_domain_to_alabel:xn--strae-oqa.de}', "basic"),
    ('${utf8_domain_to_alabel:xn--zzzz}', "basic"),
    ('${utf8_domain_to_alabel:xn--zzzz.de}', "basic"),
    ('${utf8_domain_to_alabel:ü b.com}', "basic"),
    ('${utf8_domain_to_alabel:ü-.com}', "basic"),
    ('${utf8_domain_to_alabel:ü.}', "basic"),
    ('${utf8_domain_to_alabel:ü.x}', "basic"),
    ('${utf8_domain_to_alabel:⌘.com}', "basic"),
    ('${utf8_domain_to_alabel:日本}', "basic"),
    ('${utf8_domain_to_alabel:日本語.jp}', "basic"),
    ('${utf8_domain_to_alabel:ＡＢＣ.com}', "basic"),
    ('${utf8_domain_to_alabel:.}', "basic"),
    ('${utf8_domain_to_alabel:xn--bcher-kva!}', "basic"),
    ('${utf8_domain_to_alabel:XN--jrg-sna}', "basic"),
    ('${utf8_domain_to_alabel:ü}', "basic"),
    ('${utf8_domain_to_alabel:-abc}', "basic"),
    ('${utf8_domain_to_alabel:xn---abc}', "basic"),
    ('${utf8_domain_to_alabel:xn--9999999999a}', "basic"),
    ('${utf8_domain_from_alabel: a . b }', "basic"),
    ('${utf8_domain_from_alabel:..}', "basic"),
    ('${utf8_domain_from_alabel:..ü}', "basic"),
    ('${utf8_domain_from_alabel:.a}', "basic"),
    ('${utf8_domain_from_alabel:BÜCHER.com}', "basic"),
    ('${utf8_domain_from_alabel:Bücher.Example}', "basic"),
    ('${utf8_domain_from_alabel:EXAMPLE.COM}', "basic"),
    ('${utf8_domain_from_alabel:Example.COM}', "basic"),
    ('${utf8_domain_from_alabel:Jörg}', "basic"),
    ('${utf8_domain_from_alabel:XN--BCHER-KVA.Example}', "basic"),
    ('${utf8_domain_from_alabel:a..b}', "basic"),
    ('${utf8_domain_from_alabel:a.b.}', "basic"),
    ('${utf8_domain_from_alabel:a.xn--.b}', "basic"),
    ('${utf8_domain_from_alabel:bücher.de}', "basic"),
    ('${utf8_domain_from_alabel:bücher_x.com}', "basic"),
    ('${utf8_domain_from_alabel:jörg}', "basic"),
    ('${utf8_domain_from_alabel:straße.de}', "basic"),
    ('${utf8_domain_from_alabel:xn--.de}', "basic"),
    ('${utf8_domain_from_alabel:xn--Jrg-sna}', "basic"),
    ('${utf8_domain_from_alabel:xn--a}', "basic"),
    ('${utf8_domain_from_alabel:xn--a.de}', "basic"),
    ('${utf8_domain_from_alabel:xn--ab-}', "basic"),
    ('${utf8_domain_from_alabel:xn--bcher-kva.example}', "basic"),
    ('${utf8_domain_from_alabel:xn--jrg-sna}', "basic"),
    ('${utf8_domain_from_alabel:xn--strae-oqa.de}', "basic"),
    ('${utf8_domain_from_alabel:xn--zzzz}', "basic"),
    ('${utf8_domain_from_alabel:xn--zzzz.de}', "basic"),
    ('${utf8_domain_from_alabel:ü b.com}', "basic"),
    ('${utf8_domain_from_alabel:ü-.com}', "basic"),
    ('${utf8_domain_from_alabel:ü.}', "basic"),
    ('${utf8_domain_from_alabel:ü.x}', "basic"),
    ('${utf8_domain_from_alabel:⌘.com}', "basic"),
    ('${utf8_domain_from_alabel:日本}', "basic"),
    ('${utf8_domain_from_alabel:日本語.jp}', "basic"),
    ('${utf8_domain_from_alabel:ＡＢＣ.com}', "basic"),
    ('${utf8_domain_from_alabel:xn--bcher-kva!}', "basic"),
    ('${utf8_domain_from_alabel:XN--jrg-sna}', "basic"),
    ('${utf8_domain_from_alabel:ü}', "basic"),
    ('${utf8_domain_from_alabel:-abc}', "basic"),
    ('${utf8_domain_from_alabel:xn---abc}', "basic"),
    ('${utf8_domain_from_alabel:xn--9999999999a}', "basic"),
    ('${utf8_localpart_to_alabel:}', "basic"),
    ('${utf8_localpart_to_alabel: a . b }', "basic"),
    ('${utf8_localpart_to_alabel:..}', "basic"),
    ('${utf8_localpart_to_alabel:..ü}', "basic"),
    ('${utf8_localpart_to_alabel:.a}', "basic"),
    ('${utf8_localpart_to_alabel:BÜCHER.com}', "basic"),
    ('${utf8_localpart_to_alabel:Bücher.Example}', "basic"),
    ('${utf8_localpart_to_alabel:EXAMPLE.COM}', "basic"),
    ('${utf8_localpart_to_alabel:Example.COM}', "basic"),
    ('${utf8_localpart_to_alabel:Jörg}', "basic"),
    ('${utf8_localpart_to_alabel:XN--BCHER-KVA.Example}', "basic"),
    ('${utf8_localpart_to_alabel:a..b}', "basic"),
    ('${utf8_localpart_to_alabel:a.b.}', "basic"),
    ('${utf8_localpart_to_alabel:a.xn--.b}', "basic"),
    ('${utf8_localpart_to_alabel:bücher.de}', "basic"),
    ('${utf8_localpart_to_alabel:bücher_x.com}', "basic"),
    ('${utf8_localpart_to_alabel:jörg}', "basic"),
    ('${utf8_localpart_to_alabel:straße.de}', "basic"),
    ('${utf8_localpart_to_alabel:xn--}', "basic"),
    ('${utf8_localpart_to_alabel:xn--.de}', "basic"),
    ('${utf8_localpart_to_alabel:xn--Jrg-sna}', "basic"),
    ('${utf8_localpart_to_alabel:xn--a}', "basic"),
    ('${utf8_localpart_to_alabel:xn--a.de}', "basic"),
    ('${utf8_localpart_to_alabel:xn--ab-}', "basic"),
    ('${utf8_localpart_to_alabel:xn--bcher-kva.example}', "basic"),
    ('${utf8_localpart_to_alabel:xn--jrg-sna}', "basic"),
    ('${utf8_localpart_to_alabel:xn--strae-oqa.de}', "basic"),
    ('${utf8_localpart_to_alabel:xn--zzzz}', "basic"),
    ('${utf8_localpart_to_alabel:xn--zzzz.de}', "basic"),
    ('${utf8_localpart_to_alabel:ü b.com}', "basic"),
    ('${utf8_localpart_to_alabel:ü-.com}', "basic"),
    ('${utf8_localpart_to_alabel:ü.}', "basic"),
    ('${utf8_localpart_to_alabel:ü.x}', "basic"),
    ('${utf8_localpart_to_alabel:⌘.com}', "basic"),
    ('${utf8_localpart_to_alabel:日本}', "basic"),
    ('${utf8_localpart_to_alabel:日本語.jp}', "basic"),
    ('${utf8_localpart_to_alabel:ＡＢＣ.com}', "basic"),
    ('${utf8_localpart_to_alabel:.}', "basic"),
    ('${utf8_localpart_to_alabel:xn--bcher-kva!}', "basic"),
    ('${utf8_localpart_to_alabel:XN--jrg-sna}', "basic"),
    ('${utf8_localpart_to_alabel:ü}', "basic"),
    ('${utf8_localpart_to_alabel:-abc}', "basic"),
    ('${utf8_localpart_to_alabel:xn---abc}', "basic"),
    ('${utf8_localpart_to_alabel:xn--9999999999a}', "basic"),
    ('${utf8_localpart_from_alabel:}', "basic"),
    ('${utf8_localpart_from_alabel: a . b }', "basic"),
    ('${utf8_localpart_from_alabel:..}', "basic"),
    ('${utf8_localpart_from_alabel:..ü}', "basic"),
    ('${utf8_localpart_from_alabel:.a}', "basic"),
    ('${utf8_localpart_from_alabel:BÜCHER.com}', "basic"),
    ('${utf8_localpart_from_alabel:Bücher.Example}', "basic"),
    ('${utf8_localpart_from_alabel:EXAMPLE.COM}', "basic"),
    ('${utf8_localpart_from_alabel:Example.COM}', "basic"),
    ('${utf8_localpart_from_alabel:Jörg}', "basic"),
    ('${utf8_localpart_from_alabel:XN--BCHER-KVA.Example}', "basic"),
    ('${utf8_localpart_from_alabel:a..b}', "basic"),
    ('${utf8_localpart_from_alabel:a.b.}', "basic"),
    ('${utf8_localpart_from_alabel:a.xn--.b}', "basic"),
    ('${utf8_localpart_from_alabel:bücher.de}', "basic"),
    ('${utf8_localpart_from_alabel:bücher_x.com}', "basic"),
    ('${utf8_localpart_from_alabel:jörg}', "basic"),
    ('${utf8_localpart_from_alabel:straße.de}', "basic"),
    ('${utf8_localpart_from_alabel:xn--}', "basic"),
    ('${utf8_localpart_from_alabel:xn--.de}', "basic"),
    ('${utf8_localpart_from_alabel:xn--Jrg-sna}', "basic"),
    ('${utf8_localpart_from_alabel:xn--a}', "basic"),
    ('${utf8_localpart_from_alabel:xn--a.de}', "basic"),
    ('${utf8_localpart_from_alabel:xn--ab-}', "basic"),
    ('${utf8_localpart_from_alabel:xn--bcher-kva.example}', "basic"),
    ('${utf8_localpart_from_alabel:xn--jrg-sna}', "basic"),
    ('${utf8_localpart_from_alabel:xn--strae-oqa.de}', "basic"),
    ('${utf8_localpart_from_alabel:xn--zzzz}', "basic"),
    ('${utf8_localpart_from_alabel:xn--zzzz.de}', "basic"),
    ('${utf8_localpart_from_alabel:ü b.com}', "basic"),
    ('${utf8_localpart_from_alabel:ü-.com}', "basic"),
    ('${utf8_localpart_from_alabel:ü.}', "basic"),
    ('${utf8_localpart_from_alabel:ü.x}', "basic"),
    ('${utf8_localpart_from_alabel:⌘.com}', "basic"),
    ('${utf8_localpart_from_alabel:日本}', "basic"),
    ('${utf8_localpart_from_alabel:日本語.jp}', "basic"),
    ('${utf8_localpart_from_alabel:ＡＢＣ.com}', "basic"),
    ('${utf8_localpart_from_alabel:.}', "basic"),
    ('${utf8_localpart_from_alabel:xn--bcher-kva!}', "basic"),
    ('${utf8_localpart_from_alabel:XN--jrg-sna}', "basic"),
    ('${utf8_localpart_from_alabel:ü}', "basic"),
    ('${utf8_localpart_from_alabel:-abc}', "basic"),
    ('${utf8_localpart_from_alabel:xn---abc}', "basic"),
    ('${utf8_localpart_from_alabel:xn--9999999999a}', "basic"),
    # certextract (no certificate in a filter), pwcheck/radius (not compiled)
    ('${certextract{subject}{$sender_address}}', "basic"),
    ('${certextract{subject}{$tls_out_peercert}{[$value]}{none}}', "basic"),
    ('${certextract{subject}{ $tls_in_ourcert}}', "basic"),
    ('${certextract{subject}{$tls_in_peercert}fail}', "basic"),
    ('${certextract{subject}{$tls_in_peercert}{a}fail}', "basic"),
    ('${certextract{subject}}', "basic"),
    ('${certextract{$nosuch}{$tls_in_peercert}}', "basic"),
    ('${certextract{subject}{$tls_in_peercertx}}', "basic"),
    ("${if pwcheck{a:b}{y}{n}}", "basic"), ("${if radius{a}{y}{n}}", "basic"),
    # ${filter} and ${sort} read their arguments with texts of their own
    ('${filter{a:b}{eq{$item}{a}}', "basic"),
    ('${filter{a:b}{eq{$item}{a}', "basic"),
    ('${filter{a:b}', "basic"),
    ('${filter{a:b}x}', "basic"),
    ('${filter{a:b}{eq{$item}{a}}x}', "basic"),
    ('${filter{a:b}{eq{$item}{a}}{x}}', "basic"),
    ('${filter{a:b}{bogus{$item}}}', "basic"),
    ('${filter{a:b}{}}', "basic"),
    ('${filter}', "basic"),
    ('${filter x}', "basic"),
    ('${sort{a:b}{<}{$item}', "basic"),
    ('${sort{a:b}{<}', "basic"),
    ('${sort{a:b}}', "basic"),
    ('${sort{a:b}{<}{$item}x}', "basic"),
    ('${sort{a:b}{<}{$item}{x}}', "basic"),
    ('${sort{a:b}{bogus}{$item}}', "basic"),
    ('${sort{a:b}{<}{${bogus}}}', "basic"),
    ('${sort{3:1}{<}{$item}}', "basic"),
    ('${filter{a:b}{eq{$item}{a}}}', "basic"),
    ('${sort}', "basic"),
    ('${sort x}', "basic"),
    ('${sort{a:b}x}', "basic"),
    ('${sort{a:b}{<}x}', "basic"),
    ('${sort{a:b', "basic"),
    ('${sort{a:b}{<', "basic"),
    ('${sort{a:b}{<}{$item', "basic"),
    ('${filter{a:b', "basic"),
    ('${filter{a:b}{eq{$item}{a}', "basic"),
    # errors in arguments read before a syntax error come first (extract, filter, if, def:h_)
    ('${if eq{$nosuch}{x}{y}{n}', "basic"),
    ('${if eq{${lcx:a}}{x}{y}{n}', "basic"),
    ('${if eq{x}{$nosuch}{y}', "basic"),
    ('${if and{{eq{$nosuch}{a}}{eq{a}{b}}}{y}{n}', "basic"),
    ('${if or{{eq{$nosuch}{a}}}{y}{n}x', "basic"),
    ('${if match{$nosuch}{(}{y}{n}', "basic"),
    ('${if eq{a}{${eval:1/0}}}{y}{n}junk', "basic"),
    ('${extract{$nosuch}{a=1}', "basic"),
    ('${extract{a}{$nosuch}{y}', "basic"),
    ('${extract{1}{:}{$nosuch}', "basic"),
    ('${filter{$nosuch}{eq{$item}{a}}', "basic"),
    ('${filter{a}{eq{$nosuch}{a}}', "basic"),
    ('${filter{a}{eq{$item}{$nosuch}}x}', "basic"),
    ('${if forany{$nosuch}{eq{$item}{a}}{y}', "basic"),
    ('${if def:nosuch{y}{n}', "basic"),
    ('${if def:h_x{y}{n}', "basic"),
    ('${if !eq{$nosuch}{a}', "basic"),
    ('${if bool{$nosuch}', "basic"),
    ('${if crypteq{$nosuch}{x}', "basic"),
    ('${if inlist{$nosuch}{a}{y}', "basic"),
    ('${if match_ip{$nosuch}{a}{y}', "basic"),
    ('${if isip{$nosuch}', "basic"),
    ('${if exists{$nosuch}', "basic"),
    ('${if ={$nosuch}{1}', "basic"),
    ('${if ={1}{$nosuch}x', "basic"),
    ('${if eq {a}{a} {$nosuch}{n}x', "basic"),
    # list conditions as Exim reads them: match_* lists unexpanded (match_ip expanded whole), one "!", "*" in
    # local-part lists, match_address caseless with "@@", a subject without "@" never matches
    ('${if match_address{a}{a}{T}{F}}', "basic"),
    ('${if match_address{a}{*}{T}{F}}', "basic"),
    ('${if match_address{a}{^a}{T}{F}}', "basic"),
    ('${if match_address{a}{a@vm}{T}{F}}', "basic"),
    ('${if match_address{a@b}{@b}{T}{F}}', "basic"),
    ('${if match_address{a@b}{*@b}{T}{F}}', "basic"),
    ('${if match_address{a@b}{b}{T}{F}}', "basic"),
    ('${if match_address{a@b}{*b}{T}{F}}', "basic"),
    ('${if match_address{a@b}{^a@b$}{T}{F}}', "basic"),
    ('${if match_address{A@b}{a@B}{T}{F}}', "basic"),
    ('${if match_address{a@b}{A@B}{T}{F}}', "basic"),
    ('${if match_address{x@vm}{x@@}{T}{F}}', "basic"),
    ('${if match_address{x@[127.0.0.1]}{x@@[]}{T}{F}}', "basic"),
    ('${if match_address{x@vm}{*@@}{T}{F}}', "basic"),
    ('${if match_address{x@vm}{@@}{T}{F}}', "basic"),
    ('${if match_address{ab@c}{*b@c}{T}{F}}', "basic"),
    ('${if match_address{"a@b"@c}{"a@b"@c}{T}{F}}', "basic"),
    ('${if match_local_part{a}{*}{T}{F}}', "basic"),
    ('${if match_local_part{ab}{*b}{T}{F}}', "basic"),
    ('${if match_local_part{aB}{*b}{T}{F}}', "basic"),
    ('${if match_local_part{a}{!*}{T}{F}}', "basic"),
    ('${if match_domain{a}{!!b}{T}{F}}', "basic"),
    ('${if match_domain{a.b}{! !a}{T}{F}}', "basic"),
    ('${if match_domain{a}{**;x}{T}{F}}', "basic"),
    ('${if match_domain{a.b}{*.B}{T}{F}}', "basic"),
    ('${if match_domain{a.b}{*b}{T}{F}}', "basic"),
    ('${if match_domain{a.b}{^A}{T}{F}}', "basic"),
    ('${if match_domain{a.b}{$h_subject:}{T}{F}}', "basic"),
    ('${if match_domain{a.b}{\\$h_subject:}{T}{F}}', "basic"),
    ('${if match_domain{$h_subject:}{a.b}{T}{F}}', "basic"),
    ('${if match_local_part{hi}{$h_subject:}{T}{F}}', "basic"),
    ('${if match_address{hi@x}{$h_subject:@x}{T}{F}}', "basic"),
    ('${if match_domain{a.b}{${lc:A.B}}{T}{F}}', "basic"),
    ('${if match_domain{a.b}{\\${lc:A.B\\}}{T}{F}}', "basic"),
    ('${if inlist{a.b}{$h_subject:}{T}{F}}', "basic"),
    ('${if match_ip{1.2.3.4}{<; 1.2.3.4 ; \\$nosuch}{T}{F}}', "basic"),
    ("${if match_ip{1.2.3.4}{!!1.2.3.4}{T}{F}}", "basic"), ("${if match_ip{fe80::1}{<; fe80::1%eth0}{T}{F}}", "basic"),
    ("${if match_ip{1.2.3.4}{!+ignore_unknown : 1.2.3.0/x}{T}{F}}", "basic"), ("${if match_domain{a}{**;x}{T}{F}}", "basic"),
]


def esc(s: str) -> str:
    out = []
    for b in s.encode("utf-8", "surrogateescape"):
        c = chr(b)
        if c == "\\": out.append("\\\\")
        elif c == "\t": out.append("\\t")
        elif c == "\n": out.append("\\n")
        elif c == "\r": out.append("\\r")
        elif b < 32 or b >= 127: out.append("\\x%02x" % b)
        else: out.append(c)
    return "".join(out)


def filter_quote(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def run_case(oracle, expansion, msg, opts, charset=""):
    sender, lp, dom, home = opts
    with tempfile.TemporaryDirectory() as d:
        fpath = os.path.join(d, "filter")
        with open(fpath, "w", encoding="utf-8") as f:
            f.write("# Exim filter\n")
            if charset:
                f.write("headers charset \"" + filter_quote(charset) + "\"\n")
            f.write("testprint \"" + filter_quote(expansion) + "\"\n")
        p = subprocess.run([oracle, fpath, "--sender", sender, "--local-part", lp, "--domain", dom, "--home", home],
                           input=MESSAGES[msg].encode(), capture_output=True)
    out = p.stdout.decode("utf-8", "surrogateescape")
    body = out.split("\n\n", 1)[1] if "\n\n" in out else out
    if body.startswith("Headers charset "):
        body = body.split("\n", 1)[1]
    if body.startswith("Testprint: "):
        line = body[len("Testprint: "):].split("\n", 1)[0]
        return "OK:" + line
    marker = " in testprint command: "
    if body.startswith("Filter error: ") and marker in body:
        return "ERR:" + body.split(marker, 1)[1].rstrip("\n")
    raise RuntimeError("unexpected oracle output for %r: %r / %r" % (expansion, out, p.stderr))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--oracle", default="/work/shared/tools/exim-oracle")
    ap.add_argument("--out", default=os.path.join(HERE, "expand_cases.tsv"))
    args = ap.parse_args()
    rows = ["# generated by gen_expand_cases.py from exim -bf (Exim 4.96); do not edit"]
    for name, text in MESSAGES.items():
        rows.append("\t".join(["#MESSAGE", name, esc(text)]))
    for case in CASES:
        expansion, msg = case[0], case[1]
        opts = case[2] if len(case) > 2 and case[2] else DEFAULT_OPTS
        charset = case[3] if len(case) > 3 else ""
        expected = run_case(args.oracle, expansion, msg, opts, charset)
        rows.append("\t".join([esc(expansion), msg, *map(esc, opts), esc(expected), esc(charset)]))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    print("%d cases written to %s" % (len(CASES), args.out))


if __name__ == "__main__":
    sys.exit(main())
