#include "engine/spool.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "engine/delivery.hpp"
#include "engine/intake.hpp"
#include "engine/memory_directory.hpp"
#include "engine/publish_log.hpp"
#include "engine/sync.hpp"
#include "engine/user_spam.hpp"
#include "scanners/lmdb_store.hpp"
#include "scanners/memory_store.hpp"

namespace nougat::engine {
namespace {

namespace fs = std::filesystem;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nougat-spool-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    spool_ = std::make_unique<Spool>(dir_ / "spool");
    ASSERT_TRUE(spool_->open().ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  Envelope envelope(std::vector<std::string> rcpts) {
    Envelope e;
    e.sender = "bob@example.org";
    e.recipients = std::move(rcpts);
    e.received_at = 1700000000;
    e.client_ip = "127.0.0.1";
    e.helo = "client.test";
    e.protocol = "ESMTP";
    return e;
  }

  fs::path dir_;
  std::unique_ptr<Spool> spool_;
};

// drain() returns only once every completion requested so far has run: at
// shutdown the completions post to an io_context that must outlive them.
TEST(SyncGroupTest, DrainWaitsForEveryCompletion) {
  SyncGroup sync(fs::temp_directory_path());
  std::atomic<int> done{0};
  for (int i = 0; i < 5; ++i)
    sync.request([&done](bool) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ++done;
    });
  sync.drain();
  EXPECT_EQ(done.load(), 5);
  sync.drain();  // nothing pending: returns at once
}

TEST_F(SpoolTest, SmallMessageRoundTrip) {
  auto id = spool_->new_id();
  auto w = spool_->create(id, envelope({"a@x.test", "b@y.test"}));
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->append("Subject: hi\r\n\r\nbody\r\n").ok());
  auto m = (*w)->finish();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m->data, "Subject: hi\r\n\r\nbody\r\n");
  auto again = spool_->load(id, true);
  ASSERT_TRUE(again.ok()) << again.error().detail;
  EXPECT_EQ(again->envelope.sender, "bob@example.org");
  EXPECT_EQ(again->envelope.recipients, (std::vector<std::string>{"a@x.test", "b@y.test"}));
  EXPECT_EQ(again->envelope.helo, "client.test");
  EXPECT_EQ(*again->data, "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_EQ(spool_->recover(), std::vector<std::string>{id});
}

TEST_F(SpoolTest, LargeMessageStreamsToDiskAndDropsMemory) {
  auto id = spool_->new_id();
  auto w = spool_->create(id, envelope({"a@x.test"}));
  ASSERT_TRUE(w.ok());
  std::string line(999, 'x');
  line += "\r\n";
  std::string all;
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE((*w)->append(line).ok());
    all += line;
  }
  EXPECT_TRUE(fs::exists(dir_ / "spool" / "queue" / id));  // spilled while streaming
  EXPECT_FALSE((*w)->take_in_memory().has_value());
  auto m = (*w)->finish();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->data, nullptr);
  auto d = spool_->read_data(*m);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(**d, all);
}

TEST_F(SpoolTest, SmallMessageNeverTouchesDiskUntilFinished) {
  auto id = spool_->new_id();
  auto w = spool_->create(id, envelope({"a@x.test"}));
  ASSERT_TRUE((*w)->append("x\r\n").ok());
  EXPECT_FALSE(fs::exists(dir_ / "spool" / "queue" / id));
  auto m = (*w)->take_in_memory();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(*m->data, "x\r\n");
  w->reset();
  EXPECT_FALSE(fs::exists(dir_ / "spool" / "queue" / id));
}

TEST_F(SpoolTest, IncompleteFilesAreRemovedOnRecovery) {
  auto id = spool_->new_id();
  {
    auto w = spool_->create(id, envelope({"a@x.test"}));
    ASSERT_TRUE((*w)->finish().ok());
  }
  auto path = dir_ / "spool" / "queue" / id;
  // Cut the end record off: a crash while writing.
  auto size = fs::file_size(path);
  fs::resize_file(path, size - 3);
  auto bad_id = spool_->new_id();
  std::ofstream(dir_ / "spool" / "queue" / bad_id) << "nougat-spool 1\nsender a@b\ndata\npartial";
  EXPECT_TRUE(spool_->recover().empty());
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(dir_ / "spool" / "queue" / bad_id));
}

