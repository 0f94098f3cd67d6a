// Items with brace arguments: ${sg}, ${tr}, ${extract}, ${length}, ${substr},
// ${hash}, ${nhash}. Semantics follow Exim 4.96 (expand.c), verified with
// `exim -bf`. ${sg}'s replacement is expanded a second time with $0..$9 set,
// as Exim does; that second pass has the same limits and no I/O items.
#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang::detail {
namespace {

struct ItemInfo {
  std::string_view name;
  int min, max;
};
constexpr ItemInfo kItems[] = {{"sg", 3, 3},     {"tr", 3, 3},   {"extract", 2, 5}, {"length", 2, 2},
                               {"substr", 2, 3}, {"hash", 2, 3}, {"nhash", 2, 3}, {"map", 2, 2},
                               {"reduce", 3, 3}, {"sort", 3, 3}, {"listextract", 2, 4}, {"hmac", 3, 3},
                               {"listquote", 2, 2}, {"authresults", 1, 1}, {"imapfolder", 1, 3},
                               {"prvs", 2, 3},      {"srs_encode", 3, 3}};

Status eval_args(const Node& n, Run& run, bool skipping, std::vector<std::string>& a) {
  for (const Seq& s : n.args) {
    auto r = eval_to_string(s, run, skipping);
    if (!r) return r.error();
    a.push_back(std::move(*r));
  }
  return Ok{};
}

// ${sg{subject}{regex}{replacement}}: the replacement, once expanded, is
// expanded again for each match with $0.. set, in the same run (its depth,
// $item and $value, its taint); as in Exim, message data is never expanded
// there (Exim skips its check for text without '$' or '\\').
Status eval_sg(const Node& n, Run& run, std::string& out, const std::vector<std::string>& a, bool subject_tainted,
               bool replacement_tainted) {
  std::shared_ptr<const Regex> re = n.re ? n.re : compile_regex(a[1], false);
  if (!re->ok()) return fail("regular expression error in \"" + a[1] + "\": " + re->error());
  const std::string& subject = a[0];
  if (replacement_tainted && a[2].find_first_of("$\\") != std::string::npos)
    return fail("attempt to expand tainted string '" + a[2] + "'");
  std::shared_ptr<const Expansion> repl;
  auto compiled = compile_expansion(a[2]);
  if (!compiled) return compiled.error();
  repl = *compiled;
  std::vector<std::string> saved = run.st.captures;
  const bool saved_tainted = run.st.captures_tainted;
  struct Restore {
    Run& run;
    bool tainted;
    ~Restore() { run.st.captures_tainted = tainted; }
  } restore{run, saved_tainted};
  run.st.captures_tainted = subject_tainted;
  size_t moffset = 0;
  std::string result;
  for (;;) {
    std::vector<size_t> ov;
    std::string err;
    int rc = re->match(subject, moffset, ov, err);
    if (rc == -2) {
      run.st.captures = saved;
      return fail(err);
    }
    if (rc < 0) break;
    result.append(subject, moffset, ov[0] - moffset);
    run.st.captures.clear();
    for (int i = 0; i < rc; ++i)
      run.st.captures.push_back(ov[2 * i] == static_cast<size_t>(-1) ? std::string()
                                                                      : subject.substr(ov[2 * i], ov[2 * i + 1] - ov[2 * i]));
    auto ins = expand_again(*repl, run);
    if (!ins) {
      run.st.captures = saved;
      return ins.error();
    }
    result += *ins;
    if (result.size() > run.st.max_output) {
      run.st.captures = saved;
      return fail("expansion result too long");
    }
    if (ov[0] == ov[1]) {  // empty match: copy one character and move on (Perl's /g)
      if (ov[1] >= subject.size()) {
        moffset = subject.size();
        break;
      }
      result += subject[ov[1]];
      moffset = ov[1] + 1;
    } else {
      moffset = ov[1];
    }
  }
  run.st.captures = saved;
  if (moffset < subject.size()) result.append(subject, moffset, std::string::npos);
  out += result;
  return Ok{};
}

// Exim's string_dequote().
std::string dequote(std::string_view s, size_t& i) {
  std::string out;
  if (i < s.size() && s[i] == '"') {
    ++i;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) {
        ++i;
        char c = s[i];
        switch (c) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'v': out += '\v'; break;
          default: out += c;
        }
        ++i;
        continue;
      }
      out += s[i++];
    }
    if (i < s.size()) ++i;
  } else {
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) out += s[i++];
  }
  return out;
}

