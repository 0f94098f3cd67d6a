#include "engine/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <ctime>

namespace nougat::engine::log {
namespace {
std::atomic<int> g_fd{-1};
std::atomic<bool> g_stderr{true};
}  // namespace

bool open(const std::filesystem::path& file) {
  if (file.empty()) return true;
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return false;
  int old = g_fd.exchange(fd);
  if (old >= 0) ::close(old);
  return true;
}

void set_stderr(bool enabled) { g_stderr = enabled; }

void write(std::string_view id, std::string_view text) {
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  // One event is one line whatever its text holds (a folded Subject, a
  // filter's logwrite with line ends, a client's bytes): line ends at the
  // end go, control characters inside are written as escapes ("\n",
  // "\x01") and a backslash as two, so nobody can forge a line of the log.
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  std::string out = fmt::format("{} {}{}", stamp, id, id.empty() ? "" : " ");
  out.reserve(out.size() + text.size() + 1);
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\') out += "\\\\";  // so that an escape in the log is always ours
    else if (u >= 0x20 && u != 0x7f) out += c;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else out += fmt::format("\\x{:02x}", u);
  }
  out += '\n';
  // One write() per line: O_APPEND keeps concurrent lines whole.
  if (int fd = g_fd.load(); fd >= 0) (void)!::write(fd, out.data(), out.size());
  if (g_stderr) (void)!::write(2, out.data(), out.size());
}

}  // namespace nougat::engine::log
