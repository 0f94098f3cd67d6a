// The passwd-file user directory: <data>/users, one user per line,
//
//     user@domain:{SCHEME}hash:home        (nougat's own 3-field form)
//     user@domain:{SCHEME}hash:uid:gid:gecos:home:shell:extra…   (Dovecot)
//
// '#' comments and blank lines are allowed, CRLF endings tolerated. The first
// two fields are Dovecot passwd-file compatible. A line of 2 fields, or a
// Dovecot line of 4–5 fields, or an empty home field, gets the default home
// <data>/home/<domain>/<local-part> (directory.hpp). 3 fields mean
// user:password:home — not Dovecot's user:password:uid — which is why a home
// must be an absolute path: a uid there is reported, not taken as a folder.
// Fields past the 6th (shell, extra fields) are ignored.
//
// Failure: a malformed line is reported as "FILE:LINE: problem" and skipped;
// the other users keep working. A user with an empty or unknown password
// scheme is kept (mail to them still delivers) and reported, since nobody
// can log in with it. A second line for the same address (case-insensitive)
// is reported and ignored: the first one wins, as in Dovecot.
//
// PasswdFileDirectory loads the file at construction and, on a lookup at most
// once per check interval, stats it; a changed inode, size, mtime or ctime
// makes it re-read. So `nougat user add` (which renames a new file into
// place) takes effect on a running server within a second. Readers never
// wait for a reload: they keep using the previous snapshot meanwhile. A
// missing file is an empty directory; an unreadable one keeps the previous
// users and reports the problem. (An in-place rewrite of the same size within
// one kernel timestamp tick is invisible to stat; `nougat user` always
// renames, so only hand edits can hit that, and the next change heals it.)
// Give it an absolute data_dir: default homes are built from it.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/directory.hpp"
#include "engine/result.hpp"

namespace nougat::engine {

// Named limit (STYLE 11): a users file larger than this is refused.
inline constexpr size_t kMaxUsersFileSize = 64u << 20;

struct PasswdEntry {
  User user;
  size_t line = 0;  // 1-based
};

struct PasswdParse {
  std::vector<PasswdEntry> entries;   // file order, duplicates dropped
  std::vector<std::string> problems;  // "FILE:LINE: problem"
};

// Pure: no I/O. `file_label` prefixes the problems; homes are resolved
// against `data_dir` as given.
PasswdParse parse_passwd_file(std::string_view text, std::string_view file_label,
                              const std::filesystem::path& data_dir);

// --- helpers for tools that edit the file line by line (nougat user …) ---

// The address field of a user line; empty for a blank or comment line.
std::string_view passwd_line_address(std::string_view line);
// `line` with its password field replaced, every other field kept.
std::string passwd_line_with_password(std::string_view line, std::string_view password_hash);
// "address:hash:home" (home empty → default). Fails if a field would break
// the format (':' or a control character in the hash or the home).
Result<std::string> format_passwd_line(std::string_view address, std::string_view password_hash,
                                       const std::filesystem::path& home);

// Whole file; a missing file reads as "". Fails on other errors and above
// kMaxUsersFileSize.
Result<std::string> read_passwd_file(const std::filesystem::path& file);
// Crash-safe replace (STYLE 10): FILE.tmp.<pid>, fsync, rename, fsync the
// directory; mode 0600.
Status write_passwd_file(const std::filesystem::path& file, std::string_view content);

class PasswdFileDirectory final : public Directory {
 public:
  PasswdFileDirectory(std::filesystem::path users_file, std::filesystem::path data_dir,
                      std::chrono::milliseconds check_interval = std::chrono::seconds(1));
  ~PasswdFileDirectory() override;

  std::optional<User> find(std::string_view address) const override;
  bool authenticate(std::string_view address, std::string_view password) const override;

  // Stat now and re-read if the file changed, ignoring the check interval.
  void reload() const;
  // Problems of the snapshot in use ("FILE:LINE: problem").
  std::vector<std::string> problems() const;
  std::vector<User> users() const override;  // file order

  struct Snapshot;  // defined in passwd_file.cpp

 private:
  std::shared_ptr<const Snapshot> current() const;
  void refresh(bool force) const;

  std::filesystem::path file_, data_dir_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mu_;  // guards the two members below
  mutable std::shared_ptr<const Snapshot> snap_;
  mutable std::chrono::steady_clock::time_point next_check_;
  mutable std::mutex reload_mu_;  // one reloader at a time
};

}  // namespace nougat::engine
