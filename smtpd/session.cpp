#include "smtpd/session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <cstring>
#include <ctime>
#include <optional>

#include "engine/charset.hpp"
#include "engine/log.hpp"
#include "engine/maildir.hpp"
#include "smtpd/command.hpp"
#include "smtpd/data_reader.hpp"
#include "smtpd/reply.hpp"
#include "smtpd/sasl.hpp"

namespace nougat::smtpd {
namespace {

using asio::use_awaitable;
using engine::Action;
using engine::Verdict;
using Clock = std::chrono::steady_clock;

std::string rfc5322_date(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S %z", &tm);
  return buf;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// Runs fn() on the worker pool and resumes the coroutine on its own executor.
// The function travels in a shared_ptr captured by the initiation (not as an
// initiation argument): GCC 12 mishandles non-trivial arguments there.
template <typename Fn>
auto on_pool(asio::thread_pool& pool, std::shared_ptr<Fn> fn) {
  using R = decltype((*fn)());
  return asio::async_initiate<decltype(use_awaitable), void(R)>(
      [&pool, fn](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        asio::post(pool, [h, fn]() {
          R r = (*fn)();
          auto ex = asio::get_associated_executor(*h);
          asio::post(ex, [h, r]() mutable { std::move(*h)(r); });
        });
      },
      use_awaitable);
}

// Waits for the group commit of everything written so far.
auto durable(engine::SyncGroup& sync) {
  return asio::async_initiate<decltype(use_awaitable), void(bool)>(
      [&sync](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        sync.request([h](bool ok) {
          auto ex = asio::get_associated_executor(*h);
          asio::post(ex, [h, ok]() mutable { std::move(*h)(ok); });
        });
      },
      use_awaitable);
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket socket, std::shared_ptr<const SessionEnv> env)
      : env_(std::move(env)),
        cfg_(*env_->deps.cfg),
        stream_(std::move(socket), *(env_->tls ? env_->tls : dummy_tls())),
        timer_(stream_.get_executor()) {}

  asio::awaitable<void> run();

 private:
  static asio::ssl::context* dummy_tls() {
    static asio::ssl::context ctx(asio::ssl::context::tls_server);
    return &ctx;
  }

  // ---- I/O ----
  asio::awaitable<bool> fill();  // reads more input; false on EOF/error/timeout
  asio::awaitable<bool> flush();
  asio::awaitable<std::optional<std::string>> read_line();
  void reply(int code, std::string_view enhanced, std::string_view text);
  void reply_raw(std::string_view line) { out_.append(line).append("\r\n"); }
  void reply_verdict(const Verdict& v);
  asio::awaitable<void> watchdog();
  asio::awaitable<void> hang_up(std::string_view line);
  bool stopping() const { return env_->registry && env_->registry->stopping; }
  void say_shutting_down() {  // the 421 of RFC 5321 3.8, queued as a reply
    engine::log::line(sid_, "shutting down: closing {}", peer());
    reply(421, "4.3.2", "Service shutting down, try again later");
  }
  void touch() { deadline_ = Clock::now() + cfg_.limits.idle_timeout; }

  // ---- commands ----
  asio::awaitable<bool> dispatch(const std::string& line);
  void on_ehlo(const Command& c, bool extended);
  void on_mail(const Command& c);
  void on_rcpt(const Command& c);
  asio::awaitable<bool> on_data();
  asio::awaitable<bool> on_bdat(const Command& c);
  asio::awaitable<bool> on_starttls();
  asio::awaitable<bool> tls_handshake();
  asio::awaitable<bool> on_auth(const Command& c);
  asio::awaitable<void> commit_message();
  asio::awaitable<bool> eod_checks();
  void reset_transaction();
  bool auth_offered() const;
  std::string received_header(const std::string& id) const;
  engine::Envelope envelope() const;  // of the current transaction
  std::string protocol() const;
  std::string peer() const { return "H=" + (facts_.helo.empty() ? "" : facts_.helo + " ") + "[" + facts_.client.to_string() + "]"; }
  bool count_error();

  std::shared_ptr<const SessionEnv> env_;
  const engine::Config& cfg_;
  asio::ssl::stream<Socket> stream_;
  asio::steady_timer timer_;
  Clock::time_point deadline_{}, session_end_{};
  bool tls_ = false, closed_ = false, quit_ = false;
  bool writing_ = false;  // a reply is on its way: the watchdog must not write
  bool awaiting_command_ = false;  // read_line() is for the next command (not inside DATA, AUTH, …)
  bool at_command_ = false;        // … and a read for it is waiting (fill())
  bool reading_ = false;           // a read from the client is waiting (fill(), a TLS handshake)
  bool handshaking_ = false;       // a TLS handshake is under way: no plain text may be written
  uint64_t registered_ = 0;  // our entry in env_->registry
  std::string in_;
  size_t in_pos_ = 0;
  std::string out_;
  std::string sid_;

  engine::SessionFacts facts_;
  bool greeted_ = false, esmtp_ = false;
  uint32_t errors_ = 0, commands_ = 0;
  uint32_t auth_failures_ = 0;  // wrong credentials: never forgiven (errors_ is, per message)
  // transaction
  std::optional<MailFrom> mail_;
  engine::MailFacts mail_facts_;
  std::vector<std::string> rcpts_;
  std::unique_ptr<engine::Spool::Writer> writer_;  // BDAT in progress
  std::optional<BdatChecker> bdat_check_;          // its chunks so far
  size_t own_header_ = 0;                          // our Received field, at the start of the spooled data
  bool bdat_failed_ = false;
  std::string bdat_error_;
};

asio::awaitable<bool> Session::fill() {
  if (!co_await flush()) co_return false;
  if (awaiting_command_ && stopping()) {  // the wake came while we were writing: goodbye now
    say_shutting_down();
    co_await flush();
    closed_ = true;
    co_return false;
  }
  if (in_pos_ > 0 && in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > 65536) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  size_t old = in_.size();
  in_.resize(old + 16384);
  boost::system::error_code ec;
  touch();
  at_command_ = awaiting_command_;  // only while this read waits: the watchdog may hang up
  reading_ = true;
  size_t n = tls_ ? co_await stream_.async_read_some(asio::buffer(in_.data() + old, 16384),
                                                     asio::redirect_error(use_awaitable, ec))
                  : co_await stream_.next_layer().async_read_some(
                        asio::buffer(in_.data() + old, 16384), asio::redirect_error(use_awaitable, ec));
  at_command_ = reading_ = false;
  in_.resize(old + (ec ? 0 : n));
  // Hung up meanwhile (shutdown, idle timeout): the client was told 421,
  // so what its read brought must not be acted on — a BDAT LAST with its
  // chunk would otherwise be delivered after "421", and sent again.
  if (ec || closed_) {
    closed_ = true;
    co_return false;
  }
  co_return true;
}

asio::awaitable<bool> Session::flush() {
  if (out_.empty() || closed_) co_return !closed_;
  boost::system::error_code ec;
  touch();
  writing_ = true;
  if (tls_)
    co_await asio::async_write(stream_, asio::buffer(out_), asio::redirect_error(use_awaitable, ec));
  else
    co_await asio::async_write(stream_.next_layer(), asio::buffer(out_),
                               asio::redirect_error(use_awaitable, ec));
  writing_ = false;
  out_.clear();
  if (ec) closed_ = true;
  co_return !ec;
}

// Commands end with CRLF; a bare LF is tolerated here (as Postfix and Exim
// do) because it cannot smuggle anything outside DATA.
asio::awaitable<std::optional<std::string>> Session::read_line() {
  const size_t limit = cfg_.limits.command_length;
  bool too_long = false;
  for (;;) {
    auto nl = in_.find('\n', in_pos_);
    if (nl != std::string::npos) {
      std::string line = in_.substr(in_pos_, nl - in_pos_);
      in_pos_ = nl + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (too_long || line.size() + 2 > limit) {
        reply(500, "5.5.2", "Line too long");
        if (!count_error()) co_return std::nullopt;
        too_long = false;
        continue;
      }
      co_return line;
    }
    if (in_.size() - in_pos_ > limit) {  // drop the excess, remember to refuse
      too_long = true;
      in_.erase(in_pos_);
    }
    if (!co_await fill()) co_return std::nullopt;
  }
}

void Session::reply(int code, std::string_view enhanced, std::string_view text) {
  out_ += format_reply(code, enhanced, text);
}

void Session::reply_verdict(const Verdict& v) {
  reply(v.code, v.enhanced, v.text);
  if (v.code >= 500) count_error();
}

bool Session::count_error() {
  if (++errors_ <= cfg_.limits.errors) return true;
  reply(421, "4.7.0", "Too many errors, closing connection");
  quit_ = true;
  return false;
}

asio::awaitable<void> Session::watchdog() {
  auto self = shared_from_this();
  while (!closed_) {
    auto when = std::min(deadline_, session_end_);
    timer_.expires_at(when);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (closed_) break;
    // Shutting down, and nothing of the client's in hand: goodbye now. (In
    // the middle of a transaction the session finishes it first; run()
    // says goodbye before the next command.)
    if (stopping() && at_command_) {
      engine::log::line(sid_, "shutting down: closing {}", peer());
      co_await hang_up("421 4.3.2 Service shutting down, try again later\r\n");
      break;
    }
    // A timeout ends the session only while it waits on the client — to
    // send (a TLS handshake included), or to take a reply — never while a
    // message is checked or committed: it would be delivered after the
    // client was told 421, and sent again. The session limit also waits
    // for a reply under way (it may be the 250 of a message just
    // delivered); the idle limit, refreshed when a write starts, ends a
    // client that does not take it. Otherwise the time is looked at again
    // shortly.
    auto now = Clock::now();
    const bool idle_over = now >= deadline_ && (reading_ || writing_);
    const bool session_over = now >= session_end_ && reading_;
    if ((now >= deadline_ || now >= session_end_) && !idle_over && !session_over) {
      timer_.expires_after(std::chrono::milliseconds(200));
      co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    if (session_over) {
      engine::log::line(sid_, "SMTP session too long {}", peer());
      co_await hang_up("421 4.4.2 Session too long, closing connection\r\n");
      break;
    }
    if (idle_over) {
      engine::log::line(sid_, "SMTP timeout {}", peer());
      co_await hang_up("421 4.4.2 Idle timeout, closing connection\r\n");
      break;
    }
  }
}

// Says `line` (RFC 5321 4.2.2 / 3.8: why, unless a reply of ours is
// half-sent) and closes the connection; the session's pending read fails.
asio::awaitable<void> Session::hang_up(std::string_view line) {
  auto self = shared_from_this();
  closed_ = true;
  boost::system::error_code ignored, ec;
  if (!tls_ && !writing_ && !handshaking_) {
    // Plain text: one non-blocking write, never a wait.
    stream_.next_layer().non_blocking(true, ignored);
    stream_.next_layer().write_some(asio::buffer(line.data(), line.size()), ignored);
  } else if (tls_ && !writing_ && !handshaking_) {
    // TLS: one record through the stream (a write may run beside the
    // session's pending read; both are on this socket's strand), given
    // at most two seconds before the socket is closed anyway.
    writing_ = true;
    asio::async_write(stream_, asio::buffer(line.data(), line.size()),
                      [self](const boost::system::error_code&, size_t) {
                        boost::system::error_code e;
                        self->stream_.next_layer().shutdown(tcp::socket::shutdown_both, e);
                        self->stream_.next_layer().close(e);
                        self->timer_.cancel();  // said: no need to wait out the two seconds
                      });
    timer_.expires_after(std::chrono::seconds(2));
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  stream_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.next_layer().close(ignored);
}

// The server side of a TLS handshake (port 465, or after STARTTLS): the
// session waits on the client, as in a read, with nothing in hand. False
// (logged, closed) if it failed or the session was hung up on meanwhile.
asio::awaitable<bool> Session::tls_handshake() {
  boost::system::error_code ec;
  touch();
  handshaking_ = reading_ = at_command_ = true;
  co_await stream_.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
  handshaking_ = reading_ = at_command_ = false;
  if (closed_) co_return false;
  if (ec) {
    engine::log::line(sid_, "TLS handshake failed {}: {}", peer(), ec.message());
    closed_ = true;
    co_return false;
  }
  tls_ = facts_.tls = true;
  co_return true;
}

bool Session::auth_offered() const {
  if (cfg_.auth.mechanisms.empty()) return false;
  if (facts_.listener == engine::ListenerKind::kSmtp && !cfg_.auth.on_smtp) return false;
  return tls_ || !cfg_.auth.require_tls;
}

std::string Session::protocol() const {
  // RFC 6531 3.7.3: UTF8SMTP[S][A] for a transaction with SMTPUTF8.
  std::string p = mail_ && mail_->smtputf8 ? "UTF8SMTP" : esmtp_ ? "ESMTP" : "SMTP";
  if (tls_) p += "S";
  if (!facts_.auth_user.empty()) p += "A";
  return p;
}

std::string Session::received_header(const std::string& id) const {
  std::string h = fmt::format("Received: from {} ([{}])\r\n\tby {} (nougat) with {} id {}",
                              facts_.helo.empty() ? "unknown" : facts_.helo,
                              facts_.client.to_string(), cfg_.server.hostname, protocol(), id);
  if (!facts_.auth_user.empty()) h += fmt::format("\r\n\t(authenticated as {})", facts_.auth_user);
  if (rcpts_.size() == 1) h += fmt::format("\r\n\tfor <{}>", rcpts_[0]);
  h += fmt::format("; {}\r\n", rfc5322_date(std::time(nullptr)));
  return h;
}

engine::Envelope Session::envelope() const {
  engine::Envelope env;
  env.sender = mail_->address;
  env.recipients = rcpts_;
  env.received_at = std::time(nullptr);
  env.client_ip = facts_.client.to_string();
  env.helo = facts_.helo;
  env.auth_user = facts_.auth_user;
  env.protocol = protocol();
  env.smtputf8 = mail_->smtputf8;
  return env;
}

void Session::reset_transaction() {
  mail_.reset();
  mail_facts_ = {};
  rcpts_.clear();
  if (writer_) writer_->abort();
  writer_.reset();
  bdat_failed_ = false;
  bdat_error_.clear();
}

asio::awaitable<void> Session::run() {
  auto self = shared_from_this();
  boost::system::error_code ec;
  auto ep = stream_.next_layer().remote_endpoint(ec);
  if (!ec) {
    auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    facts_.client = *engine::parse_ip(a.to_string());
  }
  facts_.listener = env_->kind;
  static std::atomic<uint64_t> counter{0};
  sid_ = fmt::format("S{}", counter.fetch_add(1) + 1);
  touch();
  session_end_ = Clock::now() + cfg_.limits.session_timeout;
  if (env_->registry) {
    // Server::stop() wakes the watchdog, on our strand.
    std::weak_ptr<Session> weak = self;
    registered_ = env_->registry->add([weak, ex = stream_.get_executor()] {
      asio::post(ex, [weak] {
        if (auto s = weak.lock()) s->timer_.cancel();
      });
    });
  }
  struct Unregister {
    Session* s;
    ~Unregister() {
      if (s->registered_) s->env_->registry->remove(s->registered_);
    }
  } unregister{this};
  asio::co_spawn(stream_.get_executor(), watchdog(), asio::detached);

  if (env_->kind == engine::ListenerKind::kSubmissions) {
    bool ok = co_await tls_handshake();
    if (!ok) {
      timer_.cancel();
      co_return;
    }
  }

  Verdict v = env_->deps.checks.on_connect(facts_);
  if (v.action == Action::kReject || v.action == Action::kTempfail || v.action == Action::kDisconnect) {
    reply(v.code ? v.code : 554, v.enhanced, v.text);
    quit_ = true;
  } else {
    reply(220, "", cfg_.server.hostname + " ESMTP nougat");
  }
  while (!quit_ && !closed_) {
    if (stopping()) {  // after the transaction in hand, if any: its reply goes first
      say_shutting_down();
      break;
    }
    awaiting_command_ = true;
    auto line = co_await read_line();
    awaiting_command_ = false;
    if (!line) break;
    if (++commands_ > cfg_.limits.commands) {
      reply(421, "4.7.0", "Too many commands, closing connection");
      break;
    }
    if (!co_await dispatch(*line)) break;
  }
  co_await flush();
  reset_transaction();
  closed_ = true;
  timer_.cancel();
  if (tls_) {
    // Best effort close_notify; no waiting for the peer's.
    stream_.next_layer().shutdown(tcp::socket::shutdown_both, ec);
  }
  stream_.next_layer().close(ec);
}

asio::awaitable<bool> Session::dispatch(const std::string& line) {
  auto cmd = parse_command(line);
  if (!cmd) {
    reply_raw(cmd.error().text);
    co_return count_error();
  }
  const Command& c = *cmd;
  if (writer_ && c.verb != Verb::kBdat && c.verb != Verb::kRset && c.verb != Verb::kQuit &&
      c.verb != Verb::kNoop) {
    // RFC 3030: only BDAT may follow BDAT (RSET/QUIT/NOOP aside).
    reply(503, "5.5.1", "Bad sequence of commands: BDAT in progress");
    reset_transaction();
    co_return count_error();
  }
  switch (c.verb) {
    case Verb::kHelo: on_ehlo(c, false); break;
    case Verb::kEhlo: on_ehlo(c, true); break;
    case Verb::kMail: on_mail(c); break;
    case Verb::kRcpt: on_rcpt(c); break;
    case Verb::kData: co_return co_await on_data();
    case Verb::kBdat: co_return co_await on_bdat(c);
    case Verb::kRset:
      reset_transaction();
      reply(250, "2.0.0", "OK");
      break;
    case Verb::kNoop: reply(250, "2.0.0", "OK"); break;
    case Verb::kQuit:
      reply(221, "2.0.0", cfg_.server.hostname + " closing connection");
      quit_ = true;
      co_return false;
    case Verb::kVrfy:
      reply(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
      break;
    case Verb::kExpn: reply(502, "5.5.1", "EXPN not available"); co_return count_error();
    case Verb::kHelp: reply(214, "2.0.0", "See RFC 5321 - nougat"); break;
    case Verb::kStarttls: co_return co_await on_starttls();
    case Verb::kAuth: co_return co_await on_auth(c);
    case Verb::kUnknown:
      reply(500, "5.5.2", "Command unrecognized");
      co_return count_error();
  }
  co_return !quit_;
}

namespace {

// Whether a MAIL or RCPT argument ("FROM:<…> …") holds an address with bytes
// above ASCII and no SMTPUTF8 parameter after it (RFC 6531 3.5: 553 5.6.7).
bool needs_smtputf8(std::string_view arg) {
  size_t lt = arg.find('<'), gt = arg.find('>', lt == std::string_view::npos ? 0 : lt);
  if (lt == std::string_view::npos || gt == std::string_view::npos) return false;
  std::string_view address = arg.substr(lt, gt - lt);
  if (std::none_of(address.begin(), address.end(), [](char ch) { return static_cast<unsigned char>(ch) >= 0x80; }))
    return false;
  std::string params(arg.substr(gt + 1));
  for (char& ch : params) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return params.find(" SMTPUTF8") == std::string::npos;
}

// The EHLO/HELO name as our Received field and $sender_helo_name carry it:
// what would end or open a comment, a quoted string or an address in a
// header — "()<>\";@" — becomes '?', as Postfix neuters it, and so does
// every byte of a name that is not valid UTF-8. A client cannot write a
// trace line of its own ("EHLO x)(authenticated-as-ceo").
std::string neutered_helo(std::string_view name) {
  const bool utf8 = engine::is_valid_utf8(name);
  std::string out;
  out.reserve(name.size());
  for (unsigned char ch : name)
    out += (std::strchr("()<>\\\";@", ch) && ch) || (ch >= 0x80 && !utf8) ? '?' : char(ch);
  return out;
}

}  // namespace

void Session::on_ehlo(const Command& c, bool extended) {
  std::string name(c.arg);
  bool bad = name.empty();
  for (unsigned char ch : name) bad |= ch <= ' ' || ch == 0x7f;
  if (bad) {
    reply(501, "5.5.4", extended ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
    count_error();
    return;
  }
  reset_transaction();
  facts_.helo = neutered_helo(name);
  esmtp_ = extended;
  Verdict v = env_->deps.checks.on_helo(facts_);
  if (v.action != Action::kContinue && v.action != Action::kAccept) {
    facts_.helo.clear();
    reply_verdict(v);
    if (v.action == Action::kDisconnect) quit_ = true;
    return;
  }
  greeted_ = true;
  if (!extended) {
    reply(250, "", cfg_.server.hostname);
    return;
  }
  std::vector<std::string> kw = {"PIPELINING", fmt::format("SIZE {}", cfg_.limits.message_size),
                                 "8BITMIME",   "SMTPUTF8",
                                 "ENHANCEDSTATUSCODES", "CHUNKING"};
  if (!tls_ && env_->tls) kw.push_back("STARTTLS");
  if (auth_offered() && facts_.auth_user.empty()) {
    std::string a = "AUTH";
    for (const auto& m : cfg_.auth.mechanisms) a += " " + m;
    kw.push_back(a);
  }
  kw.push_back("HELP");
  out_ += ehlo_reply(cfg_.server.hostname, fmt::format("Hello {} [{}]", name, facts_.client.to_string()), kw);
}

void Session::on_mail(const Command& c) {
  if (!greeted_) {
    reply(503, "5.5.1", "Bad sequence of commands: send EHLO first");
    count_error();
    return;
  }
  if (mail_) {
    reply(503, "5.5.1", "Bad sequence of commands: nested MAIL command");
    count_error();
    return;
  }
  auto m = parse_mail_from(c.arg);
  if (!m) {
    if (needs_smtputf8(c.arg))
      reply(553, "5.6.7", "Non-ASCII address needs SMTPUTF8 (RFC 6531 3.5)");
    else
      reply_raw(m.error().text);
    count_error();
    return;
  }
  if (m->smtputf8 && !esmtp_) {
    reply(555, "5.5.4", "SMTPUTF8 requires EHLO");
    count_error();
    return;
  }
  // Parameters of extensions not offered (RFC 5321 4.1.1.11: 555): DSN is
  // not (no bounces yet, so NOTIFY could not be kept), AUTH= only where
  // AUTH was offered, as Postfix answers.
  if (!m->ret.empty() || !m->envid.empty() || (!m->auth.empty() && !auth_offered())) {
    reply(555, "5.5.4", !m->auth.empty() && m->ret.empty() && m->envid.empty()
                            ? "AUTH= not supported here (AUTH is not offered)"
                            : "RET= and ENVID= not supported (DSN is not offered)");
    count_error();
    return;
  }
  // Not offered: binary content would break DATA's and BDAT's line rules.
  if (m->body == MailFrom::kBinarymime) {
    reply(555, "5.5.4", "BODY=BINARYMIME not supported");
    count_error();
    return;
  }
  mail_facts_.sender = m->address;
  mail_facts_.declared_size = m->size.value_or(0);
  Verdict v = env_->deps.checks.on_mail(facts_, mail_facts_);
  if (v.action != Action::kContinue && v.action != Action::kAccept) {
    mail_facts_ = {};
    reply_verdict(v);
    if (v.action == Action::kDisconnect) quit_ = true;
    return;
  }
  mail_ = std::move(*m);
  bdat_failed_ = false;  // a refused BDAT before this MAIL belongs to no transaction
  bdat_error_.clear();
  reply(250, "2.1.0", "OK");
}

void Session::on_rcpt(const Command& c) {
  if (!mail_) {
    reply(503, "5.5.1", "Bad sequence of commands: need MAIL before RCPT");
    count_error();
    return;
  }
  auto r = parse_rcpt_to(c.arg, mail_->smtputf8);
  if (!r) {
    if (!mail_->smtputf8 && needs_smtputf8(c.arg))
      reply(553, "5.6.7", "Non-ASCII address needs SMTPUTF8 (RFC 6531 3.5)");
    else
      reply_raw(r.error().text);
    count_error();
    return;
  }
  if (!r->notify.empty() || !r->orcpt.empty()) {
    reply(555, "5.5.4", "NOTIFY= and ORCPT= not supported (DSN is not offered)");
    count_error();
    return;
  }
  if (rcpts_.size() >= cfg_.limits.recipients) {
    reply(452, "4.5.3", "Too many recipients");
    return;
  }
  engine::RcptFacts rf;
  rf.address = r->address;
  auto at = rf.address.rfind('@');
  if (at == std::string::npos) {  // <postmaster>
    rf.local_part = rf.address;
    rf.domain = cfg_.server.hostname;
    rf.address = rf.local_part + "@" + rf.domain;
  } else {
    rf.local_part = rf.address.substr(0, at);
    rf.domain = lower(rf.address.substr(at + 1));
    rf.address = rf.local_part + "@" + rf.domain;
  }
  Verdict v = env_->deps.checks.on_rcpt(facts_, mail_facts_, rf);
  if (v.action != Action::kContinue && v.action != Action::kAccept) {
    engine::log::line(sid_, "** rejected RCPT <{}> {}: {} {} {}", rf.address, peer(), v.code, v.enhanced, v.text);
    reply_verdict(v);
    if (v.action == Action::kDisconnect) quit_ = true;
    return;
  }
  // The same mailbox twice gets one copy (local parts of local domains are
  // case-insensitive, as the user directory treats them).
  auto same = [&](const std::string& a) {
    return cfg_.is_local_domain(rf.domain) ? engine::directory_key(a) == engine::directory_key(rf.address)
                                           : a == rf.address;
  };
  if (std::none_of(rcpts_.begin(), rcpts_.end(), same)) rcpts_.push_back(rf.address);
  reply(250, "2.1.5", "OK");
}

asio::awaitable<bool> Session::on_data() {
  if (!mail_) {
    reply(503, "5.5.1", "Bad sequence of commands: need MAIL");
    co_return count_error();
  }
  if (rcpts_.empty()) {
    reply(554, "5.5.1", "No valid recipients");
    co_return count_error();
  }
  Verdict v = env_->deps.checks.on_data(facts_, mail_facts_);
  if (v.action != Action::kContinue && v.action != Action::kAccept) {
    reply_verdict(v);
    reset_transaction();
    co_return v.action != Action::kDisconnect;
  }
  auto& spool = env_->deps.spool;
  std::string id = spool.new_id();
  auto w = spool.create(id, envelope());
  if (!w) {
    engine::log::line(sid_, "spool error: {}", w.error().detail);
    reply(451, "4.3.0", "Local error in processing");
    reset_transaction();
    co_return true;
  }
  writer_ = std::move(*w);
  std::string received = received_header(id);
  own_header_ = received.size();
  bool write_failed = !writer_->append(received);
  reply(354, "", "End data with <CR><LF>.<CR><LF>");
  DataReader reader({cfg_.limits.message_size, cfg_.limits.line_length - 2});
  std::string chunk;
  while (!reader.done()) {
    if (in_pos_ == in_.size() && !co_await fill()) {
      // Client vanished mid-DATA: nothing was acknowledged, nothing is kept.
      engine::log::line(sid_, "connection lost during DATA {}", peer());
      reset_transaction();
      co_return false;
    }
    chunk.clear();
    in_pos_ += reader.feed(std::string_view(in_).substr(in_pos_), chunk);
    if (!write_failed && !chunk.empty() && reader.problem() == DataReader::Problem::kNone)
      write_failed = !writer_->append(chunk);
  }
  if (auto p = reader.problem(); p != DataReader::Problem::kNone) {
    engine::log::line(sid_, "rejected DATA from <{}> {}: {}", mail_->address, peer(), problem_reply(p));
    reply_raw(problem_reply(p));
    reset_transaction();
    co_return count_error();
  }
  if (write_failed) {
    engine::log::line(sid_, "spool write failed for <{}>", mail_->address);
    reply(452, "4.3.1", "Insufficient system storage");
    reset_transaction();
    co_return true;
  }
  if (co_await eod_checks()) co_await commit_message();
  co_return !closed_ && !quit_;
}

// Runs the end-of-DATA checks (virus scan, spam classification, …) on the
// worker pool. True: commit the message (with the checks' header edits and
// folder); false: the verdict was answered and the transaction is over.
asio::awaitable<bool> Session::eod_checks() {
  const engine::CheckChain& chain = env_->deps.checks;
  if (!chain.has_eod()) co_return true;
  auto data = writer_->contents();
  if (!data) {
    engine::log::line(writer_->id(), "cannot read the message back: {}", data.error().detail);
    reply(451, "4.3.0", "Local error in processing");
    reset_transaction();
    co_return false;
  }
  auto run = std::make_shared<std::function<Verdict()>>(
      [&chain, facts = facts_, mail = mail_facts_, rcpts = rcpts_, d = *data, id = writer_->id(), own = own_header_] {
        // An exception would end the pool's thread and the process with it:
        // a check that throws is a check that failed (451).
        try {
          return chain.on_eod(facts, mail, engine::MessageFacts{id, *d, rcpts, nullptr, own});
        } catch (const std::exception& e) {
          engine::log::line(id, "end-of-data checks failed: {}", e.what());
        } catch (...) {
          engine::log::line(id, "end-of-data checks failed");
        }
        return Verdict::tempfail(451, "4.3.0", "Local error in processing");
      });
  Verdict v = co_await on_pool(env_->deps.workers, run);
  const std::string id = writer_->id();
  switch (v.action) {
    case Action::kContinue:
    case Action::kAccept:
    case Action::kQuarantine: {
      auto& env = writer_->envelope();
      env.added_headers = std::move(v.add_headers);
      if (!v.folder.empty() && engine::valid_folder_name(v.folder)) env.folder = v.folder;
      // Filter variables go to the spool as records: a value with a line break is dropped.
      for (auto& var : v.variables)
        if (var.second.find_first_of("\r\n") == std::string::npos)
          env.variables.push_back(std::move(var));
      env.removed_headers = std::move(v.remove_headers);
      if (v.recipients) env.recipients = std::move(*v.recipients);
      env.quarantined = v.action == Action::kQuarantine;
      if (env.quarantined) {
        env.held_reason = v.text;  // kept with the message for `nougat queue list`
        engine::log::line(id, "quarantined: {}", v.text);
      }
      co_return true;
    }
    case Action::kDiscard:
      engine::log::line(id, "discarded at end of DATA from <{}> {}: {}", mail_->address, peer(), v.text);
      reply(250, "2.0.0", "OK id=" + id);
      reset_transaction();
      co_return false;
    case Action::kReject:
    case Action::kTempfail:
    case Action::kDisconnect:
      engine::log::line(id, "rejected after DATA from <{}> {}: {} {} {}", mail_->address, peer(), v.code,
                        v.enhanced, v.text);
      reply_verdict(v);
      if (v.action == Action::kDisconnect) quit_ = true;
      reset_transaction();
      co_return false;
  }
  co_return false;
}

// Hands the complete message to the engine and waits, one shared sync
// round at a time, until the engine says it is durable; only then 250.
asio::awaitable<void> Session::commit_message() {
  auto commit = env_->deps.intake.begin(std::move(writer_));
  bool ok = true;
  for (;;) {
    auto step = commit->advance(ok);
    if (step == engine::Commit::Step::kNeedSync) {
      ok = co_await durable(env_->deps.sync);
      continue;
    }
    if (step == engine::Commit::Step::kAccepted) {
      reply(250, "2.0.0", "OK id=" + commit->id());
      // limits.errors counts errors made without delivering mail, as
      // Postfix's smtpd_hard_error_limit: a relay whose batch has some
      // refused recipients or viruses is not a broken client. Password
      // guesses stay counted: one message must not buy twenty more.
      errors_ = auth_failures_;
    } else {
      reply_raw(commit->failure());
    }
    break;
  }
  reset_transaction();
}

asio::awaitable<bool> Session::on_bdat(const Command& c) {
  bool last = false;
  auto size = parse_bdat(c.arg, last);
  if (!size) {
    reply_raw(size.error().text);
    reset_transaction();
    co_return count_error();  // the chunk size is unknown: the stream cannot be trusted
  }
  // Read the chunk whatever happens, to stay in sync with the client.
  uint64_t remaining = *size;
  bool fail_now = false;
  std::string why;
  if (!bdat_failed_ && !writer_) {
    if (!mail_) why = "503 5.5.1 Bad sequence of commands: need MAIL";
    else if (rcpts_.empty()) why = "554 5.5.1 No valid recipients";
    else {
      std::string id = env_->deps.spool.new_id();
      auto w = env_->deps.spool.create(id, envelope());
      if (!w) why = "451 4.3.0 Local error in processing";
      else {
        writer_ = std::move(*w);
        bdat_check_.emplace(DataReader::Limits{cfg_.limits.message_size, cfg_.limits.line_length - 2});
        std::string received = received_header(id);
        own_header_ = received.size();
        if (!writer_->append(received)) why = "452 4.3.1 Insufficient system storage";
      }
    }
    if (!why.empty()) fail_now = true;
  }
  while (remaining > 0) {
    if (in_pos_ == in_.size() && !co_await fill()) {
      reset_transaction();
      co_return false;
    }
    size_t take = static_cast<size_t>(std::min<uint64_t>(remaining, in_.size() - in_pos_));
    std::string_view piece(in_.data() + in_pos_, take);
    in_pos_ += take;
    remaining -= take;
    if (writer_ && !fail_now) {
      auto problem = bdat_check_->check(piece);
      if (problem == DataReader::Problem::kTooBig) {
        why = fmt::format("552 5.3.4 Message size exceeds fixed limit of {} bytes", cfg_.limits.message_size);
        fail_now = true;
      } else if (problem != DataReader::Problem::kNone) {
        why = std::string(problem_reply(problem));
        fail_now = true;
      } else if (!writer_->append(piece)) {
        why = "452 4.3.1 Insufficient system storage";
        fail_now = true;
      }
    }
  }
  // At LAST: a CR at the very end (also "BDAT 0 LAST" after one) is bare.
  if (writer_ && !fail_now && last) {
    if (auto problem = bdat_check_->finish(); problem != DataReader::Problem::kNone) {
      why = std::string(problem_reply(problem));
      fail_now = true;
    }
  }
  if (fail_now || bdat_failed_) {
    if (!why.empty()) {
      bdat_error_ = why;
      if (mail_) engine::log::line(sid_, "rejected BDAT from <{}> {}: {}", mail_->address, peer(), why);
    }
    if (writer_) writer_->abort();
    writer_.reset();
    bdat_failed_ = !last;  // keep refusing the rest of this message's chunks
    reply_raw(bdat_error_.empty() ? "554 5.5.1 Transaction failed" : bdat_error_);
    if (last) {
      mail_.reset();
      rcpts_.clear();
      bdat_error_.clear();
    }
    co_return count_error();
  }
  if (!last) {
    reply(250, "2.0.0", fmt::format("{} octets received", *size));
    co_return true;
  }
  if (co_await eod_checks()) co_await commit_message();
  co_return !closed_ && !quit_;
}

asio::awaitable<bool> Session::on_starttls() {
  if (tls_ || !env_->tls) {
    reply(tls_ ? 503 : 454, tls_ ? "5.5.1" : "4.7.0", tls_ ? "TLS already active" : "TLS not available");
    co_return true;
  }
  reply(220, "2.0.0", "Ready to start TLS");
  if (!co_await flush()) co_return false;
  // Anything pipelined after STARTTLS was sent in clear: discard it (CVE-2011-0411).
  in_.clear();
  in_pos_ = 0;
  bool ok = co_await tls_handshake();
  if (!ok) co_return false;
  // RFC 3207: forget everything learned before TLS.
  reset_transaction();
  greeted_ = false;
  facts_.helo.clear();
  co_return true;
}

asio::awaitable<bool> Session::on_auth(const Command& c) {
  if (!greeted_ || !esmtp_) {
    reply(503, "5.5.1", "Bad sequence of commands: send EHLO first");
    co_return count_error();
  }
  if (!facts_.auth_user.empty()) {
    reply(503, "5.5.1", "Already authenticated");
    co_return count_error();
  }
  if (mail_) {
    reply(503, "5.5.1", "AUTH not permitted during a mail transaction");
    co_return count_error();
  }
  if (!auth_offered()) {
    if (!tls_ && cfg_.auth.require_tls)
      reply(538, "5.7.11", "Encryption required for requested authentication mechanism");
    else
      reply(503, "5.5.1", "AUTH not available");
    co_return count_error();
  }
  std::string_view arg = c.arg;
  auto sp = arg.find(' ');
  std::string mech = std::string(arg.substr(0, sp));
  for (auto& ch : mech) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::string_view initial = sp == std::string_view::npos ? std::string_view{} : arg.substr(sp + 1);
  bool enabled = false;
  for (const auto& m : cfg_.auth.mechanisms) enabled |= m == mech;
  if (!enabled) {
    reply(504, "5.5.4", "Unrecognized authentication type");
    co_return count_error();
  }
  Credentials creds;
  if (mech == "PLAIN") {
    std::string resp(initial);
    if (resp.empty()) {
      reply_raw("334 ");
      awaiting_command_ = true;  // no transaction in hand: a shutdown may say goodbye here
      auto line = co_await read_line();
      awaiting_command_ = false;
      if (!line) co_return false;
      resp = *line;
    }
    if (resp == "*") {
      reply(501, "5.7.0", "Authentication cancelled");
      co_return count_error();
    }
    auto p = parse_plain(resp == "=" ? "" : resp);
    if (!p) {
      reply_raw(p.error().text);
      co_return count_error();
    }
    creds = *p;
  } else {  // LOGIN
    LoginExchange ex;
    if (!initial.empty()) {
      if (auto st = ex.on_response(initial); !st) {
        reply_raw(st.error().text);
        co_return count_error();
      }
    }
    while (!ex.done()) {
      reply_raw(ex.prompt());
      awaiting_command_ = true;  // as above
      auto line = co_await read_line();
      awaiting_command_ = false;
      if (!line) co_return false;
      if (auto st = ex.on_response(*line); !st) {
        reply_raw(st.error().text);
        co_return count_error();
      }
    }
    creds = ex.credentials();
  }
  if (!creds.authzid.empty() && creds.authzid != creds.authcid) {
    reply(535, "5.7.8", "Authentication credentials invalid");
    co_return count_error();
  }
  const engine::Directory& dir = env_->deps.directory;
  std::string user = creds.authcid;
  enum Outcome : int { kFailed, kOk, kBroken };
  auto check = std::make_shared<std::function<int()>>(
      [&dir, user, pass = creds.password, sid = sid_]() -> int {
        try {
          return dir.authenticate(user, pass) ? kOk : kFailed;
        } catch (const std::exception& e) {  // see eod_checks(): never out of the pool
          engine::log::line(sid, "AUTH check failed: {}", e.what());
          return kBroken;
        }
      });
  const int outcome = co_await on_pool(env_->deps.auth_workers, check);
  if (outcome == kBroken) {  // our failure, not the client's (RFC 4954 6)
    reply(454, "4.7.0", "Temporary authentication failure");
    co_return true;
  }
  if (outcome != kOk) {
    engine::log::line(sid_, "AUTH {} failed for {} {}", mech, user, peer());
    reply(535, "5.7.8", "Authentication credentials invalid");
    ++auth_failures_;
    co_return count_error();
  }
  facts_.auth_user = engine::directory_key(user);
  engine::log::line(sid_, "AUTH {} succeeded for {} {}", mech, facts_.auth_user, peer());
  reply(235, "2.7.0", "Authentication successful");
  co_return true;
}

}  // namespace

asio::awaitable<void> run_session(Socket socket, std::shared_ptr<const SessionEnv> env) {
  auto s = std::make_shared<Session>(std::move(socket), std::move(env));
  try {
    co_await s->run();
  } catch (const std::exception& e) {
    engine::log::line("", "SMTP session ended by exception: {}", e.what());
  }
}

}  // namespace nougat::smtpd
