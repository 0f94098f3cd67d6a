// PersonalSpam: the envelope edit (headers, variables, folder) as a table,
// and the classifier over real per-user LMDB stores: found only when
// trained, the personal verdict over the global one, the limits and the
// failures that keep the global verdict, and a store that outgrew its map
// under an address-space limit.
#include "engine/user_spam.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "scanners/lmdb_store.hpp"
#include "scanners/memory_store.hpp"

namespace nougat::engine {
namespace {

namespace fs = std::filesystem;
using scanners::Classification;
using scanners::SpamVerdict;
using Vars = std::vector<std::pair<std::string, std::string>>;

Classification verdict(SpamVerdict v, double score) {
  Classification c;
  c.verdict = v;
  c.score = score;
  return c;
}

// What the end-of-DATA check left: a virus tag around the spam fields.
Envelope checked(const std::string& folder) {
  Envelope e;
  e.recipients = {"bob@x.test"};
  e.added_headers = {"X-Virus-Scanned: clean", "X-Spam-Score: 0.9990",
                     "x-spam-status: Yes, score=0.999 required=0.990 verdict=spam tokens=9",
                     "X-SPAM-FLAG : YES", "X-Spam-Level: keep me"};
  e.variables = {{"malware_name", ""},
                 {"spam_score", "9.9"},
                 {"spam_score_int", "99"},
                 {"spam_bar", "+++++++++"}};
  e.folder = folder;
  return e;
}

TEST(WithPersonalVerdict, ReplacesTheSpamFieldsInPlace) {
  Config::Spam cfg;
  auto e = with_personal_verdict(checked("Junk"), verdict(SpamVerdict::kHam, 0.0123), cfg);
  ASSERT_EQ(e.added_headers.size(), 5u);
  EXPECT_EQ(e.added_headers[0], "X-Virus-Scanned: clean");
  EXPECT_EQ(e.added_headers[1], "X-Spam-Score: 0.0123");
  EXPECT_EQ(
      e.added_headers[2].rfind("X-Spam-Status: No, score=0.0123 required=0.9900 verdict=ham", 0), 0u)
      << e.added_headers[2];
  EXPECT_EQ(e.added_headers[3], "X-Spam-Flag: NO");
  EXPECT_EQ(e.added_headers[4], "X-Spam-Level: keep me");  // not one of ours
  EXPECT_EQ(e.variables, (Vars{{"malware_name", ""},
                               {"spam_score", "0.1"},
                               {"spam_score_int", "1"},
                               {"spam_bar", "/"}}));
  EXPECT_EQ(e.folder, "");  // the global Junk does not apply to this copy
  EXPECT_EQ(e.recipients, std::vector<std::string>{"bob@x.test"});
}

TEST(WithPersonalVerdict, AddsWhatTheCheckDidNot) {
  Envelope plain;
  // After the virus check's field, before the system filter's: where the
  // Junk trainer looks for our flag.
  plain.added_headers = {"X-Virus: Eicar-Test-Signature", "X-Filtered: by the system filter"};
  auto e = with_personal_verdict(plain, verdict(SpamVerdict::kUnsure, 0.5), Config::Spam{});
  EXPECT_EQ(e.added_headers,
            (std::vector<std::string>{
                "X-Virus: Eicar-Test-Signature", "X-Spam-Score: 0.5000",
                "X-Spam-Status: No, score=0.5000 required=0.9900 verdict=unsure tokens=0",
                "X-Spam-Flag: NO", "X-Filtered: by the system filter"}));
  EXPECT_EQ(e.variables,
            (Vars{{"spam_score", "5.0"}, {"spam_score_int", "50"}, {"spam_bar", "+++++"}}));
}

TEST(WithPersonalVerdict, FolderByVerdictAndAction) {
  struct Row {
    const char* action;
    SpamVerdict v;
    const char* before;
    const char* after;
  } rows[] = {
      {"junk", SpamVerdict::kSpam, "", "Junk"},      {"reject", SpamVerdict::kSpam, "", "Junk"},
      {"tag", SpamVerdict::kSpam, "", ""},           {"junk", SpamVerdict::kHam, "Junk", ""},
      {"junk", SpamVerdict::kUnsure, "Junk", ""},    {"junk", SpamVerdict::kSpam, "Junk", "Junk"},
      {"junk", SpamVerdict::kHam, "Lists", "Lists"},
  };
  for (const auto& r : rows) {
    Config::Spam cfg;
    cfg.action = r.action;
    double score = r.v == SpamVerdict::kSpam ? 0.999 : r.v == SpamVerdict::kHam ? 0.01 : 0.6;
    EXPECT_EQ(with_personal_verdict(checked(r.before), verdict(r.v, score), cfg).folder, r.after)
        << r.action << " " << scanners::verdict_name(r.v) << " from \"" << r.before << "\"";
  }
}

std::string msg(std::string_view subject, std::string_view body) {
  return "From: someone@example.org\r\nSubject: " + std::string(subject) + "\r\n\r\n" +
         std::string(body) + "\r\n";
}

const char* kSpam[] = {
    "buy cheap viagra now limited offer", "cheap pills online best price guaranteed",
    "limited offer make money fast click now", "viagra cialis cheap offer online now"};
const char* kHam[] = {
    "meeting notes for the project review tomorrow", "the build failed on the release branch",
    "lunch tomorrow with the project team", "please review the patch for the parser"};

// `rounds` of each list; `opposite`: the spam list learnt as ham and back.
void train(scanners::TokenStore& store, int rounds, bool opposite) {
  std::vector<scanners::LearnItem> batch;
  for (int i = 0; i < rounds; ++i) {
    for (auto* s : kSpam)
      batch.push_back({scanners::tokenize(msg("offer", s), {}).hashes, !opposite, false});
    for (auto* h : kHam)
      batch.push_back({scanners::tokenize(msg("project", h), {}).hashes, opposite, false});
  }
  ASSERT_TRUE(store.learn(batch).ok());
}

const std::string kOffer = msg("offer", "cheap viagra offer click now make money");

class PersonalSpamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nougat-personal-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    cfg_.store = dir_ / "bayes";
    auto global = std::make_shared<scanners::MemoryStore>();
    train(*global, 4, false);
    global_ = global;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Trains `address`'s own store; the handle is closed on return (one handle
  // per environment and process).
  void train_user(const std::string& address, int rounds, bool opposite) {
    auto d = scanners::user_store_dir(cfg_.store, address);
    ASSERT_TRUE(d.ok());
    auto s = scanners::LmdbStore::open(*d);
    ASSERT_TRUE(s.ok()) << s.error().detail;
    train(**s, rounds, opposite);
  }
  Envelope global_verdict() {
    // As the end-of-DATA check leaves kOffer.
    Config::Spam cfg;
    scanners::Classifier clf(*global_, bayes_params(cfg));
    auto c = clf.classify(kOffer);
    EXPECT_TRUE(c.ok());
    EXPECT_EQ(c->verdict, SpamVerdict::kSpam);
    Envelope e;
    e.recipients = {"bob@x.test"};
    e.added_headers = scanners::spam_headers(*c, bayes_params(cfg));
    e.variables = spam_variables(*c, bayes_params(cfg));
    e.folder = "Junk";
    return e;
  }

