// Exim string expansion ("$var", "${item{..}}", "${op:..}", "${if ..}"),
// compiled once and run many times.
//
// Contract: compile_expansion() parses a string into an immutable Expansion
// (constant regexes are compiled there too, PCRE2 with JIT and match limits);
// expand() runs it against an ExpandContext, reading the message only through
// that interface. Error texts are Exim 4.96's expander messages (the part
// after "failed to expand ... : "), verified against `exim -bf`; the caller
// adds the surrounding "Filter error" text. Expansion never performs actions:
// strings from the message are data, never re-expanded.
// Limits: output size (ExpandState::max_output), nesting depth, regex match
// and depth limits; exceeding any of them fails the expansion.
// Note on error order: Exim parses and evaluates in one pass, so a run-time
// error (e.g. unknown variable) before a syntax error is reported first by
// Exim; here compile_expansion() reports the syntax error. Callers that want
// Exim's order should report a compile error only when the string would have
// been expanded at run time (which is what Exim does anyway).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "filterlang/result.hpp"

namespace nougat::filterlang {

// ASCII case-insensitive equality (header names, Exim's caseless tests).
inline bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if ((x >= 'A' && x <= 'Z' ? x + 32 : x) != (y >= 'A' && y <= 'Z' ? y + 32 : y)) return false;
  }
  return true;
}

// What expansion can read. B implements it over the message and the filter-test options.
class ExpandContext {
 public:
  virtual ~ExpandContext() = default;
  // Plain variables without the '$': "sender_address", "local_part", "domain", "home", "message_body",
  // "message_body_end", "message_body_size", "message_headers", "message_size", "message_id", "reply_address",
  // "thisaddress", "spam_score", "malware_name", "tod_full", … and "n0".."n9", "sn0".."sn9". nullopt = unknown
  // variable (Exim: expansion fails with "unknown variable name \"x\"").
  virtual std::optional<std::string> variable(std::string_view name) const = 0;
  // All header fields in order as (name, raw value incl. folding, without the trailing newline), for
  // $h_/$header_/$bh_/$rh_ and $message_headers. The raw value is the text after the colon (leading space kept).
  virtual const std::vector<std::pair<std::string, std::string>>& headers() const = 0;
  // The host's interface addresses as text, for "@[]" in lists (none by default).
  virtual std::vector<std::string> interface_addresses() const { return {}; }
  // Whether a variable's value came from the message or its sender (Exim's
  // taint): ${expand:} refuses text made from it. The default: the header
  // and body variables (header fields themselves always are).
  virtual bool tainted(std::string_view name) const {
    return name == "message_body" || name == "message_body_end" || name == "message_headers" ||
           name == "message_headers_raw" || name == "reply_address" || name == "thisaddress";
  }
};

struct ExpandState {                  // per-run mutable state
  std::vector<std::string> captures;  // $0..$9 from the last successful regex match (filter `matches` sets these too)
  size_t max_output = 1 << 20;        // limit; exceeding fails the expansion
  // Added after the first commit (defaulted, so existing code is unaffected): the filter's
  // `headers charset X` command sets this; $h_ and ${rfc2047d:} convert encoded words to it
  // and ${rfc2047:} names it. Exim's default (Debian build) is UTF-8.
  std::string headers_charset = "UTF-8";
  // Variables expansions set, for the rest of the run: $prvscheck_result,
  // $srs_recipient (and $prvscheck_address/_keynum inside ${prvscheck}).
  std::map<std::string, std::string, std::less<>> set_variables;
  std::set<std::string, std::less<>> tainted_variables;  // which of set_variables hold message data
  bool captures_tainted = false;  // $0..$9 came from message data
  bool headers_charset_tainted = false;  // the charset's name did (the filter's `headers charset "$h_x:"`)
  bool last_tainted = false;      // set by expand(): the result holds message data
};

class Expansion;  // compiled, immutable, shareable across threads

Result<std::shared_ptr<const Expansion>> compile_expansion(std::string_view text);  // syntax errors: Exim's message text
Result<std::string> expand(const Expansion&, const ExpandContext&, ExpandState&);  // run-time failures: Exim's text
Result<std::string> expand_string(std::string_view text, const ExpandContext&, ExpandState&);  // compile + expand

// True when the Expansion is a constant (no variables, items or operators): its text is fixed.
bool is_constant(const Expansion&);

// Helpers for ExpandContext implementations, so variables built from headers match Exim exactly.
using HeaderList = std::vector<std::pair<std::string, std::string>>;
// $message_headers (raw=false: each "Name:value" line right-trimmed, joined by "\n", RFC 2047 decoded
// without charset conversion) and $message_headers_raw (raw=true: every line plus "\n").
std::string message_headers_value(const HeaderList& headers, bool raw);
// Exim's string_printing(): printable ASCII and TAB kept, \n \r \b \v \f
// escaped, other bytes as \ooo (${escape:}, and the filter's report lines).
std::string printing(std::string_view s);
// $reply_address: Reply-To: if present and non-blank, else From:; newlines become spaces, trimmed.
std::string reply_address_value(const HeaderList& headers);

}  // namespace nougat::filterlang
