// SMTP listeners: accepts connections on the configured smtp, submission
// and submissions (implicit TLS) endpoints and runs one session coroutine
// per connection on the caller's io_context. Asio stays out of this header:
// the io_context is passed as an opaque reference to keep includers light.
#pragma once

#include <memory>

#include "engine/checks.hpp"
#include "engine/config.hpp"
#include "engine/directory.hpp"
#include "engine/intake.hpp"
#include "engine/result.hpp"
#include "engine/spool.hpp"
#include "engine/sync.hpp"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace nougat::smtpd {

struct ServerDeps {
  engine::ConfigPtr cfg;
  engine::Spool& spool;
  const engine::Intake& intake;
  const engine::Directory& directory;
  engine::SyncGroup& sync;
  const engine::CheckChain& checks;
  boost::asio::thread_pool& workers;       // end-of-DATA checks (scans, filters)
  boost::asio::thread_pool& auth_workers;  // password hashing: its own, so a scan
                                           // waiting on a hung clamd never delays a login
};

class Server {
 public:
  explicit Server(ServerDeps deps);
  ~Server();
  // Binds every configured listener; fails with the endpoint and the reason.
  Status start(boost::asio::io_context& io);
  // Stops accepting and winds the sessions down, as RFC 5321 3.8 asks: an
  // idle one gets "421 4.3.2" and is closed; one in the middle of a
  // transaction finishes it (its 250 or refusal is sent) and then gets the
  // 421. Returns at once; sessions() says how many are left.
  void stop();
  uint32_t sessions() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nougat::smtpd
