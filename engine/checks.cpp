#include "engine/checks.hpp"

#include <fmt/format.h>

#include "engine/log.hpp"
#include "engine/mime.hpp"

namespace nougat::engine {

template <typename F>
Verdict CheckChain::walk(F&& f) const {
  for (const auto& c : checks_) {
    Verdict v = f(*c);
    if (v.action != Action::kContinue) return v;
  }
  return Verdict::cont();
}

Verdict CheckChain::on_connect(const SessionFacts& s) const {
  return walk([&](Check& c) { return c.on_connect(s); });
}
Verdict CheckChain::on_helo(const SessionFacts& s) const {
  return walk([&](Check& c) { return c.on_helo(s); });
}
Verdict CheckChain::on_mail(const SessionFacts& s, const MailFacts& m) const {
  return walk([&](Check& c) { return c.on_mail(s, m); });
}
Verdict CheckChain::on_rcpt(const SessionFacts& s, const MailFacts& m, const RcptFacts& r) const {
  return walk([&](Check& c) { return c.on_rcpt(s, m, r); });
}
Verdict CheckChain::on_data(const SessionFacts& s, const MailFacts& m) const {
  return walk([&](Check& c) { return c.on_data(s, m); });
}

namespace {

void set_variable(std::vector<std::pair<std::string, std::string>>& vars, std::string name,
                  std::string value) {
  for (auto& [n, v] : vars)
    if (n == name) {
      v = std::move(value);
      return;
    }
  vars.emplace_back(std::move(name), std::move(value));
}

}  // namespace

bool field_named(std::string_view field, std::string_view name) {
  std::string_view n = field_name_of(field);
  return !n.empty() && name_matches(n, name);
}

Verdict CheckChain::on_eod(const SessionFacts& s, const MailFacts& m, const MessageFacts& msg) const {
  Verdict merged;
  for (const auto& c : checks_) {
    Verdict v;
    // A check that throws has failed: a temporary failure, as for a scanner
    // that cannot answer — never an unchecked accept, never the process.
    try {
      v = c->on_eod(s, m, MessageFacts{msg.id, msg.data, msg.recipients, &merged, msg.own_header});
    } catch (const std::exception& e) {
      log::line(msg.id, "{} check failed: {}", c->name(), e.what());
      return Verdict::tempfail(451, "4.3.0", "Local error in processing");
    }
    if (v.action != Action::kContinue && v.action != Action::kAccept && v.action != Action::kQuarantine) return v;
    for (const auto& name : v.remove_headers) {
      std::erase_if(merged.add_headers, [&](const std::string& h) { return field_named(h, name); });
      merged.remove_headers.push_back(name);
    }
    for (auto& h : v.add_headers) merged.add_headers.push_back(std::move(h));
    if (!v.folder.empty()) merged.folder = std::move(v.folder);
    for (auto& [name, value] : v.variables)
      set_variable(merged.variables, std::move(name), std::move(value));
    if (v.recipients) merged.recipients = std::move(v.recipients);
    // A quarantine holds the message but ends no chain: the checks after it
    // (the system filter last) still run, so their header edits and extra
    // recipients are in the envelope when the message is released, and a
    // later rejection still refuses it. The first reason to hold it stays.
    if (v.action == Action::kQuarantine && merged.action != Action::kQuarantine) {
      merged.action = Action::kQuarantine;
      merged.text = std::move(v.text);
    }
    if (v.action == Action::kAccept) break;
  }
  return merged;
}

namespace {

// RFC 6409: the submission ports are for authenticated users only.
class SubmissionAuth final : public Check {
 public:
  std::string_view name() const override { return "submission_auth"; }
  Verdict on_mail(const SessionFacts& s, const MailFacts&) override {
    if (s.listener == ListenerKind::kSmtp || !s.auth_user.empty()) return Verdict::cont();
    return Verdict::reject(530, "5.7.0", "Authentication required");
  }
};

class SizeLimit final : public Check {
 public:
  explicit SizeLimit(ConfigPtr cfg) : cfg_(std::move(cfg)) {}
  std::string_view name() const override { return "size"; }
  Verdict on_mail(const SessionFacts&, const MailFacts& m) override {
    if (m.declared_size > cfg_->limits.message_size)
      return Verdict::reject(552, "5.3.4", fmt::format("Message size exceeds fixed limit of {} bytes",
                                                       cfg_->limits.message_size));
    return Verdict::cont();
  }

 private:
  ConfigPtr cfg_;
};

class RelayControl final : public Check {
 public:
  explicit RelayControl(ConfigPtr cfg) : cfg_(std::move(cfg)) {}
  std::string_view name() const override { return "relay"; }
  Verdict on_rcpt(const SessionFacts& s, const MailFacts&, const RcptFacts& r) override {
    if (cfg_->is_local_domain(r.domain) || !s.auth_user.empty()) return Verdict::cont();
    for (const auto& net : cfg_->domains.relay_networks)
      if (net.contains(s.client)) return Verdict::cont();
    return Verdict::reject(550, "5.7.1", "Relaying denied");
  }

 private:
  ConfigPtr cfg_;
};

class RecipientVerify final : public Check {
 public:
  RecipientVerify(ConfigPtr cfg, const Directory& dir) : cfg_(std::move(cfg)), dir_(dir) {}
  std::string_view name() const override { return "recipient"; }
  Verdict on_rcpt(const SessionFacts&, const MailFacts&, const RcptFacts& r) override {
    if (!cfg_->is_local_domain(r.domain)) return Verdict::cont();
    if (dir_.find(r.address)) return Verdict::cont();
    if (directory_key(r.local_part) == "postmaster") return Verdict::cont();  // RFC 5321 4.5.1
    return Verdict::reject(550, "5.1.1", fmt::format("<{}>: Recipient address rejected: User unknown", r.address));
  }

 private:
  ConfigPtr cfg_;
  const Directory& dir_;
};

}  // namespace

CheckChain default_chain(ConfigPtr cfg, const Directory& dir) {
  CheckChain chain;
  chain.add(std::make_unique<SubmissionAuth>());
  chain.add(std::make_unique<SizeLimit>(cfg));
  chain.add(std::make_unique<RelayControl>(cfg));
  chain.add(std::make_unique<RecipientVerify>(cfg, dir));
  return chain;
}

}  // namespace nougat::engine
