// Unit tests for the filter language: lexer, parser errors (table), the
// interpreter's actions and significance, .forward lists and the cache.
// The byte-for-byte report is covered by the differential suite (cases/).
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "filterlang/cache.hpp"
#include "filterlang/conditions.hpp"
#include "filterlang/forward.hpp"
#include "filterlang/interpreter.hpp"
#include "filterlang/lexer.hpp"
#include "filterlang/parser.hpp"
#include "filterlang/program.hpp"
#include "filterlang/report.hpp"

namespace nougat::filterlang {
namespace {

class Msg final : public ExpandContext {
 public:
  std::optional<std::string> variable(std::string_view name) const override {
    if (name == "local_part") return "me";
    if (name == "domain" || name == "qualify_domain") return "here.example";
    if (name == "sender_address" || name == "return_path") return sender;
    return std::nullopt;
  }
  const std::vector<std::pair<std::string, std::string>>& headers() const override { return hs; }
  std::string sender = "s@x.example";
  std::vector<std::pair<std::string, std::string>> hs = {{"To", " me@here.example"}, {"From", " a@x.example"}};
};

TEST(Lexer, WordsItemsAndLines) {
  Lexer lx("  # c\nabc \"q\\x41\\101\\n\" b#c\n");
  lx.skip();
  EXPECT_EQ(lx.line(), 2);
  EXPECT_EQ(lx.word(false).text, "abc");
  auto t = lx.item(false);
  EXPECT_TRUE(t.quoted);
  EXPECT_EQ(t.text, "qAA\n");
  EXPECT_EQ(lx.word(false).text, "b#c");
  EXPECT_TRUE(lx.at_end());
  EXPECT_EQ(lx.line(), 3);
}

TEST(Lexer, UnterminatedString) {
  Lexer lx("\"abc\nx");
  (void)lx.item(false);
  EXPECT_EQ(lx.error(), "quote missing at end of string in line 1");
}

struct ErrCase {
  const char* src;
  const char* error;
};

TEST(Parser, ErrorTable) {
  const ErrCase cases[] = {
      {"if 1 is 1 then\n", "\"endif\" missing at end of filter file"},
      {"frob\n", "unknown filtering command \"frob\" near line 2 of filter file"},
      {"deliver\n", "\"deliver\" requires an argument near line 2 of filter file"},
      {"endif", "unexpected \"endif\" command near line 1 of filter file"},
      {"fail", "filtering command \"fail\" is disabled: near line 1 of filter file"},
      {"if ", "\"then\" missing at end of filter file"},
      {"if 1 frob 2 then endif", "unrecognized condition word \"frob\" near line 1 of filter file"},
      {"seen", "\"seen\" or \"unseen\" near line 1 is not followed by a command"},
  };
  for (const auto& c : cases) {
    auto r = parse_filter(c.src);
    EXPECT_FALSE(r.ast) << c.src;
    EXPECT_EQ(r.error, c.error) << c.src;
  }
}

TEST(Parser, FilterTag) {
  EXPECT_TRUE(is_exim_filter("  \n#   EXIM   FILTER x"));
  EXPECT_TRUE(is_exim_filter("# Eximfilter"));
  EXPECT_FALSE(is_exim_filter("# sieve filter"));
  EXPECT_FALSE(is_exim_filter("bob@example.org"));
}

RunResult run(std::string_view src, const Msg& m = Msg()) {
  auto c = compile_filter(src);
  EXPECT_TRUE(c.program) << c.error;
  return run_filter(*c.program, m);
}

TEST(Interpreter, DeliverIsSignificant) {
  auto r = run("deliver \"Bob <bob@b.example>\"\nunseen save /tmp/x 640\n");
  ASSERT_EQ(r.actions.size(), 2u);
  EXPECT_EQ(r.actions[0].value, "bob@b.example");
  EXPECT_EQ(r.actions[1].mode, 0640);
  EXPECT_FALSE(r.actions[1].seen);
  EXPECT_EQ(r.outcome, Outcome::kDelivered);
}

// An '@' inside quotes is part of the local part: the address gets the
// qualify domain (exim -bF: errors_to "x@y" is "x@y"@host).
TEST(Interpreter, AnAtInQuotesIsNoDomain) {
  auto r = run("deliver \"\\\"x@y\\\"\"\n");
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].value, "\"x@y\"@here.example");
}

