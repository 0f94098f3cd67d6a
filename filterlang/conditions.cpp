#include "filterlang/conditions.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "filterlang/forward.hpp"
#include "filterlang/interpreter.hpp"

namespace nougat::filterlang {

CompiledRegex::~CompiledRegex() {
  if (code) pcre2_code_free(static_cast<pcre2_code*>(code));
}

std::shared_ptr<const CompiledRegex> compile_regex(std::string_view pattern, bool caseless) {
  auto re = std::make_shared<CompiledRegex>();
  int errcode = 0;
  PCRE2_SIZE offset = 0;
  // Exim compiles the C string: an embedded NUL ends the pattern.
  std::string_view pat = pattern.substr(0, pattern.find('\0'));
  re->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat.data()), pat.size(), caseless ? PCRE2_CASELESS : 0,
                           &errcode, &offset, nullptr);
  if (!re->code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(errcode, buf, sizeof buf);
    re->error = fmt::format("{} at offset {}", reinterpret_cast<const char*>(buf), offset);
  }
  return re;
}

bool regex_match(const CompiledRegex& re, std::string_view subject, std::vector<std::string>* captures) {
  auto* code = static_cast<pcre2_code*>(re.code);
  if (!code) return false;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  pcre2_match_context* mc = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(mc, kRegexMatchLimit);
  pcre2_set_depth_limit(mc, 10000);
  // Exim matches the C string: the subject ends at an embedded NUL.
  subject = subject.substr(0, subject.find('\0'));
  int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0, md, mc);
  bool ok = rc >= 0;
  if (ok && captures) {
    uint32_t groups = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    captures->clear();
    uint32_t set = rc == 0 ? pcre2_get_ovector_count(md) : static_cast<uint32_t>(rc);
    for (uint32_t i = 0; i <= groups; ++i) {
      if (i < set && ov[2 * i] != PCRE2_UNSET)
        captures->emplace_back(subject.substr(ov[2 * i], ov[2 * i + 1] - ov[2 * i]));
      else
        captures->emplace_back();
    }
  }
  pcre2_match_context_free(mc);
  pcre2_match_data_free(md);
  return ok;
}

std::optional<long long> filter_number(std::string_view sv) {
  std::string s(sv.substr(0, sv.find('\0')));
  const char* p = s.c_str();
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(p, &end, 0);
  if (end == p) return std::nullopt;
  // sscanf("%i") into an int: keep the low 32 bits, as glibc does.
  auto value = static_cast<uint32_t>(static_cast<unsigned long>(v));
  size_t i = static_cast<size_t>(end - p);
  if (i < s.size() && std::tolower(static_cast<unsigned char>(s[i])) == 'k') value *= 1024u, ++i;
  if (i < s.size() && std::tolower(static_cast<unsigned char>(s[i])) == 'm') value *= 1024u * 1024u, ++i;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  if (i != s.size()) return std::nullopt;
  return static_cast<int32_t>(value);
}

