// Tests for smtpd/command.hpp and smtpd/reply.hpp. The line parsers take one
// complete line (the session's line reader does the chunking), so there is
// no chunked re-feed here; data_reader_test covers the streaming parser.
#include "smtpd/command.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smtpd/reply.hpp"

namespace nougat::smtpd {
namespace {

TEST(CommandTest, ParseCommandTable) {
  struct Case {
    std::string line;
    Verb verb;
    std::string arg;
  };
  const std::vector<Case> cases = {
      {"HELO example.org", Verb::kHelo, "example.org"},
      {"ehlo example.org", Verb::kEhlo, "example.org"},
      {"MAIL FROM:<a@b>", Verb::kMail, "FROM:<a@b>"},
      {"Rcpt TO:<a@b> NOTIFY=NEVER", Verb::kRcpt, "TO:<a@b> NOTIFY=NEVER"},
      {"DATA", Verb::kData, ""},
      {"DATA   ", Verb::kData, ""},
      {"BDAT 100 LAST", Verb::kBdat, "100 LAST"},
      {"RSET", Verb::kRset, ""},
      {"NOOP hello", Verb::kNoop, "hello"},
      {"QUIT", Verb::kQuit, ""},
      {"VRFY x", Verb::kVrfy, "x"},
      {"EXPN x", Verb::kExpn, "x"},
      {"HELP", Verb::kHelp, ""},
      {"StartTLS", Verb::kStarttls, ""},
      {"AUTH PLAIN AGFAYg==", Verb::kAuth, "PLAIN AGFAYg=="},
      {"AUTH LOGIN\t", Verb::kAuth, "LOGIN"},
      {"FOO bar", Verb::kUnknown, "bar"},
      {"MAILFROM:<a@b>", Verb::kUnknown, ""},
      {"GET / HTTP/1.1", Verb::kUnknown, "/ HTTP/1.1"},
      {"HELO  two-spaces", Verb::kHelo, " two-spaces"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto r = parse_command(c.line);
    ASSERT_TRUE(r.ok()) << r.error().text;
    EXPECT_EQ(r->verb, c.verb);
    EXPECT_EQ(r->arg, c.arg);
  }
}

TEST(CommandTest, ParseCommandRejects) {
  const std::vector<std::string> bad = {
      "",
      " HELO x",
      std::string("HE\0LO", 5),
      "H\xc3\xa9LO x",
      "HELO\tx",
      "MAIL\x7f",
      "DATA\r",
      "HELO a\nMAIL FROM:<a@b>",
      std::string("HELO x\0y", 8),
  };
  for (const auto& line : bad) {
    SCOPED_TRACE(testing::PrintToString(line));
    auto r = parse_command(line);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().text, "500 5.5.2 Syntax error");
  }
  EXPECT_EQ(kMaxCommandLine, 512u);
}

TEST(CommandTest, MailFromTable) {
  struct Case {
    std::string arg;
    std::string address;
  };
  const std::vector<Case> cases = {
      {"FROM:<a@b.example>", "a@b.example"},
      {"from:<A@B.Example>", "A@b.example"},
      {"FROM: <a@b>", "a@b"},
      {"FROM:  <a@b>", "a@b"},
      {"FROM:<>", ""},
      {"FROM:<@relay.example,@r2.example:user@d.example>", "user@d.example"},
      {"FROM:<\"john doe\"@x.org>", "\"john doe\"@x.org"},
      {"FROM:<\"john\"@x.org>", "john@x.org"},
      {"FROM:<\"a>b\"@x.org>", "\"a>b\"@x.org"},
      {"FROM:<a@[192.0.2.1]>", "a@[192.0.2.1]"},
      {"FROM:<a@[IPv6:2001:DB8::1]>", "a@[IPv6:2001:db8::1]"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arg);
    auto r = parse_mail_from(c.arg);
    ASSERT_TRUE(r.ok()) << r.error().text << " / " << r.error().detail;
    EXPECT_EQ(r->address, c.address);
    EXPECT_FALSE(r->size.has_value());
    EXPECT_EQ(r->body, MailFrom::k7bit);
    EXPECT_FALSE(r->smtputf8);
  }
}

TEST(CommandTest, MailFromParams) {
  auto r = parse_mail_from(
      "FROM:<a@b> SIZE=12345 BODY=8bitmime SMTPUTF8 AUTH=<> RET=hdrs ENVID=QQ314159+2B");
  ASSERT_TRUE(r.ok()) << r.error().text << " / " << r.error().detail;
  EXPECT_EQ(r->size, 12345u);
  EXPECT_EQ(r->body, MailFrom::k8bitmime);
  EXPECT_TRUE(r->smtputf8);
  EXPECT_EQ(r->auth, "<>");
  EXPECT_EQ(r->ret, "HDRS");
  EXPECT_EQ(r->envid, "QQ314159+2B");

  r = parse_mail_from("FROM:<a@b>  BODY=BINARYMIME  AUTH=e+3Dmc2@example.com");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, MailFrom::kBinarymime);
  EXPECT_EQ(r->auth, "e+3Dmc2@example.com");

