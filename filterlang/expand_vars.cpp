// Variables and header fields: $name, ${name}, $h_/$header_ (trimmed, joined,
// RFC 2047 decoded to UTF-8), $bh_/$bheader_ (decoded, no charset
// conversion), $rh_/$rheader_ (raw). Follows Exim 4.96's find_header() and
// rfc2047_decode2(); headers_charset is UTF-8 as in Debian's build.
#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang::detail {
namespace {

constexpr size_t kHeaderInsertMaxLen = 64 * 1024;  // Exim's header_insert_maxlen
}  // namespace
constexpr size_t kHeaderInsertMaxLenPublic = kHeaderInsertMaxLen;
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Exim joins several fields of these with ",\n" (header types B C F R S T; Resent- forms get the same type).
bool is_address_header(std::string_view name) {
  if (name.size() > 7 && iequal(name.substr(0, 7), "resent-")) name.remove_prefix(7);
  for (std::string_view n : {"from", "to", "cc", "bcc", "reply-to", "sender"})
    if (iequal(name, n)) return true;
  return false;
}

int b64val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool qp_decode(std::string_view in, std::string& out) {
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '_') {
      out += ' ';
    } else if (c == '=') {
      int a = i + 1 < in.size() ? hexval(in[i + 1]) : -1;
      int b = i + 2 < in.size() ? hexval(in[i + 2]) : -1;
      if (a < 0 || b < 0) return false;
      out += static_cast<char>(a * 16 + b);
      i += 2;
    } else if (c == ' ' || c == '\t') {
      return false;
    } else {
      out += c;
    }
  }
  return true;
}

struct MimeWord {
  size_t start, end;  // [start, end) covers =?...?=
  std::string charset;
  std::string data;
};

// Finds the next decodable encoded word at or after from.
bool next_mimeword(std::string_view s, size_t from, MimeWord& w) {
  for (size_t at = from;; ) {
    size_t mw = s.find("=?", at);
    if (mw == std::string_view::npos) return false;
    size_t q1 = s.find('?', mw + 2);
    if (q1 == std::string_view::npos) return false;
    size_t q2 = s.find('?', q1 + 1);
    if (q2 == std::string_view::npos) return false;
    size_t end = s.find("?=", q2 + 1);
    if (end == std::string_view::npos) return false;
    at = mw + 2;
    if (end - mw > 73 || q2 - q1 != 2) continue;
    char enc = static_cast<char>(std::toupper(static_cast<unsigned char>(s[q1 + 1])));
    std::string_view text = s.substr(q2 + 1, end - q2 - 1);
    std::string data;
    bool ok = false;
    if (enc == 'B') {
      auto r = base64_decode(text);
      if (r) { data = std::move(*r); ok = true; }
    } else if (enc == 'Q') {
      ok = qp_decode(text, data);
    }
    if (!ok) continue;
    w.start = mw;
    w.end = end + 2;
    w.charset = std::string(s.substr(mw + 2, q1 - mw - 2));
    w.data = std::move(data);
    return true;
  }
}

void convert_append(std::string& out, const MimeWord& w, const char* target) {
  iconv_t icd = reinterpret_cast<iconv_t>(-1);
  if (target && !iequal(w.charset, target)) icd = iconv_open(target, w.charset.c_str());
  std::string data = w.data;
  char* in = data.data();
  size_t left = data.size();
  while (left > 0) {
    std::string piece;
    if (icd != reinterpret_cast<iconv_t>(-1)) {
      char buf[256];
      char* o = buf;
      size_t oleft = sizeof buf;
      (void)iconv(icd, &in, &left, &o, &oleft);
      if (o > buf) piece.assign(buf, static_cast<size_t>(o - buf));
    }
    if (piece.empty()) {
      piece.assign(in, left);
      left = 0;
    }
    std::replace(piece.begin(), piece.end(), '\0', '?');
    out += piece;
  }
  if (icd != reinterpret_cast<iconv_t>(-1)) iconv_close(icd);
}

}  // namespace

