// nougat::engine::Message — the zero-copy RFC 5322 + MIME message model.
//
// What it is for: every stage that looks at message content (checks, ClamAV,
// Bayes, the Exim filter language, IMAP BODYSTRUCTURE) reads the spooled bytes
// through this model instead of re-parsing.
//
// Promises:
//  - Zero-copy: the caller owns the buffer and must keep it alive and
//    unchanged while the Message (or any view taken from it) is used. Header
//    fields, header blocks, bodies, preambles and epilogues are string_views
//    into it. Only small things are owned: lowercased types, parameters.
//  - Decoding is on demand: HeaderField::decoded(), MimePart::decoded()
//    (transfer decoding), MimePart::text() (plus charset -> UTF-8).
//  - CRLF and bare-LF input give the same model (modulo the views' bytes).
//  - Never throws on input and never crashes or hangs on malformed mail; every
//    input yields a best-effort model in O(size * depth) time:
//      * no header block / no body / no separator line: see parse_header_block;
//      * a leading mbox "From " line is skipped and exposed as envelope_from();
//      * multipart without boundary, or whose first delimiter never appears:
//        a leaf (body = the whole body); missing close delimiter: the last
//        part runs to the end; empty parts between adjacent delimiters are
//        dropped (as Python's email package does);
//      * parts deeper than kMaxDepth, and parts beyond kMaxParts per message,
//        are leaves (their body holds the rest, undecoded structure);
//      * message/* (except delivery-status) with identity transfer encoding
//        embeds the inner message as the single child.
// Limits: kMaxDepth = 64 levels, kMaxParts = 10000 parts.
// Failure: there is none; bad input gives defaults (text/plain, us-ascii...).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/charset.hpp"
#include "engine/encoded_word.hpp"
#include "engine/mime.hpp"
#include "engine/transfer_decode.hpp"

namespace nougat::engine {

inline constexpr int kMaxDepth = 64;
inline constexpr size_t kMaxParts = 10000;

struct MimePart {
  std::string_view header_block;  // field lines incl. line breaks, no separator
  std::string_view body;          // raw, still transfer-encoded; for multiparts all of it
  std::vector<HeaderField> headers;

  std::string type = "text";      // lowercased; default text/plain (message/rfc822
  std::string subtype = "plain";  // for children of multipart/digest)
  std::vector<Param> params;      // Content-Type parameters
  std::string disposition;        // lowercased ("inline", "attachment"), "" if absent
  std::vector<Param> disposition_params;
  std::string transfer_encoding;  // lowercased, trimmed, "" if absent (means 7bit)

  // Multipart: the body parts in order. message/*: the embedded message's root.
  std::vector<MimePart> children;
  std::string_view preamble, epilogue;  // multipart only (line break before a delimiter excluded)
  int depth = 0;                        // 0 for the message itself

  std::string content_type() const { return type + "/" + subtype; }
  bool is_multipart() const { return type == "multipart" && !children.empty(); }
  // The embedded message's root part for message/rfc822 & co, else nullptr.
  const MimePart* embedded() const;

  const HeaderField* find(std::string_view name) const { return find_field(headers, name); }
  const std::string* param(std::string_view name) const;  // Content-Type parameter
  std::string charset() const;  // lowercased "charset" parameter, "" if none
  // Content-Disposition filename, else Content-Type name; RFC 2231 and
  // RFC 2047 decoded, UTF-8, trimmed; "" if none.
  std::string filename() const;

  // Transfer-decoded bytes (base64, quoted-printable; anything else as is).
  std::string decoded() const;
  // decoded() converted to UTF-8 from charset() (see to_utf8()).
  std::string text() const;
};

class Message {
 public:
  static Message parse(std::string_view raw);

  std::string_view raw() const { return raw_; }
  std::string_view envelope_from() const { return envelope_from_; }  // "From ..." line or ""

  const std::vector<HeaderField>& headers() const { return root_.headers; }
  const HeaderField* find(std::string_view name) const { return root_.find(name); }
  std::vector<const HeaderField*> all(std::string_view name) const;  // in order
  // First field's value, unfolded and RFC 2047 decoded to UTF-8.
  std::optional<std::string> header_text(std::string_view name) const;

  std::string_view body() const { return root_.body; }
  const MimePart& root() const { return root_; }

 private:
  std::string_view raw_, envelope_from_;
  MimePart root_;
};

// Visits `part` and all its descendants in pre-order (document order).
template <typename F>
void for_each_part(const MimePart& part, F&& visit) {
  visit(part);
  for (const auto& c : part.children) for_each_part(c, visit);
}

}  // namespace nougat::engine
