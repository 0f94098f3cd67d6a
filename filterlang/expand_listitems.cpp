// List items: ${map{list}{expr}}, ${filter{list}{cond}},
// ${reduce{list}{init}{expr}}, ${listextract{N}{list}{yes}{no}},
// ${sort{list}{comparator}{extractor}}. The per-item part is compiled once
// and evaluated with $item (and $value for reduce) bound; Exim 4.96 semantics.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang::detail {
namespace {

// Appends one element to a list with separator sep, doubling sep inside it (Exim's string_append_listele).
void append_listele(std::string& out, char sep, std::string_view item) {
  if (!out.empty()) out += sep;
  for (char c : item) {
    out += c;
    if (c == sep) out += sep;
  }
}

struct Bind {
  Run& run;
  const std::string* item;
  const std::string* value;
  Bind(Run& r, const std::string* i, const std::string* v) : run(r), item(r.item), value(r.value) {
    run.item = i;
    if (v) run.value = v;
  }
  ~Bind() {
    run.item = item;
    run.value = value;
  }
};

bool numeric_comparator(std::string_view cmp) { return cmp == "<" || cmp == "<=" || cmp == ">" || cmp == ">="; }

Result<bool> compare_items(std::string_view cmp, const std::string& a, const std::string& b) {
  if (numeric_comparator(cmp)) {
    auto x = parse_exim_int(a);
    if (!x) return x.error();
    auto y = parse_exim_int(b);
    if (!y) return y.error();
    if (cmp == "<") return *x < *y;
    if (cmp == "<=") return *x <= *y;
    if (cmp == ">") return *x > *y;
    return *x >= *y;
  }
  bool ci = cmp.size() == 3 && cmp[2] == 'i';
  int order = ci ? exim_strcmpic(a, b) : a.compare(b);
  std::string_view base = cmp.substr(0, 2);
  if (base == "lt") return order < 0;
  if (base == "le") return order <= 0;
  if (base == "gt") return order > 0;
  if (base == "ge") return order >= 0;
  return fail("\"" + std::string(cmp) + "\" is not a suitable comparator for sort");
}

// ${sort{list}{comparator}{extractor}}: stable insertion sort on the extracted keys, as Exim does.
Status eval_sort(const Node& n, Run& run, std::string& out, const std::vector<std::string>& items, char sep) {
  auto cmp = eval_to_string(n.args[1], run, false);
  if (!cmp) return cmp.error();
  // The comparator, read as Exim's identify_operator() reads a condition
  // name: "<", "<=", ">", ">=" (what follows is ignored: "<i" is "<"), or
  // letters, digits and '_' ("lt", "gei"); no white space first.
  const std::string& raw = *cmp;
  std::string c;
  if (!raw.empty() && (raw[0] == '<' || raw[0] == '>' || raw[0] == '=')) {
    c = raw.substr(0, raw.size() > 1 && raw[1] == '=' ? 2 : 1);
  } else {
    size_t e = 0;
    while (e < raw.size() && (std::isalnum(static_cast<unsigned char>(raw[e])) || raw[e] == '_')) ++e;
    c = raw.substr(0, e);
  }
  if (c.empty()) return fail("condition name expected, but found \"" + raw.substr(0, 16) + "\"");
  static constexpr std::string_view kComparators[] = {"<", "<=", ">", ">=", "lt", "lti", "le", "lei",
                                                      "gt", "gti", "ge", "gei"};
  if (std::find(std::begin(kComparators), std::end(kComparators), c) == std::end(kComparators)) {
    // Exim's conditions that filters do not have still count as known here.
    static constexpr std::string_view kOtherExim[] = {"acl", "crypteq", "forall_json", "forall_jsons", "forany_json",
                                                      "forany_jsons", "inbound_srs", "ldapauth", "match_ip", "pam",
                                                      "pwcheck", "radius", "saslauthd"};
    bool known = known_condition(c) || std::find(std::begin(kOtherExim), std::end(kOtherExim), c) != std::end(kOtherExim);
    return fail(known ? "comparator not handled for sort" : "");  // Exim sets no text for an unknown name
  }
  std::vector<std::pair<std::string, std::string>> sorted;  // (key, item), insertion sort like Exim
  for (const std::string& item : items) {
    Bind b(run, &item, nullptr);
    auto key = eval_to_string(n.args[2], run, false);
    if (!key) return key.error();
    if (key->empty()) return fail("field-extract in sort: \"" + n.source + "\"");
    size_t pos = sorted.size();
    for (size_t i = 0; i < sorted.size(); ++i) {
      auto before = compare_items(c, *key, sorted[i].first);
      // A comparison that fails (a key that is no number for "<") is not
      // "before": Exim carries on, and such items keep their order.
      if (!before && !numeric_comparator(c)) return before.error();
      if (before && *before) {
        pos = i;
        break;
      }
    }
    sorted.insert(sorted.begin() + static_cast<long>(pos), {*key, item});
  }
  std::string result;
  for (const auto& [k, item] : sorted) append_listele(result, sep, item);
  out += result;
  return Ok{};
}

}  // namespace

