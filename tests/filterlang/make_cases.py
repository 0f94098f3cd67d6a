#!/usr/bin/env python3
"""Writes the differential cases (filter, message, args) into cases/; run
regen.sh afterwards to get each case's expected output from real Exim."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
STD = "--sender s@x.example --local-part me --domain here.example --home /home/me"
M1 = ("From: Alice Example <alice@x.example>\nTo: me@here.example\nCc: other@y.example\n"
      "Subject: Hello there\nMessage-Id: <1@x.example>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
      "X-Spam-Score: 12\nX-Num: 0x10\n\nHi,\nthis is the body.\n")
H = "# Exim filter\n"
cases = []


def add(name, flt, msg=M1, args=STD, header=True):
    cases.append((name, (H if header else "") + flt, msg, args))


# --- commands
add("deliver_basic", "deliver bob@elsewhere.example\n")
add("deliver_named", 'deliver "Dr L <D@x.example>"\n')
add("deliver_unseen", "unseen deliver bob@elsewhere.example\n")
add("deliver_noerror", "noerror deliver bob@elsewhere.example\n")
add("deliver_errors_to_ok", "deliver bob@e.example errors_to me@here.example\n")
add("deliver_errors_to_bad", "deliver bob@e.example errors_to other@here.example\n")
add("deliver_twice", "deliver a@b.example\ndeliver a@b.example\n")
add("deliver_expanded", 'deliver "${local_part}-copy@$domain"\n')
add("deliver_malformed", 'deliver "a@b@c"\n')
add("deliver_empty_expanded", 'deliver "$h_x-none:"\n')
add("save_basic", "save /var/mail/me\n")
add("save_mode", "save /var/mail/me 640\n")
add("save_relative", "save mail/inbox\n")
add("save_maildir", "save Maildir/.Junk/\n")
add("save_unseen_noerror", "unseen noerror save /tmp/x 0600\n")
add("save_expanded", 'save "$home/mail/${lc:$h_subject:}"\n')
add("pipe_basic", 'pipe "/usr/bin/procmail -d $local_part"\n')
add("pipe_unseen", "unseen pipe /bin/cat\n")
add("logfile_logwrite", 'logfile $home/filter.log\nlogwrite "got $h_subject:"\n')
add("logfile_mode", "logfile /tmp/log 0644\n")
add("seen_logwrite", 'seen logwrite "x"\n')
add("logwrite_newline", 'logwrite "line\\n"\n')
add("testprint_basic", 'testprint "hello $local_part"\n')
add("testprint_escapes", 'testprint "tab\\there nl\\nx bs\\\\ oct\\101 hex\\x41 \\$"\n')
add("testprint_highbit", 'testprint "caf\\303\\251"\n')
add("testprint_unquoted", "testprint hello#notcomment\n")
add("testprint_comment", "testprint hello # a comment\n")
add("finish_basic", "deliver a@b.example\nfinish\ndeliver c@d.example\n")
add("finish_seen", "seen finish\n")
add("finish_unseen_after_save", "save /tmp/x\nunseen finish\n")
add("finish_in_if", 'if $h_subject: contains "hello" then finish endif\ndeliver x@y.example\n')
add("add_basic", "add 3 to n1\nadd $n1 to n2\ntestprint \"$n1 $n2\"\n")
add("add_hex", "add 0x10 to n0\nadd 010 to n0\ntestprint $n0\n")
add("add_negative", "add -5 to n3\nadd -$n3 to n4\ntestprint \"$n3 $n4\"\n")
add("add_bad_var", "add 1 to n10\n")
add("add_bad_var2", "add 1 to x1\n")
add("add_bad_number", "add 1x to n1\n")
add("add_no_to", "add 1 n1\n")
add("add_no_value", "add 1 to\n")
add("add_seen", "seen add 1 to n1\n")
add("headers_charset", 'headers charset "ISO-8859-1"\ntestprint "$h_subject:"\n')
add("headers_add_user", 'headers add "X-Foo: bar"\n')
add("headers_remove_user", 'headers remove "X-Foo"\n')
add("headers_bad", 'headers frob "x"\n')
add("headers_no_value", "headers charset\n")
add("fail_user", 'fail text "no"\n')
add("freeze_user", "freeze\n")
add("defer_user", 'defer "later"\n')
add("fail_system", 'fail text "go away"\n', args=STD + " --system")
add("freeze_system", 'freeze "hold"\n', args=STD + " --system")
add("defer_system", 'if $h_subject: contains "hello" then defer endif\n', args=STD + " --system")
add("fail_system_plain", "fail\n", args=STD + " --system")
add("headers_add_system", 'headers add "X-Foo: bar"\nheaders remove "X-Spam-Score:X-Num"\n', args=STD + " --system")
add("personal_system", 'if personal then deliver a@b.example endif\n', args=STD + " --system")
add("errors_to_system", "deliver bob@e.example errors_to any@where.example\n", args=STD + " --system")

# --- mail / vacation
add("mail_basic", 'mail to "$reply_address" subject "Re: $h_subject:" text "Got it"\n')
add("mail_all_options", 'mail to a@b.example cc c@d.example bcc e@f.example from me@here.example '
    'reply_to r@here.example subject "S" extra_headers "X-A: 1" text "T\\nline2" file /tmp/f '
    'log /tmp/log once /tmp/once once_repeat 2d return message\n')
add("mail_expand_file", "mail expand file $home/reply.txt\n")
add("mail_seen_noerror", 'seen noerror mail to x@y.example text "hi"\n')
add("mail_default_to", 'mail subject "hi"\n')
add("vacation_basic", "vacation\n")
add("vacation_options", 'vacation to "$sender_address" subject "Away" file /tmp/away once_repeat 3x\n')
add("vacation_empty_sender", "vacation\n", args="--sender '' --local-part me --domain here.example --home /h")
add("mail_empty_sender_seen", 'seen mail text "x"\n', args="--sender '' --local-part me --domain here.example --home /h")
add("mail_bad_subject_nl", 'mail subject "a\\nb"\n')
add("mail_subject_nl_space", 'mail subject "a\\n b"\n')
add("mail_extra_headers_ok", 'mail extra_headers "X-A: 1\\nX-B: 2"\n')
add("mail_extra_headers_bad", 'mail extra_headers "X-A: 1\\nnot a header"\n')
add("mail_file_nonprint", 'mail file "/tmp/a\\tb"\n')
add("mail_return_bad", "mail return foo\n")
add("mail_expand_bad", "mail expand text x\n")
add("mail_text_escapes", 'mail text "caf\\303\\251\\ttab"\n')
add("mail_then_deliver", 'mail text "x" deliver a@b.example\n')

# --- conditions
for i, (cond, res) in enumerate([
    ('$h_subject: is "hello there"', 1), ('$h_subject: IS "hello there"', 0),
    ('$h_subject: contains "THERE"', 1), ('$h_subject: CONTAINS "THERE"', 0),
    ('$h_subject: begins "hel"', 1), ('$h_subject: BEGINS "Hel"', 1), ('$h_subject: begin "x"', 0),
    ('$h_subject: ends "THERE"', 1), ('$h_subject: ENDS "here"', 1), ('$h_subject: end "hello there and more"', 0),
    ('$h_subject: matches "^h(e)(l+)o"', 1), ('$h_subject: MATCHES "^h"', 0), ('$h_subject: match "t(h)?ere$"', 1),
    ('$h_subject: does not contain "xyz"', 1), ('$h_subject: DOES NOT contain "hello"', 0),
    ('$h_subject: is not "x"', 1), ('$h_subject: is NOT "hello there"', 0),
    ('$h_subject: does not begin "x"', 1), ('$h_subject: does not end "there"', 0),
    ('$h_subject: does not match "^x"', 1), ('$h_subject: does not MATCH "^H"', 0),
    ('$h_subject: does contain "lo"', 1), ('$h_subject: Is "Hello there"', 1), ('$h_subject: iS "HELLO THERE"', 1),
    ('$h_subject: is contains "ell"', 1), ('$h_subject: contains ""', 0), ('$h_subject: CONTAINS ""', 1),
    ('$h_subject: begins ""', 1), ('$h_subject: ends ""', 1),
    ('$h_x-spam-score: is above 10', 1), ('$h_x-spam-score: is below 10', 0), ('$h_x-spam-score: is not above 12', 1),
    ('$h_x-spam-score: is not below 12', 1), ('$message_size is above 1k', 0), ('2k is above 2047', 1),
    ('1M is above 1048575', 1), ('$h_x-num: is above 15', 1), ('" 12 " is above 11', 1),
    ('12.4 is above 1', 0), ('"" is above 1', 0), ('1K is below 1m', 1),
    ('not $h_subject: contains "x"', 1), ('not not $h_subject: contains "x"', 0),
    ('$h_subject: contains "x" or $h_subject: contains "hello"', 1),
    ('$h_subject: contains "hello" and $h_subject: contains "x"', 0),
    ('$h_subject: contains "x" and $h_subject: contains "y" or $h_subject: contains "hello"', 1),
    ('$h_subject: contains "hello" or $h_subject: contains "x" and $h_subject: contains "y"', 1),
    ('not ($h_subject: contains "x" or $h_subject: contains "hello")', 0),
    ('($h_subject: contains "x" or $h_subject: contains "hello") and $h_to: contains "me"', 1),
    ('(($h_subject: contains "hello"))', 1),
    ('delivered', 0), ('error_message', 0), ('not error_message', 1), ('first_delivery', 1),
    ('manually_thawed', 0), ('not manually_thawed', 1), ('personal', 1), ('not personal', 0),
    ('personal alias other@y.example', 1),
    ('foranyaddress $h_to:,$h_cc: ($thisaddress ends "y.example")', 1),
    ('foranyaddress "a@b.example, Group: c@d.example, e@f.example;" ($thisaddress is "e@f.example")', 1),
    ('foranyaddress $h_cc: ($thisaddress contains "zzz")', 0),
    ('$local_part is me and $domain is here.example', 1),
    ('"$sender_address" is "s@x.example"', 1),
    ('$h_subject: is "hello there" and', None),
]):
    add(f"cond_{i:02d}", f"if {cond} then testprint \"yes\" else testprint \"no\" endif\n"
        if res is not None else f"if {cond} then testprint yes endif\n")

add("cond_matches_captures", 'if $h_subject: matches "^(\\\\w+) (\\\\w+)" then testprint "$1|$2|$0" endif\n')
add("cond_matches_unquoted", "if $h_from: matches \\\\.example\\$ then testprint yes endif\n")
add("cond_matches_keep", 'if $h_subject: matches "(Hel)" then endif\nif $h_subject: matches "nomatch(x)" then endif\ntestprint "$1"\n')
add("cond_bad_regex", 'if $h_subject: matches "(abc" then testprint yes endif\n')
add("cond_bad_regex2", 'testprint before\nif $h_subject: matches "[z-a]" then testprint yes endif\n')
add("cond_numeric_bad", 'if $h_subject: is above 3 then testprint yes endif\n')
add("cond_delivered_after", 'deliver a@b.example\nif delivered then testprint "was delivered" endif\n')
add("cond_error_message_bounce", 'if error_message then testprint bounce endif\n',
    args="--sender '' --local-part me --domain here.example --home /h")
add("cond_personal_list", 'if personal then testprint yes else testprint no endif\n',
    msg=M1.replace("X-Num", "List-Id: <l.x.example>\nX-Num"))
add("cond_personal_precedence", 'if personal then testprint yes else testprint no endif\n',
    msg=M1.replace("X-Num", "Precedence: bulk\nX-Num"))
add("cond_personal_autosub", 'if personal then testprint yes else testprint no endif\n',
    msg=M1.replace("X-Num", "Auto-Submitted: auto-replied\nX-Num"))
add("cond_personal_autosub_no", 'if personal then testprint yes else testprint no endif\n',
    msg=M1.replace("X-Num", "Auto-Submitted: no\nX-Num"))
add("cond_personal_from_root", 'if personal then testprint yes else testprint no endif\n',
    msg=M1.replace("alice@x.example", "root@x.example"))
add("cond_personal_request", 'if personal then testprint yes else testprint no endif\n',
    msg=M1.replace("alice@x.example", "list-request@x.example"))
add("cond_personal_notto", 'if personal then testprint yes else testprint no endif\n',
    msg=M1.replace("To: me@here.example", "To: you@here.example"))
add("cond_personal_prefix", 'if personal then testprint yes else testprint no endif\n',
    msg=M1.replace("To: me@here.example", "To: pre-me@here.example"), args=STD + " --local-part-prefix pre-")
add("cond_personal_alias_regex", 'if personal alias ^you@ then testprint yes else testprint no endif\n',
    msg=M1.replace("To: me@here.example", "To: you@here.example"))
add("cond_thisaddress_restore", 'if foranyaddress $h_to: ($thisaddress contains me) then testprint "in:$thisaddress" endif\ntestprint "out:$thisaddress"\n')

# --- if structure
add("if_elif_else", 'if $h_subject: contains x then testprint 1\nelif $h_subject: contains hello then testprint 2\nelse testprint 3\nendif\n')
add("if_elif_chain", 'if 1 is 2 then testprint a elif 1 is 3 then testprint b elif 1 is 1 then testprint c endif\n')
add("if_else_only", "if 1 is 2 then else testprint no endif\n")
add("if_empty", "if 1 is 1 then endif\n")
add("if_nested", "if 1 is 1 then\n  if 2 is 2 then\n    if 3 is 3 then testprint deep endif\n  endif\nendif\n")
add("if_paren_no_space", 'if($h_subject: contains hello)then testprint yes endif\n')
add("elif_paren", 'if 1 is 2 then testprint a elif(1 is 1) then testprint b endif\n')
# Exim's had_else_endif is a global: an if directly in an elif arm that fails
# in its own elif condition leaves it at "elif", and the outer elif loop reads
# on; at the end of the file that turns the error into '"then" missing'.
add("elif_in_elif_cut", 'if 1 is 2 then testprint y\nelif 1 is 1 then\n if 2 is 2 then testprint x\n elif 3 is 3 foo  # c\n')
add("elif_in_elif_cut2", 'if 1 is 2 then testprint y\nelif 1 is 1 then\n if 2 is 2 then testprint x\n elif 3 is')
add("elif_in_elif_not_eof", 'if 1 is 2 then testprint y\nelif 1 is 1 then\n if 2 is 2 then testprint x\n elif 3 is 3 foo\n testprint z\n')
add("elif_in_then_in_elif", 'if 1 is 2 then\nelif 1 is 1 then\n if 2 is 2 then\n if 3 is 3 then\n elif 4 is')
add("elif_in_else_in_elif", 'if 1 is 2 then\nelif 1 is 1 then\n if 2 is 2 then\n else\n if 3 is 3 then\n elif 4 is')
# Binary zeros: a header's are stored as '?', the body keeps its own (and counts them).
NULV = 'testprint "x=$h_x: size=$message_size lines=$message_linecount zero=$body_zerocount body=$message_body"\n'
add("nul_in_header", NULV, msg="From: a@x.example\nX: a\0b\n\nbo\0dy\n")
add("nul_in_continuation", NULV, msg="From: a@x.example\nX: a\n \0b\n\nbody\n")
add("nul_ends_header", NULV, msg="From: a@x.example\n\0X: a\n\nbody\n")
# A charset named by the message taints what names it; Exim has no $headers_charset.
TQ = "From: a@x.example\nX-Q: ${length_1:abc}\n\nbody\n"
add("charset_from_header", 'headers charset "$h_x-q:"\ntestprint "${expand:$headers_charset}"\n', msg=TQ)
add("charset_tainted_rfc2047", 'headers charset "${if eq{a}{a}{$h_x-q:}}"\ntestprint "${expand:${rfc2047:caf\xc3\xa9}}"\n', msg=TQ)
add("expand_header_refused", 'testprint "${expand:$h_x-q:}"\ntestprint "${sg{x}{x}{$h_x-q:}}"\n', msg=TQ)
# ".\n" in the header after a CRLF first line: data, its LF taken by Exim's dot test
DOTV = 'testprint "size=$message_size lines=$message_linecount bl=$body_linecount body=${escape:$message_body}"\n'
add("dot_lf_in_crlf_header", DOTV, msg="From: a@x.example\r\n.\nSubject: x\r\n\r\nbody\r\n")
add("dot_lf_in_crlf_header_end", DOTV, msg="From: a@x.example\r\nX: 1\r\n.\nY: 2\r\n")
add("if_multiline_cmd", 'if $h_subject:\n  contains\n  "hello"\nthen\n  deliver\n    a@b.example\nendif\n')

# --- syntax errors
add("err_missing_endif", "if 1 is 1 then testprint x\n")
add("err_missing_endif2", "if 1 is 1 then testprint x else testprint y\n\n\n")
add("err_else_else", "if 1 is 1 then testprint x else testprint y else testprint z endif\n")
add("err_unknown_command", "testprint a\nfrobnicate now\n")
add("err_unknown_command_case", "Deliver a@b.example\n")
add("err_unterminated_string", 'testprint "abc\ndeliver a@b.example\n')
add("err_unterminated_eof", 'testprint "abc')
add("err_requires_arg", "deliver\n")
add("err_requires_arg_empty", 'testprint ""\n')
add("err_unexpected_endif", "endif\n")
add("err_unexpected_else", "testprint a\nelse\n")
add("err_then_missing", "if 1 is 1\n")
add("err_unexpected_then", "if then testprint x endif\n")
add("err_unexpected_close", "if ) then endif\n")
add("err_unexpected_close_top", "if 1 is 1) then endif\n")
add("err_unexpected_open", "if 1 is 1 ( then endif\n")
add("err_missing_close", "if (1 is 1 then testprint a endif\n")
add("err_unrecognized_word", "if 1 frob 1 then endif\n")
add("err_unrecognized_Contains", "if 1 Contains 1 then endif\n")
add("err_NOT_personal", "if NOT personal then endif\n")
add("err_and_or_expected", "if 1 is 1 foo then endif\n")
add("err_paren_then", "if (1 is 1 then) then endif\n")
add("err_foranyaddress_paren", "if foranyaddress $h_to: then endif\n")
add("err_seen_before_if", "seen if 1 is 1 then endif\n")
add("err_seen_before_add", "seen add 1 to n1\n")
add("err_seen_before_headers", "noerror headers charset x\n")
add("err_seen_repeated", "seen unseen deliver a@b.example\n")
add("err_seen_at_end", "deliver a@b.example\nseen\n")
add("err_noerror_at_end", "noerror\n")
add("err_seen_before_endif", "if 1 is 1 then seen endif\n")
add("err_word_too_long", "testprint " + "x" * 1100 + "\n")
add("err_string_too_long", 'testprint "' + "y" * 1100 + '"\n')
add("err_line_numbers", "\n\ntestprint a\n\n# comment\nif 1 is 1 then\n\n  bogus\nendif\n")
add("err_line_deliver_lookahead", "deliver a@b.example\n\n\nbogus\n")
add("err_line_personal_lookahead", "if personal\n\n then bogus endif\n")
add("noerror_noerror", "noerror noerror deliver a@b.example\n")
add("err_expand_unknown_var", 'testprint a\ntestprint "$nosuchvar"\ntestprint b\n')
add("err_expand_in_condition", 'if "$nosuchvar" is x then endif\n')
add("err_expand_in_foranyaddress", 'if foranyaddress "${bogus" (1 is 1) then endif\n')
add("err_expand_deliver", 'deliver "${lc:abc"\n')

# --- lexical
add("lex_header_variants", "testprint x\n", header=False)
for i, head in enumerate(["#Exim filter\n", "#   EXIM   FILTER<<== x\n", "# Eximfilter\n", "\n\n  # Exim filter\n"]):
    cases.append((f"lex_filter_tag_{i}", head + "testprint tagged\n", M1, STD))
add("lex_continuation", 'testprint "abc\\\n     def"\n')
add("lex_hash_in_word", "testprint b#c\n")
add("lex_quoted_hash", 'testprint "a # b"\n')
add("lex_nul_escape", 'testprint "ab\\0cd"\n')
add("lex_quoted_keyword", '"deliver" a@b.example\n')
add("lex_if_quoted_not", 'if "not" 1 is 2 then testprint negated endif\n')
add("lex_many_per_line", "testprint a testprint b deliver c@d.example testprint e\n")
add("lex_tabs", "testprint\ta\t\tdeliver\tx@y.example\n")

# --- variables
add("var_envelope", 'testprint "$local_part|$domain|$home|$sender_address|$return_path|$local_part_prefix|$local_part_suffix"\n')
add("var_prefix_suffix", 'testprint "$local_part_prefix|$local_part|$local_part_suffix"\n',
    args=STD + " --local-part-prefix pre- --local-part-suffix -suf")
add("var_body", 'testprint "$message_body|$message_body_size|$body_linecount|$body_zerocount"\n')
add("var_size", 'testprint "$message_size"\n')
add("var_reply_address", 'testprint "$reply_address"\n')
add("var_reply_to", 'testprint "$reply_address"\n', msg=M1.replace("X-Num", "Reply-To: r@x.example\nX-Num"))
add("var_headers", 'testprint "$h_to: / $header_cc: / $h_X-SPAM-SCORE: / [$h_missing:]"\n')
add("var_n_vars", 'add 7 to n9\ntestprint "$n0 $n9 $sn0 $sn9"\n')
add("var_return_path_header", 'testprint "$return_path"\n',
    msg="Return-path: <rp@y.example>\n" + M1)
add("var_from_line", 'testprint "$sender_address"\n',
    msg="From bob@x.example Mon Jan  1 00:00:00 2024\n" + M1, args="--local-part me --domain here.example --home /h")
add("var_no_headers", 'testprint "[$h_subject:]"\n', msg="\nbody only\n")
add("var_empty_message", 'testprint "[$message_body]"\n', msg="")
add("var_dot_ends", 'testprint "$message_body"\n', msg=M1 + ".\nafter dot\n")
add("var_rfc2047", 'testprint "$h_subject:"\n',
    msg=M1.replace("Subject: Hello there", "Subject: =?ISO-8859-1?Q?caf=E9?= ok"))
add("var_folded", 'testprint "$h_subject:"\n', msg=M1.replace("Subject: Hello there", "Subject: Hello\n  there"))
add("var_prefix_header", 'testprint "$h_subject"\n')

# --- plain .forward files
add("fwd_basic", "bob@elsewhere.example\nalice@x.example\n", header=False)
add("fwd_commas", "a@b.example, c@d.example,e@f.example\n", header=False)
add("fwd_backslash", "\\me, copy@b.example\n", header=False)
add("fwd_blackhole", ":blackhole:\n", header=False)
add("fwd_fail", ":fail: go away\n", header=False)
add("fwd_empty", "\n", header=False)
add("fwd_comment", "# a comment\nbob@b.example\n", header=False)
add("fwd_named", '"Bob B" <bob@b.example>\n', header=False)

# --- stop 13: settled by a differential review
NOSENDER = "--local-part me --domain here.example --home /home/me"
add("from_null_line", 'testprint "[$sender_address][$return_path]"\nif error_message then testprint EM endif\nmail text hi\n',
    msg="From <> Mon Jan  1 00:00:00 2024\n" + M1, args=NOSENDER)
add("var_message_headers_decoded", 'testprint "$message_headers"\n',
    msg=M1.replace("Subject: Hello there", "Subject: =?utf-8?q?caf=C3=A9?=\nX-Pad:   padded   "))
add("var_reply_address_folded", 'testprint "[$reply_address]"\n',
    msg=M1.replace("Subject: Hello there", "Subject: Hello there\nReply-To: x@y.example,\n  me@here.example"))
add("system_headers_visible", 'headers remove "x-spam-score"\ntestprint "[$h_x-spam-score:]"\n'
    'headers add "X-New: 1"\ntestprint "[$h_x-new:]"\n', args=STD + " --system")
add("system_recipients", 'testprint "[$recipients]"\n', args=STD + " --system")
add("headers_charset_ascii", 'headers charset "us-ascii"\ntestprint "$h_subject:"\n',
    msg=M1.replace("Subject: Hello there", "Subject: =?koi8-r?b?8NLJ18XU?="))
add("deliver_two_addresses", 'deliver "a@b.example, <c@d.example>"\n')
add("deliver_unmatched_quote", 'deliver "\\"abc@x.example"\n')
add("expand_exim_quirks", r'testprint "${hash_5_62:abcdefg} ${rfc2047:a b} ${base64d:YW Jj} ${listcount:<\n a\n b}"' + "\n")
add("expand_quote_multiline", 'testprint "${listcount:<\n a\n b}"\n')
add("expand_integer_text", 'testprint "${if >= { a:b:c}{0} {y}{n}}"\n')
add("expand_header_hint", 'testprint "${lc:$h_subject}"\n')
add("from_line_captures", 'testprint "[$0][$1][$2]"\nif $h_subject: matches "nomatch(x)" then testprint y endif\ntestprint "[$1]"\n',
    msg="From carol@z.example Wed Feb  7 09:08:33 2024\n" + M1, args=NOSENDER)
add("resent_adds_resent_from", 'testprint "[$h_from:][$h_resent-from:]"\ntestprint "$message_headers"\n',
    msg="Resent-To: r@x.example\nResent-Date: Mon, 1 Jan 2024 00:00:00 +0000\nResent-Message-Id: <2@x.example>\n"
        "Subject: hi\nMessage-Id: <1@x.example>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nb\n")
add("fwd_unmatched_quote", 'a b"\nc@x.example\n', header=False)
add("header_space_before_colon", 'testprint "[$h_x-a:][$h_subject:][$return_path]"\ntestprint "$message_headers"\n',
    msg=":empty name\nX-A : v\nReturn-Path : <rp@x.example>\nSubject\t: s\nFrom: a@x.example\n"
        "Message-Id: <1@x.example>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nbody\n")
add("deliver_dots_and_domains", 'deliver "a..b@c.example"\ndeliver ".x@c.example"\ndeliver "<a@b_c.example>"\n')
add("foranyaddress_groups", 'if foranyaddress "g: a@b.example, h: c@d.example, x" ($thisaddress is q) then else testprint "[$thisaddress]" endif\n'
    'if foranyaddress "${addresses:$h_to:}" ($thisaddress is "b@x.example") then testprint yes endif\n',
    msg="To: a@x.example, b@x.example\nSubject: s\nMessage-Id: <1@x.example>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nb\n")
add("personal_group_rest", 'if personal then testprint personal endif\n',
    msg="To: x: a@b.example; me@here.example\nFrom: f@y.example\nSubject: s\nMessage-Id: <1@x.example>\n"
        "Date: Mon, 1 Jan 2024 00:00:00 +0000\n\nb\n")
add("fwd_colon_quote", 'b:c"\n', header=False)
LINES = 'testprint "[$message_size][$message_linecount][$body_linecount][$message_body_size][$max_received_linelength]"\n' \
    'testprint "[$h_subject:][$message_body]"\ntestprint "$message_headers"\n'
add("crlf_message", LINES, msg=M1.replace("\n", "\r\n"))
add("crlf_mixed_line_ends", LINES.split("testprint \"$message_headers")[0], msg="X-A: a\r\nSubject: s\nTo: t\nMessage-Id: <1@x.example>\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\n\nbody\n")
add("crlf_bare_cr_in_header", LINES, msg="Subject: a\rb\nX: b\n  \n\t\nMessage-Id: <1@x.example>\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\n\nbody\r\nx\r\n")
add("crlf_no_header", LINES.split("testprint \"$message_headers")[0], msg="hello\r\nworld\r\n")
LINES2 = LINES.split("testprint \"$message_headers")[0]
add("header_ends_in_a_continued_line", LINES2, msg="Subject: x\nHello there\n continued\nsecond line\n")
add("dot_lines", LINES2, msg="Subject: a\r\nX: b\n.\nY: c\r\n\r\nl1\r\n.\r\nl2\n.\nl3\n")
add("dot_line_in_header", LINES2, msg="Subject: a\r\n.\r\nY: c\r\n\r\nbody\n")
add("received_with_blank", 'testprint "[$received_count]"\n', msg="Received : a\nReceived: b\n\nb\n")
add("from_lines", LINES2, msg="From a@b.example Mon Jan  1 00:00:00 2000\n cont: x\nFrom c@d.example Mon Jan  1 00:00:00 2000\n"
    "Subject: a\nMessage-Id: <1@x.example>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\n.\n", args=NOSENDER)
add("from_line_only", 'testprint "[$message_size]"\n', msg="From a@b.example Mon Jan  1 00:00:00 2000", args=NOSENDER)

# --- combined realistic filters
add("real_spam", 'if $h_x-spam-score: is above 10 then save $home/Maildir/.Junk/ finish endif\ndeliver me@here.example\n')
add("real_list", 'if $h_list-id: contains "lists" or $h_subject: begins "[list]" then save Maildir/.lists/ \nelse\n  if personal then vacation endif\nendif\n')
add("real_forward_copy", 'unseen deliver archive@here.example\nif $h_from: contains alice then pipe "/usr/bin/notify $local_part" endif\n')

os.makedirs(os.path.join(HERE, "cases"), exist_ok=True)
for name, flt, msg, args in cases:
    d = os.path.join(HERE, "cases", name)
    os.makedirs(d, exist_ok=True)
    for fn, content in (("filter", flt), ("message", msg), ("args", args + "\n")):
        with open(os.path.join(d, fn), "w", encoding="utf-8", newline="") as f:
            f.write(content)
print(len(cases), "cases")
