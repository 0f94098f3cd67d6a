// JunkJournal: what Junk training (engine/junk_trainer.hpp) has taught one
// user's own Bayes store, per message key (engine/junk_training.hpp), so a
// message is never learnt twice for one class and a change of mind can be
// undone — also after a restart. One small text file per user,
// <spam.store>/users/<address>/junk-journal, next to their LMDB store:
//
//     # nougat junk journal 1
//     1732779761 spam-pending <20261128.1234@work.example>
//     1732779763 spam <20261128.1234@work.example>
//     1732779790 none <20261128.1234@work.example>
//     1732779802 ham-pending body:3f1c0e…
//
// one line per change, "<unix time> <state> <key>"; the last line of a key
// wins. A state is "none", "spam" or "ham" (what the store learnt), or
// "spam-pending" / "ham-pending": that learn was meant and written down
// before the store was asked to make it (the trainer's write-ahead), and
// no success has been recorded since — the store may or may not have it,
// so the trainer learns it again (a no-op in the store if it had it) or
// undoes it (a no-op if it had not). A pending entry counts as its class
// everywhere else (state(), compaction); "none" is never pending. Files
// written before the pending states existed read as before; the header is
// a comment, not checked.
//
// Promises: record() is durable on return (write, fsync; the directory too
// when the file is new). The file stays bounded: when its lines outnumber
// max(kCompactMinLines, 2 × the keys whose state is not "none"), it is
// rewritten with one line per such key, pending ones kept pending
// (temporary file, fsync, rename, fsync the directory — STYLE 10), so its
// size follows the number of messages a user corrected, not the number of
// changes.
// Failure: a corrupt line (wrong field count, bad time, unknown state —
// "none-pending" included —, a key with spaces or control characters, a
// torn last line) is reported as "FILE:LINE: problem", skipped, and the
// file is compacted at once so the next append starts on a clean line. A
// file above kMaxJournalBytes, or one that cannot be read, is an error: the
// caller must not train that user (it could learn a message twice). Not
// thread-safe: one owner (the trainer thread).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/junk_training.hpp"
#include "engine/result.hpp"

namespace nougat::engine {

inline constexpr size_t kMaxJournalBytes = 64u << 20;

class JunkJournal {
 public:
  static constexpr size_t kCompactMinLines = 1000;
  static constexpr std::string_view kHeader = "# nougat junk journal 1\n";
  static constexpr std::string_view kPendingSuffix = "-pending";  // "spam-pending"

  struct Entry {
    Trained state = Trained::kNone;
    bool pending = false;  // a learn of `state` not yet confirmed (never with kNone)
    int64_t time = 0;
  };
  // One line to append: `key` is now `state`, pending or confirmed.
  struct Change {
    std::string key;
    Trained state = Trained::kNone;
    bool pending = false;
  };
  using Map = std::map<std::string, Entry, std::less<>>;

  // Pure: the state per key of a journal's text; `label` prefixes problems.
  struct Parsed {
    Map entries;       // the last line per key, "none" included
    size_t lines = 0;  // data lines accepted
    std::vector<std::string> problems;
  };
  static Parsed parse(std::string_view text, std::string_view label);
  static std::string format_line(int64_t time, Trained state, bool pending, std::string_view key);
  // Pure: the compacted file: the header, then one line per key not "none".
  static std::string compacted(const Map& entries);

  explicit JunkJournal(std::filesystem::path file) : file_(std::move(file)) {}

  // Reads the file (missing: empty journal). Returns the problems found
  // (already repaired by a compaction); an error if unreadable or too big.
  Result<std::vector<std::string>> load();

  Trained state(std::string_view key) const;  // the class, pending or not
  bool pending(std::string_view key) const;   // its learn is not confirmed yet
  // The key as it stands, as a change: recording it later restores it.
  Change current(const std::string& key) const { return {key, state(key), pending(key)}; }
  size_t lines() const { return lines_; }
  size_t live() const { return live_; }  // keys whose state is not "none"
  const std::filesystem::path& file() const { return file_; }

  // Appends one line per change and makes them durable; compacts when due
  // (a failed compaction is logged and tried again at the next record: the
  // lines are durable all the same).
  // The in-memory state follows the changes even when writing fails, so one
  // run never trains a message twice; the error is for the log. A pending
  // change of state kNone is a broken invariant (aborts).
  Status record(const std::vector<Change>& changes, int64_t now);

 private:
  Status compact();
  void set(const Change& c, int64_t time);

  std::filesystem::path file_;
  Map entries_;
  size_t lines_ = 0, live_ = 0;
};

}  // namespace nougat::engine
