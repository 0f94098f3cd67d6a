#include "filterlang/forward.hpp"

#include <algorithm>

#include <cctype>

namespace nougat::filterlang {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// RFC 2822 specials that end an atom.
bool is_special(char c) {
  return c == '(' || c == ')' || c == '<' || c == '>' || c == '@' || c == ',' || c == ';' || c == ':' ||
         c == '\\' || c == '"' || c == '.' || c == '[' || c == ']';
}

class AddrScanner {
 public:
  explicit AddrScanner(std::string_view s) : s_(s) {}

  // Skips white space and (nested) comments.
  bool skip() {
    for (;;) {
      while (p_ < s_.size() && is_space(s_[p_])) ++p_;
      if (p_ >= s_.size() || s_[p_] != '(') return true;
      int depth = 0;
      while (p_ < s_.size()) {
        char c = s_[p_++];
        if (c == '\\' && p_ < s_.size()) {
          ++p_;
        } else if (c == '(') {
          ++depth;
        } else if (c == ')' && --depth == 0) {
          break;
        }
      }
      if (depth != 0) return false;
    }
  }
  bool unmatched_quote_ = false;  // the last word() failed on a quoted string without its end
  char peek() const { return p_ < s_.size() ? s_[p_] : '\0'; }
  bool end() const { return p_ >= s_.size(); }
  void next() { ++p_; }

  // A word: atom or quoted string, appended as written.
  bool word(std::string& out) {
    if (peek() == '"') {
      out.push_back('"');
      ++p_;
      while (p_ < s_.size() && s_[p_] != '"') {
        if (s_[p_] == '\\' && p_ + 1 < s_.size()) out.push_back(s_[p_++]);
        out.push_back(s_[p_++]);
      }
      if (p_ >= s_.size()) {
        unmatched_quote_ = true;
        return false;
      }
      out.push_back('"');
      ++p_;
      return true;
    }
    size_t start = p_;
    while (p_ < s_.size()) {
      if (s_[p_] == '\\') {  // a quoted pair in an atom, kept as written (Exim); a last '\\' alone too
        p_ += p_ + 1 < s_.size() ? 2 : 1;
        continue;
      }
      if (is_space(s_[p_]) || is_special(s_[p_]) || static_cast<unsigned char>(s_[p_]) <= 31 ||
          s_[p_] == 127)
        break;
      ++p_;
    }
    out.append(s_.substr(start, p_ - start));
    return p_ > start;
  }

  // local-part ["@" domain]. As Exim's read_local_part(), the words between
  // dots may be empty (".a", "a.", "a..b"), only not a first one that no
  // dot follows.
  bool addr_spec(std::string& out, std::string& err) {
    if (!word(out) && (unmatched_quote_ || peek() != '.')) {
      err = unmatched_quote_ ? "unmatched doublequote in local part"  // Exim's texts
            : peek() == '@'  ? "no local part"
                             : "missing or malformed local part";
      return false;
    }
    skip();
    while (peek() == '.') {
      out.push_back('.');
      next();
      skip();
      if (!word(out) && unmatched_quote_) {
        err = "unmatched doublequote in local part";
        return false;
      }
      skip();
    }
    if (peek() != '@') return true;
    out.push_back('@');
    next();
    skip();
    return domain(out, err);
  }

  bool domain(std::string& out, std::string& err) {
    if (peek() == '[') {
      size_t start = p_;
      while (p_ < s_.size() && s_[p_] != ']') ++p_;
      if (p_ >= s_.size()) {
        err = "missing or malformed domain";
        return false;
      }
      ++p_;
      out.append(s_.substr(start, p_ - start));
      skip();
      return true;
    }
    if (!subdomain(out, err)) return false;
    skip();
    while (peek() == '.') {
      out.push_back('.');
      next();
      skip();
      if (!subdomain(out, err)) return false;
      skip();
    }
    return true;
  }

  // One label of a domain, as Exim reads it (RFC 1035's, without the rule
  // on the last character): a letter or digit, then letters, digits and
  // hyphens; whatever else follows is left for the caller to refuse.
  bool subdomain(std::string& out, std::string& err) {
    auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 && (c & 0x80) == 0; };
    if (!alnum(peek())) {
      err = "domain missing or malformed";
      return false;
    }
    while (alnum(peek()) || peek() == '-') out.push_back(s_[p_++]);
    return true;
  }

  std::string_view rest() const { return s_.substr(p_); }
  size_t pos() const { return p_; }
  void set(size_t p) { p_ = p; }

