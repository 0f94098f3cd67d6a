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
      if (is_space(s_[p_]) || is_special(s_[p_]) || static_cast<unsigned char>(s_[p_]) <= 31) break;
      ++p_;
    }
    out.append(s_.substr(start, p_ - start));
    return p_ > start;
  }

  // local-part ["@" domain]; the dotted forms of both.
  bool addr_spec(std::string& out, std::string& err) {
    if (!word(out)) {
      err = peek() == '@'          ? "no local part"  // Exim's texts
            : unmatched_quote_      ? "unmatched doublequote in local part"
                                    : "missing or malformed local part";
      return false;
    }
    skip();
    while (peek() == '.') {
      out.push_back('.');
      next();
      skip();
      if (!word(out)) {
        err = "missing or malformed local part";
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
    std::string part;
    if (!word(part) || part[0] == '"') {
      err = "domain missing or malformed";
      return false;
    }
    out += part;
    skip();
    while (peek() == '.') {
      out.push_back('.');
      next();
      skip();
      part.clear();
      if (!word(part) || part[0] == '"') {
        err = "domain missing or malformed";
        return false;
      }
      out += part;
      skip();
    }
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
  AddrScanner sc(text);
  if (!sc.skip()) {
    error = "unmatched parenthesis";
    return std::nullopt;
  }
  if (sc.end()) {
    error = "empty address";
    return std::nullopt;
  }
  // Route address anywhere: "phrase <addr>"; else a bare addr-spec.
  size_t lt = std::string_view::npos;
  {
    bool quote = false;
    int paren = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c == '\\') {
        ++i;
      } else if (quote) {
        if (c == '"') quote = false;
      } else if (c == '"') {
        quote = true;
      } else if (c == '(') {
        ++paren;
      } else if (c == ')') {
        --paren;
      } else if (paren == 0 && (c == '@' || c == ',')) {
        break;  // an addr-spec comes first ("a@b, <c@d>"): what follows it may not follow it
      } else if (c == '<' && paren == 0) {
        lt = i;
        break;
      }
    }
  }
  std::string out;
  if (lt != std::string_view::npos) {
    sc.set(lt + 1);
    sc.skip();
    if (sc.peek() == '>') {
      error = "empty address";
      return std::nullopt;
    }
    if (sc.peek() == '@') {  // source route @a,@b:addr
      while (!sc.end() && sc.peek() != ':') sc.next();
      if (sc.end()) {
        error = "domain missing in source-routed address";
        return std::nullopt;
      }
      sc.next();
      sc.skip();
    }
    if (!sc.addr_spec(out, error)) return std::nullopt;
    if (sc.peek() != '>') {
      error = "'>' missing at end of address";
      return std::nullopt;
    }
    sc.next();
    if (!sc.skip()) {
      error = "unmatched parenthesis";
      return std::nullopt;
    }
    if (!sc.end()) {  // Exim names what came before as written, phrase and all
      std::string_view before = text.substr(0, sc.pos());
      while (!before.empty() && (before.back() == ' ' || before.back() == '\t')) before.remove_suffix(1);
      while (!before.empty() && (before.front() == ' ' || before.front() == '\t')) before.remove_prefix(1);
      error = "malformed address: " + std::string(sc.rest()) + " may not follow " + std::string(before);
      return std::nullopt;
    }
    return out;
  }
  if (!sc.addr_spec(out, error)) return std::nullopt;
  if (!sc.skip()) {
    error = "unmatched parenthesis";
    return std::nullopt;
  }
  if (!sc.end() && out.find('@') == std::string::npos && sc.peek() != ',' && sc.peek() != ';') {
    // Exim read on for a phrase before "<"; a quote that never ends is
    // what it then met.
    bool open = false;  // a quoted string (backslash escapes inside) left open at the end
    const auto rest = sc.rest();
    for (size_t i = 0; i < rest.size(); ++i) {
      if (open && rest[i] == '\\') ++i;
      else if (rest[i] == '"') open = !open;
    }
    error = std::string(open ? "unmatched doublequote in local part" : "missing or malformed local part") +
            " (expected word or \"<\")";
    return std::nullopt;
  }
  if (!sc.end()) {
    error = "malformed address: " + std::string(sc.rest()) + " may not follow " + out;
    return std::nullopt;
  }
  return out;
}

std::vector<std::string> split_addresses(std::string_view list, bool allow_group) {
  std::vector<std::string> items;
  std::string cur;
  bool quote = false, in_group = false;
  int paren = 0, angle = 0;
  auto flush = [&] {
    items.push_back(cur);
    cur.clear();
  };
  for (size_t i = 0; i < list.size(); ++i) {
    char c = list[i];
    if (c == '\\' && i + 1 < list.size()) {
      cur.push_back(c);
      cur.push_back(list[++i]);
      continue;
    }
    if (quote) {
      if (c == '"') quote = false;
    } else if (c == '"') {
      quote = true;
    } else if (c == '(') {
      ++paren;
    } else if (c == ')') {
      if (paren > 0) --paren;
    } else if (paren == 0 && c == '<') {
      ++angle;
    } else if (paren == 0 && c == '>') {
      if (angle > 0) --angle;
    } else if (paren == 0 && angle == 0) {
      if (c == ',') {
        flush();
        continue;
      }
      if (allow_group && c == ':' && !in_group) {
        cur.clear();  // "Group name:" starts a group
        in_group = true;
        continue;
      }
      if (allow_group && c == ';' && in_group) {
        in_group = false;
        flush();
        continue;
      }
    }
    cur.push_back(c);
  }
  flush();
  return items;
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
