// `nougat serve`: loads the configuration, prepares the data directory,
// recovers the spool, starts delivery and the listeners, and runs until
// SIGINT/SIGTERM. Each component reports its own start-up problem; serve
// exits 1 with that message rather than running half-configured.
// Also runs the Junk trainer (engine/junk_trainer.hpp), whose training is
// done by this same binary as a child `nougat bayes train`.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <signal.h>

#include <atomic>
#include <csignal>
#include <functional>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "engine/checks.hpp"
#include "engine/delivery.hpp"
#include "engine/intake.hpp"
#include "engine/child_process.hpp"
#include "engine/junk_trainer.hpp"
#include "engine/publish_log.hpp"
#include "engine/log.hpp"
#include "engine/passwd_file.hpp"
#include "engine/spool.hpp"
#include "engine/system_filter.hpp"
#include "engine/spam_check.hpp"  // [bayes]
#include "engine/user_spam.hpp"   // [bayes]
#include "engine/sync.hpp"
#include "engine/tls_cert.hpp"
#include "engine/virus_check.hpp"
#include "smtpd/server.hpp"

namespace nougat::cli {

namespace asio = boost::asio;

namespace {

// The Junk trainer's TrainFn: `nougat bayes train --user A (--spam|--ham)
// [--unlearn] -- FILE…` run as /proc/self/exe (this very binary, even if the
// file was replaced since), with the configuration sources serve was given
// — so it finds the same store and tokenizes the same way — and spam.store
// and spam.bigrams pinned to what this process uses. A separate process
// because LMDB allows one handle per environment and process, and this one
// keeps the user's store open read-only (engine/user_spam.hpp). Its output
// stays out of the log except for the last line of a failure.
engine::JunkTrainer::TrainFn junk_train_child(const Args& args, const engine::Config& cfg) {
  std::vector<std::string> base{"/proc/self/exe", "bayes", "train"};
  auto src = config_sources(args);
  std::error_code ec;
  if (!src.file.empty()) base.insert(base.end(), {"--config", std::filesystem::absolute(src.file, ec).string()});
  if (!src.data_dir.empty()) base.insert(base.end(), {"--data", std::filesystem::absolute(src.data_dir, ec).string()});
  for (const auto& o : src.overrides) base.insert(base.end(), {"--set", o});
  base.insert(base.end(), {"--set", "spam.store=" + cfg.spam.store.string(), "--set",
                           std::string("spam.bigrams=") + (cfg.spam.bigrams ? "true" : "false")});
  return [base](const engine::JunkTrainer::Batch& b, const std::atomic<bool>& stop) -> Status {
    using Op = engine::TrainOp;
    auto argv = base;
    bool spam = b.op == Op::kLearnSpam || b.op == Op::kUnlearnSpam;
    argv.insert(argv.end(), {"--user", b.address, spam ? "--spam" : "--ham"});
    if (b.op == Op::kUnlearnSpam || b.op == Op::kUnlearnHam) argv.push_back("--unlearn");
    argv.push_back("--");
    for (const auto& f : b.files) argv.push_back(f.string());
    auto r = engine::run_child(argv, stop, std::chrono::minutes(10));
    if (!r) return r.error();
    if (!r->ok()) return make_error("nougat bayes train: " + r->describe());
    // "…; 2 files not mail, left out" on its summary line: not learnt.
    if (auto at = r->output.find(" not mail, left out"); at != std::string::npos) {
      size_t end = r->output.rfind(' ', at - 1);  // before "file"/"files"
      size_t start = end == std::string::npos ? end : r->output.rfind(' ', end - 1);
      if (start != std::string::npos) b.not_mail = std::strtoul(r->output.c_str() + start + 1, nullptr, 10);
    }
    return Ok{};
  };
}

// A SIGHUP before the reload handler is in place (loading the official
// signatures takes a while) would end the process: it is noted instead, and
// answered with one reload once the handler is there.
std::atomic<bool> early_hup{false};  // lock-free: async-signal-safe, and read by another thread
static_assert(std::atomic<bool>::is_always_lock_free);
extern "C" void note_early_hup(int) { early_hup.store(true, std::memory_order_relaxed); }

// Once the log is open, why the server does not start goes there as well as
// to stderr: an administrator reads the log file.
int cannot_start(const std::string& why) {
  engine::log::line("", "cannot start: {}", why);
  return 1;
}

}  // namespace

int cmd_serve(int argc, char** argv, int first) {
  struct sigaction hup_early {};
  hup_early.sa_handler = note_early_hup;
  hup_early.sa_flags = SA_RESTART;  // a start-up read or write is not cut short by it
  sigemptyset(&hup_early.sa_mask);
  ::sigaction(SIGHUP, &hup_early, nullptr);
  auto args = parse_args(argc, argv, first, {}, {"foreground"});
  if (!args) {
    std::cerr << "nougat serve: " << args.error().text << "\n";
    return 2;
  }
  auto cfg = load_config_or_report(*args);
  if (!cfg) return 1;
  const auto& data = cfg->server.data_dir;
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  if (ec) {
    std::cerr << "nougat serve: cannot create data directory " << data << ": " << ec.message() << "\n";
    return 1;
  }
  if (!engine::log::open(cfg->server.log_file)) {
    std::cerr << "nougat serve: cannot open log file " << cfg->server.log_file << "\n";
    return 1;
  }
  bool created = false;
  if (auto st = engine::ensure_certificate(cfg->tls.cert, cfg->tls.key, cfg->server.hostname, &created); !st)
    engine::log::line("", "TLS certificate: {}", st.error().text);
  else if (created)
    engine::log::line("", "created a self-signed TLS certificate in {}", cfg->tls.cert.parent_path().string());

  engine::Spool spool(data / "spool");
  if (auto st = spool.open(); !st) return cannot_start(st.error().text + ": " + st.error().detail);
  // Checked on every lookup (one stat): `nougat user add` takes effect at once.
  engine::PasswdFileDirectory directory(data / "users", data, std::chrono::milliseconds(0));
  // Lines of the users file that name no usable user: said once, at start
  // (`nougat user list` says them whenever asked).
  for (auto p : directory.problems()) {
    for (auto& c : p)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';  // the file's bytes, not the terminal's
    engine::log::line("", "users file: {}", p);
  }
  engine::SyncGroup sync(spool.dir());
  auto checks = engine::default_chain(cfg, directory);
  // Antivirus: signatures load (and compile) once, here; no signatures, no
  // start. It runs first: a virus is answered as a virus, whatever else.
  auto antivirus = engine::make_antivirus(*cfg);
  if (!antivirus)
    return cannot_start("antivirus: " + antivirus.error().text +
                        (antivirus.error().detail.empty() ? "" : " (" + antivirus.error().detail + ")") +
                        "; set antivirus.signatures to a ClamAV database directory, or antivirus.engine = \"off\"");
  for (const auto& w : cfg->warnings()) engine::log::line("", "config: warning: {}", w);
  if (*antivirus) {
    engine::log::line("", "antivirus: {}", (*antivirus)->describe());
    if (auto st = (*antivirus)->ready(); !st)
      engine::log::line("", "antivirus: warning: {}{}; messages get 451 until it answers", st.error().text,
                        st.error().detail.empty() ? "" : " (" + st.error().detail + ")");
    checks.add(std::make_unique<engine::VirusCheck>(*antivirus, cfg->antivirus), /*eod=*/true);
  }
  // One global Bayes store, read by the end-of-DATA check and, under each
  // recipient's own store, by the per-user classification at delivery. A
  // store that cannot be opened stops the start, as missing signatures do:
  // running on would pass every message unclassified, the sender's own
  // X-Spam fields included.
  std::shared_ptr<const engine::PersonalSpam> personal_spam;  // [bayes]
  auto store = engine::open_spam_store(*cfg);                 // [bayes]
  if (!store)
    return cannot_start("spam: " + store.error().text + ": " + store.error().detail + "; fix or remove " +
                        cfg->spam.store.string() + ", or set spam.enabled = false");
  if (*store) {
    personal_spam = std::make_shared<engine::PersonalSpam>(*store, cfg->spam);
    checks.add(std::make_unique<engine::SpamCheck>(*store, cfg->spam, personal_spam), /*eod=*/true);
  }
  engine::Delivery delivery(cfg, spool, directory, sync, personal_spam);
  // The system filter runs last: it sees what the scanners found.
  if (!cfg->filter.system_filter.empty()) {
    auto filter = engine::SystemFilter::open(cfg->filter.system_filter, cfg->server.hostname);
    if (!filter) return cannot_start(filter.error().text);
    engine::log::line("", "system filter: {}", cfg->filter.system_filter.string());
    checks.add(std::move(*filter), /*eod=*/true);
  }

  unsigned threads = cfg->server.threads ? cfg->server.threads : std::max(1u, std::thread::hardware_concurrency());
  asio::io_context io(static_cast<int>(threads));
  // End-of-DATA checks: libclamav and Bayes keep a core busy each; a clamd
  // scan mostly waits on its socket (up to its timeout when clamd hangs),
  // so more of them may wait at once. Logins have a pool of their own.
  unsigned check_threads = cfg->antivirus.engine == "clamd" ? std::max(16u, 4 * threads) : std::max(2u, threads);
  asio::thread_pool workers(check_threads);
  asio::thread_pool auth_workers(std::max(2u, threads));
  engine::PublishLog publish_log(spool.dir() / "publish");
  if (size_t n = publish_log.recover(sync)) engine::log::line("", "put {} acknowledged copies in place after a crash", n);
  engine::Intake intake(cfg, spool, delivery, directory, publish_log, sync);
  smtpd::Server smtp({cfg, spool, intake, directory, sync, checks, workers, auth_workers});
  if (auto st = smtp.start(io); !st) return cannot_start(st.error().text);
  // Users train their own store by moving mail into or out of Maildir/.Junk.
  std::unique_ptr<engine::JunkTrainer> junk_trainer;
  if (personal_spam && engine::JunkTrainer::wanted(cfg->spam)) {
    junk_trainer = std::make_unique<engine::JunkTrainer>(cfg->spam, directory, junk_train_child(*args, *cfg));
    junk_trainer->start();
  }
  size_t recovered = delivery.recover();
  if (recovered) engine::log::line("", "recovered {} queued messages from the spool", recovered);
  delivery.start(1);

  // SIGHUP: reload the virus signatures in the engine's own thread;
  // connections and scans go on meanwhile.
  asio::signal_set hup(io, SIGHUP);
  if (early_hup.load(std::memory_order_relaxed) && *antivirus) (*antivirus)->request_reload();
  // SIGTERM/SIGINT: stop accepting; a session waiting on its client between
  // commands (or at an AUTH prompt, or in a TLS handshake) gets 421 at
  // once; one receiving DATA or a BDAT chunk finishes it (its reply is
  // sent, then 421) — for at most kShutdownGrace. A second signal ends the
  // process at once (the default action is back; every acknowledged
  // message is durable, as for any crash).
  constexpr auto kShutdownGrace = std::chrono::seconds(10);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer grace(io);
  bool scans_cancelled = false;
  std::function<void(std::chrono::steady_clock::time_point)> wind_down = [&](auto until) {
    const auto now = std::chrono::steady_clock::now();
    if (smtp.sessions() && now >= until && cfg->antivirus.engine == "clamd" && *antivirus && !scans_cancelled) {
      // A scan waiting on a clamd that does not answer would hold its
      // session, and the joins below, for antivirus.timeout: it fails now
      // (451; the message was never acknowledged), and its session gets a
      // moment to say so.
      scans_cancelled = true;
      (*antivirus)->cancel();
      until = now + std::chrono::seconds(1);
    }
    if (smtp.sessions() == 0 || now >= until) {
      if (smtp.sessions()) engine::log::line("", "shutting down: {} sessions still busy, closed", smtp.sessions());
      signals.cancel();
      io.stop();
      return;
    }
    grace.expires_after(std::chrono::milliseconds(20));
    grace.async_wait([&, until](const boost::system::error_code& ec) {
      if (!ec) wind_down(until);
    });
  };
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    engine::log::line("", "signal {} received, shutting down", sig);
    smtp.stop();
    if (junk_trainer) junk_trainer->request_stop();  // a batch in progress is retried next time
    hup.cancel();
    signals.clear();
    wind_down(std::chrono::steady_clock::now() + kShutdownGrace);
  });
  std::function<void()> on_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (*antivirus) (*antivirus)->request_reload();  // in the engine's own thread
      on_hup();
    });
  };
  on_hup();
  std::signal(SIGPIPE, SIG_IGN);
  engine::log::line("", "nougat ready: data {} host {}", data.string(), cfg->server.hostname);

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  // The joins below may wait for a scan in progress (clamd's are cancelled
  // above; a libclamav scan runs to its end): a SIGTERM ends the process at
  // once meanwhile; a SIGHUP (logrotate) is ignored, not fatal.
  signals.clear();
  std::signal(SIGHUP, SIG_IGN);  // first: asio's clear() would put the default (fatal) action back
  hup.clear();
  if (junk_trainer) junk_trainer->stop();
  delivery.stop();
  workers.join();
  auth_workers.join();
  // Commits in flight post their answers to `io`, which goes before `sync`.
  sync.drain();
  engine::log::line("", "nougat stopped");
  return 0;
}

int cmd_config(int argc, char** argv, int first) {
  auto args = parse_args(argc, argv, first, {}, {});
  if (!args) {
    std::cerr << "nougat config: " << args.error().text << "\n";
    return 2;
  }
  auto& pos = args->positional;
  if (pos.empty() || pos[0] != "check" || pos.size() > 2) {
    std::cerr << "usage: nougat config check [FILE] [--data DIR] [--set KEY=VALUE]...\n";
    return 2;
  }
  auto src = config_sources(*args);
  if (pos.size() == 2) {
    src.file = pos[1];
    src.file_required = true;
  }
  auto cfg = engine::load_config(src);
  if (!cfg) {
    std::cerr << cfg.error().text << "\n";
    return 1;
  }
  std::cout << (*cfg)->to_toml();
  for (const auto& w : (*cfg)->warnings()) std::cerr << "nougat config: warning: " << w << "\n";
  return 0;
}

}  // namespace nougat::cli
