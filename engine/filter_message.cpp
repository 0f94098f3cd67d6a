#include "engine/filter_message.hpp"

#include "engine/mbox.hpp"
#include "filterlang/expand.hpp"
#include "filterlang/forward.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include <fmt/format.h>

#include "engine/exim_vars.hpp"
#include "engine/mime.hpp"
#include "engine/spool.hpp"

namespace nougat::engine {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// Header value without its angle brackets (Return-path: <a@b> -> a@b).
std::string strip_angles(std::string v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '<' && v.back() == '>') v = v.substr(1, v.size() - 2);
  return v;
}

// The length of the longest line of `text`, without its line end.
size_t longest_line(std::string_view text) {
  size_t longest = 0;
  for (size_t q = 0; q < text.size();) {
    size_t eol = text.find('\n', q);
    size_t end = eol == std::string_view::npos ? text.size() : eol;
    longest = std::max(longest, end - q - (end > q && text[end - 1] == '\r' ? 1 : 0));
    q = end + 1;
  }
  return longest;
}

std::string body_excerpt(std::string_view b) {
  std::string s(b);
  for (char& c : s)
    if (c == '\n' || c == '\0') c = ' ';
  return s;
}

// A header line as Exim's receive.c takes one: printing characters (8-bit
// too) up to a colon, white space allowed before the colon; not starting
// with white space.
bool is_header_line(std::string_view line) {
  auto graph = [](char c) { return static_cast<unsigned char>(c) > 32 && static_cast<unsigned char>(c) != 127; };
  if (line.empty() || line[0] == ' ' || line[0] == '\t') return false;
  size_t i = 0;
  while (i < line.size() && graph(line[i]) && line[i] != ':') ++i;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i < line.size() && line[i] == ':';
}

// Exim drops white-space-only continuation lines at the end of a header
// field (receive.c: "an empty continuation line … is confusing to humans").
void trim_blank_continuations(std::string& line) {
  for (;;) {
    size_t end = line.size() - 1;  // at the final '\n'
    size_t p = end;
    while (p > 0 && (line[p - 1] == ' ' || line[p - 1] == '\t')) --p;
    if (p == end || p == 0 || line[p - 1] != '\n') return;
    line.resize(p);
  }
}

// The message as Exim stores it, with LF line ends, and where its header
// and body are. Over SMTP (a spooled message: CRLF on the wire) every CRLF
// is one LF. From a file or a pipe (exim -bf), receive.c converts the
// header only, and its way: CRLF is LF, a bare CR is LF SP (the line goes
// on), and once the first line has ended in CRLF a bare LF is read as a bare
// CR too — in a message of mixed line ends the header runs on to the next
// CRLF; a line "." ends the message (in the header also ".\r\n"). The body
// stays as it is. Header lines are read whole (continuations included)
// before Exim decides whether they are header lines.
struct Stored {
  std::string text;
  size_t header_end = 0;  // the header lines are text[0, header_end)
  size_t body_at = 0;     // the body variables start here
  bool blank_line = false;     // a blank line ended the header
  bool empty_body_dot = false;  // a line "." ended the message where its body began
  size_t from_start = 0, from_end = 0;  // the last "From " line, if any (continuations included)
  int from_lines = 0;                   // how many there were
  size_t lines = 0, longest = 0;  // header-mode lines read, as exim -bf counts them
};

