#include "engine/filter_message.hpp"

#include <cctype>
#include <ctime>
#include <regex>

#include <fmt/format.h>

#include "engine/mime.hpp"

namespace nougat::engine {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// The sender from an mbox "From " line, with Exim's pattern.
std::optional<std::string> from_line_sender(std::string_view line) {
  static const std::regex re(
      R"(^From\s+(\S+)\s+(?:[a-zA-Z]{3},?\s+)?(?:[a-zA-Z]{3}\s+\d?\d|\d?\d\s+[a-zA-Z]{3}\s+\d\d(?:\d\d)?)\s+\d\d?:\d\d?)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(line.begin(), line.end(), m, re)) return std::nullopt;
  return m[1].str();
}

// Header value without its angle brackets (Return-path: <a@b> -> a@b).
std::string strip_angles(std::string v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '<' && v.back() == '>') v = v.substr(1, v.size() - 2);
  return v;
}

std::string body_excerpt(std::string_view b) {
  std::string s(b);
  for (char& c : s)
    if (c == '\n' || c == '\0') c = ' ';
  return s;
}

}  // namespace

FilterMessage::FilterMessage(std::string_view raw, FilterEnvelope env) : env_(std::move(env)) {
  size_ = raw.size();
  std::string_view rest = raw;
  std::optional<std::string> line_sender;
  if (rest.starts_with("From ")) {
    size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    if ((line_sender = from_line_sender(line))) rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
  }
  // Header block: lines up to the first empty line (or a line that is not a header).
  size_t p = 0;
  std::vector<std::pair<std::string, std::string>> raw_headers;
  while (p < rest.size()) {
    size_t eol = rest.find('\n', p);
    std::string_view line = rest.substr(p, eol == std::string_view::npos ? std::string_view::npos : eol - p);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      p = eol == std::string_view::npos ? rest.size() : eol + 1;
      break;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !raw_headers.empty()) {
      raw_headers.back().second += "\n";
      raw_headers.back().second += line;
    } else {
      size_t colon = line.find(':');
      bool ok = colon != std::string_view::npos && colon > 0;
      for (size_t i = 0; ok && i < colon; ++i)
        ok = static_cast<unsigned char>(line[i]) > 32 && static_cast<unsigned char>(line[i]) < 127;
      if (!ok) break;
      raw_headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
    }
    p = eol == std::string_view::npos ? rest.size() : eol + 1;
  }
  body_ = rest.substr(std::min(p, rest.size()));
  no_headers_ = raw_headers.empty();

  if (env_.sender) {
    sender_ = *env_.sender == "<>" ? "" : *env_.sender;
    // As Exim: an unqualified sender gets the qualify domain.
    if (!sender_.empty() && sender_.find('@') == std::string::npos) sender_ += "@" + env_.qualify_domain;
  } else if (line_sender) {
    sender_ = *line_sender;
    sender_from_line_ = true;
  } else {
    sender_ = env_.login + "@" + env_.qualify_domain;
  }
  for (auto& h : raw_headers) {
    if (iequals(h.first, "return-path")) {
      ++return_path_headers_;
      return_path_header_ = trim(h.second);
      continue;
    }
    headers_.push_back(std::move(h));
  }
  auto has = [&](std::string_view n) {
    for (const auto& h : headers_)
      if (iequals(h.first, n)) return true;
    return false;
  };
  for (const auto& name : env_.removed_headers)
    std::erase_if(headers_, [&](const auto& h) { return iequals(h.first, name); });
  for (const auto& line : env_.extra_headers) {
    size_t colon = line.find(':');
    if (colon != std::string::npos && colon > 0) headers_.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  std::time_t now = std::time(nullptr);
  if (!has("message-id"))
    headers_.emplace_back("Message-Id", fmt::format(" <E{:x}-nougat@{}>", static_cast<long>(now), env_.qualify_domain));
  if (!has("from") && !sender_.empty()) headers_.emplace_back("From", " " + sender_);
  if (!has("date")) {
    char buf[64];
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(buf, sizeof buf, " %a, %d %b %Y %H:%M:%S +0000", &tm);
    headers_.emplace_back("Date", buf);
  }
}

std::string FilterMessage::header_text(std::string_view name) const {
  for (const auto& h : headers_)
    if (iequals(h.first, name)) return trim(h.second);
  return {};
}

std::optional<std::string> FilterMessage::variable(std::string_view name) const {
  if (name == "local_part" || name == "original_local_part") return env_.local_part;
  if (name == "domain" || name == "original_domain") return env_.domain;
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
  if (name == "reply_address") {
    std::string r = header_text("reply-to");
    return r.empty() ? header_text("from") : r;
  }
  if (name == "qualify_domain" || name == "primary_hostname" || name == "qualify_recipient")
    return env_.qualify_domain;
  if (name == "message_size") return std::to_string(size_ == 0 ? 1 : size_);
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
    return std::to_string(n);
  }
  if (name == "body_zerocount") {
    size_t n = 0;
    for (char c : body_) n += c == '\0';
    return std::to_string(n);
  }
  if (name == "message_headers" || name == "message_headers_raw") {
    std::string s;
    for (const auto& h : headers_) {
      if (!s.empty() && name == "message_headers") s += "\n";
      s += h.first + ":" + h.second;
      if (name == "message_headers_raw") s += "\n";
    }
    return s;
  }
  if (name == "recipients") return env_.recipients.value_or("");
  if (name == "spam_score" || name == "spam_score_int" || name == "spam_bar" ||
      name == "malware_name") {
    for (const auto& [n, v] : env_.scan_variables)
      if (n == name) return v;
    return std::string();
  }
  if (name == "message_id") {
    std::string id = header_text("message-id");
    return id;
  }
  return std::nullopt;
}

}  // namespace nougat::engine
