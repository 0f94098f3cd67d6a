#include "engine/junk_training.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

#include <string>
#include <vector>

namespace nougat::engine {
namespace {

using enum TrainOp;
constexpr auto kIn = JunkFolder::kInbox;
constexpr auto kJu = JunkFolder::kJunk;
constexpr auto kNo = Trained::kNone;
constexpr auto kSp = Trained::kSpam;
constexpr auto kHa = Trained::kHam;

struct DecisionCase {
  JunkFolder where;
  bool flagged;
  Trained state;
  bool ham_from_inbox;  // spam.action "junk" or "reject"
  std::vector<TrainOp> ops;
  Trained after;
};

// Every combination, outside the first pass.
TEST(JunkDecision, Table) {
  const DecisionCase cases[] = {
      // In Junk: our verdict was ham/unsure (not flagged) → the user says spam.
      {kJu, false, kNo, true, {kLearnSpam}, kSp},
      {kJu, false, kNo, false, {kLearnSpam}, kSp},
      {kJu, false, kSp, true, {}, kSp},  // never twice
      {kJu, false, kHa, true, {kUnlearnHam, kLearnSpam}, kSp},
      {kJu, false, kHa, false, {kUnlearnHam, kLearnSpam}, kSp},
      // In Junk and flagged: where we put it; only an earlier ham is undone.
      {kJu, true, kNo, true, {}, kNo},
      {kJu, true, kNo, false, {}, kNo},
      {kJu, true, kSp, true, {}, kSp},
      {kJu, true, kHa, true, {kUnlearnHam}, kNo},
      {kJu, true, kHa, false, {kUnlearnHam}, kNo},
      // In INBOX and flagged: moved out of Junk — unless "tag" put it there.
      {kIn, true, kNo, true, {kLearnHam}, kHa},
      {kIn, true, kNo, false, {}, kNo},
      {kIn, true, kHa, true, {}, kHa},
      {kIn, true, kSp, true, {kUnlearnSpam, kLearnHam}, kHa},
      {kIn, true, kSp, false, {kUnlearnSpam}, kNo},
      // In INBOX, not flagged: where we put it; only an earlier spam is undone.
      {kIn, false, kNo, true, {}, kNo},
      {kIn, false, kNo, false, {}, kNo},
      {kIn, false, kHa, true, {}, kHa},
      {kIn, false, kHa, false, {}, kHa},
      {kIn, false, kSp, true, {kUnlearnSpam}, kNo},
      {kIn, false, kSp, false, {kUnlearnSpam}, kNo},
  };
  for (const auto& c : cases) {
    auto d = junk_decision(c.where, c.flagged, c.state, c.ham_from_inbox);
    std::string label = std::string(c.where == kIn ? "inbox" : "junk") +
                        (c.flagged ? " flagged " : " ") + std::string(trained_name(c.state)) +
                        (c.ham_from_inbox ? " junk-action" : " tag-action");
    EXPECT_EQ(d.ops, c.ops) << label;
    EXPECT_EQ(d.after, c.after) << label;
  }
}

// The first pass after start learns nothing from "none", but still undoes.
TEST(JunkDecision, FirstPassOnlyUndoes) {
  for (JunkFolder where : {kIn, kJu})
    for (bool flagged : {false, true})
      for (bool hfi : {false, true}) {
        auto d = junk_decision(where, flagged, kNo, hfi, /*first_pass=*/true);
        EXPECT_TRUE(d.ops.empty());
        EXPECT_EQ(d.after, kNo);
        for (Trained s : {kSp, kHa}) {  // the journal's word counts as usual
          auto a = junk_decision(where, flagged, s, hfi, true);
          auto b = junk_decision(where, flagged, s, hfi, false);
          EXPECT_EQ(a.ops, b.ops);
          EXPECT_EQ(a.after, b.after);
        }
      }
}

// Applying the decision again from its own result changes nothing: a message
// that stays where it is is never trained twice.
TEST(JunkDecision, Idempotent) {
  for (JunkFolder where : {kIn, kJu})
    for (bool flagged : {false, true})
      for (bool hfi : {false, true})
        for (Trained s : {kNo, kSp, kHa}) {
          auto d = junk_decision(where, flagged, s, hfi);
          auto again = junk_decision(where, flagged, d.after, hfi);
          EXPECT_TRUE(again.ops.empty());
          EXPECT_EQ(again.after, d.after);
        }
}

// What delivery writes (engine/maildir.cpp local_copy): Return-Path,
// Delivered-To, our Received, then the check's X-Spam-* fields.
std::string delivered(std::string_view flag, std::string_view rest) {
  return "Return-Path: <a@b.example>\nDelivered-To: alice@localhost\n"
         "Received: from x ([127.0.0.1])\n\tby vm with ESMTP id 1xX; Sat, 28 Nov 2026 07:42:41 "
         "+0000\n"
         "X-Spam-Score: 0.9990\nX-Spam-Status: Yes, score=0.999 required=0.990 verdict=spam "
         "tokens=20\n"
         "X-Spam-Flag: " +
         std::string(flag) + "\n" + std::string(rest);
}

struct HeaderCase {
  std::string text;
  bool flagged;
  std::string key;
  bool body_found;
};

TEST(JunkHeader, FlagAndKey) {
  const HeaderCase cases[] = {
      {delivered("YES", "Message-ID: <1@work.example>\nSubject: hi\n\nbody\n"), true,
       "<1@work.example>", true},
      {delivered("NO", "Message-ID: <1@work.example>\n\nbody\n"), false, "<1@work.example>", true},
      {delivered("yes", "Message-Id:\n <2@x> (a comment)\n\nb\n"), true, "<2@x>", true},
      // CRLF files (copied by another client) read the same.
      {"Return-Path: <>\r\nDelivered-To: a@b\r\nReceived: x\r\nX-Spam-Flag: YES\r\nMessage-ID: "
       "<3@x>\r\n\r\nb\r\n",
       true, "<3@x>", true},
      // A virus let through (antivirus.action "tag") or released from
      // quarantine: the virus check's field comes first in our block.
      {"Return-Path: <>\nDelivered-To: a@b\nReceived: x\nX-Virus: Eicar-Signature\nX-Spam-Score: 1.0000\n"
       "X-Spam-Status: Yes\nX-Spam-Flag: YES\nMessage-ID: <7@x>\n\nb\n",
       true, "<7@x>", true},
      // A sender's forged flag below the original fields does not count...
      {"Return-Path: <>\nDelivered-To: a@b\nReceived: x\nSubject: s\nX-Spam-Flag: YES\nMessage-ID: "
       "<4@x>\n\nb\n",
       false, "<4@x>", true},
      // ...nor one after another Received (an unclassified message).
      {"Return-Path: <>\nDelivered-To: a@b\nReceived: ours\nReceived: theirs\nX-Spam-Flag: "
       "YES\n\nb\n",
       false, "", true},
      // A name with a CR before the colon is another name: delivery's header
      // removal left it in place, so it cannot be our flag.
      {"Return-Path: <>\nDelivered-To: a@b\nReceived: ours\nX-Spam-Flag\r: YES\n\nb\n", false, "", true},
      // Spaces and tabs before the colon are the old syntax of the same name.
      {"Return-Path: <>\nDelivered-To: a@b\nReceived: ours\nX-Spam-Flag \t: YES\n\nb\n", true, "", true},
      // A file not delivered by us (no Received under Return-Path): unflagged.
      {"X-Spam-Flag: YES\nMessage-ID: <5@x>\n\nb\n", false, "<5@x>", true},
      // No Message-ID: no key from the header (the caller hashes the body).
      {delivered("NO", "Subject: none\n\nbody\n"), false, "", true},
      // A Message-ID without brackets, and one with spaces (hashed).
      {"Message-ID: plain@x\n\nb", false, "plain@x", true},
      {"Message-ID: <a b@x>\n\nb", false, "mid:", true},
      // No end of the header block: the key is still read from complete fields.
      {"Message-ID: <6@x>\nSubject: cut", false, "<6@x>", false},
  };
  for (const auto& c : cases) {
    auto h = inspect_stored_header(c.text);
    EXPECT_EQ(h.flagged, c.flagged) << c.text;
    if (c.key == "mid:") {
      EXPECT_EQ(h.key.substr(0, 4), "mid:") << c.text;
      EXPECT_EQ(h.key.size(), 4u + 32u);
      EXPECT_TRUE(valid_message_key(h.key));
    } else {
      EXPECT_EQ(h.key, c.key) << c.text;
    }
    EXPECT_EQ(h.body_offset != 0, c.body_found) << c.text;
    if (c.body_found) {
      EXPECT_EQ(c.text.substr(h.body_offset, 1), "b") << c.text;
    }
  }
}

// Cut anywhere (a short read, a file still being written), the header never
// yields a truncated key or a flag it does not have.
TEST(JunkHeader, EveryPrefixIsSafe) {
  std::string full =
      delivered("YES", "Message-ID:\n <20261128.1234@work.example>\nSubject: s\n\nbody\n");
  auto whole = inspect_stored_header(full);
  ASSERT_EQ(whole.key, "<20261128.1234@work.example>");
  for (size_t n = 0; n <= full.size(); ++n) {
    auto h = inspect_stored_header(std::string_view(full).substr(0, n));
    EXPECT_TRUE(h.key.empty() || h.key == whole.key) << n << ": " << h.key;
    EXPECT_TRUE(!h.flagged || whole.flagged) << n;
  }
}

TEST(JunkHeader, BodyKeyAndNames) {
  EXPECT_EQ(body_key("hello\n").substr(0, 5), "body:");
  EXPECT_EQ(body_key("hello\n").size(), 5u + 32u);
  EXPECT_EQ(body_key("hello\n"), body_key("hello\n"));
  EXPECT_NE(body_key("hello\n"), body_key("hello!\n"));
  // Blank lines at the end (an mbox separator, a saved copy's extra line
  // end) do not count; those inside do.
  EXPECT_EQ(body_key("hello\n\n"), body_key("hello\n"));
  EXPECT_EQ(body_key("hello\r\n\r\n\r\n"), body_key("hello\n"));
  EXPECT_EQ(body_key("hello\n\n", "Subject: a"), body_key("hello", "Subject: a"));
  EXPECT_EQ(body_key("\n\n"), body_key("\n"));
  EXPECT_EQ(body_key("\n"), body_key(""));  // nothing but line ends: empty
  EXPECT_EQ(body_key("\r\n\r\n"), body_key(""));
  EXPECT_NE(body_key("hello\n\nworld\n"), body_key("hello\nworld\n"));
  // Decided before the limit: a body just under it, and the same with more
  // line ends that take it over.
  std::string edge(kKeyBodyBytes - 2, 'e');
  edge += "\n";
  EXPECT_EQ(body_key(edge), body_key(edge + "\n"));
  EXPECT_EQ(body_key(edge), body_key(edge + "\n\n\n"));
  // Text without a header: all body, however many blank lines end it.
  EXPECT_EQ(message_key("hello world\n"), message_key("hello world\n\n"));
  EXPECT_EQ(message_key("Dear friend: hi\n\nmore\n"), message_key("Dear friend: hi\n\nmore\n\n"));
  EXPECT_EQ(message_key("Subject: x\n\n"), message_key("Subject: x\n\n\n"));
  // Only the first kKeyBodyBytes count.
  std::string big(kKeyBodyBytes, 'x');
  EXPECT_EQ(body_key(big + "tail one"), body_key(big + "tail two"));
  EXPECT_TRUE(valid_message_key(body_key("x")));
  EXPECT_FALSE(valid_message_key(""));
  EXPECT_FALSE(valid_message_key("a b"));
  EXPECT_TRUE(valid_message_key(std::string(kMaxKeyBytes + 64, 'a')));  // an ID, '|', the body hash
  EXPECT_FALSE(valid_message_key(std::string(kMaxKeyBytes + 65, 'a')));

  EXPECT_EQ(maildir_base_name("1764315761.1xXD4z-00DhV1Wa_0.vm,S=395"),
            "1764315761.1xXD4z-00DhV1Wa_0.vm,S=395");
  EXPECT_EQ(maildir_base_name("1764315761.M1P2.vm,S=395:2,S"), "1764315761.M1P2.vm,S=395");
  EXPECT_EQ(maildir_base_name("1764315761.M1P2.vm,S=395:2,ST"), "1764315761.M1P2.vm,S=395");

  for (Trained t : {kNo, kSp, kHa}) EXPECT_EQ(parse_trained(trained_name(t)), t);
  EXPECT_FALSE(parse_trained("maybe"));
}

}  // namespace
}  // namespace nougat::engine

