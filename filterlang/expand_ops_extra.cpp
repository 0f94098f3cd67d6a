// Less common pure operators: ${rxquote:}, ${sha2_N:}, ${sha3_N:},
// ${base32:}, ${base62:}, ${time_interval:}, ${reverse_ip:},
// and the ${hmac{md5|sha1}{secret}{text}} item. Texts verified with exim -bf.
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang::detail {
namespace {

bool decimal(const std::string& s, unsigned long long& v) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  v = std::strtoull(s.c_str(), nullptr, 10);
  return true;
}

std::optional<std::string> reverse_ip(const std::string& s) {
  unsigned char b[16];
  if (inet_pton(AF_INET, s.c_str(), b) == 1)
    return std::to_string(b[3]) + "." + std::to_string(b[2]) + "." + std::to_string(b[1]) + "." + std::to_string(b[0]);
  if (inet_pton(AF_INET6, s.c_str(), b) == 1) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (int i = 15; i >= 0; --i) {
      if (!out.empty()) out += '.';
      out += kHex[b[i] & 15];
      out += '.';
      out += kHex[b[i] >> 4];
    }
    return out;
  }
  return std::nullopt;
}

Result<std::string> time_interval(const std::string& arg) {
  unsigned long long v;
  if (!decimal(arg, v) || v > 0x7fffffffULL)
    return fail("string \"" + arg + "\" is not a positive number in \"time_interval\" operator");
  if (v == 0) return std::string("0s");
  std::string out;
  static constexpr std::pair<unsigned long long, char> kUnits[] = {{604800, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  for (auto [secs, c] : kUnits)
    if (v >= secs) {
      out += std::to_string(v / secs) + c;
      v %= secs;
    }
  return out;
}

// ${time_eval:2d4h5m}: seconds, as Exim's readconf_readtime() reads an
// interval: one or more <digits><w|d|h|m|s>, nothing else, in C int
// arithmetic (a number is read as a long and cut to int, products and the
// sum wrap); a result below zero is an error too.
Result<std::string> time_eval(const std::string& arg) {
  auto bad = [&] { return fail("string \"" + arg + "\" is not an Exim time interval in \"time_eval\" operator"); };
  uint32_t yield = 0;
  size_t i = 0;
  do {
    if (i >= arg.size() || !std::isdigit(static_cast<unsigned char>(arg[i]))) return bad();
    unsigned long long v = 0;
    bool saturated = false;
    for (; i < arg.size() && std::isdigit(static_cast<unsigned char>(arg[i])); ++i) {
      if (v > (0x7fffffffffffffffULL - 9) / 10) saturated = true;
      if (!saturated) v = v * 10 + unsigned(arg[i] - '0');
    }
    if (saturated) v = 0x7fffffffffffffffULL;  // strtol's LONG_MAX
    uint32_t value = static_cast<uint32_t>(v);
    if (i >= arg.size()) return bad();
    switch (arg[i++]) {
      case 'w': value *= 7; [[fallthrough]];
      case 'd': value *= 24; [[fallthrough]];
      case 'h': value *= 60; [[fallthrough]];
      case 'm': value *= 60; [[fallthrough]];
      case 's': break;
      default: return bad();
    }
    yield += value;
  } while (i < arg.size());
  if (static_cast<int32_t>(yield) < 0) return bad();
  return std::to_string(static_cast<int32_t>(yield));
}

}  // namespace

std::optional<Result<std::string>> extra_operator(const Node& n, const std::string& arg) {
  const std::string& op = n.text;
  if (op == "rxquote") {
    std::string out;
    for (char c : arg) {
      if (!std::isalnum(static_cast<unsigned char>(c))) out += '\\';
      out += c;
    }
    return Result<std::string>(out);
  }
  if (op == "sha2" || op == "sha3") {
    long bits = n.params.empty() ? 256 : n.params[0];
    const EVP_MD* md = nullptr;
    if (op == "sha2") md = bits == 256 ? EVP_sha256() : bits == 384 ? EVP_sha384() : bits == 512 ? EVP_sha512() : nullptr;
    else md = bits == 224 ? EVP_sha3_224() : bits == 256 ? EVP_sha3_256() : bits == 384 ? EVP_sha3_384()
             : bits == 512 ? EVP_sha3_512() : nullptr;
    if (!md) return Result<std::string>(fail("unrecognised " + op + " variant"));
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(arg.data(), arg.size(), buf, &len, md, nullptr);
    return Result<std::string>(hex_text(buf, len, true));
  }
  if (op == "base32" || op == "base62") {
    unsigned long long v;
    if (!decimal(arg, v))
      return Result<std::string>(fail("argument for " + op + " operator is \"" + arg + "\", which is not a decimal number"));
    std::string out;
    if (op == "base32") {
      static constexpr char kB32[] = "abcdefghijklmnopqrstuvwxyz234567";
      for (; v; v >>= 5) out.insert(out.begin(), kB32[v & 31]);
    } else {
      static constexpr char kB62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
      for (int i = 0; i < 6; ++i, v /= 62) out.insert(out.begin(), kB62[v % 62]);
    }
    return Result<std::string>(out);
  }
  if (op == "base32d" || op == "base62d") {
    static constexpr std::string_view kB32 = "abcdefghijklmnopqrstuvwxyz234567";
    static constexpr std::string_view kB62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const std::string_view digits = op == "base32d" ? kB32 : kB62;
    unsigned long long v = 0;
    for (char c : arg) {
      size_t d = digits.find(c);
      if (d == std::string_view::npos)
        return Result<std::string>(fail("argument for " + op + " operator is \"" + arg + "\", which is not a base " +
                                        (op == "base32d" ? "32" : "62") + " number"));
      v = v * digits.size() + d;
    }
    return Result<std::string>(std::to_string(v));
  }
  if (op == "from_utf8") {
    // UTF-8 to ISO-8859-1, characters past 255 becoming '_', read as Exim's
    // GETUTF8INC does: a lead byte takes its continuation bytes unchecked.
    std::string out;
    for (size_t i = 0; i < arg.size();) {
      unsigned long c = static_cast<unsigned char>(arg[i++]);
      if ((c & 0xC0) == 0xC0) {
        const int extra = c < 0xE0 ? 1 : c < 0xF0 ? 2 : c < 0xF8 ? 3 : c < 0xFC ? 4 : 5;
        c &= 0x3Fu >> extra;
        for (int k = 0; k < extra; ++k) c = (c << 6) | (i < arg.size() ? static_cast<unsigned char>(arg[i++]) & 0x3F : 0);
      }
      out += c > 255 ? '_' : static_cast<char>(c);
    }
    return Result<std::string>(out);
  }
  if (op == "time_interval") return time_interval(arg);
  if (op == "time_eval") return time_eval(arg);
  if (op == "reverse_ip") {
    auto r = reverse_ip(arg);
    if (!r) return Result<std::string>(fail("reverse_ip() not given an IP address [" + arg + "]"));
    return Result<std::string>(*r);
  }
  return std::nullopt;
}

Result<std::string> hmac_item(const std::string& algo, const std::string& secret, const std::string& text) {
  const EVP_MD* md = algo == "md5" ? EVP_md5() : algo == "sha1" ? EVP_sha1() : nullptr;
  if (!md) return fail("hmac algorithm \"" + algo + "\" is not recognised");
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(text.data()),
       text.size(), buf, &len);
  return hex_text(buf, len, false);
}

}  // namespace nougat::filterlang::detail
