// Signed return paths: BATV's ${prvs} and ${prvscheck}, SRS's ${srs_encode}
// and the inbound_srs condition, as Exim 4.96 computes them (HMAC-SHA1 and
// HMAC-MD5 over the same inputs, its day stamps, its texts; verified with
// exim -bf). "Now" is $tod_epoch, so a context can fix the clock.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "filterlang/expand_ast.hpp"
#include "filterlang/forward.hpp"

namespace nougat::filterlang::detail {

namespace {

constexpr std::string_view kBase32 = "abcdefghijklmnopqrstuvwxyz234567";

long long now_seconds(const Run& run) {
  if (auto v = run.ctx.variable("tod_epoch"); v && !v->empty()) return std::atoll(v->c_str());
  return static_cast<long long>(std::time(nullptr));
}

// The first bytes of an HMAC as lowercase hex.
std::string hmac_hex(const EVP_MD* md, std::string_view key, std::string_view text, size_t bytes) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), buf, &len);
  return hex_text(buf, std::min<size_t>(bytes, len), false);
}

// Exim's prvs_daystamp(): the last three digits of the day number.
std::string daystamp(const Run& run, int days_ahead) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%03lld", (now_seconds(run) / 86400 + days_ahead) % 1000);
  return buf;
}

// Exim's prvs_hmac_sha1(): its key is used as one HMAC block at most.
std::optional<std::string> prvs_hash(std::string_view address, std::string_view key, char keynum,
                                     std::string_view day) {
  if (key.size() > 64) return std::nullopt;
  return hmac_hex(EVP_sha1(), key, std::string(1, keynum) + std::string(day) + std::string(address),
                  3);
}

std::string srs_cksum(std::string_view secret, std::string_view text) {
  return hmac_hex(EVP_md5(), secret, lc(text), 2);
}

}  // namespace

Result<std::string> prvs_item(const std::vector<std::string>& a, Run& run) {
  const std::string& address = a[0];
  const size_t at = address.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == address.size())
    return fail("prvs first argument must be a qualified email address");
  char keynum = '0';
  if (a.size() > 2) {
    if (a[2].size() != 1 || !std::isdigit(static_cast<unsigned char>(a[2][0])))
      return fail("prvs third argument must be a single digit");
    keynum = a[2][0];
  }
  const std::string day = daystamp(run, 7);  // the day it expires
  auto hash = prvs_hash(address, a[1], keynum, day);
  if (!hash) return fail("prvs hmac-sha1 conversion failed");
  return "prvs=" + std::string(1, keynum) + day + *hash + "=" + address.substr(0, at) + "@" +
         address.substr(at + 1);
}

// ${prvscheck{address}{secret}{string}}: the arguments are expanded in
// turn, the address's parts visible to the later ones.
Status prvscheck_item(const Node& n, Run& run, std::string& out, bool skipping) {
  auto& vars = run.st.set_variables;
  vars.erase("prvscheck_result");
  vars.erase("prvscheck_address");
  vars.erase("prvscheck_keynum");
  bool address_tainted = false;
  auto address = eval_tracked(n.args[0], run, skipping, address_tainted);
  if (!address) return address.error();
  run.st.tainted_variables.erase("prvscheck_address");
  if (address_tainted) run.st.tainted_variables.insert("prvscheck_address");
  // ^prvs=([0-9])([0-9]{3})([A-F0-9]{6})=(.+)@(.+)$, caselessly
  const std::string& s = *address;
  bool match = s.size() > 16 && iequal(std::string_view(s).substr(0, 5), "prvs=") && s[15] == '=';
  for (size_t i = 5; match && i < 9; ++i) match = std::isdigit(static_cast<unsigned char>(s[i]));
  for (size_t i = 9; match && i < 15; ++i) match = std::isxdigit(static_cast<unsigned char>(s[i]));
  const size_t at = match ? s.rfind('@') : std::string::npos;
  match = match && at != std::string::npos && at > 16 && at + 1 < s.size();
  const std::string too_many =
      "Too many arguments for 'prvscheck' (max is " + std::string(match ? "1" : "2") + ")";
  if (!match || skipping) {
    for (size_t i = 1; i < n.args.size(); ++i)
      if (auto r = eval_to_string(n.args[i], run, skipping); !r) return r.error();
    if (n.hard_error) return fail(too_many);
    return Ok{};
  }
  vars["prvscheck_address"] = s.substr(16);  // split at the last '@' by the greedy (.+), kept whole
  vars["prvscheck_keynum"] = std::string(1, s[5]);
  auto secret = eval_to_string(n.args[1], run, false);
  if (!secret) return secret.error();
  auto hash = prvs_hash(vars["prvscheck_address"], *secret, s[5], std::string_view(s).substr(6, 3));
  if (!hash) return fail("hmac-sha1 conversion failed");
  if (*hash == s.substr(9, 6)) {
    int now = std::atoi(daystamp(run, 0).c_str());
    const int expire = std::atoi(s.substr(6, 3).c_str());
    if (expire < 7 && now >= 993) now = 0;  // the day stamp wrapped at 1000
    if (expire >= now) vars["prvscheck_result"] = "1";
  }
  std::string result;
  if (n.args.size() > 2) {
    auto r = eval_to_string(n.args[2], run, false);
    if (!r) return r.error();
    result = std::move(*r);
  }
  if (n.hard_error) return fail(too_many);
  if (result.empty()) run.tainted = run.tainted || address_tainted;  // the address is the result
  out += result.empty() ? vars["prvscheck_address"] : result;
  vars.erase("prvscheck_address");
  vars.erase("prvscheck_keynum");
  return Ok{};
}

