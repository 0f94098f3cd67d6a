// SystemFilter: Exim's system filter — one Exim filter file, run once per
// message (however many recipients) at end of DATA, after the scanners, so
// it sees $spam_score, $malware_name, the scanners' X-Spam-*/X-Virus header
// fields, $recipients and the whole message. Configured by
// filter.system_filter; edits take effect with the next message (the file's
// identity is checked per message, the compiled program cached).
//
// What its commands do here (Exim runs it at the start of each delivery
// attempt; running it before the 250 lets `fail` answer the client instead
// of bouncing, and makes every decision once and durable):
//   headers add / remove   change the message for every recipient, at once
//                          ($h_ in later commands sees the change)
//   deliver (significant)  the message goes to the delivered addresses
//                          instead of its recipients; `unseen deliver` adds
//                          them; a significant run without deliveries
//                          (`seen finish`) discards the message (250, logged)
//   fail [text]            550 5.7.1 with the text ("<<log>>client" splits
//                          them as in Exim); nothing is delivered
//   freeze [text]          accepted and held in the queue (quarantine) until
//                          `nougat queue release`; the text is kept as the reason
//   defer [text]           451 4.7.1: the client tries again later
//   $n0..$n9               kept with the message as $sn0..$sn9 for users'
//                          ~/.forward filters
//   logwrite, logfile      written to the main log
//   mail, vacation         logged, not sent (no autoreply transport yet)
//   save, pipe             451 and a log line: no system-filter file or pipe
//                          transport is configured, and mail is never lost
// first_delivery is always true, manually_thawed false.
// Failure: a filter that cannot be read or compiled at start is an error
// naming the file (serve refuses to start); one that breaks later, or a
// run-time error, answers 451 4.3.0 and logs the filter's error.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "engine/checks.hpp"
#include "engine/result.hpp"

namespace nougat::filterlang {
struct Program;
struct RunResult;
}

namespace nougat::engine {

class SystemFilter final : public Check {
 public:
  // Reads and compiles the file. `qualify_domain` completes unqualified
  // addresses in deliver commands.
  static Result<std::unique_ptr<SystemFilter>> open(std::filesystem::path path, std::string qualify_domain);
  ~SystemFilter() override;

  std::string_view name() const override { return "system_filter"; }
  Verdict on_eod(const SessionFacts& s, const MailFacts& m, const MessageFacts& msg) override;

  // The verdict for one run's result (pure; exposed for tests). `recipients`:
  // the message's envelope recipients.
  static Verdict verdict_of(const filterlang::RunResult& r, const std::vector<std::string>& recipients,
                            std::string_view qualify_domain, std::string_view id);

 private:
  struct Loaded;
  SystemFilter(std::filesystem::path path, std::string qualify_domain);
  // The program for the file as it is now (recompiled when it changed).
  Result<std::shared_ptr<const filterlang::Program>> program();

  std::filesystem::path path_;
  std::string qualify_;
  std::mutex mu_;
  std::unique_ptr<Loaded> loaded_;
};

}  // namespace nougat::engine
