#include "engine/config.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace nougat::engine {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nougat-config-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& text) {
    auto p = dir_ / "nougat.toml";
    std::ofstream(p) << text;
    return p;
  }
  Result<ConfigPtr> load(const std::string& text, std::vector<std::string> sets = {}) {
    ConfigSources src;
    src.file = write(text);
    src.file_required = true;
    src.data_dir = dir_;
    src.overrides = std::move(sets);
    return load_config(src);
  }
  fs::path dir_;
};

TEST_F(ConfigTest, DefaultsServeWithoutAFile) {
  ConfigSources src;
  src.data_dir = dir_;
  auto c = load_config(src);
  ASSERT_TRUE(c.ok()) << c.error().text;
  const Config& cfg = **c;
  ASSERT_EQ(cfg.listen.smtp.size(), 1u);
  EXPECT_EQ(cfg.listen.smtp[0].to_string(), "127.0.0.1:2525");
  EXPECT_EQ(cfg.listen.submission[0].to_string(), "127.0.0.1:2587");
  EXPECT_EQ(cfg.listen.submissions[0].to_string(), "127.0.0.1:2465");
  EXPECT_TRUE(cfg.is_local_domain("localhost"));
  EXPECT_TRUE(cfg.is_local_domain("LOCALHOST"));
  EXPECT_TRUE(cfg.is_local_domain(cfg.server.hostname));
  EXPECT_TRUE(cfg.domains.relay_networks.empty());
  EXPECT_EQ(cfg.limits.message_size, 50u << 20);
  EXPECT_TRUE(cfg.server.data_dir.is_absolute());
  EXPECT_EQ(cfg.tls.cert, cfg.server.data_dir / "tls" / "cert.pem");
  EXPECT_EQ(cfg.server.log_file, cfg.server.data_dir / "log" / "nougat.log");
}

TEST_F(ConfigTest, FileValuesApply) {
  auto c = load(R"([server]
hostname = "Mail.Example.ORG"
[listen]
smtp = ["0.0.0.0:25", "[::]:25"]
[domains]
local = ["Example.org"]
relay_networks = ["10.0.0.0/8", "::1"]
[limits]
message_size = "10M"
idle_timeout = "90s"
)");
  ASSERT_TRUE(c.ok()) << c.error().text;
  const Config& cfg = **c;
  EXPECT_EQ(cfg.server.hostname, "mail.example.org");
  ASSERT_EQ(cfg.listen.smtp.size(), 2u);
  EXPECT_EQ(cfg.listen.smtp[1].to_string(), "[::]:25");
  EXPECT_EQ(cfg.domains.local, std::vector<std::string>{"example.org"});
  EXPECT_EQ(cfg.limits.message_size, 10u << 20);
  EXPECT_EQ(cfg.limits.idle_timeout.count(), 90);
  EXPECT_TRUE(cfg.domains.relay_networks[0].contains(*parse_ip("10.1.2.3")));
  EXPECT_FALSE(cfg.domains.relay_networks[0].contains(*parse_ip("11.1.2.3")));
  EXPECT_TRUE(cfg.domains.relay_networks[1].contains(*parse_ip("::1")));
}

struct BadCase {
  const char* text;
  const char* expected;  // exact error message after the file name
};

TEST_F(ConfigTest, ErrorsNameFileLineAndKey) {
  const BadCase cases[] = {
      {"[server]\nhostname = \"x\"\nbogus = 1\n", ":3: server.bogus: unknown key"},
      {"[limits]\n\nrecipients = \"many\"\n", ":3: limits.recipients: expected an integer"},
      {"[limits]\nrecipients = 0\n", ":2: limits.recipients: must be between 1 and 100000"},
      {"[listen]\nsmtp = \"localhost\"\n", ":2: listen.smtp: expected ADDRESS:PORT"},
      {"[listen]\nsmtp = \"1.2.3.4:99999\"\n", ":2: listen.smtp: bad port: 99999"},
      {"[limits]\nmessage_size = \"5Q\"\n", ":2: limits.message_size: bad size unit \"Q\" (use K, M or G)"},
      {"[limits]\nidle_timeout = \"soon\"\n", ":2: limits.idle_timeout: bad duration \"soon\" (e.g. 30s, 5m, 1h, 4d)"},
      {"[nosuch]\nx = 1\n", ":2: nosuch.x: unknown key"},
      {"[auth]\nrequire_tls = 1\n", ":2: auth.require_tls: expected true or false"},
  };
  for (const auto& c : cases) {
    auto r = load(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().text, (dir_ / "nougat.toml").string() + c.expected) << c.text;
  }
}

