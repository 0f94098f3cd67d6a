// Expansion core: the parser (text → Seq of Nodes) and the evaluator that
// walks it. Item families live in expand_ops.cpp, expand_items.cpp,
// expand_cond.cpp and expand_vars.cpp. The grammar and the error texts follow
// Exim 4.96's expand_string_internal(), checked with `exim -bf`.
#include "filterlang/expand.hpp"
#include "filterlang/lexer.hpp"

#include <fmt/format.h>

#include <cctype>

#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang {

class Expansion {
 public:
  detail::Seq seq;
};

namespace detail {
namespace {

constexpr int kMaxDepth = 100;  // nesting of braces/items; deeper fails instead of overflowing the stack

bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

void append_text(Seq& out, std::string_view t) {
  if (t.empty()) return;
  if (!out.empty() && out.back().kind == NodeKind::Text) {
    out.back().text.append(t);
    return;
  }
  Node n;
  n.kind = NodeKind::Text;
  n.text = std::string(t);
  out.push_back(std::move(n));
}

}  // namespace

Error fail(std::string text) { return Error(std::move(text)); }

Error Parser::final_error(Error e) const {
  if (!header_without_colon) return e;
  // Exim's EXPAND_FAILED_CURLY, after a $h_ name that took in a '}': the
  // braces are what went wrong, and it says so.
  for (std::string_view curly : {"Not enough arguments", "missing '}' after", "curly-bracket problem", "missing '{' for arg"})
    if (e.text.starts_with(curly)) return fail("missing or misplaced { or } - could be header name not terminated by colon");
  return e;
}

void Parser::skip_white() {
  while (pos < s.size() && std::isspace(static_cast<unsigned char>(s[pos]))) ++pos;
}

Result<Seq> Parser::parse_seq(bool brace_terminated) {
  if (++depth > kMaxDepth) return fail("expansion nested too deeply");
  Seq out;
  std::string lit;
  while (pos < s.size() && !(brace_terminated && s[pos] == '}')) {
    char c = s[pos];
    if (c == '\\') {
      if (pos + 1 >= s.size()) { ++pos; break; }  // a trailing backslash vanishes
      if (s[pos + 1] == 'N') {
        pos += 2;
        size_t end = s.find("\\N", pos);
        if (end == std::string_view::npos) end = s.size();
        lit.append(s.substr(pos, end - pos));
        pos = end == s.size() ? end : end + 2;
        continue;
      }
      ++pos;
      lit += interpret_escape(s, pos);
      ++pos;
      continue;
    }
    if (c != '$' || !honour_dollar) {
      lit += c;
      ++pos;
      continue;
    }
    append_text(out, lit);
    lit.clear();
    if (auto st = parse_dollar(out); !st) {
      partial = std::move(out);  // what parsed before the error (the outer levels keep theirs the same way)
      return st.error();
    }
  }
  append_text(out, lit);
  if (brace_terminated && pos >= s.size()) {
    partial = std::move(out);
    return fail(header_without_colon ? "missing } at end of string - could be header name not terminated by colon"
                                     : "missing } at end of string");
  }
  --depth;
  return out;
}

Status Parser::parse_dollar(Seq& out) {
  ++pos;  // '$'
  if (pos < s.size() && is_alpha(s[pos])) {
    size_t b = pos;
    while (pos < s.size() && (is_alnum(s[pos]) || s[pos] == '_')) ++pos;
    std::string_view name = s.substr(b, pos - b);
    HeaderKind hk;
    size_t plen;
    Node n;
    if (is_header_var(name, &hk, &plen)) {
      // The header name runs to ':' or to the first non-graphic character.
      pos = b + plen;
      size_t e = pos;
      while (e < s.size() && s[e] != ':' &&
             (std::isgraph(static_cast<unsigned char>(s[e])) || static_cast<unsigned char>(s[e]) >= 0x80))  // 8-bit too, as Exim
        ++e;
      n.kind = NodeKind::Header;
      n.num = static_cast<int>(hk);
      n.text = std::string(s.substr(pos, e - pos));
      if (n.text.find('}') != std::string::npos) header_without_colon = true;  // Exim's test for its hint
      pos = e < s.size() && s[e] == ':' ? e + 1 : e;
    } else {
      n.kind = NodeKind::Var;
      n.text = std::string(name);
    }
    out.push_back(std::move(n));
    return Ok{};
  }
  if (pos < s.size() && is_digit(s[pos])) {
    int v = 0;
    for (; pos < s.size() && is_digit(s[pos]); ++pos) v = v > 100000 ? v : v * 10 + (s[pos] - '0');
    Node n;
    n.kind = NodeKind::Capture;
    n.num = v;
    out.push_back(std::move(n));
    return Ok{};
  }
  if (pos >= s.size() || s[pos] != '{') return fail("$ not followed by letter, digit, or {");
  ++pos;
  return parse_braced(out);
}

Status Parser::parse_braced(Seq& out) {
  if (pos < s.size() && is_digit(s[pos])) {
    int v = 0;
    for (; pos < s.size() && is_digit(s[pos]); ++pos) v = v > 100000 ? v : v * 10 + (s[pos] - '0');
    if (pos >= s.size() || s[pos] != '}') return fail("} expected after number");
    ++pos;
    Node n;
    n.kind = NodeKind::Capture;
    n.num = v;
    out.push_back(std::move(n));
    return Ok{};
  }
  if (pos >= s.size() || !is_alpha(s[pos])) return fail("letter or digit expected after ${");
  size_t b = pos;
  // After "${" Exim's name reader also takes '-' (for ${substr_-2:...}).
  while (pos < s.size() && (is_alnum(s[pos]) || s[pos] == '_' || s[pos] == '-')) ++pos;
  std::string name(s.substr(b, pos - b));

  int min_args = 0, max_args = 0;
  for (std::string_view io : {"run", "readfile", "readsocket", "lookup", "perl", "dlfunc", "acl"})
    if (name == io)  // deliberately absent: filters are pure (no files, commands, sockets or lookups)
      return fail("expansion item \"" + name + "\" is not supported in nougat filters");
  if (name == "if") return parse_if(out);
  if (name == "filter") return parse_filter(out);
  if (name == "map" || name == "reduce") return parse_map(out, name);
  if (name == "extract" || name == "listextract") return parse_extract(out, name);
  if (name == "prvscheck") {  // which "too many" text Exim gives depends on the address: decided when run
    Node n;
    n.kind = NodeKind::Item;
    n.text = name;
    if (auto st = read_subs(n.args, 1, 3, name, false); !st) return st.error();
    if (n.args.size() < 2) return fail("Not enough arguments for 'prvscheck' (min is 1)");
    skip_white();
    if (pos < s.size() && s[pos] == '{') {
      n.hard_error = true;
      out.push_back(std::move(n));
      return fail("Too many arguments for 'prvscheck' (max is 2)");
    }
    if (pos >= s.size() || s[pos] != '}') return fail("missing '}' closing prvscheck");
    ++pos;
    out.push_back(std::move(n));
    return Ok{};
  }
  if (name == "certextract") {  // ${certextract{field}{$certificate variable}{yes}{no}}
    Node n;
    n.kind = NodeKind::Item;
    n.text = name;
    if (auto st = read_subs(n.args, 1, 1, name, false); !st) return st.error();
    skip_white();
    if (pos >= s.size() || s[pos] != '{') return fail("missing '{' for cert variable arg of certextract");
    if (++pos >= s.size() || s[pos] != '$') return fail("second argument of \"certextract\" must be a certificate variable");
    const size_t b = ++pos;
    while (pos < s.size() && (is_alnum(s[pos]) || s[pos] == '_')) ++pos;
    Seq var;
    append_text(var, std::string(s.substr(b, pos - b)));
    n.args.push_back(std::move(var));
    skip_white();
    if (pos >= s.size() || s[pos] != '}') return fail("missing '}' closing cert arg of certextract");
    ++pos;
    n.params = {2};  // where the yes/no branches start
    if (auto st = parse_yesno(n, name); !st) return st.error();
    out.push_back(std::move(n));
    return Ok{};
  }
  if (name == "env") {  // ${env{key}{yes}{no}}, yes/no as a lookup's
    Node n;
    n.kind = NodeKind::Item;
    n.text = name;
    if (auto st = read_subs(n.args, 1, 1, name, false); !st) return st.error();
    n.params = {1};  // where the yes/no branches start
    if (auto st = parse_yesno(n, name); !st) return st.error();
    out.push_back(std::move(n));
    return Ok{};
  }
  if (known_item(name, &min_args, &max_args)) {
    Node n;
    n.kind = NodeKind::Item;
    n.text = name;
    if (auto st = read_subs(n.args, min_args, max_args, name, true, name == "sort" ? &n.source : nullptr); !st) {
      Error e = st.error();
      if (name == "sort") {  // Exim reads sort's arguments itself, with texts of its own
        static constexpr const char* kWhich[] = {"list", "comparator", "extractor"};
        if (e.text.starts_with("Not enough arguments"))
          e = fail(fmt::format("missing '{{' for {} arg of sort", kWhich[std::min<size_t>(n.args.size(), 2)]));
        else if (e.text.starts_with("Too many arguments") || e.text.starts_with("missing '}' after"))
          e = fail("missing } at end of \"sort\"");
      }
      if (!n.args.empty()) {  // Exim expanded the arguments it read before it stopped: theirs come first
        Node partial;
        partial.kind = NodeKind::Op;
        partial.hard_error = true;
        partial.deferred_error = final_error(e).text;
        partial.args = std::move(n.args);
        out.push_back(std::move(partial));
      }
      return e;
    }
    if (auto st = prepare_item(n); !st) return st.error();
    out.push_back(std::move(n));
    return Ok{};
  }
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    Node n;
    n.kind = NodeKind::Op;
    auto arg = parse_seq(true);
    if (!arg) {
      if (!partial.empty()) {  // the argument as far as it parsed runs first, as in Exim
        n.hard_error = true;
        n.deferred_error = final_error(arg.error()).text;
        n.args.push_back(std::move(partial));
        partial.clear();
        out.push_back(std::move(n));
      }
      return arg.error();
    }
    ++pos;
    n.args.push_back(std::move(*arg));
    if (auto st = prepare_operator(name, n); !st) {
      // Exim expands the argument before it looks the name up: its errors
      // come first, and an unknown name fails even in a branch not taken.
      if (!st.error().text.starts_with("unknown expansion operator")) return st.error();
      n.kind = NodeKind::Op;
      n.text = name;
      n.deferred_error = st.error().text;
      n.hard_error = true;
    }
    out.push_back(std::move(n));
    return Ok{};
  }
  if (pos < s.size() && s[pos] == '}') {
    ++pos;
    Node n;
    n.kind = NodeKind::Var;
    n.text = name;
    n.braced = true;
    out.push_back(std::move(n));
    return Ok{};
  }
  return fail("\"${" + name + "\" is not a known operator (or a } is missing in a variable reference)");
}