TEST_F(SpoolTest, AbortRemovesTheFile) {
  auto id = spool_->new_id();
  auto w = spool_->create(id, envelope({"a@x.test"}));
  std::string big(300 << 10, 'y');
  ASSERT_TRUE((*w)->append(big).ok());
  EXPECT_TRUE(fs::exists(dir_ / "spool" / "queue" / id));
  (*w)->abort();
  EXPECT_FALSE(fs::exists(dir_ / "spool" / "queue" / id));
}

TEST_F(SpoolTest, RecipientStateSurvivesReload) {
  auto id = spool_->new_id();
  auto w = spool_->create(id, envelope({"a@x.test", "b@x.test", "c@x.test"}));
  ASSERT_TRUE((*w)->finish().ok());
  ASSERT_TRUE(spool_->record(id, 0, RcptState::kDone).ok());
  ASSERT_TRUE(spool_->record(id, 2, RcptState::kFailed, "550 5.1.1 unknown user").ok());
  auto m = spool_->load(id, false);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->state[0], RcptState::kDone);
  EXPECT_EQ(m->state[1], RcptState::kPending);
  EXPECT_EQ(m->state[2], RcptState::kFailed);
  EXPECT_EQ(m->failure[2], "550 5.1.1 unknown user");
}

TEST_F(SpoolTest, EnvelopeFieldsWithLineBreaksAreRefused) {
  auto e = envelope({"a@x.test"});
  e.helo = "evil\nrcpt root@x";
  EXPECT_FALSE(spool_->create(spool_->new_id(), e).ok());
}

TEST(QueueIds, OnlyTheSpoolsOwnShape) {
  Spool spool("/nonexistent");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(valid_queue_id(spool.new_id()));
  EXPECT_TRUE(valid_queue_id("1xXD4z-00DhV1Wa"));
  for (const char* bad : {"", "1xXD4z-00DhV1W", "1xXD4z-00DhV1Wab", "1xXD4z_00DhV1Wa", "1xXD4z-00DhV1W.",
                          "../../etc/pass", "1xXD4z-00DhV/Wa", "1xXD4z-00DhV1Wa.state", "-1xXD4z00DhV1Wa",
                          "1xXD4z-00Dh 1Wa", "1xXD4z-00DhV1W\n"})
    EXPECT_FALSE(valid_queue_id(bad)) << bad;
}

TEST_F(SpoolTest, HeldReasonIsKeptAsARecordOfItsOwn) {
  auto id = spool_->new_id();
  auto env = envelope({"a@x.test"});
  env.quarantined = true;
  env.held_reason = "frozen by the system filter: two\r\nlines";
  auto rec = encode_envelope(id, env);
  ASSERT_TRUE(rec);  // a reason with a line break does not refuse the message
  EXPECT_NE(rec->find("\nquarantine 1\nheld frozen by the system filter: two  lines\n"), std::string::npos);
  auto w = spool_->create(id, env);
  ASSERT_TRUE((*w)->append("x\r\n").ok());
  ASSERT_TRUE((*w)->finish().ok());
  auto m = spool_->load(id, false);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->envelope.quarantined);
  EXPECT_EQ(m->envelope.held_reason, "frozen by the system filter: two  lines");
  env.held_reason = std::string(1000, 'r');
  EXPECT_NE(encode_envelope(id, env)->find("\nheld " + std::string(300, 'r') + "\n"), std::string::npos);
}

TEST_F(SpoolTest, SpoolFilesFromBeforeHeldReasonsStillLoad) {
  // Written by an earlier version: "quarantine 1", no "held" record.
  const std::string id = "1xXD4z-00DhV1Wa";
  std::string data = "Subject: old\r\n\r\nbody\r\n";
  std::string records = "id " + id + "\ntime 1700000000\nsender bob@example.org\nclient 127.0.0.1\n"
                        "helo h\nauth \nprotocol ESMTP\nsmtputf8 0\nrcpt a@x.test\nquarantine 1\n";
  std::ofstream(dir_ / "spool" / "queue" / id, std::ios::binary)
      << "nougat-spool 1\n" << data << records << "end " << data.size() << " " << records.size() << "\n";
  auto m = spool_->load(id, true);
  ASSERT_TRUE(m.ok()) << m.error().detail;
  EXPECT_TRUE(m->envelope.quarantined);
  EXPECT_EQ(m->envelope.held_reason, "");
  EXPECT_EQ(*m->data, data);
}

