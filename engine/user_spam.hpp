// PersonalSpam: a recipient's own Bayes verdict, applied at delivery to
// their copy of the message (what DSPAM and Dovecot-antispam users expect).
// `nougat bayes train --user ADDRESS` keeps a per-user token store in
// <spam.store>/users/<address lowercased> (scanners/lmdb_store.hpp); a
// recipient who has one gets their copy classified with that store read on
// top of the global one (scanners::LayeredStore). The end-of-DATA check
// (engine/spam_check.hpp) decided for the message as a whole; this decides
// again for one recipient's copy:
//   - its X-Spam-Score, X-Spam-Status and X-Spam-Flag are replaced by the
//     personal ones (one set per copy, where the check had put its own),
//   - $spam_score, $spam_score_int and $spam_bar follow the personal score,
//     so the recipient's ~/.forward filter sees it,
//   - the folder: personal spam with spam.action "junk" or "reject" goes to
//     Junk (a reject is no longer possible: the message was accepted);
//     otherwise a copy the end-of-DATA check had put in Junk goes to INBOX.
// Recipients without a store get the message exactly as it was accepted.
//
// Promises: thread-safe (delivery workers share one). has_store() is one
// stat. A user's store is opened read-only, only when its data.mdb exists —
// nothing is ever created, and a `bayes train --user` writing at the same
// moment never blocks it — and only once: LMDB forbids two handles on one
// environment in one process, so opened stores are cached per address
// (kMaxOpenStores idle ones at most, least recently used closed first; a
// store deleted or replaced on disk is reopened once nobody reads the old).
// Failure: never worse than the global verdict. A store that cannot be
// opened or read leaves the copy as the end-of-DATA check made it (logged);
// messages larger than kMaxScanBytes are left alone.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "engine/config.hpp"
#include "engine/spam_check.hpp"
#include "engine/spool.hpp"
#include "scanners/bayes.hpp"

namespace nougat::engine {

// The envelope of one copy with the personal classification `c` in place of
// the end-of-DATA one (headers, filter variables, folder; see above). Pure.
Envelope with_personal_verdict(Envelope env, const scanners::Classification& c,
                               const Config::Spam& cfg);

class PersonalSpam {
 public:
  static constexpr size_t kMaxOpenStores = 64;

  // `global` is the store the end-of-DATA check reads (open_spam_store()).
  PersonalSpam(std::shared_ptr<const scanners::TokenStore> global, const Config::Spam& cfg);
  PersonalSpam(const PersonalSpam&) = delete;
  PersonalSpam& operator=(const PersonalSpam&) = delete;

  // Whether `address` (a directory user) has a store of their own; false for
  // an address that cannot name one.
  bool has_store(std::string_view address) const;

  // The envelope for the copy of `address`, classified with their store over
  // the global one; nullopt when the copy stays as accepted (no store of
  // their own, too large, a store error — logged under queue id `id`).
  std::optional<Envelope> envelope_for(std::string_view id, std::string_view address,
                                       const Envelope& env, std::string_view data) const;
  // The classification behind it (logged, counted); nullopt as above.
  std::optional<scanners::Classification> classify_for(std::string_view id, std::string_view address,
                                                       std::string_view data) const;

  const SpamCounters& counters() const { return counters_; }

 private:
  struct Found {  // a store on disk: its directory and the identity of its data.mdb
    std::filesystem::path dir;
    uint64_t dev = 0, ino = 0;
  };
  struct Cached {  // an opened store
    uint64_t dev = 0, ino = 0;
    std::shared_ptr<scanners::TokenStore> store;
    uint64_t last_used = 0;
  };
  std::optional<Found> find(std::string_view address) const;
  Result<std::shared_ptr<scanners::TokenStore>> open(const Found& f) const;
  // Drops a cached store that failed (say, grown past its map), so the next
  // message opens it afresh; one still in use elsewhere stays.
  void forget(const std::filesystem::path& dir) const;

  std::shared_ptr<const scanners::TokenStore> global_;
  Config::Spam cfg_;
  scanners::BayesParams params_;
  scanners::TokenizerOptions topts_;
  mutable SpamCounters counters_;
  mutable std::mutex mu_;
  mutable std::map<std::filesystem::path, Cached> open_;  // by store directory
  mutable uint64_t tick_ = 0;                             // for least recently used
};

}  // namespace nougat::engine
