// mbox files: where one message ends and the next begins.
//
// A separator is a "From " line whose sender (one word, several, or none)
// is followed by an asctime date — weekday, month, day, hh:mm[:ss], an
// optional zone, year — and at most a zone or "remote from HOST" after it:
// mutt, procmail, Thunderbird ("From - …"), Python's mailbox, Gmail Takeout
// (zone before the year), Mailman archives ("From barry at python.org …").
// A body line such as "From bob Tue Feb  2 10:00:00 2021 wrote:" is none.
// No blank line is needed before it (writers escape "From " in bodies).
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace nougat::engine {

// Whether `line` (without its line end; a trailing CR is allowed) is one.
bool mbox_from_line(std::string_view line);

// (offset, length) of each message of `s`, which starts with a From_ line:
// from its From_ line to the next, without the blank line its writer puts
// after it (so a message has the bytes, and the key, of its stored copy).
std::vector<std::pair<size_t, size_t>> mbox_split(std::string_view s);

}  // namespace nougat::engine
