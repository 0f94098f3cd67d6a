// JunkTrainer over real Maildirs in a temporary directory, with a fake Train
// function that records the batches (the child process is exercised by
// tests/integration/test_junk_training.py).
#include "engine/junk_trainer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <tuple>

#include "engine/memory_directory.hpp"

namespace nougat::engine {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A copy as delivery writes it (engine/maildir.cpp).
std::string stored(std::string_view flag, std::string_view message_id,
                   std::string_view body = "hello\n") {
  std::string s =
      "Return-Path: <a@b.example>\nDelivered-To: alice@localhost\nReceived: from x by vm\n";
  if (!flag.empty()) s += "X-Spam-Score: 0.5\nX-Spam-Flag: " + std::string(flag) + "\n";
  if (!message_id.empty()) s += "Message-ID: " + std::string(message_id) + "\n";
  return s + "Subject: test\n\n" + std::string(body);
}

// tmp/, new/ and cur/ of a Maildir or Maildir++ folder, as a client creates them.
void make_folder(const fs::path& f) {
  for (auto sub : {"tmp", "new", "cur"}) fs::create_directories(f / sub);
}

struct Call {
  std::string address;
  TrainOp op;
  std::vector<std::string> contents;
};

class JunkTrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("nougat-junktrainer-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    dir_ = std::make_unique<MemoryDirectory>(root_);
    dir_->add_user("alice@localhost", "pw");
    md_ = dir_->find("alice@localhost")->maildir();
    for (auto f : {md_, md_ / ".Junk"}) make_folder(f);
    spam_.store = root_ / "bayes";
    spam_.junk_scan_interval = 0s;  // no backoff between passes in tests
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<JunkTrainer> trainer() {
    return std::make_unique<JunkTrainer>(
        spam_, *dir_, [this](const JunkTrainer::Batch& b, const std::atomic<bool>&) -> Status {
          Call c{b.address, b.op, {}};
          for (const auto& f : b.files) c.contents.push_back(slurp(f));
          calls_.push_back(c);
          if (fail_) return make_error("store broken");
          return Ok{};
        });
  }
  fs::path put(const fs::path& folder, const std::string& name, const std::string& text) {
    auto p = folder / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::vector<Call> take() { return std::exchange(calls_, {}); }
  // What the journal file says of the message whose Message-ID is `id`.
  JunkJournal::Entry journal_entry(std::string_view id) {
    JunkJournal::Entry found;
    if (!fs::exists(journal())) return found;
    for (const auto& [key, e] : JunkJournal::parse(slurp(journal()), "journal").entries)
      if (key.rfind(std::string(id) + "|", 0) == 0) found = e;
    return found;
  }
  Trained journal_state(std::string_view id) { return journal_entry(id).state; }
  bool journal_pending(std::string_view id) { return journal_entry(id).pending; }
  fs::path journal() { return root_ / "bayes" / "users" / "alice@localhost" / "junk-journal"; }

  fs::path root_, md_;
  std::unique_ptr<MemoryDirectory> dir_;
  Config::Spam spam_;
  std::vector<Call> calls_;
  bool fail_ = false;
};

TEST_F(JunkTrainerTest, MovesTrainAndMovingBackUndoes) {
  auto t = trainer();
  t->scan_once();  // first pass: empty
  auto msg = stored("NO", "<1@work.example>");
  auto p = put(md_ / "new", "100.q1_0.vm,S=1", msg);
  EXPECT_EQ(t->scan_once().learnt, 0u);  // delivered to INBOX unflagged: nothing to learn
  fs::rename(p, md_ / ".Junk/cur/100.q1_0.vm,S=1:2,S");  // the user: "this is spam"
  auto s = t->scan_once();
  EXPECT_EQ(s.learnt, 1u);
  auto calls = take();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].address, "alice@localhost");
  EXPECT_EQ(calls[0].op, TrainOp::kLearnSpam);
  EXPECT_EQ(calls[0].contents, std::vector<std::string>{msg});
  const std::string key = message_key(msg);  // the store's key: Message-ID and body hash
  EXPECT_EQ(key.rfind("<1@work.example>|body:", 0), 0u);
  EXPECT_NE(slurp(journal()).find(" spam " + key + "\n"), std::string::npos);
  EXPECT_FALSE(fs::exists(journal().parent_path() / "junk-staging"));

