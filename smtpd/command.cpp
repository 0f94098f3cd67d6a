#include "smtpd/command.hpp"

#include <array>
#include <limits>
#include <utility>

#include "smtpd/address.hpp"

namespace nougat::smtpd {
namespace {

constexpr std::string_view kSyntaxError = "500 5.5.2 Syntax error";
constexpr std::string_view kMailSyntax = "501 5.5.4 Syntax: MAIL FROM:<address>";
constexpr std::string_view kRcptSyntax = "501 5.5.4 Syntax: RCPT TO:<address>";
constexpr std::string_view kBadSender = "501 5.1.7 Bad sender address syntax";
constexpr std::string_view kBadRecipient = "501 5.1.3 Bad recipient address syntax";
constexpr std::string_view kUnsupportedParam = "555 5.5.4 Unsupported parameter";
constexpr std::string_view kDuplicateParam = "501 5.5.4 Duplicate parameter";
constexpr std::string_view kBdatSyntax = "501 5.5.4 Syntax: BDAT size [LAST]";

constexpr size_t kMaxEnvid = 100;  // RFC 3461 4.4
constexpr size_t kMaxOrcpt = 500;  // RFC 3461 4.2

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (upper(c) >= 'A' && upper(c) <= 'Z'); }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string upper_copy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}

Error reply(std::string_view text, std::string detail = {}) {
  return make_error(std::string(text), std::move(detail));
}

constexpr std::array<std::pair<std::string_view, Verb>, 14> kVerbs{{
    {"HELO", Verb::kHelo},
    {"EHLO", Verb::kEhlo},
    {"MAIL", Verb::kMail},
    {"RCPT", Verb::kRcpt},
    {"DATA", Verb::kData},
    {"BDAT", Verb::kBdat},
    {"RSET", Verb::kRset},
    {"NOOP", Verb::kNoop},
    {"QUIT", Verb::kQuit},
    {"VRFY", Verb::kVrfy},
    {"EXPN", Verb::kExpn},
    {"HELP", Verb::kHelp},
    {"STARTTLS", Verb::kStarttls},
    {"AUTH", Verb::kAuth},
}};

// The parts of "FROM:<path> params" / "TO:<path> params".
struct PathAndParams {
  std::string_view path;    // between the angle brackets
  std::string_view params;  // after the '>' and its space(s)
};

// Returns nullopt on a syntax error (missing keyword, brackets, junk after '>').
std::optional<PathAndParams> split_path(std::string_view arg, std::string_view keyword) {
  if (!istarts_with(arg, keyword)) return std::nullopt;
  arg.remove_prefix(keyword.size());
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);  // Postfix-style leniency
  if (arg.empty() || arg.front() != '<') return std::nullopt;
  bool quoted = false;
  size_t i = 1;
  for (; i < arg.size(); ++i) {
    char c = arg[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == '>' && !quoted) {
      break;
    }
  }
  if (i >= arg.size()) return std::nullopt;
  PathAndParams out{arg.substr(1, i - 1), arg.substr(i + 1)};
  if (!out.params.empty() && out.params.front() != ' ') return std::nullopt;
  while (!out.params.empty() && out.params.front() == ' ') out.params.remove_prefix(1);
  return out;
}

// Parses the inside of a non-empty path: [A-d-l ":"] Mailbox. Error text is a detail.
Result<std::string> parse_path(std::string_view path, bool allow_utf8) {
  if (path.size() + 2 > kMaxPath) return make_error("path too long");
  if (!path.empty() && path.front() == '@') {
    size_t colon = path.find(':');
    if (colon == std::string_view::npos) return make_error("source route without ':'");
    std::string_view route = path.substr(0, colon);
    while (!route.empty()) {
      size_t comma = route.find(',');
      std::string_view hop = route.substr(0, comma);
      if (hop.size() < 2 || hop.front() != '@') return make_error("bad source route");
      auto d = parse_domain(hop.substr(1), allow_utf8);
      if (!d) return make_error("bad source route: " + d.error().text);
      route = comma == std::string_view::npos ? std::string_view{} : route.substr(comma + 1);
      if (comma != std::string_view::npos && route.empty()) return make_error("bad source route");
    }
    path.remove_prefix(colon + 1);
  }
  auto m = parse_mailbox(path, allow_utf8);
  if (!m) return m.error();
  return to_string(*m);
}

