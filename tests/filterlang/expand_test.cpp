// Unit tests for the expander's API contract (the Exim-compatibility table
// lives in expand_oracle_test.cpp): compile once / run many, captures,
// limits, hostile input, and that message data is never re-expanded.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "filterlang/expand.hpp"

namespace nougat::filterlang {
namespace {

class Ctx : public ExpandContext {
 public:
  explicit Ctx(std::string subject = "Hello") { headers_ = {{"Subject", " " + subject}, {"X-Dollar", " $nosuch ${lc:X}"}}; }
  std::optional<std::string> variable(std::string_view name) const override {
    if (name == "local_part") return std::string("joe");
    if (name == "message_body") return std::string("${eval:1/0}");
    return std::nullopt;
  }
  const HeaderList& headers() const override { return headers_; }

 private:
  HeaderList headers_;
};

std::string ok(std::string_view text, ExpandState st = {}) {
  Ctx ctx;
  auto r = expand_string(text, ctx, st);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().text);
  return r ? *r : std::string();
}

std::string err(std::string_view text, ExpandState st = {}) {
  Ctx ctx;
  auto r = expand_string(text, ctx, st);
  EXPECT_FALSE(r) << text;
  return r ? std::string() : r.error().text;
}

TEST(Expand, CompileOnceRunManyAcrossThreads) {
  auto c = compile_expansion("${uc:$h_subject:}-$local_part");
  ASSERT_TRUE(c);
  std::shared_ptr<const Expansion> e = *c;
  EXPECT_FALSE(is_constant(*e));
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Ctx ctx("s" + std::to_string(t));
      for (int i = 0; i < 200; ++i) {
        ExpandState st;
        auto r = expand(*e, ctx, st);
        if (r && *r == "S" + std::to_string(t) + "-joe") ++good;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 800);
}

TEST(Expand, ConstantStrings) {
  auto c = compile_expansion("plain \\N$x\\N text\\n");
  ASSERT_TRUE(c);
  EXPECT_TRUE(is_constant(**c));
}

// A string with nothing to expand before its syntax error fails to compile;
// one with something runs that first (below), then fails the same way.
TEST(Expand, SyntaxErrors) {
  auto c = compile_expansion("${if}");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().text, "condition name expected, but found \"}\"");
  EXPECT_FALSE(compile_expansion("abc${if}"));
  EXPECT_EQ(err("${lc:x"), "missing } at end of string");
}

// Exim expands as it reads: an error in what comes first is the one it
// reports, and an unknown operator is found after its argument.
TEST(Expand, ErrorsInEximsOrder) {
  EXPECT_EQ(err("$bogus${lcx:a}"), "unknown variable name \"bogus\"");
  EXPECT_EQ(err("${lc:$bogus}${if}"), "unknown variable name \"bogus\"");
  EXPECT_EQ(err("${headerwrap_30:${mask:x}}"), "\"x\" is not an IP address");
  EXPECT_EQ(err("${if eq{a}{a}{y}{${foo:x}}}"), "unknown expansion operator \"foo\"");  // in a branch not taken too
  EXPECT_EQ(err("abc${if}"), "condition name expected, but found \"}\"");
}

