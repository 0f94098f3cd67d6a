#include "engine/mbox.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nougat::engine {
namespace {

std::vector<std::string> messages(std::string_view s) {
  std::vector<std::string> r;
  for (const auto& p : mbox_split(s)) r.emplace_back(s.substr(p.offset, p.length));
  return r;
}

TEST(MboxFromLine, DatesMustBePossible) {
  EXPECT_TRUE(mbox_from_line("From a@b Tue Aug  6 11:51:02 2002"));
  EXPECT_TRUE(mbox_from_line("From a@b Tue Aug 31 23:59:60 2002"));  // a leap second
  EXPECT_TRUE(mbox_from_line("From a@b Sat Jan  3 01:05 1996"));
  EXPECT_FALSE(mbox_from_line("From a@b Tue Aug 32 11:51:02 2002"));
  EXPECT_FALSE(mbox_from_line("From a@b Tue Aug  0 11:51:02 2002"));
  EXPECT_FALSE(mbox_from_line("From a@b Tue Jan 99 24:99:99 2002"));
  EXPECT_FALSE(mbox_from_line("From a@b Tue Aug  6 24:00:00 2002"));
  EXPECT_FALSE(mbox_from_line("From a@b Tue Aug  6 23:60:00 2002"));
  EXPECT_FALSE(mbox_from_line("From a@b Tue Aug  6 23:59:61 2002"));
  EXPECT_FALSE(mbox_from_line("From a@b Tue Aug  6 1:05:00 2002"));
}

// Exim's uucp_from_pattern, table-driven: the sender, or no match.
TEST(UucpFromLine, AsEximTakesIt) {
  struct Case {
    const char* line;
    const char* sender;  // nullptr: no match
  } cases[] = {
      {"From a@b Tue Aug  6 11:51:02 2002", "a@b"},
      {"From a@b Aug  6 11:51", "a@b"},              // no weekday
      {"From a@b Tue, 6 Aug 2002 11:51:02", "a@b"},  // day before month, comma
      {"From a@b 6 Aug 02 11:51", "a@b"},            // two-digit year
      {"From\ta@b\tTue Aug 6 1:5", "a@b"},          // tabs; one-digit hour and minute
      {"From a@b Tue Aug  6 11:51:02 2002 trailing words", "a@b"},  // a prefix match
      {"From a@b 6 Aug 200 11:51", nullptr},         // three-digit year
      {"From a@b Tue Aug 116 11:51", nullptr},
      {"From the desk of Dr. Mbeki Lottery Winner", nullptr},
      {"From a@b", nullptr},
      {"From  Tue Aug  6 11:51:02 2002", "Tue"},     // the weekday is taken for the sender
      {"Fromage a@b Tue Aug  6 11:51:02 2002", nullptr},
  };
  for (const auto& c : cases) {
    auto s = uucp_from_sender(c.line);
    if (c.sender) {
      ASSERT_TRUE(s) << c.line;
      EXPECT_EQ(*s, c.sender) << c.line;
    } else {
      EXPECT_FALSE(s) << c.line;
    }
  }
  EXPECT_TRUE(leading_from_line("From barry at python.org  Tue Aug  6 11:51:02 2002"));  // Mailman's
  EXPECT_TRUE(leading_from_line("From a@b Tue Aug  6 11:51:02 2002\r"));
  EXPECT_FALSE(leading_from_line("From the desk of Dr. Mbeki Lottery Winner"));
}

// mboxcl2 (no "From " escaping): a valid Content-Length carries the body
// over a From_ line inside it; mutt and Dovecot read it so.
TEST(MboxSplit, ContentLengthThatHoldsIsTheLength) {
  std::string body = "Hi,\nFrom bob Tue Feb  2 10:00:00 2021\nis not a separator here.\n";
  std::string box = "From a@b Tue Aug  6 11:51:02 2002\nSubject: one\nContent-Length: " +
                    std::to_string(body.size()) + "\n\n" + body + "\nFrom c@d Wed Aug  7 11:51:02 2002\nSubject: two\n\nx\n";
  auto m = messages(box);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_TRUE(m[0].ends_with("\n\n" + body)) << m[0];
  EXPECT_EQ(m[1], "From c@d Wed Aug  7 11:51:02 2002\nSubject: two\n\nx\n");

  // At the end of the file, and without a blank line before the next one.
  std::string last = "From a@b Tue Aug  6 11:51:02 2002\nContent-Length: 4\n\nabc\n";
  EXPECT_EQ(messages(last), std::vector<std::string>{last});
  std::string tight = "From a@b Tue Aug  6 11:51:02 2002\nContent-Length: 4\n\nabc\nFrom c@d Wed Aug  7 11:51:02 2002\n\ny\n";
  EXPECT_EQ(messages(tight).size(), 2u);
  EXPECT_EQ(messages(tight)[0], "From a@b Tue Aug  6 11:51:02 2002\nContent-Length: 4\n\nabc\n");
}

// A Content-Length that does not end where a message starts is ignored:
// the From_ lines decide, as before.
TEST(MboxSplit, ContentLengthThatDoesNotHoldIsIgnored) {
  for (std::string cl : {"3", "100", "9999999999999", "abc", "", "-1"}) {
    std::string box = "From a@b Tue Aug  6 11:51:02 2002\nContent-Length: " + cl +
                      "\n\nabcdef\n\nFrom c@d Wed Aug  7 11:51:02 2002\n\ny\n";
    auto m = messages(box);
    ASSERT_EQ(m.size(), 2u) << cl;
    EXPECT_TRUE(m[0].ends_with("\n\nabcdef\n")) << cl;
  }
  // A Content-Length ending in the middle of a line ends nothing there,
  // whatever follows: writers escape "From " only at the start of a line.
  std::string midline = "From a@b Tue Aug  6 11:51:02 2002\nContent-Length: 10\n\n"
                        "firstpart From x@y Mon Jan  1 00:00:00 2024\nSubject: sneaky\n\nmore\n\n"
                        "From c@d Wed Aug  7 11:51:02 2002\n\ny\n";
  ASSERT_EQ(messages(midline).size(), 2u);
  EXPECT_TRUE(messages(midline)[0].ends_with("Subject: sneaky\n\nmore\n"));
  // CRLF: the count includes the CRs; the blank line after is CRLF too.
  std::string crlf = "From a@b Tue Aug  6 11:51:02 2002\r\nContent-Length: 5\r\n\r\nab\r\nFrom x Tue Feb  2 10:00:00 2021\r\n"
                     "\r\nFrom c@d Wed Aug  7 11:51:02 2002\r\n\r\ny\r\n";
  EXPECT_EQ(messages(crlf).size(), 3u);  // 5 is wrong: the From_ lines decide
  std::string body = "ab\r\nFrom x Tue Feb  2 10:00:00 2021\r\n";
  std::string crlf_ok = "From a@b Tue Aug  6 11:51:02 2002\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\n\r\n" + body + "\r\nFrom c@d Wed Aug  7 11:51:02 2002\r\n\r\ny\r\n";
  ASSERT_EQ(messages(crlf_ok).size(), 2u);
  EXPECT_TRUE(messages(crlf_ok)[0].ends_with(body));
  // The next message's Content-Length is not this one's.
  std::string box = "From a@b Tue Aug  6 11:51:02 2002\nSubject: no blank line\n"
                    "From c@d Wed Aug  7 11:51:02 2002\nContent-Length: 2\n\ny\n";
  EXPECT_EQ(messages(box).size(), 2u);
}

// mboxrd: every ">*From " line got one more '>'; reading takes one off.
TEST(MboxUnescape, OneGreaterThanLess) {
  std::string m = "From a@b Tue Aug  6 11:51:02 2002\nSubject: x\n\n>From here\n>>From there\n> From quoted\n>Fromage\nFrom\n";
  EXPECT_TRUE(mbox_has_escapes(m));
  EXPECT_EQ(mbox_unescape(m),
            "From a@b Tue Aug  6 11:51:02 2002\nSubject: x\n\nFrom here\n>From there\n> From quoted\n>Fromage\nFrom\n");
  std::string plain = "From a@b Tue Aug  6 11:51:02 2002\n\n> From quoted\n";
  EXPECT_FALSE(mbox_has_escapes(plain));
  EXPECT_EQ(mbox_unescape(plain), plain);
}

}  // namespace
}  // namespace nougat::engine
