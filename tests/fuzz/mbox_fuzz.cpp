// Fuzzes engine/mbox: mbox_split() over any input must give messages in
// order, the first at 0, each later one at a From_ line that
// mbox_from_line() accepts, each ending before the next begins with at most
// the writer's blank line between them, none past the end; every line of
// the input goes through mbox_from_line() (no crash, and "yes" only for
// lines starting with "From "); and mbox_unescape() changes a message
// exactly when mbox_has_escapes() says so, by removing one '>' per escaped
// line. Aborts on a mismatch.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/mbox.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  for (size_t p = 0; p <= s.size();) {
    size_t nl = s.find('\n', p);
    std::string_view line = s.substr(p, nl == std::string_view::npos ? std::string_view::npos : nl - p);
    if (nougat::engine::mbox_from_line(line) && !line.starts_with("From ")) std::abort();
    if (nl == std::string_view::npos) break;
    p = nl + 1;
  }
  auto parts = nougat::engine::mbox_split(s);
  if (parts.empty() || parts[0].offset != 0) std::abort();
  for (size_t i = 0; i < parts.size(); ++i) {
    auto [off, len] = parts[i];
    if (off + len > s.size()) std::abort();
    std::string_view m = s.substr(off, len);
    std::string u = nougat::engine::mbox_unescape(m);
    if (nougat::engine::mbox_has_escapes(m) != (u != m)) std::abort();
    if (u.size() > m.size() || u.size() < m.size() - std::count(m.begin(), m.end(), '\n')) std::abort();
    size_t next = i + 1 < parts.size() ? parts[i + 1].offset : s.size();
    if (off + len > next) std::abort();
    std::string_view gap = s.substr(off + len, next - off - len);
    if (!gap.empty() && gap != "\n" && gap != "\r\n") std::abort();
    if (i > 0) {
      if (s[off - 1] != '\n') std::abort();
      size_t eol = s.find('\n', off);
      if (!nougat::engine::mbox_from_line(s.substr(off, eol == std::string_view::npos ? eol : eol - off))) std::abort();
    }
  }
  return 0;
}
