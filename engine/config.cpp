#include "engine/config.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <map>
#include <optional>
#include <toml++/toml.h>

#include "engine/maildir.hpp"
#include "scanners/antivirus.hpp"

namespace nougat::engine {
namespace {

// libclamav scans at most 2 GiB - 3 bytes (scanners/clamav.cpp).
constexpr uint64_t kMaxScanSize = 2047ull << 20;

using Problem = std::optional<std::string>;  // nullopt = fine
using Setter = std::function<Problem(const toml::node&, Config&)>;

std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return std::tolower(c); });
  return r;
}

Problem want_string(const toml::node& n, std::string& out) {
  auto v = n.value<std::string>();
  if (!v) return "expected a string";
  out = *v;
  return std::nullopt;
}

Problem want_bool(const toml::node& n, bool& out) {
  auto v = n.value<bool>();
  if (!v || !n.is_boolean()) return "expected true or false";
  out = *v;
  return std::nullopt;
}

template <typename Int>
Problem want_int(const toml::node& n, Int& out, int64_t min, int64_t max) {
  if (!n.is_integer()) return "expected an integer";
  int64_t v = *n.value<int64_t>();
  if (v < min || v > max) return fmt::format("must be between {} and {}", min, max);
  out = static_cast<Int>(v);
  return std::nullopt;
}

// A probability: a number (integer or float) between 0 and 1.
Problem want_fraction(const toml::node& n, double& out) {
  if (!n.is_number()) return "expected a number between 0 and 1";
  double v = *n.value<double>();
  if (!(v >= 0.0 && v <= 1.0)) return "must be between 0 and 1";
  out = v;
  return std::nullopt;
}

// A list key accepts one string or an array of strings.
Problem want_strings(const toml::node& n, std::vector<std::string>& out) {
  out.clear();
  if (auto s = n.value<std::string>(); s && n.is_string()) {
    out.push_back(*s);
    return std::nullopt;
  }
  const auto* arr = n.as_array();
  if (!arr) return "expected a string or an array of strings";
  for (const auto& e : *arr) {
    auto s = e.value<std::string>();
    if (!s || !e.is_string()) return "expected an array of strings";
    out.push_back(*s);
  }
  return std::nullopt;
}

Setter endpoints(std::vector<Endpoint> Config::Listen::*member) {
  return [member](const toml::node& n, Config& c) -> Problem {
    std::vector<std::string> v;
    if (auto p = want_strings(n, v)) return p;
    std::vector<Endpoint> eps;
    for (const auto& s : v) {
      auto ep = parse_endpoint(s);
      if (!ep) return ep.error().text;
      eps.push_back(*ep);
    }
    c.listen.*member = std::move(eps);
    return std::nullopt;
  };
}

Setter size_key(uint64_t Config::Limits::*member, uint64_t min, uint64_t max) {
  return [=](const toml::node& n, Config& c) -> Problem {
    uint64_t v = 0;
    if (n.is_integer()) {
      int64_t i = *n.value<int64_t>();
      if (i < 0) return "must not be negative";
      v = static_cast<uint64_t>(i);
    } else if (auto s = n.value<std::string>()) {
      auto r = parse_size(*s);
      if (!r) return r.error().text;
      v = *r;
    } else {
      return "expected a size such as \"50M\"";
    }
    if (v < min || v > max) return fmt::format("must be between {} and {} bytes", min, max);
    c.limits.*member = v;
    return std::nullopt;
  };
}

std::string duration_text(std::chrono::seconds s);

// A duration string ("30s", "5m") from 1s to `max` (0: no maximum);
// `also` ends the messages (", or 0 (off)").
Problem want_duration(const toml::node& n, std::chrono::seconds& out, std::chrono::seconds max = {},
                      std::string_view also = "") {
  auto s = n.value<std::string>();
  if (!s || !n.is_string()) return fmt::format("expected a duration such as \"30s\"{}", also);
  auto r = parse_duration(*s);
  if (!r) return r.error().text;
  if (r->count() < 1 || (max.count() && *r > max))
    return max.count() ? fmt::format("must be between 1s and {}{}", duration_text(max), also)
                       : fmt::format("must be at least 1s{}", also);
  out = *r;
  return std::nullopt;
}