struct Param {
  std::string_view keyword;
  std::optional<std::string_view> value;
};

// esmtp-param = esmtp-keyword ["=" esmtp-value]
std::optional<Param> parse_param(std::string_view p) {
  size_t eq = p.find('=');
  Param out{p.substr(0, eq), std::nullopt};
  if (out.keyword.empty() || !is_alnum(out.keyword.front())) return std::nullopt;
  for (char c : out.keyword)
    if (!is_alnum(c) && c != '-') return std::nullopt;
  if (eq != std::string_view::npos) {
    std::string_view v = p.substr(eq + 1);
    if (v.empty()) return std::nullopt;
    for (unsigned char c : v)
      if (c < 33 || c > 126 || c == '=') return std::nullopt;
    out.value = v;
  }
  return out;
}

bool valid_xtext(std::string_view s) { return decode_xtext(s).ok(); }

Error bad_param(std::string_view keyword) {
  return reply("501 5.5.4 Bad " + upper_copy(keyword) + " parameter");
}

// Calls handle(keyword_upper, value) for each parameter; stops at the first error.
template <typename Handler>
std::optional<Error> for_each_param(std::string_view params, Handler&& handle) {
  std::string seen = " ";
  while (!params.empty()) {
    size_t sp = params.find(' ');
    std::string_view token = params.substr(0, sp);
    params = sp == std::string_view::npos ? std::string_view{} : params.substr(sp + 1);
    while (!params.empty() && params.front() == ' ') params.remove_prefix(1);
    auto p = parse_param(token);
    if (!p) return reply("501 5.5.4 Bad parameter syntax", std::string(token));
    std::string key = upper_copy(p->keyword);
    if (seen.find(" " + key + " ") != std::string::npos) return reply(kDuplicateParam, key);
    seen += key + " ";
    if (auto err = handle(key, p->value)) return err;
  }
  return std::nullopt;
}

std::optional<Error> mail_param(MailFrom& m, const std::string& key,
                                std::optional<std::string_view> value) {
  if (key == "SMTPUTF8") {
    if (value) return bad_param(key);
    m.smtputf8 = true;
    return std::nullopt;
  }
  if (key != "SIZE" && key != "BODY" && key != "AUTH" && key != "RET" && key != "ENVID")
    return reply(kUnsupportedParam, key);
  if (!value) return bad_param(key);
  std::string_view v = *value;
  if (key == "SIZE") {
    uint64_t n = 0;
    for (char c : v) {
      if (!is_digit(c)) return bad_param(key);
      uint64_t d = static_cast<uint64_t>(c - '0');
      n = n > (std::numeric_limits<uint64_t>::max() - d) / 10 ? std::numeric_limits<uint64_t>::max()
                                                              : n * 10 + d;
    }
    m.size = n;
  } else if (key == "BODY") {
    if (iequals(v, "7BIT"))
      m.body = MailFrom::k7bit;
    else if (iequals(v, "8BITMIME"))
      m.body = MailFrom::k8bitmime;
    else if (iequals(v, "BINARYMIME"))
      m.body = MailFrom::kBinarymime;
    else
      return bad_param(key);
  } else if (key == "AUTH") {
    if (v != "<>" && !valid_xtext(v)) return bad_param(key);
    m.auth = std::string(v);
  } else if (key == "RET") {
    if (!iequals(v, "FULL") && !iequals(v, "HDRS")) return bad_param(key);
    m.ret = upper_copy(v);
  } else {  // ENVID
    if (v.size() > kMaxEnvid || !valid_xtext(v)) return bad_param(key);
    m.envid = std::string(v);
  }
  return std::nullopt;
}

bool valid_notify(std::string_view v) {
  if (iequals(v, "NEVER")) return true;
  bool seen[3] = {false, false, false};
  while (true) {
    size_t comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    int idx = iequals(item, "SUCCESS")   ? 0
              : iequals(item, "FAILURE") ? 1
              : iequals(item, "DELAY")   ? 2
                                         : -1;
    if (idx < 0 || seen[idx]) return false;
    seen[idx] = true;
    if (comma == std::string_view::npos) return true;
    v.remove_prefix(comma + 1);
  }
}

