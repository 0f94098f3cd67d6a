#include "engine/system_filter.hpp"

#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/directory.hpp"
#include "engine/filter_message.hpp"
#include "engine/log.hpp"
#include "filterlang/interpreter.hpp"
#include "filterlang/parser.hpp"
#include "filterlang/program.hpp"

namespace nougat::engine {
namespace {

constexpr size_t kMaxFilterFile = 1 << 20;
constexpr size_t kMaxRecipients = 1000;  // addresses a run may deliver to
constexpr size_t kMaxReplyText = 400;

struct FileId {
  uint64_t dev = 0, ino = 0, size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileId&) const = default;
};

// Text for an SMTP reply: one line of printable ASCII, bounded.
std::string reply_text(std::string_view s, std::string_view fallback) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= kMaxReplyText) break;
    out += c == '\n' || c == '\t' ? ' ' : (c < 32 || c > 126) ? '?' : char(c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.empty() ? std::string(fallback) : out;
}

}  // namespace

struct SystemFilter::Loaded {
  FileId id;
  std::shared_ptr<const filterlang::Program> program;
  std::string error;
};

SystemFilter::SystemFilter(std::filesystem::path path, std::string qualify_domain)
    : path_(std::move(path)), qualify_(std::move(qualify_domain)) {}
SystemFilter::~SystemFilter() = default;

Result<std::unique_ptr<SystemFilter>> SystemFilter::open(std::filesystem::path path, std::string qualify_domain) {
  std::unique_ptr<SystemFilter> f(new SystemFilter(std::move(path), std::move(qualify_domain)));
  auto p = f->program();
  if (!p) return p.error();
  return f;
}

Result<std::shared_ptr<const filterlang::Program>> SystemFilter::program() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return make_error(fmt::format("system filter {}: cannot read the file", path_.string()));
  FileId id{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
            static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  std::lock_guard lk(mu_);
  if (!loaded_ || !(loaded_->id == id)) {
    auto next = std::make_unique<Loaded>();
    next->id = id;
    std::string source;
    if (static_cast<uint64_t>(st.st_size) > kMaxFilterFile) {
      next->error = fmt::format("larger than {} bytes", kMaxFilterFile);
    } else {
      std::ifstream in(path_, std::ios::binary);
      source.assign(std::istreambuf_iterator<char>(in), {});
      if (!in.good() && !in.eof()) next->error = "cannot read the file";
    }
    if (next->error.empty()) {
      if (!filterlang::is_exim_filter(source)) {
        next->error = "not an Exim filter (the first line must be \"# Exim filter\")";
      } else {
        filterlang::ParseOptions popts;
        popts.system_filter = true;
        auto compiled = filterlang::compile_filter(source, popts);
        next->program = compiled.program;
        next->error = compiled.error;
      }
    }
    if (loaded_) log::line("", "system filter {} changed: {}", path_.string(), next->error.empty() ? "reloaded" : next->error);
    loaded_ = std::move(next);
  }
  if (!loaded_->program) return make_error(fmt::format("system filter {}: {}", path_.string(), loaded_->error));
  return loaded_->program;
}

Verdict SystemFilter::on_eod(const SessionFacts& session, const MailFacts& m, const MessageFacts& msg) {
  auto prog = program();
  if (!prog) {
    log::line(msg.id, "{}", prog.error().text);
    return Verdict::tempfail(451, "4.3.0", "Local error in processing");
  }
  FilterEnvelope fe;
  fe.sender = m.sender.empty() ? "<>" : m.sender;
  fe.qualify_domain = qualify_;
  fe.recipients = fmt::format("{}", fmt::join(msg.recipients, ", "));
  fe.origin.id = std::string(msg.id);
  fe.origin.protocol = fmt::format("esmtp{}{}", session.tls ? "s" : "", session.auth_user.empty() ? "" : "a");
  fe.origin.client_ip = session.client.to_string();
  fe.origin.helo = session.helo;
  fe.origin.auth_user = session.auth_user;
  fe.origin.recipients = msg.recipients.size();
  fe.origin.adds_received = false;  // ours is on top already
  fe.origin.test = false;
  fe.origin.hostname = qualify_;  // the server's host name
  if (msg.earlier) {
    fe.scan_variables = msg.earlier->variables;
    fe.extra_headers = msg.earlier->add_headers;
    fe.removed_headers = msg.earlier->remove_headers;
  }
  FilterMessage message(msg.data, std::move(fe));
  filterlang::RunOptions ropts;
  ropts.apply_headers = true;
  auto result = filterlang::run_filter(**prog, message, ropts);
  return verdict_of(result, msg.recipients, qualify_, msg.id);
}