Setter duration_key(std::chrono::seconds Config::Limits::*member) {
  return [=](const toml::node& n, Config& c) { return want_duration(n, c.limits.*member); };
}

// A string key limited to a few words.
Setter one_of(std::string Config::Antivirus::*member, std::vector<std::string> allowed) {
  return [=](const toml::node& n, Config& c) -> Problem {
    std::string s;
    if (auto p = want_string(n, s)) return p;
    s = lower(s);
    if (std::find(allowed.begin(), allowed.end(), s) == allowed.end())
      return fmt::format("expected one of: {}", fmt::join(allowed, ", "));
    c.antivirus.*member = s;
    return std::nullopt;
  };
}

const std::map<std::string, Setter>& schema() {
  static const std::map<std::string, Setter> kSchema = {
      {"server.hostname",
       [](const toml::node& n, Config& c) -> Problem {
         if (auto p = want_string(n, c.server.hostname)) return p;
         if (c.server.hostname.empty()) return "must not be empty";
         for (unsigned char ch : c.server.hostname)
           if (!(std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_'))
             return "must be a host name (letters, digits, '-', '.')";
         c.server.hostname = lower(c.server.hostname);
         return std::nullopt;
       }},
      {"server.data_dir",
       [](const toml::node& n, Config& c) -> Problem {
         std::string s;
         if (auto p = want_string(n, s)) return p;
         c.server.data_dir = s;
         return std::nullopt;
       }},
      {"server.log_file",
       [](const toml::node& n, Config& c) -> Problem {
         std::string s;
         if (auto p = want_string(n, s)) return p;
         c.server.log_file = s;
         return std::nullopt;
       }},
      {"server.threads",
       [](const toml::node& n, Config& c) { return want_int(n, c.server.threads, 0, 256); }},
      {"server.user", [](const toml::node& n, Config&) -> Problem {
         // Accepted for compatibility with the documented layout; privilege
         // dropping is not implemented yet, so only the type is checked.
         std::string s;
         return want_string(n, s);
       }},
      {"listen.smtp", endpoints(&Config::Listen::smtp)},
      {"listen.submission", endpoints(&Config::Listen::submission)},
      {"listen.submissions", endpoints(&Config::Listen::submissions)},
      {"domains.local",
       [](const toml::node& n, Config& c) -> Problem {
         if (auto p = want_strings(n, c.domains.local)) return p;
         for (auto& d : c.domains.local) d = lower(d);
         return std::nullopt;
       }},
      {"domains.relay_networks",
       [](const toml::node& n, Config& c) -> Problem {
         std::vector<std::string> v;
         if (auto p = want_strings(n, v)) return p;
         c.domains.relay_networks.clear();
         for (const auto& s : v) {
           auto r = parse_cidr(s);
           if (!r) return r.error().text;
           c.domains.relay_networks.push_back(*r);
         }
         return std::nullopt;
       }},
      {"tls.cert",
       [](const toml::node& n, Config& c) -> Problem {
         std::string s;
         if (auto p = want_string(n, s)) return p;
         c.tls.cert = s;
         return std::nullopt;
       }},
      {"tls.key",
       [](const toml::node& n, Config& c) -> Problem {
         std::string s;
         if (auto p = want_string(n, s)) return p;
         c.tls.key = s;
         return std::nullopt;
       }},
      {"limits.message_size", size_key(&Config::Limits::message_size, 1024, 1ull << 40)},
      {"limits.recipients",
       [](const toml::node& n, Config& c) { return want_int(n, c.limits.recipients, 1, 100000); }},
      {"limits.line_length",
       [](const toml::node& n, Config& c) {
         return want_int(n, c.limits.line_length, 80, 1 << 20);
       }},
      {"limits.command_length",
       [](const toml::node& n, Config& c) {
         return want_int(n, c.limits.command_length, 512, 1 << 16);
       }},
      {"limits.errors",
       [](const toml::node& n, Config& c) { return want_int(n, c.limits.errors, 1, 1000); }},
      {"limits.commands",
       [](const toml::node& n, Config& c) { return want_int(n, c.limits.commands, 10, 1 << 24); }},
      {"limits.connections",
       [](const toml::node& n, Config& c) {
         return want_int(n, c.limits.connections, 1, 1 << 20);
       }},
      {"limits.idle_timeout", duration_key(&Config::Limits::idle_timeout)},
      {"limits.session_timeout", duration_key(&Config::Limits::session_timeout)},
      {"auth.mechanisms",
       [](const toml::node& n, Config& c) -> Problem {
         std::vector<std::string> v;
         if (auto p = want_strings(n, v)) return p;
         for (auto& m : v) {
           std::transform(m.begin(), m.end(), m.begin(), ::toupper);
           if (m != "PLAIN" && m != "LOGIN") return "unknown mechanism " + m + " (PLAIN, LOGIN)";
         }
         c.auth.mechanisms = std::move(v);
         return std::nullopt;
       }},
      {"auth.require_tls",
       [](const toml::node& n, Config& c) { return want_bool(n, c.auth.require_tls); }},
      {"auth.on_smtp", [](const toml::node& n, Config& c) { return want_bool(n, c.auth.on_smtp); }},
      {"routers.forward_files",
       [](const toml::node& n, Config& c) { return want_bool(n, c.routers.forward_files); }},
      {"routers.postmaster",
       [](const toml::node& n, Config& c) -> Problem {
         std::string s;
         if (auto p = want_string(n, s)) return p;
         if (!s.empty() && (s.find('@') == std::string::npos || s.find_first_of(" \t\r\n<>") != std::string::npos))
           return "expected an address such as \"admin@example.org\"";
         c.routers.postmaster = s;
         return std::nullopt;
       }},
      {"filter.system_filter",
       [](const toml::node& n, Config& c) -> Problem {
         std::string s;
         if (auto p = want_string(n, s)) return p;
         c.filter.system_filter = s;
         return std::nullopt;
       }},
      {"transports.maildir_fsync",
       [](const toml::node& n, Config& c) { return want_bool(n, c.transports.maildir_fsync); }},
      {"antivirus.engine", one_of(&Config::Antivirus::engine, {"libclamav", "clamd", "off"})},
      {"antivirus.signatures",
       [](const toml::node& n, Config& c) -> Problem {
         std::vector<std::string> v;
         if (auto p = want_strings(n, v)) return p;
         c.antivirus.signatures.assign(v.begin(), v.end());
         return std::nullopt;
       }},
      {"antivirus.socket",
       [](const toml::node& n, Config& c) -> Problem {
         if (auto p = want_string(n, c.antivirus.socket)) return p;
         if (c.antivirus.socket.empty()) return std::nullopt;  // unset: only engine "clamd" needs one
         if (auto a = parse_socket_address(c.antivirus.socket); !a) return a.error().text;
         return std::nullopt;
       }},
      {"antivirus.action", one_of(&Config::Antivirus::action, {"reject", "quarantine", "tag"})},
      {"antivirus.on_error", one_of(&Config::Antivirus::on_error, {"tempfail", "accept"})},
      {"antivirus.max_size",
       [](const toml::node& n, Config& c) -> Problem {
         Config tmp;
         if (auto p = size_key(&Config::Limits::message_size, 1024, kMaxScanSize)(n, tmp)) return p;
         c.antivirus.max_size = tmp.limits.message_size;
         return std::nullopt;
       }},
      {"antivirus.timeout",
       [](const toml::node& n, Config& c) { return want_duration(n, c.antivirus.timeout, std::chrono::hours(1)); }},
      {"antivirus.alert_exceeds_max",
       [](const toml::node& n, Config& c) { return want_bool(n, c.antivirus.alert_exceeds_max); }},
      {"antivirus.tmpdir",
       [](const toml::node& n, Config& c) -> Problem {
         std::string s;
         if (auto p = want_string(n, s)) return p;
         c.antivirus.tmpdir = s;
         return std::nullopt;
       }},
      {"spam.enabled", [](const toml::node& n, Config& c) { return want_bool(n, c.spam.enabled); }},
      {"spam.spam_cutoff", [](const toml::node& n, Config& c) { return want_fraction(n, c.spam.spam_cutoff); }},
      {"spam.ham_cutoff", [](const toml::node& n, Config& c) { return want_fraction(n, c.spam.ham_cutoff); }},
      {"spam.action",
       [](const toml::node& n, Config& c) -> Problem {
         std::string s;
         if (auto p = want_string(n, s)) return p;
         s = lower(s);
         if (s != "tag" && s != "junk" && s != "reject" && s != "off") return "expected tag, junk, reject or off";
         c.spam.action = s;
         return std::nullopt;
       }},
      {"spam.bigrams", [](const toml::node& n, Config& c) { return want_bool(n, c.spam.bigrams); }},
      {"spam.markup_clues",
       [](const toml::node& n, Config& c) { return want_int(n, c.spam.markup_clues, 0, 1000); }},
      {"spam.junk_folder",
       [](const toml::node& n, Config& c) -> Problem {
         std::string s;
         if (auto p = want_string(n, s)) return p;
         if (!valid_folder_name(s)) return "expected a folder name such as \"Junk\" or \"Lists/spam\"";
         c.spam.junk_folder = s;
         return std::nullopt;
       }},
      {"spam.store",
       [](const toml::node& n, Config& c) -> Problem {
         std::string s;
         if (auto p = want_string(n, s)) return p;
         c.spam.store = s;
         return std::nullopt;
       }},
      {"spam.junk_scan_interval",
       [](const toml::node& n, Config& c) -> Problem {
         // A duration, or 0 ("0" or the integer) to switch the Junk trainer off.
         if ((n.is_integer() && *n.value<int64_t>() == 0) || n.value<std::string>() == "0") {
           c.spam.junk_scan_interval = std::chrono::seconds(0);
           return std::nullopt;
         }
         return want_duration(n, c.spam.junk_scan_interval, std::chrono::hours(24), ", or 0 (off)");
       }},
  };
  return kSchema;
}

std::string system_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  return lower(buf);
}

Config defaults() {
  Config c;
  c.server.hostname = system_hostname();
  c.server.data_dir = "var";
  c.listen.smtp = {*parse_endpoint("127.0.0.1:2525")};
  c.listen.submission = {*parse_endpoint("127.0.0.1:2587")};
  c.listen.submissions = {*parse_endpoint("127.0.0.1:2465")};
  c.antivirus.signatures = scanners::default_signature_dirs();
  return c;
}

// Applies every key of a parsed table; reports the first problem with its location.
std::optional<std::string> apply_table(const toml::table& root, Config& c, const std::string& where) {
  for (auto&& [section, node] : root) {
    const auto* tbl = node.as_table();
    std::string sec(section.str());
    if (!tbl) {
      return fmt::format("{}:{}: {}: expected a [{}] section", where, section.source().begin.line,
                         sec, sec);
    }
    for (auto&& [key, value] : *tbl) {
      std::string full = sec + "." + std::string(key.str());
      auto it = schema().find(full);
      if (it == schema().end())
        return fmt::format("{}:{}: {}: unknown key", where, key.source().begin.line, full);
      if (auto p = it->second(value, c))
        return fmt::format("{}:{}: {}: {}", where, value.source().begin.line, full, *p);
    }
  }
  return std::nullopt;
}

std::optional<std::string> apply_override(const std::string& kv, Config& c) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) return fmt::format("--set {}: expected KEY=VALUE", kv);
  std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
  auto it = schema().find(key);
  if (it == schema().end()) return fmt::format("--set {}: unknown key", key);
  // The value is TOML when it parses as one (numbers, booleans, arrays,
  // quoted strings); anything else is taken as a bare string.
  toml::table doc;
  try {
    doc = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    doc.insert_or_assign("v", value);
  }
  if (auto p = it->second(*doc.get("v"), c)) return fmt::format("--set {}: {}", key, *p);
  return std::nullopt;
}