bool valid_orcpt(std::string_view v) {
  if (v.size() > kMaxOrcpt) return false;
  size_t semi = v.find(';');
  if (semi == 0 || semi == std::string_view::npos || semi + 1 == v.size()) return false;
  for (char c : v.substr(0, semi))
    if (!is_alnum(c) && c != '-') return false;
  return valid_xtext(v.substr(semi + 1));
}

std::optional<Error> rcpt_param(RcptTo& r, const std::string& key,
                                std::optional<std::string_view> value) {
  if (key != "NOTIFY" && key != "ORCPT") return reply(kUnsupportedParam, key);
  if (!value) return bad_param(key);
  if (key == "NOTIFY") {
    if (!valid_notify(*value)) return bad_param(key);
    r.notify = upper_copy(*value);
  } else {
    if (!valid_orcpt(*value)) return bad_param(key);
    r.orcpt = std::string(*value);
  }
  return std::nullopt;
}

}  // namespace

Result<Command> parse_command(std::string_view line) {
  for (char c : line)
    if (c == '\0' || c == '\r' || c == '\n')
      return reply(kSyntaxError, "NUL/CR/LF in command line");
  size_t sp = line.find(' ');
  std::string_view verb = line.substr(0, sp);
  if (verb.empty()) return reply(kSyntaxError, "empty verb");
  for (unsigned char c : verb)
    if (c <= ' ' || c >= 0x7F) return reply(kSyntaxError, "control or 8-bit byte in verb");
  Command cmd{Verb::kUnknown, {}, verb};
  for (const auto& [name, v] : kVerbs)
    if (iequals(verb, name)) cmd.verb = v;
  if (sp != std::string_view::npos) {
    std::string_view arg = line.substr(sp + 1);
    while (!arg.empty() && (arg.back() == ' ' || arg.back() == '\t')) arg.remove_suffix(1);
    cmd.arg = arg;
  }
  return cmd;
}

Result<MailFrom> parse_mail_from(std::string_view arg) {
  auto parts = split_path(arg, "FROM:");
  if (!parts) return reply(kMailSyntax);
  MailFrom m;
  auto err = for_each_param(
      parts->params, [&](const std::string& key, auto value) { return mail_param(m, key, value); });
  if (err) return *err;
  if (!parts->path.empty()) {
    auto addr = parse_path(parts->path, m.smtputf8);
    if (!addr) return reply(kBadSender, addr.error().text);
    m.address = std::move(*addr);
  }
  return m;
}

Result<RcptTo> parse_rcpt_to(std::string_view arg, bool smtputf8) {
  auto parts = split_path(arg, "TO:");
  if (!parts) return reply(kRcptSyntax);
  RcptTo r;
  auto err = for_each_param(
      parts->params, [&](const std::string& key, auto value) { return rcpt_param(r, key, value); });
  if (err) return *err;
  if (iequals(parts->path, "postmaster")) {
    r.address = "postmaster";
    return r;
  }
  if (parts->path.empty()) return reply(kBadRecipient, "empty recipient");
  auto addr = parse_path(parts->path, smtputf8);
  if (!addr) return reply(kBadRecipient, addr.error().text);
  r.address = std::move(*addr);
  return r;
}

Result<uint64_t> parse_bdat(std::string_view arg, bool& last) {
  last = false;
  size_t i = 0;
  uint64_t n = 0;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  while (i < arg.size() && is_digit(arg[i])) {
    uint64_t d = static_cast<uint64_t>(arg[i] - '0');
    if (n > (kMax - d) / 10) return reply(kBdatSyntax, "size overflows");
    n = n * 10 + d;
    ++i;
  }
  if (i == 0) return reply(kBdatSyntax, "missing size");
  std::string_view rest = arg.substr(i);
  if (rest.empty()) return n;
  if (rest.front() != ' ') return reply(kBdatSyntax, "junk after size");
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (!iequals(rest, "LAST")) return reply(kBdatSyntax, "expected LAST");
  last = true;
  return n;
}

Result<std::string> decode_xtext(std::string_view s) {
  auto hex = [](char c) -> int {
    c = upper(c);
    if (is_digit(c)) return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (c == '+') {
      if (i + 2 >= s.size()) return make_error("truncated xtext escape");
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return make_error("bad xtext escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      return make_error("bad xtext character");
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace nougat::smtpd
