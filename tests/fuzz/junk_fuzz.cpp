// Fuzz target for Junk training's parsers (engine/junk_training.hpp,
// engine/junk_journal.hpp): the input is read as the first bytes of a stored
// message (our X-Spam-Flag and the Message-ID key), as a journal file and
// as a junk-seen file (which, when accepted, must write back byte for byte).
// Besides not crashing: every key found is one a journal can hold, the body
// offset stays inside the input, "none" is never pending, and a compacted
// journal parses back to the same live entries (state and pending flag)
// without problems.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/junk_journal.hpp"
#include "engine/junk_training.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nougat::engine;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  StoredHeader h = inspect_stored_header(text);
  if (!h.key.empty() && !valid_message_key(h.key)) std::abort();
  if (h.body_offset > text.size()) std::abort();
  if (h.body_offset && !valid_message_key(body_key(text.substr(h.body_offset)))) std::abort();
  (void)maildir_base_name(text);

  auto parsed = JunkJournal::parse(text, "journal");
  auto again = JunkJournal::parse(JunkJournal::compacted(parsed.entries), "compacted");
  if (!again.problems.empty()) std::abort();
  for (const auto& [key, e] : parsed.entries) {
    if (e.pending && e.state == Trained::kNone) std::abort();
    if (e.state == Trained::kNone) continue;
    auto it = again.entries.find(key);
    if (it == again.entries.end() || it->second.state != e.state ||
        it->second.pending != e.pending || it->second.time != e.time)
      std::abort();
  }
  for (const auto& [key, e] : again.entries)
    if (e.state == Trained::kNone || !parsed.entries.count(key)) std::abort();

  if (h.body_offset && !valid_message_key(message_key(h, text.substr(h.body_offset)))) std::abort();
  if (!valid_message_key(message_key(text))) std::abort();  // every message has a key
  for (uint64_t rule : {junk_seen_rule(false, "Junk"), junk_seen_rule(true, "Junk"), uint64_t(0x0123456789abcdef)}) {
    JunkSeen seen;
    if (parse_junk_seen(text, rule, seen)) {
      if (junk_seen_text(seen, rule) != text) std::abort();
    } else if (!seen[0].empty() || !seen[1].empty()) {
      std::abort();
    }
  }
  return 0;
}