std::string quote(std::string_view s) {
  std::string r = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      r += '\\';
      r += ch;
    } else if (c < 0x20 || c == 0x7f) {
      r += fmt::format("\\u{:04X}", c);  // TOML basic strings allow no raw controls
    } else {
      r += ch;
    }
  }
  return r + "\"";
}

template <typename T, typename F>
std::string array(const std::vector<T>& v, F&& f) {
  std::string r = "[";
  for (size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + quote(f(v[i]));
  return r + "]";
}

std::string size_text(uint64_t v) {
  if (v % (1ull << 30) == 0) return std::to_string(v >> 30) + "G";
  if (v % (1ull << 20) == 0) return std::to_string(v >> 20) + "M";
  if (v % (1ull << 10) == 0) return std::to_string(v >> 10) + "K";
  return std::to_string(v);
}

std::string duration_text(std::chrono::seconds s) {
  auto v = s.count();
  if (v % 86400 == 0) return std::to_string(v / 86400) + "d";
  if (v % 3600 == 0) return std::to_string(v / 3600) + "h";
  if (v % 60 == 0) return std::to_string(v / 60) + "m";
  return std::to_string(v) + "s";
}

}  // namespace

Result<uint64_t> parse_size(std::string_view s) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr == s.data()) return make_error("bad size \"" + std::string(s) + "\"");
  std::string_view unit(ptr, s.data() + s.size() - ptr);
  uint64_t mult = 1;
  if (unit == "" || unit == "B") mult = 1;
  else if (unit == "K" || unit == "k" || unit == "KB") mult = 1ull << 10;
  else if (unit == "M" || unit == "MB") mult = 1ull << 20;
  else if (unit == "G" || unit == "GB") mult = 1ull << 30;
  else return make_error("bad size unit \"" + std::string(unit) + "\" (use K, M or G)");
  if (v > (UINT64_MAX / mult)) return make_error("size too large");
  return v * mult;
}

