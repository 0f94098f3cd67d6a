#include "engine/sync.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "engine/log.hpp"

namespace nougat::engine {

SyncGroup::SyncGroup(const std::filesystem::path& anchor) {
  fd_ = ::open(anchor.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) {
    log::line("", "fatal: cannot open {} for syncing: {}", anchor.string(), std::strerror(errno));
    std::abort();
  }
  struct stat st {};
  ::fstat(fd_, &st);
  dev_ = st.st_dev;
  thread_ = std::thread([this] { run(); });
}

SyncGroup::~SyncGroup() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  ::close(fd_);
}

void SyncGroup::request(Completion done) {
  {
    std::lock_guard lk(mu_);
    pending_.push_back(std::move(done));
  }
  cv_.notify_one();
}

bool SyncGroup::sync_now() {
  ++syncs_;
  return ::syncfs(fd_) == 0;
}

void SyncGroup::drain() {
  std::unique_lock lk(mu_);
  idle_.wait(lk, [&] { return pending_.empty() && !busy_; });
}

void SyncGroup::run() {
  std::vector<Completion> batch;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      busy_ = false;
      idle_.notify_all();
      cv_.wait(lk, [&] { return stop_ || !pending_.empty(); });
      if (pending_.empty() && stop_) return;
      batch.swap(pending_);
      busy_ = true;
    }
    bool ok = sync_now();
    if (!ok) log::line("", "syncfs failed: {}", std::strerror(errno));
    for (auto& c : batch) c(ok);
    batch.clear();
  }
}

}  // namespace nougat::engine
