// Log: the main log, one line per event, Exim-style
// ("2026-11-28 07:45:01 1a2b3c-00001 <= bob@example.org H=[127.0.0.1] S=4210").
// Every line carries the session or queue id (STYLE 22). Thread-safe; writes
// to stderr and, once opened, to the log file (append, one write per line).
// An event is always one line: control characters in its text are escaped
// ("\n", "\t", "\x01", a backslash as "\\") and line ends at its end dropped.
#pragma once

#include <fmt/format.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace nougat::engine::log {

// Opens (creating the directory) the log file; empty path = stderr only.
bool open(const std::filesystem::path& file);
void set_stderr(bool enabled);
void write(std::string_view id, std::string_view text);

template <typename... Args>
void line(std::string_view id, fmt::format_string<Args...> f, Args&&... args) {
  write(id, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace nougat::engine::log