std::optional<std::string> get_keyed(std::string_view key, std::string_view s) {
  size_t i = 0;
  auto sp = [&](size_t k) { return k < s.size() && std::isspace(static_cast<unsigned char>(s[k])); };
  while (sp(i)) ++i;
  while (i < s.size()) {
    size_t dk = i;
    while (i < s.size() && s[i] != '=' && !sp(i)) ++i;
    std::string_view dkey = s.substr(dk, i - dk);
    while (sp(i)) ++i;
    if (i < s.size() && s[i] == '=') {
      ++i;
      while (sp(i)) ++i;
    }
    std::string data = dequote(s, i);
    if (lc(dkey) == lc(key)) return data;
    while (sp(i)) ++i;
  }
  return std::nullopt;
}

std::optional<std::string> get_tokened(long field, std::string_view seps, std::string_view s) {
  if (field == 0) return std::string(s);
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    size_t e = s.find_first_of(seps, start);
    if (seps.empty()) e = std::string_view::npos;
    if (e == std::string_view::npos) {
      fields.push_back(s.substr(start));
      break;
    }
    fields.push_back(s.substr(start, e - start));
    start = e + 1;
  }
  long k = static_cast<long>(fields.size());
  if (field > 0) return field <= k ? std::optional<std::string>(std::string(fields[field - 1])) : std::nullopt;
  if (-field > k) return std::nullopt;
  return std::string(fields[k + field]);
}

}  // namespace

// Exim's dewrap(): white space, then `open`, and the text up to its `close`
// (nested pairs counted, a backslash protecting the next character; for
// quotes, the first unprotected one); what follows is ignored.
std::optional<std::string_view> dewrap(std::string_view s, char open, char close) {
  size_t p = 0;
  while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
  if (p >= s.size() || s[p] != open) return std::nullopt;
  const size_t start = ++p;
  for (unsigned depth = 0; p < s.size(); ++p) {
    if (s[p] == '\\') {
      ++p;
    } else if (open != close && s[p] == open) {
      ++depth;
    } else if (s[p] == close) {
      if (depth == 0) return s.substr(start, p - start);
      --depth;
    }
  }
  return std::nullopt;
}

// Which character dewrap() missed, as Exim's "missing '%c'".
char dewrap_missing(std::string_view s, char open, char close) {
  size_t p = 0;
  while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
  return p < s.size() && s[p] == open ? close : open;
}

// Exim 4.96's json_nextinlist(): the next element of a JSON list, up to a
// comma outside arrays and objects; leading white space skipped. Quotes do
// not count there (a string holding a comma splits, as in Exim 4.96).
std::optional<std::string_view> json_next(std::string_view& list) {
  size_t p = 0;
  while (p < list.size() && std::isspace(static_cast<unsigned char>(list[p]))) ++p;
  const size_t start = p;
  int arrays = 0, objects = 0;
  for (; p < list.size() && (list[p] != ',' || arrays || objects); ++p) {
    switch (list[p]) {
      case '[': ++arrays; break;
      case ']': --arrays; break;
      case '{': ++objects; break;
      case '}': --objects; break;
    }
  }
  std::string_view item = list.substr(start, p - start);
  list.remove_prefix(p < list.size() ? p + 1 : list.size());
  if (item.empty()) return std::nullopt;
  return item;
}

