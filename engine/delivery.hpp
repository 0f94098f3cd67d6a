// Delivery: takes acknowledged messages from the spool and delivers each
// recipient. Local users get Maildir delivery (Maildir spec: unique name in
// tmp/, write, make durable, rename into new/); Return-Path and Delivered-To
// are added here. Work is batched: the messages of one batch share their
// syncs through the SyncGroup, so a burst of N messages costs two syncfs
// calls, not 2N fsyncs.
//
// Crash safety: a recipient counts as done only after its rename is durable;
// the spool file is removed only after every recipient is done. Maildir names
// are derived from the queue id and recipient index, so a redelivery after a
// crash finds an earlier rename and never delivers twice.
//
// A recipient with their own Bayes store (engine/user_spam.hpp) gets a copy
// classified with it: routing (their ~/.forward sees the personal
// $spam_score), the folder and the X-Spam-* headers of every copy written
// for them follow the personal verdict; the queued message is unchanged.
// Each attempt classifies again, so a user who trains their store between a
// crash and the redelivery may get a copy of another size or folder, which
// the name check cannot recognise (as with a ~/.forward edited meanwhile).
//
// Held (quarantined) messages are skipped until the administrator releases
// them (`nougat queue release`, a marker in the spool): at start (recover)
// and, while running, by looking for new markers every kReleaseScan. A
// released message is delivered like any other; the marker goes with the
// spool file. Each id is submitted once while its message is in the spool,
// so a marker seen again while the message is in flight (or waiting for a
// retry) does not deliver it twice.
//
// Remote recipients stay queued until the SMTP client transport exists
// (logged as deferred); unknown local users are failed and kept in the spool
// for the bounce machinery.
#pragma once

#include <condition_variable>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/config.hpp"
#include "engine/directory.hpp"
#include "engine/router.hpp"
#include "engine/spool.hpp"
#include "engine/sync.hpp"

namespace nougat::engine {

class PersonalSpam;

class Delivery {
 public:
  // `personal`: per-user spam classification, nullptr when spam checking is off.
  Delivery(ConfigPtr cfg, Spool& spool, const Directory& dir, SyncGroup& sync,
           std::shared_ptr<const PersonalSpam> personal = nullptr);
  ~Delivery();
  // Whether a copy for `user` must go through routing at delivery (a
  // ~/.forward, or a Bayes store of their own), so not the direct path of
  // engine/intake.hpp. Cheap: a stat or two.
  bool needs_router(const User& user) const;

  void start(unsigned workers);
  void stop();  // finishes the batch in hand, leaves the rest in the spool
  void submit(SpooledMessage&& m);
  // Queues every complete message found in the spool (at start-up).
  size_t recover();
  // Submits the held messages whose release marker appeared since the last
  // look; returns how many. The workers call it every kReleaseScan.
  size_t check_releases();
  static constexpr std::chrono::milliseconds kReleaseScan{2000};
  // How often the workers look (before start()); zero: never (tests call
  // check_releases themselves).
  void set_release_scan(std::chrono::milliseconds every) { release_scan_ = every; }
  // Waits until nothing is queued or in progress (tests, benchmarks,
  // shutdown); messages waiting for a retry do not count.
  void drain();

 private:
  struct Item {
    SpooledMessage msg;
    bool recovered = false;  // may have been delivered before: check first
    bool retry = false;      // a local recipient failed temporarily
    int attempts = 0;
    bool released = false;   // held, but the administrator released it
  };
  struct Pending;  // one maildir file written, not yet renamed
  void run();
  void deliver_batch(std::vector<Item>& batch);
  void schedule_retry(Item&& item);
  bool deliver_local(Item& item, size_t rcpt, const User& user, std::vector<Pending>& pending);
  std::optional<SpooledMessage> personal_copy(const SpooledMessage& m, const User& user) const;
  bool sync();
  Item released_item(SpooledMessage&& m);

  ConfigPtr cfg_;
  Spool& spool_;
  const Directory& dir_;
  SyncGroup& sync_;
  std::shared_ptr<const PersonalSpam> personal_;
  Router router_;
  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<Item> queue_;
  std::multimap<std::chrono::steady_clock::time_point, Item> retry_;
  size_t busy_ = 0;
  bool stop_ = false;
  // Released ids submitted, kept while their message or marker exists (mu_);
  // check_releases runs in one thread at a time (release_mu_).
  std::set<std::string> released_;
  std::chrono::milliseconds release_scan_ = kReleaseScan;
  std::chrono::steady_clock::time_point next_release_scan_{};
  std::mutex release_mu_;
  std::vector<std::thread> threads_;
};

}  // namespace nougat::engine
