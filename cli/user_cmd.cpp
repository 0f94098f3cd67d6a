// `nougat user add|passwd|del|list`: manage <data>/users (engine/passwd_file).
// Edits work line by line, so comments, Dovecot-form lines and even lines the
// parser rejects survive a rewrite untouched. Every change replaces the file
// atomically (engine::write_passwd_file) under an exclusive flock on
// <data>/users.lock, so two admins running `user add` at once lose nothing.
// A running server picks the change up within a second (PasswdFileDirectory).
// Exit status: 0 ok, 1 failure, 2 usage error (including a malformed address).
#include <fcntl.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "engine/directory.hpp"
#include "engine/passwd_file.hpp"
#include "engine/password.hpp"

namespace nougat::cli {
namespace {
namespace fs = std::filesystem;
namespace eng = nougat::engine;

constexpr std::string_view kUserUsage =
    "usage: nougat user add ADDRESS [--password-stdin] [--home DIR] [--scheme SCHEME]\n"
    "       nougat user passwd ADDRESS [--password-stdin] [--scheme SCHEME]\n"
    "       nougat user del ADDRESS\n"
    "       nougat user list\n"
    "  SCHEME is SHA512-CRYPT (default) or BLF-CRYPT; every command also takes\n"
    "  --data DIR, --config FILE and --set KEY=VALUE.\n";

int usage(std::string_view msg) {
  std::cerr << "nougat user: " << msg << "\n" << kUserUsage;
  return 2;
}

int fail(std::string_view msg) {
  std::cerr << "nougat user: " << msg << "\n";
  return 1;
}

// --- reading the password --------------------------------------------------

// The terminal state to put back if ^C arrives while echo is off. A signal
// handler can reach nothing else, hence this one file-level variable.
int g_tty_fd = -1;
termios g_tty_saved{};

extern "C" void restore_tty_and_die(int sig) {
  if (g_tty_fd >= 0) ::tcsetattr(g_tty_fd, TCSAFLUSH, &g_tty_saved);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

class NoEcho {
 public:
  explicit NoEcho(int fd) : fd_(fd) {
    if (::tcgetattr(fd, &saved_) != 0) return;
    g_tty_saved = saved_;
    g_tty_fd = fd;
    ::signal(SIGINT, restore_tty_and_die);
    ::signal(SIGTERM, restore_tty_and_die);
    ::signal(SIGHUP, restore_tty_and_die);
    termios t = saved_;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    t.c_lflag |= ECHONL;
    active_ = ::tcsetattr(fd, TCSAFLUSH, &t) == 0;
  }
  ~NoEcho() {
    if (active_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
    g_tty_fd = -1;
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGHUP, SIG_DFL);
  }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

Result<std::string> read_tty_line(int fd, std::string_view prompt) {
  if (::write(fd, prompt.data(), prompt.size()) < 0)
    return make_error("cannot write to the terminal");
  std::string line;
  for (;;) {
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(std::string("cannot read the terminal: ") + std::strerror(errno));
    if (n == 0 || c == '\n') break;
    line.push_back(c);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<std::string> prompt_password() {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return make_error("no terminal to ask for the password on; use --password-stdin");
  Result<std::string> result = make_error("passwords do not match");
  {
    NoEcho guard(fd);
    auto first = read_tty_line(fd, "New password: ");
    if (!first) {
      result = first.error();
    } else {
      auto second = read_tty_line(fd, "Retype new password: ");
      if (!second)
        result = second.error();
      else if (*first == *second)
        result = std::move(*first);
    }
  }
  ::close(fd);
  return result;
}

// One line from stdin; the trailing newline (LF or CRLF) is not part of it.
Result<std::string> stdin_password() {
  std::string line;
  if (!std::getline(std::cin, line) && line.empty())
    return make_error("no password on standard input");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<std::string> new_password_hash(const Args& args, eng::Scheme scheme) {
  auto pw = args.has("password-stdin") ? stdin_password() : prompt_password();
  if (!pw) return pw.error();
  if (pw->empty()) return make_error("empty password refused");
  return eng::hash_password(*pw, scheme);
}

// --- the users file --------------------------------------------------------

struct UsersFile {
  fs::path data_dir, path;
  std::vector<std::string> lines;  // without their '\n'

  std::string text() const {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }
  // Indexes of the lines for `address` (case-insensitive, even lines the
  // parser rejects for another reason).
  std::vector<size_t> find(std::string_view address) const {
    std::vector<size_t> out;
    auto key = eng::directory_key(address);
    for (size_t i = 0; i < lines.size(); ++i)
      if (eng::directory_key(eng::passwd_line_address(lines[i])) == key) out.push_back(i);
    return out;
  }
};

Result<UsersFile> read_users(const fs::path& data_dir) {
  UsersFile f{data_dir, data_dir / "users", {}};
  auto text = eng::read_passwd_file(f.path);
  if (!text) return text.error();
  std::string_view rest = *text;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    f.lines.emplace_back(rest.substr(0, nl));
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  return f;
}

// Held for the whole read-modify-write of the users file.
class UsersLock {
 public:
  static Result<UsersLock> take(const fs::path& data_dir) {
    auto p = data_dir / "users.lock";
    int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return make_error(p.string() + ": cannot open: " + std::strerror(errno));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return make_error(p.string() + ": cannot lock: " + std::strerror(e));
    }
    return UsersLock(fd);
  }
  UsersLock(UsersLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UsersLock& operator=(UsersLock&&) = delete;
  ~UsersLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit UsersLock(int fd) : fd_(fd) {}
  int fd_;
};

Status make_maildir(const fs::path& home) {
  std::error_code ec;
  fs::create_directories(home, ec);
  if (ec) return make_error(home.string() + ": cannot create: " + ec.message());
  for (const char* sub : {"Maildir", "Maildir/cur", "Maildir/new", "Maildir/tmp"}) {
    auto p = home / sub;
    fs::create_directory(p, ec);
    if (!ec) fs::permissions(p, fs::perms::owner_all, ec);
    if (ec) return make_error(p.string() + ": cannot create: " + ec.message());
  }
  return Ok{};
}

// --- subcommands -----------------------------------------------------------

struct Context {
  Args args;
  fs::path data_dir;
  eng::Scheme scheme = eng::Scheme::kSha512Crypt;
};

int user_add(const Context& c, const eng::UserAddress& addr) {
  const std::string address = addr.address();
  fs::path home;
  if (auto h = c.args.value("home"); !h.empty()) home = fs::absolute(h).lexically_normal();
  if (auto probe = eng::format_passwd_line(address, "{PLAIN}x", home); !probe)
    return usage(probe.error().text);

  auto existing = [&]() -> Result<bool> {
    auto f = read_users(c.data_dir);
    if (!f) return f.error();
    auto at = f->find(address);
    if (at.empty()) return false;
    return make_error(address + " already exists (" + f->path.string() + ":" +
                      std::to_string(at.front() + 1) + ")");
  };
  // Checked before asking for the password, and again under the lock.
  if (auto e = existing(); !e) return fail(e.error().text);

  auto hash = new_password_hash(c.args, c.scheme);
  if (!hash) return fail(hash.error().text);
  auto line = eng::format_passwd_line(address, *hash, home);
  if (!line) return fail(line.error().text);

  auto lock = UsersLock::take(c.data_dir);
  if (!lock) return fail(lock.error().text);
  if (auto e = existing(); !e) return fail(e.error().text);
  auto f = read_users(c.data_dir);
  if (!f) return fail(f.error().text);

  fs::path effective_home = home.empty() ? eng::default_home(c.data_dir, addr) : home;
  if (auto m = make_maildir(effective_home); !m) return fail(m.error().text);
  f->lines.push_back(*line);
  if (auto w = eng::write_passwd_file(f->path, f->text()); !w) return fail(w.error().text);
  std::cout << "added " << address << " (home " << effective_home.string() << ")\n";
  return 0;
}

int user_passwd(const Context& c, const eng::UserAddress& addr) {
  const std::string address = addr.address();
  {
    auto f = read_users(c.data_dir);
    if (!f) return fail(f.error().text);
    if (f->find(address).empty()) return fail("no user " + address + " in " + f->path.string());
  }
  auto hash = new_password_hash(c.args, c.scheme);
  if (!hash) return fail(hash.error().text);

  auto lock = UsersLock::take(c.data_dir);
  if (!lock) return fail(lock.error().text);
  auto f = read_users(c.data_dir);
  if (!f) return fail(f.error().text);
  auto at = f->find(address);
  if (at.empty()) return fail("no user " + address + " in " + f->path.string());
  for (size_t i : at) f->lines[i] = eng::passwd_line_with_password(f->lines[i], *hash);
  if (auto w = eng::write_passwd_file(f->path, f->text()); !w) return fail(w.error().text);
  std::cout << "changed the password of " << address << "\n";
  return 0;
}

int user_del(const Context& c, const eng::UserAddress& addr) {
  const std::string address = addr.address();
  auto lock = UsersLock::take(c.data_dir);
  if (!lock) return fail(lock.error().text);
  auto f = read_users(c.data_dir);
  if (!f) return fail(f.error().text);
  auto at = f->find(address);
  if (at.empty()) return fail("no user " + address + " in " + f->path.string());
  auto parsed = eng::parse_passwd_file(f->text(), f->path.string(), c.data_dir);
  for (auto it = at.rbegin(); it != at.rend(); ++it) f->lines.erase(f->lines.begin() + *it);
  if (auto w = eng::write_passwd_file(f->path, f->text()); !w) return fail(w.error().text);
  std::cout << "removed " << address;
  for (const auto& e : parsed.entries)
    if (eng::directory_key(e.user.address) == eng::directory_key(address))
      std::cout << "; its mail stays in " << e.user.home.string();
  std::cout << "\n";
  return 0;
}

int user_list(const Context& c) {
  auto f = read_users(c.data_dir);
  if (!f) return fail(f.error().text);
  auto parsed = eng::parse_passwd_file(f->text(), f->path.string(), c.data_dir);
  for (const auto& p : parsed.problems) std::cerr << "warning: " << p << "\n";
  for (const auto& e : parsed.entries)
    std::cout << e.user.address << "\t" << e.user.home.string() << "\n";
  return 0;
}

}  // namespace

int cmd_user(int argc, char** argv, int first) {
  auto args = parse_args(argc, argv, first, {"home", "scheme"}, {"password-stdin", "help"});
  if (!args) return usage(args.error().text);
  if (args->has("help")) {
    std::cout << kUserUsage;
    return 0;
  }
  const auto& pos = args->positional;
  if (pos.empty()) return usage("missing subcommand");
  const std::string& sub = pos[0];
  const bool takes_address = sub == "add" || sub == "passwd" || sub == "del";
  if (!takes_address && sub != "list") return usage("unknown subcommand '" + sub + "'");
  if (takes_address && pos.size() != 2) return usage(sub + " needs exactly one ADDRESS");
  if (!takes_address && pos.size() != 1) return usage("list takes no arguments");
  if (sub != "add" && args->values.count("home")) return usage("--home is only for add");
  if ((sub == "del" || sub == "list") &&
      (args->values.count("scheme") || args->has("password-stdin")))
    return usage("--scheme and --password-stdin are for add and passwd");

  Context c{*args, {}, eng::Scheme::kSha512Crypt};
  if (auto s = args->value("scheme"); !s.empty()) {
    auto scheme = eng::parse_scheme(s);
    if (!scheme) return usage("unknown --scheme '" + s + "' (SHA512-CRYPT or BLF-CRYPT)");
    c.scheme = *scheme;
  }
  std::optional<eng::UserAddress> addr;
  if (takes_address) {
    auto a = sub == "add" ? eng::parse_new_user_address(pos[1]) : eng::parse_user_address(pos[1]);
    if (!a) return usage("bad address '" + pos[1] + "': " + a.error().text);
    addr = *a;
  }

  auto cfg = load_config_or_report(*args);
  if (!cfg) return 1;
  std::error_code ec;
  c.data_dir = fs::absolute(cfg->server.data_dir, ec).lexically_normal();
  if (ec) return fail(cfg->server.data_dir.string() + ": " + ec.message());
  // A data directory that is not there is most often the wrong folder (the
  // default is ./var, relative to where the command runs): said, not
  // silently made — a server started elsewhere would never see the user.
  const bool fresh = !fs::exists(c.data_dir, ec);
  if (fresh && sub != "add") {
    std::cerr << "nougat user: warning: no data directory at " << c.data_dir.string()
              << " (run from the folder the server was started in, or give --data DIR)\n";
    if (sub == "list") return 0;
  }
  if (sub == "list") return user_list(c);
  if (fresh && sub == "add")
    std::cerr << "nougat user: note: " << c.data_dir.string()
              << " did not exist and is created; a server started in another folder (or with --data) will not "
                 "see this user\n";
  if (sub == "add") fs::create_directories(c.data_dir, ec);
  if (ec) return fail(c.data_dir.string() + ": cannot create: " + ec.message());

  if (sub == "add") return user_add(c, *addr);
  if (sub == "passwd") return user_passwd(c, *addr);
  return user_del(c, *addr);
}

}  // namespace nougat::cli
