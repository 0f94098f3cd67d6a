#include "scanners/bayes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace nougat::scanners {

std::string_view verdict_name(SpamVerdict v) {
  switch (v) {
    case SpamVerdict::kHam: return "ham";
    case SpamVerdict::kSpam: return "spam";
    case SpamVerdict::kUnsure: break;
  }
  return "unsure";
}

double chi2q(double x2, size_t v) {
  if (v < 2 || x2 <= 0) return 1.0;
  // Q = exp(-m) * sum_{i < v/2} m^i / i!: the series in linear space (one
  // multiply per term; the terms are positive, so no cancellation), scaled
  // down whenever it grows large, and exp(-m) applied in log space last.
  const double m = x2 / 2;
  constexpr double kBig = 1e250, kLogBig = 575.6462732485115;  // ln(1e250)
  double term = 1.0, sum = 1.0, log_scale = 0.0;
  for (size_t i = 1; i < v / 2; ++i) {
    term *= m / double(i);
    sum += term;
    if (sum > kBig) {
      sum /= kBig;
      term /= kBig;
      log_scale += kLogBig;
    }
  }
  return std::min(1.0, std::exp(std::log(sum) + log_scale - m));
}

Classification Classifier::combine(std::span<const uint64_t> tokens, std::span<const TokenCounts> counts,
                                   const StoreTotals& totals, std::span<const uint64_t> markup) const {
  Classification c;
  c.totals = totals;
  c.tokens = tokens.size();
  if (totals.spam_messages == 0 || totals.ham_messages == 0) return c;  // untrained: unsure at 0.5
  const double S = double(totals.spam_messages), H = double(totals.ham_messages);
  const double s = params_.unknown_strength, x = params_.unknown_prob;
  const double small = std::min(S, H);
  c.clues.reserve(64);
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto& k = counts[i];
    if (k.spam == 0 && k.ham == 0) continue;
    double sr = std::min(1.0, k.spam / S), hr = std::min(1.0, k.ham / H);
    double p = sr / (sr + hr);
    // Evidence counts as if both classes had been trained equally often: a
    // token in 47 of 2750 hams and none of 500 spams is weaker evidence than
    // 47 hams against none of 2750 spams (SpamBayes' imbalance adjustment).
    double n = params_.imbalance_adjust ? k.spam * (small / S) + k.ham * (small / H) : double(k.spam) + double(k.ham);
    double f = (s * x + n * p) / (s + n);
    if (std::fabs(f - 0.5) < params_.min_dev) continue;
    c.clues.push_back({tokens[i], f, k.spam, k.ham});
  }
  auto stronger = [](const Clue& a, const Clue& b) {
    double da = std::fabs(a.prob - 0.5), db = std::fabs(b.prob - 0.5);
    return da != db ? da > db : a.token < b.token;  // deterministic order
  };
  if (const size_t m = params_.max_markup_clues; m && !markup.empty()) {
    // The markup clues beyond the m strongest go (before the cap, so other
    // clues take their places).
    std::vector<Clue> kept, tags;
    for (auto& cl : c.clues)
      (std::binary_search(markup.begin(), markup.end(), cl.token) ? tags : kept).push_back(cl);
    if (tags.size() > m) {
      std::nth_element(tags.begin(), tags.begin() + long(m), tags.end(), stronger);
      tags.resize(m);
      kept.insert(kept.end(), tags.begin(), tags.end());
      c.clues = std::move(kept);
    }
  }
  if (const size_t cap = clue_cap(); c.clues.size() > cap) {
    std::nth_element(c.clues.begin(), c.clues.begin() + long(cap), c.clues.end(), stronger);
    c.clues.resize(cap);
  }
  std::sort(c.clues.begin(), c.clues.end(), stronger);
  if (c.clues.empty()) return c;
  double ln_ham = 0, ln_spam = 0;
  for (const auto& cl : c.clues) {
    double f = std::clamp(cl.prob, 1e-9, 1 - 1e-9);
    ln_ham += std::log(f);
    ln_spam += std::log1p(-f);
  }
  // Fisher's method takes its clues for independent evidence. A young store
  // cannot give that much: the tokens of one learnt message all go together
  // (a mailing list's address, its server, its subject tag), so a store of
  // 5 spam and 5 ham made hundreds of clues out of ten observations and was
  // sure of itself — 20-30% of ham called spam. So the clues count as at
  // most as many independent ones as the store has learnt messages (the
  // statistic and its degrees of freedom scaled down together). A store of
  // a few hundred messages or more is not affected (clue_cap() is 300).
  const double learnt = S + H, n = double(c.clues.size());
  const double k = std::max(1.0, std::min(n, std::floor(learnt)));
  const double scale = k / n;
  size_t v = 2 * size_t(k);
  double spamminess = 1.0 - chi2q(-2.0 * ln_spam * scale, v);
  double hamminess = 1.0 - chi2q(-2.0 * ln_ham * scale, v);
  c.score = std::clamp((1.0 + spamminess - hamminess) / 2.0, 0.0, 1.0);
  c.verdict = c.score >= params_.spam_cutoff ? SpamVerdict::kSpam
              : c.score < params_.ham_cutoff ? SpamVerdict::kHam
                                             : SpamVerdict::kUnsure;
  return c;
}

Result<Classification> Classifier::classify(const TokenList& tokens) const {
  std::vector<TokenCounts> counts(tokens.hashes.size());
  auto totals = store_.lookup(tokens.hashes, counts);
  if (!totals) return totals.error();
  return combine(tokens.hashes, counts, *totals, tokens.markup);
}

std::string score_text(double score, SpamVerdict v, const BayesParams& p, int decimals) {
  auto verdict_of = [&](double x) {
    return x >= p.spam_cutoff ? SpamVerdict::kSpam : x < p.ham_cutoff ? SpamVerdict::kHam : SpamVerdict::kUnsure;
  };
  const double unit = std::pow(10.0, -decimals);
  auto text = [&](double x) { return fmt::format("{:.{}f}", std::clamp(x, 0.0, 1.0), decimals); };
  std::string t = text(score);
  double x = std::stod(t);
  if (verdict_of(x) == v) return t;
  bool up = v == SpamVerdict::kSpam || (v == SpamVerdict::kUnsure && x < p.ham_cutoff);
  std::string moved = text(x + (up ? unit : -unit));
  if (verdict_of(std::stod(moved)) == v) return moved;
  if (v == SpamVerdict::kUnsure) {
    std::string mid = text((p.ham_cutoff + p.spam_cutoff) / 2);
    if (verdict_of(std::stod(mid)) == v) return mid;
  }
  return t;
}

std::vector<std::string> spam_headers(const Classification& c, const BayesParams& p) {
  bool spam = c.verdict == SpamVerdict::kSpam;
  std::string score = score_text(c.score, c.verdict, p, 4);
  return {
      fmt::format("X-Spam-Score: {}", score),
      fmt::format("X-Spam-Status: {}, score={} required={:.4f} verdict={} tokens={}", spam ? "Yes" : "No", score,
                  p.spam_cutoff, verdict_name(c.verdict), c.clues.size()),
      fmt::format("X-Spam-Flag: {}", spam ? "YES" : "NO"),
  };
}

}  // namespace nougat::scanners
