// LmdbStore: persistence, batches, totals, concurrent readers, reopen, and
// the user-directory rule.
#include "scanners/lmdb_store.hpp"
#include "scanners/memory_store.hpp"

#include <gtest/gtest.h>

#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace nougat::scanners {
namespace {
namespace fs = std::filesystem;

class LmdbStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nougat-lmdb-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(LmdbStoreTest, LearnLookupAndReopen) {
  {
    auto s = LmdbStore::open(dir_);
    ASSERT_TRUE(s.ok()) << s.error().detail;
    std::vector<LearnItem> batch{{{1, 2, 3}, true, false}, {{2, 3, 4}, false, false}, {{3}, false, false}};
    ASSERT_TRUE((*s)->learn(batch).ok());
    std::vector<uint64_t> keys{4, 3, 99, 1};
    std::vector<TokenCounts> out(keys.size());
    auto t = (*s)->lookup(keys, out);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->spam_messages, 1u);
    EXPECT_EQ(t->ham_messages, 2u);
    EXPECT_EQ(t->tokens, 4u);
    EXPECT_EQ(out[0].spam, 0u);
    EXPECT_EQ(out[0].ham, 1u);
    EXPECT_EQ(out[1].spam, 1u);
    EXPECT_EQ(out[1].ham, 2u);
    EXPECT_EQ(out[2].spam + out[2].ham, 0u);
    EXPECT_EQ(out[3].spam, 1u);
  }
  auto s = LmdbStore::open(dir_, {.read_only = true});
  ASSERT_TRUE(s.ok());
  auto t = (*s)->totals();
  EXPECT_EQ(t->ham_messages, 2u);
  EXPECT_FALSE((*s)->learn(std::vector<LearnItem>{{{7}, true, false}}).ok());
}

// The seen rules (token_store.hpp) on one backend: learning a keyed message
// twice counts it once, the other class moves it, unlearning what was not
// learnt does nothing, and one batch may hold the same key several times.
void seen_rules(TokenStore& s) {
  auto learn = [&](std::vector<LearnItem> batch) {
    LearnOutcome o;
    EXPECT_TRUE(s.learn(batch, &o).ok());
    return o;
  };
  auto counts = [&](uint64_t tok) {
    std::vector<uint64_t> k{tok};
    std::vector<TokenCounts> out(1);
    EXPECT_TRUE(s.lookup(k, out).ok());
    return std::pair(out[0].spam, out[0].ham);
  };
  LearnOutcome o = learn({{{10, 11}, true, false, "<a@x>"}, {{10, 12}, true, false, "<b@x>"}});
  EXPECT_EQ(o.learnt, 2u);
  o = learn({{{10, 11}, true, false, "<a@x>"}, {{10, 13}, true, false, ""}});  // again, and an unkeyed one
  EXPECT_EQ(o.learnt, 1u);
  EXPECT_EQ(o.skipped, 1u);
  EXPECT_EQ(counts(10), std::pair(3u, 0u));
  EXPECT_EQ(counts(11), std::pair(1u, 0u));
  o = learn({{{10, 11}, false, false, "<a@x>"}});  // spam -> ham
  EXPECT_EQ(o.learnt, 1u);
  EXPECT_EQ(o.moved, 1u);
  EXPECT_EQ(counts(11), std::pair(0u, 1u));
  EXPECT_EQ(counts(10), std::pair(2u, 1u));
  o = learn({{{10, 12}, false, true, "<b@x>"}, {{10, 99}, true, true, "<never@x>"}});  // not learnt as that
  EXPECT_EQ(o.unlearnt, 0u);
  EXPECT_EQ(o.skipped, 2u);
  o = learn({{{10, 12}, true, true, "<b@x>"}, {{10, 12}, true, false, "<b@x>"}, {{10, 12}, true, true, "<b@x>"}});
  EXPECT_EQ(o.unlearnt, 2u);
  EXPECT_EQ(o.learnt, 1u);
  EXPECT_EQ(counts(12), std::pair(0u, 0u));
  auto t = s.totals();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->spam_messages, 1u);  // the unkeyed one
  EXPECT_EQ(t->ham_messages, 1u);   // <a@x>
}

TEST_F(LmdbStoreTest, KeyedMessagesAreLearntOnce) {
  {
    auto s = LmdbStore::open(dir_);
    ASSERT_TRUE(s.ok());
    seen_rules(**s);
    // Remembered messages are records, not tokens: 10, 11, 13 remain.
    EXPECT_EQ((*s)->totals()->tokens, 3u);
    auto snap = (*s)->snapshot();
    ASSERT_TRUE(snap.ok());
    EXPECT_EQ((*snap)->totals()->tokens, 3u);
  }
  // And they persist: <a@x> is still known as ham after a reopen.
  auto s = LmdbStore::open(dir_);
  ASSERT_TRUE(s.ok());
  LearnOutcome o;
  ASSERT_TRUE((*s)->learn(std::vector<LearnItem>{{{10, 11}, false, false, "<a@x>"}}, &o).ok());
  EXPECT_EQ(o.skipped, 1u);
  ASSERT_TRUE((*s)->learn(std::vector<LearnItem>{{{10, 11}, false, true, "<a@x>"}}, &o).ok());
  EXPECT_EQ(o.unlearnt, 1u);
  EXPECT_EQ((*s)->totals()->tokens, 2u);  // 10 and 13 (the unkeyed spam)
}

