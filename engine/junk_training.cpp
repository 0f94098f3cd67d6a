#include "engine/junk_training.hpp"

#include "engine/mbox.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <functional>

#include "engine/maildir.hpp"
#include "engine/mime.hpp"

namespace nougat::engine {
namespace {

std::string sha256_hex32(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string r;
  for (unsigned i = 0; i < 16 && i < len; ++i) {
    r += kHex[md[i] >> 4];
    r += kHex[md[i] & 15];
  }
  return r;
}

struct Field {
  std::string_view name;
  std::string value;  // unfolded
};

// The header fields of `head` in order, and where the body starts (0: the
// block did not end inside `head`; its last field may be cut and is dropped).
std::vector<Field> header_fields(std::string_view head, size_t& body_offset) {
  std::vector<Field> fields;
  body_offset = 0;
  size_t p = 0;
  while (p < head.size()) {
    size_t nl = head.find('\n', p);
    if (nl == std::string_view::npos) {
      // A cut line: the field before it is cut too if this continues it.
      if (!fields.empty() && (head[p] == ' ' || head[p] == '\t')) fields.pop_back();
      break;
    }
    std::string_view line = head.substr(p, nl - p);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    p = nl + 1;
    if (line.empty()) {
      body_offset = p;
      break;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      if (!fields.empty()) fields.back().value.append(line);
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // not a field: ignored
    // The name as delivery's header removal reads it (engine/maildir.cpp).
    fields.push_back({field_name_of(line), std::string(line.substr(colon + 1))});
  }
  if (body_offset == 0 && p >= head.size() && !fields.empty() && head.size() >= kJunkHeadBytes)
    fields.pop_back();  // the last field may continue past what was read
  return fields;
}

// The header block without the fields delivery adds or removes, line by
// line (continuations with their field, lines that are no field kept), LF
// line ends: the same for a message as sent and for its stored copy.
std::string header_identity(std::string_view block) {
  static constexpr std::string_view kDelivery[] = {"Return-Path", "Delivered-To", "Received", "X-Spam-Score",
                                                   "X-Spam-Status", "X-Spam-Flag", "X-Virus"};
  std::string out;
  bool skip = false;
  for (size_t p = 0; p < block.size();) {
    size_t nl = block.find('\n', p);
    size_t end = nl == std::string_view::npos ? block.size() : nl;
    std::string_view line = block.substr(p, end - p);
    p = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the blank line ending the block
    if (line[0] != ' ' && line[0] != '\t') {
      skip = false;
      std::string_view name = field_name_of(line);
      for (auto d : kDelivery) skip = skip || (!name.empty() && iequals(name, d));
    }
    if (!skip) out.append(line).append("\n");
  }
  return out;
}

bool printable_key(std::string_view k, size_t max = kMaxKeyBytes) {
  if (k.empty() || k.size() > max) return false;
  for (unsigned char c : k)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

std::string key_of_message_id(std::string_view raw) {
  std::string_view id = trim_space(raw);
  if (auto lt = id.find('<'); lt != std::string_view::npos) {
    if (auto gt = id.find('>', lt); gt != std::string_view::npos) id = id.substr(lt, gt - lt + 1);
  }
  if (id.empty()) return "";
  if (printable_key(id)) return std::string(id);
  return "mid:" + sha256_hex32(id);
}

}  // namespace

std::string_view trained_name(Trained t) {
  switch (t) {
    case Trained::kNone:
      return "none";
    case Trained::kSpam:
      return "spam";
    case Trained::kHam:
      return "ham";
  }
  return "none";
}

std::optional<Trained> parse_trained(std::string_view s) {
  for (Trained t : {Trained::kNone, Trained::kSpam, Trained::kHam})
    if (s == trained_name(t)) return t;
  return std::nullopt;
}

std::string_view train_op_name(TrainOp op) {
  switch (op) {
    case TrainOp::kUnlearnSpam:
      return "unlearn-spam";
    case TrainOp::kUnlearnHam:
      return "unlearn-ham";
    case TrainOp::kLearnSpam:
      return "learn-spam";
    case TrainOp::kLearnHam:
      return "learn-ham";
  }
  return "";
}

JunkDecision junk_decision(JunkFolder where, bool flagged, Trained state, bool ham_from_inbox,
                           bool first_pass) {
  JunkDecision d;
  d.after = state;
  // Undo first: a message learnt as one class and now in the other folder.
  if (where == JunkFolder::kJunk && state == Trained::kHam) {
    d.ops.push_back(TrainOp::kUnlearnHam);
    d.after = Trained::kNone;
  } else if (where == JunkFolder::kInbox && state == Trained::kSpam) {
    d.ops.push_back(TrainOp::kUnlearnSpam);
    d.after = Trained::kNone;
  }
  // Then learn where the place contradicts our verdict. On the first pass
  // only after an undo: the journal shows that the user moved this one.
  if (d.after != Trained::kNone || (first_pass && d.ops.empty())) return d;
  if (where == JunkFolder::kJunk && !flagged) {
    d.ops.push_back(TrainOp::kLearnSpam);
    d.after = Trained::kSpam;
  } else if (where == JunkFolder::kInbox && flagged && ham_from_inbox) {
    d.ops.push_back(TrainOp::kLearnHam);
    d.after = Trained::kHam;
  }
  return d;
}

StoredHeader inspect_stored_header(std::string_view head) {
  StoredHeader h;
  auto fields = header_fields(head, h.body_offset);
  // Our block: Return-Path and Delivered-To, our Received, then the fields
  // the checks inserted right after it (engine/maildir.cpp local_copy): the
  // virus check's X-Virus (antivirus.action "tag", or a released
  // quarantine), then the spam check's X-Spam-*.
  size_t i = 0;
  while (i < fields.size() &&
         (iequals(fields[i].name, "Return-Path") || iequals(fields[i].name, "Delivered-To")))
    ++i;
  if (i < fields.size() && iequals(fields[i].name, "Received")) {
    for (++i; i < fields.size(); ++i) {
      const auto& f = fields[i];
      if (iequals(f.name, "X-Spam-Flag")) {
        h.flagged = iequals(trim_space(f.value), "YES");
        break;
      }
      if (!iequals(f.name, "X-Spam-Score") && !iequals(f.name, "X-Spam-Status") && !iequals(f.name, "X-Virus"))
        break;
    }
  }
  for (const auto& f : fields) {
    if (iequals(f.name, "Message-ID")) {
      h.key = key_of_message_id(f.value);
      break;
    }
  }
  if (h.key.empty() && h.body_offset) h.identity = header_identity(head.substr(0, h.body_offset));
  return h;
}

std::string body_key(std::string_view body, std::string_view header) {
  // Line ends as stored or as sent (LF or CRLF) give the same key, and so
  // does a last line without one (a message as sent always ends in CRLF).
  // The first kKeyBodyBytes count once CRLF is LF (so up to twice as many
  // bytes of a CRLF body are read).
  // Blank lines at the very end do not count either: an mbox writer's
  // separator, or a saved copy's extra line end, is no part of the message
  // (the same file given alone, as an mbox, or in a folder keys the same),
  // and a body of nothing but line ends is empty. That is decided before
  // the limit, on a body read whole: callers pass at most kKeyReadBytes, so
  // a shorter one is all of it.
  if (body.size() < kKeyReadBytes) {
    size_t end = body.size();
    while (end && (body[end - 1] == '\n' || body[end - 1] == '\r')) --end;
    if (end && end < body.size()) {  // one line end stays, as it was written
      if (body[end] == '\n') end += 1;
      else if (end + 1 < body.size() && body[end + 1] == '\n') end += 2;  // CRLF
    }
    body = body.substr(0, end);
  }
  const bool plain = header.empty() && body.substr(0, kKeyReadBytes).find('\r') == std::string_view::npos;
  if (plain && (body.size() >= kKeyBodyBytes || body.empty() || body.back() == '\n'))
    return "body:" + sha256_hex32(body.substr(0, kKeyBodyBytes));
  std::string text;
  text.reserve(header.size() + 2 + std::min(body.size(), kKeyBodyBytes));
  if (!header.empty()) text.append(header).append("\n");
  const size_t limit = text.size() + kKeyBodyBytes;
  size_t i = 0;
  for (; i < body.size() && text.size() < limit; ++i)
    if (body[i] != '\r' || i + 1 >= body.size() || body[i + 1] != '\n') text += body[i];
  if (i == body.size() && !body.empty() && text.size() < limit && text.back() != '\n') text += '\n';
  return "body:" + sha256_hex32(text);
}

bool valid_message_key(std::string_view key) { return printable_key(key, kMaxKeyBytes + 64); }

std::string_view maildir_base_name(std::string_view name) { return name.substr(0, name.find(':')); }

std::string message_key(std::string_view raw) {
  // The header block is looked for in the first kJunkHeadBytes of the
  // file, From_ line included: what the Junk trainer reads of a stored one.
  const size_t whole = raw.size();
  size_t window = kJunkHeadBytes;
  if (raw.starts_with("From ") && leading_from_line(raw.substr(0, raw.find('\n')))) {
    size_t eol = raw.find('\n');
    size_t skip = eol == std::string_view::npos ? raw.size() : eol + 1;
    raw.remove_prefix(skip);
    window -= std::min(window, skip);
  }
  // Text that does not start with a header field is all body (a corpus of
  // bare bodies): "hello\n" and "hello\n\n" are one message, not a
  // header block of one line and none.
  std::string_view first = raw.substr(0, raw.find('\n'));
  if (first.ends_with('\r')) first.remove_suffix(1);
  std::string_view name = field_name_of(first);
  if (!first.empty() && (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
                           return c > ' ' && c < 0x7f;  // RFC 5322 ftext (':' ends the name)
                         })))
    return body_key(raw.substr(0, std::min(raw.size(), kKeyReadBytes)));
  StoredHeader h = inspect_stored_header(raw.substr(0, std::min(raw.size(), window)));
  if (h.body_offset) return message_key(h, raw.substr(h.body_offset));
  // No end of the header block: all header (or no message format at all).
  // The whole is hashed, so such messages are told apart and remembered too.
  if (whole < kJunkHeadBytes) return h.key.empty() ? body_key(raw) : h.key + "|" + body_key(raw);
  return h.key.empty() ? body_key(raw) : h.key;
}

std::string message_key(const StoredHeader& h, std::string_view body) {
  if (!h.body_offset) return h.key;
  // With a Message-ID the body alone: a filter may rewrite other fields.
  return h.key.empty() ? body_key(body, h.identity) : h.key + "|" + body_key(body);
}

namespace {
constexpr std::string_view kSeenMagic = "# nougat junk seen 1";
}  // namespace

uint64_t junk_seen_rule(bool ham_from_inbox, std::string_view junk_folder) {
  return content_checksum(std::string(ham_from_inbox ? "ham_from_inbox " : "tag ") + std::string(junk_folder));
}

std::string junk_seen_text(const JunkSeen& seen, uint64_t rule) {
  std::string s = fmt::format("{} rule={:016x} inbox={} junk={}\n", kSeenMagic, rule, seen[0].size(), seen[1].size());
  for (const auto& v : seen) s.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(uint64_t));
  uint64_t sum = content_checksum(s);
  s.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  return s;
}