TEST(Interpreter, ConditionsAndPrecedence) {
  auto r = run("if 1 is 2 and 1 is 1 or 2 is 2 then testprint yes else testprint no endif\n"
               "if not (1 is 1 or 1 is 2) then testprint bad endif\n");
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].value, "yes");
  EXPECT_EQ(r.outcome, Outcome::kNotDelivered);
}

TEST(Interpreter, FinishStopsAndAddCounts) {
  auto r = run("add 2 to n1\nadd 0x10 to n1\nif 1 is 1 then seen finish endif\ntestprint never\n");
  EXPECT_EQ(r.n[1], 18);
  EXPECT_EQ(r.actions.back().kind, ActionKind::kFinish);
  EXPECT_EQ(r.outcome, Outcome::kDelivered);
}

TEST(Interpreter, RuntimeErrorsKeepEarlierActions) {
  auto r = run("testprint a\nif x is above 1 then endif\ntestprint b\n");
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.outcome, Outcome::kError);
  EXPECT_EQ(r.error, "malformed numerical string \"x\"");
}

TEST(Interpreter, PersonalAndErrorMessage) {
  Msg m;
  EXPECT_EQ(run("if personal then testprint p endif", m).actions.size(), 1u);
  m.hs.emplace_back("List-Id", " <x>");
  EXPECT_TRUE(run("if personal then testprint p endif", m).actions.empty());
  m.sender = "";
  EXPECT_EQ(run("if error_message then testprint e endif", m).actions.size(), 1u);
}

TEST(Conditions, Numbers) {
  EXPECT_EQ(filter_number(" 12 "), 12);
  EXPECT_EQ(filter_number("2k"), 2048);
  EXPECT_EQ(filter_number("1M"), 1048576);
  EXPECT_EQ(filter_number("0x10"), 16);
  EXPECT_FALSE(filter_number("12.4"));
  EXPECT_FALSE(filter_number(""));
}

TEST(Conditions, RegexCaptures) {
  auto re = compile_regex("^(a)(x)?(b)", true);
  std::vector<std::string> caps;
  ASSERT_TRUE(regex_match(*re, "ABc", &caps));
  EXPECT_EQ(caps, (std::vector<std::string>{"AB", "A", "", "B"}));
  EXPECT_FALSE(compile_regex("(abc", false)->error.empty());
}

TEST(Forward, ListAndReport) {
  auto fl = parse_forward_list("a@b.example, \\me\n# c\n\"B\" <c@d.example>\n", "here.example");
  ASSERT_TRUE(fl.error.empty());
  EXPECT_EQ(fl.addresses, (std::vector<std::string>{"a@b.example", "me@here.example", "c@d.example"}));
  std::string out;
  EXPECT_EQ(forward_report(fl, out), 0);
  EXPECT_EQ(out, "exim: forward file generated:\n  c@d.example\n  me@here.example\n  a@b.example\n");
  // As exim -bf: a plain local part takes the qualify domain, "\x" the
  // recipient's domain.
  auto two = parse_forward_list("bob, \\me\n", "here.example", "host.example");
  ASSERT_TRUE(two.error.empty());
  EXPECT_EQ(two.addresses, (std::vector<std::string>{"bob@host.example", "me@here.example"}));
}

