// junk_scan: what the Junk trainer (engine/junk_trainer.hpp) costs per pass
// over big Maildirs. Writes USERS mailboxes of MESSAGES files each (90% in
// INBOX, 10% in .Junk, ~2 KB like a typical message) under a temporary
// directory, then times, best of 3 where it can:
//   first   the first pass after start: every header block read
//   steady  a pass with nothing new in folders changed in the last 2 s:
//           listed again, no file read
//   quiet   a pass with nothing new once the folders are older than that:
//           four stat calls per user (engine/junk_trainer.cpp FolderStamp)
//   moved   a pass after 1% of the INBOX was moved into Junk (one batch
//           per user to a Train function that does nothing)
// Page cache warm (the files were just written); a cold first pass after a
// reboot reads each file from disk instead.
//   usage: junk_scan [MESSAGES [USERS]]      (default 10000 1)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "engine/junk_trainer.hpp"
#include "engine/log.hpp"
#include "engine/memory_directory.hpp"

namespace fs = std::filesystem;
using namespace nougat::engine;

int main(int argc, char** argv) {
  size_t messages = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  size_t users = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1;
  fs::path root = fs::temp_directory_path() / ("nougat-junk-scan-" + std::to_string(::getpid()));
  MemoryDirectory dir(root);
  std::string body;
  for (int i = 0; i < 30; ++i)
    body += "the quick brown fox jumps over the lazy dog and a few more words here\n";
  for (size_t u = 0; u < users; ++u) {
    auto addr = "user" + std::to_string(u) + "@bench.example";
    dir.add_user(addr, "pw");
    auto md = dir.find(addr)->maildir();
    for (auto f : {md, md / ".Junk"})
      for (auto sub : {"tmp", "new", "cur"}) fs::create_directories(f / sub);
    for (size_t i = 0; i < messages; ++i) {
      bool junk = i % 10 == 9;
      auto name =
          std::to_string(1764300000 + i) + ".1xQ" + std::to_string(i) + "_0.bench,S=2300:2,S";
      std::ofstream((junk ? md / ".Junk" : md) / "cur" / name)
          << "Return-Path: <s@x.example>\nDelivered-To: " << addr << "\nReceived: from x by bench\n"
          << "X-Spam-Score: 0.1\nX-Spam-Status: No\nX-Spam-Flag: " << (junk ? "YES" : "NO") << "\n"
          << "Message-ID: <" << i << "." << u << "@x.example>\nSubject: message " << i << "\n\n"
          << body;
    }
  }
  log::set_stderr(false);
  Config::Spam spam;
  spam.store = root / "bayes";
  spam.junk_scan_interval = std::chrono::seconds(0);
  size_t batches = 0;
  auto make = [&] {
    return std::make_unique<JunkTrainer>(spam, dir,
                                         [&](const JunkTrainer::Batch&, const std::atomic<bool>&) {
                                           ++batches;
                                           return nougat::Status(nougat::Ok{});
                                         });
  };
  auto best = [](auto&& fn) {
    double b = 1e9;
    for (int r = 0; r < 3; ++r) b = std::min(b, fn());
    return b;
  };
  double first = best([&] { return make()->scan_once().seconds; });
  auto t = make();
  t->scan_once();
  double steady = best([&] { return t->scan_once().seconds; });
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  t->scan_once();  // lists once more, now with settled folder times
  double quiet = best([&] { return t->scan_once().seconds; });
  for (size_t u = 0; u < users; ++u) {
    auto md = dir.find("user" + std::to_string(u) + "@bench.example")->maildir();
    size_t moved = 0;
    for (auto& e : fs::directory_iterator(md / "cur")) {
      if (moved++ == messages / 100) break;
      fs::rename(e.path(), md / ".Junk" / "cur" / e.path().filename());
    }
  }
  auto s = t->scan_once();
  std::printf(
      "%zu users x %zu messages: first pass %.3f s, steady %.4f s, quiet %.5f s, "
      "pass with %zu moved %.4f s (%zu batches)\n",
      users, messages, first, steady, quiet, s.learnt, s.seconds, batches);
  fs::remove_all(root);
  return 0;
}