Result<std::chrono::seconds> parse_duration(std::string_view s) {
  // Accepts sums such as "1h30m" as well as "90s", "5m", "2d".
  if (s.empty()) return make_error("empty duration");
  int64_t total = 0;
  const char* p = s.data();
  const char* end = s.data() + s.size();
  while (p < end) {
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || ptr == end) return make_error("bad duration \"" + std::string(s) + "\" (e.g. 30s, 5m, 1h, 4d)");
    int64_t mult = 0;
    switch (*ptr) {
      case 's': mult = 1; break;
      case 'm': mult = 60; break;
      case 'h': mult = 3600; break;
      case 'd': mult = 86400; break;
      case 'w': mult = 7 * 86400; break;
      default: return make_error("bad duration unit in \"" + std::string(s) + "\"");
    }
    total += v * mult;
    p = ptr + 1;
  }
  return std::chrono::seconds(total);
}

bool Config::is_local_domain(std::string_view domain) const {
  std::string d = lower(domain);
  return std::find(domains.local.begin(), domains.local.end(), d) != domains.local.end();
}

std::vector<std::string> Config::warnings() const {
  std::vector<std::string> w;
  if (antivirus.engine == "clamd" && antivirus.alert_exceeds_max)
    w.push_back("antivirus.alert_exceeds_max has no effect with antivirus.engine = \"clamd\": "
                "clamd decides that itself (AlertExceedsMax in clamd.conf)");
  if (antivirus.engine != "off" && antivirus.max_size < limits.message_size)
    w.push_back(fmt::format("antivirus.max_size ({}) is below limits.message_size ({}): larger messages are "
                            "delivered unscanned, marked \"X-Virus-Status: Unscanned\"{}",
                            size_text(antivirus.max_size), size_text(limits.message_size),
                            antivirus.engine == "clamd" ? " (raise StreamMaxLength in clamd.conf with it)" : ""));
  if (antivirus.engine == "libclamav" && !antivirus.socket.empty())
    w.push_back("antivirus.socket has no effect with antivirus.engine = \"libclamav\" (it is clamd's)");
  return w;
}