// An item whose arguments parsed but whose end did not: Exim expanded
// those arguments before it found the error, so theirs are reported
// first. The node runs them, then fails with the syntax error.
Error Parser::deferred(Seq& out, Node n, Error e) {
  e = final_error(std::move(e));
  n.hard_error = true;
  n.deferred_error = e.text;
  out.push_back(std::move(n));
  return e;
}

// ${if COND {yes}{no}} / {yes}fail / nothing (yields "true" or "").
Status Parser::parse_if(Seq& out) {
  Node n;
  n.kind = NodeKind::If;
  auto c = parse_cond();
  if (!c) return c.error();
  n.cond = std::make_shared<Cond>(std::move(*c));
  if (auto st = parse_yesno(n, "if"); !st) {
    // Exim tests the condition before it reads on, and expands the yes/no
    // strings it has read: their errors come first.
    if (!partial.empty() && n.args.size() < 2) n.args.push_back(std::move(partial));
    partial.clear();
    n.hard_error = true;
    n.deferred_error = final_error(st.error()).text;
    out.push_back(std::move(n));
    return st.error();
  }
  out.push_back(std::move(n));
  return Ok{};
}

// Exim's process_yesno() syntax: [{yes}[{no} | fail]] then '}'. Appends the
// branches to n.args; n.num = 1 marks "fail".
Status Parser::parse_yesno(Node& n, std::string_view item) {
  auto curly = [&](const char* what) {
    return fail(std::string("curly-bracket problem in conditional yes/no parsing: ") + what +
                "\n remaining string is '" + std::string(s.substr(pos)) + "'");
  };
  skip_white();
  if (pos < s.size() && s[pos] == '}') {
    ++pos;
    return Ok{};
  }
  if (pos >= s.size() || s[pos] != '{') return curly("'yes' part did not start with '{'");
  ++pos;
  auto yes = parse_seq(true);
  if (!yes) return yes.error();
  ++pos;
  n.args.push_back(std::move(*yes));
  skip_white();
  if (pos < s.size() && s[pos] == '{') {
    ++pos;
    auto no = parse_seq(true);
    if (!no) return no.error();
    ++pos;
    n.args.push_back(std::move(*no));
  } else if (pos >= s.size() || s[pos] != '}') {
    if (s.substr(pos, 4) != "fail" || !(pos + 4 >= s.size() || s[pos + 4] == '}' ||
                                        std::isspace(static_cast<unsigned char>(s[pos + 4]))))
      return fail("syntax error in \"" + std::string(item) + "\" item - \"fail\" expected");
    pos += 4;
    n.num = 1;  // forced failure when the condition/lookup fails
  }
  skip_white();
  if (pos >= s.size() || s[pos] != '}') return curly("did not close with '}'");
  ++pos;
  return Ok{};
}

