// JunkJournal: what Junk training (engine/junk_trainer.hpp) has taught one
// user's own Bayes store, per message key (engine/junk_training.hpp), so a
// message is never learnt twice for one class and a change of mind can be
// undone — also after a restart. One small text file per user,
// <spam.store>/users/<address>/junk-journal, next to their LMDB store:
//
//     # nougat junk journal 1
//     1732779761 spam <20261128.1234@work.example>
//     1732779790 none <20261128.1234@work.example>
//     1732779802 ham body:3f1c0e…
//
// one line per change, "<unix time> <none|spam|ham> <key>"; the last line of
// a key wins. Lines are appended after a training batch succeeded and
// fsync'd before the batch counts as done.
//
// Promises: record() is durable on return (write, fsync; the directory too
// when the file is new). The file stays bounded: when its lines outnumber
// max(kCompactMinLines, 2 × the keys whose state is not "none"), it is
// rewritten with one line per such key (temporary file, fsync, rename, fsync
// the directory — STYLE 10), so its size follows the number of messages a
// user corrected, not the number of changes.
// Failure: a corrupt line (wrong field count, bad time, unknown state, a key
// with spaces or control characters, a torn last line) is reported as
// "FILE:LINE: problem", skipped, and the file is compacted at once so the
// next append starts on a clean line. A file above kMaxJournalBytes, or one
// that cannot be read, is an error: the caller must not train that user
// (it could learn a message twice). Not thread-safe: one owner (the trainer
// thread).
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

  struct Entry {
    Trained state = Trained::kNone;
    int64_t time = 0;
  };
  using Map = std::map<std::string, Entry, std::less<>>;

  // Pure: the state per key of a journal's text; `label` prefixes problems.
  struct Parsed {
    Map entries;       // the last line per key, "none" included
    size_t lines = 0;  // data lines accepted
    std::vector<std::string> problems;
  };
  static Parsed parse(std::string_view text, std::string_view label);
  static std::string format_line(int64_t time, Trained state, std::string_view key);
  // Pure: the compacted file: the header, then one line per key not "none".
  static std::string compacted(const Map& entries);

  explicit JunkJournal(std::filesystem::path file) : file_(std::move(file)) {}

  // Reads the file (missing: empty journal). Returns the problems found
  // (already repaired by a compaction); an error if unreadable or too big.
  Result<std::vector<std::string>> load();

  Trained state(std::string_view key) const;
  size_t lines() const { return lines_; }
  size_t live() const { return live_; }  // keys whose state is not "none"
  const std::filesystem::path& file() const { return file_; }

  // Appends one line per change and makes them durable; compacts when due
  // (a failed compaction is logged and tried again at the next record: the
  // lines are durable all the same).
  // The in-memory state follows the changes even when writing fails, so one
  // run never trains a message twice; the error is for the log.
  Status record(const std::vector<std::pair<std::string, Trained>>& changes, int64_t now);

 private:
  Status compact();
  void set(const std::string& key, Trained state, int64_t time);

  std::filesystem::path file_;
  Map entries_;
  size_t lines_ = 0, live_ = 0;
};

}  // namespace nougat::engine
