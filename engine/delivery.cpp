#include "engine/delivery.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <optional>
#include <set>

#include "engine/log.hpp"
#include "engine/maildir.hpp"
#include "engine/router.hpp"
#include "engine/user_spam.hpp"

namespace nougat::engine {
namespace fs = std::filesystem;

struct Delivery::Pending {
  Item* item;
  size_t rcpt;
  std::vector<MaildirCopy> copies;  // every Maildir target of this recipient
  std::vector<std::string> to;      // per copy: the address a .forward sent it to ("" = rcpt)
  bool published = false;
};

constexpr int kMaxForwardDepth = 10;      // .forward to .forward to …
constexpr size_t kMaxGenerated = 100;     // addresses generated for one recipient, all levels

namespace {

constexpr size_t kBatch = 64;

// One "=>" line per Maildir copy: the recipient, or the address its
// .forward sent the copy to with the recipient after it ("carol@x <frank@x>").
void log_delivered(std::string_view id, const std::string& rcpt, const std::string& to, const fs::path& maildir,
                   std::string_view note = "") {
  log::line(id, "=> {} R=local_user T=maildir{}{}", to.empty() ? rcpt : to + " <" + rcpt + ">",
            maildir_folder_log(maildir), note);
}

}  // namespace

Delivery::Delivery(ConfigPtr cfg, Spool& spool, const Directory& dir, SyncGroup& sync,
                   std::shared_ptr<const PersonalSpam> personal)
    : cfg_(std::move(cfg)),
      spool_(spool),
      dir_(dir),
      sync_(sync),
      personal_(std::move(personal)),
      router_(cfg_, dir) {}

bool Delivery::needs_router(const User& user) const {
  return router_.has_forward(user) || (personal_ && personal_->has_store(user.address));
}

Delivery::~Delivery() { stop(); }

void Delivery::start(unsigned workers) {
  for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this] { run(); });
}

void Delivery::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Delivery::submit(SpooledMessage&& m) {
  {
    std::lock_guard lk(mu_);
    Item item;
    item.msg = std::move(m);
    queue_.push_back(std::move(item));
  }
  cv_.notify_one();
}

size_t Delivery::recover() {
  size_t n = 0;
  for (const auto& id : spool_.recover()) {
    auto m = spool_.load(id, false);
    if (!m) continue;
    Item item;
    item.msg = std::move(*m);
    item.recovered = true;
    if (item.msg.envelope.quarantined && spool_.is_released(id)) item = released_item(std::move(item.msg));
    std::lock_guard lk(mu_);
    if (item.released) released_.insert(id);
    queue_.push_back(std::move(item));
    ++n;
  }
  cv_.notify_all();
  return n;
}

Delivery::Item Delivery::released_item(SpooledMessage&& m) {
  log::line(m.id, "released from quarantine by the administrator{}",
            m.envelope.held_reason.empty() ? "" : " (held: " + m.envelope.held_reason + ")");
  // recovered: an earlier attempt may have written some copies already.
  Item item;
  item.msg = std::move(m);
  item.recovered = true;
  item.released = true;
  return item;
}

size_t Delivery::check_releases() {
  std::lock_guard scan(release_mu_);
  auto marks = spool_.released_ids();
  std::vector<std::string> fresh;
  {
    std::lock_guard lk(mu_);
    // An id is forgotten once its marker and its message are gone (delivered
    // or deleted); while the message exists it is never submitted again,
    // even if someone recreates the marker.
    std::erase_if(released_, [&](const std::string& id) {
      return !std::binary_search(marks.begin(), marks.end(), id) && !spool_.exists(id);
    });
    for (auto& id : marks)
      if (!released_.count(id)) fresh.push_back(std::move(id));
  }
  size_t n = 0;
  for (auto& id : fresh) {
    auto m = spool_.load(id, false);
    if (!m) {
      if (!spool_.exists(id)) {
        log::line(id, "removing a release marker without a message");
        spool_.unmark_released(id);
      }
      continue;  // incomplete: looked at again next time
    }
    std::lock_guard lk(mu_);
    released_.insert(id);  // a message that is not held is delivered anyway: nothing to do
    if (!m->envelope.quarantined) continue;
    queue_.push_back(released_item(std::move(*m)));
    ++n;
  }
  if (n) cv_.notify_all();
  return n;
}