TEST_F(SpoolTest, ReleaseMarkersGoWithTheMessage) {
  auto id = spool_->new_id();
  auto w = spool_->create(id, envelope({"a@x.test"}));
  ASSERT_TRUE((*w)->finish().ok());
  EXPECT_FALSE(spool_->is_released(id));
  ASSERT_TRUE(spool_->mark_released(id).ok());
  EXPECT_TRUE(spool_->is_released(id));
  EXPECT_EQ(spool_->released_ids(), std::vector<std::string>{id});
  EXPECT_FALSE(spool_->mark_released("../queue/x").ok());
  ASSERT_TRUE(spool_->record(id, 0, RcptState::kDone).ok());
  ASSERT_TRUE(spool_->remove(id).ok());
  EXPECT_FALSE(spool_->is_released(id));
  EXPECT_FALSE(spool_->exists(id));
  EXPECT_FALSE(fs::exists(dir_ / "spool" / "queue" / (id + ".state")));
  EXPECT_TRUE(spool_->remove(id).ok());  // already gone is not an error
}

TEST_F(SpoolTest, RecoveryRemovesWhatAnInterruptedRemovalLeft) {
  auto kept = spool_->new_id();
  auto w = spool_->create(kept, envelope({"a@x.test"}));
  ASSERT_TRUE((*w)->finish().ok());
  ASSERT_TRUE(spool_->mark_released(kept).ok());
  ASSERT_TRUE(spool_->record(kept, 0, RcptState::kDone).ok());
  // A message removed up to its state file and marker (crash in remove()).
  auto gone = spool_->new_id();
  ASSERT_TRUE(spool_->record(gone, 0, RcptState::kDone).ok());
  ASSERT_TRUE(spool_->mark_released(gone).ok());
  std::ofstream(dir_ / "spool" / "queue" / "README") << "not ours";
  EXPECT_EQ(spool_->recover(), std::vector<std::string>{kept});
  EXPECT_EQ(spool_->released_ids(), std::vector<std::string>{kept});
  EXPECT_TRUE(fs::exists(dir_ / "spool" / "queue" / (kept + ".state")));
  EXPECT_FALSE(fs::exists(dir_ / "spool" / "queue" / (gone + ".state")));
  EXPECT_TRUE(fs::exists(dir_ / "spool" / "queue" / "README"));  // not a queue id: left alone
}

TEST_F(SpoolTest, IdsIsReadOnly) {
  auto complete = spool_->new_id(), partial = spool_->new_id();
  auto w = spool_->create(complete, envelope({"a@x.test"}));
  ASSERT_TRUE((*w)->finish().ok());
  std::ofstream(dir_ / "spool" / "queue" / partial) << "nougat-spool 1\nstill arriving";
  EXPECT_EQ(spool_->ids(), (std::vector<std::string>{complete, partial}));
  EXPECT_FALSE(spool_->load(partial, false).ok());
  EXPECT_TRUE(fs::exists(dir_ / "spool" / "queue" / partial));  // a reader never removes it
}

// ---- Intake: the two durability paths ----

class IntakeTest : public SpoolTest {
 protected:
  void SetUp() override {
    SpoolTest::SetUp();
    dirs_ = std::make_unique<MemoryDirectory>(dir_);
    dirs_->add_user("alice@x.test", "pw");
    dirs_->add_user("bob@x.test", "pw");
    ConfigSources src;
    src.data_dir = dir_;
    src.overrides = {"domains.local=[\"x.test\"]", "server.hostname=mx.test"};
    cfg_ = *load_config(src);
    sync_ = std::make_unique<SyncGroup>(dir_);
    delivery_ = std::make_unique<Delivery>(cfg_, *spool_, *dirs_, *sync_);
    publish_log_ = std::make_unique<PublishLog>(dir_ / "spool" / "publish");
    intake_ = std::make_unique<Intake>(cfg_, *spool_, *delivery_, *dirs_, *publish_log_, *sync_);
  }
  void TearDown() override {
    delivery_.reset();
    sync_.reset();
    SpoolTest::TearDown();
  }
  // Drives a commit the way the SMTP session does; returns the final step.
  Commit::Step run(std::vector<std::string> rcpts, const std::string& body, int* syncs = nullptr) {
    auto w = spool_->create(spool_->new_id(), envelope(std::move(rcpts)));
    EXPECT_TRUE((*w)->append(body).ok());
    auto c = intake_->begin(std::move(*w));
    bool ok = true;
    int n = 0;
    for (;;) {
      auto step = c->advance(ok);
      if (step != Commit::Step::kNeedSync) {
        if (syncs) *syncs = n;
        if (step == Commit::Step::kAccepted) {
          EXPECT_FALSE(c->id().empty());  // the 250 names it
        }
        return step;
      }
      ok = sync_->sync_now();
      ++n;
    }
  }
  // Accepts a held message (as a quarantine verdict or `freeze` does); its id.
  std::string hold(std::vector<std::string> rcpts, const std::string& body) {
    auto w = spool_->create(spool_->new_id(), envelope(std::move(rcpts)));
    EXPECT_TRUE((*w)->append(body).ok());
    (*w)->envelope().quarantined = true;
    (*w)->envelope().held_reason = "frozen by the system filter";
    auto c = intake_->begin(std::move(*w));
    bool ok = true;
    Commit::Step step;
    while ((step = c->advance(ok)) == Commit::Step::kNeedSync) ok = sync_->sync_now();
    EXPECT_EQ(step, Commit::Step::kAccepted);
    return c->id();
  }
  size_t count(const std::string& user, const char* sub) {
    auto d = dir_ / "home" / "x.test" / user / "Maildir" / sub;
    if (!fs::exists(d)) return 0;
    return static_cast<size_t>(std::distance(fs::directory_iterator(d), fs::directory_iterator()));
  }

