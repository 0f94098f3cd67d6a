// MemoryStore: an in-memory TokenStore for tests (and a failing mode for the
// error paths). Same semantics as the LMDB store; nothing persists.
// FlatSnapshot: an immutable copy of a whole store in one open-addressing
// table, for bulk classification (see LmdbStore::snapshot()).
#pragma once

#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "scanners/token_store.hpp"

namespace nougat::scanners {

class MemoryStore final : public TokenStore {
 public:
  // fail: every operation returns an error (for error-path tests).
  explicit MemoryStore(bool fail = false) : fail_(fail) {}

  Result<StoreTotals> lookup(std::span<const uint64_t> tokens, std::span<TokenCounts> out) const override {
    if (fail_) return make_error("token store unavailable", "MemoryStore in failing mode");
    std::shared_lock lock(mu_);
    for (size_t i = 0; i < tokens.size(); ++i) {
      auto it = counts_.find(tokens[i]);
      out[i] = it == counts_.end() ? TokenCounts{} : it->second;
    }
    return totals_locked();
  }
  Status learn(std::span<const LearnItem> batch) override {
    if (fail_) return make_error("token store unavailable", "MemoryStore in failing mode");
    std::unique_lock lock(mu_);
    for (const auto& item : batch) {
      auto& total = item.spam ? spam_ : ham_;
      total = adjust_total(total, item.unlearn);
      for (uint64_t t : item.tokens) {
        auto& c = counts_[t];
        auto& v = item.spam ? c.spam : c.ham;
        v = adjust_count(v, item.unlearn);
        if (c.spam == 0 && c.ham == 0) counts_.erase(t);
      }
    }
    return Ok{};
  }
  Result<StoreTotals> totals() const override {
    if (fail_) return make_error("token store unavailable", "MemoryStore in failing mode");
    std::shared_lock lock(mu_);
    return totals_locked();
  }

 private:
  StoreTotals totals_locked() const { return {spam_, ham_, counts_.size()}; }
  bool fail_;
  mutable std::shared_mutex mu_;
  std::unordered_map<uint64_t, TokenCounts> counts_;
  uint64_t spam_ = 0, ham_ = 0;
};

// Read-only; lookups are one or two cache misses each. Token 0 is never a
// token (it is the store's totals key), so it marks empty slots.
class FlatSnapshot final : public TokenStore {
 public:
  FlatSnapshot(size_t expected, StoreTotals totals) : totals_(totals) {
    size_t cap = 16;
    while (cap < expected * 2) cap <<= 1;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
  }
  void insert(uint64_t token, TokenCounts c) {
    if (token == 0) return;
    size_t i = token & mask_;
    while (slots_[i].token != 0 && slots_[i].token != token) i = (i + 1) & mask_;
    slots_[i] = {token, c};
  }
  Result<StoreTotals> lookup(std::span<const uint64_t> tokens, std::span<TokenCounts> out) const override {
    for (size_t n = 0; n < tokens.size(); ++n) {
      size_t i = tokens[n] & mask_;
      while (slots_[i].token != 0 && slots_[i].token != tokens[n]) i = (i + 1) & mask_;
      out[n] = slots_[i].token ? slots_[i].counts : TokenCounts{};
    }
    return totals_;
  }
  Status learn(std::span<const LearnItem>) override { return make_error("token store snapshot is read-only"); }
  Result<StoreTotals> totals() const override { return totals_; }

 private:
  struct Slot {
    uint64_t token = 0;
    TokenCounts counts;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  StoreTotals totals_;
};

}  // namespace nougat::scanners
