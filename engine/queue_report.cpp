#include "engine/queue_report.hpp"

#include <fmt/format.h>

#include <ctime>

namespace nougat::engine {
namespace {

std::string angle(const std::string& sender) { return "<" + sender + ">"; }

std::string held_note(const SpooledMessage& m, bool released) {
  const auto& why = m.envelope.held_reason;
  if (released) return why.empty() ? "released" : "released (held: " + why + ")";
  return why.empty() ? "held" : "held: " + why;
}

std::string local_time(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string_view state_word(RcptState s) {
  switch (s) {
    case RcptState::kPending:
      return "pending";
    case RcptState::kDone:
      return "done";
    case RcptState::kFailed:
      return "failed";
  }
  return "?";
}

std::string recipient_line(const SpooledMessage& m, size_t i) {
  auto st = i < m.state.size() ? m.state[i] : RcptState::kPending;
  std::string line = fmt::format("{:<7} {}", state_word(st), m.envelope.recipients[i]);
  if (st == RcptState::kFailed && i < m.failure.size() && !m.failure[i].empty())
    line += ": " + m.failure[i];
  return line;
}

// Where the header block ends: the offset of the body (after the blank line).
size_t body_offset(std::string_view data, size_t* header_end) {
  if (data.starts_with("\r\n") || data.starts_with("\n")) {
    *header_end = 0;
    return data[0] == '\r' ? 2 : 1;
  }
  size_t crlf = data.find("\r\n\r\n"), lf = data.find("\n\n");
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf < lf)) {
    *header_end = crlf + 2;
    return crlf + 4;
  }
  if (lf != std::string_view::npos) {
    *header_end = lf + 1;
    return lf + 2;
  }
  *header_end = data.size();
  return data.size();
}

}  // namespace

std::string format_age(int64_t s) {
  if (s < 0) s = 0;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m", s / 60);
  if (s < 86400) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

std::string format_size(uint64_t b) {
  constexpr uint64_t kK = 1024, kM = 1024 * 1024;
  if (b < kK) return std::to_string(b);
  if (b < 10 * kK) return fmt::format("{:.1f}K", static_cast<double>(b) / kK);
  if (b < kM) return fmt::format("{}K", b / kK);
  if (b < 10 * kM) return fmt::format("{:.1f}M", static_cast<double>(b) / kM);
  return fmt::format("{}M", b / kM);
}

std::string format_queue_entry(const SpooledMessage& m, bool released, int64_t now) {
  std::string out = fmt::format("{:>3} {:>5} {} {}", format_age(now - m.envelope.received_at),
                                format_size(m.data_size), m.id, angle(m.envelope.sender));
  if (m.envelope.quarantined) out += " *** " + held_note(m, released) + " ***";
  out += "\n";
  for (size_t i = 0; i < m.envelope.recipients.size(); ++i)
    out += "          " + recipient_line(m, i) + "\n";
  return out + "\n";
}

std::string format_queue_count(size_t messages, size_t held, size_t released) {
  std::string out = fmt::format("{} message{}, {} held", messages, messages == 1 ? "" : "s", held);
  if (released) out += fmt::format(", {} released", released);
  return out + "\n";
}

std::string format_envelope(const SpooledMessage& m, bool released, int64_t now) {
  const auto& e = m.envelope;
  std::string out = fmt::format("Queue-Id: {}\n", m.id);
  // The client as the log's "<=" line shows it.
  out += fmt::format("Received: {} ({} ago) H={}[{}] P={}{}{}\n", local_time(e.received_at),
                     format_age(now - e.received_at), e.helo.empty() ? "" : e.helo + " ",
                     e.client_ip, e.protocol, e.auth_user.empty() ? "" : " A=" + e.auth_user,
                     e.smtputf8 ? " SMTPUTF8" : "");
  out += fmt::format("Sender: {}\n", angle(e.sender));
  out += fmt::format("Size: {}\n", m.data_size);
  out +=
      fmt::format("Status: {}\n", e.quarantined ? held_note(m, released) : "queued for delivery");
  for (size_t i = 0; i < e.recipients.size(); ++i)
    out += "Recipient: " + recipient_line(m, i) + "\n";
  if (!e.folder.empty()) out += "Folder: " + e.folder + "\n";
  for (const auto& h : e.added_headers) {
    std::string folded = h;
    for (size_t p = 0; (p = folded.find('\n', p)) != std::string::npos; p += 2)
      folded.insert(p + 1, "  ");
    out += "Header-Added: " + folded + "\n";
  }
  for (const auto& h : e.removed_headers) out += "Header-Removed: " + h + "\n";
  for (const auto& [name, value] : e.variables)
    out += fmt::format("Variable: ${} = {}\n", name, value);
  return out;
}

std::string header_part(std::string_view data) {
  size_t end = 0;
  body_offset(data, &end);
  return with_lf(data.substr(0, end));
}

std::string body_part(std::string_view data) {
  size_t end = 0;
  return with_lf(data.substr(body_offset(data, &end)));
}

std::string with_lf(std::string_view data) {
  std::string out;
  out.reserve(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '\r' && i + 1 < data.size() && data[i + 1] == '\n') continue;
    out += data[i];
  }
  return out;
}

}  // namespace nougat::engine