Status eval_list_item(const Node& n, Run& run, std::string& out, bool skipping) {
  bool list_tainted = false;
  auto list = eval_tracked(n.args[0], run, skipping, list_tainted);
  if (!list) return list.error();
  TaintScope taint(run, list_tainted, run.value_tainted);  // $value is reduce's to set
  if (n.hard_error && n.cond) {  // ${filter} that did not end: its condition was read once before the error
    const std::string empty;
    Bind b(run, &empty, &empty);
    if (auto r = eval_cond(*n.cond, run, true); !r) return fail(r.error().text + " inside \"filter\" item");
    return fail(n.deferred_error);
  }
  char sep = ':';
  auto items = split_list(*list, &sep);
  const std::string empty;
  if (skipping) {
    Bind b(run, &empty, &empty);
    for (size_t i = 1; i < n.args.size(); ++i) {
      std::string dummy;
      if (auto st = eval_seq(n.args[i], run, dummy, true); !st) return st;
    }
    if (n.cond) {
      auto r = eval_cond(*n.cond, run, true);
      if (!r) return r.error();
    }
    return Ok{};
  }
  // ${map} and ${reduce}: Exim reads the expression once in skipping mode
  // (so its errors show for an empty list too), and names the item in every
  // error from it.
  auto inside = [&](const Error& e) { return fail(e.text + " inside \"" + n.text + "\" item"); };
  if (n.text == "map" || n.text == "reduce") {
    Bind b(run, &empty, &empty);
    std::string dummy;
    if (auto st = eval_seq(n.args.back(), run, dummy, true); !st) return inside(st.error());
  }
  if (n.text == "map" || n.text == "filter") {
    std::string result;
    for (const std::string& item : items) {
      Bind b(run, &item, nullptr);
      if (n.text == "filter") {
        const bool outer = run.tainted;
        auto r = eval_cond(*n.cond, run, false);
        run.tainted = outer;  // the test reads, the result is the item
        if (!r) return r.error();
        if (*r) append_listele(result, sep, item);
      } else {
        auto r = eval_to_string(n.args[1], run, false);
        if (!r) return inside(r.error());
        append_listele(result, sep, *r);
      }
      if (result.size() > run.st.max_output) return fail("expansion result too long");
    }
    if (n.text == "filter") run.tainted = run.tainted || list_tainted;
    out += result;
    return Ok{};
  }
  if (n.text == "reduce") {
    bool init_tainted = false;
    auto init = eval_tracked(n.args[1], run, false, init_tainted);
    if (!init) return init.error();
    run.value_tainted = init_tainted;  // then each round's result's
    std::string value = *init;
    for (const std::string& item : items) {
      Bind b(run, &item, &value);
      bool round_tainted = false;
      auto r = eval_tracked(n.args[2], run, false, round_tainted);
      if (!r) return inside(r.error());
      value = std::move(*r);
      run.value_tainted = round_tainted;
      if (value.size() > run.st.max_output) return fail("expansion result too long");
    }
    run.tainted = run.tainted || run.value_tainted;
    out += value;
    return Ok{};
  }
  if (n.text == "sort") {
    run.tainted = run.tainted || list_tainted;
    return eval_sort(n, run, out, items, sep);
  }
  return fail("unknown list item \"" + n.text + "\"");
}

// ${listextract{N}{list}{yes}{no}}: arg order differs (number first).
Status eval_listextract(const Node& n, Run& run, std::string& out, bool skipping) {
  bool num_tainted = false;  // the number picks, it does not go into the result
  auto num = eval_tracked(n.args[0], run, skipping, num_tainted);
  if (!num) return num.error();
  bool list_tainted = false;
  auto list = eval_tracked(n.args[1], run, skipping, list_tainted);
  if (!list) return list.error();
  TaintScope taint(run, run.item_tainted, list_tainted);
  const std::string empty;
  if (skipping) {
    Bind b(run, nullptr, &empty);
    for (size_t i = 2; i < n.args.size(); ++i) {
      std::string dummy;
      if (auto st = eval_seq(n.args[i], run, dummy, true); !st) return st;
    }
    return Ok{};
  }
  std::string t = *num;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.erase(0, 1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  char* end = nullptr;
  errno = 0;
  long field = std::strtol(t.c_str(), &end, 10);
  if (t.empty() || *end != 0)
    return fail("first argument of \"listextract\" must be numeric");
  // As Exim: the number as a C int (wrapped); one too big for a long is no field.
  field = errno == ERANGE ? 0 : static_cast<int32_t>(static_cast<uint32_t>(field));
  auto items = split_list(*list);
  long k = static_cast<long>(items.size());
  std::optional<std::string> v;
  if (field > 0 && field <= k) v = items[static_cast<size_t>(field - 1)];
  if (field < 0 && field >= -k) v = items[static_cast<size_t>(k + field)];  // (-field may overflow)
  if (n.args.size() == 2) {
    if (v) out += *v;
    run.tainted = run.tainted || (v && list_tainted);
    return Ok{};
  }
  const Seq* branch = v ? &n.args[2] : n.args.size() > 3 ? &n.args[3] : nullptr;
  if (!v && !branch && n.num == 1) return fail("\"listextract\" failed and \"fail\" requested");
  Bind b(run, nullptr, v ? &*v : &empty);
  if (branch) {
    auto r = eval_to_string(*branch, run, false);
    if (!r) return r.error();
    out += *r;
  }
  return Ok{};
}

}  // namespace nougat::filterlang::detail
