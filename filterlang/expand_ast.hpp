// Internal to the expander (expand*.cpp): the compiled form of an expansion
// string and the helpers the item families share. Not for other users of
// filterlang: the public interface is expand.hpp.
//
// A compiled string is a Seq of Nodes (concatenated at run time). Items,
// operators and conditions keep their sub-strings as Seqs. Evaluation runs
// in "skipping" mode for branches that are not taken, doing only what Exim
// does there, so error texts and order follow Exim's one-pass expander: in
// skipping mode literal text and headers still expand, variables are only
// checked to exist (and expand to ""), operators and conditions do nothing,
// but ${sg} still compiles its regex and ${length}/${substr}/${hash}/${nhash}
// still check their numbers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filterlang/expand.hpp"

namespace nougat::filterlang::detail {

struct Node;
struct Cond;
using Seq = std::vector<Node>;

// A PCRE2 pattern compiled once (JIT when available, match/depth limits on).
class Regex {
 public:
  // Compiles; on failure error() holds Exim's message (no exception).
  Regex(std::string_view pattern, bool caseless);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  bool ok() const { return code_ != nullptr; }
  const std::string& error() const { return error_; }
  const std::string& pattern() const { return pattern_; }
  // Matches subject from offset start. Returns -1 on no match, -2 on a match
  // error (limit hit: message in err), else the number of pairs in ovector.
  int match(std::string_view subject, size_t start, std::vector<size_t>& ovector, std::string& err) const;