 private:
  std::string_view s_;
  size_t p_ = 0;
};

}  // namespace

std::optional<std::string> extract_address(std::string_view text, std::string& error) {
  // Exim's parse_extract_address(): a local part (and domain); else, when
  // no '@' follows, the words of a phrase up to a "<route-addr>".
  AddrScanner sc(text);
  if (!sc.skip()) sc.set(text.size());  // Exim's skip_comment() takes an unclosed comment to the end
  if (sc.end()) {
    error = "empty address";
    return std::nullopt;
  }
  std::string out;
  auto may_not_follow = [&] {
    error = "malformed address: " + std::string(sc.rest()) + " may not follow " + std::string(text.substr(0, sc.pos()));
    return std::nullopt;
  };
  // Exim's read_route(): "@d1,@d2:" before an address. kNone: what follows
  // the '@' is no route (read on as usual); kError: `error` says why.
  enum Route { kNone, kRoute, kError };
  auto read_route = [&]() -> Route {
    const size_t save = sc.pos();
    for (;;) {
      sc.next();  // '@'
      sc.skip();
      std::string d;
      if (!sc.domain(d, error)) return kError;
      sc.skip();
      if (sc.peek() == ',') {
        sc.next();
        sc.skip();
        if (sc.peek() != '@') {
          error = "colon expected after route list";
          return kError;
        }
        continue;
      }
      if (sc.peek() == ':') {
        sc.next();
        sc.skip();
        return kRoute;
      }
      sc.set(save);
      return kNone;
    }
  };
  auto routed_address = [&]() -> bool {  // after the route: an address with a domain
    if (!sc.addr_spec(out, error)) return false;
    if (domain_at(out) == std::string::npos) {
      error = "domain missing in source-routed address";
      return false;
    }
    return true;
  };
  auto phrase_error = [&] {
    error = std::string(sc.unmatched_quote_ ? "unmatched doublequote in local part" : "missing or malformed local part") +
            " (expected word or \"<\")";
    return std::nullopt;
  };
  if (sc.peek() == '@') {  // an RFC 821 source route without the angle brackets
    if (Route r = read_route(); r == kError) {
      return std::nullopt;
    } else if (r == kRoute) {
      if (!routed_address()) return std::nullopt;
      if (!sc.skip()) {
        error = "unmatched parenthesis";
        return std::nullopt;
      }
      if (!sc.end()) return may_not_follow();
      return out;
    }
  }
  if (sc.peek() != '<') {
    const size_t start = sc.pos();
    if (!sc.addr_spec(out, error)) {
      // Exim's order: a domain after a missing local part is read first; an
      // empty one before ';' or the end is "empty address"; anything else
      // starts a phrase that cannot be read.
      if (error == "no local part") {
        sc.set(start + 1);
        sc.skip();
        std::string domain;
        if (!sc.domain(domain, error)) return std::nullopt;
        error = "no local part";
        return std::nullopt;
      }
      if (error != "missing or malformed local part") return std::nullopt;
      if (sc.end() || sc.peek() == ';') {
        error = "empty address";
        return std::nullopt;
      }
      return phrase_error();
    }
    if (!sc.skip()) {
      error = "unmatched parenthesis";
      return std::nullopt;
    }
    if (sc.end()) return out;
    if (domain_at(out) != std::string::npos || sc.peek() == ';')
      return may_not_follow();
    // A phrase: its words up to the '<' (the first that cannot be read names the error).
    out.clear();
    for (;;) {
      if (!sc.skip()) return phrase_error();
      if (sc.peek() == '<') break;
      if (sc.peek() == '.') {
        sc.next();
        continue;
      }
      std::string word;
      if (!sc.word(word)) return phrase_error();
    }
  }
  // "<" route-addr ">"
  sc.next();
  sc.skip();
  if (sc.peek() == '>') {
    error = "missing or malformed local part";
    return std::nullopt;
  }
  Route route = kNone;
  if (sc.peek() == '@' && (route = read_route()) == kError) return std::nullopt;  // source route @a,@b:addr
  if (route == kRoute ? !routed_address() : !sc.addr_spec(out, error)) return std::nullopt;
  if (sc.end()) {
    error = "'>' missing at end of address";
    return std::nullopt;
  }
  if (sc.peek() != '>') return may_not_follow();  // what it read so far, as written (white space after it too)
  sc.next();
  if (!sc.skip()) sc.set(text.size());  // an unclosed comment after '>' runs to the end, harmlessly
  if (!sc.end()) return may_not_follow();  // Exim names what came before as written, phrase, blanks and all
  return out;
}