namespace nougat::engine {
namespace {

// Without a Message-ID: the header block as sent (without delivery's
// fields; lines that are no field count) and the body, so distinct
// messages do not share a key while copies do.
TEST(MessageKey, WithoutAnIdDistinctMessagesStayApart) {
  std::vector<std::string> distinct = {
      "Buy cheap viagra now, best prices online\n\n",
      "Hot singles in your area want to meet you\n\n",
      "From: a@spam\nSubject: WIN\n\n",
      "From: a@spam\nSubject: WIN BIG\n\n",
      "Subject: one\n\nBuy pills\n",
      "Subject: two\n\nBuy pills\n",
      "Subject: one\n\nBuy more pills\n",
      // Enron-style: no blank line after Subject, so the first paragraph
      // reads as (non-field) header lines; they count.
      "Subject: re : meeting\nhi john , see you at 3 pm\n\nthanks\nvince\n",
      "Subject: re : meeting\nhi john , see you at 4 pm\n\nthanks\nvince\n",
  };
  std::set<std::string> keys;
  for (const auto& m : distinct) {
    auto k = message_key(m);
    EXPECT_TRUE(valid_message_key(k)) << m;
    keys.insert(k);
  }
  EXPECT_EQ(keys.size(), distinct.size());
  // Blank lines after the body do not (an mbox's separator).
  EXPECT_EQ(message_key("From: a@spam\nSubject: WIN\n\n\n"), message_key("From: a@spam\nSubject: WIN\n\n"));
  // Line ends do not matter, nor does our delivery's own block on top.
  EXPECT_EQ(message_key("Subject: one\r\n\r\nBuy pills\r\n"), message_key("Subject: one\n\nBuy pills\n"));
  EXPECT_EQ(message_key("Return-Path: <>\nDelivered-To: u@y\nReceived: x\nSubject: one\n\nBuy pills\n"),
            message_key("Subject: one\n\nBuy pills\n"));
  // Also without a body: the stored copy (our block, the sender's X-Spam
  // field removed, LF) has the key of the message as sent.
  EXPECT_EQ(message_key("Return-Path: <a@b>\nDelivered-To: u@y\nReceived: from x\n by y; now\n"
                        "X-Spam-Score: 0.5\nX-Spam-Flag: NO\nFrom: a@spam\nSubject: WIN\n\n"),
            message_key("Received: from z\r\nFrom: a@spam\r\nX-Spam-Flag: YES\r\nSubject: WIN\r\n\r\n"));
}

TEST(MessageKey, CopiesAreOneMessagesSharingAnIdAreNot) {
  std::string a = "Message-ID: <1@x>\r\nSubject: a\r\n\r\nbody one\r\n";
  std::string stored = "Return-Path: <s@x>\nDelivered-To: u@y\nMessage-ID: <1@x>\nSubject: a\n\nbody one\n";
  std::string mbox = "From s@x  Mon Jan  1 00:00:00 2024\n" + a;
  std::string other = "Message-ID: <1@x>\r\nSubject: b\r\n\r\nbody two\r\n";
  EXPECT_EQ(message_key(a), message_key(mbox));
  EXPECT_EQ(message_key(a).substr(0, message_key(a).find('|')), "<1@x>");
  EXPECT_NE(message_key(a), message_key(other));
  // A stored copy has other header fields and LF line ends before the body; the body decides with the ID.
  EXPECT_EQ(message_key(a), message_key(stored));
  std::string no_id = "Subject: c\r\n\r\nbody one\r\n";
  EXPECT_EQ(message_key(no_id).rfind("body:", 0), 0u);
  // No end of the header block: the whole is hashed, so such messages are
  // remembered and told apart (an empty file is one message too).
  EXPECT_EQ(message_key("Subject: no end of header").rfind("body:", 0), 0u);
  EXPECT_NE(message_key("Subject: x"), message_key("Subject: y"));
  EXPECT_EQ(message_key("Subject: x\n"), message_key("Subject: x\r\n"));
  // A file saved without its last line end has the key of the message as
  // sent (which always ends in CRLF); with a Message-ID too.
  EXPECT_EQ(message_key("Subject: c\n\nbody one"), message_key(no_id));
  EXPECT_EQ(message_key("Message-ID: <1@x>\nSubject: a\n\nbody one"), message_key(a));
  EXPECT_EQ(message_key("Subject: x"), message_key("Subject: x\r\n"));
  // A body past kKeyBodyBytes keys the same in CRLF and in LF: the first
  // kKeyBodyBytes count after CRLF is taken as LF.
  std::string lines;
  while (lines.size() < 2 * kKeyBodyBytes) lines += "a line of a long body\n";
  std::string crlf_lines;
  for (char ch : lines) crlf_lines += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
  EXPECT_EQ(message_key("Subject: big\r\n\r\n" + crlf_lines), message_key("Subject: big\n\n" + lines));
  EXPECT_EQ(body_key(crlf_lines), body_key(lines));
  EXPECT_NE(body_key(lines), body_key(lines.substr(0, kKeyBodyBytes - 1)));
  EXPECT_EQ(message_key("Message-ID: <2@x>\nSubject: x").rfind("<2@x>|body:", 0), 0u);
  EXPECT_TRUE(valid_message_key(message_key("")));
  // The Junk trainer reads a stored file's first kJunkHeadBytes (a From_
  // line included) and, when that is the whole file without the end of a
  // header block, keys it with message_key; else from the block it found.
  // Both give the key `nougat bayes train` stores, also at the boundary.
  for (std::string from : {"", "From s@x  Mon Jan  1 00:00:00 2024\n"}) {
    for (long delta : {-40L, -1L, 0L, 1L, 10L, 40L}) {
      for (bool body : {false, true}) {
        std::string file = from + "Message-ID: <b@x>\nX-Pad: ";
        size_t target = size_t(long(kJunkHeadBytes) + delta);
        std::string tail = body ? "\n\nbody\n" : "\n";
        file += std::string(target > file.size() + tail.size() ? target - file.size() - tail.size() : 1, 'p') + tail;
        std::string head = file.substr(0, std::min(file.size(), kJunkHeadBytes));
        StoredHeader sh = inspect_stored_header(head);
        std::string trainer = !sh.body_offset && head.size() < kJunkHeadBytes
                                  ? message_key(head)
                                  : message_key(sh, sh.body_offset ? std::string_view(file).substr(sh.body_offset)
                                                                   : std::string_view());
        EXPECT_EQ(trainer, message_key(file)) << from.size() << " " << delta << " " << body;
      }
    }
  }
  // What a reader of a stored file computes from its header block and body is the same key.
  StoredHeader h = inspect_stored_header(stored);
  EXPECT_EQ(message_key(h, std::string_view(stored).substr(h.body_offset)), message_key(a));
  // The longest Message-ID kept as it is, with the body hash, fits a journal.
  std::string long_id = "<" + std::string(kMaxKeyBytes - 2, 'i') + ">";
  EXPECT_TRUE(valid_message_key(message_key("Message-ID: " + long_id + "\n\nx\n")));
}

}  // namespace
}  // namespace nougat::engine