// ${extract{key}{data}...} / ${extract{N}{seps}{data}...} / ${listextract{N}{list}...}, then yes/no.
// The number of data arguments depends on whether the first one is a number; when it is
// not constant that is only known at run time, so up to the maximum is read here.
Status Parser::parse_extract(Seq& out, const std::string& name) {
  Node n;
  n.kind = NodeKind::Item;
  n.text = name;
  if (name == "extract") {  // ${extract json{key}{object}...}, ${extract jsons{N}{array}...}
    skip_white();
    size_t b = pos;
    while (pos < s.size() && is_alpha(s[pos])) ++pos;
    std::string_view variant = s.substr(b, pos - b);
    if (variant == "json" || variant == "jsons") {
      n.text = "extract " + std::string(variant);
      if (auto st = read_subs(n.args, 2, 2, "extract", false); !st)
        return st.error().text.starts_with("Not enough") ? fail("missing '{' for arg " + std::to_string(n.args.size() + 1) + " of extract") : st;
      n.params = {2};
      if (auto st = parse_yesno(n, "extract"); !st) return deferred(out, std::move(n), st.error());
      out.push_back(std::move(n));
      return Ok{};
    }
    pos = b;
  }
  skip_white();
  if (pos >= s.size() || s[pos] != '{') return fail("missing '{' for arg 1 of " + name);
  if (auto st = read_subs(n.args, 1, 1, name, false); !st) return st.error();
  int data = 2;
  if (name == "extract") {
    data = 3;
    if (seq_is_constant(n.args[0])) {
      std::string k = seq_constant_text(n.args[0]);
      while (!k.empty() && std::isspace(static_cast<unsigned char>(k.back()))) k.pop_back();
      size_t i = 0;
      while (i < k.size() && std::isspace(static_cast<unsigned char>(k[i]))) ++i;
      if (i < k.size() && k[i] == '-') ++i;
      bool numeric = !k.empty();  // an empty key is an error reported at run time
      for (; i < k.size(); ++i) numeric = numeric && is_digit(k[i]);
      data = numeric ? 3 : 2;
    }
  }
  for (int i = 1; i < data; ++i) {
    skip_white();
    if (pos >= s.size() || s[pos] != '{') {
      if (name == "extract" && i == 2 && !seq_is_constant(n.args[0])) break;  // keyed at run time
      return fail("missing '{' for arg " + std::to_string(i + 1) + " of " + name);
    }
    ++pos;
    auto a = parse_seq(true);
    if (!a) return a.error();
    ++pos;
    n.args.push_back(std::move(*a));
  }
  n.params = {static_cast<long>(n.args.size())};  // where the yes/no branches start
  if (auto st = parse_yesno(n, name); !st) return deferred(out, std::move(n), st.error());
  out.push_back(std::move(n));
  return Ok{};
}


