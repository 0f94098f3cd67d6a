// Antivirus: one interface for every virus scanner nougat can use — libclamav
// in process (scanners/clamav.hpp) or a clamd daemon over its INSTREAM
// protocol (scanners/clamd.hpp) — and the factory that picks one.
//
// Contract: scan() takes the whole message (headers and body, as stored) and
// returns clean, a virus name, or an error; it never throws. scan() blocks
// (a libclamav scan, a socket round trip) and is safe to call from many
// threads at once: callers run it on a worker pool, never on a network thread.
// reload() re-reads the signatures without interrupting scans in flight; a
// failed reload keeps the previous signatures and reports why.
// request_reload() asks for one in the background and returns at once (a
// signal handler's way): requests that arrive while one runs make one more.
// cancel() (shutdown) makes scans in flight and later ones fail at once
// where the engine can stop them (clamd: they wait on its socket); a
// libclamav scan runs to its end, bounded by libclamav's own scan limits.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/result.hpp"

namespace nougat::scanners {

struct ScanResult {
  enum class Status { kClean, kVirus, kError };
  Status status = Status::kClean;
  std::string virus;  // kVirus: the signature name ("Nougat.Test.EICAR.UNOFFICIAL")
  std::string error;  // kError: what went wrong (for the log, not the client)
  bool cancelled = false;  // kError: cancel() stopped it (shutdown): never "accepted unscanned"

  static ScanResult clean() { return {}; }
  static ScanResult found(std::string name) { return {Status::kVirus, std::move(name), {}}; }
  static ScanResult failed(std::string why) { return {Status::kError, {}, std::move(why)}; }
  bool is_virus() const { return status == Status::kVirus; }
  bool is_error() const { return status == Status::kError; }
};

class Antivirus {
 public:
  virtual ~Antivirus() = default;
  virtual std::string_view name() const = 0;  // "libclamav", "clamd"
  virtual ScanResult scan(std::string_view message) = 0;
  // Re-reads the signatures (SIGHUP). A no-op for engines that own none.
  virtual Status reload() { return Ok{}; }
  // Reloads in the scanner's own background thread; failures are logged.
  virtual void request_reload() {}
  // Scans in flight and later ones fail now (see above). Thread-safe.
  virtual void cancel() {}
  // Whether the scanner answers now (clamd: PING). Only for a start-up
  // warning: a scanner that is down later fails its scans instead.
  virtual Status ready() { return Ok{}; }
  // One line describing what is loaded ("2 signatures from rules/clamav").
  virtual std::string describe() const { return std::string(name()); }
};

// Where log lines from a scanner go (reloads, skipped directories).
using LogFn = std::function<void(std::string_view)>;

struct AntivirusOptions {
  std::string engine = "libclamav";                // "libclamav" | "clamd"
  std::vector<std::filesystem::path> signatures;   // libclamav: directories or files
  std::string socket;                              // clamd: "/path", "unix:/path" or "host:port"
  uint64_t max_size = 25ull << 20;                 // larger inputs are not scanned
  bool alert_exceeds_max = false;                  // libclamav: an archive nested deeper, or unpacking to more,
                                                   // than its limits is "Heuristics.Limits.Exceeded.*" (clamd's
                                                   // AlertExceedsMax); off: that part is not looked at, as in clamd
  std::chrono::milliseconds timeout{30000};        // clamd: connect/send/receive each
  std::chrono::milliseconds poll_interval{5000};   // libclamav: signature change check; 0 = never
  std::filesystem::path tmpdir;                    // libclamav: where it unpacks parts, in a directory
                                                   // nougat-scan.XXXXXX of its own; "" = $TMPDIR or /tmp
  LogFn log;                                       // may be empty
};

Result<std::unique_ptr<Antivirus>> make_antivirus(const AntivirusOptions& opt);

// The default signature directories: the system ClamAV database, then the
// test signatures shipped in this source tree (rules/clamav, located at build
// time). Directories that do not exist or hold no database are skipped.
std::vector<std::filesystem::path> default_signature_dirs();

}  // namespace nougat::scanners
