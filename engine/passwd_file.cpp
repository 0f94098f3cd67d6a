#include "engine/passwd_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "engine/password.hpp"

namespace nougat::engine {
namespace fs = std::filesystem;

namespace {

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    auto colon = line.find(':', start);
    out.push_back(line.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) return out;
    start = colon + 1;
  }
}

bool is_blank_or_comment(std::string_view line) {
  auto first = line.find_first_not_of(" \t");
  return first == std::string_view::npos || line[first] == '#';
}

bool has_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < ' ' || c == 0x7f) return true;
  return false;
}

// Which field holds the home, by field count; 0 = none (default home).
size_t home_field(size_t nfields) {
  if (nfields == 3) return 2;  // nougat: user:password:home
  if (nfields >= 6) return 5;  // Dovecot: user:password:uid:gid:gecos:home[:shell[:extra]]
  return 0;                    // user:password, or Dovecot user:password:uid[:gid[:gecos]]
}

// Parses one non-comment line into `user`; returns the problem, or "" if the
// line is usable. `warning` is set for a usable line that still deserves one.
std::string parse_line(std::string_view line, const fs::path& data_dir, User& user,
                       std::string& warning) {
  auto fields = split_fields(line);
  if (fields.size() < 2) return "expected user@domain:{SCHEME}hash[:home]";
  auto addr = parse_user_address(fields[0]);
  if (!addr) return "bad user '" + std::string(fields[0]) + "': " + addr.error().text;
  fs::path home;
  if (size_t h = home_field(fields.size()); h && !fields[h].empty()) {
    std::string_view hs = fields[h];
    if (has_control(hs)) return "home contains a control character";
    if (hs.front() != '/') {
      return "home '" + std::string(hs) + "' is not an absolute path" +
             (fields.size() == 3 ? " (3-field lines are user:password:home)" : "");
    }
    home = fs::path(hs).lexically_normal();
  } else {
    home = default_home(data_dir, *addr);
  }
  user.local_part = addr->local_part;
  user.domain = addr->domain;
  user.address = addr->address();
  user.password_hash = std::string(fields[1]);
  user.home = std::move(home);
  if (user.password_hash.empty())
    warning = "empty password: " + user.address + " can receive mail but not log in";
  else if (!is_known_password_scheme(user.password_hash))
    warning = "unknown password scheme: " + user.address + " can receive mail but not log in";
  return {};
}

struct FileId {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{}, ctime{};

  static FileId of(const struct stat& st) {
    return {true, st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
  }
  bool operator==(const FileId& o) const {
    return exists == o.exists && dev == o.dev && ino == o.ino && size == o.size &&
           mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec &&
           ctime.tv_sec == o.ctime.tv_sec && ctime.tv_nsec == o.ctime.tv_nsec;
  }
};

std::string errno_text(const fs::path& file, const char* what, int err) {
  return file.string() + ": " + what + ": " + std::strerror(err);
}

// Reads the file through one descriptor, so the identity recorded is the one
// of the bytes read (no stat/read race).
struct Loaded {
  FileId id;
  Result<std::string> text = std::string();
};

Loaded load(const fs::path& file) {
  Loaded out;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) out.text = make_error(errno_text(file, "cannot open", errno));
    return out;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    out.text = make_error(errno_text(file, "cannot stat", errno));
  } else if (static_cast<uint64_t>(st.st_size) > kMaxUsersFileSize) {
    out.text = make_error(file.string() + ": larger than " +
                          std::to_string(kMaxUsersFileSize >> 20) + " MiB");
  } else {
    out.id = FileId::of(st);
    std::string buf;
    char chunk[65536];
    for (;;) {
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        out.text = make_error(errno_text(file, "cannot read", errno));
        break;
      }
      if (n == 0) {
        out.text = std::move(buf);
        break;
      }
      buf.append(chunk, static_cast<size_t>(n));
      if (buf.size() > kMaxUsersFileSize) {
        out.text = make_error(file.string() + ": larger than " +
                              std::to_string(kMaxUsersFileSize >> 20) + " MiB");
        break;
      }
    }
  }
  ::close(fd);
  return out;
}

FileId stat_id(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return {};
  return FileId::of(st);
}

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok{};
}

// A hash a missing user is checked against, so that "no such user" costs
// about as much time as "wrong password" (no user enumeration by timing).
constexpr std::string_view kDummyHash =
    "{SHA512-CRYPT}$6$saltsalt$pauPrmdmG4BTE9h2HPmywiw152IFch6BJCEsaY6D.PLTfpV8sqvXwWdyfsgVgozkYH9B"
    "80bAip/08R2BPH2xk/";

}  // namespace

PasswdParse parse_passwd_file(std::string_view text, std::string_view file_label,
                              const fs::path& data_dir) {
  PasswdParse out;
  std::unordered_map<std::string, size_t> seen;  // key -> line
  size_t lineno = 0;
  while (!text.empty()) {
    ++lineno;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (is_blank_or_comment(line)) continue;
    auto where = std::string(file_label) + ":" + std::to_string(lineno) + ": ";
    User user;
    std::string warning;
    if (auto problem = parse_line(line, data_dir, user, warning); !problem.empty()) {
      out.problems.push_back(where + problem);
      continue;
    }
    auto [it, fresh] = seen.emplace(directory_key(user.address), lineno);
    if (!fresh) {
      out.problems.push_back(where + "duplicate user " + user.address + " (first at line " +
                             std::to_string(it->second) + "); ignored");
      continue;
    }
    if (!warning.empty()) out.problems.push_back(where + warning);
    out.entries.push_back({std::move(user), lineno});
  }
  return out;
}