namespace detail {
namespace {

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return false;  // Exim's strstric: an empty needle never matches
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() && std::tolower(static_cast<unsigned char>(hay[i + j])) ==
                                    std::tolower(static_cast<unsigned char>(needle[j])))
      ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

std::string_view cstr(const std::string& s) { return std::string_view(s).substr(0, s.find('\0')); }

// Exim's one_pattern_match() over the message's header lines.
bool one_pattern(const RunState& st, std::string_view name, bool has_addresses, const std::string& pattern) {
  std::shared_ptr<const CompiledRegex> re;
  if (!pattern.empty() && pattern[0] == '^') re = compile_regex(pattern, true);
  for (const auto& [hname, hvalue] : st.vars.headers()) {
    if (!iequal(hname, name)) continue;
    if (has_addresses) {
      // As Exim's one_pattern_match(): no group syntax, and the first item
      // that is no address (an empty one too) ends the list.
      for (const auto& a : extract_address_list(hvalue, false)) {
        if (!a) break;
        if (re ? regex_match(*re, *a, nullptr) : iequal(*a, pattern)) return true;
      }
    } else {
      std::string text = hname + ":" + hvalue + "\n";
      if (re ? regex_match(*re, text, nullptr) : icontains(text, pattern)) return true;
    }
  }
  return false;
}

bool personal(RunState& st, const ProgCond& c) {
  for (const auto& [name, value] : st.vars.headers()) {
    std::string lname;
    for (char ch : name) lname.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    if (lname == "list-id" || lname == "list-help" || lname == "list-subscribe" || lname == "list-unsubscribe" ||
        lname == "list-post" || lname == "list-owner" || lname == "list-archive")
      return false;
    if (lname == "auto-submitted") {
      std::string_view v = value;
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
      if (v.size() < 2 || !iequal(v.substr(0, 2), "no")) return false;
      v.remove_prefix(2);
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
      if (!v.empty()) return false;
    }
  }
  // Past those, Exim tests the addresses with its match code, which leaves
  // $0, $1, ... empty whatever the outcome.
  st.est.captures.clear();
  std::string lp = st.var("local_part").value_or(""), dom = st.var("domain").value_or("");
  std::string pre = st.var("local_part_prefix").value_or(""), suf = st.var("local_part_suffix").value_or("");
  std::vector<std::string> self = {lp + "@" + dom};
  if (!pre.empty() || !suf.empty()) self.push_back(pre + lp + suf + "@" + dom);
  std::vector<std::string> aliases;
  for (const auto& a : c.aliases) aliases.push_back(a.raw);

  auto any = [&](std::string_view hdr, const std::vector<std::string>& pats) {
    for (const auto& p : pats)
      if (one_pattern(st, hdr, true, p)) return true;
    return false;
  };
  std::vector<std::string> to_pats = aliases;
  to_pats.insert(to_pats.end(), self.begin(), self.end());
  if (!any("to", to_pats)) return false;
  std::vector<std::string> from_pats = aliases;
  for (const char* p : {"^server@", "^daemon@", "^root@", "^listserv@", "^majordomo@", "^.*?-request@",
                        "^owner-[^@]+@"})
    from_pats.emplace_back(p);
  from_pats.insert(from_pats.end(), self.begin(), self.end());
  if (any("from", from_pats)) return false;
  for (const char* p : {"bulk", "list", "junk"})
    if (one_pattern(st, "precedence", false, p)) return false;
  auto sender = st.var("sender_address");
  return !sender || !sender->empty();
}

const char* kind_name(CondKind k, bool testfor) {
  switch (k) {
    case CondKind::kIs: return testfor ? "is" : "is not";
    case CondKind::kIS: return testfor ? "IS" : "IS not";
    case CondKind::kContains: return testfor ? "contains" : "does not contain";
    case CondKind::kCONTAINS: return testfor ? "CONTAINS" : "does not CONTAIN";
    case CondKind::kBegins: return testfor ? "begins" : "does not begin";
    case CondKind::kBEGINS: return testfor ? "BEGINS" : "does not BEGIN";
    case CondKind::kEnds: return testfor ? "ends" : "does not end";
    case CondKind::kENDS: return testfor ? "ENDS" : "does not END";
    case CondKind::kMatches: return testfor ? "matches" : "does not match";
    case CondKind::kMATCHES: return testfor ? "MATCHES" : "does not MATCH";
    case CondKind::kAbove: return testfor ? "above" : "not above";
    case CondKind::kBelow: return testfor ? "below" : "not below";
    case CondKind::kPersonal: return testfor ? "personal" : "not personal";
    case CondKind::kDelivered: return testfor ? "delivered" : "not delivered";
    case CondKind::kErrorMessage: return testfor ? "error_message" : "not error_message";
    case CondKind::kFirstDelivery: return testfor ? "first_delivery" : "not first_delivery";
    case CondKind::kManuallyThawed: return testfor ? "manually_thawed" : "not manually_thawed";
    case CondKind::kForAnyAddress: return testfor ? "foranyaddress" : "not foranyaddress";
    case CondKind::kAnd: return "and";
    case CondKind::kOr: return "or";
  }
  return "?";
}

bool binary(RunState& st, const ProgCond& c, bool& yield, std::string& shown) {
  std::string ops[2];
  bool left_tainted = false;
  const Arg* args[2] = {&c.left, &c.right};
  for (int i = 0; i < 2; ++i) {
    std::string err;
    st.est.last_tainted = false;
    auto v = st.expand(*args[i], err);
    if (i == 0) left_tainted = st.est.last_tainted;
    if (!v) {
      st.fail(fmt::format("failed to expand \"{}\" in filter file: {}", args[i]->raw, err));
      return false;
    }
    ops[i] = std::move(*v);
  }
  std::string_view a = cstr(ops[0]), b = cstr(ops[1]);
  shown = fmt::format("\"{}\" {} \"{}\"", printing(a), kind_name(c.kind, c.testfor), printing(b));
  switch (c.kind) {
    case CondKind::kIs: yield = iequal(a, b); break;
    case CondKind::kIS: yield = a == b; break;
    case CondKind::kContains: yield = icontains(a, b); break;
    case CondKind::kCONTAINS: yield = a.find(b) != std::string_view::npos; break;
    case CondKind::kBegins: yield = a.size() >= b.size() && iequal(a.substr(0, b.size()), b); break;
    case CondKind::kBEGINS: yield = a.starts_with(b); break;
    case CondKind::kEnds: yield = a.size() >= b.size() && iequal(a.substr(a.size() - b.size()), b); break;
    case CondKind::kENDS: yield = a.ends_with(b); break;
    case CondKind::kMatches:
    case CondKind::kMATCHES: {
      auto re = c.regex ? c.regex : compile_regex(b, c.kind == CondKind::kMatches);
      if (!re->code) {
        st.fail(fmt::format("error while compiling regular expression \"{}\": {}", b, re->error));
        return false;
      }
      std::vector<std::string> caps;
      yield = regex_match(*re, a, &caps);
      if (yield) {
        st.est.captures = std::move(caps);
        st.est.captures_tainted = left_tainted;
      }
      break;
    }
    case CondKind::kAbove:
    case CondKind::kBelow: {
      long long v[2];
      for (int i = 0; i < 2; ++i) {
        auto n = filter_number(ops[i]);
        if (!n) {
          st.fail(fmt::format("malformed numerical string \"{}\"", cstr(ops[i])));
          return false;
        }
        v[i] = *n;
      }
      yield = c.kind == CondKind::kAbove ? v[0] > v[1] : v[0] < v[1];
      break;
    }
    default: yield = false;
  }
  return true;
}

}  // namespace

