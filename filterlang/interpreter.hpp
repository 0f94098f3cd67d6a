// The filter interpreter: runs a compiled Program against a message seen
// through ExpandContext and returns what the filter asked for. It performs
// no I/O and no delivery: actions are data (the report prints them, the
// router turns them into deliveries).
//
// Semantics are Exim 4.96's (filter.c): arguments are expanded when the
// command runs, "seen" marks the run delivered before the command's effect,
// `finish` stops at once, a run-time error stops after the actions already
// produced. $n0..$n9, $sn0..$sn9, $thisaddress are answered by an overlay on
// the caller's context; $0..$9 live in ExpandState::captures.
// Limits: at most RunOptions::max_actions actions; expansion output bounded by
// ExpandState::max_output; regex matching bounded (see conditions.hpp).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "filterlang/expand.hpp"
#include "filterlang/program.hpp"

namespace nougat::filterlang {

enum class ActionKind {
  kDeliver, kSave, kPipe, kMail, kVacation, kMailIgnored, kLogfile, kLogwrite, kTestprint,
  kAdd, kHeadersAdd, kHeadersRemove, kHeadersCharset, kFinish, kFail, kFreeze, kDefer,
};

struct Action {
  ActionKind kind = ActionKind::kFinish;
  bool seen = false, noerror = false;
  std::string value;                       // address, path, command, text (expanded)
  std::optional<std::string> errors_to;    // deliver
  int mode = -1;                           // save/logfile
  int add_value = 0, add_var = 0;          // add
  std::array<std::optional<std::string>, kMailArgCount> mail;  // mail/vacation, expanded
  bool expand_file = false, return_message = false;
  bool tainted = false;  // value holds message data: never a file name or command (Exim's taint)
};

enum class Outcome { kDelivered, kNotDelivered, kDefer, kFail, kFreeze, kError };

struct RunResult {
  std::vector<Action> actions;
  Outcome outcome = Outcome::kNotDelivered;
  std::string error;               // kError: text after "Filter error: "
  std::vector<std::string> trace;  // --trace lines (conditions, operands, results)
  std::array<int, 10> n{};         // final $n0..$n9
};

struct RunOptions {
  bool first_delivery = true;    // exim -bf: always true
  bool manually_thawed = false;  // exim -bf: always false
  bool trace = false;
  size_t max_actions = 100000;
  std::array<int, 10> sn{};      // $sn0..$sn9 (system filter values)
  // A system filter: `headers add|remove` change the header set at once,
  // so later conditions and $h_ see the change — at delivery and in
  // `exim -bF` alike (`filter test --system`).
  bool apply_headers = false;
  std::vector<std::string> captures;  // $0, $1, … before the filter's first match (exim -bf's From-line match)
};

// `headers add` text as header fields: leading white space dropped, split at
// each "\n" not followed by white space (that one continues the field).
// Lines without "name:" are returned in `bad` instead.
struct HeaderLines {
  std::vector<std::pair<std::string, std::string>> fields;  // name, value after the colon
  std::vector<std::string> bad;
};
HeaderLines split_header_text(std::string_view text);
// `headers remove` argument: the colon-separated names, trimmed, empty ones dropped.
std::vector<std::string> header_names(std::string_view list);

RunResult run_filter(const Program& program, const ExpandContext& message, const RunOptions& options = {});

namespace detail {

// Answers the filter's own variables, delegates the rest to the message.
class FilterVars final : public ExpandContext {
 public:
  explicit FilterVars(const ExpandContext& base, const std::array<int, 10>& sn) : base_(base), sn_(sn) {}
  std::optional<std::string> variable(std::string_view name) const override;
  const std::vector<std::pair<std::string, std::string>>& headers() const override {
    return edited ? *edited : base_.headers();
  }
  std::vector<std::string> interface_addresses() const override { return base_.interface_addresses(); }
  bool tainted(std::string_view name) const override { return base_.tainted(name); }

  std::optional<std::vector<std::pair<std::string, std::string>>> edited;  // after headers add/remove
  std::array<int, 10> n{};
  std::optional<std::string> thisaddress;

 private:
  const ExpandContext& base_;
  std::array<int, 10> sn_;
};

struct RunState {
  const Program& prog;
  FilterVars vars;
  ExpandState est;
  RunOptions opt;
  RunResult& out;
  bool delivered = false;
  bool failed = false;

  void fail(std::string msg) {
    failed = true;
    out.error = std::move(msg);
  }
  std::optional<std::string> var(std::string_view name) const { return vars.variable(name); }
  // Expands `a`; on failure returns nullopt and the expander's message in `err`.
  std::optional<std::string> expand(const Arg& a, std::string& err);
};

// Condition evaluation (conditions.cpp): false on error (state.failed set).
bool test_condition(RunState& st, int32_t index, bool toplevel, bool& result);
// Command families; false on error or when the run must stop (st.failed / outcome).
bool exec_delivery(RunState& st, const ProgCommand& c);  // deliver, save, pipe
bool exec_mail(RunState& st, const ProgCommand& c);      // mail, vacation
bool exec_other(RunState& st, const ProgCommand& c);     // add, log*, testprint, headers

}  // namespace detail
}  // namespace nougat::filterlang
