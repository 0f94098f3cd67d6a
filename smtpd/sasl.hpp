// SASL helpers for AUTH (RFC 4954): strict base64, PLAIN (RFC 4616) and the
// LOGIN exchange. Pure code: the session sends prompts and reads lines.
//
// Contract: decode_base64 accepts only canonical base64 (RFC 4648 alphabet,
// length a multiple of 4, '=' padding only at the end, zero unused bits, no
// whitespace). decode_sasl_response also maps "*" to a cancel error and "="
// to an empty response (RFC 4954 4). Error::text is the reply to send
// (without CRLF): "501 5.7.0 Authentication cancelled", "501 5.5.2 Invalid
// base64 data", "501 5.5.2 Invalid AUTH PLAIN response". Each credential
// field is at most kMaxSaslField octets of valid UTF-8 without NUL.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/result.hpp"

namespace nougat::smtpd {

inline constexpr size_t kMaxSaslField = 255;

Result<std::string> decode_base64(std::string_view b64);
std::string encode_base64(std::string_view bytes);

// A client's SASL response line (or an AUTH initial response).
Result<std::string> decode_sasl_response(std::string_view line);

struct Credentials {
  std::string authzid;  // may be empty (= authcid)
  std::string authcid;
  std::string password;
};

// AUTH PLAIN: base64(authzid NUL authcid NUL passwd); authcid and passwd non-empty.
Result<Credentials> parse_plain(std::string_view b64);

// AUTH LOGIN. Usage:
//   LoginExchange lx;
//   if (!initial.empty()) check lx.on_response(initial)   // "AUTH LOGIN <b64 user>"
//   while (!lx.done()) { send lx.prompt() + CRLF; read line; if (!lx.on_response(line)) reply+stop;
//   } then verify lx.credentials().
// After an error the exchange is over: failed() is true, done() stays false,
// and the session replies with the error text.
class LoginExchange {
 public:
  static constexpr std::string_view kUsernamePrompt = "334 VXNlcm5hbWU6";  // "Username:"
  static constexpr std::string_view kPasswordPrompt = "334 UGFzc3dvcmQ6";  // "Password:"

  std::string_view prompt() const;  // "" when done or failed
  Status on_response(std::string_view line);
  bool done() const { return step_ == Step::kDone; }  // both fields received
  bool failed() const { return step_ == Step::kFailed; }
  const Credentials& credentials() const { return creds_; }

 private:
  enum class Step { kUsername, kPassword, kDone, kFailed };
  Step step_ = Step::kUsername;
  Credentials creds_;
};

}  // namespace nougat::smtpd