// From a differential run against exim -bf, and the fuzzer.
TEST(Expand, AsEximPrintsThem) {
  EXPECT_EQ(ok("${hash_5_62:abcdefg}"), "utLMN");  // Exim's code table swaps "t" and "s"
  EXPECT_EQ(ok("${nhash_9223372036854775807_58:abc}"), "555/46");  // no overflow
  EXPECT_EQ(ok("${rfc2047:a b}"), "a b");
  EXPECT_EQ(ok("${base64d:YW Jj}"), "abc");
  EXPECT_NE(err("${base64d:YWJjZA}").find("not well-formed"), std::string::npos);  // padding wanted
  EXPECT_EQ(ok("${listcount:<\n a\n b}"), "2");
  EXPECT_EQ(err("${if >= { a:b:c}{0} {y}{n}}"), "integer expected but \"a:b:c\" found");
  EXPECT_EQ(err("${mask:bad}"), "\"bad\" is not an IP address");
  EXPECT_EQ(err("${lc:$h_subject}"), "missing } at end of string - could be header name not terminated by colon");
  EXPECT_EQ(ok("${base62d:1Z} ${base32d:abc}"), "97 34");
  EXPECT_EQ(ok("${from_utf8:abc\xc3\xa9\xe2\x82\xac}"), "abc\xe9_");
  EXPECT_EQ(ok("${if exists{/}{y}{n}}${if exists{/no/such/path}{y}{n}}"), "yn");
  // found by the fuzzer: a field number beyond a long (Exim takes a C int)
  EXPECT_EQ(ok("${listextract{-199999999999999999999}{a:b}}"), "");
  EXPECT_EQ(ok("${listextract{4294967297}{a:b}}${extract{4294967297}{:}{a:b}}"), "aa");
  // found by the fuzzer: a negative ${hash} length read outside the string
  // (and crashes Exim); a negative ${nhash} divisor is Exim's huge unsigned one
  EXPECT_EQ(err("${hash{-1}{2}{abc}}"), "\"-1\" is not a positive number (in \"hash\" expansion)");
  EXPECT_EQ(ok("${nhash{-1}{abc}}"), "32236");
}

TEST(Expand, MessageDataIsNeverReexpanded) {
  EXPECT_EQ(ok("$h_x-dollar:"), "$nosuch ${lc:X}");
  EXPECT_EQ(ok("$message_body"), "${eval:1/0}");
  EXPECT_EQ(ok("${lc:$h_x-dollar:}"), "$nosuch ${lc:x}");
}

TEST(Expand, MessageDataIsNeverCode) {
  // ${expand:} refuses text made from message data, as Exim 4.96's taint check does.
  EXPECT_EQ(err("${expand:$h_x-dollar:}"),
            "internal expansion of \"$nosuch ${lc:X}\" failed: attempt to expand tainted string '$nosuch ${lc:X}'");
  EXPECT_EQ(err("${expand:${lc:$h_x-dollar:}}"),
            "internal expansion of \"$nosuch ${lc:x}\" failed: attempt to expand tainted string '$nosuch ${lc:x}'");
  EXPECT_FALSE(err("${expand:$message_body}").empty());
  EXPECT_FALSE(err("${expand:${if match{$h_subject:}{(.*)}{$1}}}").empty());     // captures of message data
  EXPECT_FALSE(err("${expand:${map{$h_subject:}{x$item}}}").empty());            // $item of a tainted list
  EXPECT_FALSE(err("${expand:${extract{a}{a=$h_subject:}{$value}}}").empty());   // $value of tainted data
  // Through items that expand again or set variables (a second review's finds).
  EXPECT_EQ(err("${sg{x}{x}{$h_x-dollar:}}"), "attempt to expand tainted string '$nosuch ${lc:X}'");
  EXPECT_FALSE(err("${expand:${sg{x}{x}{\\$h_subject:}}}").empty());
  EXPECT_FALSE(err("${sg{$h_subject:}{\\N^(.*)$\\N}{\\N${expand:$1}\\N}}").empty());
  EXPECT_FALSE(err("${prvscheck{prvs=1234ABCDEF=$h_subject:@x}{s}{${expand:$prvscheck_address}}}").empty());
  EXPECT_FALSE(err("${reduce{a:b}{}{${if eq{$item}{a}{$h_subject:}{${expand:$value}}}}}").empty());
  EXPECT_FALSE(err("${extract{k}{k=$h_subject:}{${map{a}{${expand:$value}}}}}").empty());
  EXPECT_FALSE(err("${if match{$h_subject:}{${if eq{a}{a}{(.*)}}}{${expand:$1}}}").empty());
  // What only reads message data to decide, or computes from it, is not tainted.
  EXPECT_EQ(ok("${expand:${hmac{md5}{k}{$h_subject:}}}").size(), 32u);
  EXPECT_EQ(ok("${expand:${reduce{$h_subject:}{}{$value.}}}"), ".");
  // Exim's documented way to de-taint: the matching item of a list written in the filter.
  EXPECT_EQ(ok("${expand:${if match_local_part{$h_subject:}{bob : hello}{$value}}}"), "hello");
  EXPECT_FALSE(err("${expand:${if match_local_part{$h_subject:}{bob : hello}{$0}}}").empty());
  EXPECT_FALSE(err("${expand:${if inlist{Hello}{$h_subject:}{$value}}}").empty());  // inlist's list is expanded
  EXPECT_EQ(ok("${expand:${if eq{$h_subject:}{Hello}{\\$local_part}}}"), "joe");
  EXPECT_EQ(ok("${expand:${strlen:$h_subject:}}"), "5");
  EXPECT_EQ(ok("${expand:${map{$h_subject:}{x}}}"), "x");
  EXPECT_EQ(ok("${expand:${extract{$h_subject:}{Hello=1}{$value}}}"), "1");
  // A header that expands itself is refused at once, not run to the depth limit.
  class Self : public Ctx {
   public:
    Self() : headers_{{"X", " ${expand:$h_x:}"}} {}
    const HeaderList& headers() const override { return headers_; }
    HeaderList headers_;
  } self;
  ExpandState st;
  auto r = expand_string("${expand:$h_x:}", self, st);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().text,
            "internal expansion of \"${expand:$h_x:}\" failed: attempt to expand tainted string '${expand:$h_x:}'");
}