  // Reading it in the client (flags change) is no news.
  fs::rename(md_ / ".Junk/cur/100.q1_0.vm,S=1:2,S", md_ / ".Junk/cur/100.q1_0.vm,S=1:2,RS");
  t->scan_once();
  EXPECT_TRUE(take().empty());

  // Back to INBOX: unlearnt, and nothing learnt as ham (not flagged).
  fs::rename(md_ / ".Junk/cur/100.q1_0.vm,S=1:2,RS", md_ / "cur/100.q1_0.vm,S=1:2,RS");
  t->scan_once();
  calls = take();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].op, TrainOp::kUnlearnSpam);
  EXPECT_NE(slurp(journal()).find(" none " + key + "\n"), std::string::npos);
}

TEST_F(JunkTrainerTest, FlaggedMailMovedOutOfJunkIsHam) {
  auto t = trainer();
  t->scan_once();
  auto p = put(md_ / ".Junk/new", "200.q2_0.vm,S=1", stored("YES", "<2@deals.example>"));
  t->scan_once();
  EXPECT_TRUE(take().empty());  // our spam stays in Junk: nothing
  fs::rename(p, md_ / "new/200.q2_0.vm,S=1");
  t->scan_once();
  auto calls = take();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].op, TrainOp::kLearnHam);
  // Changed mind again: unlearn ham; flagged, so no spam is learnt.
  fs::rename(md_ / "new/200.q2_0.vm,S=1", md_ / ".Junk/cur/200.q2_0.vm,S=1:2,");
  t->scan_once();
  calls = take();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].op, TrainOp::kUnlearnHam);
}

TEST_F(JunkTrainerTest, TagActionLearnsNoHamFromInbox) {
  spam_.action = "tag";
  auto t = trainer();
  t->scan_once();
  put(md_ / "new", "300.q3_0.vm,S=1", stored("YES", "<3@deals.example>"));
  t->scan_once();
  EXPECT_TRUE(take().empty());
}

TEST_F(JunkTrainerTest, CopyUnderANewNameIsNotTrainedTwice) {
  auto t = trainer();
  t->scan_once();
  auto msg = stored("NO", "<4@work.example>");
  auto p = put(md_ / "cur", "400.q4_0.vm,S=1:2,S", msg);
  t->scan_once();
  // mutt's `s =.Junk`: a new file in Junk, the original deleted later.
  put(md_ / ".Junk/cur", "1764316000.M1P99.vm:2,S", msg);
  t->scan_once();
  EXPECT_EQ(take().size(), 1u);
  fs::remove(p);
  put(md_ / ".Junk/new", "1764316001.M2P99.vm", msg);  // and once more, another copy
  t->scan_once();
  EXPECT_TRUE(take().empty());
}

TEST_F(JunkTrainerTest, BatchesPerKindUndoBeforeLearning) {
  auto t = trainer();
  t->scan_once();
  // Two unflagged into Junk, one flagged into INBOX, in one pass.
  put(md_ / ".Junk/cur", "a:2,S", stored("NO", "<a@x>"));
  put(md_ / ".Junk/cur", "b:2,S", stored("", "<b@x>"));  // never classified
  put(md_ / "cur", "c:2,S", stored("YES", "<c@x>"));
  t->scan_once();
  auto calls = take();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].op, TrainOp::kLearnSpam);
  EXPECT_EQ(calls[0].contents.size(), 2u);
  EXPECT_EQ(calls[1].op, TrainOp::kLearnHam);
  // All three change sides: two undo batches first, then two learn batches.
  fs::rename(md_ / ".Junk/cur/a:2,S", md_ / "cur/a:2,S");
  fs::rename(md_ / ".Junk/cur/b:2,S", md_ / "cur/b:2,S");
  fs::rename(md_ / "cur/c:2,S", md_ / ".Junk/cur/c:2,S");
  t->scan_once();
  calls = take();
  ASSERT_EQ(calls.size(),
            2u);  // unflagged back in INBOX: undo only; flagged back in Junk: undo only
  EXPECT_EQ(calls[0].op, TrainOp::kUnlearnSpam);
  EXPECT_EQ(calls[0].contents.size(), 2u);
  EXPECT_EQ(calls[1].op, TrainOp::kUnlearnHam);
}

