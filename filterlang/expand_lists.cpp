// Exim lists and the list conditions: forany/forall, inlist/inlisti and
// simplified match_domain/match_local_part/match_address (patterns: exact
// caseless, "*suffix", "^regex", "!" negation; no named lists or lookups).
#include <cctype>

#include <fmt/format.h>

#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang::detail {
namespace {

bool ieq(std::string_view a, std::string_view b) { return lc(a) == lc(b); }

bool match_pattern(std::string_view subject, std::string_view pat, bool domainish, Run& run, bool& errored,
                   Error& err) {
  if (!pat.empty() && pat[0] == '^') {
    auto re = compile_regex(pat, true);
    if (!re->ok()) {
      errored = true;
      err = fail("regular expression error in \"" + std::string(pat) + "\": " + re->error());
      return false;
    }
    std::vector<size_t> ov;
    std::string e;
    return re->match(subject, 0, ov, e) >= 0;
  }
  (void)run;
  if (domainish && !pat.empty() && pat[0] == '*') {
    std::string_view suf = pat.substr(1);
    return subject.size() >= suf.size() && ieq(subject.substr(subject.size() - suf.size()), suf);
  }
  return ieq(subject, pat);
}

}  // namespace

std::vector<std::string> split_list(std::string_view list, char* sep_out) {
  char sep = ':';
  size_t i = 0;
  while (i < list.size() && std::isspace(static_cast<unsigned char>(list[i]))) ++i;
  // "<" and any punctuation or control character (a newline too) names the
  // separator, as in Exim's string_nextinlist(); white space is skipped
  // unless it is the separator.
  if (i + 1 < list.size() && list[i] == '<' &&
      (std::ispunct(static_cast<unsigned char>(list[i + 1])) || std::iscntrl(static_cast<unsigned char>(list[i + 1])))) {
    sep = list[i + 1];
    i += 2;
  }
  if (sep_out) *sep_out = sep;
  std::vector<std::string> out;
  while (i < list.size()) {
    while (i < list.size() && std::isspace(static_cast<unsigned char>(list[i])) && list[i] != sep) ++i;
    std::string item;
    while (i < list.size()) {
      if (list[i] == sep) {
        if (i + 1 < list.size() && list[i + 1] == sep) {
          item += sep;
          i += 2;
          continue;
        }
        break;
      }
      item += list[i++];
    }
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.pop_back();
    bool at_end = i >= list.size();
    if (!at_end) ++i;
    if (item.empty() && at_end) break;
    out.push_back(std::move(item));
  }
  return out;
}

Result<bool> eval_forany(const Cond& c, Run& run, bool skipping) {
  auto list = eval_to_string(c.args[0], run, skipping);
  if (!list) return list.error();
  bool any = c.name.starts_with("forany");
  const std::string* saved = run.item;
  if (skipping) {
    std::string empty;
    run.item = &empty;
    auto r = eval_cond(c.subs[0], run, true);
    run.item = saved;
    if (!r) return r;
    return false;
  }
  std::vector<std::string> items;
  if (c.name.ends_with("_json") || c.name.ends_with("_jsons")) {
    // A JSON array, split as Exim 4.96's json_nextinlist() does (it stops at
    // an empty element); _jsons takes each string's quotes off.
    const bool strings = c.name.back() == 's';
    auto array = dewrap(*list, '[', ']');
    if (!array)  // Exim 4.96 crashes here
      return fail(fmt::format("missing '{}' wrapping array for {}", dewrap_missing(*list, '[', ']'), c.name));
    while (auto item = json_next(*array)) {
      if (!strings) {
        items.emplace_back(*item);
        continue;
      }
      auto text = dewrap(*item, '"', '"');
      if (!text) return fail("missing '\"' wrapping string result for extract jsons");  // sic, as Exim
      items.emplace_back(*text);
    }
  } else {
    items = split_list(*list);
  }
  bool result = !any && !items.empty();  // Exim: forall over an empty list is false
  for (const std::string& item : items) {
    run.item = &item;
    auto r = eval_cond(c.subs[0], run, false);
    run.item = saved;
    if (!r) return r;
    if (*r == any) {
      result = any;
      break;
    }
  }
  return result;
}

Result<bool> eval_matchlist(const Cond& c, const std::string& subject, const std::string& list, Run& run) {
  const std::string& n = c.name;
  for (const std::string& raw : split_list(list)) {
    std::string_view pat = raw;
    bool neg = false;
    while (!pat.empty() && pat[0] == '!') {
      neg = !neg;
      pat.remove_prefix(1);
      while (!pat.empty() && std::isspace(static_cast<unsigned char>(pat[0]))) pat.remove_prefix(1);
    }
    bool m = false;
    bool errored = false;
    Error err;
    if (n == "inlist") {
      m = subject == pat;
    } else if (n == "inlisti") {
      m = ieq(subject, pat);
    } else if (n == "match_domain") {
      m = match_pattern(subject, pat, true, run, errored, err);
    } else if (n == "match_local_part") {
      m = match_pattern(subject, pat, false, run, errored, err);
    } else {  // match_address: local@domain patterns, "*@dom", "@dom", or a bare domain pattern
      size_t at = subject.rfind('@');
      std::string_view local = at == std::string::npos ? std::string_view(subject) : std::string_view(subject).substr(0, at);
      std::string_view dom = at == std::string::npos ? std::string_view() : std::string_view(subject).substr(at + 1);
      if (!pat.empty() && pat[0] == '^') {
        m = match_pattern(subject, pat, false, run, errored, err);
      } else if (size_t pat_at = pat.rfind('@'); pat_at != std::string_view::npos) {
        std::string_view pl = pat.substr(0, pat_at), pd = pat.substr(pat_at + 1);
        bool lm = pl.empty() || pl == "*" || (pl[0] == '*' ? local.size() >= pl.size() - 1 &&
                                                              ieq(local.substr(local.size() - (pl.size() - 1)), pl.substr(1))
                                                        : local == pl);
        m = lm && match_pattern(dom, pd, true, run, errored, err);
      } else {
        m = match_pattern(dom, pat, true, run, errored, err);
      }
    }
    if (errored) return err;
    if (m) return !neg;
  }
  return false;
}

}  // namespace nougat::filterlang::detail
