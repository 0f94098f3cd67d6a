#include "filterlang/program.hpp"

#include "filterlang/conditions.hpp"
#include "filterlang/expand.hpp"

namespace nougat::filterlang {
namespace {

// A context with no message, for expanding constant strings at compile time.
class NoMessage final : public ExpandContext {
 public:
  std::optional<std::string> variable(std::string_view) const override { return std::nullopt; }
  const std::vector<std::pair<std::string, std::string>>& headers() const override { return none_; }

 private:
  std::vector<std::pair<std::string, std::string>> none_;
};

Arg make_arg(const std::string& raw) {
  Arg a;
  a.raw = raw;
  auto r = compile_expansion(raw);
  if (r.ok()) {
    a.exp = std::move(r.value());
    if (is_constant(*a.exp)) {
      NoMessage none;
      ExpandState st;
      auto v = expand(*a.exp, none, st);
      if (v.ok()) {
        a.constant = true;
        a.value = std::move(v.value());
      }
    }
  }
  return a;
}

class Compiler {
 public:
  explicit Compiler(Program& p) : p_(p) {}

  void block(const Block& b) {
    for (const auto& c : b) command(c);
  }

 private:
  uint32_t here() const { return static_cast<uint32_t>(p_.code.size()); }

  int32_t cond(const CondNode& n) {
    ProgCond pc;
    pc.kind = n.kind;
    pc.testfor = n.testfor;
    if (n.kind == CondKind::kAnd || n.kind == CondKind::kOr) {
      pc.a = cond(*n.a);
      pc.b = cond(*n.b);
    } else if (n.kind == CondKind::kForAnyAddress) {
      pc.left = make_arg(n.left);
      pc.a = cond(*n.a);
    } else {
      pc.left = make_arg(n.left);
      pc.right = make_arg(n.right);
      for (const auto& al : n.aliases) pc.aliases.push_back(make_arg(al));
      if ((n.kind == CondKind::kMatches || n.kind == CondKind::kMATCHES) && pc.right.constant)
        pc.regex = compile_regex(pc.right.value, n.kind == CondKind::kMatches);
    }
    p_.conds.push_back(std::move(pc));
    return static_cast<int32_t>(p_.conds.size() - 1);
  }

  void command(const Command& c) {
    if (c.kind == CmdKind::kIf) {
      if_command(c);
      return;
    }
    ProgCommand pc;
    pc.kind = c.kind;
    pc.seen = c.seen;
    pc.noerror = c.noerror;
    pc.mode = c.mode;
    pc.headers_op = c.headers_op;
    pc.has_text = c.has_text;
    pc.arg = make_arg(c.arg);
    if (c.arg2) pc.arg2 = make_arg(*c.arg2);
    for (size_t i = 0; i < kMailArgCount; ++i)
      if (c.mail[i]) pc.mail[i] = make_arg(*c.mail[i]);
    pc.mail_expand_file = c.mail_expand_file;
    pc.mail_return = c.mail_return;
    p_.commands.push_back(std::move(pc));
    p_.code.push_back({Op::kCommand, static_cast<uint32_t>(p_.commands.size() - 1)});
  }

  void if_command(const Command& c) {
    p_.code.push_back({Op::kEnter});
    std::vector<uint32_t> to_end;
    for (const auto& arm : c.arms) {
      auto ci = static_cast<uint32_t>(cond(*arm.cond));
      p_.cond_texts.push_back(arm.cond_text);
      uint32_t test = here();
      p_.code.push_back({Op::kTest, ci, 0, static_cast<uint32_t>(p_.cond_texts.size() - 1)});
      block(arm.body);
      to_end.push_back(here());
      p_.code.push_back({Op::kJump});
      p_.code[test].b = here();
    }
    if (c.else_body) block(*c.else_body);
    for (auto j : to_end) p_.code[j].a = here();
    p_.code.push_back({Op::kLeave});
  }

  Program& p_;
};

}  // namespace

std::shared_ptr<const Program> compile_ast(const Ast& ast, const ParseOptions& options) {
  auto p = std::make_shared<Program>();
  p->system_filter = options.system_filter;
  Compiler(*p).block(ast.commands);
  return p;
}

CompileOutcome compile_filter(std::string_view source, const ParseOptions& options) {
  CompileOutcome out;
  auto parsed = parse_filter(source, options);
  if (!parsed.ast) {
    out.error = std::move(parsed.error);
    return out;
  }
  out.program = compile_ast(*parsed.ast, options);
  return out;
}

}  // namespace nougat::filterlang