TEST(MemoryStoreSeen, SameRules) {
  MemoryStore s;
  seen_rules(s);
}

TEST_F(LmdbStoreTest, UnlearnDeletesEmptyRecords) {
  auto s = LmdbStore::open(dir_);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->learn(std::vector<LearnItem>{{{5, 6}, true, false}}).ok());
  ASSERT_TRUE((*s)->learn(std::vector<LearnItem>{{{5, 6}, true, true}}).ok());
  auto t = (*s)->totals();
  EXPECT_EQ(t->spam_messages, 0u);
  EXPECT_EQ(t->tokens, 0u);
  // Token 0 is reserved for the totals and ignored.
  ASSERT_TRUE((*s)->learn(std::vector<LearnItem>{{{0}, false, false}}).ok());
  EXPECT_EQ((*s)->totals()->tokens, 0u);
}

TEST_F(LmdbStoreTest, ReadOnlyOpenOfMissingStoreFails) {
  EXPECT_FALSE(LmdbStore::open(dir_ / "none", {.read_only = true}).ok());
}

// LMDB trusts its file: a copy cut short would be a SIGBUS at the first read.
// It is refused at open, naming the file, read-only or not.
TEST_F(LmdbStoreTest, AStoreCutShortIsRefusedNotReadPastItsEnd) {
  {
    auto s = LmdbStore::open(dir_);
    ASSERT_TRUE(s.ok());
    std::vector<LearnItem> batch;
    for (uint64_t m = 0; m < 200; ++m) {
      std::vector<uint64_t> t;
      for (uint64_t i = 1; i <= 500; ++i) t.push_back(m * 1000 + i);
      batch.push_back({std::move(t), m % 2 == 0, false});
    }
    ASSERT_TRUE((*s)->learn(batch).ok());
  }
  const fs::path file = dir_ / "data.mdb";
  const auto size = fs::file_size(file);
  ASSERT_GT(size, 64u * 1024);
  for (auto cut : {size / 2, uintmax_t(8192)}) {
    fs::resize_file(file, cut);
    for (bool ro : {true, false}) {
      auto s = LmdbStore::open(dir_, {.read_only = ro});
      ASSERT_FALSE(s.ok()) << cut;
      EXPECT_NE(s.error().text.find(file.string() + " is damaged"), std::string::npos) << s.error().text;
      EXPECT_NE(s.error().detail.find("cut short"), std::string::npos) << s.error().detail;
    }
  }
  fs::resize_file(file, 0);  // an empty file is no store yet
  auto ro = LmdbStore::open(dir_, {.read_only = true});
  ASSERT_FALSE(ro.ok());
  EXPECT_NE(ro.error().text.find("is empty"), std::string::npos) << ro.error().text;
}

TEST_F(LmdbStoreTest, ManyReadersWhileWriting) {
  auto s = LmdbStore::open(dir_);
  ASSERT_TRUE(s.ok());
  LmdbStore& store = **s;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r)
    readers.emplace_back([&] {
      std::vector<uint64_t> keys{1, 2, 3};
      std::vector<TokenCounts> out(3);
      while (!stop) {
        auto t = store.lookup(keys, out);
        // Every batch adds one spam message containing all three tokens.
        if (!t || out[0].spam != t->spam_messages || out[2].spam != t->spam_messages) ++bad;
      }
    });
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store.learn(std::vector<LearnItem>{{{1, 2, 3}, true, false}}).ok());
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(store.totals()->spam_messages, 50u);
}

