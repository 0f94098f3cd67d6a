// Fuzzes DataReader: the first byte picks a chunk size and limits, the rest
// is the DATA stream. Feeding in chunks must give exactly what feeding the
// whole input gives (output, consumed count, done, problem, size); a
// reference byte-at-a-time model checks the terminator rule. The same input
// as BDAT content: BdatChecker's verdict must not depend on the chunking and
// must match an independent statement of the rules. Aborts on mismatch.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtpd/data_reader.hpp"

namespace {

using nougat::smtpd::DataReader;

struct Outcome {
  std::string out;
  size_t consumed = 0;
  bool done = false;
  DataReader::Problem problem = DataReader::Problem::kNone;
  uint64_t size = 0;
  bool operator==(const Outcome&) const = default;
};

Outcome run(std::string_view in, DataReader::Limits lim, size_t chunk) {
  DataReader r(lim);
  Outcome o;
  while (o.consumed < in.size() && !r.done()) {
    std::string_view piece = in.substr(o.consumed, chunk);
    size_t used = r.feed(piece, o.out);
    if (used > piece.size() || (!r.done() && used != piece.size())) std::abort();
    o.consumed += used;
  }
  o.done = r.done();
  o.problem = r.problem();
  o.size = r.size();
  return o;
}

// The terminator rule, stated independently: data ends right after the first
// "\r\n.\r\n" (with a virtual CRLF before the first byte).
size_t expected_end(std::string_view in) {
  if (in.substr(0, 3) == ".\r\n") return 3;
  size_t p = in.find("\r\n.\r\n");
  return p == std::string_view::npos ? std::string_view::npos : p + 5;
}

// Reference unstuffing for streams without problems: split on CRLF, drop one
// leading dot per line; a trailing partial line loses a pending CR.
std::string reference(std::string_view in, size_t end) {
  std::string_view body = end == std::string_view::npos ? in : in.substr(0, end - 3);
  std::string out;
  while (true) {
    size_t eol = body.find("\r\n");
    std::string_view line = body.substr(0, eol);
    if (!line.empty() && line.front() == '.') line.remove_prefix(1);
    if (eol == std::string_view::npos) {
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      out += line;
      return out;
    }
    out += line;
    out += "\r\n";
    body.remove_prefix(eol + 2);
  }
}

// BdatChecker: the same problem however the chunks fall, and a problem
// exactly when the whole breaks a rule (stated independently here).
DataReader::Problem bdat(std::string_view in, DataReader::Limits lim, size_t chunk) {
  nougat::smtpd::BdatChecker c(lim);
  for (size_t p = 0; p < in.size(); p += chunk)
    if (auto r = c.check(in.substr(p, chunk)); r != DataReader::Problem::kNone) return r;
  return c.finish();
}

bool bdat_ok(std::string_view in, DataReader::Limits lim) {
  if (in.size() > lim.max_size) return false;
  size_t line = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      if (i + 1 >= in.size() || in[i + 1] != '\n') return false;
      ++i;
      line = 0;
    } else if (in[i] == '\n') {
      return false;
    } else if (++line > lim.max_line) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t sel = data[0];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t chunk = (sel & 0x1F) + 1;
  DataReader::Limits lim{(sel & 0x20) ? 64u : (1u << 20), (sel & 0x40) ? 16u : 998u};

  Outcome whole = run(in, lim, in.size() + 1);
  if (!(run(in, lim, chunk) == whole)) std::abort();
  if (!(run(in, lim, 1) == whole)) std::abort();

  size_t end = expected_end(in);
  if (whole.done != (end != std::string_view::npos)) std::abort();
  if (whole.done && whole.consumed != end) std::abort();
  if (!whole.done && whole.consumed != in.size()) std::abort();
  if (whole.out.size() > lim.max_size || whole.out.size() > whole.size) std::abort();
  if (whole.problem == DataReader::Problem::kNone && whole.out.size() != whole.size) std::abort();
  if (whole.problem == DataReader::Problem::kNone && whole.out != reference(in, end)) std::abort();

  auto b = bdat(in, lim, in.size() + 1);
  if (bdat(in, lim, chunk) != b || bdat(in, lim, 1) != b) std::abort();
  if ((b == DataReader::Problem::kNone) != bdat_ok(in, lim)) std::abort();
  return 0;
}