TEST(Expand, NestingIsBoundedAcrossExpandAndConditions) {
  // Conditions and ${expand:} levels count against the depth limit: deep
  // nesting fails instead of overflowing the stack.
  std::string inner = "${if eq{a}{a}{y}}";
  for (int i = 0; i < 60; ++i) inner = "${if forany{a}{eq{" + inner + "}{y}}{y}}";
  std::string s = inner;
  for (int i = 0; i < 12; ++i) {
    std::string escaped;
    for (char c : s) {
      if (c == '$' || c == '}' || c == '\\') escaped += '\\';
      escaped += c;
    }
    s = "${expand:" + escaped + "}";
  }
  Ctx ctx;
  ExpandState st;
  (void)expand_string(s, ctx, st);  // fails or succeeds, but returns
  SUCCEED();
}

TEST(Expand, RandomAndJsonEdges) {
  for (int i = 0; i < 50; ++i) {
    int v = std::stoi(ok("${randint:3}"));
    EXPECT_TRUE(v >= 0 && v < 3) << v;
  }
  // Exim 4.96 crashes on these; nougat names what is missing
  EXPECT_EQ(err("${if forany_json{1,2}{eq{$item}{1}}}"), "missing '[' wrapping array for forany_json");
  EXPECT_EQ(err("${if forall_jsons{[1,2}{eq{$item}{1}}}"), "missing ']' wrapping array for forall_jsons");
}

// Signed return paths on a fixed day (2026-11-29, day 20786): the expected
// texts are what exim -bf printed that day.
class Day20786 : public Ctx {
 public:
  std::optional<std::string> variable(std::string_view name) const override {
    if (name == "tod_epoch") return std::to_string(20786LL * 86400 + 3600);
    return Ctx::variable(name);
  }
};

std::string on_day(std::string_view text, ExpandState& st) {
  Day20786 ctx;
  auto r = expand_string(text, ctx, st);
  return r ? *r : "ERR:" + r.error().text;
}

