#include "engine/charset.hpp"

#include <iconv.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace nougat::engine {
namespace {

// windows-1252 0x80..0x9F; undefined bytes map to the C1 control (as latin1).
constexpr uint16_t kCp1252High[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// The well-formed part of the UTF-8 sequence starting at s[i]: `len` bytes
// are needed (0: s[i] cannot start one), the first `k` of them are right.
struct Utf8Prefix {
  size_t k, len;
};
Utf8Prefix utf8_prefix(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return {1, 1};
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return {0, 0};
  }
  size_t k = 1;
  if (i + 1 < s.size() && b(i + 1) >= lo && b(i + 1) <= hi) {
    k = 2;
    while (k < len && i + k < s.size() && (b(i + k) & 0xC0) == 0x80) ++k;
  }
  return {k, len};
}

// Maximal-subpart replacement (one U+FFFD per invalid prefix), as Unicode
// recommends and as most decoders do.
size_t utf8_invalid_len(std::string_view s, size_t i) { return std::max<size_t>(1, utf8_prefix(s, i).k); }

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t len = utf8_seq_len(s, i);
    if (len) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append(kReplacement);
      i += utf8_invalid_len(s, i);
    }
  }
  return out;
}

std::string from_cp1252(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x80)
      out.push_back(ch);
    else if (c < 0xA0)
      append_utf8(out, kCp1252High[c - 0x80]);
    else
      append_utf8(out, c);
  }
  return out;
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

std::string fallback(std::string_view bytes) {
  if (is_valid_utf8(bytes)) return std::string(bytes);
  return from_cp1252(bytes);
}

// Names mailers use that glibc iconv does not know (or knows as a subset).
std::string_view iconv_alias(std::string_view cs) {
  struct Alias {
    std::string_view from, to;
  };
  static constexpr Alias kAliases[] = {
      {"ks_c_5601-1987", "CP949"},
      {"ks_c_5601", "CP949"},
      {"ks_c_5601-1989", "CP949"},
      {"euc-kr", "CP949"},
      {"gb2312", "GBK"},
      {"x-gbk", "GBK"},
      {"x-sjis", "SHIFT_JIS"},
      {"shift-jis", "SHIFT_JIS"},
      {"x-euc-jp", "EUC-JP"},
      {"x-mac-roman", "MACINTOSH"},
      {"macintosh", "MACINTOSH"},
      {"tis-620", "TIS-620"},
      {"windows-874", "CP874"},
      {"x-unicode-2-0-utf-7", "UTF-7"},
      {"unicode-1-1-utf-7", "UTF-7"},
      {"big5", "BIG5-HKSCS"},
      {"x-big5", "BIG5-HKSCS"},
  };
  for (const auto& a : kAliases)
    if (a.from == cs) return a.to;
  return cs;
}

bool is_utf8_name(std::string_view cs) { return cs == "utf-8" || cs == "utf8" || cs == "x-utf-8"; }

bool is_ascii_or_unlabelled(std::string_view cs) {
  return cs.empty() || cs == "us-ascii" || cs == "ascii" || cs == "ansi_x3.4-1968" ||
         cs == "iso-646-us" || cs == "us" || cs == "default" || cs == "unknown-8bit" ||
         cs == "x-unknown" || cs == "unknown" || cs == "x-user-defined";
}

bool is_latin1_name(std::string_view cs) {
  return cs == "iso-8859-1" || cs == "iso8859-1" || cs == "latin1" || cs == "latin-1" ||
         cs == "iso_8859-1" || cs == "l1" || cs == "windows-1252" || cs == "cp1252" ||
         cs == "iso-8859-1:1987" || cs == "iso_8859-1:1987" || cs == "x-cp1252";
}

bool is_safe_name(std::string_view cs) {
  if (cs.empty() || cs.size() > 40) return false;
  for (char c : cs) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':' || c == '+';
    if (!ok) return false;
  }
  return true;
}

// Converts with iconv; false if iconv does not know the charset.
bool iconv_convert(std::string_view bytes, std::string_view cs, std::string& out) {
  std::string name(iconv_alias(cs));
  iconv_t cd = iconv_open("UTF-8", name.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return false;
  out.clear();
  out.reserve(bytes.size() + bytes.size() / 2 + 16);
  char buf[4096];
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  while (in_left > 0) {
    char* o = buf;
    size_t o_left = sizeof buf;
    size_t r = iconv(cd, &in, &in_left, &o, &o_left);
    out.append(buf, static_cast<size_t>(o - buf));
    if (r != static_cast<size_t>(-1)) break;
    if (errno == E2BIG) continue;
    out.append(kReplacement);
    if (errno == EILSEQ) {
      ++in;
      --in_left;
      iconv(cd, nullptr, nullptr, nullptr, nullptr);  // reset shift state
    } else {
      break;  // EINVAL: truncated sequence at the end
    }
  }
  // Flush any shift state (stateful encodings such as ISO-2022-JP).
  char* o = buf;
  size_t o_left = sizeof buf;
  iconv(cd, nullptr, nullptr, &o, &o_left);
  out.append(buf, static_cast<size_t>(o - buf));
  iconv_close(cd);
  // Defensive: some converters may pass through odd bytes.
  if (!is_valid_utf8(out)) out = sanitize_utf8(out);
  return true;
}

}  // namespace

size_t utf8_seq_len(std::string_view s, size_t i) {
  auto p = utf8_prefix(s, i);
  return p.len && p.k == p.len ? p.len : 0;
}

size_t utf8_cut_len(std::string_view s, size_t max) {
  if (s.size() <= max) return s.size();
  size_t k = max;
  while (k > 0 && max - k < 3 && (static_cast<unsigned char>(s[k]) & 0xc0) == 0x80) --k;
  return k;
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t len = utf8_seq_len(s, i);
    if (!len) return false;
    i += len;
  }
  return true;
}

std::string normalize_charset(std::string_view cs) {
  auto ws = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\'';
  };
  while (!cs.empty() && ws(cs.front())) cs.remove_prefix(1);
  while (!cs.empty() && ws(cs.back())) cs.remove_suffix(1);
  std::string out(cs);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string to_utf8(std::string_view bytes, std::string_view charset) {
  std::string cs = normalize_charset(charset);
  if (is_ascii(bytes) && !cs.starts_with("utf-16") && !cs.starts_with("utf-32") &&
      !cs.starts_with("ucs") && cs != "utf-7" && !cs.starts_with("iso-2022") && cs != "hz-gb-2312")
    return std::string(bytes);
  if (is_utf8_name(cs)) return sanitize_utf8(bytes);
  if (is_latin1_name(cs)) return from_cp1252(bytes);
  if (is_ascii_or_unlabelled(cs) || !is_safe_name(cs)) return fallback(bytes);
  std::string out;
  if (iconv_convert(bytes, cs, out)) return out;
  return fallback(bytes);
}

}  // namespace nougat::engine
