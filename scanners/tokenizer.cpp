#include "scanners/tokenizer.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <span>

#include "engine/charset.hpp"

namespace nougat::scanners {
namespace {

using engine::HeaderField;
using engine::iequals;
using engine::MimePart;

inline unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
inline bool is_alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// FNV-1a over the bytes, finished with the splitmix64 mixer: cheap for short
// tokens and well spread over the 64 bits.
struct Hasher {
  uint64_t h = 1469598103934665603ull;
  void feed(std::string_view s) {
    for (unsigned char c : s) h = (h ^ lower(c)) * 1099511628211ull;
  }
  void sep() { h = (h ^ 0x1f) * 1099511628211ull; }
  uint64_t done() const {
    uint64_t z = h + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z ? z : 1;
  }
};

std::string lowered(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = char(lower(static_cast<unsigned char>(c)));
  return r;
}

class Emitter {
 public:
  Emitter(const TokenizerOptions& opt, TokenList& out, bool keep) : opt_(opt), out_(out), keep_(keep) {}

  void emit(std::string_view prefix, std::string_view word, std::string_view word2 = {}) {
    if (full_) return;
    Hasher h;
    h.feed(prefix);
    h.sep();
    h.feed(word);
    if (!word2.empty()) {
      h.feed(" ");
      h.feed(word2);
    }
    uint64_t v = h.done();
    out_.hashes.push_back(v);
    if (opt_.markup && prefix == "html" && out_.markup.size() < opt_.max_tokens) out_.markup.push_back(v);
    if (keep_ && !out_.text.count(v)) {
      std::string t = lowered(prefix);
      if (!prefix.empty()) t += ' ';  // readable separator in reports only
      t += lowered(word);
      if (!word2.empty()) t += " " + lowered(word2);
      out_.text.emplace(v, std::move(t));
    }
    if (out_.hashes.size() >= 2 * opt_.max_tokens) compact();
  }
  bool full() const { return full_; }
  bool bigrams() const { return opt_.bigrams; }

 private:
  // The limit is on distinct tokens: text repeated to push the rest of a
  // message past it (70 KB of one pangram before the spam) repeats tokens
  // already counted. Duplicates are dropped when the list reaches twice the
  // limit, so each compaction frees at least half of it.
  void compact() {
    std::sort(out_.hashes.begin(), out_.hashes.end());
    out_.hashes.erase(std::unique(out_.hashes.begin(), out_.hashes.end()), out_.hashes.end());
    full_ = out_.hashes.size() >= opt_.max_tokens;
  }

