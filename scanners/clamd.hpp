// ClamdClient: scans through a running clamd over its INSTREAM protocol
// ("zINSTREAM\0", then <uint32 big-endian length><bytes> chunks, then a zero
// length; the reply is "stream: OK", "stream: NAME FOUND" or "… ERROR").
// One connection per scan, over a unix socket ("/path" or "unix:/path") or
// TCP ("host:port", "tcp:host:port").
//
// Promises: scan() is thread-safe (no shared mutable state) and bounded in
// time: connecting and each send wait at most `timeout`, the whole reply too
// (after a send that timed out, a second only).
// Any failure — clamd down, timeout, a size-limit or other ERROR reply, a
// reply we cannot parse — is a ScanResult error, never a silent clean.
// cancel() wakes every wait at once (an eventfd each wait polls too): the
// scans fail with "cancelled", so a shutdown is not held by a clamd that
// does not answer.
// Limits: messages larger than max_size are not sent (reported clean); clamd's
// StreamMaxLength must be at least max_size or large messages get an error.
#pragma once

#include <algorithm>
#include <atomic>

#include "engine/net.hpp"
#include "scanners/antivirus.hpp"

namespace nougat::scanners {

class ClamdClient final : public Antivirus {
 public:
  // Parses the address only; clamd need not be running yet.
  static Result<std::unique_ptr<ClamdClient>> open(const AntivirusOptions& opt);

  std::string_view name() const override { return "clamd"; }
  ScanResult scan(std::string_view message) override;
  std::string describe() const override;
  void cancel() override;
  ~ClamdClient() override;
  // The start-up check waits 3 s at most: it only decides a warning.
  Status ready() override { return ping(std::min(opt_.timeout, std::chrono::milliseconds(3000))); }
  // clamd's "PING" → "PONG": true when the daemon answers.
  Status ping() { return ping(opt_.timeout); }
  Status ping(std::chrono::milliseconds timeout);
  // clamd's "VERSION" reply ("ClamAV 1.4.6/…").
  Result<std::string> version();

  using Address = engine::SocketAddress;
  static Result<Address> parse_address(std::string_view s) { return engine::parse_socket_address(s); }
  // "stream: OK" / "stream: X FOUND" / "… ERROR" → a ScanResult.
  static ScanResult parse_reply(std::string_view reply);

 private:
  ClamdClient(AntivirusOptions opt, Address addr, int cancel_fd)
      : opt_(std::move(opt)), addr_(std::move(addr)), cancel_fd_(cancel_fd) {}
  Result<std::string> command(std::string_view cmd, std::chrono::milliseconds timeout);
  ScanResult scan_stream(std::string_view message);

  AntivirusOptions opt_;
  Address addr_;
  int cancel_fd_;  // eventfd: readable once cancel() was called
  std::atomic<bool> cancelled_{false};
};

}  // namespace nougat::scanners
