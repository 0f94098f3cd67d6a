// The check chain: milter-style policy at every SMTP stage (STYLE 3).
// Protocol code builds the facts (SessionFacts, the transaction), asks the
// chain at each stage and turns the Verdict into a reply; it decides nothing.
// A Check implements only the stages it cares about; the rest continue.
// The first verdict other than kContinue ends the walk for that stage.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"
#include "engine/directory.hpp"
#include "engine/net.hpp"

namespace nougat::engine {

enum class Action { kContinue, kAccept, kReject, kTempfail, kDiscard, kQuarantine, kDisconnect };

struct Verdict {
  Action action = Action::kContinue;
  int code = 0;              // SMTP reply code for reject/tempfail/disconnect
  std::string enhanced;      // "5.7.1"
  std::string text;

  static Verdict cont() { return {}; }
  static Verdict reject(int code, std::string enhanced, std::string text) {
    return {Action::kReject, code, std::move(enhanced), std::move(text)};
  }
  static Verdict tempfail(int code, std::string enhanced, std::string text) {
    return {Action::kTempfail, code, std::move(enhanced), std::move(text)};
  }
};

enum class ListenerKind { kSmtp, kSubmission, kSubmissions };

struct SessionFacts {
  ListenerKind listener = ListenerKind::kSmtp;
  IpAddress client;
  std::string helo;
  bool tls = false;
  std::string auth_user;  // empty: not authenticated
};

struct MailFacts {
  std::string sender;     // "" = <>
  uint64_t declared_size = 0;  // SIZE= parameter, 0 if absent
};

struct RcptFacts {
  std::string address;    // local@domain, domain lowercased
  std::string local_part, domain;
};

class Check {
 public:
  virtual ~Check() = default;
  virtual std::string_view name() const = 0;
  virtual Verdict on_connect(const SessionFacts&) { return Verdict::cont(); }
  virtual Verdict on_helo(const SessionFacts&) { return Verdict::cont(); }
  virtual Verdict on_mail(const SessionFacts&, const MailFacts&) { return Verdict::cont(); }
  virtual Verdict on_rcpt(const SessionFacts&, const MailFacts&, const RcptFacts&) {
    return Verdict::cont();
  }
  virtual Verdict on_data(const SessionFacts&, const MailFacts&) { return Verdict::cont(); }
};

class CheckChain {
 public:
  void add(std::unique_ptr<Check> c) { checks_.push_back(std::move(c)); }
  Verdict on_connect(const SessionFacts& s) const;
  Verdict on_helo(const SessionFacts& s) const;
  Verdict on_mail(const SessionFacts& s, const MailFacts& m) const;
  Verdict on_rcpt(const SessionFacts& s, const MailFacts& m, const RcptFacts& r) const;
  Verdict on_data(const SessionFacts& s, const MailFacts& m) const;

 private:
  template <typename F>
  Verdict walk(F&& f) const;
  std::vector<std::unique_ptr<Check>> checks_;
};

// The built-in checks this release needs, in order: submission requires AUTH,
// SIZE= against the limit, relay control, recipient verification.
CheckChain default_chain(ConfigPtr cfg, const Directory& dir);

}  // namespace nougat::engine
