// Intake: the engine's side of "end of DATA": takes a complete message from
// the SMTP session and makes it durable before it may be acknowledged.
//
// Two paths, chosen per message:
//  - direct: every recipient is a local user without a ~/.forward or a
//    Bayes store of their own (Delivery::needs_router) and the message is
//    small (still in memory). Each copy is written to the user's
//    Maildir tmp/ and its intent to the PublishLog; one sync makes both
//    durable, the message is acknowledged and the copies are renamed into
//    new/ (the log repairs lost renames after a crash). Nothing touches the
//    spool: half the disk writes, one sync in the acknowledgement path.
//  - spool: anything else. The spool file is completed and synced, the
//    message is acknowledged and handed to Delivery.
// A direct attempt that fails part-way falls back to the spool path, so the
// client never sees a failure that the spool could have absorbed.
//
// Waiting is the caller's: Commit::advance() returns kNeedSync until the
// message is safe; the caller waits for one SyncGroup round between calls
// (the session co_awaits it), so concurrent sessions share their syncs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/delivery.hpp"
#include "engine/directory.hpp"
#include "engine/maildir.hpp"
#include "engine/publish_log.hpp"
#include "engine/sync.hpp"
#include "engine/spool.hpp"

namespace nougat::engine {

class Intake;

class Commit {
 public:
  enum class Step { kNeedSync, kAccepted, kFailed };
  // First call with sync_ok = true; later calls pass the result of the sync.
  Step advance(bool sync_ok);
  const std::string& id() const { return id_; }
  // On kFailed: the SMTP reply to give (e.g. "451 4.3.0 Local error in processing").
  const std::string& failure() const { return failure_; }

 private:
  friend class Intake;
  enum class Phase { kStart, kDirectWritten, kSpoolWritten, kDone };
  Step start();
  Step to_spool();
  void log_arrival() const;

  const Intake* intake_ = nullptr;
  std::unique_ptr<Spool::Writer> writer_;
  SpooledMessage msg_;
  std::vector<MaildirCopy> copies_;
  uint64_t gen_ = 0;  // publish log generation of copies_
  std::string id_;  // kept: msg_ moves on to Delivery
  Phase phase_ = Phase::kStart;
  std::string failure_;
};

class Intake {
 public:
  Intake(ConfigPtr cfg, Spool& spool, Delivery& delivery, const Directory& dir, PublishLog& publish_log,
         SyncGroup& sync)
      : cfg_(std::move(cfg)),
        spool_(spool),
        delivery_(delivery),
        dir_(dir),
        publish_log_(publish_log),
        sync_(sync) {}
  std::unique_ptr<Commit> begin(std::unique_ptr<Spool::Writer> writer) const;

 private:
  friend class Commit;
  ConfigPtr cfg_;
  Spool& spool_;
  Delivery& delivery_;
  const Directory& dir_;
  PublishLog& publish_log_;
  SyncGroup& sync_;
};

}  // namespace nougat::engine
