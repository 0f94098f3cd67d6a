// Exim lists and the list conditions: forany/forall (and their JSON
// forms), inlist/inlisti, match_ip, and match_domain/match_local_part/
// match_address (patterns: exact, "*suffix", "^regex", "@" and "@[]" for
// domains, "!" negation with Exim's "a list ending in a negated item
// matches what nothing else did"). Named lists and lookups fail: filters
// have neither.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang::detail {
namespace {

bool ieq(std::string_view a, std::string_view b) { return lc(a) == lc(b); }

// One pattern of a domain or local-part list. On a match, `groups` gets
// what Exim puts in $1..: a regex's groups, or the part a '*' stood for.
bool match_pattern(std::string_view subject, std::string_view pat, bool domainish, Run& run, bool& errored,
                   Error& err, std::vector<std::string>* groups = nullptr) {
  if (!pat.empty() && pat[0] == '^') {
    auto re = compile_regex(pat, true);
    if (!re->ok()) {
      errored = true;
      err = fail("regular expression error in \"" + std::string(pat) + "\": " + re->error());
      return false;
    }
    std::vector<size_t> ov;
    std::string e;
    const int rc = re->match(subject, 0, ov, e);
    if (rc < 0) return false;
    if (groups)
      for (int i = 1; i < rc; ++i)
        groups->push_back(ov[2 * i] == static_cast<size_t>(-1) ? std::string()
                                                               : std::string(subject.substr(ov[2 * i], ov[2 * i + 1] - ov[2 * i])));
    return true;
  }
  if (domainish && pat == "@") {  // the local host's name
    auto host = run.ctx.variable("primary_hostname");
    return host && ieq(subject, *host);
  }
  if (domainish && pat == "@[]") {  // a domain literal of one of the host's addresses
    if (subject.size() < 2 || (subject.front() != '[' && subject.back() != ']')) return false;  // sic: Exim's test
    std::string_view inner = subject.substr(1, subject.size() - 2);
    for (const std::string& a : run.ctx.interface_addresses())
      if (ieq(inner, a)) return true;
    return false;
  }
  if (domainish && pat.starts_with("@mx_")) {
    errored = true;
    err = fail("\"" + std::string(pat) + "\" needs DNS, which nougat filters do not use");
    return false;
  }
  if (!pat.empty() && pat[0] == '*') {  // "*suffix", in domain and local-part lists alike
    std::string_view suf = pat.substr(1);
    if (subject.size() < suf.size() || !ieq(subject.substr(subject.size() - suf.size()), suf)) return false;
    if (groups) groups->emplace_back(subject.substr(0, subject.size() - suf.size()));
    return true;
  }
  return ieq(subject, pat);
}

// An item of a host list, for match_ip: true/false, or nullopt for an item
// that is no address (a host name, "1.2.3"): Exim's "unknown" ones.
std::optional<bool> match_host_item(const ParsedIp& subject, std::string_view subject_text, std::string_view item,
                                    const Run& run) {
  if (item == "*") return true;
  if (item.empty()) return subject_text.empty();
  if (subject_text.empty()) return false;
  if (item == "@[]") {
    for (const std::string& a : run.ctx.interface_addresses())
      if (subject_text == a) return true;
    return false;
  }
  ParsedIp net = parse_ip(item, true);
  if (!net.family) return std::nullopt;
  ParsedIp addr = subject;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (addr.family == 6 && std::equal(kMapped, kMapped + 12, addr.bytes)) {  // ::ffff:a.b.c.d is a.b.c.d
    addr.family = 4;
    std::copy(addr.bytes + 12, addr.bytes + 16, addr.bytes);
  }
  if (addr.family != net.family) return false;
  const int width = net.family == 4 ? 32 : 128;
  const int bits = net.mask_offset == std::string::npos || net.mask < 0 || net.mask > width ? width : net.mask;
  return masked_equal(addr.bytes, net.bytes, width / 8, bits);
}

// Exim's list item prelude: one '!' negates (a second is part of the item);
// named lists, files and lookups are refused, since filters have none.
std::optional<Error> read_list_item(std::string_view& item, bool& negated, const std::string& list, std::string_view cond) {
  negated = !item.empty() && item[0] == '!';
  if (negated) {
    item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item[0]))) item.remove_prefix(1);
  }
  if (item.starts_with("+")) return fail("unable to complete match against \"" + list + "\": NULL");  // no named lists
  if (item.starts_with("/"))
    return fail("file lists are not supported in nougat filters (\"" + std::string(item) + "\" in " + std::string(cond) + ")");
  if (!item.starts_with("^") && !item.starts_with("*") && item.find(';') != std::string_view::npos)
    return fail("lookups are not supported in nougat filters (\"" + std::string(item) + "\" in " + std::string(cond) + ")");
  return std::nullopt;
}

