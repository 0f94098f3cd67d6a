#include "filterlang/interpreter.hpp"

#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

#include "filterlang/conditions.hpp"

namespace nougat::filterlang {


namespace detail {

std::optional<std::string> FilterVars::variable(std::string_view name) const {
  if (name.size() == 2 && name[0] == 'n' && std::isdigit(static_cast<unsigned char>(name[1])))
    return std::to_string(n[static_cast<size_t>(name[1] - '0')]);
  if (name.size() == 3 && name.starts_with("sn") && std::isdigit(static_cast<unsigned char>(name[2])))
    return std::to_string(sn_[static_cast<size_t>(name[2] - '0')]);
  if (name == "thisaddress") return thisaddress.value_or("");
  if (edited && (name == "message_headers" || name == "message_headers_raw"))  // after `headers add|remove`
    return message_headers_value(*edited, name == "message_headers_raw");
  return base_.variable(name);
}

std::optional<std::string> RunState::expand(const Arg& a, std::string& err) {
  est.last_tainted = false;
  if (a.constant) return a.value;
  auto r = a.exp ? filterlang::expand(*a.exp, vars, est) : expand_string(a.raw, vars, est);
  if (!r.ok()) {
    err = r.error().text;
    return std::nullopt;
  }
  return std::move(r.value());
}

namespace {

std::string_view cstr(const std::string& s) { return std::string_view(s).substr(0, s.find('\0')); }

bool exec_add(RunState& st, const ProgCommand& c) {
  std::string vals[2];
  const Arg* args[2] = {&c.arg, &*c.arg2};
  for (int i = 0; i < 2; ++i) {
    std::string err;
    auto v = st.expand(*args[i], err);
    if (!v) {
      st.fail(fmt::format("failed to expand \"{}\" in add command: {}", args[i]->raw, err));
      return false;
    }
    vals[i] = std::string(cstr(*v));
  }
  long n[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    std::string_view ss = vals[i];
    if (i == 1) {
      if (ss.size() != 2 || ss[0] != 'n') {
        st.fail(fmt::format("unknown variable \"{}\" in \"add\" command", vals[i]));
        return false;
      }
      ss.remove_prefix(1);
    } else {
      while (ss.size() >= 2 && ss[0] == '-' && ss[1] == '-') ss.remove_prefix(2);
    }
    std::string tmp(ss);
    char* end = nullptr;
    n[i] = std::strtol(tmp.c_str(), &end, 0);
    if (*end != '\0') {
      st.fail(fmt::format("malformed number \"{}\" in \"add\" command", tmp));
      return false;
    }
  }
  if (c.seen) st.delivered = true;
  auto var = static_cast<size_t>(n[1]);
  int value = static_cast<int>(static_cast<uint32_t>(static_cast<unsigned long>(n[0])));
  st.vars.n[var] = static_cast<int>(static_cast<uint32_t>(st.vars.n[var]) + static_cast<uint32_t>(value));
  Action a;
  a.kind = ActionKind::kAdd;
  a.add_value = value;
  a.add_var = static_cast<int>(var);
  st.out.actions.push_back(std::move(a));
  return true;
}

}  // namespace

bool exec_other(RunState& st, const ProgCommand& c) {
  if (c.kind == CmdKind::kAdd) return exec_add(st, c);
  static constexpr const char* kNames[] = {"add", "defer", "deliver", "finish", "fail", "freeze", "headers", "if",
                                           "logfile", "logwrite", "mail", "pipe", "save", "testprint", "vacation"};
  std::string value;
  bool tainted = false;
  if (c.kind != CmdKind::kFinish && (c.kind != CmdKind::kFail && c.kind != CmdKind::kFreeze &&
                                     c.kind != CmdKind::kDefer)) {
    std::string err;
    auto v = st.expand(c.arg, err);
    if (!v) {
      st.fail(fmt::format("failed to expand \"{}\" in {} command: {}", c.arg.raw,
                          kNames[static_cast<size_t>(c.kind)], err));
      return false;
    }
    value = std::string(cstr(*v));
    tainted = st.est.last_tainted;
  } else if (c.kind != CmdKind::kFinish) {
    std::string err;
    auto v = c.has_text ? st.expand(c.arg, err) : std::optional<std::string>("");
    if (!v) {
      st.fail(fmt::format("failed to expand \"{}\" in {} command: {}", c.arg.raw,
                          kNames[static_cast<size_t>(c.kind)], err));
      return false;
    }
    value = std::string(cstr(*v));
    tainted = st.est.last_tainted;
  }
  if (c.seen) st.delivered = true;
  Action a;
  a.seen = c.seen;
  a.noerror = c.noerror;
  a.value = value;
  a.tainted = tainted;
  a.mode = c.mode;
  switch (c.kind) {
    case CmdKind::kLogfile: a.kind = ActionKind::kLogfile; break;
    case CmdKind::kLogwrite: a.kind = ActionKind::kLogwrite; break;
    case CmdKind::kTestprint: a.kind = ActionKind::kTestprint; break;
    case CmdKind::kHeaders:
      a.kind = c.headers_op == HeadersOp::kAdd      ? ActionKind::kHeadersAdd
               : c.headers_op == HeadersOp::kRemove ? ActionKind::kHeadersRemove
                                                    : ActionKind::kHeadersCharset;
      if (c.headers_op == HeadersOp::kCharset) {
        st.est.headers_charset = value;  // what later $h_ decode to (Exim: at once)
        st.est.headers_charset_tainted = tainted;  // ${rfc2047:} writes its name out
      }
      if (st.opt.apply_headers && c.headers_op != HeadersOp::kCharset) {
        auto& hs = st.vars.edited;
        if (!hs) hs = st.vars.headers();
        if (c.headers_op == HeadersOp::kAdd) {
          for (auto& f : split_header_text(value).fields) hs->push_back(std::move(f));
        } else {
          for (const auto& name : header_names(value))
            std::erase_if(*hs, [&](const auto& h) { return iequal(h.first, name); });
        }
      }
      break;
    case CmdKind::kFinish: a.kind = ActionKind::kFinish; break;
    case CmdKind::kFail:
    case CmdKind::kFreeze:
    case CmdKind::kDefer: {
      if (a.value.size() > 1024) a.value = a.value.substr(0, 1000) + " ... (truncated)";
      a.kind = c.kind == CmdKind::kFail ? ActionKind::kFail
               : c.kind == CmdKind::kFreeze ? ActionKind::kFreeze : ActionKind::kDefer;
      break;
    }
    default: break;
  }
  st.out.actions.push_back(std::move(a));
  return true;
}

}  // namespace detail

HeaderLines split_header_text(std::string_view text) {
  HeaderLines out;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty()) {
    // One field: up to a "\n" that is not followed by white space.
    size_t end = 0;
    for (;;) {
      end = text.find('\n', end);
      if (end == std::string_view::npos || end + 1 >= text.size() || (text[end + 1] != ' ' && text[end + 1] != '\t'))
        break;
      ++end;
    }
    std::string_view field = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    while (!field.empty() && (field.back() == '\n' || field.back() == '\r')) field.remove_suffix(1);
    if (field.empty()) continue;
    size_t colon = field.find(':');
    bool ok = colon != std::string_view::npos && colon > 0;
    for (size_t i = 0; ok && i < colon; ++i)
      ok = static_cast<unsigned char>(field[i]) > 32 && static_cast<unsigned char>(field[i]) < 127;
    if (!ok || field.find('\r') != std::string_view::npos) {
      out.bad.emplace_back(field);
      continue;
    }
    out.fields.emplace_back(std::string(field.substr(0, colon)), std::string(field.substr(colon + 1)));
  }
  return out;
}

