#include "filterlang/cache.hpp"

namespace nougat::filterlang {

CompileOutcome ProgramCache::get(const FileKey& key, std::string_view source) {
  {
    std::lock_guard lock(mu_);
    if (auto it = map_.find(key); it != map_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.second);
      ++hits_;
      return it->second.first;
    }
  }
  ParseOptions opts;
  opts.system_filter = key.system_filter;
  CompileOutcome out = compile_filter(source, opts);
  std::lock_guard lock(mu_);
  if (map_.count(key)) return out;
  lru_.push_front(key);
  map_.emplace(key, std::make_pair(out, lru_.begin()));
  while (map_.size() > capacity_) {
    map_.erase(lru_.back());
    lru_.pop_back();
  }
  return out;
}

size_t ProgramCache::size() const {
  std::lock_guard lock(mu_);
  return map_.size();
}

uint64_t ProgramCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

}  // namespace nougat::filterlang
