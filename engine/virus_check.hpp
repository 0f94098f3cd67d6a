// VirusCheck: the end-of-DATA antivirus check. Scans the whole message
// (MessageFacts::data) with the configured Antivirus and turns the result
// into a verdict:
//   virus  → action "reject":     550 5.7.1 virus found: NAME
//            action "quarantine": accepted, held in the spool until `nougat queue release`
//            action "tag":        accepted with an "X-Virus: NAME" header
//            (tag and quarantine also set the filter variable $malware_name)
//   error  → on_error "tempfail": 451 4.7.1 (the client retries later)
//            on_error "accept":   continue, logged — never silently
// An X-Virus field that came with the message is removed whenever the
// message goes on (Verdict::remove_headers): only ours reaches readers.
// Runs on the worker pool like every on_eod (the scan blocks); thread-safe.
// Every verdict is logged with the message id and counted.
#pragma once

#include <atomic>
#include <memory>

#include "engine/checks.hpp"
#include "engine/config.hpp"
#include "scanners/antivirus.hpp"

namespace nougat::engine {

class VirusCheck final : public Check {
 public:
  VirusCheck(std::shared_ptr<scanners::Antivirus> av, const Config::Antivirus& cfg);
  std::string_view name() const override { return "antivirus"; }
  Verdict on_eod(const SessionFacts& s, const MailFacts& m, const MessageFacts& msg) override;

  struct Counters {
    std::atomic<uint64_t> clean{0}, virus{0}, error{0}, skipped{0};
  };
  const Counters& counters() const { return counters_; }

 private:
  std::shared_ptr<scanners::Antivirus> av_;
  Config::Antivirus cfg_;
  Counters counters_;
};

// The scanner options for a configuration (log lines go to the main log).
scanners::AntivirusOptions antivirus_options(const Config& cfg);

// The configured scanner, or nullptr when antivirus.engine = "off".
// Fails with a client-safe text when the signatures cannot be loaded.
Result<std::shared_ptr<scanners::Antivirus>> make_antivirus(const Config& cfg);

}  // namespace nougat::engine
