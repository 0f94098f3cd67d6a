// RFC 5321 mailbox parsing (the part between the angle brackets of a path).
//
// Contract: parse_mailbox() accepts `Local-part "@" ( Domain / address-literal )`
// and nothing else (no comments, no folding whitespace, no source route; the
// command parser strips routes before calling it). Local-part is a dot-atom
// or a quoted-string, at most 64 octets as written; Domain is dot-separated
// LDH labels (1..63 octets each, no leading/trailing hyphen), at most 255
// octets, or an address literal `[1.2.3.4]` / `[IPv6:...]`. Non-ASCII (valid
// UTF-8 only) is accepted in atoms, quoted strings and labels only when
// allow_utf8 (SMTPUTF8 was given).
//
// The result is canonical: local_part holds the decoded value (quotes and
// quoted-pair backslashes removed), the domain is lowercased (the IPv6 tag is
// written "IPv6:"). to_string() re-quotes the local part when it is not a
// dot-atom, so to_string(parse_mailbox(x)) is a valid mailbox again.
// Errors carry only a short reason in Error::text; the command parser maps
// them to the SMTP reply. Pure code: no I/O, no allocation beyond the result.
#pragma once

#include <string>
#include <string_view>

#include "engine/result.hpp"

namespace nougat::smtpd {

inline constexpr size_t kMaxLocalPart = 64;  // RFC 5321 4.5.3.1.1
inline constexpr size_t kMaxDomain = 255;    // RFC 5321 4.5.3.1.2
inline constexpr size_t kMaxPath = 256;      // RFC 5321 4.5.3.1.3, with the brackets

struct Mailbox {
  std::string local_part;  // decoded (unquoted) value
  std::string domain;      // lowercased; "[...]" for address literals

  bool operator==(const Mailbox&) const = default;
};

Result<Mailbox> parse_mailbox(std::string_view text, bool allow_utf8);

// Parses a Domain or address literal on its own (used for source routes and
// HELO/EHLO arguments). Returns the lowercased form.
Result<std::string> parse_domain(std::string_view text, bool allow_utf8);

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF).
bool valid_utf8(std::string_view s);

std::string to_string(const Mailbox& m);

}  // namespace nougat::smtpd
