// One SMTP session (RFC 5321 + PIPELINING, SIZE, 8BITMIME, SMTPUTF8,
// ENHANCEDSTATUSCODES, CHUNKING, STARTTLS, AUTH PLAIN/LOGIN). The session
// parses, asks the check chain, streams DATA into the spool, waits for the
// group commit and only then answers 250. Internal to smtpd/: included by
// server.cpp and session.cpp only (it pulls in Asio).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "engine/checks.hpp"
#include "smtpd/server.hpp"

namespace nougat::smtpd {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Executor = asio::strand<asio::io_context::executor_type>;
using Socket = asio::basic_stream_socket<tcp, Executor>;

// The server's live sessions, so that stop() can wake each (on its own
// strand) to say goodbye.
class SessionRegistry {
 public:
  std::atomic<bool> stopping{false};
  uint64_t add(std::function<void()> wake) {
    std::lock_guard l(mu_);
    wake_.emplace(++next_, std::move(wake));
    return next_;
  }
  void remove(uint64_t id) {
    std::lock_guard l(mu_);
    wake_.erase(id);
  }
  void stop() {
    stopping = true;
    std::lock_guard l(mu_);
    for (auto& [id, wake] : wake_) wake();
  }

 private:
  std::mutex mu_;
  std::map<uint64_t, std::function<void()>> wake_;
  uint64_t next_ = 0;
};

struct SessionEnv {
  ServerDeps deps;
  asio::ssl::context* tls = nullptr;  // nullptr: no TLS available
  engine::ListenerKind kind = engine::ListenerKind::kSmtp;
  std::shared_ptr<SessionRegistry> registry;  // null: sessions are never told to stop
};

// Runs the session to completion; never throws.
asio::awaitable<void> run_session(Socket socket, std::shared_ptr<const SessionEnv> env);

}  // namespace nougat::smtpd
