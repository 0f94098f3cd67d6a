// MemoryStore: an in-memory TokenStore for tests (and a failing mode for the
// error paths). Same semantics as the LMDB store; nothing persists.
// FlatSnapshot: an immutable copy of a whole store in one open-addressing
// table, for bulk classification (see LmdbStore::snapshot()).
#pragma once

#include <mutex>
#include <shared_mutex>
#include <string>
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
  Status learn(std::span<const LearnItem> batch, LearnOutcome* outcome = nullptr) override {
    if (fail_) return make_error("token store unavailable", "MemoryStore in failing mode");
    std::unique_lock lock(mu_);
    auto r = resolve_batch(batch, [&](const std::string& key) {
      auto it = seen_.find(key);
      return it == seen_.end() ? Seen::kNone : it->second;
    });
    for (const auto& op : r.ops) {
      auto& total = op.spam ? spam_ : ham_;
      total = adjust_total(total, op.unlearn);
      for (uint64_t t : *op.tokens) {
        auto& c = counts_[t];
        auto& v = op.spam ? c.spam : c.ham;
        v = adjust_count(v, op.unlearn);
        if (c.spam == 0 && c.ham == 0) counts_.erase(t);
      }
    }
    for (auto& [key, state] : r.changes) {
      if (state == Seen::kNone) seen_.erase(key);
      else seen_[key] = state;
    }
    if (outcome) *outcome = r.outcome;
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
  std::unordered_map<std::string, Seen> seen_;
  uint64_t spam_ = 0, ham_ = 0;
};

// Read-only. Built from keys in ascending order (as LMDB iterates them), so
// building is sequential appends; a bucket index on the top bits of the
// (uniformly spread) hashes leaves a lookup one or two cache lines to scan.
class FlatSnapshot final : public TokenStore {
 public:
  explicit FlatSnapshot(size_t expected) {
    keys_.reserve(expected);
    counts_.reserve(expected);
  }
  // Keys must come in strictly ascending order.
  void append(uint64_t token, TokenCounts c) {
    keys_.push_back(token);
    counts_.push_back(c);
  }
  void finish(StoreTotals totals) {
    totals_ = totals;
    bits_ = 1;
    while (bits_ < 30 && (size_t(1) << bits_) * 4 < keys_.size()) ++bits_;
    index_.assign((size_t(1) << bits_) + 1, 0);
    size_t k = 0;
    for (size_t b = 0; b < (size_t(1) << bits_); ++b) {
      index_[b] = uint32_t(k);
      while (k < keys_.size() && (keys_[k] >> (64 - bits_)) == b) ++k;
    }
    index_.back() = uint32_t(keys_.size());
  }
  Result<StoreTotals> lookup(std::span<const uint64_t> tokens, std::span<TokenCounts> out) const override {
    for (size_t n = 0; n < tokens.size(); ++n) {
      uint64_t t = tokens[n];
      size_t b = t >> (64 - bits_);
      out[n] = {};
      for (uint32_t i = index_[b], e = index_[b + 1]; i < e && keys_[i] <= t; ++i)
        if (keys_[i] == t) {
          out[n] = counts_[i];
          break;
        }
    }
    return totals_;
  }
  Status learn(std::span<const LearnItem>, LearnOutcome* = nullptr) override {
    return make_error("token store snapshot is read-only");
  }
  Result<StoreTotals> totals() const override { return totals_; }

 private:
  std::vector<uint64_t> keys_;
  std::vector<TokenCounts> counts_;
  std::vector<uint32_t> index_;
  int bits_ = 1;
  StoreTotals totals_;
};

}  // namespace nougat::scanners