// A failed learn may still have been committed by the child: the journal
// keeps it, and the next pass learns it again (a no-op in the store if it
// was) — or, when the user moved it back meanwhile, undoes it.
TEST_F(JunkTrainerTest, FailedLearningStaysJournaledAndIsRetried) {
  auto t = trainer();
  t->scan_once();
  put(md_ / ".Junk/new", "500.q5_0.vm,S=1", stored("NO", "<5@x>"));
  put(md_ / ".Junk/new", "501.q5_0.vm,S=1", stored("NO", "<51@x>"));
  fail_ = true;
  auto s = t->scan_once();
  EXPECT_EQ(s.failed, 2u);
  EXPECT_EQ(take().size(), 1u);
  EXPECT_EQ(journal_state("<5@x>"), Trained::kSpam);
  EXPECT_TRUE(journal_pending("<5@x>"));
  fail_ = false;
  fs::rename(md_ / ".Junk/new/501.q5_0.vm,S=1", md_ / "cur/501.q5_0.vm,S=1:2,S");  // the user changed their mind
  s = t->scan_once();
  auto calls = take();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].op, TrainOp::kUnlearnSpam);  // <51@x>: whatever the child did, undone
  EXPECT_EQ(calls[0].contents, std::vector<std::string>{stored("NO", "<51@x>")});
  EXPECT_EQ(calls[1].op, TrainOp::kLearnSpam);  // <5@x>: learnt again
  EXPECT_EQ(calls[1].contents, std::vector<std::string>{stored("NO", "<5@x>")});
  EXPECT_EQ(journal_state("<5@x>"), Trained::kSpam);
  EXPECT_FALSE(journal_pending("<5@x>"));  // confirmed
  EXPECT_EQ(journal_state("<51@x>"), Trained::kNone);
  EXPECT_FALSE(journal_pending("<51@x>"));
  t->scan_once();
  EXPECT_TRUE(take().empty());
}

// The process dies (or the batch fails) after a learn was written ahead and
// before it was confirmed: the journal says "pending" on disk, so the next
// run learns the message again if it is still in place — with the seen sets
// the first run left (an ordinary pass) and without them (a first pass:
// recorded intent, not old mail) — and undoes it if the user moved it.
TEST_F(JunkTrainerTest, APendingLearnSurvivesARestart) {
  for (std::string seen : {"kept", "removed"}) {
    SCOPED_TRACE(seen);
    const std::string n = seen == "kept" ? "1" : "2";
    const std::string spam_id = "<rs" + n + "@x>", ham_id = "<rh" + n + "@x>",
                      gone_id = "<rg" + n + "@x>";
    {
      auto t = trainer();
      t->scan_once();  // first pass: junk-seen written
      put(md_ / ".Junk/cur", "s" + n + ":2,S", stored("NO", spam_id));
      put(md_ / "cur", "h" + n + ":2,S", stored("YES", ham_id));  // flagged, out of Junk
      put(md_ / ".Junk/cur", "g" + n + ":2,S", stored("NO", gone_id));
      fail_ = true;  // the child dies after (or before) its commit
      EXPECT_EQ(t->scan_once().failed, 3u);
      EXPECT_EQ(take().size(), 2u);
    }  // the trainer is gone, and what it had in memory
    fail_ = false;
    for (const auto& id : {spam_id, gone_id}) {
      EXPECT_EQ(journal_state(id), Trained::kSpam) << id;
      EXPECT_TRUE(journal_pending(id)) << id;
    }
    EXPECT_EQ(journal_state(ham_id), Trained::kHam);
    EXPECT_TRUE(journal_pending(ham_id));
    // While down, the user changed their mind about one.
    fs::rename(md_ / ".Junk/cur" / ("g" + n + ":2,S"), md_ / "cur" / ("g" + n + ":2,S"));
    if (seen == "removed") fs::remove(journal().parent_path() / "junk-seen");

    auto t = trainer();  // journal reloaded from disk
    auto s = t->scan_once();
    EXPECT_EQ(s.learnt, 2u);
    EXPECT_EQ(s.unlearnt, 1u);
    auto calls = take();
    ASSERT_EQ(calls.size(), 3u);
    EXPECT_EQ(calls[0].op, TrainOp::kUnlearnSpam);  // a no-op in the store if never learnt
    EXPECT_EQ(calls[0].contents, std::vector<std::string>{stored("NO", gone_id)});
    EXPECT_EQ(calls[1].op, TrainOp::kLearnSpam);
    EXPECT_EQ(calls[1].contents, std::vector<std::string>{stored("NO", spam_id)});
    EXPECT_EQ(calls[2].op, TrainOp::kLearnHam);
    EXPECT_EQ(calls[2].contents, std::vector<std::string>{stored("YES", ham_id)});
    EXPECT_EQ(journal_state(spam_id), Trained::kSpam);
    EXPECT_EQ(journal_state(ham_id), Trained::kHam);
    EXPECT_EQ(journal_state(gone_id), Trained::kNone);
    for (const auto& id : {spam_id, ham_id, gone_id}) EXPECT_FALSE(journal_pending(id)) << id;
    t->scan_once();
    EXPECT_TRUE(take().empty());
    EXPECT_TRUE(fs::exists(journal().parent_path() / "junk-seen"));
  }
}