 private:
  std::string pattern_;
  std::string error_;
  void* code_ = nullptr;  // pcre2_code_8*
};

// Compiles a pattern, or returns the cached error as an Error at run time.
std::shared_ptr<const Regex> compile_regex(std::string_view pattern, bool caseless);

enum class NodeKind : uint8_t { Text, Var, Header, Capture, Item, Op, If };
enum class HeaderKind : uint8_t { Decoded, Binary, Raw };

struct Node {
  NodeKind kind = NodeKind::Text;
  std::string text;           // Text: literal; Var: name; Header: field name; Item/Op: canonical name
  int num = 0;                // Capture: index; Header: HeaderKind; Op: count of params
  bool braced = false;        // Var: written as ${name} (different error text)
  std::vector<long> params;   // Op/Item params given with underscores (length_3, substr_1_2)
  std::vector<Seq> args;      // Item: arguments in braces; Op: args[0] = the operand
  std::shared_ptr<const Cond> cond;   // If / conditions using a constant regex
  std::shared_ptr<const Regex> re;    // constant regex (sg, match)
  std::string deferred_error;         // Op: Exim reports this only when the operator is actually applied
  bool hard_error = false;            // Op: ... or once its argument is expanded, even when skipping (an unknown name)
  std::string source;                 // Item sort: its extractor as written (Exim's error quotes it)
};

enum class CondKind : uint8_t { Str2, Num2, Match, Def, Not, And, Or, Bool, One, ForAny, Const, MatchList };

struct Cond {
  CondKind kind = CondKind::Str2;
  std::string name;            // condition name as written ("eq", "<=", "match", "def", ...)
  std::vector<Seq> args;       // string operands
  std::vector<Cond> subs;      // and/or/not/forany children
  std::string def_name;        // def:NAME
  int def_header = -1;         // def:h_x: → HeaderKind, else -1
  bool constant_value = false; // Const
  std::shared_ptr<const Regex> re;  // Match with a constant pattern
};

// Run-time state shared by the evaluators.
struct Run {
  const ExpandContext& ctx;
  ExpandState& st;
  int depth = 0;
  const std::string* item = nullptr;  // $item inside forany/forall/map/filter/reduce
  const std::string* value = nullptr; // $value inside reduce/extract
  // Exim's taint: whether message data went into what is being built (a
  // conservative flag, reset where a result starts and where a condition
  // is decided); $item and $value carry their source's.
  bool tainted = false;
  bool item_tainted = false;
  bool value_tainted = false;
  bool subject_tainted = false;  // a condition's first operand, for the captures a match sets
  bool list_tainted = false;     // its second operand (inlist's list)
  std::optional<std::string> cond_value = std::nullopt;  // $value a list condition set, for its ${if}'s branches
  bool cond_value_tainted = false;
};

using Status = Result<Ok>;

// One level of evaluation (a sequence, a condition): counts against the
// limit that keeps nesting — ${expand:} and conditions included — off the end of the stack.
class DepthGuard {
 public:
  static constexpr int kLimit = 400;
  explicit DepthGuard(Run& run) : run_(run) { ++run_.depth; }
  ~DepthGuard() { --run_.depth; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;
  bool too_deep() const { return run_.depth > kLimit; }

 private:
  Run& run_;
};

// Core (expand.cpp).
Status eval_seq(const Seq& seq, Run& run, std::string& out, bool skipping);
Status eval_if(const Node& n, Run& run, std::string& out, bool skipping);
Result<std::string> eval_to_string(const Seq& seq, Run& run, bool skipping);
Result<std::string> expand_again(const Expansion& e, Run& run);
bool fresh_result(std::string_view op);  // an operator whose result carries no taint

// Evaluates a sequence and says whether what it made holds message data,
// leaving the enclosing result's taint alone (the caller decides).
inline Result<std::string> eval_tracked(const Seq& seq, Run& run, bool skipping, bool& tainted) {
  const bool outer = run.tainted;
  run.tainted = false;
  auto r = eval_to_string(seq, run, skipping);
  tainted = run.tainted;
  run.tainted = outer;
  return r;
}

// The taint $item and $value carry while a list item runs.
struct TaintScope {
  Run& run;
  bool item, value;
  TaintScope(Run& r, bool item_tainted, bool value_tainted) : run(r), item(r.item_tainted), value(r.value_tainted) {
    run.item_tainted = item_tainted;
    run.value_tainted = value_tainted;
  }
  ~TaintScope() {
    run.item_tainted = item;
    run.value_tainted = value;
  }
};  // ${expand:}: same variables, same depth count
bool seq_is_constant(const Seq& seq);
std::string seq_constant_text(const Seq& seq);  // only when seq_is_constant

// Parser (expand_parse.cpp).
struct Parser {
  std::string_view s;
  size_t pos = 0;
  int depth = 0;
  bool header_without_colon = false;  // a $h_ name took in a '}' (Exim's hint)
  bool honour_dollar = true;          // false: '$' is text (match_ip's list, expanded item by item)
  Seq partial;                        // after a failure: the nodes of the failing level complete before it
  Result<Seq> parse_seq(bool brace_terminated);
  Status parse_dollar(Seq& out);
  Status parse_braced(Seq& out);
  Status parse_if(Seq& out);
  Status parse_yesno(Node& n, std::string_view item);
  Error deferred(Seq& out, Node n, Error e);  // keeps an item that failed at its end, to run its arguments first
  Status parse_extract(Seq& out, const std::string& name);
  Status parse_filter(Seq& out);
  Status parse_map(Seq& out, const std::string& name);  // map, reduce
  Status parse_group(Cond& c);   // and{..} or{..}
  Status parse_forany(Cond& c);  // forany{list}{cond} forall{..}{..}
  Status parse_def(Cond& c);     // def:name
  Result<Cond> parse_cond();
  Status read_subs(std::vector<Seq>& args, int min, int max, std::string_view name, bool check_end,
                   std::string* last_source = nullptr);
  void skip_white();
  Error final_error(Error e) const;  // the text Exim ends with for a syntax error met here
};

// Variables and headers (expand_vars.cpp).
Status eval_variable(const Node& n, Run& run, std::string& out, bool skipping);
std::string header_value(const ExpandContext& ctx, std::string_view name, HeaderKind kind, bool* exists,
                         const std::string& charset = "UTF-8");
bool is_header_var(std::string_view name, HeaderKind* kind, size_t* prefix_len);

// Operators ${op:...} (expand_ops.cpp).
// Resolves the operator name (aliases, _N parameters) into n.text/n.params, or fails with Exim's text.
Status prepare_operator(std::string_view name, Node& n);
Result<std::string> apply_operator(const Node& n, std::string arg, Run& run);
std::optional<Result<std::string>> extra_operator(const Node& n, const std::string& arg);  // (expand_ops_extra.cpp)
// IP addresses (expand_ip.cpp).
struct ParsedIp {
  int family = 0;  // 0: not an address; 4 or 6
  unsigned char bytes[16] = {};
  int mask = 0;
  size_t mask_offset = std::string::npos;  // of the '/', when a mask was given
};
ParsedIp parse_ip(std::string_view s, bool mask_allowed);  // Exim's string_is_ip_address()
std::string ipv6_norm_text(const unsigned char b[16]);
unsigned char mask_byte(int bits, int i);  // byte i of a /bits network mask
bool masked_equal(const unsigned char* a, const unsigned char* b, int nbytes, int bits);
std::optional<Result<std::string>> idn_operator(const std::string& op, const std::string& arg);  // utf8_* (expand_idn.cpp)
std::optional<Result<std::string>> ip_operator(const Node& n, const std::string& arg);  // ipv6norm ipv6denorm mask
std::string hex_text(const unsigned char* p, size_t n, bool upper);
inline constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
std::string base64_text(std::string_view s, const char* alphabet = kBase64Alphabet, bool pad = true);
Result<std::string> hmac_item(const std::string& algo, const std::string& secret, const std::string& text);

// Items ${item{...}...} (expand_items.cpp).
bool known_item(std::string_view name, int* min_args, int* max_args);
Status prepare_item(Node& n);
Result<std::string> numeric_item(std::string_view name, std::string_view s, long v1, long v2);  // length/substr/hash/nhash  // after parsing: precompile constant regexes etc.
Status eval_item(const Node& n, Run& run, std::string& out, bool skipping);
Result<std::string> prvs_item(const std::vector<std::string>& args, Run& run);         // (expand_signing.cpp)
Status prvscheck_item(const Node& n, Run& run, std::string& out, bool skipping);
Result<std::string> srs_encode_item(const std::vector<std::string>& args, Run& run);
Result<bool> inbound_srs(const std::string& local_part, const std::string& secret, Run& run);
Result<std::string> imap_folder(std::string_view name, std::string_view sep, std::string_view specials,
                                const std::string& charset);  // ${imapfolder} (expand_imap.cpp)
std::optional<std::string_view> dewrap(std::string_view s, char open, char close);  // Exim's dewrap(), white space before
char dewrap_missing(std::string_view s, char open, char close);                    // which of the two dewrap() missed
std::optional<std::string_view> json_next(std::string_view& list);                 // Exim 4.96's json_nextinlist()

// Conditions (expand_cond.cpp).
bool known_condition(std::string_view name);
int exim_strcmpic(std::string_view s, std::string_view t);  // Exim's, prefix quirk included (expand_cond.cpp)
Result<bool> eval_cond(const Cond& c, Run& run, bool skipping);
Result<bool> eval_leaf(const Cond& c, const std::vector<std::string>& operands, Run& run);
Result<bool> eval_forany(const Cond& c, Run& run, bool skipping);                                  // (expand_lists.cpp)
Result<bool> eval_matchlist(const Cond& c, const std::string& subject, const std::string& list, Run& run);  // (expand_lists.cpp)
std::vector<std::string> split_list(std::string_view list, char* sep_out = nullptr);
Status eval_list_item(const Node& n, Run& run, std::string& out, bool skipping);    // map filter reduce sort
Status eval_listextract(const Node& n, Run& run, std::string& out, bool skipping);  // (expand_listitems.cpp)  // Exim list: ':' separator, "::" escapes, "<;" changes it

// Shared helpers (expand_util.cpp).
std::string rfc2047_decode(std::string_view in, const char* target_charset);  // nullptr: no conversion (expand_vars.cpp)
Result<std::string> base64_decode(std::string_view in);          // strict; error text unused
Result<std::string> exim_base64_decode(std::string_view in);     // ${base64d:}, as Exim's b64decode()
Result<long long> parse_exim_int(std::string_view s);  // C %i-like with K/M suffixes
std::string lc(std::string_view s);

Error fail(std::string text);

}  // namespace nougat::filterlang::detail
