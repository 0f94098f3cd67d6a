// PublishLog: lets a Maildir copy be acknowledged after ONE sync instead of
// two. The Maildir rule is "data durable, then rename into new/"; the rename
// must be durable too before the copy may be counted on. Instead of a
// second sync for the renames, the intake appends one intent line per copy
// ("tmp path, size, checksum") to this log before the sync that makes the
// tmp files durable. After that sync the message is acknowledged and the
// renames happen at once; if the machine crashes before the renames reach
// the disk, recover() at the next start finds the intents and redoes each
// rename whose tmp file is complete (size and checksum match) and whose
// copy is not already in new/ or cur/.
//
// The log rotates: a generation file is removed only after every copy it
// names has been renamed and a later sync has made those renames durable.
// Appends are one write() each (O_APPEND), safe from many threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/maildir.hpp"
#include "engine/result.hpp"

namespace nougat::engine {

class SyncGroup;

class PublishLog {
 public:
  explicit PublishLog(std::filesystem::path dir);  // <spool>/publish
  ~PublishLog();

  // At start, before anything is appended: redo the renames the last run
  // may have lost, sync, and remove every old generation. Returns how many
  // copies it put in place.
  size_t recover(SyncGroup& sync);

  // Records the copies of one message; returns the generation to pass to
  // done() once they are renamed.
  Result<uint64_t> append(const std::vector<MaildirCopy>& copies);
  // `n` copies recorded under `gen` are renamed (or given up). A generation
  // that takes no more appends and has no copies left is removed after the
  // next sync, which also makes those renames durable.
  void done(uint64_t gen, size_t n, SyncGroup& sync);

 private:
  struct Gen {
    uint64_t id;
    int fd;
    size_t outstanding = 0;
    size_t appended = 0;
  };
  Result<Gen*> current_locked();
  void retire_locked(SyncGroup& sync);

  std::filesystem::path dir_;
  std::mutex mu_;
  std::vector<Gen> gens_;  // oldest first; the last one takes appends
  uint64_t next_id_ = 1;
};

}  // namespace nougat::engine
