#include "engine/system_filter.hpp"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <fstream>

#include "engine/checks.hpp"
#include "filterlang/interpreter.hpp"

namespace nougat::engine {
namespace {

namespace fs = std::filesystem;

class SystemFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nougat-sysfilter-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<SystemFilter> filter(const std::string& text) {
    std::ofstream(dir_ / "system.filter") << "# Exim filter\n" << text;
    auto f = SystemFilter::open(dir_ / "system.filter", "mail.test");
    EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().text);
    return f.ok() ? std::move(*f) : nullptr;
  }
  Verdict run(SystemFilter& f, std::string_view data, const Verdict* earlier = nullptr) {
    MessageFacts msg{"id", data, rcpts_, earlier};
    MailFacts mail;
    mail.sender = "s@example.org";
    return f.on_eod({}, mail, msg);
  }

  fs::path dir_;
  std::vector<std::string> rcpts_{"alice@mail.test", "bob@mail.test"};
};

constexpr std::string_view kMsg = "Received: by x\r\nSubject: hello world\r\nFrom: s@example.org\r\n\r\nbody\r\n";

TEST_F(SystemFilterTest, NoActionsLeaveTheMessageAlone) {
  auto f = filter("if $h_subject: is nothing then fail endif\n");
  Verdict v = run(*f, kMsg);
  EXPECT_EQ(v.action, Action::kContinue);
  EXPECT_TRUE(v.add_headers.empty());
  EXPECT_FALSE(v.recipients);
}

TEST_F(SystemFilterTest, FailRejectsWithTheTextAfterTheLogPart) {
  auto f = filter("if $h_subject: contains hello then fail text \"<<rule 7>>No greetings\\nplease\" endif\n");
  Verdict v = run(*f, kMsg);
  EXPECT_EQ(v.action, Action::kReject);
  EXPECT_EQ(v.code, 550);
  EXPECT_EQ(v.enhanced, "5.7.1");
  EXPECT_EQ(v.text, "No greetings please");
  auto plain = filter("fail\n");
  EXPECT_EQ(run(*plain, kMsg).text, "Rejected by the system filter");
}

TEST_F(SystemFilterTest, FreezeQuarantinesDeferTempfails) {
  auto f = filter("freeze text \"look at it\"\n");
  Verdict v = run(*f, kMsg);
  EXPECT_EQ(v.action, Action::kQuarantine);
  EXPECT_EQ(v.text, "frozen by the system filter: look at it");
  auto d = filter("defer\n");
  Verdict dv = run(*d, kMsg);
  EXPECT_EQ(dv.action, Action::kTempfail);
  EXPECT_EQ(dv.code, 451);
}

TEST_F(SystemFilterTest, HeadersChangeAtOnceAndForTheRestOfTheRun) {
  auto f = filter(
      "headers add \"Old-Subject: $h_subject:\"\n"
      "headers remove subject\n"
      "headers add \"Subject: [x] $h_old-subject:\\nX-Two: a\\n\\tb\"\n"
      "headers remove old-subject\n"
      "if $h_subject: is \"[x] hello world\" then headers add \"X-Seen: new subject\" endif\n");
  Verdict v = run(*f, kMsg);
  EXPECT_EQ(v.action, Action::kContinue);
  EXPECT_EQ(v.add_headers,
            (std::vector<std::string>{"Subject: [x] hello world", "X-Two: a\n\tb", "X-Seen: new subject"}));
  EXPECT_EQ(v.remove_headers, (std::vector<std::string>{"subject", "old-subject"}));
}

// Exim's filter names are exact: "headers remove *" or "X-*" names no field
// (the removal lists would take a last '*' as a wildcard: it is left out).
TEST_F(SystemFilterTest, HeadersRemoveNamesAreExact) {
  auto f = filter("headers add \"X-A: 1\"\nheaders remove \"*:X-*:x-a\"\n");
  Verdict v = run(*f, kMsg);
  EXPECT_EQ(v.remove_headers, std::vector<std::string>{"x-a"});
  EXPECT_TRUE(v.add_headers.empty());
}

TEST_F(SystemFilterTest, MessageHeadersFollowTheEdits) {
  auto f = filter(
      "headers remove received\n"
      "headers add \"X-New: 1\"\n"
      "if $message_headers does not contain Received and $message_headers contains \"X-New: 1\" then\n"
      "  headers add \"X-Ok: yes\"\n"
      "endif\n");
  Verdict v = run(*f, kMsg);
  EXPECT_EQ(v.add_headers, (std::vector<std::string>{"X-New: 1", "X-Ok: yes"}));
}