Result<std::string> srs_encode_item(const std::vector<std::string>& a, Run& run) {
  const std::string& secret = a[0];
  const std::string& path = a[1];
  if (path.empty()) return std::string();
  const std::string cksum = srs_cksum(secret, path);
  const long long day = (now_seconds(run) / 86400) & 0x3ff;
  const std::string stamp = {kBase32[day >> 5], kBase32[day & 31]};
  std::string err;
  auto address = extract_address(path, err);
  if (!address) return fail(err);
  const size_t at = domain_at(*address);
  const std::string domain = at == std::string::npos ? std::string() : address->substr(at + 1);
  std::string local = at == std::string::npos ? *address : address->substr(0, at);
  const bool quoted = local.find('"') != std::string::npos;
  std::erase(local, '"');
  std::string lhs = "SRS0=" + cksum + "=" + stamp + "=" + domain + "=" + local;
  if (quoted) lhs = "\"" + lhs + "\"";
  return lhs + "@" + a[2];
}

// inbound_srs{local part}{secret}: sets $srs_recipient from an SRS0 local part.
Result<bool> inbound_srs(const std::string& local_part, const std::string& secret, Run& run) {
  // ^(?i)SRS0=([^=]+)=([A-Z2-7]{2})=([^=]*)=(.*)$
  const std::string& s = local_part;
  if (s.size() < 5 || !iequal(std::string_view(s).substr(0, 5), "SRS0=")) return false;
  const size_t e1 = s.find('=', 5);
  if (e1 == std::string::npos || e1 == 5) return false;
  const std::string hash = s.substr(5, e1 - 5);
  if (e1 + 3 >= s.size() || s[e1 + 3] != '=') return false;
  const std::string stamp = s.substr(e1 + 1, 2);
  for (char c : stamp)
    if (kBase32.find(static_cast<char>(std::tolower(static_cast<unsigned char>(c)))) ==
        std::string_view::npos)
      return false;
  const size_t e3 = s.find('=', e1 + 4);
  if (e3 == std::string::npos) return false;
  const std::string domain = s.substr(e1 + 4, e3 - e1 - 4);
  const std::string local = s.substr(e3 + 1);
  bool quote = !local.empty() && local[0] == '"';
  for (unsigned char c : local)
    quote = quote || !(std::isalnum(c) ||
                       std::string_view(".!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
                           std::string_view::npos);
  const std::string recipient = (quote ? "\"" + lc(local) + "\"" : lc(local)) + "@" + lc(domain);
  run.st.set_variables["srs_recipient"] = recipient;
  if (run.subject_tainted)  // the local part it was taken from
    run.st.tainted_variables.insert("srs_recipient");
  else
    run.st.tainted_variables.erase("srs_recipient");
  if (secret.empty()) return true;
  // Exim decodes the stamp with the lowercase alphabet only: an uppercase one never passes.
  const size_t hi = kBase32.find(stamp[0]), lo = kBase32.find(stamp[1]);
  if (hi == std::string_view::npos || lo == std::string_view::npos) return false;
  const long long day = static_cast<long long>(hi * 32 + lo);
  if ((((now_seconds(run) / 86400) - day) & 0x3ff) > 10) return false;
  return hash.size() == 4 && hash == srs_cksum(secret, recipient);
}

}  // namespace nougat::filterlang::detail
