#include "engine/child_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace nougat::engine {
namespace {

using Clock = std::chrono::steady_clock;

// posix_spawn's attributes and file actions, released on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

bool prepare(SpawnSetup& s, int out_fd) {
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  return posix_spawn_file_actions_addopen(&s.fa, 0, "/dev/null", O_RDONLY, 0) == 0 &&
         posix_spawn_file_actions_adddup2(&s.fa, out_fd, 1) == 0 &&
         posix_spawn_file_actions_adddup2(&s.fa, out_fd, 2) == 0 &&
         posix_spawn_file_actions_addclosefrom_np(&s.fa, 3) == 0 &&
         posix_spawnattr_setsigmask(&s.attr, &none) == 0 &&
         posix_spawnattr_setsigdefault(&s.attr, &all) == 0 &&
         posix_spawnattr_setpgroup(&s.attr, 0) == 0 &&
         posix_spawnattr_setflags(
             &s.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP) == 0;
}

}  // namespace

std::string ChildResult::describe() const {
  std::string r =
      signal ? fmt::format("killed by signal {}", signal) : fmt::format("exit {}", exit_code);
  if (killed) r += " (stopped by the server)";
  std::string_view out = output;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.remove_suffix(1);
  if (auto nl = out.rfind('\n'); nl != std::string_view::npos) out.remove_prefix(nl + 1);
  std::string last;
  for (unsigned char c : out.substr(0, 300)) last += c < 0x20 || c == 0x7f ? '?' : char(c);
  if (!last.empty()) r += ": " + last;
  return r;
}

Result<ChildResult> run_child(const std::vector<std::string>& argv, const std::atomic<bool>& cancel,
                              std::chrono::milliseconds timeout, std::chrono::milliseconds grace) {
  if (argv.empty()) return make_error("cannot start helper", "empty command");
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0)
    return make_error("cannot start helper", fmt::format("pipe: {}", std::strerror(errno)));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = EINVAL;
  {
    SpawnSetup setup;
    if (prepare(setup, pipefd[1]))
      rc = ::posix_spawn(&pid, args[0], &setup.fa, &setup.attr, args.data(), environ);
  }
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    return make_error("cannot start helper", fmt::format("{}: {}", argv[0], std::strerror(rc)));
  }

  ChildResult r;
  Clock::time_point kill_at = Clock::now() + timeout;
  bool cancelling = false, eof = false, reaped = false;
  int status = 0;
  char buf[4096];
  // Until the child is reaped and its output read (a grandchild keeping the
  // pipe open does not hold us up once the child itself is gone).
  while (!reaped || !eof) {
    auto now = Clock::now();
    if (!cancelling && cancel.load()) {
      cancelling = true;
      kill_at = std::min(kill_at, now + grace);
    }
    if (!reaped && !r.killed && now >= kill_at) {
      ::kill(pid, SIGKILL);
      r.killed = true;
    }
    if (!eof) {
      pollfd p{pipefd[0], POLLIN, 0};
      int n = ::poll(&p, 1, reaped ? 0 : 50);
      if (n > 0) {
        ssize_t got = ::read(pipefd[0], buf, sizeof buf);
        if (got > 0) {
          r.output.append(buf, size_t(got));
          if (r.output.size() > 2 * kMaxChildOutput)
            r.output.erase(0, r.output.size() - kMaxChildOutput);
        } else if (got == 0 || errno != EINTR) {
          eof = true;
        }
      } else if (reaped) {
        eof = true;  // nothing more buffered
      }
    } else if (!reaped) {
      ::usleep(20000);
    }
    if (!reaped) {
      pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid)
        reaped = true;
      else if (w < 0 && errno != EINTR) {
        ::close(pipefd[0]);
        return make_error("cannot wait for helper", std::strerror(errno));
      }
    }
  }
  ::close(pipefd[0]);
  if (r.output.size() > kMaxChildOutput) r.output.erase(0, r.output.size() - kMaxChildOutput);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

}  // namespace nougat::engine