// ${filter{list}{condition}}: the second argument is a condition, not a string.
Status Parser::parse_filter(Seq& out) {
  Node n;
  n.kind = NodeKind::Item;
  n.text = "filter";
  // Read as Exim reads map, filter and reduce, with their texts.
  skip_white();
  if (pos >= s.size() || s[pos] != '{') return fail("missing '{' for first arg of filter");
  ++pos;
  auto list = parse_seq(true);
  if (!list) return list.error();
  ++pos;
  n.args.push_back(std::move(*list));
  skip_white();
  if (pos >= s.size() || s[pos] != '{') return fail("missing '{' for last arg of filter");
  ++pos;
  auto c = parse_cond();
  if (!c) return fail(c.error().text + " inside \"filter\" item");
  skip_white();
  n.cond = std::make_shared<Cond>(std::move(*c));
  if (pos >= s.size() || s[pos] != '}')
    return deferred(out, std::move(n),
                    fail("missing } at end of condition or expression inside \"filter\"; could be an unquoted } in the content"));
  ++pos;
  skip_white();
  if (pos >= s.size() || s[pos] != '}') return deferred(out, std::move(n), fail("missing } at end of \"filter\""));
  ++pos;
  out.push_back(std::move(n));
  return Ok{};
}

// ${map{list}{expression}} and ${reduce{list}{initial}{expression}}, read
// as Exim reads them, with its texts: an error in the expression names the
// item.
Status Parser::parse_map(Seq& out, const std::string& name) {
  Node n;
  n.kind = NodeKind::Item;
  n.text = name;
  const bool reduce = name == "reduce";
  const char* which[] = {"first", reduce ? "second" : "last", "last"};
  const int count = reduce ? 3 : 2;
  for (int i = 0; i < count; ++i) {
    skip_white();
    if (pos >= s.size() || s[pos] != '{') {
      if (reduce && i == 1) return fail("missing '{' for second arg of reduce");
      return fail(fmt::format("missing '{{' for {} arg of {}", which[i], name));
    }
    ++pos;
    auto a = parse_seq(true);
    if (!a) return i == count - 1 ? fail(a.error().text + " inside \"" + name + "\" item") : a.error();
    ++pos;
    n.args.push_back(std::move(*a));
  }
  skip_white();
  if (pos >= s.size() || s[pos] != '}') return fail("missing } at end of \"" + name + "\"");
  ++pos;
  if (auto st = prepare_item(n); !st) return st.error();
  out.push_back(std::move(n));
  return Ok{};
}

