// deliver, save, pipe: the commands that set up a delivery ("seen" by default).
#include <fmt/format.h>

#include "filterlang/forward.hpp"
#include "filterlang/interpreter.hpp"

namespace nougat::filterlang::detail {
namespace {

std::string_view cstr(const std::string& s) { return std::string_view(s).substr(0, s.find('\0')); }

bool expand_arg(RunState& st, const Arg& a, const char* cmd, std::string& out) {
  std::string err;
  auto v = st.expand(a, err);
  if (!v) {
    st.fail(fmt::format("failed to expand \"{}\" in {} command: {}", a.raw, cmd, err));
    return false;
  }
  out = std::string(cstr(*v));
  return true;
}

bool qualify(RunState& st, std::string& s) {
  std::string err;
  auto a = extract_address(s, err);
  if (!a) {
    st.fail(fmt::format("malformed address \"{}\" in filter file: {}", s, err));
    return false;
  }
  // A domain is an '@' outside quotes: "x@y"'s is part of its local part.
  if (domain_at(*a) == std::string::npos) *a += "@" + st.var("qualify_domain").value_or("");
  s = std::move(*a);
  return true;
}

}  // namespace

bool exec_delivery(RunState& st, const ProgCommand& c) {
  Action a;
  a.seen = c.seen;
  a.noerror = c.noerror;
  switch (c.kind) {
    case CmdKind::kDeliver: {
      a.kind = ActionKind::kDeliver;
      if (!expand_arg(st, c.arg, "deliver", a.value)) return false;
      if (c.arg2) {
        a.errors_to.emplace();
        if (!expand_arg(st, *c.arg2, "deliver", *a.errors_to)) return false;
      }
      if (c.seen) st.delivered = true;
      if (!qualify(st, a.value)) return false;
      if (a.errors_to) {
        if (!qualify(st, *a.errors_to)) return false;
        if (!st.prog.system_filter) {
          std::string own = st.var("local_part").value_or("") + "@" + st.var("domain").value_or("");
          if (!iequal(own, *a.errors_to)) {
            st.fail("errors_to must point to the caller's address");
            return false;
          }
        }
      }
      break;
    }
    case CmdKind::kSave:
      a.kind = ActionKind::kSave;
      if (!expand_arg(st, c.arg, "save", a.value)) return false;
      a.tainted = st.est.last_tainted;
      if (c.seen) st.delivered = true;
      a.mode = c.mode;
      break;
    default:  // pipe: the command is expanded later, argument by argument, by the transport
      a.kind = ActionKind::kPipe;
      a.value = c.arg.raw;
      if (c.seen) st.delivered = true;
      break;
  }
  st.out.actions.push_back(std::move(a));
  return true;
}

}  // namespace nougat::filterlang::detail