// A pending relearn that fails again in a first pass (no usable junk-seen)
// does not keep that pass from counting: the moves the user makes after it
// are learnt, and the relearn is retried with them.
TEST_F(JunkTrainerTest, AFailingPendingRelearnDoesNotHoldUpTheFirstPass) {
  {
    auto t = trainer();
    t->scan_once();
    put(md_ / ".Junk/cur", "pf:2,S", stored("NO", "<pf@x>"));
    fail_ = true;
    EXPECT_EQ(t->scan_once().failed, 1u);
  }
  take();
  fs::remove(journal().parent_path() / "junk-seen");  // torn by the same power loss
  auto t = trainer();
  EXPECT_EQ(t->scan_once().failed, 1u);  // the store is still broken
  take();
  EXPECT_TRUE(fs::exists(journal().parent_path() / "junk-seen"));  // the first pass counted
  fail_ = false;
  put(md_ / ".Junk/cur", "pg:2,S", stored("NO", "<pg@x>"));  // moved by the user afterwards
  auto s = t->scan_once();
  EXPECT_EQ(s.learnt, 2u);
  auto calls = take();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].op, TrainOp::kLearnSpam);
  EXPECT_EQ(calls[0].contents.size(), 2u);
  EXPECT_FALSE(journal_pending("<pf@x>"));
  EXPECT_EQ(journal_state("<pg@x>"), Trained::kSpam);
}

// A pending learn is redone while the message is where it was learnt, even
// when a copy has appeared in the other folder meanwhile (without a pending
// entry, copies in both folders leave the journal's word as it is).
TEST_F(JunkTrainerTest, APendingLearnWithACopyInTheOtherFolderIsRedone) {
  auto t = trainer();
  t->scan_once();
  put(md_ / ".Junk/cur", "pc:2,S", stored("NO", "<pc@x>"));
  fail_ = true;
  EXPECT_EQ(t->scan_once().failed, 1u);
  take();
  fail_ = false;
  put(md_ / "cur", "pc-copy:2,S", stored("NO", "<pc@x>"));
  auto s = t->scan_once();
  EXPECT_EQ(s.learnt, 1u);
  auto calls = take();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].op, TrainOp::kLearnSpam);
  EXPECT_FALSE(journal_pending("<pc@x>"));
  EXPECT_EQ(journal_state("<pc@x>"), Trained::kSpam);
  t->scan_once();
  EXPECT_TRUE(take().empty());
}

