#include "smtpd/address.hpp"

#include <arpa/inet.h>

#include <cstdint>

namespace nougat::smtpd {
namespace {

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// RFC 5322 atext (ASCII part).
bool is_atext(unsigned char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

// RFC 5321 qtextSMTP: %d32-33 / %d35-91 / %d93-126.
bool is_qtext(unsigned char c) { return c >= 32 && c <= 126 && c != '"' && c != '\\'; }

bool is_dot_atom(std::string_view s, bool allow_utf8) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (unsigned char c : s) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (c >= 0x80) {
      if (!allow_utf8) return false;
    } else if (!is_atext(c)) {
      return false;
    }
    prev = static_cast<char>(c);
  }
  return allow_utf8 ? valid_utf8(s) : true;
}

Error bad(std::string_view why) { return make_error(std::string(why)); }

// Parses the local part at the start of `s`; on success `s` starts at '@'.
Result<std::string> parse_local_part(std::string_view& s, bool allow_utf8) {
  if (!s.empty() && s.front() == '"') {
    std::string value;
    size_t i = 1;
    for (;; ++i) {
      if (i >= s.size()) return bad("unterminated quoted string");
      unsigned char c = s[i];
      if (c == '"') break;
      if (c == '\\') {
        if (++i >= s.size()) return bad("unterminated quoted pair");
        unsigned char q = s[i];
        if (q < 32 || q > 126) return bad("bad quoted pair");
        value.push_back(static_cast<char>(q));
      } else if (c >= 0x80) {
        if (!allow_utf8) return bad("8-bit in local part");
        value.push_back(static_cast<char>(c));
      } else if (is_qtext(c)) {
        value.push_back(static_cast<char>(c));
      } else {
        return bad("bad character in quoted string");
      }
    }
    size_t wire_len = i + 1;
    if (wire_len > kMaxLocalPart) return bad("local part too long");
    if (allow_utf8 && !valid_utf8(value)) return bad("invalid UTF-8 in local part");
    s.remove_prefix(wire_len);
    return value;
  }
  size_t at = 0;
  while (at < s.size() && s[at] != '@') ++at;
  std::string_view atom = s.substr(0, at);
  if (atom.size() > kMaxLocalPart) return bad("local part too long");
  if (!is_dot_atom(atom, allow_utf8)) return bad("bad local part");
  s.remove_prefix(at);
  return std::string(atom);
}

bool valid_ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    unsigned value = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) value = value * 10 + (s[i++] - '0');
    if (i == start || value > 255) return false;
    if (++parts == 4) return i == s.size();
    if (i >= s.size() || s[i] != '.') return false;
    ++i;
  }
}

Result<std::string> parse_address_literal(std::string_view s) {
  // s includes the brackets.
  std::string_view inner = s.substr(1, s.size() - 2);
  if (valid_ipv4(inner)) return std::string(s);
  constexpr std::string_view kTag = "ipv6:";
  if (inner.size() > kTag.size()) {
    std::string tag;
    for (char c : inner.substr(0, kTag.size())) tag.push_back(to_lower(c));
    if (tag == kTag) {
      std::string addr(inner.substr(kTag.size()));
      for (char c : addr)
        if (!(is_digit(c) || is_alpha(c) || c == ':' || c == '.')) return bad("bad IPv6 literal");
      unsigned char buf[16];
      if (inet_pton(AF_INET6, addr.c_str(), buf) != 1) return bad("bad IPv6 literal");
      for (char& c : addr) c = to_lower(c);
      return "[IPv6:" + addr + "]";
    }
  }
  return bad("bad address literal");
}

}  // namespace

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;  // overlong
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

Result<std::string> parse_domain(std::string_view s, bool allow_utf8) {
  if (s.empty()) return bad("empty domain");
  if (s.size() > kMaxDomain) return bad("domain too long");
  if (s.front() == '[') {
    if (s.back() != ']' || s.size() < 3) return bad("bad address literal");
    return parse_address_literal(s);
  }
  std::string out;
  out.reserve(s.size());
  size_t label_len = 0;
  char prev = '.';
  for (unsigned char c : s) {
    if (c == '.') {
      if (label_len == 0 || prev == '-') return bad("bad domain label");
      label_len = 0;
    } else if (is_alpha(c) || is_digit(c) || c >= 0x80) {
      if (c >= 0x80 && !allow_utf8) return bad("8-bit in domain");
      ++label_len;
    } else if (c == '-') {
      if (label_len == 0) return bad("bad domain label");
      ++label_len;
    } else {
      return bad("bad character in domain");
    }
    if (label_len > 63) return bad("domain label too long");
    out.push_back(to_lower(static_cast<char>(c)));
    prev = static_cast<char>(c);
  }
  if (label_len == 0 || prev == '-') return bad("bad domain label");
  if (allow_utf8 && !valid_utf8(out)) return bad("invalid UTF-8 in domain");
  return out;
}

Result<Mailbox> parse_mailbox(std::string_view text, bool allow_utf8) {
  std::string_view rest = text;
  auto local = parse_local_part(rest, allow_utf8);
  if (!local) return local.error();
  if (rest.empty() || rest.front() != '@') return bad("missing domain");
  rest.remove_prefix(1);
  auto domain = parse_domain(rest, allow_utf8);
  if (!domain) return domain.error();
  return Mailbox{std::move(*local), std::move(*domain)};
}

std::string to_string(const Mailbox& m) {
  std::string out;
  if (is_dot_atom(m.local_part, true)) {
    out = m.local_part;
  } else {
    out.push_back('"');
    for (char c : m.local_part) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  if (m.domain.empty()) return out;
  out.push_back('@');
  out += m.domain;
  return out;
}

}  // namespace nougat::smtpd