void Delivery::drain() {
  std::unique_lock lk(mu_);
  idle_cv_.wait(lk, [&] { return queue_.empty() && busy_ == 0; });
}

bool Delivery::sync() {
  std::promise<bool> p;
  auto f = p.get_future();
  sync_.request([&p](bool ok) { p.set_value(ok); });
  return f.get();
}

void Delivery::run() {
  std::vector<Item> batch;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      for (;;) {
        auto now = std::chrono::steady_clock::now();
        if (!stop_ && release_scan_.count() > 0 && now >= next_release_scan_) {
          // One look at the (usually empty) release folder, busy or idle.
          next_release_scan_ = now + release_scan_;
          lk.unlock();
          check_releases();
          lk.lock();
          now = std::chrono::steady_clock::now();
        }
        while (!retry_.empty() && retry_.begin()->first <= now) {
          queue_.push_back(std::move(retry_.begin()->second));
          retry_.erase(retry_.begin());
        }
        if (stop_ || !queue_.empty()) break;
        auto wake = release_scan_.count() > 0 ? next_release_scan_ : std::chrono::steady_clock::time_point::max();
        if (!retry_.empty()) wake = std::min(wake, retry_.begin()->first);
        if (wake == std::chrono::steady_clock::time_point::max()) cv_.wait(lk);
        else cv_.wait_until(lk, wake);
      }
      if (stop_) return;
      while (!queue_.empty() && batch.size() < kBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ++busy_;
    }
    deliver_batch(batch);
    batch.clear();
    {
      std::lock_guard lk(mu_);
      --busy_;
    }
    idle_cv_.notify_all();
  }
}