  fs::path dir_;
  Config::Spam cfg_;
  std::shared_ptr<const scanners::TokenStore> global_;
};

TEST_F(PersonalSpamTest, OnlyTrainedUsersHaveAStore) {
  PersonalSpam p(global_, cfg_);
  EXPECT_FALSE(p.has_store("bob@x.test"));
  EXPECT_FALSE(p.has_store("../bob@x.test"));
  EXPECT_FALSE(p.has_store(""));
  EXPECT_FALSE(p.envelope_for("id", "bob@x.test", global_verdict(), kOffer).has_value());
  EXPECT_FALSE(fs::exists(cfg_.store / "users"));  // asking creates nothing
  train_user("bob@x.test", 12, true);
  EXPECT_TRUE(p.has_store("bob@x.test"));
  EXPECT_TRUE(p.has_store("Bob@X.test"));
  EXPECT_FALSE(p.has_store("alice@x.test"));
}

TEST_F(PersonalSpamTest, TheUsersStoreOutweighsTheGlobalOne) {
  train_user("bob@x.test", 12, true);
  PersonalSpam p(global_, cfg_);
  auto e = p.envelope_for("id", "bob@x.test", global_verdict(), kOffer);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->folder, "");
  ASSERT_EQ(e->added_headers.size(), 3u);
  EXPECT_EQ(e->added_headers[2], "X-Spam-Flag: NO");
  EXPECT_LT(std::stod(e->added_headers[0].substr(14)), 0.45) << e->added_headers[0];
  EXPECT_EQ(p.counters().ham, 1u);
  // Cached: a second copy reads the same open store.
  ASSERT_TRUE(p.envelope_for("id2", "bob@x.test", global_verdict(), kOffer).has_value());
  EXPECT_EQ(p.counters().ham, 2u);
}

TEST_F(PersonalSpamTest, AStoreReplacedOnDiskIsReopened) {
  train_user("bob@x.test", 12, true);
  PersonalSpam p(global_, cfg_);
  ASSERT_EQ(p.envelope_for("id", "bob@x.test", global_verdict(), kOffer)->folder, "");
  // Deleted and trained anew the usual way round: spam for bob as well.
  fs::remove_all(*scanners::user_store_dir(cfg_.store, "bob@x.test"));
  EXPECT_FALSE(p.has_store("bob@x.test"));
  train_user("bob@x.test", 4, false);
  auto e = p.envelope_for("id", "bob@x.test", global_verdict(), kOffer);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->folder, "Junk");
  EXPECT_EQ(e->added_headers[2], "X-Spam-Flag: YES");
}

