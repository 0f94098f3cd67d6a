#include "engine/spam_check.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "engine/log.hpp"
#include "scanners/lmdb_store.hpp"

namespace nougat::engine {
namespace {

scanners::BayesParams params_of(const Config::Spam& cfg) {
  scanners::BayesParams p;
  p.spam_cutoff = cfg.spam_cutoff;
  p.ham_cutoff = cfg.ham_cutoff;
  return p;
}

scanners::TokenizerOptions tokenizer_of(const Config::Spam& cfg) {
  scanners::TokenizerOptions t;
  t.bigrams = cfg.bigrams;
  return t;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> spam_variables(double probability) {
  double score = std::clamp(probability, 0.0, 1.0) * 10;
  int whole = static_cast<int>(score);
  return {
      {"spam_score", fmt::format("{:.1f}", score)},
      {"spam_score_int", std::to_string(static_cast<int>((score + 0.001) * 10))},
      {"spam_bar", whole > 0 ? std::string(static_cast<size_t>(std::min(whole, 50)), '+') : "/"}};
}

SpamCheck::SpamCheck(std::shared_ptr<const scanners::TokenStore> store, const Config::Spam& cfg)
    : store_(std::move(store)), cfg_(cfg), classifier_(*store_, params_of(cfg), tokenizer_of(cfg)) {}

Verdict SpamCheck::on_eod(const SessionFacts&, const MailFacts&, const MessageFacts& msg) {
  if (msg.data.size() > kMaxScanBytes) {
    ++counters_.skipped;
    return Verdict::cont();
  }
  auto totals = store_->totals();
  if (!totals) {
    ++counters_.error;
    log::line(msg.id, "spam check: {} ({})", totals.error().text, totals.error().detail);
    return Verdict::cont();
  }
  scanners::Classification c;
  if (totals->spam_messages && totals->ham_messages) {
    auto r = classifier_.classify(msg.data);
    if (!r) {
      ++counters_.error;
      log::line(msg.id, "spam check: {} ({})", r.error().text, r.error().detail);
      return Verdict::cont();
    }
    c = std::move(*r);
  }
  Verdict v;
  v.add_headers = scanners::spam_headers(c, classifier_.params());
  v.variables = spam_variables(c.score);
  switch (c.verdict) {
    case scanners::SpamVerdict::kHam: ++counters_.ham; break;
    case scanners::SpamVerdict::kUnsure: ++counters_.unsure; break;
    case scanners::SpamVerdict::kSpam: ++counters_.spam; break;
  }
  log::line(msg.id, "spam check: {} score={:.4f}", scanners::verdict_name(c.verdict), c.score);
  if (c.verdict == scanners::SpamVerdict::kSpam) {
    if (cfg_.action == "junk") v.folder = "Junk";
    if (cfg_.action == "reject")
      return Verdict::reject(550, "5.7.1", "Message classified as spam");
  }
  return v;
}

Result<std::unique_ptr<Check>> make_spam_check(const Config& cfg) {
  if (!cfg.spam.enabled || cfg.spam.action == "off") return std::unique_ptr<Check>();
  auto store = scanners::LmdbStore::open(cfg.spam.store);
  if (!store) return store.error();
  std::shared_ptr<const scanners::TokenStore> shared(std::move(*store));
  return std::unique_ptr<Check>(std::make_unique<SpamCheck>(std::move(shared), cfg.spam));
}

}  // namespace nougat::engine
