#include "engine/mbox.hpp"

#include <algorithm>

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
  auto time = [&](std::string_view x) {
    return x.size() >= 5 && digits(x.substr(0, 2), 1, 2) && x[2] == ':' &&
           (x.size() == 5 ? digits(x.substr(3), 2, 2) : x.size() == 8 && digits(x.substr(3, 2), 2, 2) && x[5] == ':' && digits(x.substr(6), 2, 2));
  };
  auto zone = [&](std::string_view x) {
    return ((x[0] == '+' || x[0] == '-') && digits(x.substr(1), 4, 4)) ||
           (x.size() >= 2 && x.size() <= 5 && std::all_of(x.begin(), x.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
  };
  // The sender comes first: one word, several ("barry at python.org" in
  // Mailman's archives), or none; the date ends the line.
  for (size_t d = 0; d + 5 <= w.size(); ++d) {
    if (!one_of(w[d], "MonTueWedThuFriSatSun") || !one_of(w[d + 1], "JanFebMarAprMayJunJulAugSepOctNovDec") ||
        !digits(w[d + 2], 1, 2) || !time(w[d + 3]))
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

// Offsets of the messages of an mbox: each From_ line (a blank line before
// it is usual but not required: writers escape "From " in bodies). The
// blank line a writer puts after each message is no part of it, so a
// message has the key of its stored copy.
std::vector<std::pair<size_t, size_t>> mbox_split(std::string_view s) {
  std::vector<size_t> starts{0};
  for (size_t p = s.find("\nFrom "); p != std::string_view::npos; p = s.find("\nFrom ", p + 1)) {
    size_t eol = s.find('\n', p + 1);
    if (mbox_from_line(s.substr(p + 1, eol == std::string_view::npos ? eol : eol - p - 1))) starts.push_back(p + 1);
  }
  std::vector<std::pair<size_t, size_t>> r;
  for (size_t i = 0; i < starts.size(); ++i) {
    std::string_view m = s.substr(starts[i], (i + 1 < starts.size() ? starts[i + 1] : s.size()) - starts[i]);
    if (m.ends_with("\r\n\r\n")) m.remove_suffix(2);
    else if (m.ends_with("\n\n")) m.remove_suffix(1);
    r.emplace_back(starts[i], m.size());
  }
  return r;
}

}  // namespace nougat::engine