Stored as_stored(std::string_view raw, bool smtp) {
  Stored st;
  std::string& out = st.text;
  out.reserve(raw.size() + 16);
  if (raw.empty()) st.lines = 1;  // Exim reads its end as one empty line
  // Exim's first_line_ended_crlf: unset, no, yes. Over SMTP a CRLF is just
  // a line end, never the start of exim -bf's mixed-line-end reading.
  int first_crlf = smtp ? 0 : -1;
  bool first = true;               // the first line, which may be a "From " line
  bool body_at_line_start = true;
  std::string line;
  size_t i = 0, physical = 0;  // stored characters of the physical line being read
  // A line "." ends the message: in the header ".\r\n", and ".\n" unless
  // the first line ended in CRLF (Debian's Exim, against SMTP smuggling).
  auto header_dot = [&](size_t at) {
    if (smtp || at >= raw.size() || raw[at] != '.' || at + 1 >= raw.size()) return false;
    return (raw[at + 1] == '\n' && first_crlf != 1) ||
           (raw[at + 1] == '\r' && at + 2 < raw.size() && raw[at + 2] == '\n');
  };
  // A "From " line is one while no header line has been read (the last of
  // several gives the sender).
  auto take = [&](std::string& l) {
    if (first && uucp_from_sender(std::string_view(l).substr(0, l.size() - 1))) {
      st.from_start = out.size();
      ++st.from_lines;
      out += l;
      st.from_end = out.size();
      l.clear();
      return true;
    }
    first = false;
    return false;
  };
  for (;;) {
    if (line.empty() && header_dot(i)) {  // the end of the message, in the header
      st.header_end = st.body_at = out.size();
      return st;
    }
    if (line.empty() && !smtp && first_crlf == 1 && i + 1 < raw.size() && raw[i] == '.' && raw[i + 1] == '\n') {
      // ".\n" after a CRLF first line: not an end (above), and Exim's dot
      // test has already taken the LF, so it is data in the line, not its end.
      line += ".\n";
      physical += 2;
      i += 2;
      continue;
    }
    if (line.empty() && !smtp && i + 1 == raw.size() && raw[i] == '.') {
      // A last "." without its line end is data to Exim, read with the
      // EOF it met after it (a byte 0xFF).
      line = ".\xff";
      physical = 2;
      ++i;
      break;
    }
    if (i >= raw.size()) break;
    const char c = raw[i];
    bool pushed_space = false;
    if (c == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') {
      if (first_crlf < 0) first_crlf = 1;  // (never over SMTP: it starts at 0)
      i += 2;
    } else if (c == '\r' && !smtp) {
      line += "\n ";
      physical += 2;
      ++i;
      continue;
    } else if (c == '\n') {
      if (first_crlf < 0) first_crlf = 0;
      else pushed_space = first_crlf == 1;
      ++i;
    } else {
      line += c;
      ++physical;
      ++i;
      continue;
    }
    ++st.lines;
    st.longest = std::max(st.longest, physical);
    physical = 0;
    line += '\n';
    if (line == "\n") {  // a blank line ends the header
      st.header_end = out.size();
      out += line;
      line.clear();
      st.blank_line = true;
      if (pushed_space) {  // the space Exim put back begins the body
        out += ' ';
        body_at_line_start = false;
      }
      st.body_at = st.header_end + 1;
      break;
    }
    if (pushed_space) {
      line += ' ';
      ++physical;
      continue;
    }
    if (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t')) {
      line += raw[i++];
      ++physical;
      continue;
    }
    if (take(line)) continue;
    if (!is_header_line(line)) {  // the first body line, read as a header line
      st.header_end = out.size();
      out += line;
      line.clear();
      st.body_at = out.size();
      break;
    }
    trim_blank_continuations(line);
    out += line;
    line.clear();
  }
  if (!line.empty()) {  // the input ended in a line: Exim ends it
    ++st.lines;
    st.longest = std::max(st.longest, physical);
    line += '\n';
    if (take(line)) {
      st.header_end = st.body_at = out.size();
      return st;
    }
    const bool header = is_header_line(line);
    if (header) trim_blank_continuations(line);
    st.header_end = header ? out.size() + line.size() : out.size();
    out += line;
    st.body_at = out.size();
    return st;
  }
  if (i >= raw.size() && !st.blank_line && st.body_at == 0) {  // the header ran to the end
    st.header_end = st.body_at = out.size();
    return st;
  }
  std::string_view body = raw.substr(i);
  if (smtp) {  // every CRLF is LF, in the body too
    for (size_t p = 0; p < body.size();) {
      size_t crlf = std::min(body.find("\r\n", p), body.size());
      out.append(body.substr(p, crlf - p));
      if (crlf == body.size()) break;
      out += '\n';
      p = crlf + 2;
    }
    return st;
  }
  // The body, as it is: up to a line "." (LF only: ".\r\n" is text there).
  {
    if (body_at_line_start && (body.starts_with(".\n") || body == ".")) {
      body = {};
      st.empty_body_dot = true;
    } else if (size_t d = body.find("\n.\n"); d != std::string_view::npos) {
      body = body.substr(0, d + 1);
    } else if (body.ends_with("\n.")) {
      body.remove_suffix(1);
    }
  }
  out.append(body);
  return st;
}

}  // namespace

