#include "engine/encoded_word.hpp"

#include "engine/charset.hpp"
#include "engine/transfer_decode.hpp"

namespace nougat::engine {
namespace {

struct Word {
  size_t end = 0;  // one past "?="
  std::string_view charset;
  std::string bytes;
};

enum class Parse { kOk, kMalformed, kNoMore };

// Parses an encoded word starting at v[pos] == '='. kNoMore when no later
// word can be complete either (keeps the scan linear).
Parse parse_word(std::string_view v, size_t pos, Word& w) {
  if (pos + 1 >= v.size() || v[pos + 1] != '?') return Parse::kMalformed;
  size_t cs_begin = pos + 2;
  size_t q1 = v.find('?', cs_begin);
  if (q1 == std::string_view::npos) return Parse::kNoMore;
  if (q1 == cs_begin || q1 + 2 >= v.size()) return Parse::kMalformed;
  char enc = v[q1 + 1];
  if (v[q1 + 2] != '?') return Parse::kMalformed;
  if (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q') return Parse::kMalformed;
  size_t text_begin = q1 + 3;
  size_t close = v.find("?=", text_begin);
  if (close == std::string_view::npos) return Parse::kNoMore;
  std::string_view cs = v.substr(cs_begin, q1 - cs_begin);
  if (size_t star = cs.find('*'); star != std::string_view::npos)
    cs = cs.substr(0, star);  // RFC 2231 lang
  std::string_view text = v.substr(text_begin, close - text_begin);
  if (enc == 'B' || enc == 'b') {
    w.bytes = decode_base64(text);
  } else {
    w.bytes = decode_qp(text, /*header_mode=*/true);
  }
  w.charset = cs;
  w.end = close + 2;
  return Parse::kOk;
}

bool all_space(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

bool same_charset(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::string decode_rfc2047(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  std::string pending;  // bytes of adjacent words in one charset
  std::string_view pending_cs;
  bool have_pending = false;
  auto flush = [&] {
    if (have_pending) out += to_utf8(pending, pending_cs);
    pending.clear();
    have_pending = false;
  };
  size_t literal_begin = 0;  // start of text not yet emitted
  size_t pos = 0;
  bool prev_was_word = false;
  while (pos < v.size()) {
    size_t eq = v.find("=?", pos);
    if (eq == std::string_view::npos) break;
    Word w;
    Parse r = parse_word(v, eq, w);
    if (r == Parse::kNoMore) break;
    if (r == Parse::kMalformed) {
      pos = eq + 1;
      continue;
    }
    std::string_view between = v.substr(literal_begin, eq - literal_begin);
    bool joinable = prev_was_word && all_space(between);
    if (!joinable) {
      flush();
      out += to_utf8(between, "");
    }
    if (have_pending && !same_charset(pending_cs, w.charset)) flush();
    pending += w.bytes;
    pending_cs = w.charset;
    have_pending = true;
    prev_was_word = true;
    literal_begin = pos = w.end;
  }
  flush();
  out += to_utf8(v.substr(literal_begin), "");
  return out;
}

}  // namespace nougat::engine