std::string Config::to_toml() const {
  auto ep = [](const Endpoint& e) { return e.to_string(); };
  auto str = [](const std::string& s) { return s; };
  auto cidr = [](const Cidr& c) { return c.to_string(); };
  std::string o;
  o += "[server]\n";
  o += "hostname = " + quote(server.hostname) + "\n";
  o += "data_dir = " + quote(server.data_dir.string()) + "\n";
  o += "log_file = " + quote(server.log_file.string()) + "\n";
  o += "threads = " + std::to_string(server.threads) + "\n";
  o += "\n[listen]\n";
  o += "smtp = " + array(listen.smtp, ep) + "\n";
  o += "submission = " + array(listen.submission, ep) + "\n";
  o += "submissions = " + array(listen.submissions, ep) + "\n";
  o += "\n[domains]\n";
  o += "local = " + array(domains.local, str) + "\n";
  o += "relay_networks = " + array(domains.relay_networks, cidr) + "\n";
  o += "\n[tls]\n";
  o += "cert = " + quote(tls.cert.string()) + "\n";
  o += "key = " + quote(tls.key.string()) + "\n";
  o += "\n[limits]\n";
  o += "message_size = " + quote(size_text(limits.message_size)) + "\n";
  o += "recipients = " + std::to_string(limits.recipients) + "\n";
  o += "line_length = " + std::to_string(limits.line_length) + "\n";
  o += "command_length = " + std::to_string(limits.command_length) + "\n";
  o += "errors = " + std::to_string(limits.errors) + "\n";
  o += "commands = " + std::to_string(limits.commands) + "\n";
  o += "connections = " + std::to_string(limits.connections) + "\n";
  o += "idle_timeout = " + quote(duration_text(limits.idle_timeout)) + "\n";
  o += "session_timeout = " + quote(duration_text(limits.session_timeout)) + "\n";
  o += "\n[auth]\n";
  o += "mechanisms = " + array(auth.mechanisms, str) + "\n";
  o += std::string("require_tls = ") + (auth.require_tls ? "true" : "false") + "\n";
  o += std::string("on_smtp = ") + (auth.on_smtp ? "true" : "false") + "\n";
  o += "\n[routers]\n";
  o += std::string("forward_files = ") + (routers.forward_files ? "true" : "false") + "\n";
  o += "postmaster = " + quote(routers.postmaster) + "\n";
  o += "\n[transports]\n";
  o += std::string("maildir_fsync = ") + (transports.maildir_fsync ? "true" : "false") + "\n";
  o += "\n[filter]\n";
  o += "system_filter = " + quote(filter.system_filter.string()) + "\n";
  o += "\n[antivirus]\n";
  o += "engine = " + quote(antivirus.engine) + "\n";
  o += "signatures = " + array(antivirus.signatures, [](const auto& p) { return p.string(); }) + "\n";
  o += "socket = " + quote(antivirus.socket) + "\n";
  o += "action = " + quote(antivirus.action) + "\n";
  o += "on_error = " + quote(antivirus.on_error) + "\n";
  o += "max_size = " + quote(size_text(antivirus.max_size)) + "\n";
  o += "timeout = " + quote(duration_text(antivirus.timeout)) + "\n";
  o += "alert_exceeds_max = " + std::string(antivirus.alert_exceeds_max ? "true" : "false") + "\n";
  o += "tmpdir = " + quote(antivirus.tmpdir.string()) + "\n";
  o += "\n[spam]\n";
  o += std::string("enabled = ") + (spam.enabled ? "true" : "false") + "\n";
  o += fmt::format("spam_cutoff = {}\n", spam.spam_cutoff);
  o += fmt::format("ham_cutoff = {}\n", spam.ham_cutoff);
  o += "action = " + quote(spam.action) + "\n";
  o += "junk_folder = " + quote(spam.junk_folder) + "\n";
  o += std::string("bigrams = ") + (spam.bigrams ? "true" : "false") + "\n";
  o += fmt::format("markup_clues = {}\n", spam.markup_clues);
  o += "store = " + quote(spam.store.string()) + "\n";
  o += "junk_scan_interval = " +
       (spam.junk_scan_interval.count() ? quote(duration_text(spam.junk_scan_interval)) : "0") + "\n";
  return o;
}

