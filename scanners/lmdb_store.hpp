// LmdbStore: the TokenStore on disk, one LMDB environment per directory
// (<data>/bayes for the global store, <data>/bayes/users/<address> for a
// user's own). Keys are the 64-bit token hashes (MDB_INTEGERKEY), values two
// 32-bit counts; key 0 holds the format version and the message totals.
//
// Promises: many readers (threads and processes) and one writer at a time;
// readers never block the writer. Classification reads only the pages of the
// tokens it asks for (the file is memory-mapped with MDB_NORDAHEAD, so no
// readahead around them: a message of a million-token store reads about a
// fifth of what default readahead did, tests/integration/test_bayes_cli.py),
// so a store of millions of tokens classifies without being loaded;
// snapshot() reads the file sequentially instead. Each learn() batch is one write
// transaction, durable (fsync'd) on return; a process killed at any point
// leaves the store as of its last committed batch, and stale reader slots of
// killed processes are cleared when the store is opened.
// A map that another process' growth of the file left too small (only
// under an address-space limit, where maps follow the file) is grown at
// the next transaction, once this process has none open.
// Limits: map size 64 GiB of address space by default (some 600M tokens at
// the ~107 bytes a token measured with 4 GiB); a full store fails the batch
// that filled it ("is full"), keeping every batch committed before.
// Failure: open() and every operation return errors carrying LMDB's text.
#pragma once

#include <filesystem>
#include <memory>
#include <shared_mutex>

#include "scanners/token_store.hpp"

struct MDB_env;
struct MDB_txn;

namespace nougat::scanners {

class LmdbStore final : public TokenStore {
 public:
  struct Options {
    bool read_only = false;
    // Address space only: the file grows with what is stored. 0 = 64 GiB
    // (4 GiB held ~40M tokens, copy-on-write pages included; 64 GiB, times
    // the 64 per-user stores a server keeps open, is still far below
    // x86-64's 128 TiB of user address space) — or, under an address-space
    // limit (ulimit -v, systemd's LimitAS=), one that follows the file: to
    // write, a quarter of the limit or 1.5 times the file; to read, twice
    // the file, at least 64 MiB (lmdb_store.cpp, default_map_size).
    size_t map_size = 0;
    // A user's own store: its directory 0700 and its files 0600, as the
    // user's Maildir (it holds words of their mail). Else 0644.
    bool private_files = false;
  };
  // Creates the directory (and an empty store) unless read_only.
  static Result<std::unique_ptr<LmdbStore>> open(const std::filesystem::path& dir, Options opt);
  // open() failed for want of address space for the map (ulimit -v): other
  // stores' maps closed, it may fit.
  static bool out_of_address_space(const Error& e) { return e.text.starts_with(kCannotMap); }
  static constexpr std::string_view kCannotMap = "token store: cannot map";
  static Result<std::unique_ptr<LmdbStore>> open(const std::filesystem::path& dir) {
    return open(dir, Options{});
  }
  ~LmdbStore() override;
  LmdbStore(const LmdbStore&) = delete;
  LmdbStore& operator=(const LmdbStore&) = delete;

  Result<StoreTotals> lookup(std::span<const uint64_t> tokens, std::span<TokenCounts> out) const override;
  // Keyed items (LearnItem::key) are remembered in the same transaction as
  // their counts, as records of their own (a 1-byte value, which lookups and
  // snapshots never mistake for counts): a crash cannot separate the two.
  Status learn(std::span<const LearnItem> batch, LearnOutcome* outcome = nullptr) override;
  Result<StoreTotals> totals() const override;
  // The whole store copied into memory from one read transaction, for bulk
  // runs that would touch most of its pages anyway (`bayes classify` over
  // many messages): a sequential scan, then lookups without B-tree walks.
  Result<std::unique_ptr<TokenStore>> snapshot() const;

 private:
  LmdbStore() = default;
  // Begins a transaction with `hold` (shared) on the map for its lifetime;
  // on MDB_MAP_RESIZED grows the map (exclusively) and begins again.
  int begin(unsigned flags, MDB_txn** txn, std::shared_lock<std::shared_mutex>& hold) const;
  Status attach() const;  // (re)opens env_ from dir_ and opt_
  mutable MDB_env* env_ = nullptr;
  mutable unsigned dbi_ = 0;
  std::filesystem::path dir_;
  Options opt_;
  mutable std::shared_mutex map_mu_;  // shared: a transaction is open; exclusive: remapping
  mutable bool unmapped_ = false;     // a remap failed: the environment must be opened afresh
};

// Where a user's store lives: <bayes>/users/<address lowercased>; an address
// that could escape that directory is an error.
Result<std::filesystem::path> user_store_dir(const std::filesystem::path& bayes_dir, std::string_view address);

}  // namespace nougat::scanners