Result<std::string> base64_decode(std::string_view in) {
  std::string out;
  int bits = 0, nbits = 0;
  size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    int v = b64val(in[i]);
    if (v < 0) return fail("bad base64");
    bits = (bits << 6) | v;
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out += static_cast<char>((bits >> nbits) & 0xff);
    }
  }
  for (; i < in.size(); ++i)
    if (in[i] != '=') return fail("bad base64");
  return out;
}

Result<std::string> exim_base64_decode(std::string_view in) {
  // Exim's b64decode(), quantum by quantum: white space anywhere is
  // skipped; a last quantum of two or three characters needs its '='s.
  std::string out;
  size_t i = 0;
  auto next = [&]() -> int {  // the next character that is not white space, or 0
    while (i < in.size() && std::isspace(static_cast<unsigned char>(in[i]))) ++i;
    return i < in.size() ? static_cast<unsigned char>(in[i++]) : 0;
  };
  auto only_space_left = [&] { return next() == 0; };
  for (int x; (x = next()) != 0;) {
    int a = b64val(static_cast<char>(x)), y = next(), b = y ? b64val(static_cast<char>(y)) : -1;
    if (a < 0 || b < 0) return fail("bad base64");
    out += static_cast<char>((a << 2) | (b >> 4));
    int z = next();
    if (z == '=') {
      if (next() != '=' || !only_space_left()) return fail("bad base64");
      break;
    }
    int c = z ? b64val(static_cast<char>(z)) : -1;
    if (c < 0) return fail("bad base64");
    out += static_cast<char>(((b << 4) | (c >> 2)) & 0xff);
    int w = next();
    if (w == '=') {
      if (!only_space_left()) return fail("bad base64");
      break;
    }
    int d = w ? b64val(static_cast<char>(w)) : -1;
    if (d < 0) return fail("bad base64");
    out += static_cast<char>(((c << 6) | d) & 0xff);
  }
  return out;
}

std::string rfc2047_decode(std::string_view s, const char* target) {
  MimeWord w;
  if (!next_mimeword(s, 0, w)) return std::string(s);
  std::string out;
  size_t at = 0;
  for (;;) {
    out.append(s.substr(at, w.start - at));
    convert_append(out, w, target);
    at = w.end;
    if (!next_mimeword(s, at, w)) break;
    size_t p = at;
    while (p < s.size() && is_space(s[p])) ++p;
    if (p == w.start) at = p;
  }
  out.append(s.substr(at));
  return out;
}

bool is_header_var(std::string_view name, HeaderKind* kind, size_t* prefix_len) {
  struct P { std::string_view p; HeaderKind k; };
  static constexpr P kPrefixes[] = {{"header_", HeaderKind::Decoded}, {"h_", HeaderKind::Decoded},
                                    {"bheader_", HeaderKind::Binary}, {"bh_", HeaderKind::Binary},
                                    {"rheader_", HeaderKind::Raw},    {"rh_", HeaderKind::Raw}};
  for (const P& p : kPrefixes)
    if (name.substr(0, p.p.size()) == p.p) {
      *kind = p.k;
      *prefix_len = p.p.size();
      return true;
    }
  return false;
}

