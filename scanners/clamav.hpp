// ClamavEngine: libclamav in process. Loads the configured signature
// directories once, compiles them, and scans messages from memory
// (cl_fmap_open_memory + cl_scanmap_callback) with mail and archive parsing
// on, so a virus inside a base64 attachment or a zip (in a zip) is found.
//
// Promises: scan() is thread-safe and lock-free apart from taking a
// reference to the current compiled engine. reload() builds a complete new
// engine beside the old one and swaps a shared_ptr; scans in flight finish on
// the engine they started with, which is freed when the last one ends. A
// watcher thread polls the signature files' mtimes/sizes every
// poll_interval and reloads on change, or at once on request_reload()
// (SIGHUP) — never on a thread that scans or serves clients, so a slow
// compile (the official database takes tens of seconds) holds up no mail,
// and a burst of requests makes at most one more reload. A failed (re)load
// keeps the old engine.
// Limits: messages larger than max_size are not scanned (reported clean, as
// clamav-milter's MaxFileSize does; the check chain logs them as skipped);
// libclamav's file and scan size limits are raised to max_size, so whatever
// is admitted is scanned whole; its recursion limits apply inside archives.
// A scan during which libclamav reports an error (it could not write or
// create a temporary file, …) fails, whatever libclamav answers.
// Temporary files: below tmpdir in nougat-scan.XXXXXX (mkdtemp), one per
// compiled engine, locked while it lives and removed with it; those nobody
// holds any more (a process killed mid-scan) are removed when an engine is
// made. A scan whose directory was removed or replaced fails and asks for a
// reload; so does one with less room left there than the message's size.
// libclamav's clean-file cache is off: it would also remember what a failed
// scan could not look at, and pass the retry. Memory: one compiled engine, two during a reload.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>

#include "scanners/antivirus.hpp"

namespace nougat::scanners {

class ClamavEngine final : public Antivirus {
 public:
  // Fails when no directory yields a signature or libclamav cannot compile.
  static Result<std::unique_ptr<ClamavEngine>> open(const AntivirusOptions& opt);
  ~ClamavEngine() override;

  std::string_view name() const override { return "libclamav"; }
  ScanResult scan(std::string_view message) override;
  Status reload() override;
  void request_reload() override;
  std::string describe() const override;

  unsigned signature_count() const;
  uint64_t generation() const;  // 1 after open, +1 per successful reload
  // One poll step of the watcher: reloads when a signature file changed.
  // True if a reload happened (whether it succeeded or not).
  bool reload_if_changed();

  struct Compiled;  // a compiled cl_engine plus what it was built from

 private:
  explicit ClamavEngine(AntivirusOptions opt);
  std::shared_ptr<const Compiled> current() const;
  void watch(std::stop_token st);
  void log(std::string_view line) const;

  AntivirusOptions opt_;
  mutable std::mutex mu_;                   // guards engine_ and failed_
  std::shared_ptr<const Compiled> engine_;
  std::string failed_;                      // fingerprint of the last failed load
  std::chrono::steady_clock::time_point failed_at_{};
  static constexpr std::chrono::minutes kRetryFailed{10};
  std::mutex reload_mu_;                    // one reload at a time
  std::mutex wake_mu_;                      // guards reload_requested_
  bool reload_requested_ = false;
  std::condition_variable_any wake_;
  std::jthread watcher_;                    // last: stopped and joined first
};

}  // namespace nougat::scanners
