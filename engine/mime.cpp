#include "engine/mime.hpp"

#include <algorithm>

#include "engine/charset.hpp"
#include "engine/encoded_word.hpp"

namespace nougat::engine {
namespace {

constexpr size_t kMaxParams = 64;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Field-name characters: printable US-ASCII except ':' (RFC 5322 ftext).
bool is_ftext(char c) { return c >= 0x21 && c <= 0x7e && c != ':'; }

// Splits on ';' outside double quotes (backslash escapes inside quotes).
std::vector<std::string_view> split_params(std::string_view s) {
  std::vector<std::string_view> out;
  size_t begin = 0;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ';' && !quoted) {
      out.push_back(s.substr(begin, i - begin));
      begin = i + 1;
    }
  }
  out.push_back(s.substr(begin));
  return out;
}

std::string unquote(std::string_view v) {
  if (v.empty() || v.front() != '"') return std::string(v);
  std::string out;
  for (size_t i = 1; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && i + 1 < v.size()) {
      out.push_back(v[++i]);
    } else if (c == '"') {
      break;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string strip_comments(std::string_view s) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '"') quoted = false;
      out.push_back(c);
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0) {
      --depth;
    } else if (depth == 0) {
      if (c == '"') quoted = true;
      out.push_back(c);
    } else if (c == '\\') {
      ++i;
    }
  }
  return out;
}

std::string pct_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct Section {
  unsigned num;
  bool extended;
  std::string value;  // unquoted, not yet %-decoded
};

struct Pending {
  std::string name;
  std::string plain;
  bool has_plain = false;
  std::vector<Section> sections;
};

std::string join_2231(std::vector<Section>& sections) {
  std::stable_sort(sections.begin(), sections.end(),
                   [](const Section& a, const Section& b) { return a.num < b.num; });
  std::string bytes;
  std::string charset;
  bool any_extended = false;
  for (size_t i = 0; i < sections.size(); ++i) {
    if (i > 0 && sections[i].num == sections[i - 1].num) continue;  // duplicate: first wins
    std::string_view v = sections[i].value;
    if (sections[i].extended) {
      if (!any_extended && i == 0) {
        // charset'language'value
        size_t q1 = v.find('\'');
        size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
        if (q2 != std::string_view::npos) {
          charset = std::string(v.substr(0, q1));
          v = v.substr(q2 + 1);
        }
      }
      any_extended = true;
      bytes += pct_decode(v);
    } else {
      bytes += v;
    }
  }
  return any_extended ? to_utf8(bytes, charset) : bytes;
}

void add_param(std::vector<Pending>& pending, std::string_view seg) {
  size_t eq = seg.find('=');
  if (eq == std::string_view::npos) return;
  std::string name = ascii_lower(trim_space(seg.substr(0, eq)));
  std::string_view raw = trim_space(seg.substr(eq + 1));
  if (name.empty()) return;
  std::string base = name;
  bool is_2231 = false;
  Section sec{0, false, {}};
  if (size_t star = name.find('*'); star != std::string::npos) {
    std::string_view rest = std::string_view(name).substr(star + 1);
    base = name.substr(0, star);
    if (rest.empty()) {
      is_2231 = true;
      sec.extended = true;
    } else {
      bool ext = rest.back() == '*';
      if (ext) rest.remove_suffix(1);
      bool digits =
          !rest.empty() && rest.size() <= 6 &&
          std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (digits) {
        is_2231 = true;
        sec.extended = ext;
        sec.num = static_cast<unsigned>(std::stoul(std::string(rest)));
      } else {
        base = name;  // not RFC 2231 syntax: keep the name as written
      }
    }
  }
  if (base.empty()) return;
  auto it = std::find_if(pending.begin(), pending.end(),
                         [&](const Pending& p) { return p.name == base; });
  if (it == pending.end()) {
    pending.push_back(Pending{base, {}, false, {}});
    it = pending.end() - 1;
  }
  if (is_2231) {
    sec.value = unquote(raw);
    it->sections.push_back(std::move(sec));
  } else if (!it->has_plain) {
    it->plain = unquote(raw);
    it->has_plain = true;
  }
}

}  // namespace

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view field_name_of(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return {};
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  return name;
}

bool name_matches(std::string_view name, std::string_view pattern) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return name.size() >= pattern.size() && iequals(name.substr(0, pattern.size()), pattern);
  }
  return iequals(name, pattern);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::string HeaderField::unfolded() const {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\n') continue;
    if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
    out.push_back(c);
  }
  while (!out.empty() && is_wsp(out.back())) out.pop_back();
  return out;
}

std::string HeaderField::decoded() const { return decode_rfc2047(unfolded()); }

HeaderBlock parse_header_block(std::string_view raw) {
  HeaderBlock hb;
  const size_t n = raw.size();
  size_t p = 0;
  size_t block_end = 0;
  HeaderField* cur = nullptr;
  while (true) {
    if (p >= n) {
      block_end = n;
      hb.body_offset = n;
      break;
    }
    size_t nl = raw.find('\n', p);
    size_t next = nl == std::string_view::npos ? n : nl + 1;
    size_t content_end = nl == std::string_view::npos ? n : nl;
    if (content_end > p && raw[content_end - 1] == '\r') --content_end;
    if (content_end == p && nl != std::string_view::npos) {  // empty line: separator
      block_end = p;
      hb.body_offset = next;
      break;
    }
    char c = raw[p];
    if (c == ' ' || c == '\t') {
      if (cur) {
        const char* begin = cur->value.data();
        cur->value = std::string_view(begin, static_cast<size_t>(raw.data() + content_end - begin));
      }
      p = next;
      continue;
    }
    size_t q = p;
    while (q < content_end && is_ftext(raw[q])) ++q;
    if (q < content_end && raw[q] == ':') {
      if (q == p) {  // ":value" has no name: skip the line
        cur = nullptr;
        p = next;
        continue;
      }
      size_t v = q + 1;
      while (v < content_end && (raw[v] == ' ' || raw[v] == '\t')) ++v;
      hb.fields.push_back(HeaderField{raw.substr(p, q - p), raw.substr(v, content_end - v)});
      cur = &hb.fields.back();
      p = next;
      continue;
    }
    // Not a header line: the body starts here (missing separator).
    block_end = p;
    hb.body_offset = p;
    break;
  }
  hb.block = raw.substr(0, block_end);
  return hb;
}

const HeaderField* find_field(const std::vector<HeaderField>& fields, std::string_view name) {
  for (const auto& f : fields)
    if (iequals(f.name, name)) return &f;
  return nullptr;
}

const std::string* StructuredValue::param(std::string_view name) const {
  for (const auto& p : params)
    if (iequals(p.name, name)) return &p.value;
  return nullptr;
}

StructuredValue parse_structured(std::string_view unfolded) {
  StructuredValue sv;
  auto segs = split_params(unfolded);
  sv.value = ascii_lower(trim_space(strip_comments(segs[0])));
  std::vector<Pending> pending;
  // Bounded so that a hostile 1 MB "a=1;b=2;..." value stays linear.
  const size_t last = std::min(segs.size(), kMaxParams + 1);
  for (size_t i = 1; i < last; ++i) add_param(pending, segs[i]);
  sv.params.reserve(pending.size());
  for (auto& p : pending) {
    if (!p.sections.empty())
      sv.params.push_back(Param{p.name, join_2231(p.sections)});
    else
      sv.params.push_back(Param{p.name, std::move(p.plain)});
  }
  return sv;
}

}  // namespace nougat::engine