Verdict SystemFilter::verdict_of(const filterlang::RunResult& r, const std::vector<std::string>& recipients,
                                 std::string_view qualify_domain, std::string_view id) {
  using filterlang::ActionKind;
  using filterlang::Outcome;
  if (r.outcome == Outcome::kError) {
    log::line(id, "system filter error: {}", r.error);
    return Verdict::tempfail(451, "4.3.0", "Local error in processing");
  }
  Verdict v;
  std::vector<std::string> delivered;
  std::string text;
  bool no_transport = false;
  for (const auto& a : r.actions) {
    switch (a.kind) {
      case ActionKind::kDeliver: {
        std::string addr = a.value.find('@') == std::string::npos ? a.value + "@" + std::string(qualify_domain) : a.value;
        bool dup = false;
        for (const auto& d : delivered) dup = dup || directory_key(d) == directory_key(addr);
        if (!dup) delivered.push_back(std::move(addr));
        if (a.errors_to) log::line(id, "system filter: errors_to {} not used (bounces go to the sender)", *a.errors_to);
        break;
      }
      case ActionKind::kSave:
      case ActionKind::kPipe:
        log::line(id, "system filter: {} {}: no system-filter {} transport; message deferred",
                  a.kind == ActionKind::kSave ? "save" : "pipe", a.value, a.kind == ActionKind::kSave ? "file" : "pipe");
        no_transport = true;
        break;
      case ActionKind::kMail:
      case ActionKind::kVacation:
        log::line(id, "system filter: {} to {} not sent: autoreplies are not available yet",
                  a.kind == ActionKind::kMail ? "mail" : "vacation", a.mail[0].value_or("the sender"));
        break;
      case ActionKind::kLogwrite:
        log::line(id, "system filter logwrite: {}", a.value);
        break;
      case ActionKind::kHeadersAdd: {
        auto lines = filterlang::split_header_text(a.value);
        for (const auto& [name, value] : lines.fields) v.add_headers.push_back(name + ":" + value);
        for (const auto& bad : lines.bad) log::line(id, "system filter: headers add: not a header field, ignored: {}", filterlang::printing(bad));
        break;
      }
      case ActionKind::kHeadersRemove:
        for (auto& name : filterlang::header_names(a.value)) {
          // Exim's filter names are exact; the removal lists take a last '*'
          // as "any name starting so" (the checks' "X-Spam-*"), which no
          // field name in practice ends with: such a name is left out.
          if (!name.empty() && name.back() == '*') {
            log::line(id, "system filter: headers remove {}: names are exact, no field is called that", name);
            continue;
          }
          std::erase_if(v.add_headers, [&](const std::string& h) { return field_named(h, name); });
          v.remove_headers.push_back(std::move(name));
        }
        break;
      case ActionKind::kFail:
      case ActionKind::kFreeze:
      case ActionKind::kDefer:
        text = a.value;
        break;
      default:
        break;
    }
  }
  switch (r.outcome) {
    case Outcome::kFail: {
      // "<<for the log>>for the sender", as Exim splits a fail text.
      std::string logged = text, client = text;
      if (text.starts_with("<<")) {
        if (auto end = text.find(">>"); end != std::string::npos) {
          logged = text.substr(2, end - 2);
          client = text.substr(end + 2);
        }
      }
      log::line(id, "rejected by the system filter: {}", filterlang::printing(logged));
      return Verdict::reject(550, "5.7.1", reply_text(client, "Rejected by the system filter"));
    }
    case Outcome::kDefer:
      log::line(id, "deferred by the system filter: {}", filterlang::printing(text));
      return Verdict::tempfail(451, "4.7.1", reply_text(text, "Deferred by the system filter"));
    case Outcome::kFreeze:
      v.action = Action::kQuarantine;
      v.text = text.empty() ? "frozen by the system filter" : "frozen by the system filter: " + filterlang::printing(text);
      break;
    default:
      break;
  }
  if (no_transport) return Verdict::tempfail(451, "4.3.0", "Local error in processing");
  if (delivered.size() > kMaxRecipients) {
    log::line(id, "system filter: {} deliveries, more than {}; message deferred", delivered.size(), kMaxRecipients);
    return Verdict::tempfail(451, "4.3.0", "Local error in processing");
  }
  if (r.outcome == Outcome::kDelivered) {
    if (delivered.empty() && v.action != Action::kQuarantine) {
      Verdict d = Verdict::make(Action::kDiscard, 250, "2.0.0", "seen by the system filter, no deliveries");
      return d;
    }
    if (!delivered.empty()) {
      log::line(id, "system filter: delivered to {} instead of {}", fmt::join(delivered, " "), fmt::join(recipients, " "));
      v.recipients = std::move(delivered);
    }
  } else if (!delivered.empty()) {
    std::vector<std::string> all = recipients;
    for (auto& d : delivered) {
      bool dup = false;
      for (const auto& x : all) dup = dup || directory_key(x) == directory_key(d);
      if (!dup) all.push_back(std::move(d));
    }
    v.recipients = std::move(all);
  }
  for (size_t i = 0; i < r.n.size(); ++i)
    if (r.n[i] != 0) v.variables.emplace_back(fmt::format("sn{}", i), std::to_string(r.n[i]));
  return v;
}

}  // namespace nougat::engine
