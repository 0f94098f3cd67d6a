#include "engine/message.hpp"

#include "engine/mbox.hpp"

#include <algorithm>

namespace nougat::engine {
namespace {

bool is_token_char(char c) {
  return c > 0x20 && c < 0x7f && c != '/' && c != '(' && c != ')' && c != '<' && c != '>' &&
         c != '@' && c != ',' && c != ';' && c != ':' && c != '\\' && c != '"' && c != '[' &&
         c != ']' && c != '?' && c != '=';
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_token_char(c)) return false;
  return true;
}

bool is_identity_encoding(std::string_view cte) {
  return cte.empty() || cte == "7bit" || cte == "8bit" || cte == "binary";
}

struct Builder {
  size_t parts = 0;

  MimePart build(std::string_view raw, int depth, bool digest_child);
  void split_multipart(MimePart& part, std::string_view boundary);
};

void set_content_type(MimePart& part, bool digest_child) {
  if (digest_child) {
    part.type = "message";
    part.subtype = "rfc822";
  }
  const HeaderField* f = part.find("Content-Type");
  if (!f) return;
  StructuredValue sv = parse_structured(f->unfolded());
  part.params = std::move(sv.params);
  size_t slash = sv.value.find('/');
  if (slash == std::string::npos) return;
  std::string_view t = std::string_view(sv.value).substr(0, slash);
  std::string_view s = std::string_view(sv.value).substr(slash + 1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  // "text/html charset=x" (a missing ';') still means text/html.
  size_t end = 0;
  while (end < s.size() && is_token_char(s[end])) ++end;
  if (end < s.size() && s[end] != ' ' && s[end] != '\t') return;
  s = s.substr(0, end);
  if (!is_token(t) || !is_token(s)) return;
  part.type = std::string(t);
  part.subtype = std::string(s);
}

MimePart Builder::build(std::string_view raw, int depth, bool digest_child) {
  ++parts;
  MimePart part;
  part.depth = depth;
  HeaderBlock hb = parse_header_block(raw);
  part.headers = std::move(hb.fields);
  part.header_block = hb.block;
  part.body = raw.substr(hb.body_offset);
  set_content_type(part, digest_child);
  if (const HeaderField* f = part.find("Content-Disposition")) {
    StructuredValue sv = parse_structured(f->unfolded());
    part.disposition = std::move(sv.value);
    part.disposition_params = std::move(sv.params);
  }
  if (const HeaderField* f = part.find("Content-Transfer-Encoding"))
    part.transfer_encoding = parse_structured(f->unfolded()).value;

  if (depth >= kMaxDepth || parts >= kMaxParts) return part;
  if (part.type == "multipart") {
    if (const std::string* b = part.param("boundary")) {
      std::string_view boundary = *b;
      while (!boundary.empty() && (boundary.back() == ' ' || boundary.back() == '\t'))
        boundary.remove_suffix(1);
      if (!boundary.empty()) split_multipart(part, boundary);
    }
  } else if (part.type == "message" && part.subtype != "delivery-status" &&
             is_identity_encoding(part.transfer_encoding)) {
    part.children.push_back(build(part.body, depth + 1, false));
  }
  return part;
}

// Length of a delimiter line "--boundary[--][WSP]" ending at a line break or
// the end of `body`, starting at p; 0 if the line at p is not one.
size_t delimiter_at(std::string_view body, size_t p, std::string_view boundary, bool& close) {
  const size_t n = body.size();
  if (n - p < 2 + boundary.size() || body[p] != '-' || body[p + 1] != '-' ||
      body.compare(p + 2, boundary.size(), boundary) != 0)
    return 0;
  size_t q = p + 2 + boundary.size();
  close = q + 1 < n && body[q] == '-' && body[q + 1] == '-';
  if (close) q += 2;
  while (q < n && (body[q] == ' ' || body[q] == '\t')) ++q;
  if (q == n) return q - p;
  if (body[q] == '\n') return q + 1 - p;
  if (body[q] == '\r' && q + 1 < n && body[q + 1] == '\n') return q + 2 - p;
  if (body[q] == '\r' && q + 1 == n) return q + 1 - p;
  return 0;
}

// End of the content before the line starting at p (its line break belongs to
// the delimiter, RFC 2046 §5.1.1).
size_t content_end_before(std::string_view body, size_t p) {
  if (p > 0 && body[p - 1] == '\n') {
    --p;
    if (p > 0 && body[p - 1] == '\r') --p;
  }
  return p;
}

void Builder::split_multipart(MimePart& part, std::string_view boundary) {
  std::string_view body = part.body;
  const bool digest = part.subtype == "digest";
  const size_t n = body.size();
  bool in_preamble = true;
  size_t part_start = 0;
  size_t p = 0;
  while (p < n) {
    size_t nl = body.find('\n', p);
    size_t next = nl == std::string_view::npos ? n : nl + 1;
    bool close = false;
    size_t len = body[p] == '-' ? delimiter_at(body, p, boundary, close) : 0;
    if (len == 0) {
      p = next;
      continue;
    }
    size_t end = content_end_before(body, p);
    if (in_preamble) {
      if (close) return;  // close before any open delimiter: not a multipart
      part.preamble = body.substr(0, end);
      in_preamble = false;
    } else if (p > part_start) {  // adjacent delimiters make no empty part
      if (parts >= kMaxParts) {
        part.epilogue = body.substr(part_start);
        return;
      }
      part.children.push_back(build(body.substr(part_start, std::max(end, part_start) - part_start),
                                    part.depth + 1, digest));
    }
    part_start = p + len;
    if (close) {
      part.epilogue = body.substr(part_start);
      return;
    }
    p = part_start;
  }
  if (in_preamble) return;
  // No close delimiter: the last part runs to the end.
  part.children.push_back(build(body.substr(part_start), part.depth + 1, digest));
}

}  // namespace

const MimePart* MimePart::embedded() const {
  return (type == "message" && children.size() == 1) ? &children[0] : nullptr;
}

const std::string* MimePart::param(std::string_view name) const {
  for (const auto& p : params)
    if (iequals(p.name, name)) return &p.value;
  return nullptr;
}

std::string MimePart::charset() const {
  const std::string* cs = param("charset");
  return cs ? normalize_charset(*cs) : std::string();
}

std::string MimePart::filename() const {
  const std::string* v = nullptr;
  for (const auto& p : disposition_params)
    if (p.name == "filename") {
      v = &p.value;
      break;
    }
  if (!v) v = param("name");
  if (!v) return {};
  std::string out = decode_rfc2047(*v);
  size_t b = out.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  size_t e = out.find_last_not_of(" \t\r\n");
  return out.substr(b, e + 1 - b);
}

std::string MimePart::decoded() const {
  if (transfer_encoding == "base64") return decode_base64(body);
  if (transfer_encoding == "quoted-printable") return decode_qp(body);
  return std::string(body);
}

std::string MimePart::text() const { return to_utf8(decoded(), charset()); }

Message Message::parse(std::string_view raw) {
  Message m;
  m.raw_ = raw;
  std::string_view rest = raw;
  if (rest.starts_with("From ")) {
    size_t nl = rest.find('\n');
    size_t next = nl == std::string_view::npos ? rest.size() : nl + 1;
    std::string_view line = rest.substr(0, nl == std::string_view::npos ? rest.size() : nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (leading_from_line(line)) {  // not "From the desk of …", which is text
      m.envelope_from_ = line;
      rest = rest.substr(next);
    }
  }
  Builder b;
  m.root_ = b.build(rest, 0, false);
  return m;
}

std::vector<const HeaderField*> Message::all(std::string_view name) const {
  std::vector<const HeaderField*> out;
  for (const auto& f : root_.headers)
    if (iequals(f.name, name)) out.push_back(&f);
  return out;
}

std::optional<std::string> Message::header_text(std::string_view name) const {
  const HeaderField* f = find(name);
  if (!f) return std::nullopt;
  return f->decoded();
}

}  // namespace nougat::engine