TEST_F(PersonalSpamTest, LimitsAndFailuresKeepTheGlobalVerdict) {
  train_user("bob@x.test", 12, true);
  std::string big = msg("offer", std::string(kMaxScanBytes, 'x'));
  PersonalSpam p(global_, cfg_);
  EXPECT_FALSE(p.envelope_for("id", "bob@x.test", global_verdict(), big).has_value());
  EXPECT_EQ(p.counters().skipped, 1u);

  {  // p has not opened bob's store (too big: not even looked at), so this may
    PersonalSpam failing(std::make_shared<scanners::MemoryStore>(/*fail=*/true), cfg_);
    EXPECT_FALSE(failing.envelope_for("id", "bob@x.test", global_verdict(), kOffer).has_value());
    EXPECT_EQ(failing.counters().error, 1u);
  }

  // Measured as sent, as the global check does: our Received field on top
  // does not push a message over the limit.
  const std::string head = "From: someone@example.org\r\nSubject: offer\r\n\r\n";
  std::string at_limit = "Received: from client\r\n\tby us; now\r\n" + head +
                         std::string(kMaxScanBytes - head.size(), 'x');
  EXPECT_TRUE(p.classify_for("id", "bob@x.test", at_limit).has_value());
  EXPECT_FALSE(p.classify_for("id", "bob@x.test", at_limit + "x").has_value());

  // A data.mdb that is no LMDB environment.
  auto carol = *scanners::user_store_dir(cfg_.store, "carol@x.test");
  fs::create_directories(carol);
  { std::ofstream(carol / "data.mdb") << "not a database"; }
  EXPECT_TRUE(p.has_store("carol@x.test"));
  EXPECT_FALSE(p.envelope_for("id", "carol@x.test", global_verdict(), kOffer).has_value());
  EXPECT_EQ(p.counters().error, 1u);
}

// Under an address-space limit a reader maps about twice its store's file.
// When training grows the file past that map, the next classification
// grows the map and goes on (LmdbStore's MDB_MAP_RESIZED recovery; before
// it, one classification failed and the store was reopened, and the global
// store — never reopened — failed for good). The reader runs in a child
// process under `ulimit -v`; this process, unlimited, trains meanwhile.
TEST_F(PersonalSpamTest, AStoreGrownPastItsMapIsRemapped) {
  train_user("bob@x.test", 12, true);
  const Envelope accepted = global_verdict();
  int up[2], down[2];
  ASSERT_EQ(::pipe(up), 0);
  ASSERT_EQ(::pipe(down), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    size_t vm_kb = 0;  // what the process maps already, plus room for a store
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.starts_with("VmSize:")) vm_kb = std::stoul(line.substr(7));
    struct rlimit rl {};
    rl.rlim_cur = rl.rlim_max = vm_kb * 1024 + (size_t(1) << 30);
    if (vm_kb == 0 || ::setrlimit(RLIMIT_AS, &rl) != 0) ::_exit(2);
    int code = 0;
    PersonalSpam p(global_, cfg_);
    auto before = p.envelope_for("id1", "bob@x.test", accepted, kOffer);
    if (!before || before->folder != "") code |= 4;
    char c = 0;
    if (::write(up[1], "1", 1) != 1 || ::read(down[0], &c, 1) != 1) ::_exit(3);
    for (const char* id : {"id2", "id3"}) {
      auto after = p.envelope_for(id, "bob@x.test", accepted, kOffer);
      if (!after || after->folder != "" || p.counters().error != 0) code |= 8;
    }
    ::_exit(code);
  }
  char c = 0;
  ASSERT_EQ(::read(up[0], &c, 1), 1);
  {  // past the reader's map (at least 64 MiB): 3M tokens of nothing in particular
    auto d = scanners::user_store_dir(cfg_.store, "bob@x.test");
    auto s = scanners::LmdbStore::open(*d);
    ASSERT_TRUE(s.ok()) << s.error().detail;
    std::vector<scanners::LearnItem> batch(1);
    batch[0].spam = false;
    for (uint64_t i = 0; i < 3'000'000; ++i) batch[0].tokens.push_back(0x9e3779b97f4a7c15ULL * (i + 1));
    ASSERT_TRUE((*s)->learn(batch).ok());
  }
  EXPECT_GT(fs::file_size(*scanners::user_store_dir(cfg_.store, "bob@x.test") / "data.mdb"), uint64_t(64) << 20);
  ASSERT_EQ(::write(down[1], "1", 1), 1);
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "4: first verdict, 8: a verdict after the growth failed";
  for (int f : {up[0], up[1], down[0], down[1]}) ::close(f);
}

}  // namespace
}  // namespace nougat::engine
