// The Bayesian spam classifier: Robinson's per-token probabilities combined
// with Fisher's chi-square method (as in SpamBayes and bogofilter), over the
// tokens of scanners/tokenizer.hpp and the counts of a TokenStore.
//
// Per token, with s spam and h ham messages seen among S spam and H ham:
//   p = (s/S) / (s/S + h/H),   f = (strength * x + n * p) / (strength + n),  n = s + h
// Tokens with |f - 0.5| < min_dev carry no evidence; the max_tokens strongest
// remain. Their spamminess S' = 1 - chi2Q(-2 sum ln(1 - f), 2k) and hamminess
// H' = 1 - chi2Q(-2 sum ln f, 2k) give score = (1 + S' - H') / 2 in [0, 1]:
// near 1 spam, near 0 ham, near 0.5 either no evidence or strong evidence both
// ways (which is what "unsure" is for).
// Defaults are SpamBayes' published, cross-validated ones (strength 0.45,
// x 0.5, min_dev 0.1, 150 tokens per message's word stream, and its ham/spam
// imbalance adjustment:
// n counts s and h scaled to the smaller class, n = s*m/S + h*m/H with
// m = min(S, H)); the cut-offs are bogofilter's (ham below 0.45, spam from
// 0.99), i.e. a false positive costs far more than a miss.
// A store without both spam and ham messages classifies everything as unsure
// at exactly 0.5.
// Failure: only the store's errors (Result).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scanners/token_store.hpp"
#include "scanners/tokenizer.hpp"

namespace nougat::scanners {

struct BayesParams {
  double unknown_strength = 0.45;  // weight of the prior x against the counts
  double unknown_prob = 0.5;       // x: the probability of a token never seen
  double min_dev = 0.1;            // ignore tokens this close to 0.5
  // Strongest tokens combined per message: SpamBayes' max_discriminators
  // (150) was cross-validated for a tokenizer with one token per word; with
  // bigrams on, every word position yields two (the word and the pair it
  // ends), so the classifier combines up to twice this many (clue_cap()).
  size_t max_tokens = 150;
  double ham_cutoff = 0.45;        // score < ham_cutoff: ham
  double spam_cutoff = 0.99;       // score >= spam_cutoff: spam
  // Count evidence as if both classes had been trained equally often (see
  // bayes.cpp); keeps a large ham corpus from drowning a small spam one.
  bool imbalance_adjust = true;
  // At most this many of the clues are HTML markup tokens (0: no limit;
  // config spam.markup_clues). Markup is one fact about a message —
  // "formatted HTML" — spread over dozens of correlated tag and attribute
  // tokens; where the learnt ham has little HTML, they decide alone and
  // every HTML newsletter scores 1.0 (SpamBayes drops tags for this
  // reason). Limited to 10, a store that learnt 2003's plain-text ham calls
  // 93 of 2,750 older hams spam instead of 127, but protocol B catches
  // 0.3 points less (docs/BENCHMARKS.md): off by default.
  size_t max_markup_clues = 0;
};

enum class SpamVerdict { kHam, kUnsure, kSpam };
std::string_view verdict_name(SpamVerdict v);  // "ham", "unsure", "spam"

struct Clue {
  uint64_t token = 0;
  double prob = 0.5;  // f above
  uint32_t spam = 0, ham = 0;
};

struct Classification {
  double score = 0.5;
  SpamVerdict verdict = SpamVerdict::kUnsure;
  std::vector<Clue> clues;  // strongest first (only those combined)
  StoreTotals totals;
  size_t tokens = 0;        // distinct tokens in the message
};

class Classifier {
 public:
  Classifier(const TokenStore& store, BayesParams p = {}, TokenizerOptions t = {})
      : store_(store), params_(p), topts_(t) {}

  Result<Classification> classify(const TokenList& tokens) const;
  Result<Classification> classify(std::string_view raw_message) const {
    return classify(tokenize(raw_message, topts_));
  }
  // The score and verdict of a message's counts (pure; used by the above).
  // `markup`: which of `tokens` are HTML markup (sorted; TokenList::markup).
  Classification combine(std::span<const uint64_t> tokens, std::span<const TokenCounts> counts,
                         const StoreTotals& totals, std::span<const uint64_t> markup = {}) const;

  // How many clues combine() keeps: max_tokens per token of a word position.
  size_t clue_cap() const { return params_.max_tokens * (topts_.bigrams ? 2 : 1); }
  const BayesParams& params() const { return params_; }
  const TokenizerOptions& tokenizer_options() const { return topts_; }

 private:
  const TokenStore& store_;
  BayesParams params_;
  TokenizerOptions topts_;
};

// Chi-square survival function Q(x2, v) for even v (exact series, log space).
double chi2q(double x2, size_t v);

// The score with `decimals` decimals, as it re-reads against the cut-offs:
// rounding may not make a score look like another verdict (0.98996 is not
// "0.9900" beside "unsure"), so it moves by one unit in that case; a
// no-clue "unsure" outside the band prints the middle of the band.
std::string score_text(double score, SpamVerdict v, const BayesParams& p, int decimals = 6);

// X-Spam-Score ("0.9983"), X-Spam-Status ("Yes, score=0.9983
// required=0.9900 verdict=spam tokens=…"), X-Spam-Flag (YES / NO), as
// "Name: value" lines without line breaks. The scores are the probability,
// the same in both fields (filters get it × 10: engine/spam_check.hpp).
std::vector<std::string> spam_headers(const Classification& c, const BayesParams& p);

}  // namespace nougat::scanners
