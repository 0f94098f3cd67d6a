// JunkTrainer: users train their own Bayes store by moving mail into or out
// of their Junk folder (DESIGN: "Moving a message into or out of Junk trains
// the user's own Bayes store"), with any Maildir client today — mutt's
// `s =.Junk`, a rename — and the same way once nougat serves IMAP. Like
// Dovecot's antispam plugin, but driven by what the folders contain rather
// than by the moves of one protocol.
//
// A background thread of `serve` visits every directory user's INBOX and
// Maildir/.Junk (spam.junk_folder; new/ and cur/) every spam.junk_scan_interval. It lists the
// folders (not one whose new/ and cur/ modification times are as at the
// last complete listing and older than two seconds: a quiet mailbox costs
// four stat calls), reads the header block (at most kJunkHeadBytes) and the
// start of the body (kKeyReadBytes, for the message key) of each file it
// has not seen there at the previous pass — a file is known by the part of
// its name before ':', so a client moving it from new/ to cur/ or changing
// its flags is no news — and applies the rules of engine/junk_training.hpp
// against the user's JunkJournal. The files to learn are hard-linked (or, on
// another file system, copied) into <store>/users/<address>/junk-staging/
// from the descriptor that was read, so a client renaming them meanwhile
// changes nothing; then each kind (unlearn-spam, unlearn-ham, learn-spam,
// learn-ham, in that order) goes to the Train function in batches of at
// most kMaxBatchFiles — in `serve`, a child `nougat bayes train --user`
// (DECISIONS: one writer per LMDB environment, and PersonalSpam holds this
// user's store open read-only in this process). A learning batch is written
// to the journal as pending ("spam-pending", fsync'd) before it runs and
// confirmed ("spam") after it succeeded; if it fails, or the process dies
// in between, the pending lines stay (the child may have committed first).
// A message whose learn is pending is learnt again while it is still in
// place (a copy in the other folder does not matter) — at the next pass, or
// after a restart, even in a first pass: the journal recorded the user's
// move, and its failing again does not keep that first pass from counting
// — or undone if it moved. An unlearning batch is
// written after it succeeded. The store's own seen records make all of
// these idempotent (a relearn of what it has, an undo of what it never
// learnt, are no-ops), so a crash between store and journal loses neither a
// learn nor an undo. A failed batch is logged and retried at a later pass
// (after kMaxBackoff at most).
//
// What each pass saw (the name hashes of INBOX and Junk) is kept per user
// in <store>/users/<address>/junk-seen (rewritten, without fsync, after a
// pass that changed it), so the first pass after a restart judges what
// changed while nougat was down like any other pass. Without a usable file
// (none yet, torn, written under another spam.action rule or junk_folder) a user's first
// pass only undoes (engine/junk_training.hpp) — and completes the learns
// the journal has pending.
//
// One log line per user and pass that trained something:
//   junk training: alice@localhost: 2 spam, 1 ham (moved or filed by the user)
// and one after the first pass: "junk training: watching N mailboxes …".
//
// Limits: files above kMaxScanBytes are ignored (the classifier never scans
// them either). Memory: 8 bytes per file of INBOX and Junk plus the journal
// of each user who trained. Costs: docs/BENCHMARKS.md "junk-scan".
// Among the new files of one pass, those whose folder contradicts our
// verdict (unflagged in Junk, flagged in INBOX) or what was learnt of them
// (moved back) are the user's doing: when such files are in one folder
// only, they decide, whatever copies that agree with both arrived
// meanwhile (a new delivery of the same message, the original of a copy
// just saved). A new delivery alone, in a folder that contradicts what was
// learnt, cannot be told from a move back, and undoes the learn. Otherwise a message present
// in both folders (a copy, not a move — or both sides seen anew after a
// restart) keeps what the journal says (a pending learn is completed,
// above).
// Failure: a user whose journal cannot be read is not trained (logged once
// per run); unreadable folders or files are retried at the next pass.
// Threads: scan_once() runs on one thread at a time (the trainer's own, or a
// test's); stop() may be called from any thread and returns within about a
// second, a running batch killed (it is retried next time).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "engine/config.hpp"
#include "engine/directory.hpp"
#include "engine/junk_journal.hpp"
#include "engine/junk_training.hpp"

namespace nougat::engine {

class JunkTrainer {
 public:
  static constexpr size_t kMaxBatchFiles = 500;  // one LMDB transaction in `bayes train`
  static constexpr std::chrono::seconds kMaxBackoff{3600};
  // A junk-seen file above this (16 million messages) is not read: a first pass.
  static constexpr uint64_t kMaxJunkSeenBytes = 128u << 20;

  struct Batch {
    std::string address;
    TrainOp op;
    std::vector<std::filesystem::path> files;  // staged copies, readable until train returns
    mutable size_t not_mail = 0;  // set by train: files it left out as no mail (empty, binary)
  };
  // Learns (or unlearns) every file of the batch in the user's own store, or
  // none: an error means nothing of it counts. Blocking; `stop` turns true
  // when the server shuts down.
  using TrainFn = std::function<Status(const Batch&, const std::atomic<bool>& stop)>;

  struct PassStats {
    size_t users = 0, listed = 0, read = 0;
    size_t learnt = 0, unlearnt = 0, failed = 0;
    double seconds = 0;
  };

  // Rules from `spam` (store, action, junk_scan_interval); users from `dir`.
  JunkTrainer(const Config::Spam& spam, const Directory& dir, TrainFn train);
  ~JunkTrainer();
  JunkTrainer(const JunkTrainer&) = delete;
  JunkTrainer& operator=(const JunkTrainer&) = delete;

  // Whether `spam` asks for a trainer at all (enabled, action not "off",
  // a non-zero interval).
  static bool wanted(const Config::Spam& spam);

  void start();  // the thread: a first pass at once, then one per interval
  // Asks the thread to end (a running batch gets half a second, then is
  // killed); does not wait. Safe from a signal handler's completion.
  void request_stop();
  void stop();  // request_stop(), then waits for the thread

  // One pass over every user. A user's first one in this process learns
  // nothing new unless their junk-seen file says what was there before
  // (engine/junk_training.hpp); a learn the journal has pending is not new.
  PassStats scan_once();

 private:
  struct UserState;
  struct Seen;
  struct Plan;
  struct Pass;
  void scan_user(const User& u, UserState& st, PassStats& stats);
  void scan_user_pass(Pass& pass, PassStats& stats);
  bool restore_seen(const User& u, UserState& st);
  void save_seen(const User& u, UserState& st);
  void list_changed(Pass& pass, PassStats& stats);
  void read_new(Pass& pass, PassStats& stats);
  bool load_journal(Pass& pass);
  std::vector<Plan> decide(Pass& pass);
  bool tells(const Seen& s, Trained state) const;
  const JunkFolder* told_in(const std::vector<const Seen*>& files, Trained state) const;
  std::vector<Plan> stage(std::vector<Plan>& plans, const std::filesystem::path& staging);
  bool run_batches(const User& u, UserState& st, std::vector<Plan>& plans, PassStats& stats);
  UserState& state_for(const std::string& key);

  Config::Spam cfg_;
  const Directory& dir_;
  TrainFn train_;
  bool ham_from_inbox_;
  bool first_pass_done_ = false;
  std::map<std::string, std::unique_ptr<UserState>> users_;  // by directory_key

  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace nougat::engine
