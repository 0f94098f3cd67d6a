#include "smtpd/data_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace nougat::smtpd {
namespace {

using Problem = DataReader::Problem;

struct Outcome {
  std::string out;
  size_t consumed = 0;
  bool done = false;
  Problem problem = Problem::kNone;
  uint64_t size = 0;

  bool operator==(const Outcome&) const = default;
};

// Feeds `in` in pieces of `chunk` octets (0 = all at once), like a session
// would: stops feeding once the reader is done.
Outcome run(std::string_view in, DataReader::Limits limits, size_t chunk = 0) {
  DataReader r(limits);
  Outcome o;
  if (chunk == 0) chunk = in.size() + 1;
  while (o.consumed < in.size() && !r.done()) {
    std::string_view piece = in.substr(o.consumed, chunk);
    size_t used = r.feed(piece, o.out);
    EXPECT_LE(used, piece.size());
    if (!r.done()) {
      EXPECT_EQ(used, piece.size());
    }
    o.consumed += used;
  }
  o.done = r.done();
  o.problem = r.problem();
  o.size = r.size();
  return o;
}

constexpr DataReader::Limits kBig{1 << 20, 998};
constexpr std::string_view kSmuggled = "MAIL FROM:<x@y>\r\nRCPT TO:<victim@z>\r\nDATA\r\nevil\r\n";

// Every chunking gives the same outcome as feeding all at once.
void expect_chunk_invariant(std::string_view in, DataReader::Limits limits) {
  Outcome whole = run(in, limits);
  for (size_t chunk = 1; chunk <= in.size(); ++chunk)
    ASSERT_EQ(run(in, limits, chunk), whole) << "chunk size " << chunk;
}

struct Case {
  std::string name;
  std::string in;
  bool done;
  size_t consumed;  // std::string::npos = everything
  std::string out;
  Problem problem;
};

std::vector<Case> cases() {
  const std::string s(kSmuggled);
  const size_t all = std::string::npos;
  std::vector<Case> v = {
      {"empty message", ".\r\n", true, 3, "", Problem::kNone},
      {"simple", "Subject: x\r\n\r\nbody\r\n.\r\n", true, all, "Subject: x\r\n\r\nbody\r\n",
       Problem::kNone},
      {"stops after terminator", "a\r\n.\r\nQUIT\r\n", true, 6, "a\r\n", Problem::kNone},
      {"pipelined rest stays", "a\r\n.\r\n" + s, true, 6, "a\r\n", Problem::kNone},
      {"stuffed dot line", "..\r\n.\r\n", true, all, ".\r\n", Problem::kNone},
      {"stuffed in body", "a\r\n..\r\nb\r\n.\r\n", true, all, "a\r\n.\r\nb\r\n", Problem::kNone},
      {"dot-prefixed text", "a\r\n.foo\r\n..bar\r\n.\r\n", true, all, "a\r\nfoo\r\n.bar\r\n",
       Problem::kNone},
      {"dot not at line start", "a.\r\n.\r\n", true, all, "a.\r\n", Problem::kNone},
      {"no terminator yet", "a\r\nb\r\n", false, all, "a\r\nb\r\n", Problem::kNone},
      {"partial terminator", "a\r\n.\r", false, all, "a\r\n", Problem::kNone},
      {"empty lines", "\r\n\r\n.\r\n", true, all, "\r\n\r\n", Problem::kNone},
      {"8-bit and NUL pass", std::string("\xff\x00x\r\n.\r\n", 8), true, all,
       std::string("\xff\x00x\r\n", 5), Problem::kNone},
      // Smuggling: none of these fake terminators may end DATA.
      {"LF.LF", "a\n.\n" + s, false, all, "a", Problem::kBareLf},
      {"CRLF.LF", "a\r\n.\n" + s, false, all, "a\r\n", Problem::kBareLf},
      {"LF.CRLF", "a\n.\r\n" + s, false, all, "a", Problem::kBareLf},
      {"CR.CR", "a\r.\r" + s, false, all, "a", Problem::kBareCr},
      {"CR.CRLF", "a\r.\r\n" + s, false, all, "a", Problem::kBareCr},
      {"CRLF.CR", "a\r\n.\r" + s, false, all, "a\r\n", Problem::kBareCr},
      {"CRLF.CR.CRLF", "a\r\n.\r.\r\n" + s, false, all, "a\r\n", Problem::kBareCr},
      {"LF.LF at start", ".\n" + s, false, all, "", Problem::kBareLf},
      {"CR at start", ".\r" + s, false, all, "", Problem::kBareCr},
      {"CRCRLF.CRLF", "a\r\r\n.\r\n" + s, true, 7, "a", Problem::kBareCr},
      {"LFCRLF.CRLF", "a\n\r\n.\r\n" + s, true, 7, "a", Problem::kBareLf},
      {"null-byte dot", std::string("a\r\n\0.\r\n", 7) + s, false, all,
       std::string("a\r\n\0.\r\n", 7) + s, Problem::kNone},
      {"space dot", "a\r\n .\r\n" + s, false, all, "a\r\n .\r\n" + s, Problem::kNone},
      {"stuffed dot then smuggle", "a\r\n..\r\n" + s, false, all, "a\r\n.\r\n" + s, Problem::kNone},
      // The real terminator after a smuggling attempt still ends DATA.
      {"LF.LF then real end", "a\n.\n" + s + ".\r\nQUIT\r\n", true, 4 + s.size() + 3, "a",
       Problem::kBareLf},
      {"CR.CR then real end", "a\r.\r" + s + ".\r\n", true, all, "a", Problem::kBareCr},
      {"bare LF mid-line", "ab\ncd\r\n.\r\n", true, all, "ab", Problem::kBareLf},
      {"bare CR mid-line", "ab\rcd\r\n.\r\n", true, all, "ab", Problem::kBareCr},
  };
  return v;
}

TEST(DataReaderTest, Table) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    Outcome o = run(c.in, kBig);
    EXPECT_EQ(o.done, c.done);
    EXPECT_EQ(o.consumed, c.consumed == std::string::npos ? c.in.size() : c.consumed);
    EXPECT_EQ(o.out, c.out);
    EXPECT_EQ(o.problem, c.problem);
    expect_chunk_invariant(c.in, kBig);
  }
}

