// TokenStore: where the Bayesian classifier keeps its token counts (DESIGN
// "Interfaces that keep the core swappable"). A token is a 64-bit hash; its
// record is how many spam and how many ham messages contained it. Totals (the
// number of trained spam and ham messages) travel with every lookup so one
// read transaction sees one consistent snapshot.
//
// Promises: lookup() answers a whole message's tokens at once (one read
// transaction for LMDB); learn() applies a batch of messages atomically (one
// write transaction): after a crash the store holds every batch that returned
// OK and nothing of a batch that did not. Counts never go below zero
// (unlearning a message that was never learnt saturates).
// Backends: LmdbStore (scanners/lmdb_store.hpp), MemoryStore (tests),
// LayeredStore (a user's store on top of the global one).
// Failure: Result errors (I/O, a full or corrupt database); never throws.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/result.hpp"

namespace nougat::scanners {

struct TokenCounts {
  uint32_t spam = 0, ham = 0;
};

struct StoreTotals {
  uint64_t spam_messages = 0, ham_messages = 0;
  uint64_t tokens = 0;  // distinct tokens stored (0 if the backend cannot tell cheaply)
};

// One message's distinct tokens, to be added to (or removed from) the store.
struct LearnItem {
  std::vector<uint64_t> tokens;  // distinct
  bool spam = false;
  bool unlearn = false;
};

class TokenStore {
 public:
  virtual ~TokenStore() = default;
  // Fills out[i] with the counts of tokens[i] (zero when unknown) and returns
  // the totals, all from one snapshot. Thread-safe; many readers at once.
  virtual Result<StoreTotals> lookup(std::span<const uint64_t> tokens, std::span<TokenCounts> out) const = 0;
  // Applies the batch atomically. One writer at a time (callers serialise or
  // the backend does).
  virtual Status learn(std::span<const LearnItem> batch) = 0;
  virtual Result<StoreTotals> totals() const = 0;
};

// Saturating count update shared by the backends.
inline uint32_t adjust_count(uint32_t v, bool unlearn) {
  if (unlearn) return v ? v - 1 : 0;
  return v == UINT32_MAX ? v : v + 1;
}
inline uint64_t adjust_total(uint64_t v, bool unlearn) { return unlearn ? (v ? v - 1 : 0) : v + 1; }

// A per-user store read on top of the global one: lookups add both counts,
// learning goes to the user's store only.
class LayeredStore final : public TokenStore {
 public:
  LayeredStore(std::shared_ptr<const TokenStore> global, std::shared_ptr<TokenStore> user)
      : global_(std::move(global)), user_(std::move(user)) {}
  Result<StoreTotals> lookup(std::span<const uint64_t> tokens, std::span<TokenCounts> out) const override {
    auto g = global_->lookup(tokens, out);
    if (!g) return g;
    std::vector<TokenCounts> mine(tokens.size());
    auto u = user_->lookup(tokens, mine);
    if (!u) return u;
    for (size_t i = 0; i < out.size(); ++i) {
      out[i].spam += mine[i].spam;
      out[i].ham += mine[i].ham;
    }
    StoreTotals t = *g;
    t.spam_messages += u->spam_messages;
    t.ham_messages += u->ham_messages;
    t.tokens = std::max(t.tokens, u->tokens);
    return t;
  }
  Status learn(std::span<const LearnItem> batch) override { return user_->learn(batch); }
  Result<StoreTotals> totals() const override {
    auto g = global_->totals();
    if (!g) return g;
    auto u = user_->totals();
    if (!u) return u;
    StoreTotals t = *g;
    t.spam_messages += u->spam_messages;
    t.ham_messages += u->ham_messages;
    t.tokens += u->tokens;
    return t;
  }

 private:
  std::shared_ptr<const TokenStore> global_;
  std::shared_ptr<TokenStore> user_;
};

}  // namespace nougat::scanners
