// run_child: runs a helper program (today `nougat bayes train` for the Junk
// trainer, engine/junk_trainer.hpp) and waits for it, from a thread that may
// block — never from a network or delivery thread.
//
// Promises: the child gets nothing of the server but its environment and
// working directory: stdin is /dev/null; stdout and stderr go into one pipe
// of which the last kMaxChildOutput bytes are kept for the caller (none of it
// reaches the server's log unless the caller puts it there); every other
// descriptor is closed before exec (listening sockets, LMDB files, the log —
// Asio and LMDB do not open them O_CLOEXEC); the signal mask is empty and
// every signal has its default action; the child leads a process group of
// its own, so a Ctrl-C meant for `serve` does not reach it first. Started
// with posix_spawn (vfork-like: no copy of the server's address space).
// Stopping: when `cancel` becomes true the child gets `grace` to finish,
// then SIGKILL; after `timeout` likewise. Either way it is reaped before
// run_child returns.
// Failure: an error only when the child could not be started; how it ended
// is in ChildResult.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "engine/result.hpp"

namespace nougat::engine {

inline constexpr size_t kMaxChildOutput = 4096;

struct ChildResult {
  int exit_code = -1;   // when it exited
  int signal = 0;       // when a signal ended it
  bool killed = false;  // by us: cancelled or timed out
  std::string output;   // the tail of its stdout + stderr
  bool ok() const { return exit_code == 0 && !killed; }
  std::string describe() const;  // "exit 1", "killed by signal 9", … and the output's last line
};

Result<ChildResult> run_child(const std::vector<std::string>& argv, const std::atomic<bool>& cancel,
                              std::chrono::milliseconds timeout,
                              std::chrono::milliseconds grace = std::chrono::milliseconds(500));

}  // namespace nougat::engine