FilterEnvelope::Origin filter_origin(const Envelope& env, std::string_view id, std::string_view hostname) {
  FilterEnvelope::Origin o;
  o.id = std::string(id);
  o.received_at = env.received_at;
  o.protocol = ascii_lower(env.protocol.empty() ? "local" : env.protocol);
  o.client_ip = env.client_ip;
  o.helo = env.helo;
  o.auth_user = env.auth_user;
  o.recipients = env.recipients.size();
  o.adds_received = false;  // ours is in the message
  o.test = false;
  o.hostname = hostname;
  return o;
}

FilterMessage::FilterMessage(std::string_view raw_message, FilterEnvelope env) : env_(std::move(env)) {
  Stored stored = as_stored(raw_message, !env_.origin.test);
  text_ = std::move(stored.text);
  read_lines_ = stored.lines;
  read_longest_ = stored.longest;
  if (stored.body_at > stored.header_end && !stored.blank_line)
    first_body_line_ = stored.body_at - stored.header_end;  // the line that ended the header (with its line end)
  body_ = std::string_view(text_).substr(stored.body_at);
  // Exim reads an empty input as one empty line; a "." at once is nothing.
  size_ = text_.empty() && raw_message.empty() ? 1 : text_.size();
  empty_body_dot_ = stored.empty_body_dot;
  const int from_lines = stored.from_lines;
  std::string_view rest = std::string_view(text_).substr(0, stored.header_end);
  std::optional<std::string> line_sender;
  if (stored.from_end) {  // the last "From " line gives the sender, as Exim's uucp_from_pattern takes it
    std::string_view line = std::string_view(text_).substr(stored.from_start, stored.from_end - stored.from_start);
    line = line.substr(0, line.find('\n'));
    size_t matched = 0;
    if (auto sender = uucp_from_sender(line, &matched)) {
      line_sender = std::string(*sender);
      from_line_captures_ = {std::string(line.substr(0, matched)), std::string(*sender)};
      from_line_len_ = line.size();
    }
    rest = std::string_view(text_).substr(stored.from_end, stored.header_end - stored.from_end);
  }
  // $message_linecount, $max_received_linelength at delivery: the header's
  // lines, the first field's longest line apart (it is our own Received).
  size_t first_longest = 0;
  auto header_line = [&](size_t raw_count, size_t length) {
    size_t& longest = raw_count == 1 ? first_longest : header_longest_;
    longest = std::max(longest, length);
  };
  // The header fields: as_stored() found where they end. A header line, as
  // Exim's receive.c reads one: printing characters (8-bit ones too) up to a
  // colon, white space allowed before the colon (RFC 5322's obsolete
  // syntax). The name keeps that white space, so `X-A : v` is in
  // $message_headers but not $h_x-a:, as in Exim.
  std::vector<std::pair<std::string, std::string>> raw_headers;
  for (size_t p = 0; p < rest.size();) {
    size_t eol = rest.find('\n', p);
    std::string_view line = rest.substr(p, eol == std::string_view::npos ? std::string_view::npos : eol - p);
    p = eol == std::string_view::npos ? rest.size() : eol + 1;
    if ((line.empty() || line[0] == ' ' || line[0] == '\t') && !raw_headers.empty()) {
      raw_headers.back().second += "\n";
      raw_headers.back().second += line;
      header_line(raw_headers.size(), line.size());
    } else if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
      raw_headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
      header_line(raw_headers.size(), line.size());
    }
  }
  // Exim stores a header's binary zeros as '?' (the body keeps them).
  if (rest.find('\0') != std::string_view::npos)
    for (auto& [name, value] : raw_headers) {
      std::replace(name.begin(), name.end(), '\0', '?');
      std::replace(value.begin(), value.end(), '\0', '?');
    }
  no_headers_ = raw_headers.empty();
  const bool ours_first = !raw_headers.empty() && !env_.origin.adds_received && iequals(raw_headers[0].first, "received");
  if (!ours_first) header_longest_ = std::max(header_longest_, first_longest);

  if (env_.sender) {
    sender_ = *env_.sender == "<>" ? "" : *env_.sender;
    // As Exim: an unqualified sender gets the qualify domain.
    if (!sender_.empty() && sender_.find('@') == std::string::npos) sender_ += "@" + env_.qualify_domain;
  } else if (line_sender) {
    sender_ = *line_sender == "<>" ? "" : *line_sender;  // a bounce's "From <> …"
    sender_from_line_ = true;
    from_lines_ = from_lines;
  } else {
    sender_ = env_.login + "@" + env_.qualify_domain;
  }
  // Which field a line is, as Exim's header_checkname() tells it: white
  // space before the colon does not count there (but does for $h_).
  auto kind = [](const std::string& name) { return trim_space(name); };
  for (auto& h : raw_headers) {
    if (iequals(kind(h.first), "return-path")) {
      ++return_path_headers_;
      // Exim takes what follows the first 12 characters of the line.
      return_path_header_ = trim((h.first + ":" + h.second).substr(12));
      continue;
    }
    headers_.push_back(std::move(h));
  }
  // A locally submitted message (exim -bf) has the unqualified addresses
  // of its address fields qualified, as Exim rewrites them at reception —
  // and a From (Resent-From when resent) that is just the caller's login
  // replaced by one with the passwd name at the end (Sendmail's way).
  auto has_resent = [&] {  // a message being resent: its Resent- fields count (RFC 5322 3.6.6)
    return std::any_of(headers_.begin(), headers_.end(), [](const auto& h) {
      return h.first.size() >= 7 && iequals(std::string_view(h.first).substr(0, 7), "resent-");
    });
  };
  if (env_.origin.test) {
    const bool resending = has_resent();
    const std::string_view from_name = resending ? "resent-from" : "from";
    for (size_t i = 0; i < headers_.size(); ++i) {
      std::string_view v = headers_[i].second;
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
      if (iequals(trim_space(headers_[i].first), from_name) && !env_.login.empty() && iequals(v, env_.login)) {
        std::string name = resending ? "Resent-From" : "From";
        headers_.erase(headers_.begin() + long(i));
        headers_.emplace_back(std::move(name), " " + (env_.login_name.empty() ? env_.login : env_.login_name) + " <" +
                                                   env_.login + "@" + env_.qualify_domain + ">");
        break;
      }
    }
    for (auto& [name, value] : headers_) {
      std::string_view n = trim_space(name);
      if (n.size() > 7 && iequals(n.substr(0, 7), "resent-")) n.remove_prefix(7);
      for (std::string_view k : {"to", "cc", "bcc", "from", "reply-to", "sender"})
        if (iequals(n, k)) {
          value = filterlang::qualify_address_list(value, env_.qualify_domain, name.size() + 1);
          break;
        }
    }
  }
  auto has = [&](std::string_view n) {
    for (const auto& h : headers_)
      if (iequals(kind(h.first), n)) return true;
    return false;
  };
  for (const auto& name : env_.removed_headers)
    std::erase_if(headers_, [&](const auto& h) { return name_matches(h.first, name); });
  for (const auto& line : env_.extra_headers) {
    size_t colon = line.find(':');
    if (colon != std::string::npos && colon > 0) headers_.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  // What Exim adds to a locally submitted message that lacks it: Message-Id,
  // From and Date at the end — or, for a message being resent (it has
  // Resent- fields), Resent-Date and Resent-Message-Id at the top and
  // Resent-From at the end. The sender's From carries the caller's passwd
  // name when it is the caller's own address.
  std::time_t now = std::time(nullptr);
  const bool resent = has_resent();
  // "E" and the message's id, as Exim makes its Message-Id (the same length too).
  if (env_.origin.id.empty()) made_up_id_ = made_up_message_id();
  const std::string id = fmt::format(" <E{}@{}>", env_.origin.id.empty() ? made_up_id_ : env_.origin.id, env_.qualify_domain);
  char date[64];
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, " %a, %d %b %Y %H:%M:%S +0000", &tm);
  const bool own = !env_.sender && !sender_from_line_ && !env_.login_name.empty();
  const std::string from = own ? " " + env_.login_name + " <" + sender_ + ">" : " " + sender_;
  if (resent) {
    std::vector<std::pair<std::string, std::string>> top;
    if (!has("resent-date")) top.emplace_back("Resent-Date", date);
    if (!has("resent-message-id")) top.emplace_back("Resent-Message-Id", id);
    headers_.insert(headers_.begin(), top.begin(), top.end());
    if (!has("resent-from") && !sender_.empty()) headers_.emplace_back("Resent-From", from);
    return;
  }
  if (!has("message-id")) headers_.emplace_back("Message-Id", id);
  if (!has("from") && !sender_.empty()) headers_.emplace_back("From", from);
  if (!has("date")) headers_.emplace_back("Date", date);
}