  std::unique_ptr<MemoryDirectory> dirs_;
  ConfigPtr cfg_;
  std::unique_ptr<SyncGroup> sync_;
  std::unique_ptr<Delivery> delivery_;
  std::unique_ptr<PublishLog> publish_log_;
  std::unique_ptr<Intake> intake_;
};

TEST_F(IntakeTest, AllLocalSmallMessageGoesStraightToMaildir) {
  int syncs = 0;
  EXPECT_EQ(run({"alice@x.test", "bob@x.test"}, "Subject: a\r\n\r\nb\r\n", &syncs), Commit::Step::kAccepted);
  EXPECT_EQ(syncs, 1);  // tmp data + publish intents, then the 250 (renames are logged)
  EXPECT_EQ(count("alice", "new"), 1u);
  EXPECT_EQ(count("bob", "new"), 1u);
  EXPECT_EQ(count("alice", "tmp"), 0u);
  EXPECT_TRUE(spool_->recover().empty());
  auto file = fs::directory_iterator(dir_ / "home" / "x.test" / "alice" / "Maildir" / "new")->path();
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "Return-Path: <bob@example.org>\nDelivered-To: alice@x.test\nSubject: a\n\nb\n");
  EXPECT_NE(file.filename().string().find(",S=" + std::to_string(text.size())), std::string::npos);
}

TEST_F(IntakeTest, EndOfDataDecisionsReachTheMaildir) {
  auto w = spool_->create(spool_->new_id(), envelope({"alice@x.test"}));
  ASSERT_TRUE((*w)->append("Subject: spam\r\n\r\nbuy\r\n").ok());
  (*w)->envelope().folder = "Junk";
  (*w)->envelope().added_headers = {"X-Spam-Flag: YES"};
  auto c = intake_->begin(std::move(*w));
  bool ok = true;
  Commit::Step step;
  while ((step = c->advance(ok)) == Commit::Step::kNeedSync) ok = sync_->sync_now();
  ASSERT_EQ(step, Commit::Step::kAccepted);
  auto junk = dir_ / "home" / "x.test" / "alice" / "Maildir" / ".Junk";
  EXPECT_TRUE(fs::exists(junk / "maildirfolder"));
  EXPECT_EQ(count("alice", "new"), 0u);
  auto file = fs::directory_iterator(junk / "new")->path();
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  // Added headers follow the first field (in real mail: our Received:).
  EXPECT_EQ(text, "Return-Path: <bob@example.org>\nDelivered-To: alice@x.test\nSubject: spam\n"
                  "X-Spam-Flag: YES\n\nbuy\n");
}

TEST_F(IntakeTest, QuarantinedMessagesAreHeldInTheSpool) {
  auto w = spool_->create(spool_->new_id(), envelope({"alice@x.test"}));
  ASSERT_TRUE((*w)->append("x\r\n").ok());
  (*w)->envelope().quarantined = true;
  (*w)->envelope().added_headers = {"X-Virus: Eicar-Test-Signature"};
  auto c = intake_->begin(std::move(*w));
  bool ok = true;
  Commit::Step step;
  while ((step = c->advance(ok)) == Commit::Step::kNeedSync) ok = sync_->sync_now();
  ASSERT_EQ(step, Commit::Step::kAccepted);
  delivery_->start(1);
  delivery_->drain();
  EXPECT_EQ(count("alice", "new"), 0u);
  auto ids = spool_->recover();
  ASSERT_EQ(ids.size(), 1u);
  auto m = spool_->load(ids[0], false);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->envelope.quarantined);
  EXPECT_EQ(m->envelope.added_headers, std::vector<std::string>{"X-Virus: Eicar-Test-Signature"});
}