TEST(Expand, PrvsAndSrsAsEximComputesThem) {
  ExpandState st;
  EXPECT_EQ(on_day("${prvs{user@example.com}{secret}}", st), "prvs=079341e088=user@example.com");
  EXPECT_EQ(on_day("${prvs{user@example.com}{secret}{3}}", st), "prvs=37936db424=user@example.com");
  EXPECT_EQ(on_day("${prvs{User@Example.COM}{secret}}", st), "prvs=079358ebb8=User@Example.COM");
  // valid until its day stamp; the variables inside the item, the result after it
  EXPECT_EQ(on_day("${prvscheck{prvs=07867e8775=user@example.com}{secret}}|$prvscheck_result|$prvscheck_address", st),
            "user@example.com|1|");
  EXPECT_EQ(on_day("${prvscheck{prvs=5790e81588=user@example.com}{secret}{R=$prvscheck_result A=$prvscheck_address "
                   "K=$prvscheck_keynum}}",
                   st),
            "R=1 A=user@example.com K=5");
  EXPECT_EQ(on_day("${prvscheck{prvs=07853508f8=user@example.com}{secret}}|$prvscheck_result|", st),
            "user@example.com||");  // expired yesterday
  EXPECT_EQ(on_day("${prvscheck{prvs=07867E8775=user@example.com}{secret}}|$prvscheck_result|", st),
            "user@example.com||");  // Exim's hash is lowercase, compared as is
  EXPECT_EQ(on_day("${srs_encode{secret}{user@example.com}{mydom.example}}", st),
            "SRS0=b3d4=js=example.com=user@mydom.example");
  EXPECT_EQ(on_day("${srs_encode{secret}{\"a b\"@example.com}{mydom.example}}", st),
            "\"SRS0=e74c=js=example.com=a b\"@mydom.example");
  EXPECT_EQ(on_day("${if inbound_srs{SRS0=b3d4=js=example.com=user}{secret}{Y:$srs_recipient}{N:$srs_recipient}}", st),
            "Y:user@example.com");
  EXPECT_EQ(on_day("${if inbound_srs{SRS0=b3d4=ji=example.com=user}{secret}{Y}{N}}", st), "Y");  // 10 days old: still good
  EXPECT_EQ(on_day("${if inbound_srs{SRS0=b3d4=jh=example.com=user}{}{Y}{N}}", st), "Y");        // no secret: no checks
  EXPECT_EQ(on_day("${if inbound_srs{SRS0=b3d4=jh=example.com=user}{secret}{Y}{N}}", st), "N");  // 11 days old
}

TEST(Expand, CapturesFromStateAndRestoredAfterIf) {
  ExpandState st;
  st.captures = {"all", "one", "two"};
  EXPECT_EQ(ok("$1-$2-$3", st), "one-two-");
  EXPECT_EQ(ok("${if match{abc}{(b)}{$1}}:$1", st), "b:one");
  EXPECT_EQ(ok("${sg{abc}{(b)}{[\\$1]}}:$1", st), "a[b]c:one");
}

TEST(Expand, OutputLimit) {
  ExpandState st;
  st.max_output = 100;
  std::string big(200, 'x');
  EXPECT_FALSE(err(big, st).empty());
  EXPECT_FALSE(err("${sg{" + std::string(60, 'a') + "}{a}{aaaa}}", st).empty());
}

TEST(Expand, HostileInputIsBounded) {
  auto t0 = std::chrono::steady_clock::now();
  Ctx ctx;
  ExpandState st;
  // catastrophic backtracking: the match limit stops it
  (void)expand_string("${if match{" + std::string(40, 'a') + "!}{^(a+)+\\$}{y}{n}}", ctx, st);
  (void)expand_string("${sg{" + std::string(2000, 'a') + "}{(a*)*b}{x}}", ctx, st);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  // deep nesting fails cleanly instead of overflowing the stack
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "${lc:";
  EXPECT_FALSE(compile_expansion(deep + "x"));
  EXPECT_FALSE(err("${eval:" + std::string(100000, '(') + "1}").empty());
  EXPECT_FALSE(err("${eval:" + std::string(100000, '-') + "1}").empty());
  std::string ifs;
  for (int i = 0; i < 5000; ++i) ifs += "${if !";
  EXPECT_FALSE(compile_expansion(ifs));
}

TEST(Expand, HelpersForContexts) {
  HeaderList h = {{"From", " a@b"}, {"Subject", " =?utf-8?q?caf=C3=A9?=  "}, {"Reply-To", "  "}};
  EXPECT_EQ(message_headers_value(h, false), "From: a@b\nSubject: caf\xc3\xa9\nReply-To:");
  EXPECT_EQ(message_headers_value(h, true), "From: a@b\nSubject: =?utf-8?q?caf=C3=A9?=  \nReply-To:  \n");
  EXPECT_EQ(reply_address_value(h), "a@b");
}

}  // namespace
}  // namespace nougat::filterlang