Result<ConfigPtr> load_config(const ConfigSources& src) {
  auto c = std::make_shared<Config>(defaults());
  if (!src.data_dir.empty()) c->server.data_dir = src.data_dir;
  bool local_set = false, log_set = false, scan_size_set = false;

  std::filesystem::path file = src.file;
  if (file.empty()) file = c->server.data_dir / "nougat.toml";
  std::error_code ec;
  if (src.text || std::filesystem::exists(file, ec)) {
    toml::table doc;
    try {
      doc = src.text ? toml::parse(*src.text, file.string()) : toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
      return make_error(fmt::format("{}:{}: {}", file.string(), e.source().begin.line,
                                    std::string(e.description())));
    }
    if (auto p = apply_table(doc, *c, file.string())) return make_error(*p);
    local_set = doc["domains"]["local"].is_value() || doc["domains"]["local"].is_array();
    log_set = doc["server"]["log_file"].is_value();
    scan_size_set = doc["antivirus"]["max_size"].is_value();
    // --data beats the file's data_dir: the command line is the most specific.
    if (!src.data_dir.empty()) c->server.data_dir = src.data_dir;
  } else if (src.file_required) {
    return make_error(fmt::format("{}: cannot read config file", file.string()));
  }
  for (const auto& kv : src.overrides) {
    if (auto p = apply_override(kv, *c)) return make_error(*p);
    auto key = kv.substr(0, kv.find('='));
    local_set |= key == "domains.local";
    log_set |= key == "server.log_file";
    scan_size_set |= key == "antivirus.max_size";
  }
  // Unless told otherwise, every message the server accepts is scanned.
  // clamd refuses what is above its StreamMaxLength (Debian's clamd.conf:
  // 25M) with an error, a 451 on every retry: with clamd the default stays there.
  if (!scan_size_set)
    c->antivirus.max_size = std::min<uint64_t>(c->limits.message_size,
                                               c->antivirus.engine == "clamd" ? (25ull << 20) : kMaxScanSize);
  if (!local_set) {
    c->domains.local = {"localhost"};
    if (c->server.hostname != "localhost") c->domains.local.push_back(c->server.hostname);
  }
  // Absolute from here on: homes in the users file and the log stay valid
  // whatever the working directory of a later command.
  c->server.data_dir = std::filesystem::absolute(c->server.data_dir, ec);
  if (!log_set) c->server.log_file = c->server.data_dir / "log" / "nougat.log";
  if (c->tls.cert.empty() != c->tls.key.empty())
    return make_error("tls: set both tls.cert and tls.key, or neither");
  if (c->antivirus.engine == "clamd" && c->antivirus.socket.empty())
    return make_error("antivirus: engine = \"clamd\" needs antivirus.socket");
  if (c->spam.ham_cutoff > c->spam.spam_cutoff)
    return make_error("spam: ham_cutoff must not be above spam_cutoff");
  if (!c->filter.system_filter.empty() && c->filter.system_filter.is_relative())
    c->filter.system_filter = c->server.data_dir / c->filter.system_filter;
  if (c->spam.store.empty()) c->spam.store = c->server.data_dir / "bayes";
  else c->spam.store = std::filesystem::absolute(c->spam.store, ec);
  if (c->tls.cert.empty()) {
    c->tls.cert = c->server.data_dir / "tls" / "cert.pem";
    c->tls.key = c->server.data_dir / "tls" / "key.pem";
  }
  return ConfigPtr(std::move(c));
}

}  // namespace nougat::engine