size_t domain_at(std::string_view address) {
  size_t at = std::string_view::npos;
  bool quoted = false;
  for (size_t i = 0; i < address.size(); ++i) {
    if (address[i] == '\\') ++i;
    else if (address[i] == '"') quoted = !quoted;
    else if (address[i] == '@' && !quoted) at = i;
  }
  return at;
}

namespace {

// Exim's parse_find_address_end(): where the list item starting at `s` ends
// — the first comma outside quotes, comments and angle brackets (and, in a
// source route "<@a,@b:x>", not the route's own commas).
size_t address_end(std::string_view s) {
  bool source_routing = !s.empty() && s[0] == '@';
  int no_term = source_routing ? 1 : 0;
  size_t i = 0;
  while (i < s.size() && (s[i] != ',' || no_term > 0)) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      i += 2;
    } else if (s[i] == '"') {
      while (++i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          ++i;
        } else if (s[i] == '"') {
          ++i;
          break;
        }
      }
    } else if (s[i] == '(') {
      int level = 1;
      while (++i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          ++i;
        } else if (s[i] == '(') {
          ++level;
        } else if (s[i] == ')' && --level <= 0) {
          ++i;
          break;
        }
      }
    } else {
      if (s[i] == '<') {
        source_routing = i + 1 < s.size() && s[i + 1] == '@';
        no_term = source_routing ? 2 : 1;
      } else if (s[i] == '>') {
        --no_term;
      } else if (source_routing && s[i] == ':') {
        --no_term;
      }
      ++i;
    }
  }
  return i;
}

// "phrase:" at the start of an item opens a group: the position after the
// colon, if the item starts with words (atoms, quoted strings, dots, none
// at all) and then ':' — so "a@x:b@x" is no group.
std::optional<size_t> group_name_end(std::string_view t) {
  AddrScanner sc(t);
  for (;;) {
    if (!sc.skip()) return std::nullopt;
    if (sc.peek() == ':') return sc.pos() + 1;
    if (sc.peek() == '.') {
      sc.next();
      continue;
    }
    std::string word;
    if (!sc.word(word)) return std::nullopt;
  }
}

// The first ';' outside quotes, comments and angle brackets (a group's end).
size_t group_end(std::string_view t) {
  bool quote = false;
  int paren = 0, angle = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '\\') {
      ++i;
    } else if (quote) {
      quote = c != '"';
    } else if (c == '"' && paren == 0) {
      quote = true;
    } else if (c == '(') {
      ++paren;
    } else if (c == ')' && paren > 0) {
      --paren;
    } else if (paren == 0 && c == '<') {
      ++angle;
    } else if (paren == 0 && c == '>' && angle > 0) {
      --angle;
    } else if (paren == 0 && angle == 0 && c == ';') {
      return i;
    }
  }
  return std::string_view::npos;
}

// Where an unqualified address's local part ends in its text: before the
// '>' of a route address, else after the last word of the local part.
size_t local_part_end(std::string_view a) {
  bool quote = false;
  int paren = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c == '\\') ++i;
    else if (quote) quote = c != '"';
    else if (c == '"') quote = true;
    else if (c == '(') ++paren;
    else if (c == ')' && paren > 0) --paren;
    else if (c == '<' && paren == 0) {
      size_t gt = a.find('>', i);
      return gt == std::string_view::npos ? a.size() : gt;
    }
  }
  AddrScanner sc(a);
  sc.skip();
  size_t end = sc.pos();
  for (;;) {
    std::string word;
    if (sc.word(word)) end = sc.pos();
    sc.skip();
    if (sc.peek() != '.') return end;
    sc.next();
    end = sc.pos();
    sc.skip();
  }
}

}  // namespace

