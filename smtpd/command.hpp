// SMTP command-line parsing (RFC 5321, 1870, 3030, 3461, 4954, 6152, 6531).
//
// Contract: every function takes one command line (or its argument) WITHOUT
// the CRLF, does no I/O and keeps no state. On failure Error::text is the
// exact reply line to send (without CRLF), e.g. "501 5.1.7 Bad sender address
// syntax"; Error::detail says why, for the log. Strings in results are
// canonical (see address.hpp); string_views point into the caller's line.
// Limits: the line length is enforced by the session (kMaxCommandLine);
// paths are limited to kMaxPath, local parts to 64, domains to 255 octets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/result.hpp"

namespace nougat::smtpd {

// RFC 5321 4.5.3.1.4: 512 octets including the CRLF.
inline constexpr size_t kMaxCommandLine = 512;

enum class Verb {
  kHelo,
  kEhlo,
  kMail,
  kRcpt,
  kData,
  kBdat,
  kRset,
  kNoop,
  kQuit,
  kVrfy,
  kExpn,
  kHelp,
  kStarttls,
  kAuth,
  kUnknown
};

struct Command {
  Verb verb;
  std::string_view arg;        // after the verb and one space; trailing SP/HTAB trimmed
  std::string_view verb_text;  // the verb as sent (for logs / "502 ... <verb>")
};

// Verbs are case-insensitive. A verb with NUL, a control or an 8-bit byte,
// an empty verb, or NUL/CR/LF anywhere in the line is an error
// ("500 5.5.2 Syntax error"); any other unknown verb is Verb::kUnknown.
Result<Command> parse_command(std::string_view line);

struct MailFrom {
  enum Body { k7bit, k8bitmime, kBinarymime };

  std::string address;           // canonical; "" for <>
  std::optional<uint64_t> size;  // SIZE= (saturates at UINT64_MAX)
  Body body = k7bit;             // BODY=
  bool smtputf8 = false;         // SMTPUTF8
  std::string auth;              // AUTH= as sent (xtext, validated) or "<>"
  std::string ret;               // RET= uppercased: "FULL" / "HDRS" / ""
  std::string envid;             // ENVID= as sent (xtext, validated)
};

// `arg` is what follows "MAIL ": "FROM:<addr> [params]". A space after the
// colon is tolerated; the angle brackets are required; a source route is
// stripped. Unknown or duplicate parameters are errors.
Result<MailFrom> parse_mail_from(std::string_view arg);

struct RcptTo {
  std::string address;  // canonical; "postmaster" for <postmaster>
  std::string notify;   // NOTIFY= uppercased, e.g. "SUCCESS,FAILURE" or "NEVER"
  std::string orcpt;    // ORCPT= as sent ("rfc822;" + xtext, validated)
};

// `arg` is what follows "RCPT ": "TO:<addr> [params]". `smtputf8` is whether
// the transaction's MAIL FROM carried SMTPUTF8 (then UTF-8 addresses pass).
Result<RcptTo> parse_rcpt_to(std::string_view arg, bool smtputf8 = false);

// `arg` is what follows "BDAT ": "<size> [LAST]". Sets `last`.
Result<uint64_t> parse_bdat(std::string_view arg, bool& last);

// Decodes RFC 3461 xtext ("+XX" hex escapes); error when malformed.
Result<std::string> decode_xtext(std::string_view xtext);

}  // namespace nougat::smtpd