void Delivery::deliver_batch(std::vector<Item>& batch) {
  std::vector<Pending> pending;
  // maildir_fsync = false trades crash safety for speed: no syncs at all.
  const bool durable = cfg_->transports.maildir_fsync;
  for (auto& item : batch) {
    auto& m = item.msg;
    if (m.envelope.quarantined && !item.released) {
      log::line(m.id, "held in quarantine{}", m.envelope.held_reason.empty() ? "" : ": " + m.envelope.held_reason);
      continue;
    }
    if (!m.data) {
      auto d = spool_.read_data(m);
      if (!d) {
        log::line(m.id, "== cannot read spool data: {}", d.error().detail);
        continue;
      }
      m.data = *d;
    }
    item.retry = false;
    for (size_t i = 0; i < m.envelope.recipients.size(); ++i) {
      if (m.state[i] != RcptState::kPending) continue;
      const auto& rcpt = m.envelope.recipients[i];
      if (!cfg_->is_local_domain(address_domain(rcpt))) {
        if (item.attempts == 0)
          log::line(m.id, "== {} R=remote defer (remote delivery is not available yet)", rcpt);
        continue;
      }
      auto user = dir_.find(rcpt);
      if (!user && directory_key(address_local_part(rcpt)) == "postmaster") {
        // Accepted by RFC 5321 4.5.1 without a user of that name.
        const auto& to = cfg_->routers.postmaster;
        user = to.empty() ? std::nullopt : dir_.find(to);
        if (!user) {
          if (item.attempts == 0)
            log::line(m.id, "== {}: no user for postmaster; set routers.postmaster (kept in the queue)", rcpt);
          item.retry = true;
          continue;
        }
      }
      if (!user) {
        m.state[i] = RcptState::kFailed;
        m.failure[i] = "550 5.1.1 unknown user";
        log::line(m.id, "** {}: unknown user", rcpt);
        (void)spool_.record(m.id, i, RcptState::kFailed, m.failure[i]);
        continue;
      }
      if (!deliver_local(item, i, *user, pending)) item.retry = true;
    }
  }
  // The data of every tmp file is durable before any rename (Maildir rule)…
  if (durable && !pending.empty() && !sync()) {
    for (auto& p : pending) {
      for (auto& c : p.copies) discard(c);
      p.item->retry = true;
      log::line(p.item->msg.id, "== {} T=maildir defer: sync failed", p.item->msg.envelope.recipients[p.rcpt]);
    }
    pending.clear();
  }
  for (auto& p : pending) {
    auto& m = p.item->msg;
    bool ok = true;
    for (size_t k = 0; k < p.copies.size(); ++k) {
      auto& c = p.copies[k];
      if (auto st = publish(c); !st) {
        // Those renamed before it are in place (a retry finds them): said.
        for (size_t j = 0; j < k; ++j) log_delivered(m.id, m.envelope.recipients[p.rcpt], p.to[j], p.copies[j].maildir);
        log::line(m.id, "== {} T=maildir defer: {}", m.envelope.recipients[p.rcpt], st.error().detail);
        p.item->retry = true;
        p.item->recovered = true;  // some copies may be in place: look before writing again
        ok = false;
        break;
      }
    }
    p.published = ok;
  }
  // …and every rename is durable before the spool forgets the message. If
  // that sync fails the copies stay where they are and the retry finds them
  // (deterministic names), so nothing is delivered twice.
  bool renames_durable = !durable || pending.empty() || sync();
  for (auto& p : pending) {
    auto& m = p.item->msg;
    if (!p.published) continue;
    if (!renames_durable) {
      p.item->retry = true;
      p.item->recovered = true;  // look for the copy before writing again
      continue;
    }
    m.state[p.rcpt] = RcptState::kDone;
    (void)spool_.record(m.id, p.rcpt, RcptState::kDone);
    for (size_t c = 0; c < p.copies.size(); ++c)
      log_delivered(m.id, m.envelope.recipients[p.rcpt], p.to[c], p.copies[c].maildir);
  }
  for (auto& item : batch) {
    auto& m = item.msg;
    bool all_done = true, any_pending = false;
    for (auto s : m.state) {
      all_done &= s == RcptState::kDone;
      any_pending |= s == RcptState::kPending;
    }
    if (all_done) {
      if (auto st = spool_.remove(m.id); !st) log::line(m.id, "spool file not removed: {}", st.error().detail);
      log::line(m.id, "Completed");
      continue;
    }
    if (!any_pending) log::line(m.id, "kept in the queue: failed recipients await a bounce");
    if (item.retry) schedule_retry(std::move(item));
  }
}

// The message as `user` gets it when they have a Bayes store of their own:
// the same id and data (shared), the envelope with their verdict.
std::optional<SpooledMessage> Delivery::personal_copy(const SpooledMessage& m, const User& user) const {
  if (!personal_) return std::nullopt;
  auto env = personal_->envelope_for(m.id, user.address, m.envelope, *m.data);
  if (!env) return std::nullopt;
  SpooledMessage own;
  own.id = m.id;
  own.envelope = std::move(*env);
  own.data = m.data;
  own.data_offset = m.data_offset;
  own.data_size = m.data_size;
  return own;
}

