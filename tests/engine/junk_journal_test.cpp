#include "engine/junk_journal.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <ostream>
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

struct Want {
  std::string key;
  Trained state;
  bool pending = false;
  bool operator==(const Want&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Want& w) {
  return os << "{" << w.key << " " << trained_name(w.state) << (w.pending ? " pending" : "") << "}";
}

std::vector<Want> wants(const JunkJournal::Map& entries) {
  std::vector<Want> got;
  for (const auto& [k, e] : entries) got.push_back({k, e.state, e.pending});
  return got;
}

struct ParseCase {
  std::string text;
  std::vector<Want> expect;           // every key of the result
  std::vector<std::string> problems;  // after "J:"
};

TEST(JunkJournalParse, Table) {
  const std::string unknown = "unknown state (none, spam, ham, spam-pending or ham-pending)";
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
      // A learn written ahead and not confirmed (yet).
      {"1 spam-pending <a@x>\n2 ham-pending body:00ff\n",
       {{"<a@x>", Trained::kSpam, true}, {"body:00ff", Trained::kHam, true}},
       {}},
      // Confirmed, undone, or pending again: the last line wins here too.
      {"1 spam-pending <a@x>\n2 spam <a@x>\n3 ham-pending <b@x>\n4 none <b@x>\n"
       "5 ham <c@x>\n6 spam-pending <c@x>\n",
       {{"<a@x>", Trained::kSpam}, {"<b@x>", Trained::kNone}, {"<c@x>", Trained::kSpam, true}},
       {}},
      // Only a class can be pending, spelt exactly so.
      {"1 none-pending <a@x>\n2 pending <b@x>\n3 -pending <c@x>\n4 spam-pending-pending <d@x>\n"
       "5 spampending <e@x>\n6 Spam-pending <f@x>\n7 ham-Pending <g@x>\n8 spam- <h@x>\n"
       "9 ham-pending <i@x>\n",
       {{"<i@x>", Trained::kHam, true}},
       {"1: " + unknown, "2: " + unknown, "3: " + unknown, "4: " + unknown, "5: " + unknown,
        "6: " + unknown, "7: " + unknown, "8: " + unknown}},
      // Corrupt lines are skipped and reported with their number.
      {"1 spam <a@x>\nnonsense\n-4 ham <b@x>\nx spam <c@x>\n5 maybe <d@x>\n6 ham <e f>\n7 ham "
       "<g@x>\n",
       {{"<a@x>", Trained::kSpam}, {"<g@x>", Trained::kHam}},
       {"2: expected TIME STATE KEY", "3: bad time", "4: bad time", "5: " + unknown,
        "6: bad message key"}},
      // A torn last line (a crash in the middle of an append).
      {"1 spam <a@x>\n2 ham <b", {{"<a@x>", Trained::kSpam}}, {"2: incomplete last line"}},
      {"1 spam-pending <a@x>\n2 spam-pen",
       {{"<a@x>", Trained::kSpam, true}},
       {"2: incomplete last line"}},
  };
  for (const auto& c : cases) {
    auto r = JunkJournal::parse(c.text, "J");
    EXPECT_EQ(wants(r.entries), c.expect) << c.text;
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

TEST(JunkJournalParse, CompactedKeepsPendingLearnsPending) {
  auto r = JunkJournal::parse(
      "1 spam-pending <a@x>\n2 ham-pending <b@x>\n3 ham <b@x>\n4 spam <c@x>\n"
      "5 ham-pending <c@x>\n6 spam-pending <d@x>\n7 none <d@x>\n",
      "J");
  EXPECT_EQ(JunkJournal::compacted(r.entries),
            "# nougat junk journal 1\n1 spam-pending <a@x>\n3 ham <b@x>\n5 ham-pending <c@x>\n");
  auto again = JunkJournal::parse(JunkJournal::compacted(r.entries), "J");
  EXPECT_TRUE(again.problems.empty());
  EXPECT_EQ(wants(again.entries), (std::vector<Want>{{"<a@x>", Trained::kSpam, true},
                                                     {"<b@x>", Trained::kHam, false},
                                                     {"<c@x>", Trained::kHam, true}}));
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
  EXPECT_FALSE(j.pending("<b@x>"));
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

// A learn written ahead stays pending across a reload until a line
// confirms it; restoring an earlier entry restores its pending flag too.
TEST_F(JunkJournalFile, PendingSurvivesAReloadUntilConfirmed) {
  {
    JunkJournal j(file_);
    ASSERT_TRUE(j.load().ok());
    ASSERT_TRUE(
        j.record({{"<a@x>", Trained::kSpam, true}, {"<b@x>", Trained::kHam, true}}, 100).ok());
    EXPECT_EQ(j.state("<a@x>"), Trained::kSpam);
    EXPECT_TRUE(j.pending("<a@x>"));
    EXPECT_EQ(j.live(), 2u);
  }  // a crash: nothing confirmed
  EXPECT_EQ(slurp(file_),
            "# nougat junk journal 1\n100 spam-pending <a@x>\n100 ham-pending <b@x>\n");
  JunkJournal j(file_);
  auto p = j.load();
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->empty());
  EXPECT_EQ(j.state("<a@x>"), Trained::kSpam);
  EXPECT_TRUE(j.pending("<a@x>"));
  EXPECT_EQ(j.state("<b@x>"), Trained::kHam);
  EXPECT_TRUE(j.pending("<b@x>"));
  EXPECT_FALSE(j.pending("<never@x>"));

  auto before = j.current("<b@x>");
  ASSERT_TRUE(j.record({{"<a@x>", Trained::kSpam}, {"<b@x>", Trained::kNone}}, 101).ok());
  EXPECT_EQ(j.state("<a@x>"), Trained::kSpam);
  EXPECT_FALSE(j.pending("<a@x>"));
  EXPECT_FALSE(j.pending("<b@x>"));
  ASSERT_TRUE(j.record({before}, 102).ok());  // back to ham-pending
  EXPECT_TRUE(j.pending("<b@x>"));

  JunkJournal k(file_);
  ASSERT_TRUE(k.load().ok());
  EXPECT_EQ(k.state("<a@x>"), Trained::kSpam);
  EXPECT_FALSE(k.pending("<a@x>"));
  EXPECT_EQ(k.state("<b@x>"), Trained::kHam);
  EXPECT_TRUE(k.pending("<b@x>"));
}

// Compaction keeps what is pending pending.
TEST_F(JunkJournalFile, CompactionKeepsPending) {
  JunkJournal j(file_);
  ASSERT_TRUE(j.load().ok());
  ASSERT_TRUE(j.record({{"<p@x>", Trained::kSpam, true}, {"<c@x>", Trained::kHam}}, 1).ok());
  for (int b = 0; b < 30; ++b) {  // churn on other keys until the file is compacted
    std::vector<JunkJournal::Change> changes;
    for (int i = 0; i < 50; ++i)
      changes.push_back(
          {"<" + std::to_string(i) + "@x>", b % 2 ? Trained::kNone : Trained::kSpam, b % 2 == 0});
    ASSERT_TRUE(j.record(changes, 2 + b).ok());
  }
  EXPECT_LT(j.lines(), 1500u);  // compacted at least once
  JunkJournal k(file_);
  ASSERT_TRUE(k.load().ok());
  EXPECT_TRUE(k.pending("<p@x>"));
  EXPECT_EQ(k.state("<p@x>"), Trained::kSpam);
  EXPECT_FALSE(k.pending("<c@x>"));
  EXPECT_EQ(k.state("<c@x>"), Trained::kHam);
  EXPECT_EQ(k.live(), 2u);
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
    std::vector<JunkJournal::Change> changes;
    for (int i = b * 50; i < b * 50 + 50; ++i)
      changes.push_back(
          {"<" + std::to_string(i / 2 % 10) + "@x>", i % 2 ? Trained::kNone : Trained::kSpam});
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
