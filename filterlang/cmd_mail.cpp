// mail and vacation: automatic replies. Checks follow Exim's: header-like
// options may continue lines only with white space, extra_headers may also
// start a new "Name:" line, file names must be printable.
#include <cctype>

#include <fmt/format.h>

#include "filterlang/interpreter.hpp"

namespace nougat::filterlang::detail {
namespace {

bool is_print(unsigned char c) { return (c >= 32 && c < 127) || c == '\t'; }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Returns an error text, or "" when the value is acceptable.
std::string check(const std::string& s, size_t i, const char* cmd) {
  if (i == kMailText) return {};
  for (size_t p = 0; p < s.size(); ++p) {
    auto c = static_cast<unsigned char>(s[p]);
    if (i > kMailText) {
      if (!is_print(c))
        return fmt::format("non-printing character in \"{}\" in {} command", printing(s), cmd);
      continue;
    }
    char next = p + 1 < s.size() ? s[p + 1] : '\0';
    if (c != '\n' || is_space(next)) continue;
    if (i < kMailHeaders)
      return fmt::format("\\n not followed by space in \"{}\" in {} command", printing(s.substr(0, 1024)), cmd);
    size_t pp = p + 1;
    for (;; ++pp) {
      char ch = pp < s.size() ? s[pp] : '\0';
      if (ch == ':' && pp != p + 1) break;
      if (ch == '\0' || ch == ':' || is_space(ch))
        return fmt::format("\\n not followed by space or valid header name in \"{}\" in {} command",
                           printing(s.substr(0, 1024)), cmd);
    }
    p = pp;
  }
  return {};
}

}  // namespace

bool exec_mail(RunState& st, const ProgCommand& c) {
  const char* cmd = c.kind == CmdKind::kMail ? "mail" : "vacation";
  Action a;
  a.kind = c.kind == CmdKind::kMail ? ActionKind::kMail : ActionKind::kVacation;
  a.seen = c.seen;
  a.noerror = c.noerror;
  a.expand_file = c.mail_expand_file;
  a.return_message = c.mail_return;
  for (size_t i = 0; i < kMailArgCount; ++i) {
    if (!c.mail[i]) continue;
    std::string err;
    auto v = st.expand(*c.mail[i], err);
    if (!v) {
      st.fail(fmt::format("failed to expand \"{}\" in {} command: {}", c.mail[i]->raw, cmd, err));
      return false;
    }
    a.mail[i] = v->substr(0, v->find('\0'));
  }
  if (c.seen) st.delivered = true;
  auto rp = st.var("return_path");
  if (!rp || rp->empty()) {
    Action ign;
    ign.kind = ActionKind::kMailIgnored;
    ign.value = cmd;
    st.out.actions.push_back(std::move(ign));
    return true;
  }
  for (size_t i = 0; i < kMailArgCount; ++i) {
    if (!a.mail[i]) continue;
    if (auto e = check(*a.mail[i], i, cmd); !e.empty()) {
      st.fail(std::move(e));
      return false;
    }
  }
  st.out.actions.push_back(std::move(a));
  return true;
}

}  // namespace nougat::filterlang::detail