// A batch that never started (the journal could not be written ahead) puts
// the journal back as it was, pending flag included: here a learn left
// pending by a failed batch stays pending.
TEST_F(JunkTrainerTest, ABatchThatNeverRanRestoresThePendingFlag) {
  auto t = trainer();
  t->scan_once();
  put(md_ / ".Junk/cur", "np:2,S", stored("NO", "<np@x>"));
  fail_ = true;
  EXPECT_EQ(t->scan_once().failed, 1u);
  take();
  EXPECT_TRUE(journal_pending("<np@x>"));
  fail_ = false;
  // The journal cannot be written now: the batch must not run, and the
  // journal (in memory, and on disk) still says pending.
  std::string text = slurp(journal());
  fs::remove(journal());
  fs::create_directories(journal());
  EXPECT_EQ(t->scan_once().failed, 1u);
  EXPECT_TRUE(take().empty());
  fs::remove_all(journal());
  std::ofstream(journal(), std::ios::binary) << text;
  // The in-memory journal still knows the learn is pending: it is retried.
  auto s = t->scan_once();
  EXPECT_EQ(s.learnt, 1u);
  auto calls = take();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].op, TrainOp::kLearnSpam);
  EXPECT_EQ(journal_state("<np@x>"), Trained::kSpam);
  EXPECT_FALSE(journal_pending("<np@x>"));
}

// A crash between the store and the journal must never lose an undo: a learn
// is journaled before the store learns it, an unlearn only after the store
// forgot it (the store's seen records make a repeated or needless one a no-op).
TEST_F(JunkTrainerTest, JournalLeadsLearningAndTrailsUnlearning) {
  std::vector<std::tuple<TrainOp, Trained, bool>> seen_by_train;
  JunkTrainer t(spam_, *dir_, [&](const JunkTrainer::Batch& b, const std::atomic<bool>&) -> Status {
    seen_by_train.emplace_back(b.op, journal_state("<wal@x>"), journal_pending("<wal@x>"));
    return Ok{};
  });
  t.scan_once();
  put(md_ / ".Junk/cur", "w1:2,S", stored("NO", "<wal@x>"));
  t.scan_once();
  EXPECT_EQ(journal_state("<wal@x>"), Trained::kSpam);
  EXPECT_FALSE(journal_pending("<wal@x>"));  // confirmed once the store had it
  fs::rename(md_ / ".Junk/cur/w1:2,S", md_ / "cur/w1:2,S");
  t.scan_once();
  ASSERT_EQ(seen_by_train.size(), 2u);
  // Already on disk, as pending:
  EXPECT_EQ(seen_by_train[0], std::make_tuple(TrainOp::kLearnSpam, Trained::kSpam, true));
  // Not yet:
  EXPECT_EQ(seen_by_train[1], std::make_tuple(TrainOp::kUnlearnSpam, Trained::kSpam, false));
  EXPECT_EQ(journal_state("<wal@x>"), Trained::kNone);
}

// What was seen survives a restart (junk-seen), so moves made while nougat
// was down count like any other; nothing is trained twice.
TEST_F(JunkTrainerTest, RestartJudgesWhatChangedWhileDown) {
  {
    auto t = trainer();
    t->scan_once();
    put(md_ / ".Junk/cur", "600:2,S", stored("NO", "<6@x>"));
    put(md_ / "cur", "650:2,S", stored("NO", "<65@x>"));
    t->scan_once();
    EXPECT_EQ(take().size(), 1u);
  }
  EXPECT_TRUE(fs::exists(journal().parent_path() / "junk-seen"));
  // While nougat was down: one moved back, one moved into Junk, one delivered to INBOX.
  fs::rename(md_ / ".Junk/cur/600:2,S", md_ / "cur/600:2,S");
  fs::rename(md_ / "cur/650:2,S", md_ / ".Junk/cur/650:2,S");
  put(md_ / "new", "700", stored("NO", "<7@x>"));
  auto t = trainer();
  t->scan_once();
  auto calls = take();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].op, TrainOp::kUnlearnSpam);
  EXPECT_EQ(calls[1].op, TrainOp::kLearnSpam);
  EXPECT_EQ(calls[1].contents, std::vector<std::string>{stored("NO", "<65@x>")});
  t->scan_once();
  EXPECT_TRUE(take().empty());
}

