#include "engine/intake.hpp"

#include <fmt/ranges.h>

#include "engine/log.hpp"

namespace nougat::engine {

std::unique_ptr<Commit> Intake::begin(std::unique_ptr<Spool::Writer> writer) const {
  auto c = std::unique_ptr<Commit>(new Commit);
  c->intake_ = this;
  c->writer_ = std::move(writer);
  return c;
}

void Commit::log_arrival() const {
  const auto& e = msg_.envelope;
  log::line(msg_.id, "<= {} H={}[{}] P={} S={}{} for {}", e.sender.empty() ? "<>" : e.sender,
            e.helo.empty() ? "" : e.helo + " ", e.client_ip, e.protocol, msg_.data_size,
            e.auth_user.empty() ? "" : " A=" + e.auth_user, fmt::join(e.recipients, " "));
}

Commit::Step Commit::advance(bool sync_ok) {
  switch (phase_) {
    case Phase::kStart:
      return start();
    case Phase::kDirectWritten:
      if (!sync_ok) {
        for (auto& c : copies_) discard(c);
        intake_->publish_log_.done(gen_, copies_.size(), intake_->sync_);
        copies_.clear();
        return to_spool();
      }
      // The tmp files and their intents are durable: the message is safe.
      // Rename now; a crash before the renames reach the disk is repaired
      // from the publish log at the next start.
      for (const auto& c : copies_) {
        if (auto st = publish(c); !st)
          log::line(msg_.id, "rename failed, the next start repairs it: {}", st.error().detail);
      }
      intake_->publish_log_.done(gen_, copies_.size(), intake_->sync_);
      log_arrival();
      id_ = msg_.id;
      for (size_t i = 0; i < copies_.size(); ++i)
        log::line(msg_.id, "=> {} R=local_user T=maildir{}", msg_.envelope.recipients[i],
                  maildir_folder_log(copies_[i].maildir));
      log::line(msg_.id, "Completed");
      phase_ = Phase::kDone;
      return Step::kAccepted;
    case Phase::kSpoolWritten:
      phase_ = Phase::kDone;
      if (!sync_ok) {
        (void)intake_->spool_.remove(msg_.id);  // never acknowledged: recovery drops what is left
        failure_ = "451 4.3.0 Local error in processing";
        return Step::kFailed;
      }
      log_arrival();
      id_ = msg_.id;
      intake_->delivery_.submit(std::move(msg_));
      return Step::kAccepted;
    case Phase::kDone:
      break;
  }
  return Step::kFailed;
}

Commit::Step Commit::start() {
  const auto& cfg = *intake_->cfg_;
  if (writer_->envelope().quarantined) return to_spool();  // held, never delivered directly
  auto in_memory = writer_->take_in_memory();
  if (!in_memory) return to_spool();
  writer_.reset();
  msg_ = std::move(*in_memory);
  // The direct path only when every recipient is a local user right now.
  std::vector<std::filesystem::path> maildirs;
  for (const auto& r : msg_.envelope.recipients) {
    auto user = address_domain(r).empty() || !cfg.is_local_domain(address_domain(r))
                    ? std::nullopt
                    : intake_->dir_.find(r);
    // A ~/.forward or a Bayes store of their own needs the router (and the
    // spool for its outcomes).
    if (!user || intake_->delivery_.needs_router(*user)) return to_spool();
    maildirs.push_back(maildir_folder(user->maildir(), msg_.envelope.folder));
  }
  for (size_t i = 0; i < maildirs.size(); ++i) {
    auto c = write_maildir_tmp(maildirs[i], msg_, i, cfg.server.hostname);
    if (!c) {
      log::line(msg_.id, "direct delivery failed, using the spool: {}", c.error().detail);
      for (auto& done : copies_) discard(done);
      copies_.clear();
      return to_spool();
    }
    copies_.push_back(std::move(*c));
  }
  auto gen = intake_->publish_log_.append(copies_);
  if (!gen) {
    log::line(msg_.id, "direct delivery failed, using the spool: {}", gen.error().detail);
    for (auto& done : copies_) discard(done);
    copies_.clear();
    return to_spool();
  }
  gen_ = *gen;
  phase_ = Phase::kDirectWritten;
  return Step::kNeedSync;
}

Commit::Step Commit::to_spool() {
  Result<SpooledMessage> m = make_error("");
  if (writer_) {
    m = writer_->finish();
  } else {
    // The writer already gave its data away (direct attempt): write it out now.
    auto w = intake_->spool_.create(msg_.id, msg_.envelope);
    if (w) {
      auto data = msg_.data;
      auto st = (*w)->append(*data);
      m = st ? (*w)->finish() : Result<SpooledMessage>(st.error());
    } else {
      m = w.error();
    }
  }
  writer_.reset();
  if (!m) {
    log::line(msg_.id.empty() ? "" : msg_.id, "spool error: {}", m.error().detail);
    failure_ = m.error().detail.find("No space") != std::string::npos
                   ? "452 4.3.1 Insufficient system storage"
                   : "451 4.3.0 Local error in processing";
    phase_ = Phase::kDone;
    return Step::kFailed;
  }
  msg_ = std::move(*m);
  phase_ = Phase::kSpoolWritten;
  return Step::kNeedSync;
}

}  // namespace nougat::engine
