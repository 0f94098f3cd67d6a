// Test fixtures shared by the antivirus tests: the EICAR string, a minimal
// zip writer (stored entries) and a MIME message builder, so archives and
// attachments are built in the test rather than shipped as binaries.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scanners/antivirus.hpp"

namespace nougat::scanners::testing {

// Built from two halves so this source file is not itself "infected".
inline std::string eicar() {
  return std::string("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-") + "ANTIVIRUS-TEST-FILE!$H+H*";
}

inline uint32_t crc32(std::string_view d) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : d) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// A zip archive with the given (name, content) entries, stored uncompressed.
inline std::string zip(const std::vector<std::pair<std::string, std::string>>& files) {
  auto u16 = [](std::string& o, uint16_t v) { o += char(v & 0xFF); o += char(v >> 8); };
  auto u32 = [&](std::string& o, uint32_t v) { u16(o, uint16_t(v & 0xFFFF)); u16(o, uint16_t(v >> 16)); };
  std::string out, central;
  for (const auto& [name, data] : files) {
    uint32_t offset = static_cast<uint32_t>(out.size()), crc = crc32(data);
    auto size = static_cast<uint32_t>(data.size());
    u32(out, 0x04034b50); u16(out, 10); u16(out, 0); u16(out, 0); u16(out, 0); u16(out, 0x21);
    u32(out, crc); u32(out, size); u32(out, size); u16(out, uint16_t(name.size())); u16(out, 0);
    out += name + data;
    u32(central, 0x02014b50); u16(central, 20); u16(central, 10); u16(central, 0); u16(central, 0);
    u16(central, 0); u16(central, 0x21); u32(central, crc); u32(central, size); u32(central, size);
    u16(central, uint16_t(name.size())); u16(central, 0); u16(central, 0); u16(central, 0);
    u16(central, 0); u32(central, 0); u32(central, offset);
    central += name;
  }
  uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  u32(out, 0x06054b50); u16(out, 0); u16(out, 0); u16(out, uint16_t(files.size()));
  u16(out, uint16_t(files.size())); u32(out, static_cast<uint32_t>(central.size())); u32(out, cd_offset);
  u16(out, 0);
  return out;
}

inline std::string base64(std::string_view in) {
  static constexpr char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out, line;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) v |= uint32_t(uint8_t(in[i + 1])) << 8;
    if (i + 2 < in.size()) v |= uint8_t(in[i + 2]);
    line += k[(v >> 18) & 63];
    line += k[(v >> 12) & 63];
    line += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    line += i + 2 < in.size() ? k[v & 63] : '=';
    if (line.size() >= 76) { out += line + "\r\n"; line.clear(); }
  }
  if (!line.empty()) out += line + "\r\n";
  return out;
}

inline std::string plain_message(std::string_view body) {
  return "From: a@example.org\r\nTo: b@example.org\r\nSubject: test\r\n\r\n" + std::string(body) + "\r\n";
}

// multipart/mixed: a text part and one base64 attachment.
inline std::string message_with_attachment(std::string_view filename, std::string_view content,
                                           std::string_view type = "application/octet-stream") {
  std::string m =
      "From: a@example.org\r\nTo: b@example.org\r\nSubject: attachment\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"XyZ\"\r\n\r\n"
      "--XyZ\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
      "--XyZ\r\nContent-Type: " + std::string(type) + "; name=\"" + std::string(filename) + "\"\r\n"
      "Content-Disposition: attachment; filename=\"" + std::string(filename) + "\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" + base64(content) + "--XyZ--\r\n";
  return m;
}

// The shipped test signatures (rules/clamav in this source tree).
inline std::filesystem::path test_rules_dir() { return default_signature_dirs().back(); }

}  // namespace nougat::scanners::testing
