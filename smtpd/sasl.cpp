#include "smtpd/sasl.hpp"

#include <array>
#include <cstdint>

#include "smtpd/address.hpp"

namespace nougat::smtpd {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kCancelled = "501 5.7.0 Authentication cancelled";
constexpr std::string_view kBadBase64 = "501 5.5.2 Invalid base64 data";
constexpr std::string_view kBadPlain = "501 5.5.2 Invalid AUTH PLAIN response";
constexpr std::string_view kBadLogin = "501 5.5.2 Invalid AUTH LOGIN response";

constexpr std::array<int8_t, 256> make_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (size_t i = 0; i < kAlphabet.size(); ++i)
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kTable = make_table();

Error err(std::string_view text, std::string detail = {}) {
  return make_error(std::string(text), std::move(detail));
}

bool valid_field(std::string_view s) {
  return s.size() <= kMaxSaslField && s.find('\0') == std::string_view::npos && valid_utf8(s);
}

}  // namespace

Result<std::string> decode_base64(std::string_view in) {
  if (in.size() % 4 != 0) return err(kBadBase64, "length not a multiple of 4");
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') pad = (in.size() >= 2 && in[in.size() - 2] == '=') ? 2 : 1;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    bool last_quad = i + 4 == in.size();
    uint32_t acc = 0;
    for (size_t k = 0; k < 4; ++k) {
      unsigned char c = in[i + k];
      int v;
      if (c == '=' && last_quad && k >= 4 - pad) {
        v = 0;
      } else {
        v = kTable[c];
        if (v < 0) return err(kBadBase64, "character outside the alphabet");
      }
      acc = (acc << 6) | static_cast<uint32_t>(v);
    }
    size_t bytes = last_quad ? 3 - pad : 3;
    // Canonical form: the bits dropped by padding must be zero.
    if (last_quad && pad == 1 && (acc & 0xFF) != 0) return err(kBadBase64, "non-zero pad bits");
    if (last_quad && pad == 2 && (acc & 0xFFFF) != 0) return err(kBadBase64, "non-zero pad bits");
    char b[3] = {static_cast<char>(acc >> 16), static_cast<char>(acc >> 8), static_cast<char>(acc)};
    out.append(b, bytes);
  }
  return out;
}

std::string encode_base64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t acc = (static_cast<unsigned char>(in[i]) << 16) |
                   (static_cast<unsigned char>(in[i + 1]) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out.push_back(kAlphabet[(acc >> k) & 0x3F]);
  }
  size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t acc = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) acc |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(acc >> 18) & 0x3F]);
    out.push_back(kAlphabet[(acc >> 12) & 0x3F]);
    out.push_back(rest == 2 ? kAlphabet[(acc >> 6) & 0x3F] : '=');
    out.push_back('=');
  }
  return out;
}

Result<std::string> decode_sasl_response(std::string_view line) {
  if (line == "*") return err(kCancelled);
  if (line == "=") return std::string();  // empty initial response; an empty line decodes to ""
  return decode_base64(line);
}

Result<Credentials> parse_plain(std::string_view b64) {
  auto raw = decode_sasl_response(b64);
  if (!raw) return raw.error();
  std::string_view s = *raw;
  size_t a = s.find('\0');
  if (a == std::string_view::npos) return err(kBadPlain, "no NUL");
  size_t b = s.find('\0', a + 1);
  if (b == std::string_view::npos) return err(kBadPlain, "one NUL");
  Credentials c{std::string(s.substr(0, a)), std::string(s.substr(a + 1, b - a - 1)),
                std::string(s.substr(b + 1))};
  if (c.authcid.empty() || c.password.empty()) return err(kBadPlain, "empty authcid or passwd");
  if (!valid_field(c.authzid) || !valid_field(c.authcid) || !valid_field(c.password))
    return err(kBadPlain, "field too long, extra NUL or bad UTF-8");
  return c;
}

std::string_view LoginExchange::prompt() const {
  switch (step_) {
    case Step::kUsername:
      return kUsernamePrompt;
    case Step::kPassword:
      return kPasswordPrompt;
    case Step::kDone:
    case Step::kFailed:
      break;
  }
  return "";
}

Status LoginExchange::on_response(std::string_view line) {
  if (step_ == Step::kDone || step_ == Step::kFailed)
    return err(kBadLogin, "response after the exchange ended");
  auto raw = decode_sasl_response(line);
  if (!raw || !valid_field(*raw)) {
    step_ = Step::kFailed;
    if (!raw) return raw.error();
    return err(kBadLogin, "field too long, NUL or bad UTF-8");
  }
  if (step_ == Step::kUsername) {
    if (raw->empty()) {
      step_ = Step::kFailed;
      return err(kBadLogin, "empty username");
    }
    creds_.authcid = std::move(*raw);
    step_ = Step::kPassword;
  } else {
    creds_.password = std::move(*raw);
    step_ = Step::kDone;
  }
  return Ok{};
}

}  // namespace nougat::smtpd
