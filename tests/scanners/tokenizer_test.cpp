// Tokenizer: which tokens a message yields (by their report text), the
// decoding it relies on, and its limits.
#include "scanners/tokenizer.hpp"
#include "scanners/bayes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace nougat::scanners {
namespace {

std::set<std::string> texts(std::string_view raw, TokenizerOptions opt = {}) {
  auto tl = tokenize(raw, opt, true);
  std::set<std::string> r;
  for (auto& [h, t] : tl.text) r.insert(t);
  EXPECT_EQ(tl.hashes.size(), tl.text.size());
  EXPECT_TRUE(std::is_sorted(tl.hashes.begin(), tl.hashes.end()));
  return r;
}

bool has(const std::set<std::string>& s, const std::string& t) { return s.count(t) > 0; }

TEST(Tokenizer, HeaderTokensArePrefixedByField) {
  auto t = texts(
      "From: \"Alice Smith\" <alice@example.org>\r\n"
      "To: bob@example.net\r\n"
      "Subject: Cheap Watches!!!\r\n"
      "Received: from mx.spam.example ([192.0.2.10]) by mail.example.net; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
      "Message-ID: <abc@host.spam.example>\r\n"
      "X-Mailer: SuperMailer 5\r\n"
      "\r\n"
      "hello there friend\r\n");
  EXPECT_TRUE(has(t, "subj cheap"));
  EXPECT_TRUE(has(t, "subj watches"));
  EXPECT_TRUE(has(t, "subj cheap watches"));
  EXPECT_TRUE(has(t, "subj !!!"));
  EXPECT_TRUE(has(t, "from alice@example.org"));
  EXPECT_TRUE(has(t, "from @example.org"));
  EXPECT_TRUE(has(t, "from alice"));
  EXPECT_TRUE(has(t, "to bob@example.net"));
  EXPECT_TRUE(has(t, "rcvd mx.spam.example"));
  EXPECT_TRUE(has(t, "rcvd spam.example"));
  EXPECT_TRUE(has(t, "rcvd:ip 192.0.2.10"));
  EXPECT_TRUE(has(t, "rcvd:ip 192.0.2"));
  EXPECT_TRUE(has(t, "msgid host.spam.example"));
  EXPECT_TRUE(has(t, "x-mailer supermailer"));
  EXPECT_TRUE(has(t, "hdr subject"));
  EXPECT_TRUE(has(t, "hello"));
  EXPECT_TRUE(has(t, "there friend"));
  // The date of Received is not a token.
  EXPECT_FALSE(has(t, "rcvd jan"));
  EXPECT_FALSE(has(t, "rcvd 2024"));
}

TEST(Tokenizer, OwnVerdictHeadersAndDateAreIgnored) {
  auto t = texts("X-Spam-Status: Yes, score=0.999\r\nX-Spam-Flag: YES\r\nDate: Mon, 1 Jan 2024\r\n\r\nbody\r\n");
  for (const auto& s : t) {
    EXPECT_EQ(s.find("x-spam"), std::string::npos) << s;
    EXPECT_EQ(s.find("date"), std::string::npos) << s;
  }
}

// Junk training (engine/junk_trainer.hpp) learns stored copies, which carry
// the fields our check added: exactly those must not change the tokens, so a
// message learnt from the Maildir counts the same as the one classified.
TEST(Tokenizer, OurSpamFieldsDoNotChangeTheTokens) {
  std::string msg = "From: a@b.example\r\nSubject: cheap offer\r\n\r\nclick here for money\r\n";
  auto plain = tokenize(msg, {});
  for (auto verdict : {SpamVerdict::kSpam, SpamVerdict::kHam, SpamVerdict::kUnsure}) {
    Classification c;
    c.verdict = verdict;
    c.score = verdict == SpamVerdict::kSpam ? 0.9999 : 0.01;
    std::string fields;
    for (const auto& f : spam_headers(c, BayesParams{})) fields += f + "\n";
    EXPECT_EQ(tokenize(fields + msg, {}).hashes, plain.hashes) << fields;
  }
}

TEST(Tokenizer, DecodesTransferEncodingsAndCharsets) {
  auto t = texts(
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
      "caf=E9 cr=E8me=\r\nbrulee\r\n"
      "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "bW9uZXkgYmFjayBndWFyYW50ZWU=\r\n"
      "--b\r\nContent-Type: application/octet-stream; name=\"setup.exe\"\r\n\r\nMZ\r\n--b--\r\n");
  EXPECT_TRUE(has(t, "caf\xc3\xa9"));
  EXPECT_TRUE(has(t, "cr\xc3\xa8mebrulee"));
  EXPECT_TRUE(has(t, "money back"));
  EXPECT_TRUE(has(t, "guarantee"));
  EXPECT_TRUE(has(t, "cte quoted-printable"));
  EXPECT_TRUE(has(t, "charset iso-8859-1"));
  EXPECT_TRUE(has(t, "ct application/octet-stream"));
  EXPECT_TRUE(has(t, "fname .exe"));
  EXPECT_TRUE(has(t, "mime multipart/mixed(text/plain,text/plain,application/octet-stream)"));
}

TEST(Tokenizer, HtmlBecomesTextTagsAndUrls) {
  auto t = texts(
      "Content-Type: text/html\r\n\r\n"
      "<html><body bgcolor=\"#ff0000\"><p>Buy <b>now</b> vi<!-- x -->agra</p>"
      "<a href=\"http://www.shop.example.com/cheap/pills?id=1\">click here</a>"
      "<script>var hidden = 1;</script>&amp;&#65;&nbsp;tom&lt;</body></html>\r\n");
  EXPECT_TRUE(has(t, "buy"));
  EXPECT_TRUE(has(t, "now"));
  EXPECT_TRUE(has(t, "viagra"));
  EXPECT_TRUE(has(t, "click here"));
  EXPECT_TRUE(has(t, "html a"));
  EXPECT_TRUE(has(t, "html body:bgcolor=#ff0000"));
  EXPECT_TRUE(has(t, "url www.shop.example.com"));
  EXPECT_TRUE(has(t, "url example.com"));
  EXPECT_TRUE(has(t, "url cheap"));
  EXPECT_TRUE(has(t, "url pills"));
  EXPECT_TRUE(has(t, "url scheme:http"));
  EXPECT_FALSE(has(t, "hidden"));
  EXPECT_FALSE(has(t, "body"));
}

// An editor's byte-order mark before the header, and a first line that
// only looks like an mbox separator: the header is read as header, the
// line as text.
TEST(Tokenizer, ByteOrderMarkAndFromLinesThatAreText) {
  auto t = texts("\xEF\xBB\xBFSubject: bom here\nFrom: a@example.org\n\nhello\n");
  EXPECT_TRUE(has(t, "subj bom"));
  EXPECT_TRUE(has(t, "from a@example.org"));
  t = texts("From the desk of Dr. Mbeki Lottery Winner\nDear friend\n");
  EXPECT_TRUE(has(t, "desk"));
  EXPECT_TRUE(has(t, "lottery"));
  t = texts("From a@b Tue Aug  6 11:51:02 2002\nSubject: real\n\nbody\n");
  EXPECT_TRUE(has(t, "subj real"));
  EXPECT_FALSE(has(t, "tue"));
}

TEST(Tokenizer, HtmlToText) {
  EXPECT_EQ(html_to_text("a&amp;b &#x41;&#66; <br>c", nullptr), "a&b AB \nc");
  EXPECT_EQ(html_to_text("x <- y", nullptr), "x <- y");
  EXPECT_EQ(html_to_text("<style>p{}</style>ok", nullptr), "\n\nok");
  EXPECT_EQ(html_to_text("unterminated <a href='x", nullptr), "unterminated ");
  // An entity's ';' is at most 10 bytes after its '&'.
  EXPECT_EQ(html_to_text("&#00000065; &#000000065; &amp &lt;", nullptr), "A &#000000065; &amp <");
  // Bytes that only look like entities cost one pass: 8 MiB of '&' with no
  // ';' used to be a scan to the end per '&' (hours; ctest's timeout ends it).
  std::string amps(8 << 20, '&');
  EXPECT_EQ(html_to_text(amps, nullptr), amps);
}

// Text the parser left inside unparsed structure still counts: 70 levels
// of multipart (past engine::kMaxDepth), 70 of message/rfc822, and a
// message/rfc822 in base64 (no embedded part is made for it).
TEST(Tokenizer, TextInsideUnparsedStructureCounts) {
  for (const char* type : {"multipart/mixed", "message/rfc822"}) {
    std::string m = "Subject: x\r\nMIME-Version: 1.0\r\n";
    const bool multi = std::string_view(type) == "multipart/mixed";
    for (int i = 0; i < 70; ++i) {
      m += std::string("Content-Type: ") + type;
      m += multi ? "; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" + std::to_string(i) + "\r\n" : "\r\n\r\n";
    }
    m += "Content-Type: text/plain\r\n\r\ncheapest pharmacy online\r\n";
    auto t = texts(m);
    EXPECT_TRUE(has(t, "pharmacy")) << type;
  }
  auto t = texts(
      "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n"
      "U3ViamVjdDogaQ0KDQpjaGVhcGVzdCBwaGFybWFjeSBvbmxpbmUNCg==\r\n");  // "Subject: i\r\n\r\ncheapest pharmacy online"
  EXPECT_TRUE(has(t, "pharmacy"));
}

TEST(Tokenizer, WordsNumbersAndLongRuns) {
  auto t = texts("Subject: x\r\n\r\nonly $100 today 12345 at I ok dont's " + std::string(60, 'z') + "\r\n");
  EXPECT_TRUE(has(t, "$100"));
  EXPECT_TRUE(has(t, "only $100"));
  EXPECT_TRUE(has(t, "today"));
  EXPECT_FALSE(has(t, "12345"));
  EXPECT_FALSE(has(t, "at"));
  EXPECT_TRUE(has(t, "dont's"));
  EXPECT_TRUE(has(t, "skip:z 60"));
  // A long run of non-ASCII letters is named by its first character, whole.
  std::string cyr;
  for (int i = 0; i < 25; ++i) cyr += "\xd0\xb4";  // д
  EXPECT_TRUE(has(texts("Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + cyr + "\r\n"), "skip:\xd0\xb4 50"));
  auto caps = texts("Subject: x\r\n\r\nFREE money OK\r\n");
  EXPECT_TRUE(has(caps, "caps free"));
  EXPECT_FALSE(has(caps, "caps money"));
  EXPECT_FALSE(has(caps, "caps ok"));
}

// Chinese and Japanese put no spaces between words: a run of ideographs or
// kana yields the pairs of adjacent characters (a lone one stands alone),
// never one "skip:" token for a whole sentence.
TEST(Tokenizer, ScriptsWithoutSpacesBecomeCharacterPairs) {
  auto t = texts("Subject: \xe4\xbc\x98\xe6\x83\xa0 offer\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                 "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae"  // 日本語の
                 "\xe3\x80\x82"                                          // 。
                 "\xe5\xad\x97 big sale\r\n");                          // 字
  EXPECT_TRUE(has(t, "\xe6\x97\xa5\xe6\x9c\xac"));          // 日本
  EXPECT_TRUE(has(t, "\xe6\x9c\xac\xe8\xaa\x9e"));          // 本語
  EXPECT_TRUE(has(t, "\xe8\xaa\x9e\xe3\x81\xae"));          // 語の
  EXPECT_TRUE(has(t, "\xe5\xad\x97"));                      // a lone ideograph
  EXPECT_FALSE(has(t, "\xe3\x81\xae\xe5\xad\x97"));         // not across the full stop
  EXPECT_TRUE(has(t, "big sale"));
  EXPECT_TRUE(has(t, "subj \xe4\xbc\x98\xe6\x83\xa0"));     // 优惠 in the Subject
  for (const auto& s : t) EXPECT_NE(s.rfind("skip:", 0), 0u) << s;
  // Legacy charsets are decoded first: GB2312 "中文广告" (Chinese advertisement).
  auto gb = texts("Subject: x\r\nContent-Type: text/plain; charset=gb2312\r\n\r\n\xd6\xd0\xce\xc4\xb9\xe3\xb8\xe6\r\n");
  EXPECT_TRUE(has(gb, "\xe4\xb8\xad\xe6\x96\x87"));         // 中文
  EXPECT_TRUE(has(gb, "\xe6\x96\x87\xe5\xb9\xbf"));         // 文广
  EXPECT_TRUE(has(gb, "\xe5\xb9\xbf\xe5\x91\x8a"));         // 广告
}

// Non-ASCII spaces and punctuation separate words as ASCII ones do;
// non-ASCII letters (Latin, Cyrillic, Hangul) stay inside words.
TEST(Tokenizer, UnicodeSpacesAndPunctuationBreakWords) {
  auto t = texts("Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                 "free\xc2\xa0money \xe2\x80\x9cquoted\xe2\x80\x9d one\xe2\x80\x94two caf\xc3\xa9 "
                 "\xd0\xb4\xd0\xb5\xd0\xbd\xd1\x8c\xd0\xb3\xd0\xb8 \xec\x95\x88\xeb\x85\x95\xed\x95\x98\xec\x84\xb8\xec\x9a\x94\r\n");
  EXPECT_TRUE(has(t, "free"));
  EXPECT_TRUE(has(t, "money"));
  EXPECT_TRUE(has(t, "free money"));
  EXPECT_TRUE(has(t, "quoted"));
  EXPECT_TRUE(has(t, "one"));
  EXPECT_TRUE(has(t, "two"));
  EXPECT_TRUE(has(t, "caf\xc3\xa9"));
  EXPECT_TRUE(has(t, "\xd0\xb4\xd0\xb5\xd0\xbd\xd1\x8c\xd0\xb3\xd0\xb8"));  // деньги
  EXPECT_TRUE(has(t, "\xec\x95\x88\xeb\x85\x95\xed\x95\x98\xec\x84\xb8\xec\x9a\x94"));  // 안녕하세요
  // Raw 8-bit header bytes are read as Latin-1: letters stay in the word.
  auto raw = texts("X-Junk: ab\xff\xfe" "cd\r\n\r\nbody\r\n");
  EXPECT_TRUE(has(raw, "x-junk ab\xc3\xbf\xc3\xbe" "cd"));
}

// Invisible characters inside a word are dropped, so a word disguised with
// soft hyphens or zero-width spaces is the plain word; currency signs stay
// with their amounts; CJK iteration marks belong to their word; truncation
// never leaves half a character.
TEST(Tokenizer, InvisibleCharactersCurrencyAndMarks) {
  auto t = texts("Subject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                 "<p>vi&#173;agra ch\xe2\x80\x8b" "eap pi\xe2\x81\xa0lls win \xc2\xa3" "1000 or \xc2\xa5" "9000 "
                 "\xe4\xba\xba\xe3\x80\x85 \xe6\x97\xa5\xe2\x80\x8b\xe6\x9c\xac \xe3\x83\x89\xe3\x83\xbb\xe3\x82\xa2 "
                 "\xe3\x85\x8b\xe3\x85\x8b\xe3\x85\x8b</p>\r\n");
  EXPECT_TRUE(has(t, "viagra"));
  EXPECT_TRUE(has(t, "cheap"));
  EXPECT_TRUE(has(t, "pills"));
  EXPECT_TRUE(has(t, "cheap pills"));  // a cleaned word still pairs with the next
  EXPECT_TRUE(has(t, "viagra cheap"));
  EXPECT_FALSE(has(t, "agra"));
  EXPECT_TRUE(has(t, "\xc2\xa3" "1000"));                   // £1000
  EXPECT_TRUE(has(t, "\xc2\xa5" "9000"));                   // ¥9000
  EXPECT_TRUE(has(t, "\xe4\xba\xba\xe3\x80\x85"));          // 人々
  EXPECT_TRUE(has(t, "\xe6\x97\xa5\xe6\x9c\xac"));          // 日本 across a zero-width space
  EXPECT_TRUE(has(t, "\xe3\x83\x89"));                      // ド: the middle dot ・ breaks
  EXPECT_FALSE(has(t, "\xe3\x83\x89\xe3\x83\xbb"));
  EXPECT_TRUE(has(t, "\xe3\x85\x8b\xe3\x85\x8b\xe3\x85\x8b"));  // ㅋㅋㅋ: Korean jamo are letters
  // A Subject cut at the header limit in the middle of a character: the
  // last word ends before it, not in half of it.
  std::string subj;
  while (subj.size() < kMaxHeaderBytes - 3) subj += "abc ";
  subj.resize(kMaxHeaderBytes - 3);  // "…abc " then "xy" + "д" across the limit
  subj += "xy\xd0\xb4\xd0\xb4";
  ASSERT_EQ(subj.find("xy"), kMaxHeaderBytes - 3);
  auto cut = texts("Subject: " + subj + "\r\n\r\nbody\r\n");
  EXPECT_TRUE(has(cut, "subj abc"));
  EXPECT_FALSE(has(cut, "subj xy\xd0"));
}

// How a message travelled is not what it is: list and delivery fields give
// no tokens (SpamAssassin's Bayes ignores the same ones), so spam that
// reached a mailing list does not borrow the list's good name.
TEST(Tokenizer, ListAndDeliveryFieldsAreIgnored) {
  auto t = texts(
      "From: news@list.example\r\nTo: bob@example.net\r\nReturn-Path: <bounce@list.example>\r\n"
      "List-Id: Friends <friends.list.example>\r\nList-Unsubscribe: <mailto:leave@list.example>\r\n"
      "X-BeenThere: friends@list.example\r\nX-Mailman-Version: 2.0.11\r\nPrecedence: bulk\r\n"
      "Delivered-To: bob@example.net\r\nSender: friends-admin@list.example\r\nX-Original-To: bob@example.net\r\n"
      "Resent-From: relay@list.example\r\nMailing-List: contact friends-help@list.example\r\n"
      "Subject: hello\r\n\r\nbody text\r\n");
  EXPECT_TRUE(has(t, "from news@list.example"));
  EXPECT_TRUE(has(t, "to bob@example.net"));
  EXPECT_TRUE(has(t, "return-path bounce@list.example"));
  EXPECT_TRUE(has(t, "precedence bulk"));
  for (std::string f : {"list-id", "list-unsubscribe", "x-beenthere", "x-mailman-version", "delivered-to", "sender",
                        "x-original-to", "resent-from", "mailing-list"}) {
    EXPECT_FALSE(has(t, "hdr " + f)) << f;
    for (const auto& s : t) EXPECT_NE(s.rfind(f + " ", 0), 0u) << s;
  }
}

TEST(Tokenizer, BigramsCanBeTurnedOff) {
  TokenizerOptions o;
  o.bigrams = false;
  auto t = texts("Subject: free money\r\n\r\nbuy cheap pills\r\n", o);
  EXPECT_TRUE(has(t, "buy"));
  EXPECT_FALSE(has(t, "buy cheap"));
  EXPECT_FALSE(has(t, "subj free money"));
}

TEST(Tokenizer, CaseInsensitiveAndHashMatchesTokenHash) {
  auto a = tokenize("Subject: x\r\n\r\nHeLLo\r\n", {});
  auto b = tokenize("Subject: x\r\n\r\nhello\r\n", {});
  EXPECT_EQ(a.hashes, b.hashes);
  EXPECT_TRUE(std::binary_search(a.hashes.begin(), a.hashes.end(), token_hash("", "hello")));
  EXPECT_NE(token_hash("", "hello"), token_hash("subj", "hello"));
}

TEST(Tokenizer, LimitsHold) {
  TokenizerOptions o;
  o.max_tokens = 50;
  std::string body;
  for (int i = 0; i < 1000; ++i) body += "word" + std::string(1, char('a' + i % 26)) + std::string(1, char('a' + i / 26 % 26)) + " ";
  auto tl = tokenize("Subject: x\r\n\r\n" + body, o);
  EXPECT_GE(tl.hashes.size(), 50u);   // read until 50 distinct,
  EXPECT_LE(tl.hashes.size(), 100u);  // kept up to twice that
  // Repetition does not use the limit up: 70 KB of one sentence, then the
  // words that matter (the limit used to count every token emitted).
  std::string padded;
  while (padded.size() < 70000) padded += "lorem ipsum dolor sit amet consectetur adipiscing elit\r\n";
  auto t = texts("Subject: x\r\n\r\n" + padded + "cheapest pharmacy online\r\n");
  EXPECT_TRUE(has(t, "pharmacy"));
  // Garbage and empty input yield something or nothing, never a crash.
  tokenize(std::string_view(), {});
  tokenize(std::string("\0\0<<<&#99999999999;<a href=", 27), {});
}

}  // namespace
}  // namespace nougat::scanners
