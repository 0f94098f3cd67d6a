// Operators ${name:arg} and ${name_N_M:arg}: case, length/substr/hash,
// digests, base64, quoting, RFC 2047, list counting, ${eval}. Names, aliases
// and error texts follow Exim 4.96; verified with `exim -bf`.
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang::detail {

Result<std::string> eval_expression(std::string_view s, bool decimal_only);  // (expand_eval.cpp)
Result<std::string> address_operator(std::string_view op, std::string_view arg);  // (expand_addr.cpp)

namespace {

constexpr std::string_view kUnderscoreOps[] = {"local_part",           "quote_local_part",        "reverse_ip",
                                                "time_interval",        "time_eval",               "from_utf8",
                                                "utf8_domain_to_alabel", "utf8_domain_from_alabel", "utf8_localpart_to_alabel",
                                                "utf8_localpart_from_alabel"};
constexpr std::string_view kMainOps[] = {
    "address", "addresses", "base64", "base64d", "domain", "escape", "eval",    "eval10", "h",
    "hash",    "hex2b64",   "hexquote", "l",     "lc",     "length", "listcount", "md5", "nh",
    "nhash",   "quote",     "rfc2047", "rfc2047d", "s",    "sha1",   "sha256",  "str2b64", "strlen",
    "substr",  "uc",        "utf8clean", "escape8bit", "rxquote", "sha2", "sha3", "base32", "base62", "mask", "base32d", "base62d",
    "ipv6norm", "ipv6denorm", "expand", "randint", "listnamed"};

std::string digest(const EVP_MD* md, std::string_view s, bool upper) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), buf, &len, md, nullptr);
  return hex_text(buf, len, upper);
}

std::string quote(std::string_view s, bool local_part) {
  bool needs = s.empty();
  for (size_t i = 0; i < s.size() && !needs; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isalnum(c)) continue;
    if (!local_part) {
      needs = std::string_view("_-.").find(static_cast<char>(c)) == std::string_view::npos;
    } else {
      needs = std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) == std::string_view::npos &&
              (c != '.' || i == 0 || i + 1 == s.size() || s[i + 1] == '.');
    }
  }
  if (!needs) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else {
      if (c == '\\' || c == '"') out += '\\';
      out += c;
    }
  }
  return out + "\"";
}

// ${quote_<type>:}: the quoting of Exim 4.96's lookups that have one
// (mysql, pgsql, sqlite, the ldaps); the others leave the string alone.
std::string lookup_quote(std::string_view type, std::string_view s, bool ldap_dn) {
  std::string out;
  char buf[8];
  if (type == "mysql" || type == "pgsql") {
    for (char c : s) {
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        case '\b': out += "\\b"; break;
        case '\'': out += type == "mysql" ? "\\'" : "''"; break;
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        default: out += c;
      }
    }
    return out;
  }
  if (type == "sqlite") {
    for (char c : s) {
      if (c == '\'') out += '\'';
      out += c;
    }
    return out;
  }
  if (!type.starts_with("ldap")) return std::string(s);
  auto literal = [](unsigned char c) { return std::isalnum(c) || std::string_view("!$'-._").find(static_cast<char>(c)) != std::string_view::npos; };
  if (std::all_of(s.begin(), s.end(), [&](char c) { return literal(static_cast<unsigned char>(c)); })) return std::string(s);
  auto url = [&](unsigned char c) {  // URL quoting after the LDAP layer
    if (std::isalnum(c) || std::string_view("!$'-._()*+").find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  };
  if (!ldap_dn) {
    for (unsigned char c : s) {
      if (!std::isalnum(c) && std::string_view("*()\\").find(static_cast<char>(c)) != std::string_view::npos) {
        std::snprintf(buf, sizeof buf, "%%5C%02X", c);
        out += buf;
      } else {
        url(c);
      }
    }
    return out;
  }
  size_t end = s.size();
  while (end > 0 && s[end - 1] == ' ') --end;
  size_t i = 0;
  for (; i < end && (s[i] == ' ' || s[i] == '#'); ++i) out += s[i] == ' ' ? "%5C%20" : "%5C%23";
  for (; i < end; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (!std::isalnum(c) && std::string_view(",+\"\\<>;").find(static_cast<char>(c)) != std::string_view::npos) out += "%5C";
    url(c);
  }
  for (; i < s.size(); ++i) out += "%5C%20";
  return out;
}

// Exim's parse_quote_2047() with the headers charset, no folding.
std::string rfc2047_encode(std::string_view s, const std::string& charset) {
  const std::string head = "=?" + charset + "?Q?";
  std::string out = head;
  size_t line_start = head.size();
  bool coded = false, first_byte = false;
  for (unsigned char c : s) {
    if (out.size() - line_start > 67 && !first_byte) {
      out += "?= ";
      line_start = out.size();
      out += head;
    }
    if (c < 33 || c > 126 || std::string_view("?=()<>@,;:\\\".[]_").find(static_cast<char>(c)) != std::string_view::npos) {
      if (c == ' ') {  // a space alone needs no encoding (Exim: "a b" stays "a b")
        out += '_';
        first_byte = false;
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "=%02X", c);
        out += buf;
        first_byte = !first_byte;
        coded = true;
      }
    } else {
      out += static_cast<char>(c);
      first_byte = false;
    }
  }
  if (!coded) return std::string(s);
  return out + "?=";
}