// Without the seen sets (a first start, a lost file) mail already in place
// was not moved under our watch: the first pass only undoes.
TEST_F(JunkTrainerTest, WithoutSavedSeenSetsTheFirstPassLearnsNothingNew) {
  int round = 0;
  for (std::string bad : {"missing", "truncated", "flipped"}) {
    SCOPED_TRACE(bad);
    std::string a = "a" + std::to_string(++round), b = "b" + std::to_string(round);
    {
      auto t = trainer();
      t->scan_once();
      put(md_ / ".Junk/cur", a + ":2,S", stored("NO", "<" + a + "@x>"));
      t->scan_once();
      EXPECT_EQ(take().size(), 1u);
    }
    // While down: a moved back, b put in Junk; and the seen sets lost or damaged.
    fs::rename(md_ / ".Junk/cur" / (a + ":2,S"), md_ / "cur" / (a + ":2,S"));
    put(md_ / ".Junk/cur", b + ":2,S", stored("NO", "<" + b + "@x>"));
    auto seen = journal().parent_path() / "junk-seen";
    if (bad == "missing") {
      fs::remove(seen);
    } else {
      std::string text = slurp(seen);
      if (bad == "truncated") text.resize(text.size() - 3);
      else text[text.size() / 2] ^= 1;
      std::ofstream(seen, std::ios::binary | std::ios::trunc) << text;
    }
    auto t = trainer();
    t->scan_once();  // the journal's spam is undone, the new one is not learnt
    auto calls = take();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].op, TrainOp::kUnlearnSpam);
    t->scan_once();
    EXPECT_TRUE(take().empty());
    // From now on, moves count again.
    fs::rename(md_ / "cur" / (a + ":2,S"), md_ / ".Junk/cur" / (a + ":2,S"));
    t->scan_once();
    calls = take();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].op, TrainOp::kLearnSpam);
    // Clean up for the next round: a learnt (in Junk), b never.
    fs::remove(md_ / ".Junk/cur" / (b + ":2,S"));
    t->scan_once();
  }
}

// A switch of spam.action from "tag" (flagged mail in INBOX on purpose) or
// of spam.junk_folder makes the saved sets unusable: that mail would look
// moved by the user.
TEST_F(JunkTrainerTest, SeenSetsOfOtherSettingsAreNotUsed) {
  spam_.action = "tag";
  {
    auto t = trainer();
    t->scan_once();
  }
  put(md_ / "new", "800", stored("YES", "<80@x>"));  // delivered while "tag"
  spam_.action = "junk";
  {
    auto t = trainer();
    t->scan_once();
    EXPECT_TRUE(take().empty());
  }
  // Nor after a switch of spam.junk_folder: the procmail-era .Spam was not filled under our watch.
  make_folder(md_ / ".Spam");
  put(md_ / ".Spam/cur", "old:2,S", stored("", "<old@x>"));
  spam_.junk_folder = "Spam";
  auto t = trainer();
  t->scan_once();
  EXPECT_TRUE(take().empty());
}

// spam.junk_folder names the folder watched (and the one spam goes to).
TEST_F(JunkTrainerTest, WatchesTheConfiguredJunkFolder) {
  spam_.junk_folder = "Spam";
  make_folder(md_ / ".Spam");
  auto t = trainer();
  t->scan_once();
  put(md_ / ".Junk/cur", "j1:2,S", stored("NO", "<j1@x>"));  // just a folder now
  put(md_ / ".Spam/cur", "s1:2,S", stored("NO", "<s1@x>"));
  t->scan_once();
  auto calls = take();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].op, TrainOp::kLearnSpam);
  EXPECT_EQ(calls[0].contents, std::vector<std::string>{stored("NO", "<s1@x>")});
}