namespace {

// ${extract json{key}{object}} and ${extract json{N}{array}} (jsons: a
// string's quotes taken off), as Exim 4.96: the value as written, or nullopt.
Result<std::optional<std::string>> json_extract(const std::string& key, bool numeric, std::string_view data, bool strings) {
  const char* variant = strings ? "extract jsons" : "extract json";
  std::optional<std::string_view> found;
  if (numeric) {
    long n = std::strtol(key.c_str(), nullptr, 10);
    if (n <= 0) return fail("first argument of \"extract\" must be greater than zero");
    auto list = dewrap(data, '[', ']');
    if (!list) return fail(fmt::format("missing '{}' wrapping array for {}", dewrap_missing(data, '[', ']'), variant));
    for (long i = 1; auto item = json_next(*list); ++i)
      if (i == n) {
        found = item;
        break;
      }
  } else {
    auto object = dewrap(data, '{', '}');
    if (!object) return fail(fmt::format("missing '{}' wrapping object for {}", dewrap_missing(data, '{', '}'), variant));
    std::string_view list = *object;
    while (auto item = json_next(list)) {
      auto name = dewrap(*item, '"', '"');
      if (!name) return fail(fmt::format("missing '\"' wrapping string key for {}", variant));
      std::string_view rest = item->substr(size_t(name->data() - item->data()) + name->size() + 1);
      while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) rest.remove_prefix(1);
      if (rest.empty() || rest.front() != ':') return fail(fmt::format("missing object value-separator for {}", variant));
      rest.remove_prefix(1);
      while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) rest.remove_prefix(1);
      if (*name == key) {
        found = rest;
        break;
      }
    }
  }
  if (!found) return std::optional<std::string>();
  if (!strings) return std::optional<std::string>(std::string(*found));
  auto text = dewrap(*found, '"', '"');
  if (!text) return fail(fmt::format("missing '\"' wrapping string result for {}", variant));
  return std::optional<std::string>(std::string(*text));
}

// The {yes}{no} / {yes} fail / nothing after a lookup-like item's
// data_args arguments, given the value found (or not).
Status eval_yesno(const Node& n, Run& run, std::string& out, size_t data_args, const std::optional<std::string>& v,
                  std::string_view item) {
  size_t nyes = n.args.size() - data_args;
  if (nyes > 2) return fail("curly-bracket problem in conditional yes/no parsing: did not close with '}'");
  if (nyes == 0) {
    if (v) out += *v;
    return Ok{};
  }
  if (!v && nyes == 1) {
    if (n.num == 1) return fail("\"" + std::string(item) + "\" failed and \"fail\" requested");
    return Ok{};
  }
  const Seq& branch = v ? n.args[data_args] : n.args[data_args + 1];
  const std::string* saved = run.value;
  std::string empty;
  run.value = v ? &*v : &empty;
  auto r = eval_to_string(branch, run, false);
  // the branch not taken is still checked (unknown variables fail in Exim even there)
  Status other = Ok{};
  if (nyes > 1) {
    std::string dummy;
    other = eval_seq(v ? n.args[data_args + 1] : n.args[data_args], run, dummy, true);
  }
  run.value = saved;
  if (!r) return r.error();
  if (!other) return other.error();
  out += *r;
  return Ok{};
}