TEST_F(IntakeTest, FoldedAddedAndRemovedHeadersSurviveTheSpool) {
  auto w = spool_->create(spool_->new_id(), envelope({"alice@x.test"}));
  ASSERT_TRUE((*w)->append("Received: by x\r\nSubject: old\r\n two\r\nX-Keep: 1\r\n\r\nSubject: body\r\n").ok());
  (*w)->envelope().added_headers = {"X-Note: first\n\tsecond", "Subject: new"};
  (*w)->envelope().removed_headers = {"subject"};
  (*w)->envelope().quarantined = true;  // stays in the spool: read it back
  auto c = intake_->begin(std::move(*w));
  bool ok = true;
  Commit::Step step;
  while ((step = c->advance(ok)) == Commit::Step::kNeedSync) ok = sync_->sync_now();
  ASSERT_EQ(step, Commit::Step::kAccepted);
  auto ids = spool_->recover();
  ASSERT_EQ(ids.size(), 1u);
  auto m = spool_->load(ids[0], true);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->envelope.added_headers, (std::vector<std::string>{"X-Note: first\n\tsecond", "Subject: new"}));
  EXPECT_EQ(m->envelope.removed_headers, std::vector<std::string>{"subject"});
  // The local copy: the old Subject (with its continuation) gone, the body untouched.
  m->envelope.quarantined = false;
  auto md = dir_ / "md";
  auto copy = write_maildir_tmp(md, *m, 0, "host");
  ASSERT_TRUE(copy.ok()) << copy.error().detail;
  std::ifstream in(copy->tmp(), std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "Return-Path: <bob@example.org>\nDelivered-To: alice@x.test\nReceived: by x\n"
                  "X-Note: first\n\tsecond\nSubject: new\nX-Keep: 1\n\nSubject: body\n");
  discard(*copy);
}

// ---- Held messages released by the administrator (nougat queue release) ----

TEST_F(IntakeTest, ReleasedHeldMessageIsDeliveredAtTheNextStart) {
  auto id = hold({"alice@x.test"}, "Subject: held\r\n\r\nb\r\n");
  delivery_->start(1);
  delivery_->drain();
  EXPECT_EQ(count("alice", "new"), 0u);
  delivery_->stop();
  ASSERT_TRUE(spool_->mark_released(id).ok());  // `queue release` with the server stopped
  delivery_ = std::make_unique<Delivery>(cfg_, *spool_, *dirs_, *sync_);
  EXPECT_EQ(delivery_->recover(), 1u);
  delivery_->start(1);
  delivery_->drain();
  EXPECT_EQ(count("alice", "new"), 1u);
  EXPECT_FALSE(spool_->exists(id));
  EXPECT_FALSE(spool_->is_released(id));  // the marker went with the message
  EXPECT_EQ(delivery_->check_releases(), 0u);
}

TEST_F(IntakeTest, ReleasedWhileRunningIsSubmittedOnce) {
  delivery_->set_release_scan(std::chrono::milliseconds(0));  // only our own looks
  delivery_->start(1);
  // A remote recipient keeps the message queued after alice's copy, with
  // its marker: a later look must not deliver alice's copy again.
  auto id = hold({"alice@x.test", "far@remote.test"}, "Subject: held\r\n\r\nb\r\n");
  delivery_->drain();
  EXPECT_EQ(delivery_->check_releases(), 0u);
  ASSERT_TRUE(spool_->mark_released(id).ok());
  EXPECT_EQ(delivery_->check_releases(), 1u);
  EXPECT_EQ(delivery_->check_releases(), 0u);  // in flight or done: not again
  delivery_->drain();
  EXPECT_EQ(count("alice", "new"), 1u);
  EXPECT_TRUE(spool_->exists(id));
  auto m = spool_->load(id, false);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->state[0], RcptState::kDone);
  EXPECT_EQ(m->state[1], RcptState::kPending);
  // Even a marker removed and made again while the message exists.
  spool_->unmark_released(id);
  EXPECT_EQ(delivery_->check_releases(), 0u);
  ASSERT_TRUE(spool_->mark_released(id).ok());
  EXPECT_EQ(delivery_->check_releases(), 0u);
  delivery_->drain();
  EXPECT_EQ(count("alice", "new"), 1u);
}