bool parse_junk_seen(std::string_view text, uint64_t rule, JunkSeen& seen) {
  for (auto& v : seen) v.clear();
  size_t nl = text.find('\n');
  if (nl == std::string_view::npos || nl > 200) return false;
  std::string head(text.substr(0, nl));
  const std::string want = fmt::format("{} rule={:016x} inbox=", kSeenMagic, rule);
  if (head.rfind(want, 0) != 0) return false;
  uint64_t n[2] = {0, 0};
  const char* p0 = head.data() + want.size();
  const char* end = head.data() + head.size();
  auto r = std::from_chars(p0, end, n[0]);
  if (r.ec != std::errc() || std::string_view(r.ptr, size_t(end - r.ptr)).rfind(" junk=", 0) != 0) return false;
  r = std::from_chars(r.ptr + 6, end, n[1]);
  if (r.ec != std::errc() || r.ptr != end) return false;
  if (head != fmt::format("{}{} junk={}", want, n[0], n[1])) return false;  // the one spelling we write
  if (n[0] > text.size() / sizeof(uint64_t) || n[1] > text.size() / sizeof(uint64_t) ||
      text.size() != (nl + 1) + (n[0] + n[1]) * sizeof(uint64_t) + sizeof(uint64_t))
    return false;
  uint64_t sum = 0;
  std::memcpy(&sum, text.data() + text.size() - sizeof sum, sizeof sum);
  if (sum != content_checksum(text.substr(0, text.size() - sizeof sum))) return false;
  const char* p = text.data() + nl + 1;
  for (int fi = 0; fi < 2; ++fi) {
    seen[fi].resize(n[fi]);
    if (n[fi]) std::memcpy(seen[fi].data(), p, n[fi] * sizeof(uint64_t));
    p += n[fi] * sizeof(uint64_t);
    if (std::adjacent_find(seen[fi].begin(), seen[fi].end(), std::greater_equal<>()) != seen[fi].end()) {
      for (auto& v : seen) v.clear();
      return false;  // not strictly increasing: not ours
    }
  }
  return true;
}

}  // namespace nougat::engine
