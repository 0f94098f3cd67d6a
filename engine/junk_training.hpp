// The pure rules of Junk training (engine/junk_trainer.hpp runs them): what
// a stored message says about itself, and what moving it into or out of the
// Junk folder teaches the user's own Bayes store. No I/O here.
//
// Train on error only. The classifier already put its spam in Junk and the
// rest in INBOX; a message counts as the user's correction only where it
// contradicts our verdict:
//   - in .Junk without our "X-Spam-Flag: YES"  → learn it as spam;
//   - in INBOX with our "X-Spam-Flag: YES"     → learn it as ham, but only
//     when spam.action puts flagged mail in Junk ("junk", and "reject",
//     whose personally-flagged copies go to Junk too). With "tag" flagged
//     mail lands in INBOX on purpose, so being there says nothing.
// What was trained is remembered per message (JunkJournal), so a user who
// changes their mind is undone: trained as spam and back in INBOX → unlearn
// spam (then learn ham if our flag said YES, as above); trained as ham and
// back in Junk → unlearn ham (then learn spam unless flagged YES). Nothing
// is ever learnt twice for one class.
//
// A user's first pass (engine/junk_trainer.hpp: when the trainer has no
// record of what their folders held — a first start, a user added while
// `serve` runs, a lost or damaged junk-seen file) learns nothing new: mail
// already in place was not moved under our watch — a Maildir migrated from
// another server, flagged mail delivered to INBOX while spam.action was
// "tag". It only undoes what the journal says was trained and has since
// been moved back. (A learn the journal has pending — written ahead, never
// confirmed — is no guess about old mail: the trainer completes it before
// asking junk_decision, first pass or not.) From then on every message that
// appears in INBOX or Junk is judged as above — across restarts too, since
// what was seen is kept — including mail copied in afterwards
// (docs/DECISIONS.md: migrate with `serve` stopped).

// Only our own flag counts: the one X-Spam-Flag field in the block that
// delivery puts on top of the message (Return-Path, Delivered-To, our
// Received, the X-Spam-* fields). A sender's forged field further down, or a
// previous system's, reads as "not flagged".
//
// The message key (what the journal is keyed by) is message_key(): the one
// `nougat bayes train` gives the store's seen records — the Message-ID
// together with a hash of the body, so every copy of a message, in any
// folder and under any name, has one key, while two different messages that
// share a Message-ID (a list's copy with its footer and the direct one,
// generated mail) stay apart. Journal and store thus agree on what "this
// message" is.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nougat::engine {

inline constexpr size_t kJunkHeadBytes = 64 * 1024;  // header bytes read per message
inline constexpr size_t kKeyBodyBytes = 64 * 1024;   // body bytes hashed (LF line ends)
inline constexpr size_t kKeyReadBytes = 2 * kKeyBodyBytes;  // what a CRLF body needs for them
inline constexpr size_t kMaxKeyBytes = 250;          // longer Message-IDs are hashed

enum class JunkFolder { kInbox, kJunk };

// What the journal says about one message key.
enum class Trained {
  kNone,  // nothing learnt (never, or unlearnt since)
  kSpam,  // learnt as spam
  kHam,   // learnt as ham
};

enum class TrainOp { kUnlearnSpam, kUnlearnHam, kLearnSpam, kLearnHam };

std::string_view trained_name(Trained t);  // "none", "spam", "ham"
std::optional<Trained> parse_trained(std::string_view s);
std::string_view train_op_name(TrainOp op);  // "unlearn-spam", …

struct JunkDecision {
  std::vector<TrainOp> ops;  // in order: an unlearn before a learn
  Trained after = Trained::kNone;
};

// What to do about one message seen in `where`. `flagged`: our X-Spam-Flag
// is YES. `ham_from_inbox`: spam.action moves flagged mail to Junk.
// `first_pass`: the trainer's first pass since start (see above).
JunkDecision junk_decision(JunkFolder where, bool flagged, Trained state, bool ham_from_inbox,
                           bool first_pass = false);

// What the header block of a stored message says.
struct StoredHeader {
  bool flagged = false;    // our X-Spam-Flag is YES
  std::string key;         // from the Message-ID alone; "" when there is none
  // The header block as the sender wrote it, for messages without a
  // Message-ID: every line, LF line ends, without the fields delivery adds
  // or removes (Return-Path, Delivered-To, Received, X-Spam-*, X-Virus).
  std::string identity;
  size_t body_offset = 0;  // where the body starts; 0 when the block did not end in `head`
};

// Reads the first bytes of a stored message (LF or CRLF line ends).
StoredHeader inspect_stored_header(std::string_view head);

// The key of a message without a Message-ID: "body:" + 32 hex digits of the
// SHA-256 of `body` with CRLF taken as LF and a missing last line end
// added (a copy stored with LF line ends, or saved without the last one,
// has the key of the message as sent); at most kKeyBodyBytes of it count,
// after CRLF is taken as LF (so callers pass kKeyReadBytes when they can).
// A non-empty `header` (StoredHeader::identity) counts too: two mails with
// one body are told apart by their other lines.
std::string body_key(std::string_view body, std::string_view header = "");

// The identity `nougat bayes train` gives the token store, which remembers
// what each message was learnt as: the Message-ID and the body hash above
// together ("ID|body:…"; a leading mbox "From " line skipped), so stored
// copies of one message are one, while messages that merely share a
// Message-ID (generated mail, careless senders) stay apart. Without a
// Message-ID the hash of the header block as the sender wrote it (without
// the fields delivery adds) and the body. A message whose header block has no end (a
// header-only file, an empty one, something that is no message) gets the
// Message-ID with the hash of the whole, or that hash alone; one whose
// header block exceeds kJunkHeadBytes, the Message-ID alone (else the hash
// of the first kKeyBodyBytes). Never "": every message is remembered.
std::string message_key(std::string_view raw);

// The same key from the parts a reader of a stored file has: its header
// block (inspect_stored_header) and the bytes after the block (at least
// kKeyReadBytes of them when the body is that long).
std::string message_key(const StoredHeader& h, std::string_view body);

// True when a journal can hold `key`: 1..kMaxKeyBytes+64 printable ASCII,
// no spaces (a Message-ID of at most kMaxKeyBytes — longer ones are hashed —
// and the body hash).
bool valid_message_key(std::string_view key);

// What the trainer saw in a user's INBOX and Junk (sorted hashes of the
// Maildir base names), kept across restarts in a small file:
//   "# nougat junk seen 1 rule=R inbox=N junk=M\n", the N + M hashes as
//   64-bit words, then the FNV-1a checksum of all that (host byte order:
//   the file never leaves the machine). R (16 hex digits) stands for the
//   settings the sets were seen under: junk_seen_rule().
using JunkSeen = std::array<std::vector<uint64_t>, 2>;  // [0] INBOX, [1] Junk
// Whether flagged mail in INBOX teaches ham (a switch from spam.action
// "tag" would make flagged mail delivered to INBOX meanwhile look moved
// there by the user) and which folder is Junk (another one's mail was not
// moved there under our watch).
uint64_t junk_seen_rule(bool ham_from_inbox, std::string_view junk_folder);
std::string junk_seen_text(const JunkSeen& seen, uint64_t rule);
// False (and `seen` left empty) for anything but a whole, intact file
// written under the same rule, with strictly increasing hashes.
bool parse_junk_seen(std::string_view text, uint64_t rule, JunkSeen& seen);

// The part of a Maildir file name that stays when a client moves the file
// from new/ to cur/ or changes its flags: everything before ':'.
std::string_view maildir_base_name(std::string_view name);

}  // namespace nougat::engine
