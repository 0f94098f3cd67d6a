#include "engine/mbox.hpp"

#include <algorithm>
#include <optional>

#include "engine/mime.hpp"

namespace nougat::engine {

bool mbox_from_line(std::string_view line) {
  if (!line.starts_with("From ")) return false;
  if (line.ends_with('\r')) line.remove_suffix(1);
  std::vector<std::string_view> w;
  for (size_t p = 5; p < line.size();) {
    size_t e = line.find(' ', p);
    if (e == std::string_view::npos) e = line.size();
    if (e > p) w.push_back(line.substr(p, e - p));
    p = e + 1;
  }
  auto one_of = [](std::string_view x, std::string_view list) {
    for (size_t i = 0; i + 3 <= list.size(); i += 3)
      if (x.size() == 3 && list.substr(i, 3) == x) return true;
    return false;
  };
  auto digits = [](std::string_view x, size_t lo, size_t hi) {
    return x.size() >= lo && x.size() <= hi && std::all_of(x.begin(), x.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  auto number = [&](std::string_view x, size_t lo_len, int hi) {  // digits, at most `hi`
    return digits(x, lo_len, 2) && std::stoi(std::string(x)) <= hi;
  };
  auto time = [&](std::string_view x) {  // hh:mm or hh:mm:ss (60: a leap second)
    return (x.size() == 5 || (x.size() == 8 && x[5] == ':' && number(x.substr(6), 2, 60))) && x[2] == ':' &&
           number(x.substr(0, 2), 2, 23) && number(x.substr(3, 2), 2, 59);
  };
  auto day = [&](std::string_view x) { return number(x, 1, 31) && x != "0" && x != "00"; };
  auto zone = [&](std::string_view x) {
    return ((x[0] == '+' || x[0] == '-') && digits(x.substr(1), 4, 4)) ||
           (x.size() >= 2 && x.size() <= 5 && std::all_of(x.begin(), x.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
  };
  // The sender comes first: one word, several ("barry at python.org" in
  // Mailman's archives), or none; the date ends the line.
  for (size_t d = 0; d + 5 <= w.size(); ++d) {
    if (!one_of(w[d], "MonTueWedThuFriSatSun") || !one_of(w[d + 1], "JanFebMarAprMayJunJulAugSepOctNovDec") ||
        !day(w[d + 2]) || !time(w[d + 3]))
      continue;
    size_t k = d + 4;
    if (zone(w[k]) && k + 1 < w.size()) ++k;  // "11:51:02 EDT 2002"
    if (!digits(w[k], 4, 4)) continue;
    ++k;
    if (k < w.size() && zone(w[k])) ++k;                                               // "2002 +0200"
    if (k + 3 == w.size() && w[k] == "remote" && w[k + 1] == "from") k = w.size();  // UUCP
    if (k == w.size()) return true;
  }
  return false;
}

namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }  // regex \s
bool letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }

// Exim's default uucp_from_pattern, by hand, from `p` (after the sender):
//   (?:[a-zA-Z]{3},?\s+)?(?:[a-zA-Z]{3}\s+\d?\d|\d?\d\s+[a-zA-Z]{3}\s+\d\d(?:\d\d)?)\s+\d\d?:\d\d?
struct UucpDate {
  std::string_view s;
  bool letters3(size_t& p) const {
    if (p + 3 > s.size() || !letter(s[p]) || !letter(s[p + 1]) || !letter(s[p + 2])) return false;
    p += 3;
    return true;
  }
  bool digits(size_t& p, size_t lo, size_t hi) const {
    size_t n = 0;
    while (p + n < s.size() && digit(s[p + n]) && n < hi) ++n;
    if (n < lo) return false;
    p += n;
    return true;
  }
  bool blanks(size_t& p) const {
    if (p >= s.size() || !blank(s[p])) return false;
    while (p < s.size() && blank(s[p])) ++p;
    return true;
  }
  mutable size_t end = 0;  // where the match ended (after the minutes): always the last step
  bool time(size_t p) const {
    if (!(digits(p, 1, 2) && p < s.size() && s[p] == ':' && digits(++p, 1, 2))) return false;
    end = p;
    return true;
  }
  bool date_time(size_t p) const {
    size_t q = p;
    if (letters3(q) && blanks(q) && digits(q, 1, 2) && blanks(q) && time(q)) return true;
    q = p;
    if (!digits(q, 1, 2) || !blanks(q) || !letters3(q) || !blanks(q)) return false;
    size_t n = q;
    if (!digits(n, 2, 4) || (n - q != 2 && n - q != 4)) return false;
    return blanks(n) && time(n);
  }
  bool match(size_t p) const {
    size_t q = p;
    if (letters3(q)) {
      if (q < s.size() && s[q] == ',') ++q;
      if (blanks(q) && date_time(q)) return true;
    }
    return date_time(p);
  }
};

}  // namespace

std::optional<std::string_view> uucp_from_sender(std::string_view line, size_t* matched) {
  if (!line.starts_with("From")) return std::nullopt;
  size_t p = 4;
  UucpDate d{line};
  if (!d.blanks(p)) return std::nullopt;
  size_t sender = p;
  while (p < line.size() && !blank(line[p])) ++p;
  const size_t end = p;
  if (end == sender || !d.blanks(p) || !d.match(p)) return std::nullopt;
  if (matched) *matched = d.end;
  return line.substr(sender, end - sender);
}

namespace {

// The From_ line starting at `p` (s[p] == 'F' or p == s.size()), if one is.
bool from_line_at(std::string_view s, size_t p) {
  size_t eol = s.find('\n', p);
  return mbox_from_line(s.substr(p, eol == std::string_view::npos ? eol : eol - p));
}

// The next From_ line after the message starting at `p`, or npos.
size_t next_from_line(std::string_view s, size_t p) {
  for (size_t q = s.find("\nFrom ", p); q != std::string_view::npos; q = s.find("\nFrom ", q + 1))
    if (from_line_at(s, q + 1)) return q + 1;
  return std::string_view::npos;
}

// Where the message starting at `p` ends by its Content-Length, if it has
// one that holds: the end, and where the next message starts (s.size() at
// the end of the file).
std::optional<std::pair<size_t, size_t>> content_length_end(std::string_view s, size_t p) {
  constexpr uint64_t kNone = ~uint64_t{0};
  uint64_t length = kNone;
  size_t line = s.find('\n', p);  // the From_ line's end
  while (line != std::string_view::npos) {
    size_t start = line + 1, eol = s.find('\n', start);
    std::string_view l = s.substr(start, eol == std::string_view::npos ? eol : eol - start);
    if (l.ends_with('\r')) l.remove_suffix(1);
    if (l.starts_with("From ") && mbox_from_line(l)) return std::nullopt;  // the next message's
    if (l.empty()) {  // the header block ends: the body starts after this line
      if (length == kNone || eol == std::string_view::npos || length > s.size() - (eol + 1)) return std::nullopt;
      const size_t end = eol + 1 + length;
      if (end == s.size()) return std::pair{end, end};
      // The next From_ line right there, at the start of a line ...
      if (s[end - 1] == '\n' && from_line_at(s, end)) return std::pair{end, end};
      // ... or after one line end (the writer's blank line, or the body's
      // own last line end when it had none).
      size_t next = end + (s.substr(end).starts_with("\r\n") ? 2 : s[end] == '\n' ? 1 : 0);
      if (next == end || (next != s.size() && !from_line_at(s, next))) return std::nullopt;
      return std::pair{end, next};
    }
    if (l[0] != ' ' && l[0] != '\t' && iequals(field_name_of(l), "Content-Length")) {
      std::string_view v = trim_space(l.substr(l.find(':') + 1));
      length = kNone;
      if (!v.empty() && v.size() <= 15 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
        length = std::stoull(std::string(v));
    }
    line = eol;
  }
  return std::nullopt;
}

bool escaped_line(std::string_view rest) {  // '>'s then "From "
  size_t n = rest.find_first_not_of('>');
  return n != 0 && n != std::string_view::npos && rest.substr(n).starts_with("From ");
}

}  // namespace

bool leading_from_line(std::string_view line) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  return mbox_from_line(line) || uucp_from_sender(line);
}

std::vector<MboxPart> mbox_split(std::string_view s) {
  std::vector<MboxPart> r;
  for (size_t p = 0;;) {
    if (auto cl = content_length_end(s, p)) {
      r.push_back({p, cl->first - p});
      if (cl->second >= s.size()) break;
      p = cl->second;
      continue;
    }
    size_t next = next_from_line(s, p);
    std::string_view m = s.substr(p, next == std::string_view::npos ? next : next - p);
    if (m.ends_with("\r\n\r\n")) m.remove_suffix(2);
    else if (m.ends_with("\n\n")) m.remove_suffix(1);
    r.push_back({p, m.size()});
    if (next == std::string_view::npos) break;
    p = next;
  }
  return r;
}

bool mbox_has_escapes(std::string_view m) {
  for (size_t q = m.find("\n>"); q != std::string_view::npos; q = m.find("\n>", q + 1))
    if (escaped_line(m.substr(q + 1))) return true;
  return false;
}

std::string mbox_unescape(std::string_view m) {
  std::string out;
  out.reserve(m.size());
  size_t from = 0;
  for (size_t q = m.find("\n>"); q != std::string_view::npos; q = m.find("\n>", q + 1)) {
    if (!escaped_line(m.substr(q + 1))) continue;
    out.append(m.substr(from, q + 1 - from));
    from = q + 2;  // the first '>' goes
  }
  out.append(m.substr(from));
  return out;
}

}  // namespace nougat::engine
