#include "smtpd/data_reader.hpp"

#include <algorithm>

namespace nougat::smtpd {

void DataReader::set_problem(Problem p) {
  if (problem_ == Problem::kNone) problem_ = p;
}

// Appends n content octets, stopping output exactly at the first octet that
// breaks a limit (size checked before line length, octet by octet), so the
// output never depends on how the input was chunked.
void DataReader::content(const char* p, size_t n, std::string& out) {
  if (problem_ == Problem::kNone) {
    uint64_t by_size = limits_.max_size - size_;  // size_ <= max_size while no problem
    uint64_t by_line = limits_.max_line - line_len_;
    uint64_t fit = std::min<uint64_t>({n, by_size, by_line});
    out.append(p, static_cast<size_t>(fit));
    if (fit < n) set_problem(by_size <= by_line ? Problem::kTooBig : Problem::kLineTooLong);
  }
  size_ += n;
  line_len_ += n;
}

void DataReader::line_end(std::string& out) {
  size_ += 2;
  line_len_ = 0;
  if (problem_ != Problem::kNone) return;
  if (size_ > limits_.max_size) {
    set_problem(Problem::kTooBig);
    return;
  }
  out.append("\r\n");
}

size_t DataReader::feed(std::string_view in, std::string& out) {
  size_t i = 0;
  const size_t n = in.size();
  while (i < n && state_ != State::kDone) {
    char c = in[i];
    switch (state_) {
      case State::kLineStart:
        if (c == '.') {
          state_ = State::kDot;
          ++i;
          continue;
        }
        state_ = State::kInLine;
        continue;  // reprocess c in kInLine
      case State::kDot:
        if (c == '\r') {
          state_ = State::kDotCr;
          ++i;
          continue;
        }
        state_ = State::kInLine;  // the dot was stuffing; c is content
        continue;
      case State::kDotCr:
        if (c == '\n') {
          state_ = State::kDone;
          ++i;
          continue;
        }
        // ".\r" + something else: a bare CR in a line whose dot was removed.
        set_problem(Problem::kBareCr);
        content("\r", 1, out);
        state_ = State::kInLine;
        continue;  // reprocess c (may itself be CR)
      case State::kCr:
        if (c == '\n') {
          line_end(out);
          state_ = State::kLineStart;
          ++i;
          continue;
        }
        set_problem(Problem::kBareCr);
        content("\r", 1, out);
        state_ = State::kInLine;
        continue;  // reprocess c
      case State::kInLine: {
        if (c == '\r') {
          state_ = State::kCr;
          ++i;
          continue;
        }
        if (c == '\n') {
          set_problem(Problem::kBareLf);
          content("\n", 1, out);
          ++i;
          continue;
        }
        size_t j = i + 1;
        while (j < n && in[j] != '\r' && in[j] != '\n') ++j;
        content(in.data() + i, j - i, out);
        i = j;
        continue;
      }
      case State::kDone:
        break;
    }
  }
  return i;
}

DataReader::Problem BdatChecker::check(std::string_view chunk) {
  using P = DataReader::Problem;
  if (problem_ != P::kNone) return problem_;
  // Octet by octet, the size too: the first problem is the same however the
  // message is cut into chunks.
  for (char c : chunk) {
    if (++size_ > limits_.max_size) return problem_ = P::kTooBig;
    if (cr_ && c != '\n') return problem_ = P::kBareCr;
    if (c == '\n') {
      if (!cr_) return problem_ = P::kBareLf;
      cr_ = false;
      line_len_ = 0;
      continue;
    }
    if (c == '\r') {
      cr_ = true;
      continue;
    }
    if (++line_len_ > limits_.max_line) return problem_ = P::kLineTooLong;
  }
  return P::kNone;
}

DataReader::Problem BdatChecker::finish() {
  if (problem_ == DataReader::Problem::kNone && cr_) problem_ = DataReader::Problem::kBareCr;
  return problem_;
}

std::string_view problem_reply(DataReader::Problem p) {
  switch (p) {
    case DataReader::Problem::kNone:
      return "";
    case DataReader::Problem::kBareLf:
      return "554 5.6.0 Bare LF not allowed (RFC 5321 2.3.8)";
    case DataReader::Problem::kBareCr:
      return "554 5.6.0 Bare CR not allowed (RFC 5321 2.3.8)";
    case DataReader::Problem::kTooBig:
      return "552 5.3.4 Message size exceeds fixed limit";
    case DataReader::Problem::kLineTooLong:
      // As for an over-long command line (the foundation's contract):
      // RFC 5321 4.5.3.1.6's 1000 octets; Exim's smtp transport refuses to
      // send such a line on, so it is refused here, before a bounce.
      return "500 5.5.2 Line too long (RFC 5321 4.5.3.1.6)";
  }
  return "";
}

}  // namespace nougat::smtpd