// Routes one local recipient (running ~/.forward) and writes every copy:
// Maildir copies under tmp/ (published by the batch after its sync), mbox
// appends at once. False: deferred, retry later. A recipient with a Bayes
// store of their own gets `copy`: the message with their personal verdict
// (same id and data); the recipient's state stays on item.msg.
bool Delivery::deliver_local(Item& item, size_t i, const User& user, std::vector<Pending>& pending) {
  auto& m = item.msg;
  const auto& rcpt = m.envelope.recipients[i];
  const auto& host = cfg_->server.hostname;
  auto own = personal_copy(m, user);
  const SpooledMessage& copy = own ? *own : m;
  Route route = router_.route(user, rcpt, copy.envelope, *m.data, m.id);
  for (const auto& n : route.notes) log::line(m.id, "{}: {}", rcpt, n);
  switch (route.status) {
    case Route::Status::kDeliver:
      break;
    case Route::Status::kDefer:
      log::line(m.id, "== {} R=userforward defer: {}", rcpt, route.reason);
      return false;
    case Route::Status::kFail:
      m.state[i] = RcptState::kFailed;
      m.failure[i] = "550 5.7.1 " + route.reason;
      log::line(m.id, "** {} R=userforward: {}", rcpt, route.reason);
      (void)spool_.record(m.id, i, RcptState::kFailed, m.failure[i]);
      return true;
    case Route::Status::kFreeze:
      log::line(m.id, "== {} R=userforward frozen: {}", rcpt, route.reason);
      return true;  // held until an admin acts; no automatic retry
  }
  // A local address the .forward generated is routed again, as in Exim:
  // its own .forward runs too (unless written "\\name"), at most
  // kMaxForwardDepth deep and kMaxGenerated addresses in all. An address
  // that is an ancestor of the one whose .forward generated it is replaced
  // by that one, which then gets the copy (Exim's check_ancestor: A aliased
  // to B, B forwarding back to A, delivers to B); siblings are not
  // ancestors. Each Maildir or mbox gets one copy however many ways lead
  // there (Exim discards duplicate deliveries). A remote address needs the
  // SMTP transport, which does not exist yet: the whole recipient is
  // deferred before anything is written, so a retry starts clean.
  std::vector<fs::path> maildirs, mboxes;
  std::vector<std::string> maildir_to;  // per Maildir copy: the address it went to ("" = rcpt)
  // A folder as one key: "Maildir/" and "Maildir" are one place.
  auto place = [](const fs::path& p) {
    fs::path n = p.lexically_normal();
    return n.has_filename() ? n : n.parent_path();
  };
  std::set<std::string> routed;  // addresses routed once already: a duplicate is dropped, as in Exim
  std::vector<std::string> ancestors{directory_key(rcpt)};
  size_t generated = 0;
  std::string why;
  // The places this recipient's copies go to, each once. (Another
  // recipient of the message forwarded to the same mailbox leaves a copy of
  // its own there: skipping it would make this recipient's delivery depend
  // on the other's, which may fail and then, re-run, choose otherwise.)
  std::vector<fs::path> mine;
  auto add_maildir = [&](const fs::path& dir, const std::string& to) {
    if (std::find(mine.begin(), mine.end(), place(dir)) != mine.end()) return;
    mine.push_back(place(dir));
    maildirs.push_back(dir);
    maildir_to.push_back(to);
  };
  // `r`: the route of `to` ("" = rcpt), the address of user `at`.
  auto expand = [&](auto& self, const Route& r, const std::string& to, const User& at, int depth) -> bool {
    for (const auto& t : r.targets) {
      if (t.kind == Target::Kind::kMaildir) {
        add_maildir(t.path, to);
        continue;
      }
      if (t.kind == Target::Kind::kMbox) {
        if (std::find(mine.begin(), mine.end(), place(t.path)) == mine.end()) {
          mine.push_back(place(t.path));
          mboxes.push_back(t.path);
        }
        continue;
      }
      if (++generated > kMaxGenerated) {
        why = fmt::format("more than {} addresses generated by .forward files", kMaxGenerated);
        return false;
      }
      const bool local = cfg_->is_local_domain(address_domain(t.address));
      auto other = local ? dir_.find(t.address) : std::nullopt;
      if (!other) {
        // Kept and retried either way (nothing is lost, and a fixed .forward
        // delivers it to every target), but the log says which it is.
        why = local ? fmt::format("forwarding to {}: no such local user (fix {})", t.address,
                                  (at.home / ".forward").string())
                    : fmt::format("forwarding to {} (remote delivery is not available yet)", t.address);
        return false;
      }
      const std::string key = directory_key(t.address);
      if (std::find(ancestors.begin(), ancestors.end(), key) != ancestors.end()) {  // `to` keeps it
        add_maildir(maildir_folder(at.maildir(), copy.envelope.folder), to);
        continue;
      }
      if (t.no_forward || depth >= kMaxForwardDepth) {
        if (!t.no_forward)
          log::line(m.id, "{} <{}>: forwarded more than {} times: delivered without its .forward", t.address, rcpt,
                    kMaxForwardDepth);
        add_maildir(maildir_folder(other->maildir(), copy.envelope.folder), t.address);
        continue;
      }
      if (!routed.insert(key).second) continue;
      Route next = router_.route(*other, t.address, copy.envelope, *m.data, m.id, to.empty() ? rcpt : to, rcpt);
      for (const auto& n : next.notes) log::line(m.id, "{} <{}>: {}", t.address, rcpt, n);
      if (next.status != Route::Status::kDeliver) {
        why = fmt::format("forwarding to {}: {}", t.address, next.reason);
        return false;
      }
      ancestors.push_back(key);
      bool ok = self(self, next, t.address, *other, depth + 1);
      ancestors.pop_back();
      if (!ok) return false;
    }
    return true;
  };
  if (!expand(expand, route, "", user, 0)) {
    log::line(m.id, "== {} R=userforward defer: {}", rcpt, why);
    return false;
  }
  if (maildirs.empty() && mboxes.empty()) {
    m.state[i] = RcptState::kDone;
    (void)spool_.record(m.id, i, RcptState::kDone);
    log::line(m.id, "=> :blackhole: <{}> R=userforward", rcpt);
    return true;
  }
  Pending p{&item, i, {}, {}, false};
  // A copy's file name depends on where it goes, not on the order of the
  // targets (which a filter may change between two attempts), so a retry
  // finds what an earlier attempt put in place: 0 for the recipient's own
  // inbox, else a number from the folder's path.
  const fs::path own_inbox = place(maildir_folder(user.maildir(), copy.envelope.folder));
  auto copy_number = [&](const fs::path& dir) -> size_t {
    std::string key = place(dir).string();
    if (key == own_inbox.string()) return 0;
    return 1 + size_t(content_checksum(key) % 1000000000ULL);
  };
  for (size_t t = 0; t < maildirs.size(); ++t) {
    const size_t n = copy_number(maildirs[t]);
    if (item.recovered && already_delivered(maildir_copy_name(maildirs[t], copy, i, host, n))) {
      // Put there by an attempt that died or failed before logging it.
      log_delivered(m.id, rcpt, maildir_to[t], maildirs[t], " (in place from an earlier attempt)");
      continue;
    }
    auto written = write_maildir_tmp(maildirs[t], copy, i, host, n);
    if (!written) {
      log::line(m.id, "== {} T=maildir defer: {}", rcpt, written.error().detail);
      for (auto& c : p.copies) discard(c);
      return false;
    }
    p.copies.push_back(std::move(*written));
    p.to.push_back(maildir_to[t]);
  }
  for (const auto& f : mboxes) {
    if (auto st = append_mbox(f, copy, i, item.recovered || item.attempts > 0); !st) {
      log::line(m.id, "== {} T=mbox defer: {}", rcpt, st.error().detail);
      for (auto& c : p.copies) discard(c);
      return false;
    }
    log::line(m.id, "=> {} <{}> R=userforward T=mbox", f.string(), rcpt);
  }
  pending.push_back(std::move(p));
  return true;
}

void Delivery::schedule_retry(Item&& item) {
  // 1, 2, 4 … minutes, at most an hour apart (Exim's retry rules come with
  // the queue runner); the data is read back from the spool next time.
  auto delay = std::chrono::minutes(1) * (1 << std::min(item.attempts, 6));
  ++item.attempts;
  item.msg.data.reset();
  log::line(item.msg.id, "retry in {}s", std::chrono::duration_cast<std::chrono::seconds>(delay).count());
  std::lock_guard lk(mu_);
  retry_.emplace(std::chrono::steady_clock::now() + delay, std::move(item));
}

}  // namespace nougat::engine
