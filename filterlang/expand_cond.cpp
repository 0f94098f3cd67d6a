// ${if} conditions: parsing (Parser::parse_cond) and evaluation. Names,
// argument counts and error texts follow Exim 4.96's eval_condition().
// Not supported (fail, saying so): the conditions that ask a service (pam,
// saslauthd, ldapauth, acl); pwcheck and radius, as in Debian's Exim, are
// "not compiled".
#include <arpa/inet.h>
#include <crypt.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <tuple>

#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang::detail {
namespace {

struct CondInfo {
  std::string_view name;
  CondKind kind;
  int nargs;
};

constexpr CondInfo kConds[] = {
    {"<", CondKind::Num2, 2},                     {"<=", CondKind::Num2, 2},
    {"=", CondKind::Num2, 2},                     {"==", CondKind::Num2, 2},
    {">", CondKind::Num2, 2},                     {">=", CondKind::Num2, 2},
    {"and", CondKind::And, 0},                    {"bool", CondKind::Bool, 1},
    {"bool_lax", CondKind::Bool, 1},              {"crypteq", CondKind::Str2, 2},
    {"def", CondKind::Def, 0},                    {"eq", CondKind::Str2, 2},
    {"eqi", CondKind::Str2, 2},                   {"exists", CondKind::One, 1},
    {"first_delivery", CondKind::Const, 0},       {"forall", CondKind::ForAny, 1},
    {"forall_json", CondKind::ForAny, 1},         {"forall_jsons", CondKind::ForAny, 1},
    {"forany", CondKind::ForAny, 1},              {"forany_json", CondKind::ForAny, 1},
    {"forany_jsons", CondKind::ForAny, 1},        {"ge", CondKind::Str2, 2},
    {"gei", CondKind::Str2, 2},                   {"gt", CondKind::Str2, 2},
    {"gti", CondKind::Str2, 2},                   {"inbound_srs", CondKind::Str2, 2},
    {"inlist", CondKind::MatchList, 2},           {"inlisti", CondKind::MatchList, 2},
    {"isip", CondKind::One, 1},                   {"isip4", CondKind::One, 1},
    {"isip6", CondKind::One, 1},                  {"le", CondKind::Str2, 2},
    {"lei", CondKind::Str2, 2},                   {"lt", CondKind::Str2, 2},
    {"lti", CondKind::Str2, 2},                   {"match", CondKind::Match, 2},
    {"match_address", CondKind::MatchList, 2},    {"match_domain", CondKind::MatchList, 2},
    {"match_ip", CondKind::MatchList, 2},         {"match_local_part", CondKind::MatchList, 2},
    {"or", CondKind::Or, 0},                      {"queue_running", CondKind::Const, 0},
};

const CondInfo* find_cond(std::string_view name) {
  for (const CondInfo& c : kConds)
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace

// Exim's strcmpic(), quirk included: when one string is a prefix of the
// other, the result is positive either way (it returns *t where it means
// -*t), so lti{a}{ab} is false and gti{a}{ab} true, as exim -bf has them.
int exim_strcmpic(std::string_view s, std::string_view t) {
  auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
  size_t i = 0;
  for (; i < s.size(); ++i)
    if (int c = lower(s[i]) - (i < t.size() ? lower(t[i]) : 0); c != 0) return c;
  return i < t.size() ? static_cast<unsigned char>(t[i]) : 0;
}

namespace {



// crypt(3) through libxcrypt's reentrant call (which also reads HP-UX
// bigcrypt settings longer than 13 characters, as Debian's Exim gets them).
const char* crypt_into(const std::string& key, const std::string& setting, crypt_data& data) {
  return crypt_rn(key.c_str(), setting.c_str(), &data, sizeof data);
}

// crypteq{key}{hashed}, as Exim 4.96's: {md5} and {sha1} digests in base64
// (case counts) or hex (it does not); otherwise crypt(3), after an optional
// {crypt} or {crypt16} (Exim's own: a second DES round for characters 9-16).
Result<bool> crypteq(const std::string& key, std::string hashed) {
  auto prefixed = [&](std::string_view p) { return hashed.size() >= p.size() && iequal(hashed.substr(0, p.size()), p); };
  for (auto [name, md, size] : {std::tuple{"{md5}", EVP_md5(), 16}, std::tuple{"{sha1}", EVP_sha1(), 20}}) {
    if (!prefixed(name)) continue;
    std::string want = hashed.substr(std::string_view(name).size());
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(key.data(), key.size(), digest, &len, md, nullptr);
    if (want.size() == size_t(4 * ((size + 2) / 3))) return base64_text(std::string_view(reinterpret_cast<const char*>(digest), len)) == want;
    if (want.size() == size_t(2 * size)) return iequal(hex_text(digest, len, true), want);
    return false;
  }
  bool sixteen = false;
  if (prefixed("{crypt}")) {
    hashed.erase(0, 7);
  } else if (prefixed("{crypt16}")) {
    hashed.erase(0, 9);
    sixteen = true;
  } else if (!hashed.empty() && hashed[0] == '{') {
    return fail("unknown encryption mechanism in \"" + hashed + "\"");
  }
  auto data = std::make_unique<crypt_data>();
  errno = 0;
  const char* out = crypt_into(key, hashed, *data);
  std::string coded = out ? out : "";
  if (out && sixteen) {
    coded = coded.substr(0, 13);
    if (key.size() > 8) {
      const char* rest = crypt_into(key.substr(8), coded.substr(2, 2), *data);
      out = rest;
      if (rest) coded += std::string(rest).substr(2, 11);
    }
  }
  if (!out) {
    if (errno == EINVAL) return false;
    return fail(std::string("crypt error: ") + std::strerror(errno) + "\n");
  }
  return hashed.size() >= 2 && coded == hashed;  // no salt: crypt() of "" is "", never a match
}

bool is_ip(std::string_view s, int family) {
  const int f = parse_ip(s, false).family;  // no mask allowed; an IPv6 %interface is
  return f != 0 && (family == 0 || f == family);
}

}  // namespace

bool known_condition(std::string_view name) { return find_cond(name) != nullptr; }

// Exim's expanded_string_integer() (not isplus): decimal, optional K/M/G, blanks around.
Result<long long> parse_exim_int(std::string_view sv) {
  while (!sv.empty() && std::isspace(static_cast<unsigned char>(sv.front()))) sv.remove_prefix(1);  // as Exim, before its texts
  std::string s(sv);
  if (s.empty()) return 0LL;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (end == s.c_str()) return fail("integer expected but \"" + s + "\" found");
  bool overflow = errno == ERANGE;
  long long mult = 1;
  switch (std::tolower(static_cast<unsigned char>(*end))) {
    case 'k': mult = 1024; ++end; break;
    case 'm': mult = 1024 * 1024; ++end; break;
    case 'g': mult = 1024LL * 1024 * 1024; ++end; break;
    default: break;
  }
  if (mult > 1) {
    if (v > LLONG_MAX / mult || v < LLONG_MIN / mult) overflow = true;
    else v *= mult;
  }
  if (overflow) return fail("absolute value of integer \"" + s + "\" is too large (overflow)");
  while (*end && std::isspace(static_cast<unsigned char>(*end))) ++end;
  if (*end == 0) return v;
  return fail("invalid integer \"" + s + "\"");
}

Status Parser::parse_def(Cond& c) {
  if (pos >= s.size() || s[pos] != ':') return fail("\":\" expected after \"def\"");
  ++pos;
  size_t b = pos;
  while (pos < s.size() && (std::isalnum(static_cast<unsigned char>(s[pos])) || s[pos] == '_')) ++pos;
  std::string_view vname = s.substr(b, pos - b);
  if (vname.empty()) return fail("variable name omitted after \"def:\"");
  HeaderKind hk;
  size_t plen;
  if (is_header_var(vname, &hk, &plen)) {
    pos = b + plen;
    size_t e = pos;
    while (e < s.size() && s[e] != ':' && std::isgraph(static_cast<unsigned char>(s[e]))) ++e;
    c.def_name = std::string(s.substr(pos, e - pos));
    if (c.def_name.find('}') != std::string::npos) header_without_colon = true;  // Exim's hint, as for $h_
    c.def_header = static_cast<int>(hk);
    pos = e < s.size() && s[e] == ':' ? e + 1 : e;
  } else {
    c.def_name = std::string(vname);
  }
  return Ok{};
}

Status Parser::parse_group(Cond& c) {
  skip_white();
  if (pos >= s.size() || s[pos] != '{') return fail("missing { after \"" + c.name + "\"");
  ++pos;
  for (;;) {
    skip_white();
    if (pos < s.size() && s[pos] == '}') break;
    if (pos >= s.size() || s[pos] != '{')
      return fail("each subcondition inside an \"" + c.name + "{...}\" condition must be in its own {}");
    ++pos;
    auto sub = parse_cond();
    if (!sub) return fail(sub.error().text + " inside \"" + c.name + "{...}\" condition");
    skip_white();
    if (pos >= s.size() || s[pos] != '}')
      return fail("missing } at end of condition inside \"" + c.name + "\" group");
    ++pos;
    c.subs.push_back(std::move(*sub));
  }
  ++pos;
  return Ok{};
}

Status Parser::parse_forany(Cond& c) {
  skip_white();
  if (pos >= s.size() || s[pos] != '{') return fail("missing { after \"" + c.name + "\"");
  ++pos;
  auto list = parse_seq(true);
  if (!list) return list.error();
  ++pos;
  c.args.push_back(std::move(*list));
  skip_white();
  if (pos >= s.size() || s[pos] != '{') return fail("missing { after \"" + c.name + "\"");
  ++pos;
  auto sub = parse_cond();
  if (!sub) return fail(sub.error().text + " inside \"" + c.name + "\" condition");
  skip_white();
  if (pos >= s.size() || s[pos] != '}') return fail("missing } at end of condition inside \"" + c.name + "\"");
  ++pos;
  c.subs.push_back(std::move(*sub));
  return Ok{};
}

Result<Cond> Parser::parse_cond() {
  if (++depth > 100) return fail("expansion nested too deeply");
  skip_white();
  bool negated = false;
  while (pos < s.size() && s[pos] == '!') {
    negated = !negated;
    ++pos;
    skip_white();
  }
  std::string name;
  if (pos < s.size() && std::isalpha(static_cast<unsigned char>(s[pos]))) {
    while (pos < s.size() && (std::isalnum(static_cast<unsigned char>(s[pos])) || s[pos] == '_')) name += s[pos++];
  } else if (pos < s.size() && (s[pos] == '<' || s[pos] == '>' || s[pos] == '=')) {
    name += s[pos++];
    if (pos < s.size() && s[pos] == '=') name += s[pos++];
  } else {
    return fail("condition name expected, but found \"" + std::string(s.substr(pos, 16)) + "\"");
  }
  const CondInfo* info = find_cond(name);
  if (name == "pwcheck" || name == "radius") return fail("support for \"" + name + "\" not compiled");  // nor in Debian's Exim
  if (name == "pam" || name == "saslauthd" || name == "ldapauth" || name == "acl")  // they ask a service: filters ask none
    return fail("condition \"" + name + "\" is not supported in nougat filters");
  if (!info) return fail("unknown condition \"" + name + "\"");
  Cond c;
  c.kind = info->kind;
  c.name = name;
  Cond result;
  switch (info->kind) {
    case CondKind::Const:
      c.constant_value = false;  // first_delivery, queue_running: false in filter testing
      break;
    case CondKind::Def: {
      if (auto st = parse_def(c); !st) return st.error();
      break;
    }
    case CondKind::And:
    case CondKind::Or: {
      if (auto st = parse_group(c); !st) return st.error();
      break;
    }
    case CondKind::ForAny: {
      if (auto st = parse_forany(c); !st) return st.error();
      break;
    }
    default: {
      for (int i = 0; i < info->nargs; ++i) {
        skip_white();
        if (pos >= s.size() || s[pos] != '{') {
          if (name == "inbound_srs") return fail("too few arguments or bracketing error for inbound_srs");
          if (i == 0) return fail("missing { after \"" + name + "\"");
          return fail(std::string("missing ") + (i == 1 ? "2nd" : "3rd") + " string in {} after \"" + name + "\"");
        }
        ++pos;
        // Exim reads the lists of the match_ conditions without expanding them ('$' is text).
        honour_dollar = !(i == 1 && name.starts_with("match_"));
        auto a = parse_seq(true);
        honour_dollar = true;
        if (!a) return a.error();
        ++pos;
        c.args.push_back(std::move(*a));
      }
      if (info->kind == CondKind::Match && seq_is_constant(c.args[1]))
        c.re = compile_regex(seq_constant_text(c.args[1]), false);
    }
  }
  --depth;
  if (!negated) return c;
  result.kind = CondKind::Not;
  result.name = "!";
  result.subs.push_back(std::move(c));
  return result;
}

namespace {

Result<bool> eval_match(const Cond& c, const std::string& subject, const std::string& pattern, Run& run) {
  std::shared_ptr<const Regex> re = c.re ? c.re : compile_regex(pattern, false);
  if (!re->ok()) return fail("regular expression error in \"" + pattern + "\": " + re->error());
  std::vector<size_t> ov;
  std::string err;
  int rc = re->match(subject, 0, ov, err);
  if (rc == -2) return fail(err);
  if (rc < 0) return false;
  run.st.captures.clear();
  run.st.captures_tainted = run.subject_tainted;
  for (int i = 0; i < rc; ++i) {
    size_t a = ov[2 * i], b = ov[2 * i + 1];
    run.st.captures.push_back(a == static_cast<size_t>(-1) ? std::string() : subject.substr(a, b - a));
  }
  return true;
}

}  // namespace

// Conditions on already expanded string operands.
Result<bool> eval_leaf(const Cond& c, const std::vector<std::string>& a, Run& run) {
  const std::string& n = c.name;
  switch (c.kind) {
    case CondKind::Num2: {
      auto x = parse_exim_int(a[0]);
      if (!x) return x.error();
      auto y = parse_exim_int(a[1]);
      if (!y) return y.error();
      if (n == "<") return *x < *y;
      if (n == "<=") return *x <= *y;
      if (n == ">") return *x > *y;
      if (n == ">=") return *x >= *y;
      return *x == *y;
    }
    case CondKind::Str2: {
      if (n == "crypteq") return crypteq(a[0], a[1]);
      if (n == "inbound_srs") return inbound_srs(a[0], a[1], run);
      bool ci = n.size() == 3 && n.back() == 'i';
      int cmp = ci ? exim_strcmpic(a[0], a[1]) : a[0].compare(a[1]);
      std::string_view base = std::string_view(n).substr(0, 2);
      if (base == "eq") return cmp == 0;
      if (base == "lt") return cmp < 0;
      if (base == "le") return cmp <= 0;
      if (base == "gt") return cmp > 0;
      return cmp >= 0;
    }
    case CondKind::Match: return eval_match(c, a[0], a[1], run);
    case CondKind::One:
      if (n == "exists") {  // Exim's: the file (or directory) is there (forbid_filter_exists is off by default)
        struct stat sb {};
        return ::stat(a[0].c_str(), &sb) == 0;
      }
      if (n == "isip") return is_ip(a[0], 0);
      if (n == "isip4") return is_ip(a[0], 4);
      return is_ip(a[0], 6);
    case CondKind::Bool: {
      std::string v = a[0];
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.erase(0, 1);
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
      if (n == "bool_lax") {
        std::string l = lc(v);
        return !(l.empty() || l == "0" || l == "no" || l == "false");
      }
      std::string l = lc(v);
      if (l.empty() || l == "no" || l == "false") return false;
      if (l == "yes" || l == "true") return true;
      bool digits = !l.empty();
      size_t i = l[0] == '-' ? 1 : 0;
      if (i == l.size()) digits = false;
      for (; i < l.size(); ++i) digits = digits && std::isdigit(static_cast<unsigned char>(l[i]));
      if (digits) return std::strtoll(l.c_str(), nullptr, 10) != 0;
      return fail("unrecognised boolean value \"" + v + "\"");
    }
    case CondKind::MatchList: return eval_matchlist(c, a[0], a[1], run);
    default: return fail("unknown condition \"" + n + "\"");
  }
}

Result<bool> eval_cond(const Cond& c, Run& run, bool skipping) {
  DepthGuard depth(run);
  if (depth.too_deep()) return fail("expansion nested too deeply");
  switch (c.kind) {
    case CondKind::Not: {
      auto r = eval_cond(c.subs[0], run, skipping);
      if (!r) return r;
      return !*r;
    }
    case CondKind::Const: return c.constant_value;
    case CondKind::Def: {
      if (c.def_header >= 0) {
        bool exists = false;
        (void)header_value(run.ctx, c.def_name, static_cast<HeaderKind>(c.def_header), &exists);
        return exists;
      }
      if (c.def_name == "item") return run.item && !run.item->empty();
      if (c.def_name == "value") return run.value && !run.value->empty();
      auto v = run.ctx.variable(c.def_name);
      if (!v) return fail("unknown variable \"" + c.def_name + "\" after \"def:\"");
      return !v->empty();
    }
    case CondKind::And:
    case CondKind::Or: {
      bool is_and = c.kind == CondKind::And;
      bool result = is_and;
      bool decided = false;
      for (const Cond& sub : c.subs) {
        auto r = eval_cond(sub, run, skipping || decided);
        if (!r) return fail(r.error().text + " inside \"" + c.name + "{...}\" condition");
        if (!decided && *r != is_and) {
          result = !is_and;
          decided = true;
        }
      }
      return result;
    }
    case CondKind::ForAny: return eval_forany(c, run, skipping);
    default: break;
  }
  std::vector<std::string> a;
  bool operand_tainted[2] = {false, false};
  for (const Seq& s : c.args) {
    bool t = false;  // what a condition reads is not in the result
    auto r = eval_tracked(s, run, skipping, t);
    if (!r) return r.error();
    if (a.size() < 2) operand_tainted[a.size()] = t;
    a.push_back(std::move(*r));
  }
  run.subject_tainted = operand_tainted[0];  // (set last: a nested condition in the operands sets them too)
  run.list_tainted = operand_tainted[1];
  if (skipping) return false;  // Exim checks nothing else in a condition that is skipped
  return eval_leaf(c, a, run);
}

}  // namespace nougat::filterlang::detail