// A first pass that could not judge every file (here: an unreadable
// journal) does not count: neither saved nor taken as "watched since", so
// the mail that was already there is never learnt later.
TEST_F(JunkTrainerTest, AnUnfinishedFirstPassDoesNotCount) {
  put(md_ / ".Junk/cur", "old1:2,S", stored("NO", "<old1@x>"));
  put(md_ / "cur", "old2:2,S", stored("YES", "<old2@x>"));
  fs::create_directories(journal());  // a directory where the journal should be
  {
    auto t = trainer();
    t->scan_once();
    t->scan_once();
    EXPECT_TRUE(take().empty());
  }
  EXPECT_FALSE(fs::exists(journal().parent_path() / "junk-seen"));
  fs::remove_all(journal());
  auto t = trainer();  // the restart after the repair: again a first pass
  t->scan_once();
  t->scan_once();
  EXPECT_TRUE(take().empty());
  EXPECT_TRUE(fs::exists(journal().parent_path() / "junk-seen"));
  fs::rename(md_ / "cur/old2:2,S", md_ / ".Junk/cur/old2:2,S");  // flagged, back to Junk: nothing to learn
  fs::rename(md_ / ".Junk/cur/old1:2,S", md_ / "cur/old1:2,S");  // unflagged to INBOX: nothing either
  put(md_ / ".Junk/cur", "new1:2,S", stored("NO", "<new1@x>"));
  t->scan_once();
  auto calls = take();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].contents, std::vector<std::string>{stored("NO", "<new1@x>")});
}

// A user who appears while serve runs gets a first pass of their own.
TEST_F(JunkTrainerTest, AUserAddedLaterGetsAFirstPass) {
  auto t = trainer();
  t->scan_once();
  dir_->add_user("bob@localhost", "pw");
  auto bob = dir_->find("bob@localhost")->maildir();
  make_folder(bob);
  make_folder(bob / ".Junk");
  put(bob / ".Junk/cur", "b1:2,S", stored("NO", "<b1@x>"));  // a migrated Junk folder
  t->scan_once();
  EXPECT_TRUE(take().empty());
  fs::rename(bob / ".Junk/cur/b1:2,S", bob / "cur/b1:2,S");
  put(bob / ".Junk/cur", "b2:2,S", stored("NO", "<b2@x>"));
  t->scan_once();
  auto calls = take();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].address, "bob@localhost");
  EXPECT_EQ(calls[0].op, TrainOp::kLearnSpam);
}

// New copies of one message in both folders: the one whose folder
// contradicts our verdict is the user's doing and decides, whatever copy
// that agrees with its verdict came meanwhile; if both contradict theirs,
// nothing is learnt (the journal's word stands).
TEST_F(JunkTrainerTest, CopiesInBothFoldersTheUsersPlacementDecides) {
  auto t = trainer();
  t->scan_once();
  // Moved out of Junk while another copy was delivered there.
  put(md_ / "cur", "800:2,S", stored("YES", "<8@x>"));
  put(md_ / ".Junk/new", "801", stored("YES", "<8@x>"));
  t->scan_once();
  auto calls = take();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].op, TrainOp::kLearnHam);
  EXPECT_EQ(journal_state("<8@x>"), Trained::kHam);
  // Saved to Junk the moment it arrived, the original not yet deleted.
  put(md_ / "new", "900", stored("NO", "<9@x>"));
  put(md_ / ".Junk/cur", "901:2,S", stored("NO", "<9@x>"));
  t->scan_once();
  calls = take();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].op, TrainOp::kLearnSpam);
  // A move back (an undo) is the user's doing too: a copy delivered into
  // Junk meanwhile does not hide it.
  auto p = put(md_ / "new", "1100", stored("NO", "<11@x>"));
  t->scan_once();
  fs::rename(p, md_ / ".Junk/cur/1100:2,S");
  t->scan_once();
  ASSERT_EQ(take().size(), 1u);  // learnt as spam
  put(md_ / ".Junk/new", "1101", stored("YES", "<11@x>"));  // delivered again, flagged
  fs::rename(md_ / ".Junk/cur/1100:2,S", md_ / "cur/1100:2,S");  // "not spam after all"
  t->scan_once();
  calls = take();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].op, TrainOp::kUnlearnSpam);
  // Two copies each placed against its verdict: no telling which is meant.
  put(md_ / "cur", "1000:2,S", stored("YES", "<10@x>"));
  put(md_ / ".Junk/cur", "1001:2,S", stored("NO", "<10@x>"));
  t->scan_once();
  EXPECT_TRUE(take().empty());
}

