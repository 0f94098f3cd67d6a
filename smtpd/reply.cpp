#include "smtpd/reply.hpp"

namespace nougat::smtpd {
namespace {

void append_line(std::string& out, int code, bool last, std::string_view enhanced,
                 std::string_view line) {
  // Codes are three digits by protocol; clamp so a bug cannot emit garbage.
  if (code < 200 || code > 599) code = 451;
  out += std::to_string(code);
  if (enhanced.empty() && line.empty()) {
    if (!last) out.push_back('-');
    out += "\r\n";
    return;
  }
  out.push_back(last ? ' ' : '-');
  if (!enhanced.empty()) {
    out += enhanced;
    if (!line.empty()) out.push_back(' ');
  }
  for (char c : line) {
    auto u = static_cast<unsigned char>(c);
    out.push_back((u < 0x20 && c != '\t') || u == 0x7F ? '?' : c);
  }
  out += "\r\n";
}

}  // namespace

std::string format_reply(int code, std::string_view enhanced, std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::string out;
  while (true) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      append_line(out, code, true, enhanced, text);
      return out;
    }
    append_line(out, code, false, enhanced, text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
}

std::string ehlo_reply(std::string_view hostname, std::string_view greeting_name,
                       const std::vector<std::string>& keywords) {
  // The names must stay on the first line whatever they contain.
  auto one_line = [](std::string_view s) {
    std::string r(s);
    for (char& c : r)
      if (c == '\n') c = '?';
    return r;
  };
  std::string text = one_line(hostname);
  if (!greeting_name.empty()) {
    text.push_back(' ');
    text += one_line(greeting_name);
  }
  for (const auto& k : keywords) {
    text.push_back('\n');
    text += k;
  }
  return format_reply(250, "", text);
}

}  // namespace nougat::smtpd