Status eval_extract(const Node& n, Run& run, std::string& out, bool skipping) {
  if (n.hard_error) {  // its yes/no part did not parse: the key and data were expanded first
    for (long i = 0; i < n.params[0] && i < static_cast<long>(n.args.size()); ++i)
      if (auto r = eval_to_string(n.args[i], run, skipping); !r) return r.error();
    return fail(n.deferred_error);
  }
  std::vector<std::string> a;
  if (skipping) {
    std::string empty;
    const std::string* saved = run.value;
    run.value = &empty;
    auto st = eval_args(n, run, true, a);
    run.value = saved;
    return st;
  }
  bool key_tainted = false, data_tainted = false;  // the key's taint is not the value's
  auto first = eval_tracked(n.args[0], run, false, key_tainted);
  if (!first) return first.error();
  a.push_back(std::move(*first));
  std::string k = a[0];
  while (!k.empty() && std::isspace(static_cast<unsigned char>(k.front()))) k.erase(0, 1);
  while (!k.empty() && std::isspace(static_cast<unsigned char>(k.back()))) k.pop_back();
  if (k.empty()) return fail("first argument of \"extract\" must not be empty");
  bool numeric = true;
  size_t p = k[0] == '-' ? 1 : 0;
  for (size_t i = p; i < k.size(); ++i) numeric = numeric && std::isdigit(static_cast<unsigned char>(k[i]));
  const bool json = n.text != "extract";
  size_t data_args = numeric && !json ? 3 : 2;
  if (n.args.size() < data_args) return fail("missing '{' for arg " + std::to_string(n.args.size() + 1) + " of extract");
  for (size_t i = 1; i < data_args; ++i) {
    bool t = false;
    auto r = eval_tracked(n.args[i], run, false, t);
    if (!r) return r.error();
    data_tainted = data_tainted || (i + 1 == data_args && t);  // the data, not the separators
    a.push_back(std::move(*r));
  }
  TaintScope taint(run, run.item_tainted, data_tainted);
  if (n.args.size() == data_args) run.tainted = run.tainted || data_tainted;  // no yes/no: the value is the result
  std::optional<std::string> v;
  if (json) {
    auto r = json_extract(k, numeric, a[1], n.text == "extract jsons");
    if (!r) return r.error();
    v = std::move(*r);
  } else if (numeric) {
    // As Exim: the number as a C int (wrapped); one too big for a long is no field.
    errno = 0;
    long f = std::strtol(k.c_str(), nullptr, 10);
    if (errno != ERANGE) v = get_tokened(static_cast<int32_t>(static_cast<uint32_t>(f)), a[1], a[2]);
  } else {
    v = get_keyed(k, a[1]);
  }
  return eval_yesno(n, run, out, data_args, v, "extract");
}

std::string hash_text(std::string s, long v1, long v2) {
  // Exim's hashcodes, "t" and "s" swapped as in its source: what ${hash}
  // printed once is what it must print again.
  static constexpr std::string_view kCodes = "abcdefghijklmnopqrtsuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  if (v2 < 0) v2 = 26;
  if (v1 < static_cast<long>(s.size())) {
    size_t i = 0;
    for (size_t j = static_cast<size_t>(v1); j < s.size(); ++j) {
      unsigned c = static_cast<unsigned char>(s[j]);
      int shift = static_cast<int>((c + j) & 7);
      s[i] = static_cast<char>(static_cast<unsigned char>(s[i]) ^ static_cast<unsigned char>((c << shift) | (c >> (8 - shift))));
      if (++i >= static_cast<size_t>(v1)) i = 0;
    }
    for (i = 0; i < static_cast<size_t>(v1); ++i) s[i] = kCodes[static_cast<unsigned char>(s[i]) % static_cast<unsigned long>(v2)];
    s.resize(static_cast<size_t>(v1));
  }
  return s;
}

}  // namespace

