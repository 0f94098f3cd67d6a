#include "scanners/clamav.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

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
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("skipped"), std::string::npos);
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
    EXPECT_NE(r.error.find("temporary"), std::string::npos) << r.error;
  }
  fs::create_directory(o.tmpdir);  // and the engine makes its own below it again
  EXPECT_TRUE((*e)->scan(bad).is_virus());
  EXPECT_EQ((*e)->scan(good).status, ScanResult::Status::kClean);
}

// Each process unpacks in a directory of its own, gone with the engine;
// one left by a process that died mid-scan goes at the next start.
TEST(Clamav, ScratchDirectoryIsOwnAndCleanedUp) {
  TempDir d;
  fs::create_directories(d.path / "nougat-scan.999999999.3" / "20261128-scantemp.x");
  std::ofstream(d.path / "nougat-scan.999999999.3" / "20261128-scantemp.x" / "part") << "left over";
  fs::create_directory(d.path / "nougat-scan.1");  // pid 1 runs: not ours to take
  fs::create_directory(d.path / "other");
  AntivirusOptions o = options({test_rules_dir()});
  o.tmpdir = d.path;
  {
    auto e = ClamavEngine::open(o);
    ASSERT_TRUE(e) << e.error().text;
    EXPECT_FALSE(fs::exists(d.path / "nougat-scan.999999999.3"));
    fs::path mine;
    for (const auto& ent : fs::directory_iterator(d.path))
      if (ent.path().filename().string().starts_with("nougat-scan." + std::to_string(::getpid()) + "."))
        mine = ent.path();
    ASSERT_TRUE(fs::is_directory(mine));
    // A second engine in the same process has a directory of its own.
    auto other = ClamavEngine::open(o);
    ASSERT_TRUE(other);
    other->reset();
    EXPECT_TRUE(fs::is_directory(mine));
    EXPECT_TRUE((*e)->scan(message_with_attachment("eicar.zip", zip({{"e.com", eicar()}}))).is_virus());
    EXPECT_TRUE(fs::is_empty(mine));  // libclamav removed its per-scan directory
  }
  std::vector<fs::path> left;
  for (const auto& ent : fs::directory_iterator(d.path)) left.push_back(ent.path().filename());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<fs::path>{"nougat-scan.1", "other"}));
}

// A corrupt archive makes libclamav complain, but it looked: clean, as
// clamd and clamscan say — a 451 would defer the message until it bounced.
TEST(Clamav, ACorruptAttachmentIsNoScanFailure) {
  std::string xz("\xfd" "7zXZ", 5);
  xz += '\0';
  for (int i = 0; i < 4000; ++i) xz += char((i * 7919 + 13) & 0xff);
  auto r = engine().scan(message_with_attachment("broken.xz", xz));
  EXPECT_EQ(r.status, ScanResult::Status::kClean) << r.error;
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
