// Address operators: ${address:}, ${addresses:}, ${local_part:}, ${domain:}.
// A compact RFC 5322 extractor in the spirit of Exim's
// parse_extract_address(): comments dropped, "Name <addr>" reduced to addr,
// source routes dropped; anything unparseable yields "" (Exim does the same).
#include <cctype>

#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang::detail {
namespace {

// Removes (comments) outside quoted strings; returns false on imbalance.
bool strip_comments(std::string_view in, std::string& out) {
  int depth = 0;
  bool q = false;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (q) {
      out += c;
      if (c == '\\' && i + 1 < in.size()) out += in[++i];
      else if (c == '"') q = false;
      continue;
    }
    if (depth > 0) {
      if (c == '\\') ++i;
      else if (c == '(') ++depth;
      else if (c == ')') --depth;
      if (depth == 0) out += ' ';
      continue;
    }
    if (c == '(') { ++depth; continue; }
    if (c == '"') q = true;
    out += c;
  }
  return depth == 0 && !q;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// The bare address in one mailbox, or nullopt when malformed.
std::optional<std::string> extract(std::string_view raw) {
  std::string s;
  if (!strip_comments(raw, s)) return std::nullopt;
  std::string addr;
  bool q = false;
  size_t lt = std::string::npos;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') q = !q;
    else if (s[i] == '\\' && q) ++i;
    else if (!q && s[i] == '<') { lt = i; break; }
  }
  if (lt != std::string::npos) {
    size_t gt = s.find('>', lt);
    if (gt == std::string::npos) return std::nullopt;
    if (!trim(std::string_view(s).substr(gt + 1)).empty()) return std::nullopt;
    addr = trim(std::string_view(s).substr(lt + 1, gt - lt - 1));
    if (!addr.empty() && addr[0] == '@') {  // source route
      size_t colon = addr.find(':');
      if (colon == std::string::npos) return std::nullopt;
      addr = trim(std::string_view(addr).substr(colon + 1));
    }
  } else {
    addr = trim(s);
  }
  // Remove white space outside quotes (around '@' and '.'); reject specials.
  std::string out;
  q = false;
  for (size_t i = 0; i < addr.size(); ++i) {
    char c = addr[i];
    if (c == '"') q = !q;
    if (!q && std::isspace(static_cast<unsigned char>(c))) {
      char prev = out.empty() ? 0 : out.back();
      size_t j = i;
      while (j < addr.size() && std::isspace(static_cast<unsigned char>(addr[j]))) ++j;
      char next = j < addr.size() ? addr[j] : 0;
      if (prev == '@' || prev == '.' || next == '@' || next == '.') continue;
      return std::nullopt;
    }
    if (!q && (c == '<' || c == '>' || c == ',' || c == ';' || c == ':')) return std::nullopt;
    out += c;
  }
  if (q) return std::nullopt;
  if (!out.empty() && out.back() == '@') return std::nullopt;
  return out;
}

std::vector<std::string> split_top(std::string_view s) {
  std::vector<std::string> parts;
  std::string cur;
  int paren = 0, angle = 0;
  bool q = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (q) {
      cur += c;
      if (c == '\\' && i + 1 < s.size()) cur += s[++i];
      else if (c == '"') q = false;
      continue;
    }
    if (c == '"' && paren == 0) q = true;
    else if (c == '(') ++paren;
    else if (c == ')' && paren > 0) --paren;
    else if (c == '<' && paren == 0) ++angle;
    else if (c == '>' && paren == 0 && angle > 0) --angle;
    else if (paren == 0 && angle == 0 && (c == ',' || c == ';')) {
      parts.push_back(cur);
      cur.clear();
      continue;
    } else if (paren == 0 && angle == 0 && c == ':') {  // group name: drop it
      cur.clear();
      continue;
    }
    cur += c;
  }
  parts.push_back(cur);
  return parts;
}

}  // namespace

Result<std::string> address_operator(std::string_view op, std::string_view arg) {
  if (op == "addresses") {
    char sep = ':';
    if (arg.size() >= 2 && arg[0] == '>') {
      sep = arg[1];
      arg.remove_prefix(2);
    }
    std::string out;
    bool first = true;
    for (const std::string& part : split_top(arg)) {
      if (trim(part).empty()) continue;
      auto a = extract(part);
      if (!a || a->empty()) continue;
      if (!first) out += sep;
      first = false;
      for (char c : *a) {
        out += c;
        if (c == sep) out += sep;
      }
    }
    return out;
  }
  auto a = extract(arg);
  if (!a) return std::string();
  size_t at = a->rfind('@');
  if (op == "address") return *a;
  if (op == "local_part") return at == std::string::npos ? *a : a->substr(0, at);
  if (op == "domain") return at == std::string::npos ? std::string() : a->substr(at + 1);
  return fail("unknown expansion operator \"" + std::string(op) + "\"");
}

}  // namespace nougat::filterlang::detail
