// DataReader: the SMTP DATA stream state machine (RFC 5321 4.1.1.4, 4.5.2).
//
// Contract (smuggling safety): the ONLY end of data is the octet sequence
// CRLF "." CRLF, where the first CRLF may be the virtual one before the first
// byte (so ".\r\n" at the very start ends an empty message). "\n.\n",
// "\r\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\r" ... never end it. A bare LF (not
// preceded by CR) or bare CR (not followed by LF) anywhere sets a problem;
// a bare LF never starts a new line, so a "." after it is plain content.
// Dot-unstuffing: a line starting with "." loses that dot. CRLF is kept.
//
// feed() consumes bytes up to and including the terminator and no further,
// so pipelined commands after it stay in the caller's buffer. The reader
// holds no bytes at all between calls (only a few state bits), so results —
// output, problem, size, consumed count — are identical however the input is
// split into chunks. Once a problem is set, output stops growing (what was
// appended is exactly the message prefix before the offending byte) and the
// reader keeps consuming until the terminator to stay in sync; the session
// must then reply with problem_reply() and deliver nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nougat::smtpd {

class DataReader {
 public:
  struct Limits {
    uint64_t max_size;      // message octets after unstuffing, CRLFs included
    size_t max_line = 998;  // octets per line after unstuffing, excluding CRLF
  };
  enum class Problem { kNone, kBareLf, kBareCr, kTooBig, kLineTooLong };

  explicit DataReader(Limits limits) : limits_(limits) {}

  // Appends the unstuffed message to `out`; returns the input octets consumed
  // (== in.size() unless the terminator was found). Returns 0 once done().
  size_t feed(std::string_view in, std::string& out);

  bool done() const { return state_ == State::kDone; }
  Problem problem() const { return problem_; }  // the first problem seen
  uint64_t size() const { return size_; }       // counted even while discarding

 private:
  enum class State { kLineStart, kDot, kDotCr, kInLine, kCr, kDone };

  void content(const char* p, size_t n, std::string& out);
  void line_end(std::string& out);
  void set_problem(Problem p);

  Limits limits_;
  State state_ = State::kLineStart;
  Problem problem_ = Problem::kNone;
  uint64_t size_ = 0;
  uint64_t line_len_ = 0;
};

// BdatChecker: the same rules for BDAT chunks (RFC 3030), which carry the
// message as is — no dot-stuffing, the length says where a chunk ends: every
// LF preceded by CR, every CR followed by LF (also across chunks), lines and
// the whole within the limits. So a message reads the same whichever way it
// came in. check() returns the first problem seen (kNone while all is well);
// the octets of a chunk with a problem must not be kept.
class BdatChecker {
 public:
  explicit BdatChecker(DataReader::Limits limits) : limits_(limits) {}
  DataReader::Problem check(std::string_view chunk);
  // At LAST: a CR at the very end is a bare one.
  DataReader::Problem finish();

 private:
  DataReader::Limits limits_;
  DataReader::Problem problem_ = DataReader::Problem::kNone;
  bool cr_ = false;  // the previous octet was a CR
  uint64_t size_ = 0;
  uint64_t line_len_ = 0;
};

// The reply (without CRLF) for a problem; "" for kNone.
std::string_view problem_reply(DataReader::Problem p);

}  // namespace nougat::smtpd
