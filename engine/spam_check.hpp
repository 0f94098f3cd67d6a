// SpamCheck: the end-of-DATA Bayesian spam check (scanners/bayes.hpp over
// the global token store). Every classified message gets X-Spam-Score,
// X-Spam-Status and X-Spam-Flag; then, by spam.action, a spam:
//   "tag"    → headers only
//   "junk"   → headers, and local copies go to the Junk folder (Maildir .Junk)
//   "reject" → 550 5.7.1 (the client keeps the message)
//   "off"    → no check at all (make_spam_check returns nullptr)
// Promises: never breaks or slows mail on its own account — an untrained
// store answers "unsure" at 0.5 without tokenizing, a store error lets the
// message through untagged (logged), messages above kMaxScanBytes are not
// scanned. Runs on the worker pool like every on_eod; thread-safe.
#pragma once

#include <atomic>
#include <memory>

#include "engine/checks.hpp"
#include "engine/config.hpp"
#include "scanners/bayes.hpp"

namespace nougat::engine {

inline constexpr size_t kMaxScanBytes = 10u << 20;

class SpamCheck final : public Check {
 public:
  SpamCheck(std::shared_ptr<const scanners::TokenStore> store, const Config::Spam& cfg);
  std::string_view name() const override { return "spam"; }
  Verdict on_eod(const SessionFacts& s, const MailFacts& m, const MessageFacts& msg) override;

  struct Counters {
    std::atomic<uint64_t> ham{0}, unsure{0}, spam{0}, error{0}, skipped{0};
  };
  const Counters& counters() const { return counters_; }

 private:
  std::shared_ptr<const scanners::TokenStore> store_;
  Config::Spam cfg_;
  scanners::Classifier classifier_;
  Counters counters_;
};

// The configured check over the LMDB store in spam.store (created when
// missing), or nullptr when spam is disabled or the action is "off".
Result<std::unique_ptr<Check>> make_spam_check(const Config& cfg);

}  // namespace nougat::engine
