// Router: turns one local recipient into delivery targets by running the
// user's ~/.forward — an Exim filter ("# Exim filter" first line, compiled
// once and cached by file identity) or a plain forward list — the way
// Exim's userforward router does. The filter itself performs nothing
// (filterlang yields actions); this is where the actions become targets.
//
// Targets: the user's Maildir (INBOX or a folder), a Maildir directory or
// mbox file inside the user's home (`save`), another address (`deliver`;
// a local user gets it in their INBOX without running their own .forward,
// which bounds forwarding loops). Paths outside the home are refused.
//
// Outcomes follow Exim: no significant delivery → normal delivery as well;
// a syntax or run-time error in the filter → the recipient is deferred (the
// message stays queued, the error is logged); `defer` → deferred; `fail` →
// failed with the text; `freeze` → held. An action nougat cannot perform
// safely (pipe, while transports.pipe_allowed is off) defers the recipient
// rather than losing the message.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/directory.hpp"
#include "engine/spool.hpp"
#include "filterlang/cache.hpp"

namespace nougat::engine {

struct Target {
  enum class Kind { kMaildir, kMbox, kAddress };
  Kind kind = Kind::kMaildir;
  std::filesystem::path path;  // kMaildir: the Maildir (folder) directory; kMbox: the file
  std::string address;         // kAddress
  bool no_forward = false;     // kAddress written "\x": x's own .forward is not run
};

struct Route {
  enum class Status { kDeliver, kDefer, kFail, kFreeze };
  Status status = Status::kDeliver;
  std::vector<Target> targets;  // kDeliver; may be empty (e.g. :blackhole:, a filter that only saves nothing)
  std::string reason;           // kDefer/kFail/kFreeze
  std::vector<std::string> notes;  // log lines (filter notices, skipped autoreplies)
};

class Router {
 public:
  Router(ConfigPtr cfg, const Directory& dir) : cfg_(std::move(cfg)), dir_(dir) {}
  // Whether the user has a .forward that routing must run (cheap: one stat).
  bool has_forward(const User& user) const;
  // `data` is the message as spooled (CRLF). `rcpt` is the envelope address;
  // `id` the queue id (the filter's $message_id).
  // `parent`: for an address a .forward generated, the address whose
  // .forward did ($parent_local_part …); `original`: the envelope recipient
  // it all started from ($original_local_part …).
  Route route(const User& user, const std::string& rcpt, const Envelope& env, std::string_view data,
              std::string_view id = "", std::string_view parent = "", std::string_view original = "") const;

 private:
  Route run_filter(const User& user, const std::string& rcpt, const Envelope& env, std::string_view data,
                   const std::string& source, const filterlang::FileKey& key, std::string_view id,
                   std::string_view parent, std::string_view original) const;
  Route run_list(const User& user, const std::string& source) const;
  bool inside_home(const User& user, const std::filesystem::path& p) const;
  Target inbox(const User& user, const std::string& folder) const;

  ConfigPtr cfg_;
  const Directory& dir_;
  mutable filterlang::ProgramCache cache_;
};

}  // namespace nougat::engine