// A reader whose map the file outgrew (another process trained the store:
// under an address-space limit maps follow the file) grows its map at the
// next lookup, as LMDB's MDB_MAP_RESIZED asks, and keeps answering; it used
// to fail every lookup until restarted. The reader is a child process:
// LMDB allows one environment per file per process.
TEST_F(LmdbStoreTest, AReaderFollowsAFileThatOutgrewItsMap) {
  auto w = LmdbStore::open(dir_);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->learn(std::vector<LearnItem>{{{1, 2, 3}, true, false}}).ok());
  int ready[2], grown[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(grown), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The map as small as the file allows: any growth outgrows it.
    auto r = LmdbStore::open(dir_, {.read_only = true, .map_size = 4096});
    std::vector<uint64_t> keys{1, 424242};
    std::vector<TokenCounts> out(keys.size());
    int code = r.ok() && (*r)->lookup(keys, out).ok() && out[0].spam == 1 ? 0 : 10;
    char c = 0;
    if (::write(ready[1], &c, 1) != 1 || ::read(grown[0], &c, 1) != 1) ::_exit(11);
    if (code == 0) {
      for (int i = 0; i < 3 && code == 0; ++i) {  // every lookup after, not only the first
        auto t = (*r)->lookup(keys, out);
        code = !t.ok() ? 12 : out[1].ham != 1 || t->ham_messages != 1 ? 13 : 0;
      }
    }
    ::_exit(code);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  std::vector<uint64_t> many(200000);
  for (size_t i = 0; i < many.size(); ++i) many[i] = 424242 + i;
  ASSERT_TRUE((*w)->learn(std::vector<LearnItem>{{many, false, false}}).ok());
  ASSERT_GT(fs::file_size(dir_ / "data.mdb"), 1u << 20);
  ASSERT_EQ(::write(grown[1], &c, 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: first lookup, 12: lookup after growth failed, 13: wrong counts";
  for (int fd : {ready[0], ready[1], grown[0], grown[1]}) ::close(fd);
}

// Reader slots of processes killed inside a read (kill -9 of a `bayes
// classify`) are cleared when the table is full, not only at open: a
// long-running server would otherwise fail every lookup from then on.
TEST_F(LmdbStoreTest, SlotsOfKilledReadersAreReclaimedWhenFull) {
  auto w = LmdbStore::open(dir_);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->learn(std::vector<LearnItem>{{{1}, true, false}}).ok());
  // 512 readers (the table's size) each inside a read transaction, then
  // all killed: their slots stay taken, as LMDB cannot know.
  std::vector<pid_t> kids;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  for (int i = 0; i < 512; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      MDB_env* env = nullptr;
      MDB_txn* txn = nullptr;
      char c = 1;
      if (mdb_env_create(&env) || mdb_env_set_maxreaders(env, 512) ||
          mdb_env_open(env, dir_.c_str(), MDB_RDONLY | MDB_NOTLS, 0644) ||
          mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn))
        c = 0;
      if (::write(ready[1], &c, 1) != 1) ::_exit(1);
      ::pause();
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  int held = 0;
  for (size_t i = 0; i < kids.size(); ++i) {
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    held += c;
  }
  EXPECT_EQ(held, 512);
  for (pid_t pid : kids) ::kill(pid, SIGKILL);
  for (pid_t pid : kids) ::waitpid(pid, nullptr, 0);
  std::vector<uint64_t> keys{1};
  std::vector<TokenCounts> out(1);
  auto t = (*w)->lookup(keys, out);
  ASSERT_TRUE(t.ok()) << t.error().text << ": " << t.error().detail;
  EXPECT_EQ(out[0].spam, 1u);
  for (int fd : ready) ::close(fd);
}

TEST_F(LmdbStoreTest, LargeStoreLooksUpWithoutLoading) {
  auto s = LmdbStore::open(dir_);
  ASSERT_TRUE(s.ok());
  std::vector<LearnItem> batch(1);
  batch[0].spam = true;
  for (uint64_t i = 1; i <= 200000; ++i) batch[0].tokens.push_back(i * 2654435761u);
  ASSERT_TRUE((*s)->learn(batch).ok());
  std::vector<uint64_t> keys{2654435761u, 3};
  std::vector<TokenCounts> out(2);
  auto t = (*s)->lookup(keys, out);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->tokens, 200000u);
  EXPECT_EQ(out[0].spam, 1u);
  EXPECT_EQ(out[1].spam, 0u);
}

TEST_F(LmdbStoreTest, SnapshotAnswersLikeTheStore) {
  auto s = LmdbStore::open(dir_);
  ASSERT_TRUE(s.ok());
  std::vector<LearnItem> batch;
  for (uint64_t i = 1; i <= 300; ++i) batch.push_back({{i, i * 7919, i * 104729}, i % 3 == 0, false});
  ASSERT_TRUE((*s)->learn(batch).ok());
  auto snap = (*s)->snapshot();
  ASSERT_TRUE(snap.ok());
  std::vector<uint64_t> keys;
  for (uint64_t i = 0; i <= 400; ++i) keys.push_back(i * 7919);
  std::vector<TokenCounts> a(keys.size()), b(keys.size());
  auto ta = (*s)->lookup(keys, a);
  auto tb = (*snap)->lookup(keys, b);
  ASSERT_TRUE(ta.ok() && tb.ok());
  EXPECT_EQ(ta->spam_messages, tb->spam_messages);
  EXPECT_EQ(ta->ham_messages, tb->ham_messages);
  EXPECT_EQ(ta->tokens, tb->tokens);
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(a[i].spam, b[i].spam) << i;
    EXPECT_EQ(a[i].ham, b[i].ham) << i;
  }
  EXPECT_FALSE((*snap)->learn(batch).ok());
}

TEST(UserStoreDir, RejectsEscapes) {
  EXPECT_EQ(*user_store_dir("/d/bayes", "Alice@Example.ORG"), fs::path("/d/bayes/users/alice@example.org"));
  EXPECT_FALSE(user_store_dir("/d", "../x").ok());
  EXPECT_FALSE(user_store_dir("/d", "a/b@c").ok());
  EXPECT_FALSE(user_store_dir("/d", "").ok());
  EXPECT_FALSE(user_store_dir("/d", "a b@c").ok());
}

}  // namespace
}  // namespace nougat::scanners
