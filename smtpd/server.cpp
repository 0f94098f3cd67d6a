#include "smtpd/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <atomic>
#include <list>

#include "engine/log.hpp"
#include "smtpd/session.hpp"

namespace nougat::smtpd {

struct Server::Impl {
  ServerDeps deps;
  std::unique_ptr<asio::ssl::context> tls;
  std::list<tcp::acceptor> acceptors;
  std::atomic<uint32_t> sessions{0};
  std::shared_ptr<SessionRegistry> registry = std::make_shared<SessionRegistry>();  // its `stopping` is ours

  explicit Impl(ServerDeps d) : deps(std::move(d)) {}

  asio::awaitable<void> accept_loop(tcp::acceptor& acc, std::shared_ptr<const SessionEnv> env,
                                    asio::io_context& io) {
    for (;;) {
      boost::system::error_code ec;
      Socket sock(asio::make_strand(io));
      co_await acc.async_accept(sock, asio::redirect_error(asio::use_awaitable, ec));
      if (registry->stopping) co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        engine::log::line("", "accept on {}: {}", acc.local_endpoint(ec).port(), ec.message());
        continue;
      }
      if (sessions >= deps.cfg->limits.connections) {
        // On the implicit-TLS port the client expects a handshake: no plain text.
        static const char kBusy[] = "421 4.3.2 Too many connections, try again later\r\n";
        if (env->kind != engine::ListenerKind::kSubmissions) sock.write_some(asio::buffer(kBusy, sizeof kBusy - 1), ec);
        continue;
      }
      sock.set_option(tcp::no_delay(true), ec);
      ++sessions;
      auto ex = sock.get_executor();
      asio::co_spawn(ex, run_session(std::move(sock), env), [this](std::exception_ptr) { --sessions; });
    }
  }
};

Server::Server(ServerDeps deps) : impl_(std::make_unique<Impl>(std::move(deps))) {}
Server::~Server() = default;

Status Server::start(asio::io_context& io) {
  const auto& cfg = *impl_->deps.cfg;
  auto tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  boost::system::error_code ec;
  tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  tls->use_certificate_chain_file(cfg.tls.cert.string(), ec);
  if (!ec) tls->use_private_key_file(cfg.tls.key.string(), asio::ssl::context::pem, ec);
  if (ec) {
    engine::log::line("", "TLS disabled: cannot load {} / {}: {}", cfg.tls.cert.string(),
                      cfg.tls.key.string(), ec.message());
    tls.reset();
  }
  impl_->tls = std::move(tls);

  auto listen = [&](const std::vector<engine::Endpoint>& eps, engine::ListenerKind kind,
                    const char* what) -> Status {
    if (kind == engine::ListenerKind::kSubmissions && !impl_->tls && !eps.empty())
      return make_error(fmt::format("listen.{}: TLS certificate not available", what));
    auto env = std::make_shared<SessionEnv>(SessionEnv{impl_->deps, impl_->tls.get(), kind, impl_->registry});
    for (const auto& ep : eps) {
      boost::system::error_code e;
      tcp::endpoint endpoint(asio::ip::make_address(ep.host, e), ep.port);
      auto& acc = impl_->acceptors.emplace_back(io);
      acc.open(endpoint.protocol(), e);
      if (!e) acc.set_option(tcp::acceptor::reuse_address(true), e);
      if (!e) acc.bind(endpoint, e);
      if (!e) acc.listen(asio::socket_base::max_listen_connections, e);
      if (e) return make_error(fmt::format("listen.{} = {}: {}", what, ep.to_string(), e.message()));
      auto bound = acc.local_endpoint(e);
      engine::Endpoint actual{ep.host, bound.port()};
      engine::log::line("", "listening for {} on {}", what, actual.to_string());
      asio::co_spawn(io, impl_->accept_loop(acc, env, io), asio::detached);
    }
    return Ok{};
  };
  if (auto st = listen(cfg.listen.smtp, engine::ListenerKind::kSmtp, "smtp"); !st) return st;
  if (auto st = listen(cfg.listen.submission, engine::ListenerKind::kSubmission, "submission"); !st)
    return st;
  if (auto st = listen(cfg.listen.submissions, engine::ListenerKind::kSubmissions, "submissions"); !st)
    return st;
  return Ok{};
}

void Server::stop() {
  impl_->registry->stopping = true;
  for (auto& a : impl_->acceptors) {
    boost::system::error_code ec;
    a.close(ec);
  }
  impl_->registry->stop();
}

uint32_t Server::sessions() const { return impl_->sessions; }

}  // namespace nougat::smtpd
