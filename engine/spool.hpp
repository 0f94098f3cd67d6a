// Spool: where a message lives from the moment it is accepted until every
// recipient is done. One file per message, `<spool>/queue/<id>`:
//
//   nougat-spool 1\n
//   <message bytes, CRLF line ends, Received: already prepended>
//   typed envelope records, one per line ("sender …", "rcpt …", "header …"
//   with "header+ …" for each continuation line of a folded field,
//   "unheader NAME" for a field left out, "var NAME VALUE" for the checks'
//   filter variables, "quarantine 1" and "held REASON" for a held message)
//   end <data size> <records size>\n
//
// The envelope comes after the data so that what is only known at the end
// of DATA (headers the checks add, the target folder, quarantine) is
// written once, even for a message that spilled to disk while streaming.
// A file without a valid end record is incomplete: it was never acknowledged
// and recovery removes it (STYLE 10). Per-recipient progress is appended to
// `<id>.state` ("done N", "failed N text"); a message with every recipient
// done is removed. Durability is not this class's job: callers make writes
// durable through a SyncGroup before acknowledging.
//
// A held (quarantined) message stays until an administrator acts
// (`nougat queue release|delete`). A release is a marker file,
// `<spool>/release/<id>`, written by the CLI (fsync'd with its directory) and
// removed with the message; Delivery looks for markers at start and every
// few seconds. Recovery removes markers and `.state` files whose message is
// gone. Queue ids have one shape (valid_queue_id); every path built from an
// id outside this class is checked with it first.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/result.hpp"

namespace nougat::engine {

struct Envelope {
  std::string sender;                    // "" is the null sender <>
  std::vector<std::string> recipients;   // as given in RCPT TO, domain lowercased
  int64_t received_at = 0;               // unix time
  std::string client_ip, helo, auth_user, protocol;
  bool smtputf8 = false;
  // Decided at end of DATA by the check chain:
  std::vector<std::string> added_headers;  // "Name: value" fields put on top at delivery ("\n" + WSP folds)
  std::vector<std::string> removed_headers;  // names of the message's own fields left out at delivery
  std::string folder;                      // Maildir++ folder for local copies ("Junk"); "" = INBOX
  bool quarantined = false;                // held: never delivered until released
  std::string held_reason;                 // why, for `nougat queue list` ("" in old spool files)
  // Filter variables set by the checks ($spam_score, $malware_name …), for
  // ~/.forward filters at delivery. Names are [a-z0-9_]+; no CR/LF anywhere.
  std::vector<std::pair<std::string, std::string>> variables;
};

enum class RcptState : uint8_t { kPending, kDone, kFailed };

struct SpooledMessage {
  std::string id;
  Envelope envelope;
  std::vector<RcptState> state;          // one per recipient
  std::vector<std::string> failure;      // reason per failed recipient
  std::shared_ptr<const std::string> data;  // the message, when kept in memory
  uint64_t data_offset = 0, data_size = 0;
};

class Spool {
 public:
  explicit Spool(std::filesystem::path dir);  // <data>/spool
  Status open();                               // creates the folders
  const std::filesystem::path& dir() const { return dir_; }

  std::string new_id();

  // Streams one incoming message into the spool.
  class Writer {
   public:
    ~Writer();
    Status append(std::string_view bytes);
    // Writes the spool file with its end record and closes it; the message is
    // complete (not yet durable: sync before acknowledging).
    Result<SpooledMessage> finish();
    // The message without any spool file, when it is still wholly in memory
    // (small messages); nullopt once it has spilled to disk.
    std::optional<SpooledMessage> take_in_memory();
    void abort();  // forgets the message and removes any partial file
    uint64_t size() const { return size_; }
    // The envelope may still change until finish() (end-of-DATA decisions).
    Envelope& envelope() { return msg_.envelope; }
    const std::string& id() const { return msg_.id; }
    // The message so far: the memory copy, or read back from the file.
    Result<std::shared_ptr<const std::string>> contents() const;

   private:
    friend class Spool;
    Status open_file();
    std::filesystem::path path_;
    int fd_ = -1;
    bool finished_ = false;
    SpooledMessage msg_;
    std::shared_ptr<std::string> memory_;   // whole data while small enough
    uint64_t size_ = 0;
  };
  Result<std::unique_ptr<Writer>> create(const std::string& id, const Envelope& env);

  // Recovery: ids of complete messages; incomplete ones are removed, and
  // so are state files and release markers without a message.
  std::vector<std::string> recover();
  // Read-only: the ids of the message files in the queue (complete or not),
  // in arrival order. For `nougat queue`, which must not disturb a running
  // server; load() tells complete from incomplete.
  std::vector<std::string> ids() const;
  Result<SpooledMessage> load(const std::string& id, bool with_data);
  Result<std::shared_ptr<const std::string>> read_data(const SpooledMessage& m);
  bool exists(const std::string& id) const;  // the message file is there

  Status record(const std::string& id, size_t rcpt, RcptState st, std::string_view why = {});
  // Removes the message, its state and its release marker (in that order:
  // a crash in between leaves only what recovery cleans up). Errors other
  // than "already gone" are reported.
  Status remove(const std::string& id);

  // Release markers: the administrator's "deliver this held message".
  Status mark_released(const std::string& id);  // creates it durably (file + directory fsync)
  bool is_released(const std::string& id) const;
  std::vector<std::string> released_ids() const;  // sorted
  void unmark_released(const std::string& id);

 private:
  std::filesystem::path dir_;
  std::filesystem::path queue_;
  std::filesystem::path release_;
};

// The shape new_id() produces: 6 base62 digits, '-', 8 base62 digits. Any
// other name (a path, "..", a state file) is not a queue id.
bool valid_queue_id(std::string_view id);

// The envelope as spool records; nullopt if a field holds CR or LF.
std::optional<std::string> encode_envelope(const std::string& id, const Envelope& env);

// Kept in memory for immediate delivery when at most this big.
inline constexpr uint64_t kMemoryCopyLimit = 256 << 10;

}  // namespace nougat::engine