// Exim's read_subs(): up to max brace-enclosed arguments, white space allowed before each.
Status Parser::read_subs(std::vector<Seq>& args, int min, int max, std::string_view name, bool check_end,
                         std::string* last_source) {
  for (int i = 0; i < max; ++i) {
    skip_white();
    if (pos >= s.size() || s[pos] != '{') {
      if (i < min)
        return fail("Not enough arguments for '" + std::string(name) + "' (min is " + std::to_string(min) + ")");
      break;
    }
    ++pos;
    const size_t from = pos;
    auto a = parse_seq(true);
    if (!a) {
      if (!partial.empty()) args.push_back(std::move(partial));  // the argument as far as it parsed
      partial.clear();
      return a.error();
    }
    if (last_source) *last_source = std::string(s.substr(from, pos - from));
    ++pos;
    args.push_back(std::move(*a));
  }
  if (check_end) {
    skip_white();
    if (pos < s.size() && s[pos] == '{')
      return fail("Too many arguments for '" + std::string(name) + "' (max is " + std::to_string(max) + ")");
    if (pos >= s.size() || s[pos] != '}') return fail("missing '}' after '" + std::string(name) + "'");
    ++pos;
  }
  return Ok{};
}

// ---- evaluation ----

Status eval_if(const Node& n, Run& run, std::string& out, bool skipping) {
  // A match inside the condition sets $0..$9 for the yes/no strings only.
  struct Restore {
    std::vector<std::string>& v;
    std::vector<std::string> saved;
    ~Restore() { v = std::move(saved); }
  } restore{run.st.captures, run.st.captures};
  const bool captures_tainted = run.st.captures_tainted, outer_tainted = run.tainted;
  // A list condition's match sets $value for the branches; the outer one comes back after.
  struct RestoreValue {
    Run& run;
    std::optional<std::string> cond_value;
    const std::string* value;
    bool value_tainted;
    ~RestoreValue() {
      run.cond_value = std::move(cond_value);
      run.value = value;
      run.value_tainted = value_tainted;
    }
  } restore_value{run, std::move(run.cond_value), run.value, run.value_tainted};
  run.cond_value.reset();
  auto c = eval_cond(*n.cond, run, skipping);
  run.tainted = outer_tainted;  // what the condition read is not in the result
  // Set by the condition's list matches whatever the condition's outcome, as in Exim; clean
  // when it is the filter's own list text (Exim's documented way to de-taint).
  std::optional<std::string> matched = std::move(run.cond_value);
  if (c && matched) {
    run.value = &*matched;
    run.value_tainted = run.cond_value_tainted;
  }
  if (!c) {
    run.st.captures_tainted = captures_tainted;
    return c.error();
  }
  struct RestoreTaint {
    bool& v;
    bool saved;
    ~RestoreTaint() { v = saved; }
  } restore_taint{run.st.captures_tainted, captures_tainted};
  std::string unused;  // what a branch that is not taken expands to
  if (n.hard_error) {  // its yes/no strings did not parse: what of them did runs first
    for (size_t i = 0; i < n.args.size(); ++i) {
      const bool skip = skipping || (i == 0 ? !*c : *c);
      if (auto st = eval_seq(n.args[i], run, unused, skip); !st) return st;
    }
    return fail(n.deferred_error);
  }
  if (n.args.empty()) {
    if (!skipping && *c) out += "true";
  } else {
    bool skip_yes = skipping || !*c, skip_no = skipping || *c;
    if (auto st = eval_seq(n.args[0], run, skip_yes ? unused : out, skip_yes); !st) return st;
    if (n.args.size() > 1) {
      if (auto st = eval_seq(n.args[1], run, skip_no ? unused : out, skip_no); !st) return st;
    } else if (n.num == 1 && !*c && !skipping) {
      return fail("\"if\" failed and \"fail\" requested");
    }
  }
  return Ok{};
}