namespace nougat::engine {
namespace {

TEST(JunkSeenFile, RoundTripAndEveryDamageIsRefused) {
  const uint64_t rule = junk_seen_rule(true, "Junk");
  JunkSeen seen{std::vector<uint64_t>{1, 5, 9}, std::vector<uint64_t>{2}};
  std::string text = junk_seen_text(seen, rule);
  EXPECT_EQ(text.rfind(fmt::format("# nougat junk seen 1 rule={:016x} inbox=3 junk=1\n", rule), 0), 0u);
  JunkSeen back;
  ASSERT_TRUE(parse_junk_seen(text, rule, back));
  EXPECT_EQ(back, seen);
  // Written under other settings: spam.action "tag", or another junk_folder.
  for (uint64_t other : {junk_seen_rule(false, "Junk"), junk_seen_rule(true, "Spam")}) {
    EXPECT_NE(other, rule);
    EXPECT_FALSE(parse_junk_seen(text, other, back));
    EXPECT_TRUE(back[0].empty() && back[1].empty());
  }
  for (size_t cut = 0; cut < text.size(); ++cut) EXPECT_FALSE(parse_junk_seen(text.substr(0, cut), rule, back));
  for (size_t i = 0; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] ^= 0x10;
    EXPECT_FALSE(parse_junk_seen(bad, rule, back)) << i;
  }
  EXPECT_FALSE(parse_junk_seen(junk_seen_text({std::vector<uint64_t>{5, 5}, {}}, rule), rule, back));
  JunkSeen empty;
  ASSERT_TRUE(parse_junk_seen(junk_seen_text(empty, rule), rule, back));
  EXPECT_EQ(back, empty);
}

}  // namespace
}  // namespace nougat::engine