TEST_F(ConfigTest, TomlSyntaxErrorHasLine) {
  auto r = load("[server]\nhostname = \"unterminated\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().text.find("nougat.toml:2:"), std::string::npos) << r.error().text;
}

TEST_F(ConfigTest, SetOverridesBeatTheFile) {
  auto c = load("[limits]\nrecipients = 5\n",
                {"limits.recipients=7", "listen.smtp=127.0.0.1:0", "domains.local=[\"a.test\", \"B.test\"]",
                 "auth.require_tls=false", "server.hostname=h.test"});
  ASSERT_TRUE(c.ok()) << c.error().text;
  EXPECT_EQ((*c)->limits.recipients, 7u);
  EXPECT_EQ((*c)->listen.smtp[0].port, 0);
  EXPECT_EQ((*c)->domains.local, (std::vector<std::string>{"a.test", "b.test"}));
  EXPECT_FALSE((*c)->auth.require_tls);
}

// A valid setting the chosen engine ignores is said, not silently dropped.
TEST_F(ConfigTest, SettingsWithoutEffectAreWarnings) {
  auto c = load("", {"antivirus.engine=clamd", "antivirus.socket=/run/clamd.ctl", "antivirus.alert_exceeds_max=true",
                     "antivirus.max_size=50M"});
  ASSERT_TRUE(c.ok()) << c.error().text;
  ASSERT_EQ((*c)->warnings().size(), 1u);
  EXPECT_NE((*c)->warnings()[0].find("AlertExceedsMax in clamd.conf"), std::string::npos);
  auto d = load("");
  ASSERT_TRUE(d.ok()) << d.error().text;
  EXPECT_TRUE((*d)->warnings().empty());
}

// Messages the server accepts but the scanner will not see: said at start.
// clamd's default scan limit (its StreamMaxLength, 25M) is below the default
// message size (50M).
TEST_F(ConfigTest, UnscannedSizesAreAWarning) {
  auto c = load("", {"antivirus.engine=clamd", "antivirus.socket=/run/clamd.ctl"});
  ASSERT_TRUE(c.ok()) << c.error().text;
  ASSERT_EQ((*c)->warnings().size(), 1u);
  EXPECT_NE((*c)->warnings()[0].find("antivirus.max_size (25M) is below limits.message_size (50M)"), std::string::npos)
      << (*c)->warnings()[0];
  EXPECT_NE((*c)->warnings()[0].find("StreamMaxLength"), std::string::npos);
  auto off = load("", {"antivirus.engine=off", "antivirus.max_size=1M"});
  ASSERT_TRUE(off.ok()) << off.error().text;
  EXPECT_TRUE((*off)->warnings().empty());
}

TEST_F(ConfigTest, SetErrorsNameTheKey) {
  auto r = load("", {"limits.recipients=lots"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().text, "--set limits.recipients: expected an integer");
  r = load("", {"nope.key=1"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().text, "--set nope.key: unknown key");
  r = load("", {"novalue"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().text, "--set novalue: expected KEY=VALUE");
}

TEST_F(ConfigTest, JunkFolder) {
  ConfigSources src;
  src.data_dir = dir_;
  auto d = load_config(src);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->spam.junk_folder, "Junk");
  auto c = load("[spam]\njunk_folder = \"Spam\"\n");
  ASSERT_TRUE(c.ok()) << c.error().text;
  EXPECT_EQ((*c)->spam.junk_folder, "Spam");
  EXPECT_NE((*c)->to_toml().find("junk_folder = \"Spam\"\n"), std::string::npos);
  for (auto bad : {"", "../x", ".Junk", "a/../b"}) {
    auto r = load(std::string("[spam]\njunk_folder = \"") + bad + "\"\n");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().text.find(":2: spam.junk_folder: expected a folder name"), std::string::npos)
        << r.error().text;
  }
}

TEST_F(ConfigTest, JunkScanInterval) {
  ConfigSources src;
  src.data_dir = dir_;
  auto d = load_config(src);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->spam.junk_scan_interval.count(), 30);
  auto c = load("[spam]\njunk_scan_interval = \"2m\"\n");
  ASSERT_TRUE(c.ok()) << c.error().text;
  EXPECT_EQ((*c)->spam.junk_scan_interval.count(), 120);
  // Off: the integer 0 or the string "0", from the file or --set.
  for (auto set : {"spam.junk_scan_interval=0", "spam.junk_scan_interval=\"0\""}) {
    c = load("", {set});
    ASSERT_TRUE(c.ok()) << c.error().text;
    EXPECT_EQ((*c)->spam.junk_scan_interval.count(), 0) << set;
    EXPECT_NE((*c)->to_toml().find("junk_scan_interval = 0\n"), std::string::npos);
  }
  c = load("", {"spam.junk_scan_interval=1s"});  // a bare word on the command line
  ASSERT_TRUE(c.ok()) << c.error().text;
  EXPECT_EQ((*c)->spam.junk_scan_interval.count(), 1);
  auto r = load("[spam]\njunk_scan_interval = 5\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().text.find(":2: spam.junk_scan_interval: expected a duration"), std::string::npos)
      << r.error().text;
  r = load("", {"spam.junk_scan_interval=2d"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().text, "--set spam.junk_scan_interval: must be between 1s and 1d, or 0 (off)");
}

TEST_F(ConfigTest, EffectiveConfigRoundTrips) {
  for (const char* extra : {"", "[spam]\njunk_scan_interval = 0\n"}) {
    auto c = load(std::string("[limits]\nmessage_size = \"3M\"\n[domains]\nlocal = [\"x.test\"]\n") + extra);
    ASSERT_TRUE(c.ok());
    std::string text = (*c)->to_toml();
    auto again = load(text);
    ASSERT_TRUE(again.ok()) << again.error().text << "\n" << text;
    EXPECT_EQ((*again)->to_toml(), text);
  }
}

TEST(ConfigParse, SizesAndDurations) {
  EXPECT_EQ(*parse_size("1024"), 1024u);
  EXPECT_EQ(*parse_size("4K"), 4096u);
  EXPECT_EQ(*parse_size("2G"), 2ull << 30);
  EXPECT_FALSE(parse_size("").ok());
  EXPECT_FALSE(parse_size("-1").ok());
  EXPECT_EQ(parse_duration("1h30m")->count(), 5400);
  EXPECT_EQ(parse_duration("4d")->count(), 4 * 86400);
  EXPECT_FALSE(parse_duration("5").ok());
  EXPECT_FALSE(parse_duration("m").ok());
}

TEST(NetParse, EndpointsAndNetworks) {
  EXPECT_EQ(parse_endpoint("[::1]:25")->host, "::1");
  EXPECT_FALSE(parse_endpoint("[::1]25").ok());
  EXPECT_FALSE(parse_endpoint("host.example:25").ok());
  auto n = parse_cidr("192.168.0.0/16");
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->contains(*parse_ip("192.168.255.1")));
  EXPECT_FALSE(n->contains(*parse_ip("192.169.0.1")));
  EXPECT_TRUE(n->contains(*parse_ip("::ffff:192.168.1.1")));  // v4-mapped is the same host
  EXPECT_EQ(n->to_string(), "192.168.0.0/16");
  EXPECT_FALSE(parse_cidr("10.0.0.0/33").ok());
  EXPECT_TRUE(parse_cidr("::/0")->contains(*parse_ip("2001:db8::1")));
}

}  // namespace
}  // namespace nougat::engine
