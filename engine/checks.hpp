// The check chain: milter-style policy at every SMTP stage (STYLE 3).
// Protocol code builds the facts (SessionFacts, the transaction), asks the
// chain at each stage and turns the Verdict into a reply; it decides nothing.
// A Check implements only the stages it cares about; the rest continue.
// The first verdict other than kContinue ends the walk for that stage.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
  // End of DATA only, kept from every check that lets the message through:
  std::vector<std::string> add_headers;  // "Name: value", put on top at delivery
  std::string folder;                    // deliver local copies into this folder ("Junk")
  // Expansion variables for filters run at delivery ($spam_score,
  // $malware_name …): name → value, values without CR or LF.
  std::vector<std::pair<std::string, std::string>> variables;
  // Header fields to drop from the message by name (the system filter's
  // `headers remove`); also drops what earlier checks added under that name.
  std::vector<std::string> remove_headers;
  // A new envelope recipient list (the system filter's deliveries).
  std::optional<std::vector<std::string>> recipients;

  static Verdict cont() { return {}; }
  static Verdict make(Action a, int code, std::string enhanced, std::string text) {
    Verdict v;
    v.action = a;
    v.code = code;
    v.enhanced = std::move(enhanced);
    v.text = std::move(text);
    return v;
  }
  static Verdict reject(int code, std::string enhanced, std::string text) {
    return make(Action::kReject, code, std::move(enhanced), std::move(text));
  }
  static Verdict tempfail(int code, std::string enhanced, std::string text) {
    return make(Action::kTempfail, code, std::move(enhanced), std::move(text));
  }
};

// Whether the header field "Name: value" is called `name` (any case).
bool field_named(std::string_view field, std::string_view name);

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

// End of DATA: the whole message as it will be stored (CRLF line ends,
// our Received: first). Checks run on a worker thread, never a network one.
struct MessageFacts {
  std::string_view id;
  std::string_view data;
  const std::vector<std::string>& recipients;
  // What the checks before this one decided (headers, variables, …); set by
  // CheckChain::on_eod, null when a check is called on its own.
  const Verdict* earlier = nullptr;
  // How much of `data` we put in front (our Received field): what follows
  // is the message as the client sent it, and what size limits measure.
  size_t own_header = 0;
  std::string_view as_sent() const { return data.substr(std::min(own_header, data.size())); }
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
  virtual Verdict on_eod(const SessionFacts&, const MailFacts&, const MessageFacts&) {
    return Verdict::cont();
  }
};

class CheckChain {
 public:
  // `eod`: the check implements on_eod (so the session fetches the message).
  void add(std::unique_ptr<Check> c, bool eod = false) {
    eod_checks_ += eod ? 1 : 0;
    checks_.push_back(std::move(c));
  }
  Verdict on_connect(const SessionFacts& s) const;
  Verdict on_helo(const SessionFacts& s) const;
  Verdict on_mail(const SessionFacts& s, const MailFacts& m) const;
  Verdict on_rcpt(const SessionFacts& s, const MailFacts& m, const RcptFacts& r) const;
  Verdict on_data(const SessionFacts& s, const MailFacts& m) const;
  // Header edits, variables, the folder and the recipients of every
  // continuing check are merged into the result (a later check's folder,
  // recipients or value of a variable wins; its header removals apply to
  // what earlier checks added); each check sees the merge so far
  // (MessageFacts::earlier). A quarantine verdict ends it with the merge so
  // far; any other verdict ends it as it is.
  Verdict on_eod(const SessionFacts& s, const MailFacts& m, const MessageFacts& msg) const;
  bool has_eod() const { return eod_checks_ > 0; }

 private:
  template <typename F>
  Verdict walk(F&& f) const;
  std::vector<std::unique_ptr<Check>> checks_;
  size_t eod_checks_ = 0;
};

// The built-in checks this release needs, in order: submission requires AUTH,
// SIZE= against the limit, relay control, recipient verification.
CheckChain default_chain(ConfigPtr cfg, const Directory& dir);

}  // namespace nougat::engine