Status eval_seq(const Seq& seq, Run& run, std::string& out, bool skipping) {
  DepthGuard depth(run);
  if (depth.too_deep()) return fail("expansion nested too deeply");
  for (const Node& n : seq) {
    switch (n.kind) {
      case NodeKind::Text:
        out += n.text;
        break;
      case NodeKind::Var:
      case NodeKind::Header:
        if (auto st = eval_variable(n, run, out, skipping); !st) return st;
        break;
      case NodeKind::Capture:
        if (n.num >= 0 && static_cast<size_t>(n.num) < run.st.captures.size()) {
          out += run.st.captures[static_cast<size_t>(n.num)];
          run.tainted = run.tainted || (!skipping && run.st.captures_tainted);
        }
        break;
      case NodeKind::If:
        if (auto st = eval_if(n, run, out, skipping); !st) return st;
        break;
      case NodeKind::Item:
        if (auto st = eval_item(n, run, out, skipping); !st) return st;
        break;
      case NodeKind::Op: {
        std::string arg;
        const bool outer_tainted = run.tainted;
        run.tainted = false;
        if (auto st = eval_seq(n.args[0], run, arg, skipping); !st) return st;
        const bool arg_tainted = run.tainted;
        run.tainted = outer_tainted || (arg_tainted && !fresh_result(n.text)) ||
                      (n.text == "rfc2047" && run.st.headers_charset_tainted);  // its result names the charset
        if (!skipping && n.text == "expand" && arg_tainted && !arg.empty() && !n.hard_error)  // Exim 4.96's taint check
          return fail("internal expansion of \"" + arg + "\" failed: attempt to expand tainted string '" + arg + "'");
        if (n.hard_error) {  // an unknown operator, or an item whose arguments stopped parsing
          for (size_t i = 1; i < n.args.size(); ++i)
            if (auto st = eval_seq(n.args[i], run, arg, skipping); !st) return st;
          return fail(n.deferred_error);
        }
        if (!skipping) {
          if (!n.deferred_error.empty()) return fail(n.deferred_error);
          auto r = apply_operator(n, std::move(arg), run);
          if (!r) return r.error();
          out += *r;
        }
        break;
      }
    }
    if (out.size() > run.st.max_output) return fail("expansion result too long");
  }
  return Ok{};
}

