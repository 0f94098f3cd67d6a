#include "engine/virus_check.hpp"

#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include "engine/log.hpp"

namespace nougat::engine {

VirusCheck::VirusCheck(std::shared_ptr<scanners::Antivirus> av, const Config::Antivirus& cfg)
    : av_(std::move(av)), cfg_(cfg) {}

Verdict VirusCheck::on_eod(const SessionFacts&, const MailFacts&, const MessageFacts& msg) {
  // An X-Virus field that came with the message is the sender's claim: it
  // goes, scanned or not, so readers and filters see only ours; so do the
  // X-Virus-* of other scanners (clamav-milter's "X-Virus-Status: Clean"),
  // which would vouch for a message we passed unscanned.
  auto pass = [] {
    Verdict v;
    v.remove_headers = {"X-Virus", "X-Virus-*"};
    return v;
  };
  // The message as sent: our Received field holds nothing to find, and
  // max_size then means what limits.message_size means, to the octet.
  std::string_view data = msg.as_sent();
  if (data.size() > cfg_.max_size) {
    // Passed, as clamav-milter passes what is over its MaxFileSize, but
    // never silently: the log says so, and so does the message, to its
    // reader and to filters ($h_x-virus-status:).
    ++counters_.skipped;
    log::line(msg.id, "antivirus: not scanned, {} bytes exceed antivirus.max_size", data.size());
    Verdict v = pass();
    v.add_headers.push_back("X-Virus-Status: Unscanned (larger than antivirus.max_size)");
    return v;
  }
  scanners::ScanResult r = av_->scan(data);
  if (r.is_error()) {
    ++counters_.error;
    if (cfg_.on_error == "accept" && !r.cancelled) {  // cancelled: the server is stopping, the client retries
      log::line(msg.id, "antivirus: scan failed, accepted unscanned (on_error = accept): {}", r.error);
      return pass();
    }
    log::line(msg.id, "antivirus: scan failed, temporary rejection: {}", r.error);
    return Verdict::tempfail(451, "4.7.1", "Virus scan temporarily unavailable, try again later");
  }
  if (!r.is_virus()) {
    ++counters_.clean;
    return pass();
  }
  ++counters_.virus;
  log::line(msg.id, "antivirus: virus found: {} (action {})", r.virus, cfg_.action);
  if (cfg_.action == "quarantine") {
    Verdict v = pass();
    v.action = Action::kQuarantine;
    v.text = "virus found: " + r.virus;
    v.add_headers.push_back("X-Virus: " + r.virus);
    v.variables.emplace_back("malware_name", r.virus);
    return v;
  }
  if (cfg_.action == "tag") {
    Verdict v = pass();
    v.add_headers.push_back("X-Virus: " + r.virus);
    v.variables.emplace_back("malware_name", r.virus);  // for ~/.forward filters at delivery
    return v;
  }
  return Verdict::reject(550, "5.7.1", "virus found: " + r.virus);
}

// libclamav writes every mail part and archive member it unpacks to a temp
// file; on a disk that is several times the work of the scan itself. Unless
// configured, a tmpfs (/dev/shm) takes them when the machine has one with
// room for a few scans of the largest message (a container's 64 MB one does
// not; a scan that runs out of room fails with 451 anyway, never passes).
static std::filesystem::path default_scan_tmpdir(uint64_t max_size) {
  struct statfs fs {};
  if (::statfs("/dev/shm", &fs) == 0 && fs.f_type == TMPFS_MAGIC && ::access("/dev/shm", W_OK | X_OK) == 0 &&
      uint64_t(fs.f_bavail) * uint64_t(fs.f_bsize) / 4 >= max_size)
    return "/dev/shm";
  return {};
}

scanners::AntivirusOptions antivirus_options(const Config& cfg) {
  scanners::AntivirusOptions o;
  o.engine = cfg.antivirus.engine;
  o.signatures = cfg.antivirus.signatures;
  o.socket = cfg.antivirus.socket;
  o.max_size = cfg.antivirus.max_size;
  o.alert_exceeds_max = cfg.antivirus.alert_exceeds_max;
  o.timeout = cfg.antivirus.timeout;
  o.tmpdir = cfg.antivirus.tmpdir.empty() ? default_scan_tmpdir(cfg.antivirus.max_size) : cfg.antivirus.tmpdir;
  o.log = [](std::string_view line) { log::write("", line); };
  return o;
}

Result<std::shared_ptr<scanners::Antivirus>> make_antivirus(const Config& cfg) {
  if (cfg.antivirus.engine == "off") return std::shared_ptr<scanners::Antivirus>();
  auto av = scanners::make_antivirus(antivirus_options(cfg));
  if (!av) return av.error();
  return std::shared_ptr<scanners::Antivirus>(std::move(*av));
}

}  // namespace nougat::engine
