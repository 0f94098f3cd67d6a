// SpamCheck: the end-of-DATA Bayesian spam check (scanners/bayes.hpp over
// the global token store). Every classified message gets X-Spam-Score,
// X-Spam-Status and X-Spam-Flag; then, by spam.action, a spam:
//   "tag"    → headers only
//   "junk"   → headers, and local copies go to the Junk folder (Maildir .Junk)
//   "reject" → 550 5.7.1 (the client keeps the message)
//   "off"    → no check at all (open_spam_store returns nullptr)
// X-Spam-Score/Status/Flag fields that arrive with the message are removed
// (Verdict::remove_headers) in every case, classified or not: only our own
// verdict reaches readers, filters and Junk training.
// Promises: never breaks or slows mail on its own account — an untrained
// store answers "unsure" at 0.5 without tokenizing, a store error lets the
// message through untagged (logged), messages above kMaxScanBytes are not
// scanned. Runs on the worker pool like every on_eod; thread-safe.
//
// Every classified message also gets the Exim filter variables $spam_score,
// $spam_score_int and $spam_bar (Verdict::variables, kept in the spool and
// answered to ~/.forward filters at delivery). Our score is a probability p
// in [0, 1]; SpamAssassin's is points, so Exim's semantics apply to p × 10,
// taken from p as X-Spam-Score prints it (four decimals, never rounded
// across a cut-off):
//   spam_score     p × 10 with one decimal: 0.987 → "9.9"
//   spam_score_int p × 100 truncated (Exim: the score × 10, truncated):
//                  0.987 → "98", 0.9899 → "98"; 0 … 100
//   spam_bar       one "+" per whole point of p × 10 (0 … 10 of them,
//                  never "-" since p ≥ 0); "/" when it is below 1
// So spam.spam_cutoff 0.99 ↔ spam_score_int 99 exactly: a filter's
// `$spam_score_int is above 98` is the spam verdict. (Exim's own
// (int)((score + 0.001) × 10) is for one-decimal SpamAssassin scores; on
// p × 10 it would give 0.9899, an unsure message, 99.) Unsure because the
// store is untrained: 0.5 → "5.0", "50", "+++++".
//
// A recipient with a store of their own (`nougat bayes train --user`) gets
// their copy classified again at delivery: engine/user_spam.hpp.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/checks.hpp"
#include "engine/config.hpp"
#include "scanners/bayes.hpp"

namespace nougat::engine {

inline constexpr size_t kMaxScanBytes = 10u << 20;

// Verdicts counted per classifier (the end-of-DATA check, the personal one).
struct SpamCounters {
  std::atomic<uint64_t> ham{0}, unsure{0}, spam{0}, error{0}, skipped{0};
  void count(scanners::SpamVerdict v);
};

class PersonalSpam;

class SpamCheck final : public Check {
 public:
  // `personal`: recipients' own stores (engine/user_spam.hpp), which with
  // spam.action "reject" have a say before the message is refused: one SMTP
  // answer covers every recipient, so a spam is rejected only when each
  // recipient with a store of their own has it classified spam too;
  // otherwise it is accepted and every copy goes where its recipient's
  // verdict sends it (Junk for spam). Null: the global verdict alone.
  SpamCheck(std::shared_ptr<const scanners::TokenStore> store, const Config::Spam& cfg,
            std::shared_ptr<const PersonalSpam> personal = nullptr);
  std::string_view name() const override { return "spam"; }
  Verdict on_eod(const SessionFacts& s, const MailFacts& m, const MessageFacts& msg) override;

  using Counters = SpamCounters;
  const Counters& counters() const { return counters_; }

 private:
  std::shared_ptr<const scanners::TokenStore> store_;
  Config::Spam cfg_;
  std::shared_ptr<const PersonalSpam> personal_;
  scanners::Classifier classifier_;
  Counters counters_;
};

// $spam_score, $spam_score_int, $spam_bar for a classification (see above).
std::vector<std::pair<std::string, std::string>> spam_variables(const scanners::Classification& c,
                                                                 const scanners::BayesParams& p);

// The classifier settings of the spam section.
scanners::BayesParams bayes_params(const Config::Spam& cfg);
scanners::TokenizerOptions tokenizer_options(const Config::Spam& cfg);

// One message as the check classifies it: `clf` reads `store`; a store that
// has not seen both spam and ham answers "unsure" at 0.5 without tokenizing.
Result<scanners::Classification> classify_message(const scanners::Classifier& clf,
                                                  const scanners::TokenStore& store,
                                                  std::string_view data);

// The global LMDB store in spam.store (created when missing), opened once and
// shared by the SpamCheck and engine::PersonalSpam; nullptr when spam is
// disabled or the action is "off" (no classification at all, personal
// neither).
Result<std::shared_ptr<const scanners::TokenStore>> open_spam_store(const Config& cfg);

}  // namespace nougat::engine
