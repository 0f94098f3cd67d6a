// The compiled form of an Exim filter: a flat, immutable instruction list
// with every expandable argument pre-compiled (compile_expansion) and every
// constant regular expression compiled once. Built from source by
// compile_filter(); shared by all runs (std::shared_ptr<const Program>) and
// safe to use from several threads at once.
//
// Failure: syntax errors come back as ParseOutcome-style text. Expansion
// syntax errors are NOT compile errors: Exim reports them only when the
// argument is expanded at run time, so the raw text is kept and the
// interpreter reports them then.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filterlang/ast.hpp"
#include "filterlang/parser.hpp"

namespace nougat::filterlang {

class Expansion;
struct CompiledRegex;  // conditions.cpp

// One string to expand: its text after quote processing, and its compiled
// form (nullptr when compile_expansion() failed; then the run-time expansion
// reports the error exactly where Exim would).
struct Arg {
  std::string raw;
  std::shared_ptr<const Expansion> exp;
  bool constant = false;  // no variables or items: always expands to `value`
  std::string value;
};

struct ProgCond {
  CondKind kind = CondKind::kIs;
  bool testfor = true;
  Arg left, right;
  std::vector<Arg> aliases;
  int32_t a = -1, b = -1;                       // and/or operands, foranyaddress inner
  std::shared_ptr<const CompiledRegex> regex;   // constant pattern of matches/MATCHES
};

struct ProgCommand {
  CmdKind kind = CmdKind::kFinish;
  bool seen = false, noerror = false;
  int mode = -1;
  HeadersOp headers_op = HeadersOp::kCharset;
  Arg arg;
  std::optional<Arg> arg2;
  bool has_text = false;
  std::array<std::optional<Arg>, kMailArgCount> mail;
  bool mail_expand_file = false, mail_return = false;
};

enum class Op : uint8_t {
  kCommand,  // a = command index
  kEnter,    // start of an if: remembers $thisaddress
  kTest,     // a = condition index, b = target when false, c = trace text index
  kJump,     // a = target
  kLeave,    // endif: restores $thisaddress
};

struct Instr {
  Op op;
  uint32_t a = 0, b = 0, c = 0;
};

struct Program {
  std::vector<Instr> code;
  std::vector<ProgCommand> commands;
  std::vector<ProgCond> conds;
  std::vector<std::string> cond_texts;  // conditions as written (--trace)
  bool system_filter = false;
};

struct CompileOutcome {
  std::shared_ptr<const Program> program;  // set on success
  std::string error;                       // Exim's parse error text otherwise
};

CompileOutcome compile_filter(std::string_view source, const ParseOptions& options = {});
std::shared_ptr<const Program> compile_ast(const Ast& ast, const ParseOptions& options);

}  // namespace nougat::filterlang