// Shared with the operator forms (${length_N:}, ${hash_N_M:}, ...).
Result<std::string> numeric_item(std::string_view name, std::string_view s, long v1, long v2) {
  if (name == "hash") {
    if (v2 > 62) return fail("hash count \"" + std::to_string(v2) + "\" too big");
    if (v2 == 0) return fail("hash count \"0\" is not valid");
    // A negative length crashes Exim 4.96 (found by the fuzzer here, where
    // it read outside the string): an error instead.
    if (v1 < 0) return fail("\"" + std::to_string(v1) + "\" is not a positive number (in \"hash\" expansion)");
    return hash_text(std::string(s), v1, v2);
  }
  if (name == "nhash") {
    static constexpr unsigned kPrime[] = {2,  3,  5,  7,  11, 13, 17, 19, 23,  29,  31,  37,  41,  43,  47,
                                          53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113};
    unsigned long total = 0;
    int i = 0;
    for (unsigned char c : s) {
      if (i == 0) i = static_cast<int>(std::size(kPrime)) - 1;
      total += kPrime[i--] * static_cast<unsigned>(c);
    }
    // Exim divides by its int converted to unsigned long: a negative number
    // is a huge divisor (and 0 would crash it: an error here).
    if (v1 == 0 || v2 == 0) return fail("nhash with a zero divisor");
    if (v2 < 0) return std::to_string(total % static_cast<unsigned long>(v1));
    // In unsigned arithmetic: a product past the range wraps (defined), and
    // one that wraps to 0 divides nothing.
    const unsigned long range = static_cast<unsigned long>(v1) * static_cast<unsigned long>(v2);
    if (range == 0) return fail("nhash with a zero divisor");
    total %= range;
    return std::to_string(total / static_cast<unsigned long>(v2)) + "/" + std::to_string(total % static_cast<unsigned long>(v2));
  }
  // substr / length (Exim's extract_substr)
  long len = static_cast<long>(s.size());
  if (v1 < 0) {
    v1 += len;
    if (v1 < 0) {
      v2 += v1;
      if (v2 < 0) v2 = 0;
      v1 = 0;
    } else if (v2 < 0) {
      v2 = v1;
      v1 = 0;
    }
  } else if (v1 > len) {
    v1 = len;
    v2 = 0;
  } else if (v2 < 0) {
    v2 = len;
  }
  if (v1 + v2 > len) v2 = len - v1;
  return std::string(s.substr(static_cast<size_t>(v1), static_cast<size_t>(v2)));
}

bool known_item(std::string_view name, int* min_args, int* max_args) {
  for (const ItemInfo& i : kItems)
    if (i.name == name) {
      *min_args = i.min;
      *max_args = i.max;
      return true;
    }
  return false;
}

Status prepare_item(Node& n) {
  if (n.text == "sg" && seq_is_constant(n.args[1])) n.re = compile_regex(seq_constant_text(n.args[1]), false);
  return Ok{};
}