// Invalid UTF-8 sequences become '?' (one per bad byte run, as Exim's utf8clean).
std::string utf8clean(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

}  // namespace

// Shared by the operators, items and conditions (expand_ast.hpp).
std::string hex_text(const unsigned char* p, size_t n, bool upper) {
  const char* d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += d[p[i] >> 4], out += d[p[i] & 15];
  return out;
}

std::string base64_text(std::string_view s, const char* alphabet, bool pad) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(s[i]) << 16) | (static_cast<unsigned char>(s[i + 1]) << 8) |
                 static_cast<unsigned char>(s[i + 2]);
    out += alphabet[v >> 18], out += alphabet[(v >> 12) & 63], out += alphabet[(v >> 6) & 63], out += alphabet[v & 63];
  }
  if (i < s.size()) {
    unsigned v = static_cast<unsigned char>(s[i]) << 16;
    if (i + 1 < s.size()) v |= static_cast<unsigned char>(s[i + 1]) << 8;
    out += alphabet[v >> 18], out += alphabet[(v >> 12) & 63];
    if (i + 1 < s.size()) out += alphabet[(v >> 6) & 63];
    if (pad) out.append(i + 1 < s.size() ? 1 : 2, '=');
  }
  return out;
}

std::string lc(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status prepare_operator(std::string_view name, Node& n) {
  std::string_view base = name;
  std::string_view arg;
  bool found = false;
  for (std::string_view u : kUnderscoreOps)
    if (u == name) found = true;
  if (!found) {
    if (size_t us = name.find('_'); us != std::string_view::npos) {
      base = name.substr(0, us);
      arg = name.substr(us + 1);
    }
    for (std::string_view m : kMainOps)
      if (m == base) found = true;
  }
  if (name == "stat")  // file metadata: filters read no files but the "exists" test's
    return fail("expansion operator \"stat\" is not supported in nougat filters");
  if (!found) return fail("unknown expansion operator \"" + std::string(name) + "\"");
  std::string canon(base);
  if (canon == "h") canon = "hash";
  if (canon == "nh") canon = "nhash";
  if (canon == "l") canon = "length";
  if (canon == "s") canon = "substr";
  if (canon == "str2b64") canon = "base64";
  n.text = canon;
  if (canon == "hash" || canon == "nhash" || canon == "length" || canon == "substr") {
    if (name.find('_') == std::string_view::npos) {
      n.deferred_error = "missing values after " + std::string(name);
      return Ok{};
    }
    // Exim's reader: up to two numbers separated by '_'; only substr's first may be negative.
    long v1 = 0, v2 = -1;
    long* pn = &v1;
    if (canon == "length") {
      pn = &v2;
      v2 = 0;
    }
    long sign = 1;
    size_t i = 0;
    if (canon != "length" && name[0] == 's' && !arg.empty() && arg[0] == '-') {
      sign = -1;
      i = 1;
    }
    size_t start = i;
    while (i < arg.size()) {
      if (i != start && arg[i] == '_' && pn == &v1) {
        pn = &v2;
        v2 = 0;
        if (i + 1 < arg.size()) ++i;
      } else if (!std::isdigit(static_cast<unsigned char>(arg[i]))) {
        n.deferred_error = "non-digit after underscore in \"" + std::string(name) + "\"";
        return Ok{};
      } else {
        if (*pn < 100000000) *pn = *pn * 10 + (arg[i] - '0');
        ++i;
      }
    }
    n.params = {v1 * sign, v2};
  }
  if (canon == "quote" && name.find('_') != std::string_view::npos) {  // ${quote_<lookup type>[_<option>]:}
    static constexpr std::string_view kTypes[] = {
        "lsearch", "wildlsearch", "nwildlsearch", "iplsearch", "cdb",    "dbm",  "dbmjz",  "dbmnz", "dnsdb", "dsearch",
        "ldap",    "ldapdn",      "ldapm",        "mysql",     "nis",    "nis0", "passwd", "pgsql", "sqlite", "spf",
        "readsock"};
    const size_t us = arg.find('_');
    std::string_view type = arg.substr(0, us);
    const bool has_opt = us != std::string_view::npos;
    std::string_view opt = has_opt ? arg.substr(us + 1) : std::string_view();
    n.text = "quote_" + std::string(type);
    if (std::find(std::begin(kTypes), std::end(kTypes), type) == std::end(kTypes)) {
      n.deferred_error = "unknown lookup type \"" + std::string(type) + "\"";
    } else if (has_opt && !(opt == "dn" && type.starts_with("ldap"))) {
      n.deferred_error = "\"" + std::string(opt) + "\" unrecognized after \"${quote_" + std::string(type) + "\"";
    } else if (has_opt) {
      n.params = {1};  // ldap's _dn: a distinguished name's quoting
    }
  }
  if (canon == "mask") n.params = {!arg.empty() && arg[0] == 'n'};  // ${mask_n:}
  if (canon == "listnamed" && name != "listnamed") {  // ${listnamed_d:} etc.: which kind of list
    static constexpr std::string_view kKinds = "adhl";
    if (arg.empty() || kKinds.find(arg[0]) == std::string_view::npos)  // only the first character counts
      n.deferred_error = "bad suffix on \"list\" operator";
    else
      n.params = {arg[0]};
  }
  if ((canon == "sha2" || canon == "sha3") && !arg.empty()) {
    bool digits = arg.size() < 6;
    for (char c : arg) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    n.params = {digits ? std::atol(std::string(arg).c_str()) : 0};
  }
  return Ok{};
}

Result<std::string> apply_operator(const Node& n, std::string arg, Run& run) {
  const std::string& op = n.text;
  if (op == "lc") return lc(arg);
  if (op == "uc") {
    for (char& c : arg) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return arg;
  }
  if (op == "hash" || op == "nhash" || op == "length" || op == "substr")
    return numeric_item(op, arg, n.params[0], n.params[1]);
  if (op == "strlen") return std::to_string(arg.size());
  if (op == "md5") return digest(EVP_md5(), arg, false);
  if (op == "sha1") return digest(EVP_sha1(), arg, true);
  if (op == "sha256") return digest(EVP_sha256(), arg, true);
  if (op == "base64") return base64_text(arg);
  if (op == "base64d") {
    auto r = exim_base64_decode(arg);
    if (!r) return fail("string \"" + arg + "\" is not well-formed for \"base64d\" operator");
    return r;
  }
  if (op == "hex2b64") {
    std::string bytes;
    auto hv = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10; };
    if (arg.size() % 2 != 0) return fail("\"" + arg + "\" contains an odd number of characters");
    for (char c : arg)
      if (!std::isxdigit(static_cast<unsigned char>(c))) return fail("\"" + arg + "\" is not a hex string");
    for (size_t i = 0; i < arg.size(); i += 2) bytes += static_cast<char>(hv(arg[i]) * 16 + hv(arg[i + 1]));
    return base64_text(bytes);
  }
  if (op == "hexquote") {
    std::string out;
    for (unsigned char c : arg) {
      if (c < 33 || c > 126) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    return out;
  }
  if (op == "escape") return printing(arg);
  if (op == "quote") return quote(arg, false);
  if (op.starts_with("quote_") && op != "quote_local_part") return lookup_quote(op.substr(6), arg, !n.params.empty() && n.params[0]);
  if (op == "quote_local_part") return quote(arg, true);
  if (op == "rfc2047") return rfc2047_encode(arg, run.st.headers_charset);
  if (op == "rfc2047d") return rfc2047_decode(arg, run.st.headers_charset.c_str());
  if (op == "listcount") return std::to_string(split_list(arg).size());
  if (op == "eval" || op == "eval10") return eval_expression(arg, op == "eval10");
  if (auto r = extra_operator(n, arg)) return std::move(*r);
  if (auto r = ip_operator(n, arg)) return std::move(*r);
  if (op.starts_with("utf8_")) {
    if (auto r = idn_operator(op, arg)) return std::move(*r);
  }
  if (op == "expand") {  // expanded a second time, in the same context
    auto e = compile_expansion(arg);
    Result<std::string> r = e ? expand_again(**e, run) : Result<std::string>(e.error());
    if (!r) {
      const std::string head = "internal expansion of \"" + arg + "\" failed: ";
      if (r.error().text.starts_with(head)) return r.error();  // a string that expands itself: said once
      return fail(head + r.error().text);
    }
    return r;
  }
  if (op == "randint") {
    if (arg.empty()) return fail("integer expected but \"\" found");
    auto max = parse_exim_int(arg);
    if (!max) return max.error();
    if (*max < 0) return fail("non-negative integer expected but \"" + arg + "\" found");
    const int32_t bound = static_cast<int32_t>(static_cast<uint32_t>(*max));  // Exim passes it on as a C int
    if (bound <= 1) return std::string("0");
    thread_local std::mt19937_64 gen{std::random_device{}()};
    return std::to_string(std::uniform_int_distribution<int32_t>(0, bound - 1)(gen));
  }
  if (op == "listnamed") {  // filters have no named lists
    static constexpr std::pair<char, std::string_view> kKinds[] = {
        {'a', "address "}, {'d', "domain "}, {'h', "host "}, {'l', "localpart "}};
    std::string_view kind;
    for (auto [c, k] : kKinds)
      if (!n.params.empty() && n.params[0] == c) kind = k;
    const std::string name = arg.starts_with("+") ? arg.substr(1) : arg;  // "+name", as lists write it
    return fail("\"" + name + "\" is not a " + std::string(kind) + "named list");
  }
  if (op == "utf8clean") return utf8clean(arg);
  if (op == "escape8bit") {
    std::string out;
    for (unsigned char c : arg) {
      if (c < 127 && c != '\\') {  // backslash, DEL and 8-bit go as \ooo
        out += static_cast<char>(c);
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\%03o", c);
        out += buf;
      }
    }
    return out;
  }
  return address_operator(op, arg);
}

}  // namespace nougat::filterlang::detail
