#include "engine/child_process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace nougat::engine {
namespace {

using namespace std::chrono_literals;

ChildResult sh(const std::string& script, const std::atomic<bool>& cancel,
               std::chrono::milliseconds timeout = 10s) {
  auto r = run_child({"/bin/sh", "-c", script}, cancel, timeout);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().text + ": " + r.error().detail);
  return r.ok() ? *r : ChildResult{};
}

TEST(ChildProcess, ExitCodeAndOutput) {
  std::atomic<bool> no{false};
  auto r = sh("echo out; echo err >&2; exit 3", no);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.output, "out\nerr\n");
  EXPECT_EQ(r.describe(), "exit 3: err");
  EXPECT_TRUE(sh("true", no).ok());
}

TEST(ChildProcess, OnlyTheTailOfALongOutputIsKept) {
  std::atomic<bool> no{false};
  auto r = sh("i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done; echo last", no);
  EXPECT_TRUE(r.ok());
  EXPECT_LE(r.output.size(), kMaxChildOutput);
  EXPECT_EQ(r.output.substr(r.output.size() - 5), "last\n");
}

// Nothing of the server leaks into the child: a listening socket and a file
// opened without O_CLOEXEC (as Asio and LMDB open theirs) are closed, stdin
// is /dev/null, and a blocked or ignored signal is back to normal.
TEST(ChildProcess, InheritsNoDescriptorsOrSignalState) {
  int sock = ::socket(AF_INET, SOCK_STREAM, 0);  // no SOCK_CLOEXEC
  ASSERT_GE(sock, 0);
  int file = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC
  ASSERT_GE(file, 0);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &block, &old);
  auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
  std::atomic<bool> no{false};
  auto r =
      sh("ls /proc/self/fd | sort -n | tr '\\n' ' '; readlink /proc/self/fd/0; "
         "grep -E '^(SigBlk|SigIgn)' /proc/self/status",
         no);
  ::signal(SIGPIPE, old_pipe);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(sock);
  ::close(file);
  // 0, 1, 2 and the descriptor `ls` opens for the directory itself.
  EXPECT_EQ(r.output.substr(0, 8), "0 1 2 3 ") << r.output;
  EXPECT_EQ(r.output.find(" 4 "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("/dev/null\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("SigBlk:\t0000000000000000"), std::string::npos) << r.output;
  auto ign = r.output.find("SigIgn:\t");
  ASSERT_NE(ign, std::string::npos) << r.output;
  // glibc keeps its two internal signals (32, 33); SIGPIPE must not be ignored.
  uint64_t ignored = std::stoull(r.output.substr(ign + 8, 16), nullptr, 16);
  EXPECT_EQ(ignored & (uint64_t(1) << (SIGPIPE - 1)), 0u) << r.output;
}

TEST(ChildProcess, CancelKillsAfterTheGracePeriod) {
  std::atomic<bool> cancel{false};
  std::thread t([&] {
    std::this_thread::sleep_for(100ms);
    cancel = true;
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = sh("exec sleep 30", cancel);
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_TRUE(r.killed);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_FALSE(r.ok());
}

TEST(ChildProcess, TimeoutKills) {
  std::atomic<bool> no{false};
  auto r = sh("exec sleep 30", no, 200ms);
  EXPECT_TRUE(r.killed);
  EXPECT_FALSE(r.ok());
}

TEST(ChildProcess, ABinaryThatDoesNotExist) {
  std::atomic<bool> no{false};
  auto r = run_child({"/nonexistent/nougat"}, no, 1s);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace nougat::engine
