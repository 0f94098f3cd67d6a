"""SMTP delivery end to end over port `smtp`, with real clients (smtplib and a
raw socket): plain delivery and the trace headers, several recipients,
PIPELINING, 8BITMIME/SMTPUTF8, dot-stuffing, BDAT, recipient and relay
refusals, and the small commands (RSET, NOOP, VRFY, HELP, bad sequences).

One server is shared by the whole file; every test uses its own recipient
(or counts before/after), so the tests do not see each other's mail.
"""
import re
import smtplib
import socket
import threading
import time
import unittest

from harness import Nougat, body_of, RawSmtp

USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "ken", "lena", "mike", "nina", "olga", "pete", "quinn", "rita", "sam", "tina", "uma",
         "vic", "walt", "xena", "yann", "zoe", "abel", "bea", "lara", "ozzy", "pia"]


Raw = RawSmtp


def lf(b):
    return b.replace(b"\r\n", b"\n")


class DeliveryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.n = Nougat().start()
        for u in USERS:
            cls.n.add_user(f"{u}@localhost", "pw")

    @classmethod
    def tearDownClass(cls):
        cls.n.__exit__(None, None, None)

    def smtp(self):
        s = smtplib.SMTP("127.0.0.1", self.n.port("smtp"), timeout=10)
        self.addCleanup(s.close)
        return s

    def raw(self):
        r = Raw(self.n.port("smtp"))
        self.addCleanup(r.close)
        return r

    def count(self, u):
        return len(self.n.messages(f"{u}@localhost"))

    def wait(self, addr, count):
        msgs = self.n.wait_for_mail(addr, count)
        self.assertEqual(len(msgs), count, f"{addr}: {msgs!r}")
        return msgs

    # ---- 1. plain delivery ----
    def test_plain_delivery_headers_in_order(self):
        s = self.smtp()
        msg = (b"From: Sender <sender@remote.test>\r\nTo: alice@localhost\r\n"
               b"Subject: plain delivery\r\nMessage-ID: <plain-1@remote.test>\r\n\r\n"
               b"Hello Alice.\r\nSecond line.\r\n")
        refused = s.sendmail("sender@remote.test", ["alice@localhost"], msg)
        self.assertEqual(refused, {})
        m = self.wait("alice@localhost", 1)[0]
        lines = m.split(b"\n")
        self.assertEqual(lines[0], b"Return-Path: <sender@remote.test>")
        self.assertEqual(lines[1], b"Delivered-To: alice@localhost")
        self.assertTrue(lines[2].startswith(b"Received: from "), lines[2])
        self.assertIn(b"by ", m.split(b"\nSubject")[0])
        self.assertIn(b"with ESMTP id ", m)
        self.assertIn(b"for <alice@localhost>;", m)
        self.assertNotIn(b"\r", m, "delivered file must use LF line endings")
        self.assertEqual(body_of(m), lf(msg))
        # the log has the Exim-style arrival, delivery and completion lines
        log = self.n.log()
        qid = re.search(rb"with ESMTP id (\S+)", m).group(1).decode()
        self.assertRegex(log, re.escape(qid) + r" <= sender@remote\.test .*for alice@localhost")
        self.assertIn(f"{qid} => alice@localhost", log)
        self.assertIn(f"{qid} Completed", log)

    def test_data_reply_carries_queue_id(self):
        r = self.raw()
        r.greet()
        self.assertEqual(r.cmd("MAIL FROM:<q@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<rita@localhost>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        code, text = r.cmd("Subject: qid\r\n\r\nx\r\n.")
        self.assertEqual(code, 250)
        m = re.fullmatch(r"2\.0\.0 OK id=(\S+)", text)
        self.assertTrue(m, text)
        msg = self.wait("rita@localhost", 1)[0]
        self.assertIn(f"id {m.group(1)}".encode(), msg)
        self.assertEqual(r.cmd("QUIT")[0], 221)

    def test_queue_id_in_reply_on_spool_path(self):
        """A message that takes the spool path (too big for the direct Maildir
        path) is acknowledged with its queue id, the one the log and the
        Received header show (regression: the id was empty)."""
        r = self.raw()
        r.greet()
        self.assertEqual(r.cmd("MAIL FROM:<big@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<bea@localhost>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: spooled\r\n\r\n" + (b"z" * 900 + b"\r\n") * 2000 + b".\r\n")
        code, text = r.reply()
        self.assertEqual(code, 250, text)
        msg = self.wait("bea@localhost", 1)[0]
        qid = re.search(rb"with ESMTP id (\S+)", msg).group(1).decode()
        self.assertEqual(len(body_of(msg)), len(b"Subject: spooled\n\n") + 901 * 2000)
        self.assertEqual(text, f"2.0.0 OK id={qid}")

    def test_multiple_recipients_one_unknown(self):
        s = self.smtp()
        s.ehlo("client.test")
        self.assertEqual(s.mail("multi@remote.test")[0], 250)
        codes = [s.rcpt(a)[0] for a in
                 ("bob@localhost", "carol@localhost", "nosuchuser@localhost", "dave@localhost")]
        self.assertEqual(codes, [250, 250, 550, 250])
        msg = b"Subject: to three\r\n\r\nfor bob, carol and dave\r\n"
        self.assertEqual(s.data(msg)[0], 250)
        for u in ("bob", "carol", "dave"):
            got = self.wait(f"{u}@localhost", 1)
            self.assertEqual(len(got), 1)
            lines = got[0].split(b"\n")
            self.assertEqual(lines[0], b"Return-Path: <multi@remote.test>")
            self.assertEqual(lines[1], f"Delivered-To: {u}@localhost".encode())
            self.assertEqual(body_of(got[0]), lf(msg))
        time.sleep(0.2)  # no late duplicate
        for u in ("bob", "carol", "dave"):
            self.assertEqual(self.count(u), 1)
        self.assertFalse(self.n.maildir("nosuchuser@localhost").exists())

    def test_duplicate_recipient_gets_one_copy(self):
        """The same mailbox named twice in one transaction (also in another case)
        gets one copy, as with Exim and Postfix."""
        s = self.smtp()
        s.ehlo("client.test")
        self.assertEqual(s.mail("d@remote.test")[0], 250)
        self.assertEqual(s.rcpt("yann@localhost")[0], 250)
        self.assertEqual(s.rcpt("yann@localhost")[0], 250)
        self.assertEqual(s.data(b"Subject: duplicate rcpt\r\n\r\nonce please\r\n")[0], 250)
        self.n.wait_for_mail("yann@localhost", 1)
        time.sleep(0.3)
        self.assertEqual(self.count("yann"), 1, "one copy per mailbox, however often RCPT names it")

    def test_concurrent_clients(self):
        errors = []

        def client(i):
            try:
                s = smtplib.SMTP("127.0.0.1", self.n.port("smtp"), timeout=20)
                for j in range(5):
                    s.sendmail(f"c{i}@remote.test", ["zoe@localhost"],
                               f"Subject: c{i}-{j}\r\n\r\nbody {i} {j}\r\n".encode())
                s.quit()
            except Exception as e:  # reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        got = self.wait("zoe@localhost", 80)
        subjects = sorted(re.search(rb"Subject: (c\d+-\d)\n", m).group(1) for m in got)
        self.assertEqual(subjects, sorted(f"c{i}-{j}".encode() for i in range(16) for j in range(5)))

    def test_quit_or_rset_mid_transaction_delivers_nothing(self):
        r = self.raw()
        r.greet()
        r.send("MAIL FROM:<q@remote.test>\r\nRCPT TO:<abel@localhost>\r\nQUIT\r\n")
        self.assertEqual([r.reply()[0] for _ in range(3)], [250, 250, 221])
        r2 = self.raw()
        r2.greet()
        self.assertEqual(r2.cmd("MAIL FROM:<q@remote.test>")[0], 250)
        self.assertEqual(r2.cmd("RCPT TO:<abel@localhost>")[0], 250)
        r2.send(b"BDAT 10\r\nSubject: x")
        self.assertEqual(r2.reply()[0], 250)
        self.assertEqual(r2.cmd("RSET")[0], 250)
        self.assertEqual(r2.cmd("BDAT 0 LAST")[0], 503)  # the BDAT message is gone
        time.sleep(0.2)
        self.assertEqual(self.count("abel"), 0)
        self.assertEqual(self.n.spool_files(), [])

    # ---- 2. PIPELINING ----
    def test_pipelining_one_write(self):
        r = self.raw()
        text = r.greet()
        self.assertIn("PIPELINING", text.split("\n"))
        r.send("MAIL FROM:<pipe@remote.test>\r\nRCPT TO:<erin@localhost>\r\n"
               "RCPT TO:<frank@localhost>\r\nDATA\r\n")
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 354)
        r.send("Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 221)
        for u in ("erin", "frank"):
            m = self.wait(f"{u}@localhost", 1)[0]
            self.assertEqual(body_of(m), b"Subject: pipelined\n\nbody\n")

    def test_pipelining_whole_session_including_rejections(self):
        r = self.raw()
        r.greet()
        # Two complete transactions, a refused recipient in between, in one write.
        r.send("MAIL FROM:<p1@remote.test>\r\nRCPT TO:<grace@localhost>\r\n"
               "RCPT TO:<ghost@localhost>\r\nDATA\r\n"
               "Subject: first\r\n\r\none\r\n.\r\n"
               "MAIL FROM:<p2@remote.test>\r\nRCPT TO:<grace@localhost>\r\nDATA\r\n"
               "Subject: second\r\n\r\ntwo\r\n.\r\n"
               "RSET\r\nNOOP\r\nQUIT\r\n")
        codes = [r.reply()[0] for _ in range(12)]
        self.assertEqual(codes, [250, 250, 550, 354, 250, 250, 250, 354, 250, 250, 250, 221])
        got = self.wait("grace@localhost", 2)
        bodies = sorted(body_of(m) for m in got)
        self.assertEqual(bodies, [b"Subject: first\n\none\n", b"Subject: second\n\ntwo\n"])
        returns = sorted(m.split(b"\n")[0] for m in got)
        self.assertEqual(returns, [b"Return-Path: <p1@remote.test>", b"Return-Path: <p2@remote.test>"])

    def test_several_messages_one_session_smtplib(self):
        s = self.smtp()
        for i in range(5):
            self.assertEqual(s.sendmail(f"s{i}@remote.test", ["heidi@localhost"],
                                        f"Subject: n{i}\r\n\r\nmessage {i}\r\n".encode()), {})
        got = self.wait("heidi@localhost", 5)
        self.assertEqual(sorted(body_of(m) for m in got),
                         [f"Subject: n{i}\n\nmessage {i}\n".encode() for i in range(5)])

    # ---- 4. 8BITMIME / SMTPUTF8 ----
    def test_8bitmime_bytes_arrive_intact(self):
        s = self.smtp()
        s.ehlo("client.test")
        self.assertTrue(s.has_extn("8bitmime"))
        latin1 = bytes(range(0x80, 0x100))
        utf8 = "Grüße, naïve café — ½ € 日本語 😀".encode("utf-8")
        msg = (b"Subject: eight bit\r\nContent-Type: text/plain; charset=utf-8\r\n"
               b"Content-Transfer-Encoding: 8bit\r\n\r\n" + utf8 + b"\r\n" + latin1 + b"\r\n"
               + latin1[::-1] + b"\r\n")
        self.assertEqual(s.sendmail("eight@remote.test", ["ivan@localhost"], msg,
                                    mail_options=["BODY=8BITMIME"]), {})
        m = self.wait("ivan@localhost", 1)[0]
        self.assertEqual(body_of(m), lf(msg))

    def test_smtputf8_local_part_known_user(self):
        self.n.add_user("jürgen@localhost", "pw")
        s = self.smtp()
        s.ehlo("client.test")
        self.assertTrue(s.has_extn("smtputf8"))
        msg = "Subject: ünïcödé\r\nFrom: ü@bücher.test\r\n\r\nhallo Jürgen\r\n".encode("utf-8")
        self.assertEqual(s.sendmail("ü@bücher.test", ["jürgen@localhost"], msg,
                                    mail_options=["SMTPUTF8", "BODY=8BITMIME"]), {})
        m = self.wait("jürgen@localhost", 1)[0]
        self.assertTrue(m.startswith("Return-Path: <ü@bücher.test>\nDelivered-To: jürgen@localhost\n"
                                     .encode("utf-8")), m[:100])
        self.assertEqual(body_of(m), lf(msg))

    def test_utf8_address_without_smtputf8_parameter(self):
        r = self.raw()
        r.greet()
        # With SMTPUTF8 the UTF-8 sender is fine...
        self.assertEqual(r.cmd("MAIL FROM:<ü@x.test> SMTPUTF8")[0], 250)
        self.assertEqual(r.cmd("RSET")[0], 250)
        # ...without it, a UTF-8 address is a syntax error (RFC 6531 3.4).
        self.assertEqual(r.cmd("MAIL FROM:<ü@x.test>")[0] // 100, 5)

    # ---- 5. dot-stuffing ----
    DOT_LINES = [b".", b"..", b".x", b"x.", b"...", b". ", b" .", b".\t."]

    def test_dot_stuffing_smtplib(self):
        s = self.smtp()
        msg = b"Subject: dots\r\n\r\n" + b"\r\n".join(self.DOT_LINES) + b"\r\nlast\r\n"
        self.assertEqual(s.sendmail("dots@remote.test", ["judy@localhost"], msg), {})
        m = self.wait("judy@localhost", 1)[0]
        self.assertEqual(body_of(m), lf(msg))

    def test_dot_stuffing_by_hand(self):
        r = self.raw()
        r.greet()
        self.assertEqual(r.cmd("MAIL FROM:<dots@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<ken@localhost>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        stuffed = [b"." + l if l.startswith(b".") else l for l in self.DOT_LINES]
        # first body line is a dot too: stuffing right after the header blank line
        r.send(b"Subject: dots by hand\r\n\r\n" + b"\r\n".join(stuffed) + b"\r\n.\r\n")
        self.assertEqual(r.reply()[0], 250)
        m = self.wait("ken@localhost", 1)[0]
        self.assertEqual(body_of(m), b"Subject: dots by hand\n\n" + b"\n".join(self.DOT_LINES) + b"\n")

    def test_message_starting_with_dot_line(self):
        r = self.raw()
        r.greet()
        r.send("MAIL FROM:<d@remote.test>\r\nRCPT TO:<lena@localhost>\r\nDATA\r\n")
        self.assertEqual([r.reply()[0] for _ in range(3)], [250, 250, 354])
        r.send("..leading\r\n.\r\n")  # very first line is stuffed
        self.assertEqual(r.reply()[0], 250)
        m = self.wait("lena@localhost", 1)[0]
        self.assertEqual(body_of(m), b".leading\n")

    # ---- 6. refusals ----
    def test_unknown_user_550_511(self):
        r = self.raw()
        r.greet()
        self.assertEqual(r.cmd("MAIL FROM:<x@remote.test>")[0], 250)
        code, text = r.cmd("RCPT TO:<nobody-here@localhost>")
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith("5.1.1"), text)
        code, _ = r.cmd("DATA")
        self.assertIn(code, (503, 554))
        self.assertFalse(self.n.maildir("nobody-here@localhost").exists())

    def test_relay_refused_without_auth(self):
        before = self.n.spool_files()
        s = self.smtp()
        s.ehlo("client.test")
        self.assertEqual(s.mail("x@remote.test")[0], 250)
        code, text = s.rcpt("victim@elsewhere.example")
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.7.1"), text)
        # and a local recipient in the same transaction still works
        self.assertEqual(s.rcpt("mike@localhost")[0], 250)
        self.assertEqual(s.data(b"Subject: partial\r\n\r\nx\r\n")[0], 250)
        self.assertEqual(len(self.wait("mike@localhost", 1)), 1)
        time.sleep(0.2)
        self.assertEqual(self.n.spool_files(), before, "nothing queued for the refused remote rcpt")
        self.assertNotIn("victim@elsewhere.example =>", self.n.log())

    def test_domain_and_case(self):
        s = self.smtp()
        self.assertEqual(s.sendmail("c@remote.test", ["nina@LOCALHOST"], b"Subject: case\r\n\r\nx\r\n"), {})
        m = self.wait("nina@localhost", 1)[0]
        self.assertIn(b"Delivered-To: nina@localhost", m)

    def test_null_sender_accepted(self):
        r = self.raw()
        r.greet()
        self.assertEqual(r.cmd("MAIL FROM:<>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<olga@localhost>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        self.assertEqual(r.cmd("Subject: bounce\r\n\r\nx\r\n.")[0], 250)
        m = self.wait("olga@localhost", 1)[0]
        self.assertTrue(m.startswith(b"Return-Path: <>\n"), m[:60])

    # ---- 11. BDAT ----
    def test_bdat_chunks(self):
        r = self.raw()
        text = r.greet()
        self.assertIn("CHUNKING", text.split("\n"))
        self.assertEqual(r.cmd("MAIL FROM:<bdat@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<pete@localhost>")[0], 250)
        c1 = b"Subject: chunked\r\n\r\nfirst chunk, "
        c2 = b"second chunk\r\n.\r\n..not a terminator\r\n"
        c3 = b"last\r\n"
        r.send(b"BDAT %d\r\n" % len(c1) + c1)
        self.assertEqual(r.reply()[0], 250)
        r.send(b"BDAT %d\r\n" % len(c2) + c2)
        self.assertEqual(r.reply()[0], 250)
        r.send(b"BDAT %d LAST\r\n" % len(c3) + c3)
        code, text = r.reply()
        self.assertEqual(code, 250, text)
        m = self.wait("pete@localhost", 1)[0]
        # BDAT is not dot-stuffed: dots arrive as sent
        self.assertEqual(body_of(m), lf(c1 + c2 + c3))

    def test_bdat_binary_looking_content_pipelined(self):
        r = self.raw()
        r.greet()
        payload = (bytes(b for b in range(256) if b not in (0x0a, 0x0d)) + b"\r\n") * 4
        content = (b"Subject: binary\r\nContent-Type: application/octet-stream\r\n\r\n"
                   + payload + b"\x00\x01\x02 NUL bytes\r\n")
        r.send(b"MAIL FROM:<bin@remote.test> BODY=BINARYMIME\r\n")
        code, _ = r.reply()
        if code != 250:  # BINARYMIME not offered: plain BDAT
            r.send(b"MAIL FROM:<bin@remote.test>\r\n")
            self.assertEqual(r.reply()[0], 250)
        half = len(content) // 2
        r.send(b"RCPT TO:<quinn@localhost>\r\nBDAT %d\r\n" % half + content[:half]
               + b"BDAT %d LAST\r\n" % (len(content) - half) + content[half:])
        self.assertEqual([r.reply()[0] for _ in range(3)], [250, 250, 250])
        m = self.wait("quinn@localhost", 1)[0]
        self.assertEqual(body_of(m), lf(content))

    def test_bdat_zero_last_and_sequence(self):
        r = self.raw()
        r.greet()
        self.assertEqual(r.cmd("MAIL FROM:<z@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<vic@localhost>")[0], 250)
        body = b"Subject: zero last\r\n\r\nx\r\n"
        r.send(b"BDAT %d\r\n" % len(body) + body)
        self.assertEqual(r.reply()[0], 250)
        # DATA in the middle of BDAT is a sequence error and aborts the message
        self.assertEqual(r.cmd("DATA")[0], 503)
        self.assertEqual(r.cmd("MAIL FROM:<z@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<vic@localhost>")[0], 250)
        r.send(b"BDAT %d\r\n" % len(body) + body)
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.cmd("BDAT 0 LAST")[0], 250)
        got = self.wait("vic@localhost", 1)
        time.sleep(0.2)
        self.assertEqual(self.count("vic"), 1, "the aborted BDAT message must not be delivered")
        self.assertEqual(body_of(got[0]), lf(body))

    def test_bdat_line_ends_and_size_as_for_data(self):
        """BDAT content obeys DATA's rules: CRLF line ends only (a CRLF may
        straddle two chunks) and lines within the limit (the size: see
        test_smtp_limits)."""
        r = self.raw()
        r.greet()

        def send(chunks):
            self.assertEqual(r.cmd("MAIL FROM:<le@remote.test>")[0], 250)
            self.assertEqual(r.cmd("RCPT TO:<lara@localhost>")[0], 250)
            for i, c in enumerate(chunks):
                last = i == len(chunks) - 1
                r.send(b"BDAT %d%s\r\n" % (len(c), b" LAST" if last else b"") + c)
                code, text = r.reply()
                if code != 250 or last:
                    return code, text

        self.assertEqual(send([b"Subject: a\r", b"\n\r\nbody\r\n"])[0], 250)  # CRLF split across chunks
        for bad in ([b"Subject: b\n\nbare LF\n"], [b"X-Spam-Flag\r: YES\r\n\r\nx\r\n"],
                    [b"Subject: c\r\n\r\nends in CR\r"], [b"Subject: d\r\n\r\nx\r", b""]):
            code, text = send(bad)
            self.assertEqual(code, 554, (bad, text))
            self.assertIn("5.6.0", text)
        code, text = send([b"Subject: e\r\n\r\n" + b"x" * 1200 + b"\r\n"])  # as over DATA
        self.assertEqual(code, 500, text)
        self.assertTrue(text.startswith("5.5.2"), text)
        self.assertIn("rejected BDAT from <le@remote.test>", self.n.log())
        # Binary content is not offered (no BINARYMIME in EHLO): refused up front.
        self.assertEqual(r.cmd("MAIL FROM:<le@remote.test> BODY=BINARYMIME")[0], 555)
        self.assertEqual(len(self.wait("lara@localhost", 1)), 1)

    def test_bdat_without_mail_consumes_chunk(self):
        r = self.raw()
        r.greet()
        # BDAT without MAIL: refused, and the chunk is consumed (stream stays in sync)
        r.send(b"BDAT 10 LAST\r\nNOOP\r\nxxxx")
        self.assertEqual(r.reply()[0], 503)
        self.assertEqual(r.cmd("NOOP")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<z@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<walt@localhost>")[0], 250)
        r.send(b"BDAT 3 LAST\r\nx\r\n")
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(len(self.wait("walt@localhost", 1)), 1)

    def test_refused_bdat_does_not_poison_next_transaction(self):
        """A refused BDAT before MAIL must not spoil the next transaction: its
        BDAT ... LAST is accepted and delivered."""
        r = self.raw()
        r.greet()
        r.send(b"BDAT 5\r\nhello")
        self.assertEqual(r.reply()[0], 503)  # no MAIL yet: right
        self.assertEqual(r.cmd("MAIL FROM:<z@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<uma@localhost>")[0], 250)
        r.send(b"BDAT 3 LAST\r\nx\r\n")
        code, text = r.reply()
        self.assertEqual(code, 250, f"stale BDAT failure after a new MAIL: {code} {text}")
        self.assertEqual(len(self.wait("uma@localhost", 1)), 1)

    # ---- 12. misc commands ----
    def test_rset_clears_transaction(self):
        r = self.raw()
        r.greet()
        self.assertEqual(r.cmd("MAIL FROM:<r@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<sam@localhost>")[0], 250)
        self.assertEqual(r.cmd("RSET")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 503)  # no MAIL any more
        self.assertEqual(r.cmd("RCPT TO:<sam@localhost>")[0], 503)
        # a new transaction after RSET only has the new recipient
        self.assertEqual(r.cmd("MAIL FROM:<r2@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<tina@localhost>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        self.assertEqual(r.cmd("Subject: after rset\r\n\r\nx\r\n.")[0], 250)
        self.wait("tina@localhost", 1)
        time.sleep(0.2)
        self.assertEqual(self.count("sam"), 0)

    def test_noop_vrfy_help_unknown(self):
        r = self.raw()
        r.greet()
        code, text = r.cmd("NOOP")
        self.assertEqual(code, 250)
        code, text = r.cmd("VRFY alice@localhost")
        self.assertEqual(code, 252)
        code, text = r.cmd("VRFY nosuch@localhost")
        self.assertEqual(code, 252, "VRFY must not reveal which users exist")
        code, _ = r.cmd("HELP")
        self.assertIn(code, (211, 214))
        code, text = r.cmd("FROBNICATE now")
        self.assertEqual(code, 500)
        self.assertTrue(text.startswith("5.5."), text)
        code, _ = r.cmd("EXPN staff")
        self.assertIn(code, (252, 502, 550))
        self.assertEqual(r.cmd("NOOP")[0], 250)  # still alive
        self.assertEqual(r.cmd("QUIT")[0], 221)
        self.assertEqual(r.sock.recv(100), b"", "server closes after QUIT")

    def test_bad_sequences(self):
        r = self.raw()
        self.assertEqual(r.reply()[0], 220)
        self.assertEqual(r.cmd("MAIL FROM:<early@remote.test>")[0], 503)
        self.assertEqual(r.cmd("RCPT TO:<alice@localhost>")[0], 503)
        self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<alice@localhost>")[0], 503)
        self.assertEqual(r.cmd("DATA")[0], 503)
        self.assertEqual(r.cmd("MAIL FROM:<a@remote.test>")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<b@remote.test>")[0], 503)  # nested MAIL
        self.assertIn(r.cmd("DATA")[0], (503, 554))  # no recipients
        self.assertEqual(r.cmd("EHLO")[0], 501)
        self.assertEqual(r.cmd("HELO")[0], 501)
        self.assertEqual(r.cmd("MAIL FROM:no-brackets")[0] // 100, 5)
        self.assertEqual(r.cmd("QUIT")[0], 221)

    def test_helo_session_plain_smtp(self):
        r = self.raw()
        self.assertEqual(r.reply()[0], 220)
        code, text = r.cmd("HELO old.client.test")
        self.assertEqual(code, 250)
        self.assertNotIn("PIPELINING", text)
        self.assertEqual(r.cmd("MAIL FROM:<old@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<xena@localhost>")[0], 250)
        before = self.count("xena")
        self.assertEqual(r.cmd("DATA")[0], 354)
        self.assertEqual(r.cmd("Subject: helo\r\n\r\nx\r\n.")[0], 250)
        got = self.wait("xena@localhost", before + 1)
        newest = [m for m in got if b"Subject: helo\n" in m]
        self.assertEqual(len(newest), 1)
        self.assertIn(b"Received: from old.client.test ([127.0.0.1])", newest[0])
        self.assertIn(b"with SMTP id", newest[0])

    def test_too_many_errors_closes(self):
        r = self.raw()
        r.greet()
        codes = []
        try:
            for _ in range(40):
                codes.append(r.cmd("BOGUS")[0])
                if codes[-1] == 421:
                    break
        except (EOFError, ConnectionError):
            pass
        self.assertIn(421, codes)
        self.assertLessEqual(len(codes), 22)  # limits.errors = 20
        self.assertEqual(set(codes[:-1]), {500})
        r.sock.settimeout(5)
        try:
            self.assertEqual(r.sock.recv(100), b"", "closed after 421")
        except ConnectionResetError:
            pass
        # the server still serves others
        s = self.smtp()
        self.assertEqual(s.noop()[0], 250)

    # ---- protocol edges (a review with other clients): what a client
    # writes into our Received field, parameters of extensions we do not
    # offer, non-ASCII addresses without SMTPUTF8 ----
    def greeted(self, helo="client.test"):
        r = self.raw()
        r.greet(helo)
        return r

    def test_helo_name_cannot_write_the_trace(self):
        r = self.greeted("trusted.example)(authenticated-as-ceo@localhost")
        self.assertEqual(r.cmd("MAIL FROM:<s@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<ozzy@localhost>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        self.assertEqual(r.cmd("Subject: helo\r\n\r\nx\r\n.")[0], 250)
        mail = self.n.wait_for_mail("ozzy@localhost", 1)[0]
        self.assertIn(b"Received: from trusted.example??authenticated-as-ceo?localhost ([127.0.0.1])", mail)

    def test_dsn_and_auth_parameters_are_not_offered(self):
        r = self.greeted()
        for cmd in ("MAIL FROM:<s@remote.test> RET=HDRS", "MAIL FROM:<s@remote.test> ENVID=abc",
                    "MAIL FROM:<s@remote.test> AUTH=<>"):
            code, text = r.cmd(cmd)
            self.assertEqual(code, 555, cmd)
            self.assertTrue(text.startswith("5.5.4"), text)
        self.assertEqual(r.cmd("MAIL FROM:<s@remote.test>")[0], 250)
        for cmd in ("RCPT TO:<ozzy@localhost> NOTIFY=SUCCESS,FAILURE", "RCPT TO:<ozzy@localhost> ORCPT=rfc822;ozzy@localhost"):
            self.assertEqual(r.cmd(cmd)[0], 555, cmd)
        self.assertEqual(r.cmd("RCPT TO:<ozzy@localhost>")[0], 250)

    def test_non_ascii_address_without_smtputf8(self):
        r = self.greeted()
        code, text = r.cmd("MAIL FROM:<j\u00f6rg@example.org>")
        self.assertEqual((code, text[:5]), (553, "5.6.7"))
        self.assertEqual(r.cmd("MAIL FROM:<s@remote.test>")[0], 250)
        code, text = r.cmd("RCPT TO:<j\u00f6rg@localhost>")
        self.assertEqual((code, text[:5]), (553, "5.6.7"))

    def test_smtputf8_transaction_says_so_in_received(self):
        r = self.greeted()
        self.assertEqual(r.cmd("MAIL FROM:<j\u00f6rg@example.org> SMTPUTF8")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<pia@localhost>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        self.assertEqual(r.cmd("Subject: utf8\r\n\r\nx\r\n.")[0], 250)
        mail = self.n.wait_for_mail("pia@localhost", 1)
        self.assertIn(b"(nougat) with UTF8SMTP id", mail[0])

if __name__ == "__main__":
    unittest.main()