std::vector<std::string> header_names(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    size_t c = list.find(':');
    std::string_view name = list.substr(0, c);
    list = c == std::string_view::npos ? std::string_view() : list.substr(c + 1);
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front()))) name.remove_prefix(1);
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.remove_suffix(1);
    if (!name.empty()) out.emplace_back(name);
  }
  return out;
}

RunResult run_filter(const Program& program, const ExpandContext& message, const RunOptions& options) {
  RunResult out;
  detail::RunState st{program, detail::FilterVars(message, options.sn), {}, options, out};
  st.est.captures = options.captures;
  st.est.captures_tainted = !options.captures.empty();  // from the message's "From " line
  std::vector<std::optional<std::string>> saved;
  size_t pc = 0;
  bool finished = false;
  while (pc < program.code.size() && !finished && !st.failed) {
    const Instr& in = program.code[pc++];
    switch (in.op) {
      case Op::kEnter: saved.push_back(st.vars.thisaddress); break;
      case Op::kLeave:
        st.vars.thisaddress = saved.back();
        saved.pop_back();
        break;
      case Op::kJump: pc = in.a; break;
      case Op::kTest: {
        bool r = false;
        if (options.trace) out.trace.push_back("if " + program.cond_texts[in.c]);
        if (!detail::test_condition(st, static_cast<int32_t>(in.a), true, r)) break;
        if (!r) pc = in.b;
        break;
      }
      case Op::kCommand: {
        if (out.actions.size() >= options.max_actions) {
          st.fail("too many actions");
          break;
        }
        const ProgCommand& c = program.commands[in.a];
        switch (c.kind) {
          case CmdKind::kDeliver:
          case CmdKind::kSave:
          case CmdKind::kPipe: detail::exec_delivery(st, c); break;
          case CmdKind::kMail:
          case CmdKind::kVacation: detail::exec_mail(st, c); break;
          default:
            if (!detail::exec_other(st, c)) break;
            if (c.kind == CmdKind::kFinish) finished = true;
            if (c.kind == CmdKind::kFail || c.kind == CmdKind::kFreeze || c.kind == CmdKind::kDefer) {
              out.outcome = c.kind == CmdKind::kFail     ? Outcome::kFail
                            : c.kind == CmdKind::kFreeze ? Outcome::kFreeze
                                                         : Outcome::kDefer;
              out.error = out.actions.back().value;
              out.n = st.vars.n;
              return out;
            }
        }
        break;
      }
    }
  }
  out.n = st.vars.n;
  if (st.failed)
    out.outcome = Outcome::kError;
  else
    out.outcome = st.delivered ? Outcome::kDelivered : Outcome::kNotDelivered;
  return out;
}

}  // namespace nougat::filterlang
