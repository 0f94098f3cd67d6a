#include "engine/exim_vars.hpp"

#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <utility>

namespace nougat::engine {
namespace {

// As `exim -bf` prints them (Exim 4.96): variables of ACLs, routers, SMTP
// sessions, TLS, DKIM, SPF, MIME ACLs … which a filter sees at these values.
constexpr std::pair<std::string_view, std::string_view> kFixed[] = {
    {"acl_narg", "0"}, {"acl_verify_message", ""}, {"address_data", ""}, {"address_file", ""},
    {"address_pipe", ""}, {"authenticated_fail_id", ""}, {"authenticated_sender", ""},
    {"authentication_failed", "0"}, {"av_failed", "0"}, {"bounce_recipient", ""},
    {"bounce_return_size_limit", "102400"}, {"callout_address", ""}, {"config_dir", ""}, {"config_file", ""},
    {"dkim_algo", ""}, {"dkim_bodylength", "9999999999999"}, {"dkim_canon_body", ""}, {"dkim_canon_headers", ""},
    {"dkim_copiedheaders", ""}, {"dkim_created", "0"}, {"dkim_cur_signer", ""}, {"dkim_domain", ""},
    {"dkim_expires", "9999999999999"}, {"dkim_headernames", ""}, {"dkim_identity", ""},
    {"dkim_key_granularity", "*"}, {"dkim_key_length", "0"}, {"dkim_key_nosubdomains", "0"}, {"dkim_key_notes", ""},
    {"dkim_key_srvtype", "*"}, {"dkim_key_testing", "0"}, {"dkim_selector", ""}, {"dkim_signers", ""},
    {"dkim_verify_reason", ""}, {"dkim_verify_status", ""}, {"dnslist_domain", ""}, {"dnslist_matched", ""},
    {"dnslist_text", ""}, {"dnslist_value", ""}, {"domain_data", ""}, {"headers_added", ""}, {"host", ""},
    {"host_address", ""}, {"host_data", ""}, {"host_lookup_deferred", "0"}, {"host_lookup_failed", "0"},
    {"host_port", "0"}, {"inode", "0"}, {"interface_address", ""}, {"interface_port", "-1"}, {"ldap_dn", ""},
    {"local_part_data", ""}, {"local_part_prefix_v", ""}, {"local_part_suffix_v", ""}, {"local_scan_data", ""},
    {"local_user_gid", "4294967295"}, {"local_user_uid", "4294967295"}, {"localhost_number", "0"},
    {"lookup_dnssec_authenticated", ""}, {"mailstore_basename", ""}, {"mime_anomaly_level", "0"},
    {"mime_anomaly_text", ""}, {"mime_boundary", ""}, {"mime_charset", ""}, {"mime_content_description", ""},
    {"mime_content_disposition", ""}, {"mime_content_id", ""}, {"mime_content_size", "0"},
    {"mime_content_transfer_encoding", ""}, {"mime_content_type", ""}, {"mime_decoded_filename", ""},
    {"mime_filename", ""}, {"mime_is_coverletter", "0"}, {"mime_is_multipart", "0"}, {"mime_is_rfc822", "0"},
    {"mime_part_count", "-1"}, {"parent_domain", ""}, {"parent_local_part", ""}, {"prdr_requested", "no"},
    {"proxy_external_address", ""}, {"proxy_external_port", "0"}, {"proxy_local_address", ""},
    {"proxy_local_port", "0"}, {"proxy_session", "no"}, {"prvscheck_address", ""}, {"prvscheck_keynum", ""},
    {"prvscheck_result", ""}, {"queue_name", ""}, {"queue_size", ""}, {"rcpt_count", "0"},
    {"rcpt_defer_count", "0"}, {"rcpt_fail_count", "0"}, {"received_for", ""}, {"received_ip_address", ""},
    {"received_port", "-1"}, {"recipient_data", ""}, {"recipient_verify_failure", ""}, {"regex_match_string", ""},
    {"return_size_limit", "102400"}, {"router_name", ""}, {"runrc", "0"}, {"self_hostname", ""},
    {"sender_address_data", ""}, {"sender_data", ""}, {"sender_helo_dnssec", "no"},
    {"sender_host_authenticated", ""}, {"sender_host_dnssec", "no"}, {"sender_host_name", ""},
    {"sender_host_port", "0"}, {"sender_verify_failure", ""}, {"sending_ip_address", ""}, {"sending_port", "-1"},
    {"smtp_command", ""}, {"smtp_command_argument", ""}, {"smtp_command_history", ""},
    {"smtp_count_at_connection_start", "0"}, {"spf_header_comment", ""}, {"spf_received", ""}, {"spf_result", ""},
    {"spf_result_guessed", "no"}, {"spf_smtp_comment", ""}, {"tls_bits", "0"}, {"tls_certificate_verified", "0"},
    {"tls_cipher", ""}, {"tls_in_bits", "0"}, {"tls_in_certificate_verified", "0"}, {"tls_in_cipher", ""},
    {"tls_in_cipher_std", ""}, {"tls_in_ocsp", "0"}, {"tls_in_ourcert", ""}, {"tls_in_peercert", ""},
    {"tls_in_peerdn", ""}, {"tls_in_resumption", "0"}, {"tls_in_sni", ""}, {"tls_in_ver", ""}, {"tls_out_bits", "0"},
    {"tls_out_certificate_verified", "0"}, {"tls_out_cipher", ""}, {"tls_out_cipher_std", ""}, {"tls_out_dane", "no"},
    {"tls_out_ocsp", "0"}, {"tls_out_ourcert", ""}, {"tls_out_peercert", ""}, {"tls_out_peerdn", ""},
    {"tls_out_resumption", "0"}, {"tls_out_sni", ""}, {"tls_out_tlsa_usage", "0"}, {"tls_out_ver", ""},
    {"tls_peerdn", ""}, {"tls_sni", ""}, {"transport_name", ""}, {"verify_mode", ""}, {"warn_message_delay", ""},
    {"warn_message_recipients", ""},
    // Which Exim's filter language this is, for filters that test it.
    {"exim_version", "4.96"}, {"version_number", "4.96"}, {"compile_number", "1"},
};

// $acl_c0…9, $acl_m0…9, $acl_c_NAME, $acl_m_NAME (never set here: no
// ACLs), $acl_arg1…9, $auth1…4, $regex1…9: empty.
bool numbered_empty(std::string_view n) {
  auto digit_in = [](std::string_view rest, char lo, char hi) {
    return rest.size() == 1 && rest[0] >= lo && rest[0] <= hi;
  };
  if (n.starts_with("acl_c") || n.starts_with("acl_m")) {
    std::string_view rest = n.substr(5);
    return digit_in(rest, '0', '9') || (rest.size() > 1 && rest[0] == '_');
  }
  if (n.starts_with("acl_arg")) return digit_in(n.substr(7), '1', '9');
  if (n.starts_with("auth")) return digit_in(n.substr(4), '1', '4');
  if (n.starts_with("regex")) return digit_in(n.substr(5), '1', '9');
  return false;
}

std::string strftime_text(const char* format, const std::tm& tm) {
  char buf[128];
  size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

// Kilobytes and inodes free where `dir` is (Exim's $spool_space …).
std::string space_of(const std::filesystem::path& dir, bool inodes) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return "-1";
  return std::to_string(inodes ? uint64_t(v.f_favail) : uint64_t(v.f_bavail) * v.f_frsize / 1024);
}

std::string base62(uint64_t v, size_t width) {
  static constexpr std::string_view kDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string s(width, '0');
  for (size_t i = width; i-- > 0; v /= 62) s[i] = kDigits[v % 62];
  return s;
}

}  // namespace

std::string made_up_message_id() {
  struct timeval tv {};
  ::gettimeofday(&tv, nullptr);
  return base62(uint64_t(tv.tv_sec), 6) + "-" + base62(uint64_t(::getpid()), 6) + "-" +
         base62(uint64_t(tv.tv_usec) * 3844 / 1000000, 2);
}

std::optional<std::string> exim_variable(std::string_view name, int64_t now) {
  if (name.starts_with("tod_")) {
    const std::time_t t = static_cast<std::time_t>(now);
    std::tm local{}, utc{};
    ::localtime_r(&t, &local);
    ::gmtime_r(&t, &utc);
    if (name == "tod_bsdinbox") return strftime_text("%a %b %d %H:%M:%S %Y", local);
    if (name == "tod_epoch") return std::to_string(now);
    if (name == "tod_epoch_l") {
      struct timeval tv {};
      ::gettimeofday(&tv, nullptr);
      return std::to_string(int64_t(tv.tv_sec) * 1000000 + tv.tv_usec);
    }
    if (name == "tod_full") return strftime_text("%a, %d %b %Y %H:%M:%S %z", local);
    if (name == "tod_log") return strftime_text("%Y-%m-%d %H:%M:%S", local);
    if (name == "tod_logfile") return strftime_text("%Y%m%d", local);
    if (name == "tod_zone") return strftime_text("%z", local);
    if (name == "tod_zulu") return strftime_text("%Y%m%d%H%M%SZ", utc);
    return std::nullopt;
  }
  if (name == "pid") return std::to_string(::getpid());
  if (name == "caller_uid" || name == "originator_uid" || name == "exim_uid") return std::to_string(::getuid());
  if (name == "caller_gid" || name == "originator_gid" || name == "exim_gid") return std::to_string(::getgid());
  if (name == "exim_path") {
    std::error_code ec;
    auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : p.string();
  }
  if (name == "initial_cwd") {
    std::error_code ec;
    auto p = std::filesystem::current_path(ec);
    return ec ? std::string() : p.string();
  }
  if (name == "load_average") {
    double avg[1] = {0};
    return std::to_string(::getloadavg(avg, 1) == 1 ? int(avg[0] * 1000) : -1);
  }
  if (name == "spool_space" || name == "log_space") return space_of(".", false);
  if (name == "spool_inodes" || name == "log_inodes") return space_of(".", true);
  if (name == "spool_directory") return std::string();
  if (name == "compile_date") {
    // __DATE__ "Nov 28 2026", __TIME__ "16:52:26" → Exim's "28-Nov-2026 16:52:26".
    std::string_view d = __DATE__;
    std::string day(d.substr(4, 2));
    if (day[0] == ' ') day.erase(0, 1);
    return fmt::format("{}-{}-{} {}", day, d.substr(0, 3), d.substr(7, 4), __TIME__);
  }
  if (numbered_empty(name)) return std::string();
  for (const auto& [n, v] : kFixed)
    if (n == name) return std::string(v);
  return std::nullopt;
}

}  // namespace nougat::engine
