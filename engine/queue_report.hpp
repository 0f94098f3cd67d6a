// QueueReport: the text `nougat queue list|show` prints about spooled
// messages, in the manner of `exim -bp` / `exim -Mvh`. Pure: a loaded
// SpooledMessage, whether it has a release marker and the current time go
// in, text comes out — so the format is unit-tested without a spool.
//
// A list entry (blank line after each, as exim -bp):
//
//    2m   395 1xXD4z-00DhV1Wa <bob@example.org> *** held: virus found: X ***
//             pending alice@localhost
//             done    carol@localhost
//             failed  dave@localhost: 550 5.1.1 unknown user
//
// Age is s/m/h/d, size bytes/K/M, the null sender is <>. A held message that
// was released and waits for the server says "*** released (held: …) ***".
// Message bytes are shown with LF line ends (the spool keeps CRLF).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/spool.hpp"

namespace nougat::engine {

std::string format_age(int64_t seconds);  // "45s", "2m", "3h", "4d" (negative: "0s")
std::string format_size(uint64_t bytes);  // "395", "2.9K", "12K", "1.2M", "35M"

// One `queue list` entry (several lines, each ending in '\n', then a blank one).
std::string format_queue_entry(const SpooledMessage& m, bool released, int64_t now);
// `queue list --count`: "3 messages, 1 held" (", 1 released" when some are).
std::string format_queue_count(size_t messages, size_t held, size_t released);
// The envelope part of `queue show`: "Name: value" lines.
std::string format_envelope(const SpooledMessage& m, bool released, int64_t now);

// The message's header block (through the blank line) and body; a message
// without a blank line is all header. CRLF is turned into LF.
std::string header_part(std::string_view data);
std::string body_part(std::string_view data);
std::string with_lf(std::string_view data);

}  // namespace nougat::engine
