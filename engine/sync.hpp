// SyncGroup: group commit for one file system. Callers write their files
// (no fsync of their own) and then ask the group to make everything written
// so far durable; one committer thread runs syncfs(2) for all requests that
// arrived meanwhile, then calls each completion. syncfs covers file data,
// inodes and directory entries (renames, unlinks) of the whole file system,
// so one call replaces an fsync per file plus an fsync per directory.
//
// Completions run on the committer thread: keep them short (post elsewhere).
// If syncfs fails the completion gets false and nothing may be acknowledged.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <sys/types.h>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nougat::engine {

class SyncGroup {
 public:
  using Completion = std::function<void(bool ok)>;

  // `anchor` is any directory on the file system to sync (kept open).
  explicit SyncGroup(const std::filesystem::path& anchor);
  ~SyncGroup();
  SyncGroup(const SyncGroup&) = delete;
  SyncGroup& operator=(const SyncGroup&) = delete;

  void request(Completion done);
  // Returns once every request made so far has had its completion called
  // (at shutdown: before whatever the completions post to goes away).
  void drain();
  bool sync_now();  // blocking, for callers already on a worker thread

  dev_t device() const { return dev_; }
  uint64_t syncs() const { return syncs_; }

 private:
  void run();

  int fd_ = -1;
  dev_t dev_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Completion> pending_;
  std::condition_variable idle_;
  bool busy_ = false;  // a batch is being synced or completed
  bool stop_ = false;
  uint64_t syncs_ = 0;
  std::thread thread_;
};

}  // namespace nougat::engine