std::vector<std::string> FilterMessage::interface_addresses() const {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    char buf[INET6_ADDRSTRLEN];
    const int af = i->ifa_addr->sa_family;
    const void* a = af == AF_INET    ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr)
                    : af == AF_INET6 ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr)
                                     : nullptr;
    if (a && inet_ntop(af, a, buf, sizeof buf)) out.emplace_back(buf);
  }
  freeifaddrs(list);
  return out;
}

bool FilterMessage::tainted(std::string_view name) const {
  if (filterlang::ExpandContext::tainted(name)) return true;
  const bool sender = name == "sender_address" || name == "sender_address_domain" ||
                      name == "sender_address_local_part" || name == "authenticated_sender";
  if (env_.origin.test) {  // the caller's options are clean; what the message said is not
    if (name == "return_path") return return_path_header_.has_value() || sender_from_line_;
    return sender && sender_from_line_;
  }
  // The recipient's local part and domain (and the ones it was routed from)
  // were looked up before the filter ran, as Exim's $local_part_data: clean.
  // A prefix or suffix is whatever the client wrote.
  static constexpr std::string_view kEnvelope[] = {
      "return_path",       "local_part_prefix", "local_part_suffix", "sender_host_address", "sender_host_name",
      "sender_helo_name",  "sender_fullhost",   "sender_rcvhost",    "authenticated_id",    "recipients"};
  return sender || std::find(std::begin(kEnvelope), std::end(kEnvelope), name) != std::end(kEnvelope);
}

