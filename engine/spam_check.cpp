#include "engine/spam_check.hpp"
#include "engine/user_spam.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "engine/log.hpp"
#include "scanners/lmdb_store.hpp"

namespace nougat::engine {

scanners::BayesParams bayes_params(const Config::Spam& cfg) {
  scanners::BayesParams p;
  p.spam_cutoff = cfg.spam_cutoff;
  p.ham_cutoff = cfg.ham_cutoff;
  p.max_markup_clues = cfg.markup_clues;
  return p;
}

scanners::TokenizerOptions tokenizer_options(const Config::Spam& cfg) {
  scanners::TokenizerOptions t;
  t.bigrams = cfg.bigrams;
  t.markup = cfg.markup_clues > 0;
  return t;
}

void SpamCounters::count(scanners::SpamVerdict v) {
  switch (v) {
    case scanners::SpamVerdict::kHam: ++ham; break;
    case scanners::SpamVerdict::kUnsure: ++unsure; break;
    case scanners::SpamVerdict::kSpam: ++spam; break;
  }
}

Result<scanners::Classification> classify_message(const scanners::Classifier& clf,
                                                  const scanners::TokenStore& store,
                                                  std::string_view data) {
  auto totals = store.totals();
  if (!totals) return totals.error();
  if (!totals->spam_messages || !totals->ham_messages) return scanners::Classification{};
  return clf.classify(data);
}

std::vector<std::pair<std::string, std::string>> spam_variables(const scanners::Classification& c,
                                                                 const scanners::BayesParams& p) {
  // The score as X-Spam-Score prints it ("0.9899"), in ten-thousandths:
  // integer arithmetic from there, so no variable crosses the cut-off the
  // verdict did not cross.
  std::string text = scanners::score_text(c.score, c.verdict, p, 4);
  text.erase(std::remove(text.begin(), text.end(), '.'), text.end());
  const int d = std::clamp(std::stoi(text), 0, 10000);
  const int tenths = (d + 50) / 100, whole = d / 1000;
  return {
      {"spam_score", fmt::format("{}.{}", tenths / 10, tenths % 10)},
      {"spam_score_int", std::to_string(d / 100)},
      {"spam_bar", whole > 0 ? std::string(size_t(whole), '+') : "/"}};
}

SpamCheck::SpamCheck(std::shared_ptr<const scanners::TokenStore> store, const Config::Spam& cfg,
                     std::shared_ptr<const PersonalSpam> personal)
    : store_(std::move(store)),
      cfg_(cfg),
      personal_(std::move(personal)),
      classifier_(*store_, bayes_params(cfg), tokenizer_options(cfg)) {}

Verdict SpamCheck::on_eod(const SessionFacts&, const MailFacts&, const MessageFacts& msg) {
  // Fields of ours that came with the message are the sender's claims: they
  // go whatever the outcome, so filters, Junk training and readers only ever
  // see our verdict ("X-Spam-Flag: NO" is a classic spammer's header). All
  // of X-Spam-*, as SpamAssassin removes them: X-Spam-Level is what many
  // procmail and Exim recipes test.
  Verdict v;
  v.remove_headers = {"X-Spam-*"};
  // Measured as sent (our Received field apart), as antivirus.max_size is.
  if (const size_t sent = msg.as_sent().size(); sent > kMaxScanBytes) {
    ++counters_.skipped;
    log::line(msg.id, "spam check: not classified, {} bytes exceed {} MiB", sent, kMaxScanBytes >> 20);
    return v;
  }
  auto r = classify_message(classifier_, *store_, msg.data);
  if (!r) {
    ++counters_.error;
    log::line(msg.id, "spam check: {} ({})", r.error().text, r.error().detail);
    return v;
  }
  const scanners::Classification& c = *r;
  v.add_headers = scanners::spam_headers(c, classifier_.params());
  v.variables = spam_variables(c, classifier_.params());
  counters_.count(c.verdict);
  log::line(msg.id, "spam check: {} score={}", scanners::verdict_name(c.verdict),
            scanners::score_text(c.score, c.verdict, classifier_.params(), 4));
  if (c.verdict == scanners::SpamVerdict::kSpam) {
    if (cfg_.action == "junk") v.folder = cfg_.junk_folder;
    if (cfg_.action == "reject") {
      // A recipient whose own store does not call it spam keeps it (a store
      // that cannot be read leaves the global verdict, as at delivery).
      if (personal_)
        for (const auto& r : msg.recipients) {
          auto own = personal_->classify_for(msg.id, r, msg.data);  // nullopt: no store of their own
          if (own && own->verdict != scanners::SpamVerdict::kSpam) {
            log::line(msg.id, "spam check: not rejected: {}'s own store says {}", r,
                      scanners::verdict_name(own->verdict));
            v.folder = cfg_.junk_folder;  // for the others; delivery decides again per copy
            return v;
          }
        }
      return Verdict::reject(550, "5.7.1", "Message classified as spam");
    }
  }
  return v;
}

Result<std::shared_ptr<const scanners::TokenStore>> open_spam_store(const Config& cfg) {
  if (!cfg.spam.enabled || cfg.spam.action == "off") return std::shared_ptr<const scanners::TokenStore>();
  auto store = scanners::LmdbStore::open(cfg.spam.store);
  if (!store) return store.error();
  return std::shared_ptr<const scanners::TokenStore>(std::move(*store));
}

}  // namespace nougat::engine
