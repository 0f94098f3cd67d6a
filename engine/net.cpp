#include "engine/net.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace nougat::engine {

std::string Endpoint::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<Endpoint> parse_endpoint(std::string_view s) {
  Endpoint ep;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return make_error("expected [IPv6]:PORT");
    ep.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return make_error("expected ADDRESS:PORT");
    ep.host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  }
  if (ep.host.empty()) return make_error("missing address in ADDRESS:PORT");
  if (!parse_ip(ep.host)) return make_error("not an IP address: " + ep.host);
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p > 65535)
    return make_error("bad port: " + std::string(port));
  ep.port = static_cast<uint16_t>(p);
  return ep;
}

Result<SocketAddress> parse_socket_address(std::string_view s) {
  SocketAddress a;
  std::string_view given = s;
  if (s.starts_with("unix:")) s.remove_prefix(5);
  if (s.starts_with("/")) {
    a.path = std::string(s);
    return a;
  }
  if (s.starts_with("tcp:")) s.remove_prefix(4);
  auto colon = s.rfind(':');
  if (s.empty() || colon == std::string_view::npos || colon == 0 || colon + 1 == s.size())
    return make_error("bad socket \"" + std::string(given) + "\" (use /path, unix:/path or host:port)");
  a.unix_socket = false;
  a.host = std::string(s.substr(0, colon));
  a.port = std::string(s.substr(colon + 1));
  if (a.host.size() > 2 && a.host.front() == '[' && a.host.back() == ']') a.host = a.host.substr(1, a.host.size() - 2);
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(a.port.data(), a.port.data() + a.port.size(), p);
  if (ec != std::errc() || ptr != a.port.data() + a.port.size() || p == 0 || p > 65535)
    return make_error("bad port \"" + a.port + "\" in socket \"" + std::string(given) + "\"");
  return a;
}

Result<IpAddress> parse_ip(std::string_view s) {
  std::string str(s);
  IpAddress a;
  in_addr v4{};
  if (inet_pton(AF_INET, str.c_str(), &v4) == 1) {
    a.v4 = true;
    a.bytes[10] = a.bytes[11] = 0xff;
    std::memcpy(&a.bytes[12], &v4, 4);
    return a;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, str.c_str(), &v6) == 1) {
    std::memcpy(a.bytes.data(), &v6, 16);
    // A v4-mapped v6 address is the same host as the v4 one.
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    a.v4 = std::memcmp(a.bytes.data(), kMapped, 12) == 0;
    return a;
  }
  return make_error("not an IP address: " + str);
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (v4) return inet_ntop(AF_INET, &bytes[12], buf, sizeof buf);
  return inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
}

bool Cidr::contains(const IpAddress& a) const {
  unsigned full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a.bytes.data(), net.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (net.bytes[full] & mask);
}

std::string Cidr::to_string() const {
  return net.to_string() + "/" + std::to_string(net.v4 ? prefix - 96 : prefix);
}

Result<Cidr> parse_cidr(std::string_view s) {
  auto slash = s.find('/');
  auto ip = parse_ip(s.substr(0, slash));
  if (!ip) return ip.error();
  Cidr c;
  c.net = *ip;
  unsigned max = ip->v4 ? 32 : 128;
  unsigned bits = max;
  if (slash != std::string_view::npos) {
    auto p = s.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), bits);
    if (ec != std::errc() || ptr != p.data() + p.size() || bits > max)
      return make_error("bad prefix length in " + std::string(s));
  }
  c.prefix = ip->v4 ? bits + 96 : bits;
  return c;
}

}  // namespace nougat::engine