  const TokenizerOptions& opt_;
  TokenList& out_;
  bool keep_;
  bool full_ = opt_.max_tokens == 0;
};

bool all_digits(std::string_view w) {
  for (unsigned char c : w)
    if (!is_digit(c) && c != '.' && c != '-' && c != ',' && c != '\'') return false;
  return true;
}

// Host names: the host itself and each parent domain with at least two labels.
void emit_host(Emitter& e, std::string_view prefix, std::string_view host) {
  while (!host.empty() && (host.back() == '.' || host.back() == '-')) host.remove_suffix(1);
  if (host.empty() || host.size() > 255) return;
  e.emit(prefix, host);
  size_t dots = std::count(host.begin(), host.end(), '.');
  while (dots > 1) {
    host.remove_prefix(host.find('.') + 1);
    --dots;
    e.emit(prefix, host);
  }
}

bool is_ipv4(std::string_view s) {
  int dots = 0, digits = 0;
  for (unsigned char c : s) {
    if (c == '.') {
      if (!digits) return false;
      ++dots;
      digits = 0;
    } else if (is_digit(c)) {
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return dots == 3 && digits;
}

// An IPv4 address and its /24 and /16 prefixes.
void emit_ip(Emitter& e, std::string_view prefix, std::string_view ip) {
  e.emit(prefix, ip);
  size_t p = ip.rfind('.');
  e.emit(prefix, ip.substr(0, p));
  p = ip.rfind('.', p - 1);
  e.emit(prefix, ip.substr(0, p));
}

// URL: scheme, host (and parents), and the words of the path and query.
size_t scan_url(Emitter& e, std::string_view s) {
  size_t end = 0;
  while (end < s.size()) {
    unsigned char c = s[end];
    if (c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>' || c == ')' || c >= 0x7f) break;
    ++end;
  }
  std::string_view url = s.substr(0, end);
  size_t start = url.find("://");
  std::string_view rest = start == std::string_view::npos ? url : url.substr(start + 3);
  if (start != std::string_view::npos) e.emit("url", "scheme:" + lowered(url.substr(0, std::min<size_t>(start, 16))));
  size_t host_end = rest.find_first_of("/?#");
  std::string_view host = rest.substr(0, host_end);
  if (auto at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
  if (auto colon = host.find(':'); colon != std::string_view::npos) host = host.substr(0, colon);
  if (is_ipv4(host)) {
    e.emit("url", "ip");
    emit_ip(e, "url", host);
  } else {
    emit_host(e, "url", host);
  }
  if (host_end != std::string_view::npos) {
    std::string_view path = rest.substr(host_end);
    size_t i = 0;
    while (i < path.size()) {
      while (i < path.size() && !is_alnum(path[i])) ++i;
      size_t j = i;
      while (j < path.size() && is_alnum(path[j])) ++j;
      if (j - i >= 2 && j - i <= 40 && !all_digits(path.substr(i, j - i))) e.emit("url", path.substr(i, j - i));
      i = j;
    }
  }
  return end;
}

bool starts_with_ci(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && iequals(s.substr(0, p.size()), p);
}

// Shouting: a word of three or more ASCII letters, all capitals.
bool caps_word(std::string_view w) {
  for (unsigned char c : w)
    if (!(c >= 'A' && c <= 'Z')) return false;
  return true;
}

// What a non-ASCII character is to the word scanner. Text reaches it as
// UTF-8 (charset conversion happens before); bytes that are not valid UTF-8
// count as letters, one byte each, as all non-ASCII bytes used to.
enum class CharClass { kLetter, kBreak, kIdeograph, kInvisible };
struct Utf8Char {
  CharClass cls;
  size_t len;
};

Utf8Char classify_utf8(std::string_view s, size_t i) {
  size_t len = engine::utf8_seq_len(s, i);
  if (len < 2) return {CharClass::kLetter, 1};
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  char32_t cp = len == 2 ? b(0) & 0x1f : len == 3 ? b(0) & 0x0f : b(0) & 0x07;
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (b(k) & 0x3f);
  auto within = [cp](char32_t lo, char32_t hi) { return cp >= lo && cp <= hi; };
  // Invisible inside words: soft hyphen, zero-width space and (non-)joiner,
  // word joiner and invisible operators, zero-width no-break space. Dropped,
  // so "vi<soft hyphen>agra" is "viagra" and Persian or Indic words that
  // need a joiner stay whole.
  if (cp == 0xad || within(0x200b, 0x200d) || within(0x2060, 0x2064) || cp == 0xfeff)
    return {CharClass::kInvisible, len};
  // CJK marks that belong to words: iteration marks (々 in 人々), 〆, 〇,
  // Hangzhou numerals, kana repeat marks.
  if (within(0x3005, 0x3007) || within(0x3021, 0x3029) || within(0x3031, 0x3035) || within(0x3038, 0x303c))
    return {CharClass::kIdeograph, len};
  // Spaces and punctuation: C1 controls and Latin-1's no-break space and
  // signs (not its letters ª µ º, nor the currency signs ¢ £ ¤ ¥, which
  // stay with their amounts as $ does), General Punctuation (dashes, curly
  // quotes, bullets, spaces), CJK, katakana middle dot and full-width
  // punctuation.
  bool brk = (within(0x80, 0xbf) && !within(0xa2, 0xa5) && cp != 0xaa && cp != 0xb5 && cp != 0xba) || cp == 0xd7 ||
             cp == 0xf7 || within(0x2000, 0x206f) || within(0x3000, 0x303f) || cp == 0x30fb || within(0xfe30, 0xfe4f) ||
             within(0xff01, 0xff0f) || within(0xff1a, 0xff20) || within(0xff3b, 0xff40) || within(0xff5b, 0xff65);
  if (brk) return {CharClass::kBreak, len};
  // Scripts written without spaces between words: Han, kana, bopomofo (not
  // the Hangul compatibility jamo between them: Korean spaces its words).
  bool ideo = within(0x2e80, 0x2fdf) || within(0x3040, 0x312f) || within(0x3190, 0x31ff) || within(0x3400, 0x4dbf) ||
              within(0x4e00, 0x9fff) || within(0xf900, 0xfaff) || within(0xff66, 0xff9f) || within(0x20000, 0x2ffff);
  return {ideo ? CharClass::kIdeograph : CharClass::kLetter, len};
}

// `w` without its invisible characters, in `out`.
std::string_view without_invisible(std::string_view w, std::string& out) {
  out.clear();
  for (size_t k = 0; k < w.size();) {
    Utf8Char u = static_cast<unsigned char>(w[k]) < 0x80 ? Utf8Char{CharClass::kLetter, 1} : classify_utf8(w, k);
    if (u.cls != CharClass::kInvisible) out.append(w.substr(k, u.len));
    k += u.len;
  }
  return out;
}

// Cuts `s` to at most `max` bytes, before a character rather than inside
// one (a token, and a report, never ends in half a UTF-8 sequence).
void cut_utf8(std::string& s, size_t max) { s.resize(engine::utf8_cut_len(s, max)); }

// Length of the letter or digit at s[i] (0 if it is none): ASCII
// alphanumerics and non-ASCII letters.
size_t letter_at(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  unsigned char c = s[i];
  if (c < 0x80) return is_alnum(c) ? 1 : 0;
  auto u = classify_utf8(s, i);
  return u.cls == CharClass::kLetter ? u.len : 0;
}

// A run of ideographs has no word breaks to find, so its tokens are the
// pairs of adjacent characters (one character alone when the run is one
// long), as Lucene's CJK analyzer does; invisible characters inside the run
// are skipped. Returns where the run ends.
size_t scan_ideographs(Emitter& e, std::string_view text, size_t i, std::string_view prefix) {
  std::string_view prev;
  size_t count = 0;
  while (i < text.size() && static_cast<unsigned char>(text[i]) >= 0x80 && !e.full()) {
    auto u = classify_utf8(text, i);
    if (u.cls == CharClass::kInvisible) {
      i += u.len;
      continue;
    }
    if (u.cls != CharClass::kIdeograph) break;
    std::string_view ch = text.substr(i, u.len);
    if (!prev.empty()) {
      char pair[8];
      std::memcpy(pair, prev.data(), prev.size());
      std::memcpy(pair + prev.size(), ch.data(), ch.size());
      e.emit(prefix, std::string_view(pair, prev.size() + ch.size()));
    }
    prev = ch;
    ++count;
    i += u.len;
  }
  if (count == 1) e.emit(prefix, prev);
  return i;
}

// Words of free text. `prefix` tells apart body words from header words;
// `at_ok` keeps '@' inside words (address fields).
void scan_words(Emitter& e, std::string_view text, std::string_view prefix, bool bigrams, bool at_ok = false,
                bool urls = true) {
  std::string_view prev;
  std::string cleaned, prev_cleaned;  // words that had invisible characters
  size_t i = 0, n = text.size();
  while (i < n && !e.full()) {
    unsigned char c = text[i];
    if (urls && (c == 'h' || c == 'H' || c == 'w' || c == 'W') &&
        (starts_with_ci(text.substr(i), "http://") || starts_with_ci(text.substr(i), "https://") ||
         starts_with_ci(text.substr(i), "www."))) {
      i += std::max<size_t>(scan_url(e, text.substr(i)), 1);
      prev = {};
      continue;
    }
    if (c >= 0x80) {
      auto u = classify_utf8(text, i);
      if (u.cls == CharClass::kBreak || u.cls == CharClass::kInvisible) {
        i += u.len;
        continue;
      }
      if (u.cls == CharClass::kIdeograph) {
        i = scan_ideographs(e, text, i, prefix);
        prev = {};
        continue;
      }
    }
    bool dollar = c == '$' && i + 1 < n && is_digit(text[i + 1]);
    size_t first = dollar ? 1 : letter_at(text, i);
    if (first == 0) {
      ++i;
      continue;
    }
    size_t j = i + first;
    bool invisible = false;
    while (j < n) {
      unsigned char d = text[j];
      if (d >= 0x80) {  // a letter continues the word, an invisible one is dropped from it
        auto u = classify_utf8(text, j);
        if (u.cls != CharClass::kLetter && u.cls != CharClass::kInvisible) break;
        invisible = invisible || u.cls == CharClass::kInvisible;
        j += u.len;
      } else if (is_alnum(d)) {
        ++j;
      } else if (size_t l = (d == '.' || d == '-' || d == '\'' || d == '_' || (at_ok && d == '@') || (dollar && d == ','))
                                ? letter_at(text, j + 1)
                                : 0) {
        j += 1 + l;
      } else {
        break;
      }
    }
    std::string_view w = text.substr(i, j - i);
    i = j;
    if (invisible) w = without_invisible(w, cleaned);
    if (w.size() > 40) {
      // Named by its first character, whole (a report prints valid UTF-8).
      size_t first_len = std::max<size_t>(1, engine::utf8_seq_len(w, 0));
      char bucket[40];
      int len = std::snprintf(bucket, sizeof bucket, "skip:%.*s %zu", int(first_len), w.data(), w.size() / 10 * 10);
      e.emit(prefix, std::string_view(bucket, size_t(len)));
      prev = {};
      continue;
    }
    if (w.size() < 3 || (!dollar && all_digits(w))) continue;
    e.emit(prefix, w);
    if (caps_word(w)) e.emit("caps", w);
    if (at_ok) {
      if (auto at = w.find('@'); at != std::string_view::npos) e.emit(prefix, w.substr(at));
    }
    if (bigrams && !prev.empty()) e.emit(prefix, prev, w);
    if (invisible) {  // kept for the next bigram: `cleaned` is reused
      prev_cleaned.swap(cleaned);
      w = prev_cleaned;
    }
    prev = w;
  }
}

class HtmlTokens final : public HtmlTagSink {
 public:
  explicit HtmlTokens(Emitter& e) : e_(e) {}
  void tag(std::string_view name, std::string_view attr, std::string_view value) override {
    if (name.empty() || name.size() > 20 || name.front() == '/') return;
    if (attr.empty()) {
      e_.emit("html", name);
      return;
    }
    if (attr == "href" || attr == "src" || attr == "action" || attr == "background") {
      if (starts_with_ci(value, "mailto:")) {
        e_.emit("html", "mailto");
        if (auto at = value.find('@'); at != std::string_view::npos) e_.emit("url", value.substr(at).substr(0, 64));
      } else {
        scan_url(e_, value);
      }
    } else if (attr.size() <= 20) {
      std::string t(name);
      t += ':';
      t += attr;
      e_.emit("html", t);
      if ((attr == "color" || attr == "size" || attr == "face" || attr == "bgcolor") && value.size() <= 24)
        e_.emit("html", t + "=" + std::string(value));
    }
  }

 private:
  Emitter& e_;
};

constexpr std::string_view kSkipFields[] = {"date", "x-spam-status", "x-spam-score", "x-spam-flag",
                                            "x-spam-level", "x-spam-checker-version", "x-spam-report",
                                            "x-bogosity", "x-spam-bar", "content-length", "lines",
                                            "status", "x-status", "x-uid", "x-keywords"};
constexpr std::string_view kAddressFields[] = {"from", "to", "cc", "reply-to", "return-path", "errors-to"};

// Fields a mailing list or the delivery path adds (list headers,
// Delivered-To, Sender, Resent-*, Original-*): they say how a message
// travelled, not what it is, and spam reaching a list travels like the
// list's ham. SpamAssassin's Bayes ignores the same fields for that reason
// ("a spamfiltering mailing list will become a nonspam sign").
constexpr std::string_view kRelayFields[] = {"x-beenthere", "x-mailman-version", "x-loop", "mail-followup-to",
                                             "x-mdmailing-list", "x-xemacs-list", "delivered-to", "delivery-date",
                                             "envelope-to", "x-envelope-to", "sender", "x-sender"};
constexpr std::string_view kRelayPrefixes[] = {"list-", "x-list", "mailing-list", "x-mailing-list", "x-unsub",
                                               "x-egroups-", "resent-", "x-resent-", "original-", "x-original-"};

bool in(std::string_view name, std::span<const std::string_view> set) {
  for (auto s : set)
    if (iequals(name, s)) return true;
  return false;
}

bool relay_field(std::string_view name) {
  for (auto p : kRelayPrefixes)
    if (starts_with_ci(name, p)) return true;
  return in(name, kRelayFields);
}

void scan_received(Emitter& e, std::string_view v) {
  // Hosts and addresses only: what comes after ';' is a date.
  if (auto semi = v.rfind(';'); semi != std::string_view::npos) v = v.substr(0, semi);
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && !is_alnum(v[i])) ++i;
    size_t j = i;
    while (j < v.size() && (is_alnum(v[j]) || v[j] == '.' || v[j] == '-' || v[j] == '_')) ++j;
    std::string_view w = v.substr(i, j - i);
    i = j;
    if (w.size() < 2 || w.size() > 255) continue;
    if (is_ipv4(w)) {
      emit_ip(e, "rcvd:ip", w);
    } else if (w.find('.') != std::string_view::npos) {
      if (!all_digits(w)) emit_host(e, "rcvd", w);
    } else if (w.size() >= 3 && w.size() <= 20 && !all_digits(w)) {
      e.emit("rcvd", w);
    }
  }
}

void scan_part_headers(Emitter& e, const MimePart& part) {
  e.emit("ct", part.content_type());
  if (auto cs = part.charset(); !cs.empty() && cs.size() <= 40) e.emit("charset", cs);
  if (!part.transfer_encoding.empty() && part.transfer_encoding.size() <= 40) e.emit("cte", part.transfer_encoding);
  if (!part.disposition.empty() && part.disposition.size() <= 40) e.emit("cd", part.disposition);
  if (auto fn = part.filename(); !fn.empty()) {
    auto dot = fn.rfind('.');
    if (dot != std::string::npos && fn.size() - dot <= 10) e.emit("fname", fn.substr(dot));
  }
}

void scan_headers(Emitter& e, const MimePart& root) {
  for (const HeaderField& f : root.headers) {
    if (e.full()) return;
    std::string_view name = f.name;
    if (name.size() > 64) name = name.substr(0, 64);
    if (in(name, kSkipFields) || relay_field(name)) continue;
    e.emit("hdr", name);
    if ( iequals(name, "content-type") ||
        iequals(name, "content-transfer-encoding") || iequals(name, "content-disposition"))
      continue;
    std::string lname = lowered(name);
    if (iequals(name, "received")) {
      scan_received(e, f.value.substr(0, kMaxHeaderBytes));
    } else if (iequals(name, "message-id")) {
      std::string_view v = f.value;
      auto at = v.rfind('@');
      if (at != std::string_view::npos) {
        auto end = v.find('>', at);
        emit_host(e, "msgid", v.substr(at + 1, end == std::string_view::npos ? std::string_view::npos : end - at - 1));
      } else {
        e.emit("msgid", "no-at");
      }
    } else if (iequals(name, "subject")) {
      std::string v = f.decoded();
      cut_utf8(v, kMaxHeaderBytes);
      scan_words(e, v, "subj", e.bigrams());
      size_t bangs = std::count(v.begin(), v.end(), '!');
      if (bangs) e.emit("subj", bangs > 2 ? "!!!" : "!");
      size_t upper = 0, letters = 0;
      for (unsigned char c : v) {
        upper += c >= 'A' && c <= 'Z';
        letters += (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
      }
      if (letters >= 8 && upper * 10 >= letters * 8) e.emit("subj", "ALLCAPS");
    } else if (in(name, kAddressFields)) {
      std::string v = f.decoded();
      cut_utf8(v, kMaxHeaderBytes);
      scan_words(e, v, lname, false, true, false);
    } else {
      std::string v = f.decoded();
      cut_utf8(v, kMaxHeaderBytes);
      scan_words(e, v, lname, false, true, true);
    }
  }
}

void scan_body(Emitter& e, const MimePart& root) {
  engine::for_each_part(root, [&](const MimePart& part) {
    if (e.full() || part.is_multipart()) return;
    if (&part != &root && part.type == "message" && !part.children.empty()) return;  // its root part is next
    scan_part_headers(e, part);
    // Structure the parser left whole — nested past kMaxDepth or kMaxParts,
    // a multipart without its boundary, a message/rfc822 in base64 — is
    // read as text: its body holds the rest of the message, the text a
    // reader would see included. (Skipped, 65 levels of nesting made any
    // spam "unsure".)
    const bool whole = part.children.empty() && (part.type == "multipart" || part.type == "message");
    if (part.type != "text" && !whole) return;
    std::string text = whole ? part.decoded() : part.text();
    cut_utf8(text, kMaxPartBytes);
    if (part.subtype == "html") {
      HtmlTokens tags(e);
      text = html_to_text(text, &tags);
    }
    scan_words(e, text, "", e.bigrams());
  });
}

// LSD radix sort, a byte per pass: for the thousand-odd hashes of a message
// several times cheaper than a comparison sort.
void sort_hashes(std::vector<uint64_t>& v) {
  if (v.size() < 64) {
    std::sort(v.begin(), v.end());
    return;
  }
  std::vector<uint64_t> tmp(v.size());
  for (int shift = 0; shift < 64; shift += 8) {
    size_t count[257] = {};
    for (uint64_t x : v) ++count[((x >> shift) & 0xff) + 1];
    for (int i = 0; i < 256; ++i) count[i + 1] += count[i];
    for (uint64_t x : v) tmp[count[(x >> shift) & 0xff]++] = x;
    v.swap(tmp);
  }
}

}  // namespace

uint64_t token_hash(std::string_view prefix, std::string_view word) {
  Hasher h;
  h.feed(prefix);
  h.sep();
  h.feed(word);
  return h.done();
}

TokenList tokenize(const engine::Message& msg, const TokenizerOptions& opt, bool keep_text) {
  TokenList out;
  out.hashes.reserve(1024);
  Emitter e(opt, out, keep_text);
  scan_headers(e, msg.root());
  // Embedded messages' headers count as well (forwarded spam, bounces).
  engine::for_each_part(msg.root(), [&](const MimePart& p) {
    if (&p != &msg.root() && p.depth > 0 && !p.headers.empty() && p.find("received") && !e.full())
      scan_headers(e, p);
  });
  scan_body(e, msg.root());
  // The MIME structure as one token ("multipart/alternative(text/plain,text/html)").
  std::string shape;
  auto describe = [&](auto&& self, const MimePart& p) -> void {
    if (shape.size() > 256) return;
    shape += p.content_type();
    if (p.children.empty()) return;
    shape += '(';
    for (size_t i = 0; i < p.children.size() && i < 8; ++i) {
      if (i) shape += ',';
      self(self, p.children[i]);
    }
    shape += ')';
  };
  describe(describe, msg.root());
  e.emit("mime", shape);
  sort_hashes(out.hashes);
  out.hashes.erase(std::unique(out.hashes.begin(), out.hashes.end()), out.hashes.end());
  // Every markup token is in `hashes` too: both are pushed together, and
  // compaction only drops duplicates.
  std::sort(out.markup.begin(), out.markup.end());
  out.markup.erase(std::unique(out.markup.begin(), out.markup.end()), out.markup.end());
  return out;
}

TokenList tokenize(std::string_view raw, const TokenizerOptions& opt, bool keep_text) {
  // An empty file is no evidence either way, not a plain-text message.
  if (raw.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
  // A UTF-8 byte-order mark an editor put before the header is no text:
  // without this the header fields would be read as body.
  if (raw.starts_with("\xEF\xBB\xBF")) raw.remove_prefix(3);
  return tokenize(engine::Message::parse(raw), opt, keep_text);
}

}  // namespace nougat::scanners

namespace nougat::scanners {
namespace {

bool inline_tag(std::string_view t) {
  constexpr std::string_view kInline[] = {"a", "b", "i", "u", "em", "strong", "font", "span", "small", "big",
                                          "sub", "sup", "s", "strike", "tt", "abbr", "code"};
  for (auto k : kInline)
    if (t == k) return true;
  return false;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

// Decodes the entity at h[i] == '&'; returns the bytes consumed (0: not one).
size_t decode_entity(std::string_view h, size_t i, std::string& out) {
  // Only the next 11 bytes can hold its ';': looking further made an HTML
  // part of '&'s without one quadratic.
  size_t semi = h.substr(i, 11).find(';');
  if (semi == std::string_view::npos) return 0;
  semi += i;
  std::string_view name = h.substr(i + 1, semi - i - 1);
  if (name.size() > 1 && name[0] == '#') {
    uint32_t cp = 0;
    bool hex = name[1] == 'x' || name[1] == 'X';
    for (size_t k = hex ? 2 : 1; k < name.size(); ++k) {
      unsigned char c = name[k];
      int d = is_digit(c) ? c - '0' : (hex && lower(c) >= 'a' && lower(c) <= 'f') ? lower(c) - 'a' + 10 : -1;
      if (d < 0) return 0;
      cp = std::min<uint32_t>(cp * (hex ? 16 : 10) + uint32_t(d), 0x110000);
    }
    append_utf8(out, cp);
    return semi - i + 1;
  }
  static constexpr std::pair<std::string_view, std::string_view> kNamed[] = {
      {"nbsp", " "}, {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"},
      {"copy", "\xc2\xa9"}, {"reg", "\xc2\xae"}, {"trade", "\xe2\x84\xa2"}, {"euro", "\xe2\x82\xac"},
      {"pound", "\xc2\xa3"}};
  for (auto [k, v] : kNamed)
    if (iequals(name, k)) {
      out += v;
      return semi - i + 1;
    }
  return 0;
}

size_t find_ci(std::string_view h, std::string_view needle, size_t from) {
  for (size_t p = h.find('<', from); p != std::string_view::npos; p = h.find('<', p + 1))
    if (starts_with_ci(h.substr(p), needle)) return p;
  return std::string_view::npos;
}

// Parses the tag at h[i] == '<'; returns the index after it and reports to sink.
size_t parse_tag(std::string_view h, size_t i, std::string& name, HtmlTagSink* sink) {
  size_t n = h.size(), j = i + 1;
  bool close = j < n && h[j] == '/';
  if (close) ++j;
  name.clear();
  if (close) name += '/';
  while (j < n && (is_alnum(h[j]) || h[j] == '-' || h[j] == ':') && name.size() < 32) name += char(lower(h[j++]));
  if (sink && !close) sink->tag(name, "", "");
  int attrs = 0;
  while (j < n && h[j] != '>') {
    unsigned char c = h[j];
    if (!is_alnum(c)) {
      ++j;
      continue;
    }
    size_t a = j;
    while (j < n && (is_alnum(h[j]) || h[j] == '-' || h[j] == '_' || h[j] == ':')) ++j;
    std::string attr = lowered(h.substr(a, std::min<size_t>(j - a, 32)));
    while (j < n && (h[j] == ' ' || h[j] == '\t' || h[j] == '\r' || h[j] == '\n')) ++j;
    std::string_view value;
    if (j < n && h[j] == '=') {
      ++j;
      while (j < n && (h[j] == ' ' || h[j] == '\t' || h[j] == '\r' || h[j] == '\n')) ++j;
      if (j < n && (h[j] == '"' || h[j] == '\'')) {
        char q = h[j++];
        size_t e = h.find(q, j);
        if (e == std::string_view::npos) e = n;
        value = h.substr(j, e - j);
        j = std::min(e + 1, n);
      } else {
        size_t v = j;
        while (j < n && h[j] != '>' && h[j] != ' ' && h[j] != '\t' && h[j] != '\r' && h[j] != '\n') ++j;
        value = h.substr(v, j - v);
      }
    }
    if (sink && !close && ++attrs <= 32) sink->tag(name, attr, value.substr(0, 2048));
  }
  return std::min(j + 1, n);
}

}  // namespace

std::string html_to_text(std::string_view h, HtmlTagSink* sink) {
  std::string out, name;
  out.reserve(h.size());
  size_t i = 0, n = h.size();
  while (i < n) {
    char c = h[i];
    if (c == '<' && i + 1 < n) {
      char d = h[i + 1];
      if (h.substr(i, 4) == "<!--") {
        size_t e = h.find("-->", i + 4);
        if (sink) sink->tag("!--", "", "");
        i = e == std::string_view::npos ? n : e + 3;
        continue;  // no word break: "vi<!-- x -->agra" is one word
      }
      if (!is_alnum(static_cast<unsigned char>(d)) && d != '/' && d != '!' && d != '?') {
        out += c;
        ++i;
        continue;
      }
      i = parse_tag(h, i, name, sink);
      if (name == "script" || name == "style") {
        size_t e = find_ci(h, name == "script" ? "</script" : "</style", i);
        i = e == std::string_view::npos ? n : e;
      }
      std::string_view bare = name;
      if (!bare.empty() && bare.front() == '/') bare.remove_prefix(1);
      if (!inline_tag(bare)) out += '\n';
      continue;
    }
    if (c == '&') {
      if (size_t used = decode_entity(h, i, out)) {
        i += used;
        continue;
      }
    }
    out += c;
    ++i;
  }
  return out;
}

}  // namespace nougat::scanners