std::string header_value(const ExpandContext& ctx, std::string_view name, HeaderKind kind, bool* exists,
                         const std::string& charset) {
  bool found = false;
  bool comma = false;
  std::string joined;
  bool any = false;
  for (const auto& [hname, value] : ctx.headers()) {
    if (!iequal(hname, name)) continue;
    found = true;
    std::string_view v = value;
    std::string raw_line;
    if (kind == HeaderKind::Raw) {
      raw_line = std::string(v) + "\n";
      v = raw_line;
    } else {
      while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
      while (!v.empty() && is_space(v.back())) v.remove_suffix(1);
      if (!comma && is_address_header(hname)) comma = true;
    }
    size_t inc = v.size();
    if (joined.size() + inc > kHeaderInsertMaxLen) inc = kHeaderInsertMaxLen - joined.size();
    if (kind == HeaderKind::Raw) {
      joined.append(v.substr(0, inc));
    } else if (inc > 0) {
      if (any) joined += comma ? ",\n" : "\n";
      joined.append(v.substr(0, inc));
      any = true;
    }
    if (joined.size() >= kHeaderInsertMaxLen) break;
  }
  if (exists) *exists = found;
  if (!found || kind == HeaderKind::Raw) return joined;
  return rfc2047_decode(joined, kind == HeaderKind::Decoded ? charset.c_str() : nullptr);
}

Status eval_variable(const Node& n, Run& run, std::string& out, bool skipping) {
  if (n.kind == NodeKind::Header) {
    out += header_value(run.ctx, n.text, static_cast<HeaderKind>(n.num), nullptr, run.st.headers_charset);  // Exim expands headers even when skipping
    run.tainted = run.tainted || !skipping;
    return Ok{};
  }
  // $item and $value outside the items that set them are empty, as in Exim.
  if (n.text == "item") {
    if (!skipping && run.item) out += *run.item;
    run.tainted = run.tainted || (!skipping && run.item && run.item_tainted);
    return Ok{};
  }
  if (n.text == "value") {
    if (!skipping && run.value) out += *run.value;
    run.tainted = run.tainted || (!skipping && run.value && run.value_tainted);
    return Ok{};
  }
  if (auto set = run.st.set_variables.find(n.text); set != run.st.set_variables.end()) {
    if (!skipping) out += set->second;
    run.tainted = run.tainted || (!skipping && run.st.tainted_variables.count(n.text));
    return Ok{};
  }
  if (n.text == "srs_recipient" || n.text == "prvscheck_result" || n.text == "prvscheck_address" ||
      n.text == "prvscheck_keynum")
    return Ok{};  // not set (yet): empty, as Exim's
  auto v = run.ctx.variable(n.text);
  if (v && !skipping && run.ctx.tainted(n.text)) run.tainted = true;
  if (!v) {
    if (n.braced) return fail("unknown variable in \"${" + n.text + "}\"");
    return fail("unknown variable name \"" + n.text + "\"");
  }
  if (!skipping) out += *v;
  return Ok{};
}

}  // namespace nougat::filterlang::detail

namespace nougat::filterlang {

std::string message_headers_value(const HeaderList& headers, bool raw) {
  std::string out;
  for (const auto& [name, value] : headers) {
    std::string line = name + ":" + value;
    if (raw) {
      out += line + "\n";
    } else {
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      if (!out.empty()) out += '\n';
      out += line;
    }
    if (out.size() >= detail::kHeaderInsertMaxLenPublic) break;
  }
  return raw ? out : detail::rfc2047_decode(out, nullptr);
}

std::string reply_address_value(const HeaderList& headers) {
  auto raw_of = [&](std::string_view want) {
    std::string v;
    for (const auto& [name, value] : headers)
      if (detail::lc(name) == want) v += value + "\n";
    size_t b = 0;
    while (b < v.size() && std::isspace(static_cast<unsigned char>(v[b]))) ++b;
    return v.substr(b);
  };
  std::string s = raw_of("reply-to");
  if (s.empty()) s = raw_of("from");
  for (char& c : s)
    if (c == '\n') c = ' ';
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

std::string printing(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 32 && c <= 126) || c == '\t') {
      out.push_back(static_cast<char>(c));
      continue;
    }
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\b': out += "\\b"; break;
      case '\v': out += "\\v"; break;
      case '\f': out += "\\f"; break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\%03o", c);
        out += buf;
      }
    }
  }
  return out;
}

}  // namespace nougat::filterlang