std::optional<std::string> FilterMessage::variable(std::string_view name) const {
  if (name == "local_part") return env_.local_part;
  if (name == "domain") return env_.domain;
  auto part = [](const std::string& address, bool local) {
    size_t at = address.rfind('@');
    if (at == std::string::npos) return local ? address : std::string();
    return local ? address.substr(0, at) : address.substr(at + 1);
  };
  if (name == "original_local_part")
    return env_.origin.original.empty() ? env_.local_part : part(env_.origin.original, true);
  if (name == "original_domain") return env_.origin.original.empty() ? env_.domain : part(env_.origin.original, false);
  if (name == "parent_local_part") return part(env_.origin.parent, true);
  if (name == "parent_domain") return part(env_.origin.parent, false);
  if (name == "home") return env_.home;
  if (name == "local_part_prefix") return env_.prefix.value_or("");
  if (name == "local_part_suffix") return env_.suffix.value_or("");
  if (name == "sender_address") return sender_;
  if (name == "sender_address_domain" || name == "sender_address_local_part") {
    auto at = sender_.rfind('@');
    if (at == std::string::npos) return name == "sender_address_domain" ? (sender_.empty() ? "" : env_.qualify_domain) : sender_;
    return name == "sender_address_domain" ? sender_.substr(at + 1) : sender_.substr(0, at);
  }
  if (name == "return_path") return return_path_header_ ? strip_angles(*return_path_header_) : sender_;
  if (name == "reply_address") return filterlang::reply_address_value(headers_);  // unfolded, as Exim
  if (name == "qualify_domain" || name == "qualify_recipient") return env_.qualify_domain;
  if (name == "primary_hostname" || name == "smtp_active_hostname")
    return env_.origin.hostname.empty() ? env_.qualify_domain : env_.origin.hostname;
  if (name == "message_size") return std::to_string(size_);
  if (name == "message_body_size") return std::to_string(body_.size());
  if (name == "message_body") return body_excerpt(body_.substr(0, 500));
  if (name == "message_body_end")
    return body_excerpt(body_.size() > 500 ? body_.substr(body_.size() - 500) : body_);
  if (name == "body_linecount") {
    size_t n = 0, start = 0;
    for (size_t i = 0; i < body_.size(); ++i)
      if (body_[i] == '\n') {
        if (i > start) ++n;
        start = i + 1;
      }
    if (start < body_.size()) ++n;
    if (empty_body_dot_) n = 1;  // exim -bf's count for a body a "." line ended at once
    return std::to_string(n);
  }
  if (name == "body_zerocount") {
    size_t n = 0;
    for (char c : body_) n += c == '\0';
    if (first_body_line_)  // the line that ended the header was read as data: Exim counts its zeros
      for (char c : std::string_view(text_).substr(body_.data() - text_.data() - first_body_line_, first_body_line_))
        n += c == '\0';
    return std::to_string(n);
  }
  // Decoded as $bheader_ is (RFC 2047, no charset conversion, trailing
  // white space trimmed), or raw.
  if (name == "message_headers" || name == "message_headers_raw")
    return filterlang::message_headers_value(headers_, name == "message_headers_raw");
  if (name == "recipients") return env_.recipients.value_or("");
  if (name == "spam_score" || name == "spam_score_int" || name == "spam_bar" ||
      name == "malware_name") {
    for (const auto& [n, v] : env_.scan_variables)
      if (n == name) return v;
    return std::string();
  }
  if (name == "spam_action" || name == "spam_report") {
    for (const auto& [n, v] : env_.scan_variables)
      if (n == name) return v;
    return std::string();
  }
  // Exim's message and connection variables (engine/exim_vars.hpp).
  const auto& o = env_.origin;
  if (name == "message_id" || name == "message_exim_id") {
    if (!o.id.empty()) return o.id;
    if (made_up_id_.empty()) made_up_id_ = made_up_message_id();
    return made_up_id_;
  }
  if (name == "message_linecount") {
    // `exim -bf` counts what it read before the body: a From_ line, the
    // header's lines and the blank line. At delivery, as Exim's spool: the
    // header's lines as delivered (ours included) and the body's.
    if (o.test) return std::to_string(read_lines_);
    size_t lines = size_t(std::count(body_.begin(), body_.end(), '\n'));
    if (!body_.empty() && body_.back() != '\n') ++lines;
    for (const auto& h : headers_) lines += 1 + size_t(std::count(h.second.begin(), h.second.end(), '\n'));
    return std::to_string(lines);
  }
  if (name == "max_received_linelength") {  // -bf: what it read before the body
    if (o.test) return std::to_string(read_longest_);
    return std::to_string(std::max({from_line_len_, header_longest_, first_body_line_ ? first_body_line_ - 1 : 0,
                                    longest_line(body_)}));
  }
  if (name == "received_count") {
    size_t n = o.adds_received ? 1 : 0;
    for (const auto& h : headers_) n += iequals(trim_space(h.first), "received");  // "Received :" too, as Exim
    return std::to_string(n);
  }
  if (name == "recipients_count") return std::to_string(o.recipients);
  if (name == "received_protocol") return o.protocol;
  const int64_t now = std::time(nullptr), at = o.received_at ? o.received_at : now;
  if (name == "received_time") return std::to_string(at);
  if (name == "message_age") return std::to_string(std::max<int64_t>(0, now - at));
  if (name == "sender_host_address") return o.client_ip;
  if (name == "sender_helo_name") return o.helo;
  if (name == "sender_fullhost" || name == "sender_rcvhost") {
    if (o.client_ip.empty()) return std::string();
    if (name == "sender_fullhost") return (o.helo.empty() ? "" : "(" + o.helo + ") ") + "[" + o.client_ip + "]";
    // As Exim's host.c: no helo= when the HELO was the client's address literal.
    const bool literal = o.helo == "[" + o.client_ip + "]";
    return "[" + o.client_ip + "]" + (o.helo.empty() || literal ? "" : " (helo=" + o.helo + ")");
  }
  // exim -bf without -f: the caller counts as authenticated, as a local submission does
  // (its address too, unless a "From " line named another sender)
  if (name == "authenticated_id") return o.test && !env_.sender ? env_.login : o.auth_user;
  if (name == "authenticated_sender" && o.test && !env_.sender && !sender_from_line_) return sender_;
  if (name == "sender_ident") return o.test ? env_.login : std::string();
  return exim_variable(name, now);
}

}  // namespace nougat::engine
