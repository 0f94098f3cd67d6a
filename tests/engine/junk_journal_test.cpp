#include "engine/junk_journal.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace nougat::engine {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct ParseCase {
  std::string text;
  std::vector<std::pair<std::string, Trained>> expect;  // key → state, every key of the result
  std::vector<std::string> problems;                    // after "J:"
};

TEST(JunkJournalParse, Table) {
  const ParseCase cases[] = {
      {"", {}, {}},
      {"# nougat junk journal 1\n", {}, {}},
      {"1 spam <a@x>\n2 ham body:00ff\n",
       {{"<a@x>", Trained::kSpam}, {"body:00ff", Trained::kHam}},
       {}},
      // The last line of a key wins, "none" included.
      {"1 spam <a@x>\n2 none <a@x>\n3 ham <a@x>\n4 spam <b@x>\n5 none <b@x>\n",
       {{"<a@x>", Trained::kHam}, {"<b@x>", Trained::kNone}},
       {}},
      // Corrupt lines are skipped and reported with their number.
      {"1 spam <a@x>\nnonsense\n-4 ham <b@x>\nx spam <c@x>\n5 maybe <d@x>\n6 ham <e f>\n7 ham "
       "<g@x>\n",
       {{"<a@x>", Trained::kSpam}, {"<g@x>", Trained::kHam}},
       {"2: expected TIME STATE KEY", "3: bad time", "4: bad time",
        "5: unknown state (none, spam or ham)", "6: bad message key"}},
      // A torn last line (a crash in the middle of an append).
      {"1 spam <a@x>\n2 ham <b", {{"<a@x>", Trained::kSpam}}, {"2: incomplete last line"}},
  };
  for (const auto& c : cases) {
    auto r = JunkJournal::parse(c.text, "J");
    std::vector<std::pair<std::string, Trained>> got;
    for (const auto& [k, e] : r.entries) got.emplace_back(k, e.state);
    EXPECT_EQ(got, c.expect) << c.text;
    std::vector<std::string> want;
    for (const auto& p : c.problems) want.push_back("J:" + p);
    EXPECT_EQ(r.problems, want) << c.text;
  }
}

TEST(JunkJournalParse, CompactedKeepsTheLatestLiveStateOnly) {
  auto r = JunkJournal::parse(
      "1 spam <a@x>\n2 none <a@x>\n3 ham <b@x>\n4 spam <c@x>\n5 ham <c@x>\n", "J");
  EXPECT_EQ(JunkJournal::compacted(r.entries),
            "# nougat junk journal 1\n3 ham <b@x>\n5 ham <c@x>\n");
  auto again = JunkJournal::parse(JunkJournal::compacted(r.entries), "J");
  EXPECT_TRUE(again.problems.empty());
  EXPECT_EQ(again.entries.size(), 2u);
}

class JunkJournalFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nougat-journal-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    file_ = dir_ / "users" / "alice@localhost" / "junk-journal";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_, file_;
};

TEST_F(JunkJournalFile, RecordsDurablyAndReloads) {
  JunkJournal j(file_);
  auto p = j.load();  // missing: empty, and nothing created yet
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->empty());
  EXPECT_FALSE(fs::exists(file_));
  ASSERT_TRUE(j.record({{"<a@x>", Trained::kSpam}, {"<b@x>", Trained::kHam}}, 100).ok());
  ASSERT_TRUE(j.record({{"<a@x>", Trained::kNone}}, 101).ok());
  EXPECT_EQ(slurp(file_),
            "# nougat junk journal 1\n100 spam <a@x>\n100 ham <b@x>\n101 none <a@x>\n");
  EXPECT_EQ(fs::status(file_).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  JunkJournal k(file_);
  ASSERT_TRUE(k.load().ok());
  EXPECT_EQ(k.state("<a@x>"), Trained::kNone);
  EXPECT_EQ(k.state("<b@x>"), Trained::kHam);
  EXPECT_EQ(k.state("<never@x>"), Trained::kNone);
  EXPECT_EQ(k.lines(), 3u);
  EXPECT_EQ(k.live(), 1u);
}

TEST_F(JunkJournalFile, CorruptLinesAreRepairedOnLoad) {
  fs::create_directories(file_.parent_path());
  std::ofstream(file_) << "# nougat junk journal 1\n1 spam <a@x>\ngarbage\n2 ham <b";  // torn tail
  JunkJournal j(file_);
  auto p = j.load();
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0], file_.string() + ":3: expected TIME STATE KEY");
  EXPECT_EQ((*p)[1], file_.string() + ":4: incomplete last line");
  // Rewritten clean, so the next append starts on a line of its own.
  EXPECT_EQ(slurp(file_), "# nougat junk journal 1\n1 spam <a@x>\n");
  ASSERT_TRUE(j.record({{"<c@x>", Trained::kHam}}, 3).ok());
  JunkJournal k(file_);
  auto q = k.load();
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->empty());
  EXPECT_EQ(k.state("<c@x>"), Trained::kHam);
}

// The file stays bounded by the live keys, however often minds change.
TEST_F(JunkJournalFile, CompactsWhenItGrows) {
  JunkJournal j(file_);
  ASSERT_TRUE(j.load().ok());
  for (int b = 0; b < 60; ++b) {  // 3,000 changes, 50 per batch (one fsync each)
    std::vector<std::pair<std::string, Trained>> changes;
    for (int i = b * 50; i < b * 50 + 50; ++i)
      changes.emplace_back("<" + std::to_string(i / 2 % 10) + "@x>",
                           i % 2 ? Trained::kNone : Trained::kSpam);
    ASSERT_TRUE(j.record(changes, b).ok());
    ASSERT_LE(j.lines(), JunkJournal::kCompactMinLines);
  }
  // Each key goes spam, none, spam, none…, ending on "none": nothing is live.
  EXPECT_EQ(j.live(), 0u);
  JunkJournal k(file_);
  ASSERT_TRUE(k.load().ok());
  EXPECT_LE(k.lines(), JunkJournal::kCompactMinLines);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(k.state("<" + std::to_string(i) + "@x>"), Trained::kNone);
  EXPECT_FALSE(fs::exists(file_.string() + ".tmp." + std::to_string(::getpid())));
}

TEST_F(JunkJournalFile, UnreadableOrHugeIsAnError) {
  fs::create_directories(file_);  // a directory in its place
  JunkJournal j(file_);
  EXPECT_FALSE(j.load().ok());
  fs::remove(file_);
  {
    std::ofstream out(file_);
    out.seekp(std::streamoff(kMaxJournalBytes) + 1);
    out << "x";
  }
  auto r = j.load();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().text, "junk journal too large");
}

}  // namespace
}  // namespace nougat::engine