TEST_F(IntakeTest, RunningDeliveryLooksForReleasesByItself) {
  delivery_->set_release_scan(std::chrono::milliseconds(20));
  delivery_->start(1);
  auto id = hold({"alice@x.test"}, "Subject: held\r\n\r\nb\r\n");
  delivery_->drain();
  ASSERT_TRUE(spool_->mark_released(id).ok());
  for (int i = 0; i < 500 && spool_->exists(id); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  delivery_->drain();
  EXPECT_FALSE(spool_->exists(id));
  EXPECT_EQ(count("alice", "new"), 1u);
  EXPECT_FALSE(spool_->is_released(id));
}

TEST_F(IntakeTest, MarkersForMessagesThatAreNotHeldOrGoneDoNothing) {
  EXPECT_EQ(run({"alice@x.test", "far@remote.test"}, "x\r\n"), Commit::Step::kAccepted);
  auto ids = spool_->recover();
  ASSERT_EQ(ids.size(), 1u);
  ASSERT_TRUE(spool_->mark_released(ids[0]).ok());  // not held: Delivery has it anyway
  EXPECT_EQ(delivery_->check_releases(), 0u);
  const std::string gone = "1xXD4z-00DhV1Wa";
  ASSERT_TRUE(spool_->mark_released(gone).ok());
  EXPECT_EQ(delivery_->check_releases(), 0u);
  EXPECT_FALSE(spool_->is_released(gone));  // a marker without a message is removed
  EXPECT_TRUE(spool_->is_released(ids[0]));
}

TEST(MaildirFolders, NamesAndValidation) {
  EXPECT_EQ(maildir_folder("/m", ""), fs::path("/m"));
  EXPECT_EQ(maildir_folder("/m", "Junk"), fs::path("/m/.Junk"));
  EXPECT_EQ(maildir_folder("/m", "Lists/foo"), fs::path("/m/.Lists.foo"));
  EXPECT_TRUE(valid_folder_name("Junk"));
  EXPECT_TRUE(valid_folder_name("Lists/foo"));
  EXPECT_FALSE(valid_folder_name(""));
  EXPECT_FALSE(valid_folder_name("../etc"));
  EXPECT_FALSE(valid_folder_name(".hidden"));
  EXPECT_FALSE(valid_folder_name("a/../b"));
  EXPECT_FALSE(valid_folder_name("a\nb"));
  // The delivery log names the folder: " F=Junk", also for a filter's `save Maildir/.Carol/`.
  EXPECT_EQ(maildir_folder_log("/m"), "");
  EXPECT_EQ(maildir_folder_log(maildir_folder("/m", "Junk")), " F=Junk");
  EXPECT_EQ(maildir_folder_log(maildir_folder("/m", "Lists/foo")), " F=Lists.foo");
  EXPECT_EQ(maildir_folder_log("/home/a/Maildir/.Carol/"), " F=Carol");
  EXPECT_EQ(maildir_folder_log("/home/a/mail/lists/"), "");
}

TEST_F(IntakeTest, RemoteRecipientTakesTheSpoolPath) {
  int syncs = 0;
  EXPECT_EQ(run({"alice@x.test", "carol@remote.test"}, "x\r\n", &syncs), Commit::Step::kAccepted);
  EXPECT_EQ(syncs, 1);
  EXPECT_EQ(spool_->recover().size(), 1u);
  EXPECT_EQ(count("alice", "new"), 0u);  // delivery is asynchronous (not started here)
}

TEST_F(IntakeTest, UnwritableMaildirFallsBackToTheSpool) {
  fs::create_directories(dir_ / "home" / "x.test" / "bob");
  std::ofstream(dir_ / "home" / "x.test" / "bob" / "Maildir") << "not a directory";
  EXPECT_EQ(run({"alice@x.test", "bob@x.test"}, "x\r\n"), Commit::Step::kAccepted);
  EXPECT_EQ(count("alice", "new"), 0u);  // the partial direct attempt was undone
  EXPECT_EQ(count("alice", "tmp"), 0u);
  EXPECT_EQ(spool_->recover().size(), 1u);
}

TEST_F(IntakeTest, SyncFailureIsNeverAcknowledged) {
  auto w = spool_->create(spool_->new_id(), envelope({"alice@x.test"}));
  ASSERT_TRUE((*w)->append("x\r\n").ok());
  auto c = intake_->begin(std::move(*w));
  ASSERT_EQ(c->advance(true), Commit::Step::kNeedSync);   // tmp + intent written
  ASSERT_EQ(c->advance(false), Commit::Step::kNeedSync);  // not durable: undone, spool instead
  EXPECT_EQ(count("alice", "tmp"), 0u);
  EXPECT_EQ(c->advance(false), Commit::Step::kFailed);    // the spool file is not durable either
  EXPECT_EQ(c->failure(), "451 4.3.0 Local error in processing");
  EXPECT_EQ(count("alice", "new"), 0u);
  EXPECT_TRUE(spool_->recover().empty());
}

TEST_F(IntakeTest, PublishLogRedoesRenamesLostInACrash) {
  // A crash after the acknowledgement but before the renames were durable:
  // simulate by moving each acknowledged copy back from new/ to tmp/.
  ASSERT_EQ(run({"alice@x.test", "bob@x.test"}, "Subject: a\r\n\r\nb\r\n"), Commit::Step::kAccepted);
  ASSERT_EQ(run({"alice@x.test"}, "Subject: torn\r\n\r\nc\r\n"), Commit::Step::kAccepted);
  auto md = dir_ / "home" / "x.test";
  std::vector<fs::path> moved;
  for (const char* u : {"alice", "bob"})
    for (auto& e : fs::directory_iterator(md / u / "Maildir" / "new")) {
      fs::rename(e.path(), md / u / "Maildir" / "tmp" / e.path().filename());
      moved.push_back(md / u / "Maildir" / "tmp" / e.path().filename());
    }
  ASSERT_EQ(moved.size(), 3u);
  // One tmp file is torn (its data never reached the disk): not delivered.
  for (const auto& p : moved)
    if (p.parent_path().parent_path().parent_path().filename() == "alice" &&
        fs::file_size(p) > 0 && p.string().find("_0.") != std::string::npos) {
      std::ifstream in(p);
      std::string t((std::istreambuf_iterator<char>(in)), {});
      if (t.find("torn") != std::string::npos) std::ofstream(p, std::ios::trunc) << "Subject: to";
    }
  publish_log_.reset();
  PublishLog again(dir_ / "spool" / "publish");
  EXPECT_EQ(again.recover(*sync_), 2u);
  EXPECT_EQ(count("alice", "new"), 1u);
  EXPECT_EQ(count("bob", "new"), 1u);
  EXPECT_EQ(count("alice", "tmp"), 1u);  // the torn one stays where it was
  EXPECT_EQ(again.recover(*sync_), 0u);  // the intents are gone
}

TEST_F(IntakeTest, DeliveryDrainsTheSpoolAndRecoveryIsIdempotent) {
  EXPECT_EQ(run({"alice@x.test", "far@remote.test"}, "x\r\n"), Commit::Step::kAccepted);
  delivery_->start(1);
  delivery_->drain();
  EXPECT_EQ(count("alice", "new"), 1u);
  // The remote recipient keeps the message queued; a restart must not
  // deliver alice's copy again.
  delivery_->stop();
  delivery_ = std::make_unique<Delivery>(cfg_, *spool_, *dirs_, *sync_);
  EXPECT_EQ(delivery_->recover(), 1u);
  delivery_->start(1);
  delivery_->drain();
  EXPECT_EQ(count("alice", "new"), 1u);
}

// A recipient with a Bayes store of their own needs delivery to classify
// their copy: the spool path, then a copy with their verdict (here: an
// untrained store, so unsure) while the others keep the end-of-DATA one.
TEST_F(IntakeTest, OwnBayesStoreTakesTheSpoolPathAndGetsItsOwnVerdict) {
  {
    auto bob = scanners::LmdbStore::open(*scanners::user_store_dir(cfg_->spam.store, "bob@x.test"));
    ASSERT_TRUE(bob.ok()) << bob.error().detail;
  }
  auto personal = std::make_shared<PersonalSpam>(std::make_shared<scanners::MemoryStore>(), cfg_->spam);
  delivery_ = std::make_unique<Delivery>(cfg_, *spool_, *dirs_, *sync_, personal);
  intake_ = std::make_unique<Intake>(cfg_, *spool_, *delivery_, *dirs_, *publish_log_, *sync_);
  EXPECT_EQ(run({"alice@x.test"}, "Subject: a\r\n\r\nb\r\n"), Commit::Step::kAccepted);
  EXPECT_EQ(count("alice", "new"), 1u);  // no store of her own: direct
  EXPECT_TRUE(spool_->recover().empty());

  auto w = spool_->create(spool_->new_id(), envelope({"alice@x.test", "bob@x.test"}));
  ASSERT_TRUE((*w)->append("Subject: spam\r\n\r\nbuy\r\n").ok());
  (*w)->envelope().folder = "Junk";
  (*w)->envelope().added_headers = {"X-Spam-Flag: YES"};
  (*w)->envelope().variables = {{"spam_score", "10.0"}};
  auto c = intake_->begin(std::move(*w));
  bool ok = true;
  Commit::Step step;
  while ((step = c->advance(ok)) == Commit::Step::kNeedSync) ok = sync_->sync_now();
  ASSERT_EQ(step, Commit::Step::kAccepted);
  EXPECT_EQ(spool_->recover().size(), 1u);
  EXPECT_EQ(count("bob", "new"), 0u);
  delivery_->start(1);
  delivery_->drain();
  EXPECT_TRUE(spool_->recover().empty());
  auto read = [](const fs::path& folder) {
    auto file = fs::directory_iterator(folder / "new")->path();
    std::ifstream in(file, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  auto md = dir_ / "home" / "x.test";
  EXPECT_EQ(read(md / "alice" / "Maildir" / ".Junk"),
            "Return-Path: <bob@example.org>\nDelivered-To: alice@x.test\nSubject: spam\n"
            "X-Spam-Flag: YES\n\nbuy\n");
  EXPECT_EQ(count("bob", "new"), 1u);
  EXPECT_FALSE(fs::exists(md / "bob" / "Maildir" / ".Junk"));
  EXPECT_EQ(read(md / "bob" / "Maildir"),
            "Return-Path: <bob@example.org>\nDelivered-To: bob@x.test\nSubject: spam\n"
            "X-Spam-Score: 0.5000\n"
            "X-Spam-Status: No, score=0.5000 required=0.9900 verdict=unsure tokens=0\n"
            "X-Spam-Flag: NO\n\nbuy\n");
}

TEST_F(IntakeTest, CrashAfterRenameBeforeStateIsNotDeliveredTwice) {
  EXPECT_EQ(run({"alice@x.test", "far@remote.test"}, "y\r\n"), Commit::Step::kAccepted);
  auto ids = spool_->recover();
  ASSERT_EQ(ids.size(), 1u);
  // Simulate: the copy reached new/ but the crash lost the "done" record.
  auto m = spool_->load(ids[0], true);
  auto copy = write_maildir_tmp(dir_ / "home" / "x.test" / "alice" / "Maildir", *m, 0, "mx.test");
  ASSERT_TRUE(copy.ok());
  ASSERT_TRUE(publish(*copy).ok());
  EXPECT_EQ(delivery_->recover(), 1u);
  delivery_->start(1);
  delivery_->drain();
  EXPECT_EQ(count("alice", "new"), 1u);
}

TEST_F(SpoolTest, FilterVariablesRoundTripAsVarRecords) {
  auto id = spool_->new_id();
  auto env = envelope({"a@x.test"});
  env.variables = {{"spam_score", "9.9"},
                   {"spam_bar", "+++++++++"},
                   {"malware_name", "Eicar-Test-Signature"},
                   {"spam_empty", ""},
                   {"spaced", "a b  c "}};
  auto w = spool_->create(id, env);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->append("Subject: hi\r\n\r\nbody\r\n").ok());
  ASSERT_TRUE((*w)->finish().ok());
  auto again = spool_->load(id, false);
  ASSERT_TRUE(again.ok()) << again.error().detail;
  EXPECT_EQ(again->envelope.variables, env.variables);
  auto rec = encode_envelope(id, env);
  ASSERT_TRUE(rec);
  EXPECT_NE(rec->find("\nvar spam_score 9.9\n"), std::string::npos);
}

TEST_F(SpoolTest, FilterVariablesWithLineBreaksOrBadNamesAreRefused) {
  auto env = envelope({"a@x.test"});
  env.variables = {{"malware_name", "Bad\r\nheader: x"}};
  EXPECT_FALSE(encode_envelope("id", env));
  env.variables = {{"bad name", "x"}};
  EXPECT_FALSE(encode_envelope("id", env));
  env.variables = {{"malware_name", "Eicar"}};
  EXPECT_TRUE(encode_envelope("id", env));
}

}  // namespace
}  // namespace nougat::engine
