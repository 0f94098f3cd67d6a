// IP addresses in expansions: what Exim 4.96 takes for an address
// (string_is_ip_addressX: an optional "/mask" where asked for, an IPv6
// "%interface" suffix), the isip conditions, ${ipv6norm:}, ${ipv6denorm:},
// ${mask:} and ${mask_n:}. Outputs and texts verified with exim -bf,
// quirks included (an all-zero IPv6 address normalises to ":").
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang::detail {

unsigned char mask_byte(int bits, int i) {
  return static_cast<unsigned char>(0xff00u >> std::clamp(bits - 8 * i, 0, 8));
}

bool masked_equal(const unsigned char* a, const unsigned char* b, int nbytes, int bits) {
  for (int i = 0; i < nbytes; ++i)
    if ((a[i] & mask_byte(bits, i)) != (b[i] & mask_byte(bits, i))) return false;
  return true;
}

ParsedIp parse_ip(std::string_view s, bool mask_allowed) {
  ParsedIp ip;
  std::string text(s);
  if (text.find('\0') != std::string::npos) return ip;
  std::string addr = text;
  if (size_t slash = text.find('/'); slash != std::string::npos) {
    if (!mask_allowed) return ip;
    const char* start = text.c_str() + slash + 1;
    char* rest = nullptr;
    errno = 0;
    long m = std::strtol(start, &rest, 10);
    if (*rest || m < 0) return ip;
    // As Exim: a long, then a C int (2^32 + 24 is 24; what wraps negative is "too big").
    ip.mask = errno == ERANGE ? -1 : static_cast<int32_t>(static_cast<uint32_t>(m));
    ip.mask_offset = slash;
    addr.resize(slash);
  }
  bool zone = false;
  if (size_t pct = addr.find('%'); pct != std::string::npos) {
    addr.resize(pct);
    zone = true;
  }
  const bool v6 = addr.find(':') != std::string::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, addr.c_str(), ip.bytes) != 1) return ip;
  if (!v6 && zone) return ip;
  ip.family = v6 ? 6 : 4;
  return ip;
}

namespace {

// An address as 16 bytes; IPv4 as IPv4-mapped IPv6.
void as_v6(const ParsedIp& ip, unsigned char out[16]) {
  if (ip.family == 6) {
    std::copy(ip.bytes, ip.bytes + 16, out);
    return;
  }
  std::fill(out, out + 16, 0);
  out[10] = out[11] = 0xff;
  std::copy(ip.bytes, ip.bytes + 4, out + 12);
}

unsigned group(const unsigned char b[16], int i) {
  return (unsigned{b[2 * i]} << 8) | b[2 * i + 1];
}

}  // namespace

// Exim's ipv6_nmtoa(): groups without leading zeros, the longest run of
// zero groups (the first of equal ones, a single group too) as "::".
std::string ipv6_norm_text(const unsigned char b[16]) {
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (group(b, i) != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && group(b, j) == 0) ++j;
    if (j - i > best_len) best = i, best_len = j - i;
    i = j;
  }
  if (best_len == 8) return ":";
  std::string out;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += i == 0 ? "::" : ":";
      i += best_len - 1;
      continue;
    }
    std::snprintf(buf, sizeof buf, "%x", group(b, i));
    out += buf;
    if (i < 7) out += ':';
  }
  return out;
}

std::string ipv6_full_text(const unsigned char b[16], char sep) {
  std::string out;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    std::snprintf(buf, sizeof buf, "%04x", group(b, i));
    if (i) out += sep;
    out += buf;
  }
  return out;
}

std::optional<Result<std::string>> ip_operator(const Node& n, const std::string& arg) {
  const std::string& op = n.text;
  if (op == "ipv6norm" || op == "ipv6denorm") {
    ParsedIp ip = parse_ip(arg, false);
    if (!ip.family) return Result<std::string>(fail("\"" + arg + "\" is not an IP address"));
    unsigned char b[16];
    as_v6(ip, b);
    return Result<std::string>(op == "ipv6norm" ? ipv6_norm_text(b) : ipv6_full_text(b, ':'));
  }
  if (op != "mask") return std::nullopt;
  ParsedIp ip = parse_ip(arg, true);
  if (!ip.family) return Result<std::string>(fail("\"" + arg + "\" is not an IP address"));
  if (ip.mask_offset == std::string::npos)
    return Result<std::string>(fail("missing mask value in \"" + arg + "\""));
  if (arg.find('%') != std::string::npos)  // Exim's host_aton() takes no interface
    return Result<std::string>(fail("\"" + arg + "\" is not an IP address"));
  const int width = ip.family == 4 ? 32 : 128;
  if (ip.mask < 0 || ip.mask > width)
    return Result<std::string>(fail("mask value too big in \"" + arg + "\""));
  unsigned char* b = ip.bytes;
  const int nbytes = width / 8;
  for (int i = 0; i < nbytes; ++i) b[i] &= mask_byte(ip.mask, i);
  const std::string bits = "/" + std::to_string(ip.mask);
  if (ip.family == 4) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return Result<std::string>(buf + bits);
  }
  const bool normal = !n.params.empty() && n.params[0] != 0;  // ${mask_n:}: colons, compressed
  return Result<std::string>((normal ? ipv6_norm_text(b) : ipv6_full_text(b, '.')) + bits);
}

}  // namespace nougat::filterlang::detail
