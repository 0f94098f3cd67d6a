#include "engine/transfer_decode.hpp"

#include <array>
#include <cstdint>

namespace nougat::engine {
namespace {

constexpr std::array<int8_t, 256> make_b64_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < alphabet.size(); ++i)
    t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kB64 = make_b64_table();

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string decode_base64(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int quad = 0;  // characters in the current group
  int pads = 0;
  for (char ch : in) {
    if (ch == '=') {
      // Same rule as most lenient decoders: a group with >= 2 data characters
      // completed by padding ends the data.
      if (quad >= 2 && quad + ++pads >= 4) break;
      continue;
    }
    int v = kB64[static_cast<unsigned char>(ch)];
    if (v < 0) continue;
    pads = 0;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    if (++quad == 4) {
      out.push_back(static_cast<char>((acc >> 16) & 0xff));
      out.push_back(static_cast<char>((acc >> 8) & 0xff));
      out.push_back(static_cast<char>(acc & 0xff));
      acc = 0;
      quad = 0;
    }
  }
  if (quad == 2) {
    out.push_back(static_cast<char>((acc >> 4) & 0xff));
  } else if (quad == 3) {
    out.push_back(static_cast<char>((acc >> 10) & 0xff));
    out.push_back(static_cast<char>((acc >> 2) & 0xff));
  }
  return out;
}

std::string decode_qp(std::string_view in, bool header_mode) {
  std::string out;
  out.reserve(in.size());
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    char c = in[i];
    if (c == '_' && header_mode) {
      out.push_back(' ');
      ++i;
      continue;
    }
    if (c != '=') {
      out.push_back(c);
      ++i;
      continue;
    }
    // "=XX"
    if (i + 2 < n) {
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 3;
        continue;
      }
    }
    // Soft line break: "=" [spaces/tabs] CRLF | LF | end of input.
    size_t j = i + 1;
    while (j < n && (in[j] == ' ' || in[j] == '\t')) ++j;
    if (j == n) {
      i = n;
      continue;
    }
    if (in[j] == '\n') {
      i = j + 1;
      continue;
    }
    if (in[j] == '\r' && j + 1 < n && in[j + 1] == '\n') {
      i = j + 2;
      continue;
    }
    if (in[j] == '\r' && j + 1 == n) {
      i = n;
      continue;
    }
    out.push_back('=');
    ++i;
  }
  return out;
}

}  // namespace nougat::engine
