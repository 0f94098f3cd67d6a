// Header-block and structured-header-value parsing for the message model
// (RFC 5322 §2.2 fields, RFC 2045 parameters, RFC 2231 extended parameters).
// Zero-copy: HeaderField holds views into the caller's buffer.
//
// Contract: never throws on input, linear time, accepts CRLF and bare LF line
// endings (mixed too). Limits and choices, all best-effort:
//  - A header block ends at the first empty line (consumed), at the first line
//    that is neither a field ("name:" with printable ASCII name) nor a
//    continuation (that line starts the body), or at the end of input
//    (header without body: empty body).
//  - A leading continuation line (no field to continue) and a line starting
//    with ':' are skipped.
//  - Field values may contain any bytes (8-bit, NUL); decoding is on demand.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace nougat::engine {

struct HeaderField {
  std::string_view name;   // as written (compare with iequals)
  std::string_view value;  // after ':' and leading WSP; folds kept; no final line break

  // Line breaks of folds removed (RFC 5322 §2.2.3), trailing whitespace trimmed.
  std::string unfolded() const;
  // unfolded() with RFC 2047 words decoded; always valid UTF-8.
  std::string decoded() const;
};

struct HeaderBlock {
  std::vector<HeaderField> fields;
  std::string_view block;  // the field lines incl. their line breaks (no separator)
  size_t body_offset = 0;  // where the body starts in the parsed input
};

// Parses the header block at the start of `raw`.
HeaderBlock parse_header_block(std::string_view raw);

bool iequals(std::string_view a, std::string_view b);
// `s` without leading and trailing spaces, tabs, CRs and LFs.
std::string_view trim_space(std::string_view s);
// The field name of a header line: what precedes its first ':', less the
// spaces and tabs RFC 5322's obsolete syntax allows before the colon (only
// those: "X-Spam-Flag\r:" is another name); "" when there is no colon.
std::string_view field_name_of(std::string_view line);
// Whether a field called `name` is one `pattern` names: the same name in
// any case, or, for a pattern ending in '*', any name starting with the rest
// ("X-Spam-*", as Exim's headers_remove). Every removal of fields by name
// goes through this.
bool name_matches(std::string_view name, std::string_view pattern);
std::string ascii_lower(std::string_view s);

// First field named `name` (case-insensitive), or nullptr.
const HeaderField* find_field(const std::vector<HeaderField>& fields, std::string_view name);

struct Param {
  std::string name;   // lowercased, without RFC 2231 "*" / "*N" suffixes
  std::string value;  // unquoted; RFC 2231 values are joined, %-decoded, in UTF-8;
                      // plain values are the raw bytes (may hold RFC 2047 words)
};

// A structured value such as Content-Type or Content-Disposition.
struct StructuredValue {
  std::string value;  // the part before the first ';', trimmed, comments removed, lowercased
  std::vector<Param> params;  // in order of first appearance; first of duplicates wins

  const std::string* param(std::string_view name) const;
};

// Parses an (unfolded) structured value. Quoted strings may contain ';'.
// RFC 2231 sections (name*0, name*1*, ...) are joined in numeric order;
// an extended "name*" beats a plain "name". Only the first 64 parameters
// are looked at.
StructuredValue parse_structured(std::string_view unfolded);

}  // namespace nougat::engine