  r = parse_mail_from("FROM:<a@b> SIZE=99999999999999999999999999");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size, UINT64_MAX);

  r = parse_mail_from("FROM:<j\xc3\xb6rg@m\xc3\xbcller.example> SMTPUTF8");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->address, "j\xc3\xb6rg@m\xc3\xbcller.example");
}

TEST(CommandTest, MailFromErrors) {
  struct Case {
    std::string arg;
    std::string reply;
  };
  const std::string syntax = "501 5.5.4 Syntax: MAIL FROM:<address>";
  const std::string bad = "501 5.1.7 Bad sender address syntax";
  const std::string unsupported = "555 5.5.4 Unsupported parameter";
  const std::vector<Case> cases = {
      {"", syntax},
      {"FROM:", syntax},
      {"FROM:a@b", syntax},
      {"FROM:<a@b", syntax},
      {"FROM:a@b>", syntax},
      {"TO:<a@b>", syntax},
      {"FROM <a@b>", syntax},
      {"FROM:<a@b>SIZE=1", syntax},
      {"FROM:<a@b> XYZZY=1", unsupported},
      {"FROM:<a@b> NOTIFY=NEVER", unsupported},
      {"FROM:<a@b> SIZE=12x", "501 5.5.4 Bad SIZE parameter"},
      {"FROM:<a@b> SIZE", "501 5.5.4 Bad SIZE parameter"},
      {"FROM:<a@b> BODY=9BIT", "501 5.5.4 Bad BODY parameter"},
      {"FROM:<a@b> SMTPUTF8=yes", "501 5.5.4 Bad SMTPUTF8 parameter"},
      {"FROM:<a@b> RET=ALL", "501 5.5.4 Bad RET parameter"},
      {"FROM:<a@b> ENVID=a+zz", "501 5.5.4 Bad ENVID parameter"},
      {"FROM:<a@b> AUTH=a+4", "501 5.5.4 Bad AUTH parameter"},
      {"FROM:<a@b> SIZE=1 size=2", "501 5.5.4 Duplicate parameter"},
      {"FROM:<a@b> =x", "501 5.5.4 Bad parameter syntax"},
      {"FROM:<a@b> SIZE=", "501 5.5.4 Bad parameter syntax"},
      {"FROM:<a@b> SIZE=1=2", "501 5.5.4 Bad parameter syntax"},
      {"FROM:<a>", bad},
      {"FROM:<@b>", bad},
      {"FROM:<a@>", bad},
      {"FROM:<a..b@c>", bad},
      {"FROM:<.a@c>", bad},
      {"FROM:<a b@c>", bad},
      {"FROM:<a@b..c>", bad},
      {"FROM:<a@-b.c>", bad},
      {"FROM:<a@b-.c>", bad},
      {"FROM:<a@b_c.d>", bad},
      {"FROM:<a@b.c.>", bad},
      {"FROM:<@r.example:>", bad},
      {"FROM:<@r.example>", bad},
      {"FROM:<@r_x:a@b>", bad},
      {"FROM:<@r.example,:a@b>", bad},
      {"FROM:<a@[300.1.1.1]>", bad},
      {"FROM:<a@[IPv6:zz::1]>", bad},
      {"FROM:<a@[foo]>", bad},
      {"FROM:<j\xc3\xb6rg@example.com>", bad},           // UTF-8 without SMTPUTF8
      {"FROM:<j\xff@example.com> SMTPUTF8", bad},        // invalid UTF-8
      {"FROM:<" + std::string(65, 'a') + "@b>", bad},    // local part > 64
      {"FROM:<a@" + std::string(64, 'b') + ".c>", bad},  // label > 63
      {"FROM:<a@" + std::string(250, 'b') + ">", bad},   // label > 63
      {"FROM:<" + std::string(64, 'a') + "@" +
           [] {  // path > 256, parts within limits
             std::string d;
             for (int i = 0; i < 20; ++i) d += "bbbbbbbbb.";
             return d + "c";
           }() +
           ">",
       bad},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arg);
    auto r = parse_mail_from(c.arg);
    ASSERT_FALSE(r.ok()) << r->address;
    EXPECT_EQ(r.error().text, c.reply);
  }
}

