#include "filterlang/report.hpp"

#include <fmt/format.h>

namespace nougat::filterlang {

std::string report_envelope(const ReportEnvelope& env) {
  std::string out;
  // In Exim's order: said while the header is read, then after it.
  for (int i = 0; i < env.sender_from_lines; ++i) out += "Sender taken from \"From \" line\n";
  if (env.no_headers) out += "Warning: no message headers read\n";
  for (int i = 0; i < env.return_path_headers; ++i) out += "Return-path taken from \"Return-path:\" header line\n";
  if (env.return_path)
  {
    std::string rp = *env.return_path;
    if (rp.size() >= 2 && rp.front() == '<' && rp.back() == '>') rp = rp.substr(1, rp.size() - 2);
    out += fmt::format("Return-path = {}\n", rp.empty() ? "<>" : rp);
  }
  else
    out += "Return-path copied from sender\n";
  out += fmt::format("Sender      = {}\n", env.sender.empty() ? "<>" : env.sender);
  out += fmt::format("Recipient   = {}\n", env.recipient);
  if (env.prefix) out += fmt::format("Prefix    = {}\n", *env.prefix);
  if (env.suffix) out += fmt::format("Suffix    = {}\n", *env.suffix);
  out += fmt::format("Testing {} file \"{}\"\n\n", env.exim_filter ? "Exim filter" : "forward file", env.filename);
  return out;
}

std::string report_action(const Action& a) {
  const char* ne = a.noerror ? " (noerror)" : "";
  switch (a.kind) {
    case ActionKind::kDeliver:
      return fmt::format("{}eliver message to: {}{}{}{}\n", a.seen ? "D" : "Unseen d", a.value, ne,
                         a.errors_to ? " errors_to " : "", a.errors_to.value_or(""));
    case ActionKind::kSave:
      if (a.mode < 0) return fmt::format("{}ave message to: {}{}\n", a.seen ? "S" : "Unseen s", a.value, ne);
      return fmt::format("{}ave message to: {} {:04o}{}\n", a.seen ? "S" : "Unseen s", a.value,
                         static_cast<unsigned>(a.mode), ne);
    case ActionKind::kPipe: return fmt::format("{}ipe message to: {}{}\n", a.seen ? "P" : "Unseen p", a.value, ne);
    case ActionKind::kLogfile: return fmt::format("{}ogfile {}\n", a.seen ? "Seen l" : "L", a.value);
    case ActionKind::kLogwrite: return fmt::format("{}ogwrite \"{}\"\n", a.seen ? "Seen l" : "L", printing(a.value));
    case ActionKind::kTestprint: return fmt::format("Testprint: {}\n", printing(a.value));
    case ActionKind::kAdd: return fmt::format("Add {} to n{}\n", a.add_value, a.add_var);
    case ActionKind::kHeadersAdd: return fmt::format("Headers add \"{}\"\n", printing(a.value));
    case ActionKind::kHeadersRemove: return fmt::format("Headers remove \"{}\"\n", printing(a.value));
    case ActionKind::kHeadersCharset: return fmt::format("Headers charset \"{}\"\n", printing(a.value));
    case ActionKind::kFinish: return a.seen ? "Seen finish\n" : "Finish\n";
    case ActionKind::kFail: return fmt::format("Fail text \"{}\"\n", printing(a.value));
    case ActionKind::kFreeze: return fmt::format("Freeze text \"{}\"\n", printing(a.value));
    case ActionKind::kDefer: return fmt::format("Defer text \"{}\"\n", printing(a.value));
    case ActionKind::kMailIgnored: return fmt::format("{} command ignored because return_path is empty\n", a.value);
    case ActionKind::kMail:
    case ActionKind::kVacation: {
      std::string out = fmt::format("{}ail to: {}{}{}\n", a.seen ? "Seen m" : "M", a.mail[kMailTo].value_or("<default>"),
                                    a.kind == ActionKind::kVacation ? " (vacation)" : "", ne);
      for (size_t i = 1; i < kMailArgCount; ++i) {
        if (!a.mail[i]) continue;
        std::string name = kMailArgNames[i];
        if (name.size() < 7) name.insert(0, 7 - name.size(), ' ');
        out += fmt::format("{}: {}{}\n", name, printing(*a.mail[i]),
                           a.expand_file && i == kMailFile ? " (expanded)" : "");
      }
      if (a.return_message) out += "Return original message\n";
      return out;
    }
  }
  return {};
}

std::string report_run(const RunResult& r, int& exit_status) {
  std::string out;
  for (const auto& a : r.actions) out += report_action(a);
  exit_status = 0;
  switch (r.outcome) {
    case Outcome::kDelivered:
      out += "Filtering set up at least one significant delivery or other action.\nNo other deliveries will occur.\n";
      break;
    case Outcome::kNotDelivered:
      out += "Filtering did not set up a significant delivery.\nNormal delivery will occur.\n";
      break;
    case Outcome::kDefer: out += "Filtering ended by \"defer\".\n"; break;
    case Outcome::kFail: out += "Filtering ended by \"fail\".\n"; break;
    case Outcome::kFreeze: out += "Filtering ended by \"freeze\".\n"; break;
    case Outcome::kError:
      out += "Filter error: " + r.error + "\n";
      exit_status = 1;
      break;
  }
  return out;
}

}  // namespace nougat::filterlang
