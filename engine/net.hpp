// Small network value types shared by config and the protocol front ends:
// listener endpoints ("127.0.0.1:25", "[::1]:25") and CIDR networks for
// relay control. Pure parsing; no sockets here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/result.hpp"

namespace nougat::engine {

struct Endpoint {
  std::string host;  // literal address, no brackets
  uint16_t port = 0;
  std::string to_string() const;
};
Result<Endpoint> parse_endpoint(std::string_view s);

// A service to connect to (clamd): "/path" or "unix:/path", or
// "[tcp:]host:port" with a host name or address ("[::1]:3310") and a
// numeric port.
struct SocketAddress {
  bool unix_socket = true;
  std::string path;        // unix
  std::string host, port;  // tcp
};
Result<SocketAddress> parse_socket_address(std::string_view s);

// An IPv4 or IPv6 address in network byte order; v4 stored as v4-mapped v6.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;
  std::string to_string() const;
};
Result<IpAddress> parse_ip(std::string_view s);

struct Cidr {
  IpAddress net;
  unsigned prefix = 0;  // in bits of the v6 form
  bool contains(const IpAddress& a) const;
  std::string to_string() const;
};
Result<Cidr> parse_cidr(std::string_view s);

}  // namespace nougat::engine