// Exim's parse_extract_address: one address, its error texts (checked
// against exim -bf).
TEST(Forward, ExtractAddressAsExim) {
  struct Case {
    const char* in;
    const char* out;  // nullptr: error
    const char* error;
  } cases[] = {
      {"\"Ann B\" <ann@y.example>", "ann@y.example", ""},
      {"a@b, \"Ann B\" <ann@y.example>", nullptr, "malformed address: , \"Ann B\" <ann@y.example> may not follow a@b"},
      {"a@b, <c@d>", nullptr, "malformed address: , <c@d> may not follow a@b"},
      {"\"Ann B\" <ann@y.example>, x@y", nullptr, "malformed address: , x@y may not follow \"Ann B\" <ann@y.example>"},
      {"@nodomain", nullptr, "no local part"},
      {"<x@y.example", nullptr, "'>' missing at end of address"},
      {"\\me", "\\me", ""},            // a quoted pair in the local part, kept as written
      {"a\\b@x.example", "a\\b@x.example", ""},
      // stop 14's differential review: empty words between dots, domain labels, the text as written
      {"a..b@c", "a..b@c", ""},
      {".a@b", ".a@b", ""},
      {"a.@b", "a.@b", ""},
      {"a@b_c", nullptr, "malformed address: _c may not follow a@b"},
      {"a@-b", nullptr, "domain missing or malformed"},
      {"a@b.-c", nullptr, "domain missing or malformed"},
      {"a\x7f@b", nullptr, "missing or malformed local part (expected word or \"<\")"},  // DEL ends the atom
      {"<a@b x>", nullptr, "malformed address: x> may not follow <a@b "},
      {"a@b (c) x", nullptr, "malformed address: x may not follow a@b (c) "},
      {"b:c\"", nullptr, "missing or malformed local part (expected word or \"<\")"},
      {";", nullptr, "empty address"},
      {"(a@b", nullptr, "empty address"},  // an unclosed comment runs to the end
      {",", nullptr, "missing or malformed local part (expected word or \"<\")"},
      {"<>", nullptr, "missing or malformed local part"},
      {"@", nullptr, "domain missing or malformed"},
      {"<@>", nullptr, "domain missing or malformed"},
      {"<a@b> (c", "a@b", ""},
      {"A (c) <a@b>", "a@b", ""},
      {"g: x <a@b>", nullptr, "missing or malformed local part (expected word or \"<\")"},  // a phrase is words
      {"A, B <a@b>", nullptr, "missing or malformed local part (expected word or \"<\")"},
      {"a;<a@b>", nullptr, "malformed address: ;<a@b> may not follow a"},
      {"@r,@s:a@b", "a@b", ""},  // an RFC 821 source route, also without <>
      {"@r,s:a@b", nullptr, "colon expected after route list"},
      {"@r:a", nullptr, "domain missing in source-routed address"},
      {"<@r a@b>", nullptr, "no local part"},
  };
  for (const auto& c : cases) {
    std::string err;
    auto a = extract_address(c.in, err);
    if (c.out) {
      ASSERT_TRUE(a) << c.in << ": " << err;
      EXPECT_EQ(*a, c.out);
    } else {
      EXPECT_FALSE(a) << c.in;
      EXPECT_EQ(err, c.error) << c.in;
    }
  }
}

// Exim qualifies a local message's address fields and folds after a
// rewritten address once the line passes 40 characters (checked against
// exim -bf).
TEST(Forward, QualifyAddressListAsExim) {
  EXPECT_EQ(qualify_address_list(" t, \"A\" <v>, w@x.example", "vm", 3), " t@vm, \"A\" <v@vm>, w@x.example");
  EXPECT_EQ(qualify_address_list(" g: m, n;, bad address, (c) k (d)", "vm", 3),
            " g: m@vm, n@vm;, bad address, (c) k@vm (d)");
  EXPECT_EQ(qualify_address_list(" aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, b", "vm", 3),
            " aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@vm, \n\tb@vm");  // 41 characters before b: folded
  EXPECT_EQ(qualify_address_list(" aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, b", "vm", 3),
            " aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@vm, b@vm");  // 40: not
  EXPECT_EQ(qualify_address_list(" aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@q.example, b", "vm", 3),
            " aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@q.example, b@vm");  // only after a rewrite
}

TEST(Cache, KeyedByFileIdentity) {
  ProgramCache cache(2);
  FileKey k{1, 2, 3, 4};
  auto a = cache.get(k, "deliver a@b.example");
  auto b = cache.get(k, "ignored: same key");
  EXPECT_EQ(a.program, b.program);
  EXPECT_EQ(cache.hits(), 1u);
  k.mtime_ns = 5;
  EXPECT_NE(cache.get(k, "deliver c@d.example").program, a.program);
  (void)cache.get(FileKey{9, 9, 9, 9}, "finish");
  EXPECT_EQ(cache.size(), 2u);
}

}  // namespace
}  // namespace nougat::filterlang