TEST(DataReaderTest, SmugglingNeverEndsAtFakeTerminator) {
  const std::vector<std::string> fakes = {"\n.\n",     "\r\n.\n",   "\n.\r\n",    "\r.\r\n",
                                          "\r\n.\r",   "\r.\r",     "\n.\r",      "\r.\n",
                                          "\r\n\n.\n", "\n\r.\r\n", "\r\n.\r\r\n"};
  for (const auto& fake : fakes) {
    for (std::string prefix : {"", "x", "x\r\n"}) {
      std::string in = prefix + fake + std::string(kSmuggled);
      SCOPED_TRACE(testing::PrintToString(in));
      Outcome o = run(in, kBig);
      // Done only if the bytes literally contain CRLF.CRLF (or start with .CRLF).
      bool real =
          (" \r\n" + in).find("\r\n.\r\n") != std::string::npos || in.rfind(".\r\n", 0) == 0;
      EXPECT_FALSE(real);
      EXPECT_FALSE(o.done);
      EXPECT_EQ(o.consumed, in.size());
      EXPECT_NE(o.problem, Problem::kNone);
      expect_chunk_invariant(in, kBig);
    }
  }
}

TEST(DataReaderTest, StuffingRoundTrip) {
  // A client stuffs every line starting with '.'; unstuffing gives the original back.
  std::string original = ".\r\n..\r\n.x\r\nplain\r\n.\r\n";
  std::string wire;
  size_t pos = 0;
  while (pos < original.size()) {
    size_t eol = original.find("\r\n", pos) + 2;
    std::string line = original.substr(pos, eol - pos);
    if (line[0] == '.') wire.push_back('.');
    wire += line;
    pos = eol;
  }
  wire += ".\r\n";
  Outcome o = run(wire, kBig);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.out, original);
  EXPECT_EQ(o.size, original.size());
  expect_chunk_invariant(wire, kBig);
}

TEST(DataReaderTest, SizeLimit) {
  DataReader::Limits lim{10, 998};
  // Exactly at the limit: fine.
  Outcome ok = run("12345678\r\n.\r\n", lim);
  EXPECT_TRUE(ok.done);
  EXPECT_EQ(ok.problem, Problem::kNone);
  EXPECT_EQ(ok.out, "12345678\r\n");
  // One over: output stops at the limit, reader stays in sync to the terminator.
  std::string in = "123456789\r\nmore\r\n..\r\n.\r\nQUIT\r\n";
  Outcome big = run(in, lim);
  EXPECT_TRUE(big.done);
  EXPECT_EQ(big.problem, Problem::kTooBig);
  EXPECT_LE(big.out.size(), 10u);
  EXPECT_EQ(big.out, "123456789");
  EXPECT_EQ(big.size, 9u + 2 + 6 + 3);
  EXPECT_EQ(big.consumed, in.size() - 6);
  expect_chunk_invariant(in, lim);
  expect_chunk_invariant("12345678901234567890\r\n.\r\n", lim);
  expect_chunk_invariant("1234567890\r\n.\r\n", lim);
}

