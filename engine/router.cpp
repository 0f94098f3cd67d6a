#include "engine/router.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "engine/filter_message.hpp"
#include "engine/maildir.hpp"
#include "filterlang/forward.hpp"
#include "filterlang/interpreter.hpp"
#include "filterlang/parser.hpp"

namespace nougat::engine {
namespace fs = std::filesystem;
namespace {

constexpr size_t kMaxForwardFile = 1 << 20;

}  // namespace

bool Router::has_forward(const User& user) const {
  if (!cfg_->routers.forward_files) return false;
  struct stat st {};
  return ::stat((user.home / ".forward").c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

Target Router::inbox(const User& user, const std::string& folder) const {
  Target t;
  t.kind = Target::Kind::kMaildir;
  t.path = maildir_folder(user.maildir(), folder);
  return t;
}

// Inside the home as written and as the file system resolves it: a
// symbolic link in the home (to another user's home, to /etc) does not lead
// a save or a logfile out of it.
bool Router::inside_home(const User& user, const fs::path& p) const {
  auto within = [](const fs::path& path, const fs::path& home) {
    auto rel = path.lexically_relative(home);
    return !rel.empty() && *rel.begin() != ".." && rel.is_relative();
  };
  if (!within(p.lexically_normal(), user.home.lexically_normal())) return false;
  std::error_code ec;
  auto real_home = fs::weakly_canonical(user.home, ec);
  if (ec) return false;
  auto real = fs::weakly_canonical(p, ec);
  return !ec && within(real, real_home);
}

Route Router::route(const User& user, const std::string& rcpt, const Envelope& env,
                    std::string_view data, std::string_view id, std::string_view parent,
                    std::string_view original) const {
  Route r;
  auto path = user.home / ".forward";
  struct stat st {};
  if (!cfg_->routers.forward_files || ::stat(path.c_str(), &st) != 0 || st.st_size == 0) {
    r.targets.push_back(inbox(user, env.folder));
    return r;
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxForwardFile) {
    r.status = Route::Status::kDefer;
    r.reason = fmt::format("{} is larger than {} bytes", path.string(), kMaxForwardFile);
    return r;
  }
  std::ifstream in(path, std::ios::binary);
  std::string source((std::istreambuf_iterator<char>(in)), {});
  if (!in.good() && !in.eof()) {
    r.status = Route::Status::kDefer;
    r.reason = "cannot read " + path.string();
    return r;
  }
  if (!filterlang::is_exim_filter(source)) return run_list(user, source);
  filterlang::FileKey key;
  key.dev = st.st_dev;
  key.ino = st.st_ino;
  key.size = static_cast<uint64_t>(st.st_size);
  key.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return run_filter(user, rcpt, env, data, source, key, id, parent, original);
}

Route Router::run_list(const User& user, const std::string& source) const {
  Route r;
  auto list = filterlang::parse_forward_list(source, user.domain);
  if (!list.error.empty()) {
    r.status = Route::Status::kDefer;
    r.reason = list.error;
    return r;
  }
  if (list.blackhole && list.addresses.empty()) {
    r.notes.push_back(".forward: :blackhole: (discarded)");
    return r;
  }
  for (size_t i = 0; i < list.addresses.size(); ++i) {
    const std::string& a = list.addresses[i];
    if (a.empty()) continue;
    if (a[0] == '|') {
      r.status = Route::Status::kDefer;
      r.reason = "pipe in .forward not permitted (transports.pipe_allowed is off)";
      r.targets.clear();
      return r;
    }
    if (a[0] == '/') {
      fs::path p(a);
      if (!inside_home(user, p)) {
        r.status = Route::Status::kDefer;
        r.reason = "file " + a + " in .forward is outside the home directory";
        r.targets.clear();
        return r;
      }
      Target t;
      t.kind = a.back() == '/' ? Target::Kind::kMaildir : Target::Kind::kMbox;
      t.path = p;
      r.targets.push_back(t);
      continue;
    }
    std::string addr = a[0] == '\\' ? a.substr(1) : a;
    if (directory_key(addr) == directory_key(user.address)) {
      r.targets.push_back(inbox(user, ""));
    } else {
      Target t;
      t.kind = Target::Kind::kAddress;
      t.address = addr;
      t.no_forward = list.no_forward[i];
      r.targets.push_back(t);
    }
  }
  return r;
}

Route Router::run_filter(const User& user, const std::string& rcpt, const Envelope& env,
                         std::string_view data, const std::string& source,
                         const filterlang::FileKey& key, std::string_view id, std::string_view parent,
                         std::string_view original) const {
  Route r;
  auto compiled = cache_.get(key, source);
  if (!compiled.program) {
    r.status = Route::Status::kDefer;
    r.reason = "error in filter file " + (user.home / ".forward").string() + ": " + compiled.error;
    return r;
  }
  FilterEnvelope fe;
  fe.sender = env.sender;
  fe.local_part = address_local_part(rcpt);
  fe.domain = address_domain(rcpt);
  fe.home = user.home.string();
  fe.qualify_domain = user.domain;
  fe.login = user.local_part;
  fe.scan_variables = env.variables;
  // The user's filter sees the header fields as delivered: with what the
  // checks and the system filter added, without what it removed.
  fe.extra_headers = env.added_headers;
  fe.removed_headers = env.removed_headers;
  fe.origin = filter_origin(env, id, cfg_->server.hostname);
  fe.origin.parent = std::string(parent);
  fe.origin.original = std::string(original);
  FilterMessage msg(data, fe);
  filterlang::RunOptions ropts;
  // $sn0..$sn9: the system filter's $n0..$n9 (engine/system_filter.hpp).
  for (const auto& [name, value] : env.variables)
    if (name.size() == 3 && name.starts_with("sn") && name[2] >= '0' && name[2] <= '9')
      ropts.sn[static_cast<size_t>(name[2] - '0')] = std::atoi(value.c_str());
  auto result = filterlang::run_filter(*compiled.program, msg, ropts);
  using filterlang::ActionKind;
  using filterlang::Outcome;
  // logfile/logwrite write while the filter's actions are taken, as in
  // Exim: appended to the file last named by logfile (inside the home,
  // created with its mode, default 0600), a newline added. A logwrite
  // without a logfile, or one that cannot be written, is a filter error.
  // What was logged before a run-time error is written too.
  std::optional<fs::path> logfile;
  int logmode = 0600;
  auto filter_error = [&](const std::string& why) {
    r.status = Route::Status::kDefer;
    r.reason = "filter error in " + (user.home / ".forward").string() + ": " + why;
    r.targets.clear();
    return r;
  };
  auto log_action = [&](const filterlang::Action& a) -> std::string {
    if (a.kind == ActionKind::kLogfile) {
      if (a.tainted) return "Tainted '" + a.value + "' (logfile name) not permitted";  // as Exim 4.96
      fs::path p(a.value);
      if (p.is_relative()) p = user.home / p;
      if (!inside_home(user, p)) return "logfile " + a.value + " is outside the home directory";
      logfile = p;
      logmode = a.mode >= 0 ? a.mode : 0600;
      return "";
    }
    if (!logfile) return "attempt to obey \"logwrite\" command without a previous \"logfile\"";
    std::string line = a.value;
    if (line.empty() || line.back() != '\n') line += '\n';
    int fd = ::open(logfile->c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, logmode);
    bool ok = fd >= 0;
    int err = errno;
    if (ok) {
      ok = ::write(fd, line.data(), line.size()) == ssize_t(line.size());
      err = errno;
      ::close(fd);
    }
    return ok ? "" : fmt::format("cannot write filter log file \"{}\": {}", logfile->string(), std::strerror(err));
  };
  switch (result.outcome) {
    case Outcome::kError:
      for (const auto& a : result.actions)
        if ((a.kind == ActionKind::kLogfile || a.kind == ActionKind::kLogwrite) && !log_action(a).empty()) break;
      return filter_error(result.error);
    case Outcome::kDefer:
      r.status = Route::Status::kDefer;
      r.reason = "deferred by the filter";
      break;
    case Outcome::kFail:
      r.status = Route::Status::kFail;
      r.reason = "rejected by the filter";
      break;
    case Outcome::kFreeze:
      r.status = Route::Status::kFreeze;
      r.reason = "frozen by the filter";
      break;
    default:
      break;
  }
  for (const auto& a : result.actions) {
    switch (a.kind) {
      case ActionKind::kLogfile:
      case ActionKind::kLogwrite:
        if (auto e = log_action(a); !e.empty()) return filter_error(e);
        break;
      case ActionKind::kFail:
      case ActionKind::kDefer:
      case ActionKind::kFreeze:
        if (!a.value.empty()) r.reason = a.value;
        break;
      case ActionKind::kDeliver: {
        if (directory_key(a.value) == directory_key(user.address) ||
            directory_key(a.value) == directory_key(rcpt)) {
          r.targets.push_back(inbox(user, ""));
        } else {
          Target t;
          t.kind = Target::Kind::kAddress;
          t.address = a.value.find('@') == std::string::npos ? a.value + "@" + user.domain : a.value;
          r.targets.push_back(t);
        }
        break;
      }
      case ActionKind::kSave: {
        if (a.value.empty()) {  // (a condition in the filter can make it so)
          r.status = Route::Status::kDefer;
          r.reason = "save with an empty file name";
          r.targets.clear();
          return r;
        }
        if (a.tainted) {  // a file name made from the message: Exim 4.96's appendfile refuses it too
          r.status = Route::Status::kDefer;
          r.reason = "Tainted '" + a.value + "' (file or directory name for save) not permitted";
          r.targets.clear();
          return r;
        }
        fs::path p(a.value);
        if (p.is_relative()) p = user.home / p;
        if (!inside_home(user, p)) {
          r.status = Route::Status::kDefer;
          r.reason = "save to " + a.value + " is outside the home directory";
          r.targets.clear();
          return r;
        }
        Target t;
        t.kind = a.value.back() == '/' ? Target::Kind::kMaildir : Target::Kind::kMbox;
        t.path = p;
        r.targets.push_back(t);
        break;
      }
      case ActionKind::kPipe:
        r.status = Route::Status::kDefer;
        r.reason = "pipe in filter not permitted (transports.pipe_allowed is off)";
        r.targets.clear();
        return r;
      case ActionKind::kMail:
      case ActionKind::kVacation:
        r.notes.push_back(fmt::format("filter {} to {} not sent: autoreplies are not available yet",
                                      a.kind == ActionKind::kMail ? "mail" : "vacation",
                                      a.mail[0].value_or("the sender")));
        break;
      default:
        break;
    }
  }
  if (r.status != Route::Status::kDeliver) {
    r.targets.clear();
    return r;
  }
  // No significant delivery set up: the normal delivery happens as well.
  if (result.outcome != Outcome::kDelivered) r.targets.push_back(inbox(user, env.folder));
  return r;
}

}  // namespace nougat::engine