std::string_view passwd_line_address(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (is_blank_or_comment(line)) return {};
  return line.substr(0, line.find(':'));
}

std::string passwd_line_with_password(std::string_view line, std::string_view password_hash) {
  auto first = line.find(':');
  std::string out(line.substr(0, first));
  out += ':';
  out += password_hash;
  if (first == std::string_view::npos) return out;
  auto second = line.find(':', first + 1);
  if (second != std::string_view::npos)
    out += line.substr(second);
  else if (!line.empty() && line.back() == '\r')
    out += '\r';
  return out;
}

Result<std::string> format_passwd_line(std::string_view address, std::string_view password_hash,
                                       const fs::path& home) {
  if (auto a = parse_user_address(address); !a) return a.error();
  if (password_hash.find(':') != std::string_view::npos || has_control(password_hash))
    return make_error("the password hash contains ':' or a control character");
  const std::string h = home.string();
  if (h.find(':') != std::string::npos || has_control(h))
    return make_error("home '" + h + "' contains ':' or a control character");
  if (!h.empty() && h.front() != '/') return make_error("home '" + h + "' is not absolute");
  return std::string(address) + ":" + std::string(password_hash) + ":" + h;
}

Result<std::string> read_passwd_file(const fs::path& file) { return std::move(load(file).text); }

Status write_passwd_file(const fs::path& file, std::string_view content) {
  fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  fs::path tmp = dir / (file.filename().string() + ".tmp." + std::to_string(::getpid()));
  auto fail = [&](const char* what, int err) -> Status {
    ::unlink(tmp.c_str());
    return make_error(errno_text(err == 0 ? file : tmp, what, err));
  };
  ::unlink(tmp.c_str());  // left over by a crashed process with our pid
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot create", errno);
  if (::fchmod(fd, 0600) != 0) {
    int e = errno;
    ::close(fd);
    return fail("cannot chmod", e);
  }
  if (auto w = write_all(fd, content); !w) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return make_error(tmp.string() + ": cannot write: " + w.error().text);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return fail("cannot fsync", e);
  }
  if (::close(fd) != 0) return fail("cannot close", errno);
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return make_error(errno_text(file, "cannot rename the new file into place", e));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return make_error(errno_text(dir, "cannot open to fsync", errno));
  int rc = ::fsync(dfd), e = errno;
  ::close(dfd);
  if (rc != 0) return make_error(errno_text(dir, "cannot fsync", e));
  return Ok{};
}

// ---------------------------------------------------------------------------

struct PasswdFileDirectory::Snapshot {
  FileId id;
  std::vector<User> users;
  std::unordered_map<std::string, size_t> index;  // directory_key -> users[i]
  std::vector<std::string> problems;
};

PasswdFileDirectory::PasswdFileDirectory(fs::path users_file, fs::path data_dir,
                                         std::chrono::milliseconds check_interval)
    : file_(std::move(users_file)),
      data_dir_(std::move(data_dir)),
      interval_(check_interval),
      snap_(std::make_shared<const Snapshot>()) {
  refresh(true);
}

PasswdFileDirectory::~PasswdFileDirectory() = default;

std::shared_ptr<const PasswdFileDirectory::Snapshot> PasswdFileDirectory::current() const {
  refresh(false);
  std::lock_guard lk(mu_);
  return snap_;
}

void PasswdFileDirectory::reload() const { refresh(true); }

void PasswdFileDirectory::refresh(bool force) const {
  std::shared_ptr<const Snapshot> old;
  {
    std::lock_guard lk(mu_);
    auto now = std::chrono::steady_clock::now();
    if (!force && now < next_check_) return;
    next_check_ = now + interval_;
    old = snap_;
  }
  // A lookup never waits for someone else's reload; it uses the old snapshot.
  std::unique_lock rl(reload_mu_, std::defer_lock);
  if (force)
    rl.lock();
  else if (!rl.try_lock())
    return;
  {
    std::lock_guard lk(mu_);
    old = snap_;  // may have been replaced while we waited for reload_mu_
  }
  FileId now_id = stat_id(file_);
  if (now_id == old->id) return;  // also: missing before, missing now
  auto loaded = load(file_);
  auto snap = std::make_shared<Snapshot>();
  if (!loaded.text) {
    *snap = *old;       // keep serving the users we had
    snap->id = now_id;  // retried after the next change (chmod changes ctime)
    snap->problems.push_back(loaded.text.error().text);
  } else {
    auto parsed = parse_passwd_file(*loaded.text, file_.string(), data_dir_);
    snap->id = loaded.id;
    snap->problems = std::move(parsed.problems);
    snap->users.reserve(parsed.entries.size());
    for (auto& e : parsed.entries) {
      snap->index.emplace(directory_key(e.user.address), snap->users.size());
      snap->users.push_back(std::move(e.user));
    }
  }
  std::lock_guard lk(mu_);
  snap_ = std::move(snap);
}

std::optional<User> PasswdFileDirectory::find(std::string_view address) const {
  auto snap = current();
  auto it = snap->index.find(directory_key(address));
  if (it == snap->index.end()) return std::nullopt;
  return snap->users[it->second];
}

bool PasswdFileDirectory::authenticate(std::string_view address, std::string_view password) const {
  auto user = find(address);
  if (!user) {
    (void)verify_password(password, kDummyHash);
    return false;
  }
  return verify_password(password, user->password_hash);
}

std::vector<std::string> PasswdFileDirectory::problems() const { return current()->problems; }

std::vector<User> PasswdFileDirectory::users() const { return current()->users; }

}  // namespace nougat::engine
