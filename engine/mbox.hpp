// mbox files: where one message ends and the next begins.
//
// A separator is a "From " line whose sender (one word, several, or none)
// is followed by an asctime date — weekday, month, day, hh:mm[:ss], an
// optional zone, year — and at most a zone or "remote from HOST" after it:
// mutt, procmail, Thunderbird ("From - …"), Python's mailbox, Gmail Takeout
// (zone before the year), Mailman archives ("From barry at python.org …").
// A body line such as "From bob Tue Feb  2 10:00:00 2021 wrote:" is none,
// nor is one with an impossible date ("Jan 32", "24:00"). No blank line is
// needed before it (writers escape "From " in bodies).
//
// A message whose header has a Content-Length that ends its body exactly
// where a From_ line starts a line (or the file ends), after at most one
// blank line, is that long (mboxcl/mboxcl2; mutt and Dovecot believe such a
// Content-Length too): a From_ line in its body separates nothing. Other
// messages end at the next From_ line. In both, body lines ">From ",
// ">>From " … carry the '>' their writer added (mboxrd, and mboxo/mboxcl,
// which mutt, Dovecot, Postfix, procmail write, for "From "):
// mbox_unescape() takes one off, so a message keys as its stored copy — an
// original ">From " line in mboxo loses its '>' too (tokens do not care).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

namespace nougat::engine {

// Whether `line` (without its line end; a trailing CR is allowed) is one.
bool mbox_from_line(std::string_view line);

// Whether the first line of a message file is an envelope line to skip
// rather than its text: a From_ line as above, or one Exim takes for one
// (its uucp_from_pattern: "From SENDER [Day,] Mon dd hh:mm…" or
// "… dd Mon yy[yy] hh:mm…"). "From the desk of …" is text.
bool leading_from_line(std::string_view line);

// Exim's uucp_from_pattern alone
//   ^From\s+(\S+)\s+(?:[a-zA-Z]{3},?\s+)?(?:[a-zA-Z]{3}\s+\d?\d|\d?\d\s+[a-zA-Z]{3}\s+\d\d(?:\d\d)?)\s+\d\d?:\d\d?
// (a prefix match): the sender it captures, or nothing; `matched`: how much
// of the line the match took ($0 after it, in exim -bf).
std::optional<std::string_view> uucp_from_sender(std::string_view line, size_t* matched = nullptr);

struct MboxPart {
  size_t offset = 0, length = 0;
};

// The messages of `s`, which starts with a From_ line: from its From_ line
// to the next, without the blank line its writer puts after it (so a
// message has the bytes, and the key, of its stored copy once unescaped).
// A message found by its Content-Length is that long.
std::vector<MboxPart> mbox_split(std::string_view s);

// An escaped message as its writer was given it: one '>' less at the start
// of every line that is '>'s then "From " (the From_ line itself stays).
// Unchanged when there is none.
std::string mbox_unescape(std::string_view m);

// Whether mbox_unescape() would change `m`.
bool mbox_has_escapes(std::string_view m);

}  // namespace nougat::engine