Status eval_item(const Node& n, Run& run, std::string& out, bool skipping) {
  if (n.text == "extract" || n.text == "extract json" || n.text == "extract jsons") return eval_extract(n, run, out, skipping);
  if (n.text == "listextract") return eval_listextract(n, run, out, skipping);
  if (n.text == "map" || n.text == "filter" || n.text == "reduce" || n.text == "sort")
    return eval_list_item(n, run, out, skipping);
  if (n.text == "prvscheck") return prvscheck_item(n, run, out, skipping);
  if (n.text == "certextract" || n.text == "env") {
    // Neither has a value in a filter: Exim's default environment is empty
    // (keep_environment unset), and a stored message has no TLS session.
    if (skipping) {
      std::vector<std::string> a;
      return eval_args(n, run, true, a);
    }
    auto first = eval_to_string(n.args[0], run, false);  // the field or the key, expanded for its errors
    if (!first) return first.error();
    if (n.text == "certextract") {
      const std::string var = seq_constant_text(n.args[1]);
      if (var != "tls_in_peercert" && var != "tls_in_ourcert" && var != "tls_out_peercert" && var != "tls_out_ourcert")
        return fail(run.ctx.variable(var) ? "\"" + var + "\" is not a certificate" : "no variable named \"" + var + "\"");
    }
    return eval_yesno(n, run, out, static_cast<size_t>(n.params[0]), std::nullopt, n.text);
  }
  std::vector<std::string> a;
  std::vector<bool> tainted;  // each argument's; what goes into the result is the item's to say
  for (const Seq& arg : n.args) {
    bool t = false;
    auto r = eval_tracked(arg, run, skipping, t);
    if (!r) return r.error();
    a.push_back(std::move(*r));
    tainted.push_back(t);
  }
  // Items that compute a value from their arguments carry no taint; those
  // that cut a piece of their last one carry its taint (not their numbers');
  // tr that of its subject and replacements; the rest copy from any argument.
  if (n.text == "length" || n.text == "substr" || n.text == "hash")
    run.tainted = run.tainted || tainted.back();
  else if (n.text == "tr")
    run.tainted = run.tainted || tainted[0] || tainted[2];
  else if (n.text != "hmac" && n.text != "nhash")
    for (bool t : tainted) run.tainted = run.tainted || t;
  if (skipping && (n.text == "listquote" || n.text == "authresults" || n.text == "imapfolder" || n.text == "prvs" ||
                   n.text == "srs_encode"))
    return Ok{};
  if (n.text == "prvs" || n.text == "srs_encode") {
    auto r = n.text == "prvs" ? prvs_item(a, run) : srs_encode_item(a, run);
    if (!r) return r.error();
    out += *r;
    return Ok{};
  }
  if (n.text == "imapfolder") {
    auto r = imap_folder(a[0], a.size() > 1 ? a[1] : "/", a.size() > 2 ? a[2] : "", run.st.headers_charset);
    if (!r) return r.error();
    out += *r;
    return Ok{};
  }
  if (n.text == "listquote") {  // the separator's first character doubled; "" becomes " "
    if (a[1].empty()) {
      out += ' ';
      return Ok{};
    }
    for (char c : a[1]) {
      if (!a[0].empty() && c == a[0][0]) out += c;
      out += c;
    }
    return Ok{};
  }
  if (n.text == "authresults") {
    // Filters see no connection's checks (iprev, SPF, DKIM): the header's
    // first part only, as exim -bf prints it.
    out += "Authentication-Results: " + a[0];
    return Ok{};
  }
  if (n.text == "sg") {
    if (!skipping) return eval_sg(n, run, out, a, tainted[0], tainted[2]);
    // Exim compiles the pattern even in a branch that is not taken.
    std::shared_ptr<const Regex> re = n.re ? n.re : compile_regex(a[1], false);
    if (!re->ok()) return fail("regular expression error in \"" + a[1] + "\": " + re->error());
    return Ok{};
  }
  if (n.text == "hmac") {
    if (skipping) return Ok{};
    auto r = hmac_item(a[0], a[1], a[2]);
    if (!r) return r.error();
    out += *r;
    return Ok{};
  }
  if (n.text == "tr") {
    if (skipping) return Ok{};
    std::string s = a[0];
    if (!a[2].empty()) {
      size_t o2m = a[2].size() - 1;
      for (char& c : s) {
        size_t m = a[1].rfind(c);
        if (m != std::string::npos) c = a[2][m < o2m ? m : o2m];
      }
    }
    out += s;
    return Ok{};
  }
  // length / substr / hash / nhash
  std::string str = a.back();
  std::string nums[2];
  bool have[2] = {false, false};
  if (a.size() == 3) {
    nums[0] = a[0], nums[1] = a[1], have[0] = have[1] = true;
  } else if (n.text == "length") {
    nums[1] = a[0], have[1] = true;
  } else {
    nums[0] = a[0], have[0] = true;
  }
  long val[2] = {0, -1};
  for (int i = 0; i < 2; ++i) {
    if (!have[i]) continue;
    char* end = nullptr;
    val[i] = std::strtol(nums[i].c_str(), &end, 10);
    if (*end != 0 || (i != 0 && val[i] < 0))
      return fail("\"" + nums[i] + "\" is not a" + (i != 0 ? " positive" : "") + " number (in \"" + n.text +
                  "\" expansion)");
  }
  if (skipping) return Ok{};  // the numbers above are checked even when skipping, as in Exim
  auto r = numeric_item(n.text, str, val[0], val[1]);
  if (!r) return r.error();
  out += *r;
  return Ok{};
}

}  // namespace nougat::filterlang::detail
