#include "scanners/clamav.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tests/scanners/av_fixtures.hpp"

namespace nougat::scanners {
namespace {

using namespace testing;
namespace fs = std::filesystem;

constexpr const char* kEicarName = "Nougat.Test.EICAR.UNOFFICIAL";
constexpr const char* kClamName = "Nougat.Test.ClamAVTestFile.UNOFFICIAL";
const fs::path kClamExe = "/usr/share/clamav-testfiles/clam.exe";

// A test engine's options: these signatures, no polling.
AntivirusOptions options(std::vector<fs::path> signatures) {
  AntivirusOptions o;
  o.signatures = std::move(signatures);
  o.poll_interval = std::chrono::milliseconds(0);
  return o;
}

// Loaded once for the whole test binary.
ClamavEngine& engine() {
  static std::unique_ptr<ClamavEngine> e = [] {
    auto r = ClamavEngine::open(options({test_rules_dir()}));
    if (!r) throw std::runtime_error(r.error().text);
    return std::move(*r);
  }();
  return *e;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/nougat-clamav-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

TEST(Clamav, LoadsTheShippedTestSignatures) {
  EXPECT_GE(engine().signature_count(), 2u);
  EXPECT_NE(engine().describe().find("rules/clamav"), std::string::npos);
}

TEST(Clamav, DefaultDirsSkipMissingAndEmptyDirectories) {
  TempDir empty;
  std::vector<std::string> logged;
  AntivirusOptions o = options({"/nonexistent/clamav", empty.path, test_rules_dir()});
  o.log = [&](std::string_view l) { logged.emplace_back(l); };
  auto e = ClamavEngine::open(o);
  ASSERT_TRUE(e) << e.error().text;
  EXPECT_GE((*e)->signature_count(), 2u);
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_NE(logged[0].find("skipped"), std::string::npos);
  // What is left is a handful: a warning says so, and what to install.
  EXPECT_NE(logged[1].find("warning: only"), std::string::npos) << logged[1];
  EXPECT_NE(logged[1].find("clamav-freshclam"), std::string::npos) << logged[1];
}

TEST(Clamav, NoSignaturesAnywhereIsAnError) {
  TempDir empty;
  AntivirusOptions o;
  o.signatures = {"/nonexistent/clamav", empty.path};
  auto e = ClamavEngine::open(o);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().text.find("no ClamAV signatures found"), std::string::npos) << e.error().text;
}

TEST(Clamav, BrokenSignatureFileIsAnError) {
  TempDir d;
  std::ofstream(d.path / "bad.ndb") << "this is not a signature\n";
  AntivirusOptions o;
  o.signatures = {d.path};
  auto e = ClamavEngine::open(o);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().text.find("cannot load"), std::string::npos) << e.error().text;
}

TEST(Clamav, TemporaryDirectory) {
  TempDir d;
  AntivirusOptions o = options({test_rules_dir()});
  o.tmpdir = d.path / "missing";
  EXPECT_FALSE(ClamavEngine::open(o));
  o.tmpdir = d.path;
  auto e = ClamavEngine::open(o);
  ASSERT_TRUE(e) << e.error().text;
  EXPECT_TRUE((*e)->scan(message_with_attachment("eicar.zip", zip({{"e.com", eicar()}}))).is_virus());
}

TEST(Clamav, CleanMessages) {
  EXPECT_EQ(engine().scan("").status, ScanResult::Status::kClean);
  EXPECT_EQ(engine().scan(plain_message("hello")).status, ScanResult::Status::kClean);
  auto innocent = zip({{"notes.txt", "just some notes\n"}, {"more.txt", std::string(5000, 'a')}});
  auto r = engine().scan(message_with_attachment("notes.zip", innocent, "application/zip"));
  EXPECT_EQ(r.status, ScanResult::Status::kClean) << r.virus << r.error;
}

TEST(Clamav, FindsEicarInThePlainBody) {
  auto r = engine().scan(plain_message(eicar()));
  ASSERT_TRUE(r.is_virus()) << r.error;
  EXPECT_EQ(r.virus, kEicarName);
}

TEST(Clamav, FindsEicarInABase64Attachment) {
  auto r = engine().scan(message_with_attachment("eicar.com", eicar()));
  ASSERT_TRUE(r.is_virus()) << r.error;
  EXPECT_EQ(r.virus, kEicarName);
}

TEST(Clamav, FindsEicarInAZipAttachment) {
  auto r = engine().scan(message_with_attachment("eicar.zip", zip({{"eicar.com", eicar()}}), "application/zip"));
  ASSERT_TRUE(r.is_virus()) << r.error;
  EXPECT_EQ(r.virus, kEicarName);
}

TEST(Clamav, FindsEicarInAZipInsideAZip) {
  auto inner = zip({{"readme.txt", "hello\n"}, {"eicar.com", eicar()}});
  auto outer = zip({{"inner.zip", inner}});
  auto r = engine().scan(message_with_attachment("outer.zip", outer, "application/zip"));
  ASSERT_TRUE(r.is_virus()) << r.error;
  EXPECT_EQ(r.virus, kEicarName);
}

TEST(Clamav, FindsTheClamavTestFileInAnAttachment) {
  if (!fs::exists(kClamExe)) GTEST_SKIP() << "clamav-testfiles not installed";
  auto r = engine().scan(message_with_attachment("clam.exe", read_file(kClamExe)));
  ASSERT_TRUE(r.is_virus()) << r.error;
  EXPECT_EQ(r.virus, kClamName);
  r = engine().scan(message_with_attachment("clam.zip", read_file("/usr/share/clamav-testfiles/clam.zip")));
  ASSERT_TRUE(r.is_virus()) << r.error;
  EXPECT_EQ(r.virus, kClamName);
}

TEST(Clamav, LargerThanMaxSizeIsNotScanned) {
  AntivirusOptions o = options({test_rules_dir()});
  o.max_size = 64;
  auto e = ClamavEngine::open(o);
  ASSERT_TRUE(e);
  EXPECT_FALSE((*e)->scan(plain_message(eicar())).is_virus());
}

TEST(Clamav, ConcurrentScansAgreeWithSerialOnes) {
  const std::string bad = message_with_attachment("eicar.zip", zip({{"e.com", eicar()}}));
  const std::string good = message_with_attachment("ok.zip", zip({{"ok.txt", "fine"}}));
  std::atomic<int> wrong{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (!engine().scan(bad).is_virus()) ++wrong;
        if (engine().scan(good).status != ScanResult::Status::kClean) ++wrong;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

// Signatures change on disk: the watcher's poll step swaps in a new engine;
// scans running meanwhile keep working on the old one.
TEST(Clamav, ReloadsWhenSignaturesChangeWithoutStoppingScans) {
  TempDir d;
  fs::copy_file(test_rules_dir() / "nougat-test.hdb", d.path / "a.hdb");
  AntivirusOptions o = options({d.path});
  std::mutex log_mu;
  std::vector<std::string> logged;
  o.log = [&](std::string_view line) {
    std::lock_guard lock(log_mu);
    logged.emplace_back(line);
  };
  auto opened = ClamavEngine::open(o);
  ASSERT_TRUE(opened) << opened.error().text;
  auto& e = **opened;
  const std::string msg = message_with_attachment("eicar.com", eicar());
  EXPECT_FALSE(e.scan(msg).is_virus());
  EXPECT_FALSE(e.reload_if_changed());

  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::thread scanner([&] {
    while (!stop) if (e.scan(msg).is_error()) ++errors;
  });
  fs::copy_file(test_rules_dir() / "nougat-test.ndb", d.path / "b.ndb");
  EXPECT_TRUE(e.reload_if_changed());
  EXPECT_EQ(e.generation(), 2u);
  EXPECT_TRUE(e.scan(msg).is_virus());
  // A broken file: the reload fails, the old signatures stay, and the same
  // broken state is not retried on every poll.
  std::ofstream(d.path / "c.ndb") << "garbage\n";
  EXPECT_TRUE(e.reload_if_changed());
  EXPECT_FALSE(e.reload_if_changed());
  {  // the log names the file at fault, not just the directory
    std::lock_guard lock(log_mu);
    ASSERT_FALSE(logged.empty());
    EXPECT_NE(logged.back().find("reload failed"), std::string::npos) << logged.back();
    EXPECT_NE(logged.back().find((d.path / "c.ndb").string()), std::string::npos) << logged.back();
  }
  EXPECT_EQ(e.generation(), 2u);
  EXPECT_TRUE(e.scan(msg).is_virus());
  stop = true;
  scanner.join();
  EXPECT_EQ(errors.load(), 0);
  fs::remove(d.path / "c.ndb");
  ASSERT_TRUE(e.reload());
  EXPECT_EQ(e.generation(), 3u);
}

TEST(Clamav, WatcherThreadPicksUpChanges) {
  TempDir d;
  fs::copy_file(test_rules_dir() / "nougat-test.hdb", d.path / "a.hdb");
  AntivirusOptions o;
  o.signatures = {d.path};
  o.poll_interval = std::chrono::milliseconds(20);
  auto e = ClamavEngine::open(o);
  ASSERT_TRUE(e);
  fs::copy_file(test_rules_dir() / "nougat-test.ndb", d.path / "b.ndb");
  for (int i = 0; i < 200 && (*e)->generation() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ((*e)->generation(), 2u);
  EXPECT_TRUE((*e)->scan(plain_message(eicar())).is_virus());
}

// libclamav answers CL_CLEAN when it could not look: without its temporary
// directory (or with a full one) it unpacks nothing. That is a failed scan.
TEST(Clamav, AScanThatCannotUnpackFailsInsteadOfPassing) {
  TempDir d;
  AntivirusOptions o = options({test_rules_dir()});
  o.tmpdir = d.path / "scratch";
  fs::create_directory(o.tmpdir);
  auto e = ClamavEngine::open(o);
  ASSERT_TRUE(e) << e.error().text;
  const std::string bad = message_with_attachment("eicar.zip", zip({{"e.com", eicar()}}));
  const std::string good = message_with_attachment("ok.zip", zip({{"ok.txt", "fine"}}));
  ASSERT_TRUE((*e)->scan(bad).is_virus());
  fs::remove_all(o.tmpdir);
  for (const auto* m : {&bad, &good}) {
    auto r = (*e)->scan(*m);
    ASSERT_TRUE(r.is_error()) << int(r.status);
    EXPECT_NE(r.error.find("scratch directory"), std::string::npos) << r.error;
  }
  // The directory back: the next scan asks for a new engine, which makes
  // its own scratch directory below it again.
  fs::create_directory(o.tmpdir);
  for (int i = 0; i < 500 && !(*e)->scan(bad).is_virus(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE((*e)->scan(bad).is_virus());
  EXPECT_EQ((*e)->scan(good).status, ScanResult::Status::kClean);
}

// libclamav that cannot write a decoded part (a full file system; here a
// file size limit) only says so in an error message and answers "clean".
TEST(Clamav, AScanThatCannotWriteItsPartsFails) {
  std::string payload(256 * 1024, 'x');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = char('a' + (i * 7 + i / 13) % 26);
  const std::string bad = message_with_attachment("big.bin", payload + eicar());
  ASSERT_TRUE(engine().scan(bad).is_virus());
  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 16 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto r = engine().scan(bad);
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_TRUE(r.is_error()) << int(r.status) << " " << r.virus;
  EXPECT_NE(r.error.find("could not look"), std::string::npos) << r.error;
  auto again = engine().scan(bad);
  EXPECT_TRUE(again.is_virus()) << int(again.status) << " " << again.error;
}

// A scratch directory replaced by a symbolic link (libclamav would write,
// chmod and delete there as us): no scan until a new engine has its own.
TEST(Clamav, AReplacedScratchDirectoryIsNotUsed) {
  TempDir d, elsewhere;
  AntivirusOptions o = options({test_rules_dir()});
  o.tmpdir = d.path;
  auto e = ClamavEngine::open(o);
  ASSERT_TRUE(e) << e.error().text;
  fs::path mine = fs::directory_iterator(d.path)->path();
  fs::remove(mine);
  fs::create_directory_symlink(elsewhere.path, mine);
  const std::string bad = message_with_attachment("eicar.zip", zip({{"e.com", eicar()}}));
  EXPECT_TRUE((*e)->scan(bad).is_error());
  for (int i = 0; i < 500 && !(*e)->scan(bad).is_virus(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE((*e)->scan(bad).is_virus());
  EXPECT_TRUE(fs::is_empty(elsewhere.path));
}

// Each engine unpacks in a directory of its own, locked while it lives and
// gone with it; one nobody holds (its process died mid-scan) goes when the
// next engine is made; one another engine holds stays.
TEST(Clamav, ScratchDirectoryIsOwnAndCleanedUp) {
  TempDir d;
  fs::create_directories(d.path / "nougat-scan.dead01" / "20261128-scantemp.x");
  std::ofstream(d.path / "nougat-scan.dead01" / "20261128-scantemp.x" / "part") << "left over";
  fs::create_directory(d.path / "nougat-scan.held01");
  int held = ::open((d.path / "nougat-scan.held01").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::flock(held, LOCK_EX), 0);
  fs::create_directory(d.path / "other");
  auto names = [&] {
    std::vector<std::string> v;
    for (const auto& ent : fs::directory_iterator(d.path)) v.push_back(ent.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  };
  AntivirusOptions o = options({test_rules_dir()});
  o.tmpdir = d.path;
  {
    auto e = ClamavEngine::open(o);
    ASSERT_TRUE(e) << e.error().text;
    auto now = names();
    ASSERT_EQ(now.size(), 3u);  // ours, the held one, other
    std::erase(now, "nougat-scan.held01");
    std::erase(now, "other");
    ASSERT_EQ(now.size(), 1u);
    ASSERT_TRUE(now[0].starts_with("nougat-scan."));
    fs::path mine = d.path / now[0];
    EXPECT_EQ(fs::status(mine).permissions() & fs::perms::all, fs::perms::owner_all);
    auto other = ClamavEngine::open(o);  // a second engine: a directory of its own
    ASSERT_TRUE(other);
    EXPECT_EQ(names().size(), 4u);
    other->reset();
    EXPECT_TRUE(fs::is_directory(mine));
    EXPECT_TRUE((*e)->scan(message_with_attachment("eicar.zip", zip({{"e.com", eicar()}}))).is_virus());
    EXPECT_TRUE(fs::is_empty(mine));  // libclamav removed its per-scan directory
  }
  EXPECT_EQ(names(), (std::vector<std::string>{"nougat-scan.held01", "other"}));
  ::close(held);
}

// libclamav's own limits (100 MB a file) would pass a bigger message
// unscanned as clean; what max_size admits is scanned whole.
TEST(Clamav, MessagesAboveTheLibraryDefaultLimitAreScanned) {
  AntivirusOptions o = options({test_rules_dir()});
  o.max_size = 200ull << 20;
  auto e = ClamavEngine::open(o);
  ASSERT_TRUE(e);
  std::string big = eicar() + std::string(110u << 20, '\n');
  EXPECT_TRUE((*e)->scan(big).is_virus());
}

// An archive nested deeper than libclamav unpacks: not looked at, as in
// clamd; with alert_exceeds_max it is a find (clamd's AlertExceedsMax).
TEST(Clamav, WhatExceedsTheLimitsIsAFindOnlyWhenAsked) {
  std::string nested = "nothing to see\n";
  for (int i = 0; i < 24; ++i) nested = zip({{"level" + std::to_string(i) + ".zip", nested}});
  const std::string m = message_with_attachment("deep.zip", nested, "application/zip");
  EXPECT_FALSE(engine().scan(m).is_virus());
  AntivirusOptions o = options({test_rules_dir()});
  o.alert_exceeds_max = true;
  auto e = ClamavEngine::open(o);
  ASSERT_TRUE(e) << e.error().text;
  auto r = (*e)->scan(m);
  ASSERT_TRUE(r.is_virus()) << r.error;
  EXPECT_THAT(r.virus, ::testing::StartsWith("Heuristics.Limits.Exceeded."));
  // Within the limits nothing changes.
  EXPECT_EQ((*e)->scan(message_with_attachment("ok.zip", zip({{"ok.txt", "fine"}}))).status, ScanResult::Status::kClean);
}

TEST(Clamav, DatabaseExtensionsInAnyCase) {
  TempDir d;
  fs::copy_file(test_rules_dir() / "nougat-test.ndb", d.path / "LOCAL.NDB");
  AntivirusOptions o = options({d.path});
  auto e = ClamavEngine::open(o);
  ASSERT_TRUE(e) << e.error().text;
  EXPECT_TRUE((*e)->scan(plain_message(eicar())).is_virus());
}

// SIGHUP's way: the request returns at once, the watcher thread reloads.
TEST(Clamav, RequestedReloadRunsInTheBackground) {
  TempDir d;
  fs::copy_file(test_rules_dir() / "nougat-test.hdb", d.path / "a.hdb");
  AntivirusOptions o;
  o.signatures = {d.path};
  o.poll_interval = std::chrono::milliseconds(0);  // no polling: only the request
  auto e = ClamavEngine::open(o);
  ASSERT_TRUE(e);
  fs::copy_file(test_rules_dir() / "nougat-test.ndb", d.path / "b.ndb");
  for (int i = 0; i < 5; ++i) (*e)->request_reload();
  for (int i = 0; i < 500 && !(*e)->scan(plain_message(eicar())).is_virus(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE((*e)->scan(plain_message(eicar())).is_virus());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Five requests while the first ran: at most one more reload, not five.
  EXPECT_GE((*e)->generation(), 2u);
  EXPECT_LE((*e)->generation(), 3u);
}

}  // namespace
}  // namespace nougat::scanners