std::string qualify_address_list(std::string_view list, std::string_view domain, size_t line_start) {
  std::string out;
  auto line_length = [&] {
    size_t nl = out.rfind('\n');
    return nl == std::string::npos ? line_start + out.size() : out.size() - nl - 1;
  };
  bool in_group = false, qualified = false;
  for (size_t p = 0;;) {
    const size_t end = p + address_end(list.substr(p));
    std::string_view item = list.substr(p, end - p);
    const size_t lead = std::min(item.find_first_not_of(" \t\r\n"), item.size());
    out.append(item.substr(0, lead));
    item.remove_prefix(lead);
    if (qualified && !item.empty() && line_length() > 40) out += "\n\t";  // Exim's fold after its rewrite
    qualified = false;
    size_t prefix = 0;
    if (!in_group) {
      if (auto after = group_name_end(item)) {
        prefix = *after;
        in_group = true;
      }
    }
    std::string_view part = item.substr(prefix);
    const size_t semi = in_group ? group_end(part) : std::string_view::npos;
    std::string_view addr = part.substr(0, semi);
    std::string err;
    auto a = extract_address(addr, err);
    if (a && !a->empty() && domain_at(*a) == std::string::npos) {
      const size_t at = prefix + local_part_end(addr);
      out.append(item.substr(0, at));
      out += '@';
      out.append(domain);
      out.append(item.substr(at));
      qualified = true;
    } else {
      out.append(item);
    }
    if (semi != std::string_view::npos) in_group = false;
    if (end >= list.size()) break;
    out += ',';
    p = end + 1;
  }
  return out;
}

std::vector<std::optional<std::string>> extract_address_list(std::string_view list, bool allow_group) {
  std::vector<std::optional<std::string>> out;
  bool in_group = false;  // Exim's parse_found_group (parse_allow_group is allow_group && !in_group)
  for (size_t p = 0;;) {
    const size_t end = p + address_end(list.substr(p));
    std::string_view item = list.substr(p, end - p);
    if (allow_group && !in_group) {
      if (auto after = group_name_end(item)) {
        item.remove_prefix(*after);
        in_group = true;
      }
    }
    size_t semi = in_group ? group_end(item) : std::string_view::npos;
    std::string err;
    out.push_back(extract_address(item.substr(0, semi), err));
    if (semi != std::string_view::npos) in_group = false;  // whether or not an address was found; the rest is ignored
    if (end >= list.size()) break;
    p = end + 1;
  }
  return out;
}

ForwardList parse_forward_list(std::string_view text, std::string_view domain, std::string_view qualify_domain) {
  if (qualify_domain.empty()) qualify_domain = domain;
  ForwardList fl;
  size_t p = 0;
  while (p < text.size()) {
    while (p < text.size() && (is_space(text[p]) || text[p] == ',')) ++p;
    if (p >= text.size()) break;
    if (text[p] == '#') {
      while (p < text.size() && text[p] != '\n') ++p;
      continue;
    }
    size_t start = p;
    bool quote = false;
    while (p < text.size()) {
      char c = text[p];
      if (c == '"') quote = !quote;
      if (c == '\n' || (!quote && c == ',')) break;  // a quote does not run on past its line (Exim)
      ++p;
    }
    std::string item(text.substr(start, p - start));
    while (!item.empty() && is_space(item.back())) item.pop_back();
    if (item == ":blackhole:") {
      fl.blackhole = true;
      continue;
    }
    if (item.starts_with(":fail:") || item.starts_with(":defer:") || item.starts_with(":unknown:") ||
        item.starts_with(":include:")) {
      fl.error = "\"" + item + "\" is not permitted";
      return fl;
    }
    if (item[0] == '|' || item[0] == '/') {
      fl.addresses.push_back(item);
      fl.shown.push_back(item);
      fl.no_forward.push_back(false);
      continue;
    }
    bool bs = item[0] == '\\';
    std::string a = bs ? item.substr(1) : item;
    std::string err;
    auto addr = extract_address(a, err);
    if (!addr) {
      fl.error = err + " in \"" + item + "\"";
      return fl;
    }
    const bool qualified = addr->find('@') != std::string::npos;
    if (!qualified) *addr += "@" + std::string(bs ? domain : qualify_domain);
    fl.shown.push_back(bs && qualified ? "\\" + *addr : *addr);
    fl.addresses.push_back(*addr);
    fl.no_forward.push_back(bs);
  }
  return fl;
}

int forward_report(const ForwardList& list, std::string& out) {
  if (!list.error.empty()) {
    out += "exim: error in forward file: " + list.error + "\n";
    return 1;
  }
  if (!list.addresses.empty()) {
    out += "exim: forward file generated:\n";
    for (auto it = list.shown.rbegin(); it != list.shown.rend(); ++it) out += "  " + *it + "\n";
    return 0;
  }
  if (list.blackhole) out += "exim: forwardfile contains \":blackhole:\"\n";
  out += "exim: no addresses generated from forward file\n";
  return 0;
}

}  // namespace nougat::filterlang