bool test_condition(RunState& st, int32_t index, bool toplevel, bool& result) {
  const ProgCond& c = st.prog.conds[static_cast<size_t>(index)];
  bool yield = false;
  std::string shown;
  switch (c.kind) {
    case CondKind::kAnd:
    case CondKind::kOr: {
      bool l = false;
      if (!test_condition(st, c.a, false, l)) return false;
      if (c.kind == CondKind::kAnd ? l : !l) {
        if (!test_condition(st, c.b, false, yield)) return false;
      } else {
        yield = l;
      }
      shown = kind_name(c.kind, true);
      break;
    }
    case CondKind::kPersonal:
      yield = !st.prog.system_filter && personal(st, c);
      shown = kind_name(c.kind, c.testfor);
      break;
    case CondKind::kDelivered:
      yield = st.delivered;
      shown = kind_name(c.kind, c.testfor);
      break;
    case CondKind::kErrorMessage: {
      auto s = st.var("sender_address");
      yield = !s || s->empty();
      shown = kind_name(c.kind, c.testfor);
      break;
    }
    case CondKind::kFirstDelivery:
      yield = st.opt.first_delivery;
      shown = kind_name(c.kind, c.testfor);
      break;
    case CondKind::kManuallyThawed:
      yield = st.opt.manually_thawed;
      shown = kind_name(c.kind, c.testfor);
      break;
    case CondKind::kForAnyAddress: {
      std::string err;
      auto list = st.expand(c.left, err);
      if (!list) {
        st.fail(fmt::format("failed to expand \"{}\" in filter file: {}", c.left.raw, err));
        return false;
      }
      for (const auto& a : extract_address_list(cstr(*list), true)) {
        st.vars.thisaddress = a.value_or("");  // as Exim: empty for an item that is no address
        if (!a) continue;
        if (st.opt.trace) st.out.trace.push_back("  extracted address " + *a);
        if (!test_condition(st, c.a, false, yield)) return false;
        if (yield) break;
      }
      shown = fmt::format("{} \"{}\"", kind_name(c.kind, c.testfor), printing(cstr(*list)));
      break;
    }
    default:
      if (!binary(st, c, yield, shown)) return false;
  }
  result = yield == c.testfor;
  if (st.opt.trace && c.kind != CondKind::kAnd && c.kind != CondKind::kOr)
    st.out.trace.push_back(fmt::format("  {}ondition is {}: {}", toplevel ? "C" : "Sub-c", result ? "true" : "false",
                                       shown));
  return true;
}

}  // namespace detail
}  // namespace nougat::filterlang
