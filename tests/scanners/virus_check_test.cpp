#include "engine/virus_check.hpp"

#include <gtest/gtest.h>

namespace nougat::engine {
namespace {

class FakeAv final : public scanners::Antivirus {
 public:
  explicit FakeAv(scanners::ScanResult r) : r_(std::move(r)) {}
  std::string_view name() const override { return "fake"; }
  scanners::ScanResult scan(std::string_view m) override {
    ++scans;
    seen = m;
    return r_;
  }
  int scans = 0;
  std::string seen;

 private:
  scanners::ScanResult r_;
};

struct Run {
  Verdict verdict;
  int scans;
};

Run run(scanners::ScanResult r, const std::string& action = "reject", const std::string& on_error = "tempfail",
        uint64_t max_size = 1 << 20) {
  auto av = std::make_shared<FakeAv>(std::move(r));
  Config::Antivirus cfg;
  cfg.action = action;
  cfg.on_error = on_error;
  cfg.max_size = max_size;
  VirusCheck check(av, cfg);
  std::vector<std::string> rcpts{"b@example.org"};
  std::string data = "Subject: x\r\n\r\nbody\r\n";
  Verdict v = check.on_eod(SessionFacts{}, MailFacts{}, MessageFacts{"id1", data, rcpts});
  return {v, av->scans};
}

TEST(VirusCheck, CleanContinues) {
  auto r = run(scanners::ScanResult::clean());
  EXPECT_EQ(r.verdict.action, Action::kContinue);
  EXPECT_TRUE(r.verdict.add_headers.empty());
}

TEST(VirusCheck, RejectNamesTheVirus) {
  auto r = run(scanners::ScanResult::found("Eicar-Test"));
  EXPECT_EQ(r.verdict.action, Action::kReject);
  EXPECT_EQ(r.verdict.code, 550);
  EXPECT_EQ(r.verdict.enhanced, "5.7.1");
  EXPECT_EQ(r.verdict.text, "virus found: Eicar-Test");
}

TEST(VirusCheck, Quarantine) {
  auto r = run(scanners::ScanResult::found("Eicar-Test"), "quarantine");
  EXPECT_EQ(r.verdict.action, Action::kQuarantine);
  EXPECT_EQ(r.verdict.text, "virus found: Eicar-Test");
  EXPECT_EQ(r.verdict.add_headers, std::vector<std::string>{"X-Virus: Eicar-Test"});
}

TEST(VirusCheck, TagAddsAHeaderAndContinues) {
  auto r = run(scanners::ScanResult::found("Eicar-Test"), "tag");
  EXPECT_EQ(r.verdict.action, Action::kContinue);
  EXPECT_EQ(r.verdict.add_headers, std::vector<std::string>{"X-Virus: Eicar-Test"});
}

TEST(VirusCheck, ScannerErrorIsATemporaryFailure) {
  auto r = run(scanners::ScanResult::failed("clamd: cannot connect"));
  EXPECT_EQ(r.verdict.action, Action::kTempfail);
  EXPECT_EQ(r.verdict.code, 451);
  EXPECT_EQ(r.verdict.enhanced, "4.7.1");
  EXPECT_EQ(r.verdict.text.find("clamd"), std::string::npos) << "no internals to the client";
}

TEST(VirusCheck, ScannerErrorAcceptedWhenConfigured) {
  auto r = run(scanners::ScanResult::failed("boom"), "reject", "accept");
  EXPECT_EQ(r.verdict.action, Action::kContinue);
  // A scan the shutdown cut short is no scanner failure: never accepted.
  auto cancelled = scanners::ScanResult::failed("clamd: scan cancelled (shutting down)");
  cancelled.cancelled = true;
  EXPECT_EQ(run(cancelled, "reject", "accept").verdict.action, Action::kTempfail);
}

// max_size measures the message as sent, as limits.message_size does: our
// own Received field in front neither counts nor goes to the scanner.
TEST(VirusCheck, MaxSizeIsTheSizeAsSent) {
  const std::string sent = "Subject: x\r\n\r\nbody\r\n";
  const std::string data = "Received: from client by us; now\r\n" + sent;
  std::vector<std::string> rcpts{"b@example.org"};
  for (uint64_t max : {uint64_t(sent.size()), uint64_t(sent.size() - 1)}) {
    auto av = std::make_shared<FakeAv>(scanners::ScanResult::found("Eicar-Test"));
    Config::Antivirus cfg;
    cfg.max_size = max;
    VirusCheck check(av, cfg);
    MessageFacts m{"id1", data, rcpts, nullptr, data.size() - sent.size()};
    Verdict v = check.on_eod(SessionFacts{}, MailFacts{}, m);
    EXPECT_EQ(av->scans, max == sent.size() ? 1 : 0) << max;
    EXPECT_EQ(v.action, max == sent.size() ? Action::kReject : Action::kContinue) << max;
    if (av->scans) {
      EXPECT_EQ(av->seen, sent);
    }
  }
}

// Passed as clamav-milter passes what is over its limit, but marked so.
TEST(VirusCheck, LargerThanMaxSizeIsNotScannedAndSaysSo) {
  auto r = run(scanners::ScanResult::found("X"), "reject", "tempfail", 4);
  EXPECT_EQ(r.verdict.action, Action::kContinue);
  EXPECT_EQ(r.scans, 0);
  EXPECT_EQ(r.verdict.add_headers, std::vector<std::string>{"X-Virus-Status: Unscanned (larger than antivirus.max_size)"});
  EXPECT_EQ(r.verdict.remove_headers, (std::vector<std::string>{"X-Virus", "X-Virus-*"}));  // the sender's claims go
}

TEST(VirusCheck, ConfigKeys) {
  ConfigSources src;
  src.text = "";
  src.overrides = {"antivirus.action=tag", "antivirus.on_error=accept", "antivirus.max_size=10M",
                   "antivirus.engine=clamd", "antivirus.socket=/tmp/clamd.sock",
                   "antivirus.signatures=[\"/a\", \"/b\"]", "antivirus.tmpdir=/dev/shm",
                   "antivirus.alert_exceeds_max=true", "antivirus.timeout=5s"};
  auto cfg = load_config(src);
  ASSERT_TRUE(cfg) << cfg.error().text;
  EXPECT_EQ((*cfg)->antivirus.action, "tag");
  EXPECT_EQ((*cfg)->antivirus.on_error, "accept");
  EXPECT_EQ((*cfg)->antivirus.max_size, 10u << 20);
  EXPECT_EQ((*cfg)->antivirus.engine, "clamd");
  EXPECT_EQ((*cfg)->antivirus.signatures.size(), 2u);
  EXPECT_EQ(antivirus_options(**cfg).tmpdir, "/dev/shm");
  EXPECT_TRUE(antivirus_options(**cfg).alert_exceeds_max);
  EXPECT_EQ(antivirus_options(**cfg).timeout, std::chrono::seconds(5));
  auto toml = (*cfg)->to_toml();
  EXPECT_NE(toml.find("[antivirus]\nengine = \"clamd\""), std::string::npos) << toml;
  // The printed configuration reads back to the same one.
  ConfigSources again;
  again.text = toml;
  auto cfg2 = load_config(again);
  ASSERT_TRUE(cfg2) << cfg2.error().text;
  EXPECT_EQ((*cfg2)->to_toml(), toml);

  for (const char* bad : {"antivirus.action=delete", "antivirus.on_error=ignore", "antivirus.engine=avast",
                          "antivirus.max_size=1", "antivirus.engine=clamd", "antivirus.socket=localhost",
                          "antivirus.socket=host:port", "antivirus.socket=tcp:host:99999",
                          "antivirus.alert_exceeds_max=yes", "antivirus.timeout=0s", "antivirus.timeout=5"}) {
    ConfigSources b;
    b.text = "";
    b.overrides = {bad};
    EXPECT_FALSE(load_config(b)) << bad;
  }
}

TEST(VirusCheck, DefaultsIncludeTheShippedSignatures) {
  ConfigSources src;
  src.text = "";
  auto cfg = load_config(src);
  ASSERT_TRUE(cfg);
  EXPECT_EQ((*cfg)->antivirus.engine, "libclamav");
  EXPECT_EQ((*cfg)->antivirus.action, "reject");
  EXPECT_EQ((*cfg)->antivirus.on_error, "tempfail");
  // Every message the server accepts is scanned, unless told otherwise.
  EXPECT_EQ((*cfg)->antivirus.max_size, (*cfg)->limits.message_size);
  ConfigSources bigger;
  bigger.text = "[limits]\nmessage_size = \"80M\"\n";
  auto cfg2 = load_config(bigger);
  ASSERT_TRUE(cfg2);
  EXPECT_EQ((*cfg2)->antivirus.max_size, 80u << 20);
  bigger.text = "[limits]\nmessage_size = \"80M\"\n[antivirus]\nmax_size = \"5M\"\n";
  cfg2 = load_config(bigger);
  ASSERT_TRUE(cfg2);
  EXPECT_EQ((*cfg2)->antivirus.max_size, 5u << 20);
  // With clamd, Debian's StreamMaxLength (25M): above it clamd answers an error.
  bigger.text = "[antivirus]\nengine = \"clamd\"\nsocket = \"/run/clamav/clamd.ctl\"\n";
  cfg2 = load_config(bigger);
  ASSERT_TRUE(cfg2);
  EXPECT_EQ((*cfg2)->antivirus.max_size, 25u << 20);
  EXPECT_FALSE((*cfg)->antivirus.alert_exceeds_max);  // as clamd's AlertExceedsMax
  ASSERT_EQ((*cfg)->antivirus.signatures.size(), 2u);
  EXPECT_EQ((*cfg)->antivirus.signatures[0], "/var/lib/clamav");
  EXPECT_TRUE(std::filesystem::exists((*cfg)->antivirus.signatures[1] / "nougat-test.ndb"));
}

}  // namespace
}  // namespace nougat::engine
