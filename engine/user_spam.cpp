#include "engine/user_spam.hpp"

#include <strings.h>
#include <sys/stat.h>

#include <algorithm>

#include "engine/log.hpp"
#include "scanners/lmdb_store.hpp"

namespace nougat::engine {
namespace {

// The fields SpamCheck adds (scanners::spam_headers), by name, any case.
bool is_spam_header(std::string_view line) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  auto name = line.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  for (std::string_view h : {"X-Spam-Score", "X-Spam-Status", "X-Spam-Flag"})
    if (name.size() == h.size() && ::strncasecmp(name.data(), h.data(), h.size()) == 0) return true;
  return false;
}

}  // namespace

Envelope with_personal_verdict(Envelope env, const scanners::Classification& c,
                               const Config::Spam& cfg) {
  auto& headers = env.added_headers;
  auto first = std::find_if(headers.begin(), headers.end(),
                            [](const std::string& h) { return is_spam_header(h); });
  // Where the check's fields were, else right after the virus check's (the
  // system filter's own fields come later): where the Junk trainer reads
  // our flag (engine/junk_training.hpp).
  if (first == headers.end())
    first = std::find_if(headers.begin(), headers.end(), [](const std::string& h) {
      return !iequals(field_name_of(h), "X-Virus");
    });
  auto at = first - headers.begin();
  headers.erase(
      std::remove_if(first, headers.end(), [](const std::string& h) { return is_spam_header(h); }),
      headers.end());
  auto mine = scanners::spam_headers(c, bayes_params(cfg));
  headers.insert(headers.begin() + at, mine.begin(), mine.end());

  for (auto& var : spam_variables(c, bayes_params(cfg))) {
    auto it = std::find_if(env.variables.begin(), env.variables.end(),
                           [&](const auto& v) { return v.first == var.first; });
    if (it != env.variables.end())
      it->second = std::move(var.second);
    else
      env.variables.push_back(std::move(var));
  }

  bool spam = c.verdict == scanners::SpamVerdict::kSpam;
  if (spam && (cfg.action == "junk" || cfg.action == "reject"))
    env.folder = cfg.junk_folder;
  else if (env.folder == cfg.junk_folder)
    env.folder.clear();  // the end-of-DATA check's Junk
  return env;
}

PersonalSpam::PersonalSpam(std::shared_ptr<const scanners::TokenStore> global,
                           const Config::Spam& cfg)
    : global_(std::move(global)),
      cfg_(cfg),
      params_(bayes_params(cfg)),
      topts_(tokenizer_options(cfg)) {}

std::optional<PersonalSpam::Found> PersonalSpam::find(std::string_view address) const {
  auto dir = scanners::user_store_dir(cfg_.store, address);
  if (!dir) return std::nullopt;
  struct stat st {};
  if (::stat((*dir / "data.mdb").c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return Found{std::move(*dir), static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

bool PersonalSpam::has_store(std::string_view address) const { return find(address).has_value(); }

// A store is closed only while nobody but the cache holds it (use_count 1
// under the mutex: copies are made only here), so one directory never has
// two open handles in this process.
Result<std::shared_ptr<scanners::TokenStore>> PersonalSpam::open(const Found& f) const {
  std::lock_guard lock(mu_);
  auto it = open_.find(f.dir);
  if (it != open_.end()) {
    // Replaced on disk (deleted and trained anew): reopen once it is idle.
    if ((it->second.dev == f.dev && it->second.ino == f.ino) || it->second.store.use_count() > 1) {
      it->second.last_used = ++tick_;
      return it->second.store;
    }
    open_.erase(it);
  }
  auto evict_one = [&] {  // the least recently used store nobody holds
    auto lru = open_.end();
    for (auto i = open_.begin(); i != open_.end(); ++i)
      if (i->second.store.use_count() == 1 &&
          (lru == open_.end() || i->second.last_used < lru->second.last_used))
        lru = i;
    if (lru == open_.end()) return false;
    open_.erase(lru);
    return true;
  };
  if (open_.size() >= kMaxOpenStores) evict_one();
  scanners::LmdbStore::Options opt;
  opt.read_only = true;
  auto s = scanners::LmdbStore::open(f.dir, opt);
  // Under an address-space limit the maps of the open stores may leave no
  // room for one more: close idle ones until it fits.
  while (!s && scanners::LmdbStore::out_of_address_space(s.error()) && evict_one())
    s = scanners::LmdbStore::open(f.dir, opt);
  if (!s) return s.error();
  Cached c{f.dev, f.ino, std::shared_ptr<scanners::TokenStore>(std::move(*s)), ++tick_};
  return open_.emplace(f.dir, std::move(c)).first->second.store;
}

void PersonalSpam::forget(const std::filesystem::path& dir) const {
  std::lock_guard lock(mu_);
  if (auto it = open_.find(dir); it != open_.end() && it->second.store.use_count() == 1) open_.erase(it);
}

namespace {

// The message as its client sent it: `data` less our Received field on top
// (the first field, with its folded lines), which the spool keeps in front.
size_t sent_size(std::string_view data) {
  if (data.size() < 9 || !iequals(data.substr(0, 9), "Received:")) return data.size();
  size_t p = 0;
  do {
    size_t nl = data.find('\n', p);
    if (nl == std::string_view::npos) return data.size();
    p = nl + 1;
  } while (p < data.size() && (data[p] == ' ' || data[p] == '\t'));
  return data.size() - p;
}

}  // namespace

std::optional<Envelope> PersonalSpam::envelope_for(std::string_view id, std::string_view address,
                                                   const Envelope& env,
                                                   std::string_view data) const {
  auto c = classify_for(id, address, data);
  if (!c) return std::nullopt;
  return with_personal_verdict(env, *c, cfg_);
}

std::optional<scanners::Classification> PersonalSpam::classify_for(std::string_view id, std::string_view address,
                                                                   std::string_view data) const {
  auto found = find(address);
  if (!found) return std::nullopt;
  if (sent_size(data) > kMaxScanBytes) {  // as the global check measures it
    ++counters_.skipped;
    return std::nullopt;
  }
  auto fail = [&](const Error& e) -> std::optional<scanners::Classification> {
    ++counters_.error;
    log::line(id, "spam check (own store of {}): {} ({}); the global verdict stands", address,
              e.text, e.detail);
    return std::nullopt;
  };
  auto user = open(*found);
  if (!user) return fail(user.error());
  auto c = [&] {
    scanners::LayeredStore layered(global_, *user);
    scanners::Classifier clf(layered, params_, topts_);
    return classify_message(clf, layered, data);
  }();
  if (!c) {
    user->reset();  // ours let go, so the cache may drop it
    forget(found->dir);
    return fail(c.error());
  }
  counters_.count(c->verdict);
  log::line(id, "spam check (own store of {}): {} score={}", address, scanners::verdict_name(c->verdict),
            scanners::score_text(c->score, c->verdict, params_, 4));
  return std::move(*c);
}

}  // namespace nougat::engine