Result<std::string> eval_to_string(const Seq& seq, Run& run, bool skipping) {
  std::string out;
  if (auto st = eval_seq(seq, run, out, skipping); !st) return st.error();
  return out;
}

Result<std::string> expand_again(const Expansion& e, Run& run) { return eval_to_string(e.seq, run, false); }

// Operators whose result is computed, not copied, from their argument: it
// carries none of the argument's taint (Exim allocates it fresh).
bool fresh_result(std::string_view op) {
  for (std::string_view f : {"md5", "sha1", "sha256", "sha2", "sha3", "strlen", "nhash", "listcount", "eval", "eval10",
                             "randint", "base32", "base62", "base32d", "base62d", "time_interval", "time_eval",
                             "ipv6norm", "ipv6denorm", "reverse_ip"})
    if (op == f) return true;
  return false;
}

bool seq_is_constant(const Seq& seq) {
  for (const Node& n : seq)
    if (n.kind != NodeKind::Text) return false;
  return true;
}

std::string seq_constant_text(const Seq& seq) { return seq.empty() ? std::string() : seq.front().text; }

}  // namespace detail

Result<std::shared_ptr<const Expansion>> compile_expansion(std::string_view text) {
  detail::Parser p;
  p.s = text;
  auto seq = p.parse_seq(false);
  if (!seq) seq = p.final_error(seq.error());
  if (!seq && !p.partial.empty() && !detail::seq_is_constant(p.partial)) {
    // Exim expands as it reads: what comes before the syntax error runs
    // first, and its own errors are the ones reported.
    detail::Node bad;
    bad.kind = detail::NodeKind::Op;
    bad.hard_error = true;
    bad.deferred_error = seq.error().text;
    bad.args.emplace_back();
    seq = std::move(p.partial);
    seq->push_back(std::move(bad));
  }
  if (!seq) return seq.error();
  auto e = std::make_shared<Expansion>();
  e->seq = std::move(*seq);
  return std::shared_ptr<const Expansion>(std::move(e));
}

bool is_constant(const Expansion& e) { return detail::seq_is_constant(e.seq); }

Result<std::string> expand(const Expansion& e, const ExpandContext& ctx, ExpandState& st) {
  detail::Run run{ctx, st};
  auto r = detail::eval_to_string(e.seq, run, false);
  st.last_tainted = run.tainted;
  return r;
}

Result<std::string> expand_string(std::string_view text, const ExpandContext& ctx, ExpandState& st) {
  auto e = compile_expansion(text);
  if (!e) return e.error();
  return expand(**e, ctx, st);
}

}  // namespace nougat::filterlang