TEST(CommandTest, RcptTo) {
  struct Case {
    std::string arg;
    std::string address;
  };
  const std::vector<Case> ok = {
      {"TO:<user@Example.ORG>", "user@example.org"},
      {"to: <user@example.org>", "user@example.org"},
      {"TO:<postmaster>", "postmaster"},
      {"TO:<PostMaster>", "postmaster"},
      {"TO:<Postmaster@Example.org>", "Postmaster@example.org"},
      {"TO:<@a.example,@b.example:user@d.example>", "user@d.example"},
  };
  for (const auto& c : ok) {
    SCOPED_TRACE(c.arg);
    auto r = parse_rcpt_to(c.arg);
    ASSERT_TRUE(r.ok()) << r.error().text << " / " << r.error().detail;
    EXPECT_EQ(r->address, c.address);
  }
  auto r = parse_rcpt_to("TO:<a@b> NOTIFY=success,delay ORCPT=rfc822;a+40b");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->notify, "SUCCESS,DELAY");
  EXPECT_EQ(r->orcpt, "rfc822;a+40b");
  EXPECT_TRUE(parse_rcpt_to("TO:<\xc3\xa9@b>", true).ok());

  const std::string syntax = "501 5.5.4 Syntax: RCPT TO:<address>";
  const std::string bad = "501 5.1.3 Bad recipient address syntax";
  const std::vector<std::pair<std::string, std::string>> errors = {
      {"TO:a@b", syntax},
      {"FROM:<a@b>", syntax},
      {"TO:<a@b", syntax},
      {"TO:<>", bad},
      {"TO:<postmaster2>", bad},
      {"TO:<\xc3\xa9@b>", bad},
      {"TO:<a@b> SIZE=10", "555 5.5.4 Unsupported parameter"},
      {"TO:<a@b> NOTIFY=NEVER,SUCCESS", "501 5.5.4 Bad NOTIFY parameter"},
      {"TO:<a@b> NOTIFY=SUCCESS,SUCCESS", "501 5.5.4 Bad NOTIFY parameter"},
      {"TO:<a@b> NOTIFY=", "501 5.5.4 Bad parameter syntax"},
      {"TO:<a@b> ORCPT=a@b", "501 5.5.4 Bad ORCPT parameter"},
      {"TO:<a@b> ORCPT=;a@b", "501 5.5.4 Bad ORCPT parameter"},
      {"TO:<a@b> ORCPT=rfc822;", "501 5.5.4 Bad ORCPT parameter"},
  };
  for (const auto& [arg, reply] : errors) {
    SCOPED_TRACE(arg);
    auto e = parse_rcpt_to(arg);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().text, reply);
  }
}

TEST(CommandTest, Bdat) {
  struct Case {
    std::string arg;
    bool ok;
    uint64_t size;
    bool last;
  };
  const std::vector<Case> cases = {
      {"0", true, 0, false},
      {"1000", true, 1000, false},
      {"1000 LAST", true, 1000, true},
      {"0 last", true, 0, true},
      {"18446744073709551615", true, UINT64_MAX, false},
      {"18446744073709551616", false, 0, false},
      {"", false, 0, false},
      {"LAST", false, 0, false},
      {"-1", false, 0, false},
      {"10x", false, 0, false},
      {"10 FIRST", false, 0, false},
      {"10 LAST x", false, 0, false},
      {" 10", false, 0, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arg);
    bool last = !c.last;
    auto r = parse_bdat(c.arg, last);
    ASSERT_EQ(r.ok(), c.ok);
    if (c.ok) {
      EXPECT_EQ(*r, c.size);
      EXPECT_EQ(last, c.last);
    } else {
      EXPECT_EQ(r.error().text, "501 5.5.4 Syntax: BDAT size [LAST]");
    }
  }
}

TEST(CommandTest, Xtext) {
  EXPECT_EQ(*decode_xtext("a+2Bb+3dc"), "a+b=c");
  EXPECT_FALSE(decode_xtext("a+2").ok());
  EXPECT_FALSE(decode_xtext("a=b").ok());
  EXPECT_FALSE(decode_xtext("a b").ok());
}

TEST(ReplyTest, FormatReply) {
  EXPECT_EQ(format_reply(250, "2.1.0", "Ok"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(format_reply(354, "", "End data with <CR><LF>.<CR><LF>"),
            "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(format_reply(550, "5.1.1", "No such user\nTry again\n"),
            "550-5.1.1 No such user\r\n550 5.1.1 Try again\r\n");
  EXPECT_EQ(format_reply(250, "", ""), "250\r\n");
  EXPECT_EQ(format_reply(250, "2.0.0", ""), "250 2.0.0\r\n");
  EXPECT_EQ(format_reply(221, "", "bye\rX\x01"), "221 bye?X?\r\n");
  EXPECT_EQ(format_reply(221, "", "bye\r\nX"), "221-bye?\r\n221 X\r\n");
  EXPECT_EQ(format_reply(99, "", "x"), "451 x\r\n");
}

TEST(ReplyTest, EhloReply) {
  EXPECT_EQ(ehlo_reply("mx.example", "Hello client.test", {"PIPELINING", "SIZE 1000", "8BITMIME"}),
            "250-mx.example Hello client.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n"
            "250 8BITMIME\r\n");
  EXPECT_EQ(ehlo_reply("mx.example", "", {}), "250 mx.example\r\n");
  EXPECT_EQ(ehlo_reply("mx", "Hello a\nb", {}), "250 mx Hello a?b\r\n");
}

}  // namespace
}  // namespace nougat::smtpd