Result<bool> eval_match_ip(const std::string& subject, const std::string& list_text, Run& run) {
  ParsedIp ip;
  if (!subject.empty()) {
    ip = parse_ip(subject, false);
    if (!ip.family) return fail("\"" + subject + "\" is not an IP address");
  }
  // The list was read without expanding it; Exim expands it whole, then splits it.
  auto e = compile_expansion(list_text);
  Result<std::string> list = e ? expand_again(**e, run) : Result<std::string>(e.error());
  if (!list) {
    if (list.error().text.ends_with("failed and \"fail\" requested")) return false;  // a forced failure: no match
    return fail("unable to complete match against \"" + list_text + "\": NULL");
  }
  bool include_unknown = false, ignore_unknown = false, last_negated = false;
  for (const std::string& raw : split_list(*list)) {
    std::string_view item = raw;
    if (item == "+include_unknown" || item == "+ignore_unknown" || item == "+include_defer" || item == "+ignore_defer") {
      include_unknown = include_unknown || item == "+include_unknown";
      ignore_unknown = ignore_unknown || item == "+ignore_unknown";
      continue;
    }
    bool neg = false;
    if (auto err = read_list_item(item, neg, list_text, "match_ip")) return *err;
    last_negated = neg;
    std::optional<bool> m = match_host_item(ip, subject, item, run);
    if (!m) {  // a host name: Exim would look it up; without +ignore_unknown that ends the list
      if (ignore_unknown) continue;
      return include_unknown;
    }
    if (*m) return !neg;
  }
  return last_negated;
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
  bool list_tainted = false;
  auto list = eval_tracked(c.args[0], run, skipping, list_tainted);
  if (!list) return list.error();
  TaintScope taint(run, list_tainted, run.value_tainted);
  const bool any = c.name.starts_with("forany");
  auto inside = [&](const Error& e) { return fail(e.text + " inside \"" + c.name + "\" condition"); };
  const std::string* saved = run.item;
  struct RestoreItem {
    Run& run;
    const std::string* item;
    ~RestoreItem() { run.item = item; }
  } restore{run, saved};
  // Exim reads the condition once without deciding it (its errors show for an empty list too).
  const std::string empty;
  run.item = &empty;
  if (auto r = eval_cond(c.subs[0], run, true); !r) return inside(r.error());
  if (skipping) return false;
  std::vector<std::string> items;
  const bool json = c.name.ends_with("_json") || c.name.ends_with("_jsons");
  std::optional<std::string_view> array;
  if (json) {  // a JSON array, split as Exim 4.96's json_nextinlist() does (it stops at an empty element)
    array = dewrap(*list, '[', ']');
    if (!array)  // Exim 4.96 crashes here
      return fail(fmt::format("missing '{}' wrapping array for {}", dewrap_missing(*list, '[', ']'), c.name));
  } else {
    items = split_list(*list);
  }
  bool result = false;  // Exim: forall over an empty list is false too
  for (size_t i = 0;; ++i) {
    std::string item;
    if (json) {
      auto next = json_next(*array);
      if (!next) break;
      item = std::string(*next);
      if (c.name.back() == 's') {  // _jsons: a string's quotes off, as each item comes
        auto text = dewrap(item, '"', '"');
        if (!text) return fail("missing '\"' wrapping string result for extract jsons");  // sic, as Exim
        item = std::string(*text);
      }
    } else {
      if (i >= items.size()) break;
      item = std::move(items[i]);
    }
    run.item = &item;
    auto r = eval_cond(c.subs[0], run, false);
    if (!r) return inside(r.error());
    result = *r;
    if (*r == any) break;
  }
  return result;
}