TEST_F(SystemFilterTest, SeesTheScannersResultsAndRecipients) {
  Verdict earlier;
  earlier.add_headers = {"X-Spam-Flag: YES"};
  earlier.variables = {{"spam_score", "9.9"}, {"spam_score_int", "99"}};
  auto f = filter(
      "if $spam_score_int is above 90 and $h_x-spam-flag: is YES then\n"
      "  headers add \"X-Rcpts: $recipients\"\n"
      "endif\n");
  Verdict v = run(*f, kMsg, &earlier);
  EXPECT_EQ(v.add_headers, std::vector<std::string>{"X-Rcpts: alice@mail.test, bob@mail.test"});
}

TEST_F(SystemFilterTest, SignificantDeliveryReplacesTheRecipients) {
  auto f = filter("deliver postmaster\ndeliver carol@other.test\n");
  Verdict v = run(*f, kMsg);
  ASSERT_TRUE(v.recipients);
  EXPECT_EQ(*v.recipients, (std::vector<std::string>{"postmaster@mail.test", "carol@other.test"}));
  auto u = filter("unseen deliver carol@other.test\nunseen deliver Alice@mail.test\n");
  Verdict uv = run(*u, kMsg);
  ASSERT_TRUE(uv.recipients);
  EXPECT_EQ(*uv.recipients, (std::vector<std::string>{"alice@mail.test", "bob@mail.test", "carol@other.test"}));
}

TEST_F(SystemFilterTest, SeenWithoutDeliveriesDiscards) {
  auto f = filter("if $h_subject: contains hello then seen finish endif\n");
  EXPECT_EQ(run(*f, kMsg).action, Action::kDiscard);
}

TEST_F(SystemFilterTest, SaveAndPipeDeferRatherThanLoseMail) {
  auto f = filter("save /tmp/archive\n");
  EXPECT_EQ(run(*f, kMsg).action, Action::kTempfail);
}

TEST_F(SystemFilterTest, NVariablesBecomeSn) {
  auto f = filter("add 5 to n2\n");
  Verdict v = run(*f, kMsg);
  EXPECT_EQ(v.variables, (std::vector<std::pair<std::string, std::string>>{{"sn2", "5"}}));
}

TEST_F(SystemFilterTest, BrokenFilterFailsAtOpenAndTempfailsAfterAnEdit) {
  std::ofstream(dir_ / "bad.filter") << "# Exim filter\nif $h_subject: contains x then\n";
  auto bad = SystemFilter::open(dir_ / "bad.filter", "mail.test");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().text.find("bad.filter"), std::string::npos);
  EXPECT_NE(bad.error().text.find("endif"), std::string::npos);
  EXPECT_FALSE(SystemFilter::open(dir_ / "missing.filter", "mail.test").ok());

  auto f = filter("headers add \"X-A: 1\"\n");
  EXPECT_EQ(run(*f, kMsg).add_headers, std::vector<std::string>{"X-A: 1"});
  // Edited (a different size, so a different identity): the next message uses it.
  std::ofstream(dir_ / "system.filter") << "# Exim filter\nheaders add \"X-B: 22\"\n";
  EXPECT_EQ(run(*f, kMsg).add_headers, std::vector<std::string>{"X-B: 22"});
  std::ofstream(dir_ / "system.filter") << "# Exim filter\nif true then\n";
  EXPECT_EQ(run(*f, kMsg).action, Action::kTempfail);
}

TEST(HeaderText, SplitsFieldsAndKeepsFolds) {
  auto h = filterlang::split_header_text("  X-A: 1\nX-B: 2\n  more\nnot a header\n\n");
  ASSERT_EQ(h.fields.size(), 2u);
  EXPECT_EQ(h.fields[0], (std::pair<std::string, std::string>{"X-A", " 1"}));
  EXPECT_EQ(h.fields[1], (std::pair<std::string, std::string>{"X-B", " 2\n  more"}));
  EXPECT_EQ(h.bad, std::vector<std::string>{"not a header"});
  EXPECT_EQ(filterlang::header_names(" a : b::c "), (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
}  // namespace nougat::engine