TEST(DataReaderTest, LineTooLong) {
  DataReader::Limits lim{1 << 20, 5};
  EXPECT_EQ(run("12345\r\n.\r\n", lim).problem, Problem::kNone);
  EXPECT_EQ(run(".12345\r\n.\r\n", lim).problem, Problem::kNone);  // the stuffed dot does not count
  std::string in = "ok\r\n123456\r\nnext\r\n.\r\n";
  Outcome o = run(in, lim);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.problem, Problem::kLineTooLong);
  EXPECT_EQ(o.out, "ok\r\n12345");
  expect_chunk_invariant(in, lim);
  // Default line limit is 998.
  std::string longline(999, 'x');
  EXPECT_EQ(run(longline + "\r\n.\r\n", {1 << 20}).problem, Problem::kLineTooLong);
  EXPECT_EQ(run(longline.substr(1) + "\r\n.\r\n", {1 << 20}).problem, Problem::kNone);
}

TEST(DataReaderTest, FirstProblemWins) {
  EXPECT_EQ(run("a\nb\rc\r\n.\r\n", kBig).problem, Problem::kBareLf);
  EXPECT_EQ(run("a\rb\nc\r\n.\r\n", kBig).problem, Problem::kBareCr);
  DataReader::Limits lim{3, 998};
  EXPECT_EQ(run("abcd\nx\r\n.\r\n", lim).problem, Problem::kTooBig);
}

TEST(DataReaderTest, FeedAfterDoneConsumesNothing) {
  DataReader r(kBig);
  std::string out;
  EXPECT_EQ(r.feed("x\r\n.\r\nMAIL", out), 6u);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.feed("MAIL FROM:<a@b>\r\n", out), 0u);
  EXPECT_EQ(out, "x\r\n");
}

TEST(DataReaderTest, ProblemReplies) {
  EXPECT_EQ(problem_reply(Problem::kNone), "");
  EXPECT_EQ(problem_reply(Problem::kBareLf).substr(0, 9), "554 5.6.0");
  EXPECT_EQ(problem_reply(Problem::kBareCr).substr(0, 9), "554 5.6.0");
  EXPECT_EQ(problem_reply(Problem::kTooBig).substr(0, 9), "552 5.3.4");
  EXPECT_EQ(problem_reply(Problem::kLineTooLong).substr(0, 9), "500 5.5.2");  // as a command line
}

// BDAT chunks: the rules of DATA without the dot, the same however split.
Problem bdat(const std::vector<std::string>& chunks, DataReader::Limits lim = kBig) {
  BdatChecker c(lim);
  for (const auto& x : chunks)
    if (auto p = c.check(x); p != Problem::kNone) return p;
  return c.finish();
}

TEST(BdatCheckerTest, SameRulesAsData) {
  EXPECT_EQ(bdat({"Subject: a\r\n\r\nbody\r\n"}), Problem::kNone);
  EXPECT_EQ(bdat({"Subject: a\r", "\n\r", "\nbody\r\n", ""}), Problem::kNone);
  EXPECT_EQ(bdat({".\r\n..\r\n"}), Problem::kNone);  // no dot rules
  EXPECT_EQ(bdat({"a\nb\r\n"}), Problem::kBareLf);
  EXPECT_EQ(bdat({"X-Spam-Flag\r: YES\r\n"}), Problem::kBareCr);
  EXPECT_EQ(bdat({"a\r", "b\r\n"}), Problem::kBareCr);
  EXPECT_EQ(bdat({"ends in CR\r"}), Problem::kBareCr);
  EXPECT_EQ(bdat({std::string(998, 'x') + "\r\n"}), Problem::kNone);
  EXPECT_EQ(bdat({std::string(500, 'x'), std::string(499, 'x') + "\r\n"}), Problem::kLineTooLong);
  EXPECT_EQ(bdat({"abc\r\n"}, {5, 998}), Problem::kNone);
  EXPECT_EQ(bdat({"abc", "d\r\n"}, {5, 998}), Problem::kTooBig);
}

TEST(BdatCheckerTest, OneOctetChunksAgreeWithOneChunk) {
  for (std::string m : std::vector<std::string>{"a\r\nb\r\n", "a\rb", "a\n", "x\r\n\r", std::string(999, 'y') + "\r\n"}) {
    std::vector<std::string> octets;
    for (char c : m) octets.emplace_back(1, c);
    EXPECT_EQ(bdat({m}), bdat(octets)) << m;
  }
}

}  // namespace
}  // namespace nougat::smtpd