Result<bool> eval_matchlist(const Cond& c, const std::string& subject, const std::string& list, Run& run) {
  const std::string& n = c.name;
  if (n == "inlist" || n == "inlisti") {  // plain strings: no negation, no patterns
    for (const std::string& item : split_list(list))
      if (n == "inlist" ? subject == item : ieq(subject, item)) {
        run.cond_value = item;  // $value in the if's branches: the list's own text
        run.cond_value_tainted = run.list_tainted;
        return true;
      }
    return false;
  }
  if (n == "match_ip") return eval_match_ip(subject, list, run);
  // match_address: the subject's local part and domain (Exim needs the '@')
  const size_t at = subject.rfind('@');
  if (n == "match_address" && at == std::string::npos) return false;
  bool last_negated = false;
  for (const std::string& raw : split_list(list)) {
    std::string_view pat = raw;
    bool neg = false;
    if (auto err = read_list_item(pat, neg, list, n)) return *err;
    last_negated = neg;
    bool m = false;
    bool errored = false;
    Error err;
    std::vector<std::string> groups;
    if (n == "match_domain") {
      m = match_pattern(subject, pat, true, run, errored, err, &groups);
    } else if (n == "match_local_part") {
      m = match_pattern(subject, pat, false, run, errored, err, &groups);
    } else if (!pat.empty() && pat[0] == '^') {  // match_address: a regex sees the whole address
      m = match_pattern(subject, pat, false, run, errored, err);
    } else {
      const std::string_view local = std::string_view(subject).substr(0, at), dom = std::string_view(subject).substr(at + 1);
      // local@domain, "*suffix@domain"; "@@" and "@@[]" end in the local host's own domain patterns
      size_t pat_at = pat.ends_with("@@[]") ? pat.size() - 4 : pat.ends_with("@@") ? pat.size() - 2 : pat.rfind('@');
      if (pat_at == std::string_view::npos) {
        m = match_pattern(dom, pat, true, run, errored, err);  // a bare domain pattern
      } else {
        const std::string_view pl = pat.substr(0, pat_at), pd = pat.substr(pat_at + 1);
        const bool lm = pl == "*" || (!pl.empty() && pl[0] == '*'
                                          ? local.size() >= pl.size() - 1 && ieq(local.substr(local.size() - (pl.size() - 1)), pl.substr(1))
                                          : ieq(local, pl));
        m = lm && match_pattern(dom, pd, true, run, errored, err);
      }
    }
    if (errored) return err;
    if (m) {  // $value is the item that matched (negated or not); $0 the subject, $1.. what its pattern took
      run.cond_value = pat == "@" ? run.ctx.variable("primary_hostname").value_or("") : std::string(pat);
      run.cond_value_tainted = false;  // the filter's own text
      if (n != "match_address") {
        const bool regex = pat.starts_with("^");  // Exim lowercases the subject for the other kinds
        run.st.captures = {regex ? subject : lc(subject)};
        for (const std::string& g : groups) run.st.captures.push_back(regex ? g : lc(g));
        run.st.captures_tainted = run.subject_tainted;
      }
      return !neg;
    }
  }
  if (n != "match_address") {  // a domain or local-part list that matched nothing unsets them
    run.cond_value = std::string();
    run.cond_value_tainted = false;
    run.st.captures.clear();
  }
  return last_negated;
}

}  // namespace nougat::filterlang::detail
