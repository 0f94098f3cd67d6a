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
  // The message's identity (its Message-ID, else a hash of its body); "" =
  // not remembered. With a key the store remembers what the message was
  // learnt as, like SpamAssassin's seen database: learning it again as the
  // same class does nothing, as the other class moves it (its tokens are
  // unlearnt from the old class first), and unlearning a message that was
  // not learnt as that class does nothing. So training a folder twice
  // counts it once.
  std::string key{};
};

// What a learn() call did with its items.
struct LearnOutcome {
  size_t learnt = 0;    // learnt (moved ones included)
  size_t moved = 0;     // had been learnt as the other class
  size_t unlearnt = 0;
  size_t skipped = 0;   // already learnt as that class, or unlearning what was not learnt
};

// What the store remembers of a keyed message.
enum class Seen : char { kNone = 0, kSpam = 's', kHam = 'h' };

// The seen-database rules above, shared by the backends: the count updates
// a keyed batch really makes, and the new seen state of each key it touched.
struct ResolvedBatch {
  struct Op {
    const std::vector<uint64_t>* tokens;
    bool spam, unlearn;
  };
  std::vector<Op> ops;
  std::vector<std::pair<std::string, Seen>> changes;  // key → state after the batch (kNone: forgotten)
  LearnOutcome outcome;
};
template <typename SeenOf>  // Seen(const std::string& key): the state before the batch
ResolvedBatch resolve_batch(std::span<const LearnItem> batch, SeenOf&& seen_of) {
  ResolvedBatch r;
  std::vector<std::pair<std::string, Seen>>& state = r.changes;
  auto current = [&](const std::string& key) -> Seen& {
    for (auto& [k, v] : state)
      if (k == key) return v;
    state.emplace_back(key, seen_of(key));
    return state.back().second;
  };
  for (const auto& item : batch) {
    if (item.key.empty()) {
      r.ops.push_back({&item.tokens, item.spam, item.unlearn});
      item.unlearn ? ++r.outcome.unlearnt : ++r.outcome.learnt;
      continue;
    }
    Seen want = item.spam ? Seen::kSpam : Seen::kHam;
    Seen& cur = current(item.key);
    if (item.unlearn) {
      if (cur != want) {
        ++r.outcome.skipped;
        continue;
      }
      r.ops.push_back({&item.tokens, item.spam, true});
      cur = Seen::kNone;
      ++r.outcome.unlearnt;
      continue;
    }
    if (cur == want) {
      ++r.outcome.skipped;
      continue;
    }
    if (cur != Seen::kNone) {
      r.ops.push_back({&item.tokens, !item.spam, true});
      ++r.outcome.moved;
    }
    r.ops.push_back({&item.tokens, item.spam, false});
    cur = want;
    ++r.outcome.learnt;
  }
  return r;
}

class TokenStore {
 public:
  virtual ~TokenStore() = default;
  // Fills out[i] with the counts of tokens[i] (zero when unknown) and returns
  // the totals, all from one snapshot. Thread-safe; many readers at once.
  virtual Result<StoreTotals> lookup(std::span<const uint64_t> tokens, std::span<TokenCounts> out) const = 0;
  // Applies the batch atomically. One writer at a time (callers serialise or
  // the backend does).
  virtual Status learn(std::span<const LearnItem> batch, LearnOutcome* outcome = nullptr) = 0;
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
    // Saturating, like the counts themselves: a global count at the cap
    // plus one of the user's must not wrap to nothing.
    auto add = [](uint32_t a, uint32_t b) { return a > UINT32_MAX - b ? UINT32_MAX : a + b; };
    for (size_t i = 0; i < out.size(); ++i) {
      out[i].spam = add(out[i].spam, mine[i].spam);
      out[i].ham = add(out[i].ham, mine[i].ham);
    }
    StoreTotals t = *g;
    t.spam_messages += u->spam_messages;
    t.ham_messages += u->ham_messages;
    t.tokens = std::max(t.tokens, u->tokens);
    return t;
  }
  Status learn(std::span<const LearnItem> batch, LearnOutcome* outcome = nullptr) override {
    return user_->learn(batch, outcome);
  }
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
