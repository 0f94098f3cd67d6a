"""~/.forward at delivery time: Exim filters and plain forward lists, run by
the real server on mail received over SMTP (router: engine/router.hpp)."""

import smtplib
import time
import unittest

from harness import Nougat, wait_files


def send(n, rcpts, subject, body="hello\r\n"):
    msg = (f"From: carol@example.org\r\nTo: {rcpts[0]}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '-')}@test>\r\n\r\n{body}")
    with smtplib.SMTP("127.0.0.1", n.port("smtp")) as s:
        s.sendmail("carol@example.org", rcpts, msg.encode())


class ForwardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.n = Nougat().start()
        for u in ("alice", "bob", "dave", "erin", "frank", "gina", "henry", "ivan", "judy", "kate", "leo",
                  "mia", "ned", "ola", "pat", "quin", "rae", "sam", "tom", "uma", "vic"):
            cls.n.add_user(f"{u}@localhost")

    @classmethod
    def tearDownClass(cls):
        cls.n.__exit__(None, None, None)

    def home(self, user):
        return self.n.maildir(f"{user}@localhost").parent

    def write_forward(self, user, text):
        home = self.home(user)
        home.mkdir(parents=True, exist_ok=True)
        (home / ".forward").write_text(text)

    def test_filter_sorts_into_a_folder_and_otherwise_delivers_normally(self):
        self.write_forward("alice", '# Exim filter\n'
                                    'if $h_subject: contains "[list]" then\n'
                                    '  save $home/Maildir/.Lists/\n'
                                    'endif\n')
        send(self.n, ["alice@localhost"], "[list] weekly news")
        send(self.n, ["alice@localhost"], "personal note")
        lists = wait_files(self.n.maildir("alice@localhost") / ".Lists" / "new", 1)
        inbox = wait_files(self.n.maildir("alice@localhost") / "new", 1)
        self.assertEqual(len(lists), 1)
        self.assertIn(b"Subject: [list] weekly news", lists[0])
        self.assertEqual(len(inbox), 1)
        self.assertIn(b"Subject: personal note", inbox[0])

    def test_exim_message_and_connection_variables(self):
        """Exim's variables of where a message came from: $message_id is the
        queue id (not the Message-ID field), $received_protocol, the client,
        the recipient count, and the time of day — a filter naming one of
        Exim's variables runs rather than failing (which defers its mail)."""
        self.write_forward("henry", '# Exim filter\n'
                                    'logfile $home/filter.log\n'
                                    'logwrite "$tod_log $message_id processed"\n'
                                    'if $received_protocol is "esmtp" and $sender_host_address is "127.0.0.1"\n'
                                    '   and $recipients_count is 2 and $received_count is 1\n'
                                    '   and $message_age is below 60 and $tls_in_bits is 0 and $acl_m0 is ""\n'
                                    'then\n'
                                    '  save $home/Maildir/.Origin-$message_id/\n'
                                    'endif\n')
        send(self.n, ["henry@localhost", "dave@localhost"], "where from")
        maildir = self.n.maildir("henry@localhost")
        deadline = time.time() + 10
        folders = []
        while not folders and time.time() < deadline:
            folders = [p.name for p in maildir.glob(".Origin-*")] if maildir.exists() else []
            time.sleep(0.05)
        self.assertEqual(len(folders), 1, self.n.log()[-2000:])
        queue_id = folders[0][len(".Origin-"):]
        self.assertIn(f" {queue_id} => henry@localhost", self.n.wait_log(f" {queue_id} => henry@localhost"))
        self.assertNotIn("unknown variable", self.n.log())
        # logwrite appends to the logfile's file in the home, as in Exim
        # (the spec's own example), mode 0600 by default.
        log = self.home("henry") / "filter.log"
        self.assertRegex(log.read_text(), r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d " + queue_id + " processed\n$")
        self.assertEqual(log.stat().st_mode & 0o777, 0o600)

    def test_logwrite_before_an_error_is_written(self):
        """Exim logs while it interprets the filter: a line written before a
        run-time error is in the file, and the message is deferred."""
        self.write_forward("ned", '# Exim filter\nlogfile $home/e.log\nlogwrite "before the error"\n'
                                  'if $h_subject: is above 3 then save $home/Maildir/.X/ endif\n')
        send(self.n, ["ned@localhost"], "not a number")
        log = self.home("ned") / "e.log"
        deadline = time.time() + 10
        # Created, then written: wait for the line, not the file.
        while not (log.exists() and log.read_text()) and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(log.read_text(), "before the error\n")
        self.write_forward("ned", "")

    def test_logwrite_without_logfile_is_a_filter_error(self):
        """As in Exim: the message is deferred (kept), and the log says why."""
        self.write_forward("gina", '# Exim filter\nlogwrite "hello"\n')
        send(self.n, ["gina@localhost"], "no logfile")
        deadline = time.time() + 10
        while "without a previous" not in self.n.log() and time.time() < deadline:
            time.sleep(0.05)
        self.assertIn('attempt to obey "logwrite" command without a previous "logfile"', self.n.log())
        self.assertEqual(self.n.messages("gina@localhost"), [])
        self.write_forward("gina", "")  # the next tests' gina delivers normally

    def test_forwarded_local_address_runs_its_own_forward(self):
        """As in Exim, an address a .forward generates is routed again: the
        other user's filter runs on it (unless written "\name"), and a loop
        between two users ends in their inboxes."""
        self.write_forward("ivan", "\\ivan@localhost, judy@localhost, \\kate\n")
        self.write_forward("judy", "# Exim filter\n"
                                   "save $home/Maildir/.From-$parent_local_part-$original_local_part-$local_part/\n")
        self.write_forward("kate", "# Exim filter\nsave $home/Maildir/.NotRun/\n")
        send(self.n, ["ivan@localhost"], "routed again")
        self.assertEqual(len(wait_files(self.n.maildir("ivan@localhost") / "new", 1)), 1)
        self.assertEqual(len(wait_files(self.n.maildir("judy@localhost") / ".From-ivan-ivan-judy" / "new", 1)), 1,
                         self.n.log()[-2000:])
        self.assertEqual(len(wait_files(self.n.maildir("kate@localhost") / "new", 1)), 1)  # "\kate": no filter
        self.assertFalse((self.n.maildir("kate@localhost") / ".NotRun").exists())
        self.assertIn("=> judy@localhost <ivan@localhost> R=local_user T=maildir", self.n.wait_log("=> judy@localhost <ivan@localhost> R=local_user T=maildir"))
        # judy forwards to leo, leo back to judy: no loop; as Exim's
        # check_ancestor does, leo (whose .forward points back) keeps it.
        self.write_forward("judy", "leo@localhost\n")
        self.write_forward("leo", "judy@localhost\n")
        send(self.n, ["judy@localhost"], "round and round")
        self.assertEqual(len(wait_files(self.n.maildir("leo@localhost") / "new", 1)), 1, self.n.log()[-2000:])
        time.sleep(0.3)
        self.assertEqual(len(self.n.messages("leo@localhost")), 1)
        self.assertEqual(self.n.messages("judy@localhost"), [])
        self.assertIn("=> leo@localhost <judy@localhost> R=local_user T=maildir", self.n.wait_log("=> leo@localhost <judy@localhost> R=local_user T=maildir"))

    def test_forwarding_delivers_each_mailbox_once(self):
        """Siblings are not ancestors (mia -> ned, ola; ned -> ola: ola gets
        it, mia does not), and a mailbox reached two ways gets one copy (pat
        and quin forwarding to each other, each keeping a copy)."""
        self.write_forward("mia", "ned@localhost, ola@localhost\n")
        self.write_forward("ned", "ola@localhost\n")
        send(self.n, ["mia@localhost"], "siblings")
        self.assertEqual(len(wait_files(self.n.maildir("ola@localhost") / "new", 1)), 1, self.n.log()[-2000:])
        time.sleep(0.3)
        self.assertEqual(len(self.n.messages("ola@localhost")), 1)
        self.assertEqual(self.n.messages("mia@localhost"), [])
        self.assertEqual(self.n.messages("ned@localhost"), [])
        self.write_forward("pat", "\\pat@localhost, quin@localhost\n")
        self.write_forward("quin", "\\quin@localhost, pat@localhost\n")
        send(self.n, ["pat@localhost"], "a couple")
        self.assertEqual(len(wait_files(self.n.maildir("quin@localhost") / "new", 1)), 1, self.n.log()[-2000:])
        time.sleep(0.3)
        self.assertEqual(len(self.n.messages("quin@localhost")), 1)
        self.assertEqual(len(self.n.messages("pat@localhost")), 1)

    def test_one_copy_per_mailbox_and_recipient(self):
        """uma's filter saving to "Maildir/" (her inbox, with a slash) and
        delivering normally: one copy. (One message to two recipients that
        both forward to one mailbox leaves one copy for each: see README.)"""
        self.write_forward("uma", "# Exim filter\nunseen save $home/Maildir/\n")
        send(self.n, ["uma@localhost"], "inbox twice")
        self.assertEqual(len(wait_files(self.n.maildir("uma@localhost") / "new", 1)), 1, self.n.log()[-2000:])
        time.sleep(0.3)
        self.assertEqual(len(self.n.messages("uma@localhost")), 1)

    def test_zz_copies_from_an_earlier_attempt_are_logged(self):
        """A copy renamed into place before another one failed is found, not
        written again, by the attempt after a restart, and logged."""
        import os
        import shutil
        import tempfile
        md = self.n.maildir("vic@localhost")
        for sub in ("tmp", "new", "cur"):
            (md / ".A" / sub).mkdir(parents=True, exist_ok=True)
            (md / ".B" / sub).mkdir(parents=True, exist_ok=True)
        other_fs = tempfile.mkdtemp(prefix="nougat-exdev-", dir="/dev/shm")
        self.addCleanup(shutil.rmtree, other_fs, ignore_errors=True)
        (md / ".B" / "new").rmdir()
        os.symlink(other_fs, md / ".B" / "new")  # the rename into it fails (EXDEV)
        self.write_forward("vic", "# Exim filter\nsave $home/Maildir/.A/\nsave $home/Maildir/.B/\n")
        send(self.n, ["vic@localhost"], "two folders")
        deadline = time.time() + 10
        while "vic@localhost T=maildir defer" not in self.n.log() and time.time() < deadline:
            time.sleep(0.05)
        self.assertIn("vic@localhost T=maildir defer", self.n.log())
        self.n.stop()
        (md / ".B" / "new").unlink()
        (md / ".B" / "new").mkdir()
        self.n.start()
        self.assertEqual(len(wait_files(md / ".B" / "new", 1)), 1, self.n.log()[-2000:])
        self.assertEqual(len(wait_files(md / ".A" / "new", 1)), 1)
        deadline = time.time() + 10
        while "(in place from an earlier attempt)" not in self.n.log() and time.time() < deadline:
            time.sleep(0.05)
        self.assertIn("=> vic@localhost R=local_user T=maildir F=A (in place from an earlier attempt)", self.n.log())

    def test_a_link_does_not_lead_a_logfile_or_save_out_of_the_home(self):
        """save and logfile are checked where the file system resolves them:
        a symbolic link in the home to another user's home is outside it."""
        import os
        home = self.home("erin")
        target = self.home("dave")
        link = home / "other"
        if not link.exists():
            os.symlink(target, link)
        self.write_forward("erin", '# Exim filter\nlogfile $home/other/.forward\nlogwrite "erin@localhost"\n')
        send(self.n, ["erin@localhost"], "escape")
        deadline = time.time() + 10
        while "is outside the home directory" not in self.n.log() and time.time() < deadline:
            time.sleep(0.05)
        self.assertIn("logfile $home/other/.forward is outside the home directory".replace("$home", str(home)),
                      self.n.log())
        self.assertFalse((target / ".forward").exists() and "erin" in (target / ".forward").read_text())
        self.write_forward("erin", "")

    def test_deliver_to_another_user_is_significant(self):
        self.write_forward("bob", "# Exim filter\ndeliver dave@localhost\n")
        send(self.n, ["bob@localhost"], "for dave")
        dave = wait_files(self.n.maildir("dave@localhost") / "new", 1)
        self.assertEqual(len(dave), 1)
        self.assertIn(b"Subject: for dave", dave[0])
        time.sleep(0.3)
        self.assertEqual(self.n.messages("bob@localhost"), [])  # significant: no normal delivery

    def test_unseen_save_to_mbox_keeps_normal_delivery(self):
        self.write_forward("erin", "# Exim filter\nunseen save $home/mail/archive\n")
        send(self.n, ["erin@localhost"], "archive me", body="From the start\r\nbody\r\n")
        inbox = wait_files(self.n.maildir("erin@localhost") / "new", 1)
        self.assertEqual(len(inbox), 1)
        mbox = (self.home("erin") / "mail" / "archive").read_bytes()
        self.assertTrue(mbox.startswith(b"From carol@example.org "))
        self.assertIn(b"Subject: archive me", mbox)
        self.assertIn(b"\n>From the start\n", mbox)  # mboxrd quoting

    def test_plain_forward_list(self):
        self.write_forward("frank", "gina@localhost, \\frank@localhost\n")
        send(self.n, ["frank@localhost"], "to both")
        self.assertEqual(len(wait_files(self.n.maildir("gina@localhost") / "new", 1)), 1)
        self.assertEqual(len(wait_files(self.n.maildir("frank@localhost") / "new", 1)), 1)

    def test_unqualified_addresses_take_the_users_domain(self):
        """`bob` in alice@example.test's .forward is bob@example.test, as with
        Exim's qualify_preserve_domain (docs/DECISIONS.md), in a plain list
        and from a filter's `deliver`; never the server's host name."""
        with Nougat(sets=['domains.local=["localhost","example.test"]']) as n:
            for u in ("alice", "bob", "carol"):
                n.add_user(f"{u}@example.test")
            n.add_user("bob@localhost")
            home = n.maildir("alice@example.test").parent
            home.mkdir(parents=True, exist_ok=True)
            (home / ".forward").write_text("bob\n")
            send(n, ["alice@example.test"], "plain list")
            self.assertEqual(len(wait_files(n.maildir("bob@example.test") / "new", 1)), 1, n.log()[-2000:])
            (home / ".forward").write_text('# Exim filter\ndeliver carol\n')
            send(n, ["alice@example.test"], "filter deliver")
            self.assertEqual(len(wait_files(n.maildir("carol@example.test") / "new", 1)), 1, n.log()[-2000:])
            self.assertIn("=> carol@example.test <alice@example.test>",
                          n.wait_log("=> carol@example.test <alice@example.test>"))
            self.assertFalse((n.maildir("bob@localhost") / "new").exists()
                             and any((n.maildir("bob@localhost") / "new").iterdir()))

    def test_broken_filter_defers_and_keeps_the_message(self):
        n = Nougat().start()
        try:
            n.add_user("hank@localhost")
            home = n.maildir("hank@localhost").parent
            (home / ".forward").write_text("# Exim filter\nif $h_subject: is \"x\" then\n  save x\n")
            send(n, ["hank@localhost"], "kept")
            deadline = time.time() + 10
            while time.time() < deadline and "error in filter file" not in n.log():
                time.sleep(0.05)
            self.assertIn("error in filter file", n.log())
            self.assertEqual(n.messages("hank@localhost"), [])
            self.assertEqual(len([f for f in n.spool_files() if "." not in f]), 1)
            # Fixed filter + restart: the queued message is delivered.
            (home / ".forward").write_text("# Exim filter\nsave $home/Maildir/.Fixed/\n")
            n.stop()
            n.start()
            self.assertEqual(len(wait_files(n.maildir("hank@localhost") / ".Fixed" / "new", 1)), 1)
        finally:
            n.__exit__(None, None, None)

    def test_save_outside_home_and_pipe_are_refused_not_lost(self):
        n = Nougat().start()
        try:
            n.add_user("ivan@localhost")
            home = n.maildir("ivan@localhost").parent
            (home / ".forward").write_text("# Exim filter\nsave /etc/nougat-evil\n")
            send(n, ["ivan@localhost"], "escape")
            deadline = time.time() + 10
            while time.time() < deadline and "outside the home directory" not in n.log():
                time.sleep(0.05)
            self.assertIn("outside the home directory", n.log())
            self.assertEqual(len([f for f in n.spool_files() if "." not in f]), 1)
        finally:
            n.__exit__(None, None, None)

    def test_file_names_from_the_message_are_refused_not_lost(self):
        """A save or logfile path made from a header is message data (Exim 4.96's
        taint): a sender must not pick which of the user's files gets written."""
        n = Nougat().start()
        try:
            n.add_user("jo@localhost")
            home = n.maildir("jo@localhost").parent
            (home / ".forward").write_text('# Exim filter\nsave "$home/${lc:$h_x-folder:}"\n')
            msg = ("From: carol@example.org\r\nTo: jo@localhost\r\nX-Folder: .FORWARD\r\n"
                   "Subject: taint\r\n\r\nhello\r\n")
            with smtplib.SMTP("127.0.0.1", n.port("smtp")) as s:
                s.sendmail("carol@example.org", ["jo@localhost"], msg.encode())
            deadline = time.time() + 10
            while time.time() < deadline and "(file or directory name for save) not permitted" not in n.log():
                time.sleep(0.05)
            self.assertIn("Tainted '%s/.forward' (file or directory name for save) not permitted" % home, n.log())
            self.assertEqual((home / ".forward").read_text(), '# Exim filter\nsave "$home/${lc:$h_x-folder:}"\n')
            self.assertEqual(len([f for f in n.spool_files() if "." not in f]), 1)  # kept, not lost
            (home / ".forward").write_text('# Exim filter\nlogfile "$home/${lc:$h_x-folder:}"\nlogwrite "x"\n')
            n.stop()
            n.start()
            deadline = time.time() + 10
            while time.time() < deadline and "(logfile name) not permitted" not in n.log():
                time.sleep(0.05)
            self.assertIn("(logfile name) not permitted", n.log())
            self.assertFalse((home / ".forward").read_text().endswith("x\n"))
        finally:
            n.__exit__(None, None, None)

    def test_a_header_checked_against_a_list_names_a_folder(self):
        """Exim's way to use message data in a file name: the matching item of a
        list written in the filter is the filter's own text, not the message's."""
        self.write_forward("sam", '# Exim filter\n'
                                  'save "$home/Maildir/.${if match_local_part{$h_x-list:}{exim : dovecot}{$value}{Other}}/"\n')
        msg = ("From: carol@example.org\r\nTo: sam@localhost\r\nX-List: Exim\r\n"
               "Subject: list\r\nMessage-ID: <list@test>\r\n\r\nhello\r\n")
        with smtplib.SMTP("127.0.0.1", self.n.port("smtp")) as s:
            s.sendmail("carol@example.org", ["sam@localhost"], msg.encode())
        self.assertEqual(len(wait_files(self.n.maildir("sam@localhost") / ".exim" / "new", 1)), 1, self.n.log()[-2000:])
        self.assertNotIn("not permitted", self.n.log())
        self.write_forward("sam", "")


if __name__ == "__main__":
    unittest.main()
