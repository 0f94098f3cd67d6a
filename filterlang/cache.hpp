// A cache of compiled filter programs keyed by the file's identity and
// version: (device, inode, size, mtime in ns). A changed file gets a new key,
// so a stale program is never returned; old entries are evicted LRU.
// Thread-safe (one mutex; compilation happens outside it).
// Limits: at most `capacity` programs. Failure: compile errors are cached too
// (the same file fails the same way) and returned as CompileOutcome::error.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string_view>
#include <tuple>

#include "filterlang/program.hpp"

namespace nougat::filterlang {

struct FileKey {
  uint64_t dev = 0, ino = 0, size = 0;
  int64_t mtime_ns = 0;
  bool system_filter = false;
  auto tie() const { return std::tie(dev, ino, size, mtime_ns, system_filter); }
  bool operator<(const FileKey& o) const { return tie() < o.tie(); }
};

class ProgramCache {
 public:
  explicit ProgramCache(size_t capacity = 1024) : capacity_(capacity) {}

  // Returns the cached outcome for `key`, or compiles `source` and caches it.
  CompileOutcome get(const FileKey& key, std::string_view source);
  size_t size() const;
  uint64_t hits() const;

 private:
  mutable std::mutex mu_;
  size_t capacity_;
  std::list<FileKey> lru_;  // front = most recent
  std::map<FileKey, std::pair<CompileOutcome, std::list<FileKey>::iterator>> map_;
  uint64_t hits_ = 0;
};

}  // namespace nougat::filterlang