TEST_F(JunkTrainerTest, WithoutMessageIdTheBodyIsTheKey) {
  auto t = trainer();
  t->scan_once();
  put(md_ / ".Junk/cur", "900:2,S", stored("NO", "", "cheap pills\n"));
  t->scan_once();
  EXPECT_EQ(take().size(), 1u);
  auto j = slurp(journal());
  EXPECT_NE(j.find(" spam body:"), std::string::npos) << j;
  // The same message delivered again with other trace fields: the same one.
  put(md_ / ".Junk/new", "901", "Return-Path: <>\nReceived: elsewhere\nSubject: test\n\ncheap pills\n");
  t->scan_once();
  EXPECT_TRUE(take().empty());
  // The same body under another Subject: another message.
  put(md_ / ".Junk/new", "902", "Return-Path: <>\nReceived: elsewhere\nSubject: other\n\ncheap pills\n");
  t->scan_once();
  EXPECT_EQ(take().size(), 1u);
}

TEST_F(JunkTrainerTest, StopEndsARunningBatchQuickly) {
  spam_.junk_scan_interval = 3600s;
  std::atomic<bool> in_train{false};
  JunkTrainer t(spam_, *dir_,
                [&](const JunkTrainer::Batch&, const std::atomic<bool>& stop) -> Status {
                  in_train = true;
                  while (!stop) std::this_thread::sleep_for(5ms);  // a child that takes its time
                  return make_error("stopped");
                });
  t.scan_once();  // the first pass, by hand
  put(md_ / ".Junk/cur", "a:2,S", stored("NO", "<stop@x>"));
  t.start();  // its first scan finds the new file
  for (int i = 0; i < 400 && !in_train; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(in_train.load());
  auto t0 = std::chrono::steady_clock::now();
  t.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(journal_state("<stop@x>"), Trained::kSpam);  // it may have been learnt: an undo stays possible
  EXPECT_TRUE(journal_pending("<stop@x>"));              // and a relearn after the restart
}

// A folder whose new/ and cur/ have not changed (and are older than a clock
// tick or two) is not listed again; any move into it is seen.
TEST_F(JunkTrainerTest, QuietFoldersAreNotListed) {
  auto t = trainer();
  t->scan_once();
  put(md_ / "cur", "q1:2,S", stored("NO", "<q1@x>"));
  put(md_ / "cur", "q2:2,S", stored("NO", "<q2@x>"));
  auto age = [&] {  // as if nothing had happened for a minute
    timespec old[2] = {{::time(nullptr) - 60, 0}, {::time(nullptr) - 60, 0}};
    for (auto f : {md_, md_ / ".Junk"})
      for (auto sub : {"new", "cur"})
        ASSERT_EQ(::utimensat(AT_FDCWD, (f / sub).c_str(), old, 0), 0);
  };
  age();
  EXPECT_EQ(t->scan_once().listed, 2u);  // the last listing was too recent to trust
  EXPECT_EQ(t->scan_once().listed, 0u);  // four stat calls
  fs::rename(md_ / "cur/q1:2,S", md_ / ".Junk/cur/q1:2,S");
  auto s = t->scan_once();
  EXPECT_EQ(s.listed, 2u);
  EXPECT_EQ(s.learnt, 1u);
  // A failed batch lists again at the next pass, whatever the times say.
  fail_ = true;
  fs::rename(md_ / "cur/q2:2,S", md_ / ".Junk/cur/q2:2,S");
  age();
  EXPECT_EQ(t->scan_once().failed, 1u);
  fail_ = false;
  s = t->scan_once();
  EXPECT_EQ(s.learnt, 1u);
  EXPECT_EQ(t->scan_once().listed, 0u);
}

TEST_F(JunkTrainerTest, WantedFollowsTheConfig) {
  Config::Spam s;
  EXPECT_TRUE(JunkTrainer::wanted(s));
  s.junk_scan_interval = 0s;
  EXPECT_FALSE(JunkTrainer::wanted(s));
  s.junk_scan_interval = 30s;
  s.action = "off";
  EXPECT_FALSE(JunkTrainer::wanted(s));
  s.action = "tag";
  s.enabled = false;
  EXPECT_FALSE(JunkTrainer::wanted(s));
}

}  // namespace
}  // namespace nougat::engine
