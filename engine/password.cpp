#include "engine/password.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <memory>

namespace nougat::engine {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lo = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; };
    if (lo(static_cast<unsigned char>(a[i])) != lo(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

struct SchemeSplit {
  std::string_view name, hash;
};

// "{NAME}hash" → {NAME, hash}; no prefix → {"CRYPT", stored} as in Dovecot's
// passwd-file. An unterminated "{" yields an empty name (unknown scheme).
SchemeSplit split_scheme(std::string_view stored) {
  if (stored.empty() || stored.front() != '{') return {"CRYPT", stored};
  auto close = stored.find('}');
  if (close == std::string_view::npos) return {{}, stored};
  return {stored.substr(1, close - 1), stored.substr(close + 1)};
}

// The crypt(3) prefixes each scheme may carry. None: any crypt string.
enum class Kind { kUnknown, kPlain, kCrypt };
struct SchemeInfo {
  Kind kind = Kind::kUnknown;
  std::array<std::string_view, 3> prefixes{};

  bool any_prefix() const { return prefixes[0].empty(); }
  bool prefix_fits(std::string_view hash) const {
    if (any_prefix()) return true;
    for (auto p : prefixes)
      if (!p.empty() && hash.substr(0, p.size()) == p) return true;
    return false;
  }
};

SchemeInfo scheme_info(std::string_view name) {
  if (iequals(name, "SHA512-CRYPT")) return {Kind::kCrypt, {"$6$"}};
  if (iequals(name, "SHA256-CRYPT")) return {Kind::kCrypt, {"$5$"}};
  if (iequals(name, "BLF-CRYPT")) return {Kind::kCrypt, {"$2y$", "$2b$", "$2a$"}};
  if (iequals(name, "MD5-CRYPT")) return {Kind::kCrypt, {"$1$"}};
  if (iequals(name, "CRYPT")) return {Kind::kCrypt, {}};
  if (iequals(name, "PLAIN") || iequals(name, "CLEARTEXT")) return {Kind::kPlain, {}};
  return {};
}

bool digest(std::string_view s, std::array<unsigned char, 32>& out) {
  unsigned int len = 0;
  return EVP_Digest(s.data(), s.size(), out.data(), &len, EVP_sha256(), nullptr) == 1 &&
         len == out.size();
}

// Constant-time in the contents and, by comparing digests, in the lengths too
// (a {PLAIN} password's length is as secret as the password).
bool secret_equal(std::string_view a, std::string_view b) {
  std::array<unsigned char, 32> da{}, db{};
  if (!digest(a, da) || !digest(b, db)) return false;
  return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0 && a.size() == b.size();
}

// crypt_rn with heap state (struct crypt_data is ~32 KiB: too big for a
// coroutine or worker stack to carry casually). nullopt on any failure.
std::optional<std::string> run_crypt(std::string_view plain, const std::string& setting) {
  if (plain.find('\0') != std::string_view::npos) return std::nullopt;
  auto data = std::make_unique<crypt_data>();  // value-initialised: zeroed, as crypt_rn wants
  std::string phrase(plain);
  const char* out = crypt_rn(phrase.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(phrase.data(), phrase.size());
  std::optional<std::string> result;
  if (out && out[0] != '*' && out[0] != '\0') result = std::string(out);
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return result;
}

}  // namespace

std::optional<Scheme> parse_scheme(std::string_view name) {
  if (iequals(name, "SHA512-CRYPT")) return Scheme::kSha512Crypt;
  if (iequals(name, "BLF-CRYPT")) return Scheme::kBlfCrypt;
  return std::nullopt;
}

std::string_view scheme_name(Scheme s) {
  switch (s) {
    case Scheme::kSha512Crypt:
      return "SHA512-CRYPT";
    case Scheme::kBlfCrypt:
      return "BLF-CRYPT";
  }
  return "SHA512-CRYPT";
}

Result<std::string> hash_password(std::string_view plain, Scheme scheme) {
  if (plain.empty()) return make_error("empty password");
  if (plain.find('\0') != std::string_view::npos) return make_error("password contains a NUL byte");
  const char* prefix = scheme == Scheme::kBlfCrypt ? "$2y$" : "$6$";
  unsigned long count = scheme == Scheme::kBlfCrypt ? kBlfCryptCost : 0;  // 0: $6$ default 5000
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
  if (!crypt_gensalt_rn(prefix, count, nullptr, 0, salt.data(), static_cast<int>(salt.size())))
    return make_error("cannot make a password salt",
                      std::string("crypt_gensalt_rn: ") + std::strerror(errno));
  auto hashed = run_crypt(plain, salt.data());
  if (!hashed) return make_error("cannot hash the password", "crypt_rn failed");
  return "{" + std::string(scheme_name(scheme)) + "}" + *hashed;
}

bool is_known_password_scheme(std::string_view stored) {
  auto [name, hash] = split_scheme(stored);
  auto info = scheme_info(name);
  if (info.kind != Kind::kCrypt) return info.kind == Kind::kPlain;
  return info.prefix_fits(hash);
}

bool verify_password(std::string_view plain, std::string_view stored) {
  auto [name, hash] = split_scheme(stored);
  auto info = scheme_info(name);
  switch (info.kind) {
    case Kind::kUnknown:
      return false;
    case Kind::kPlain:
      return !hash.empty() && secret_equal(plain, hash);  // "{PLAIN}" alone is no password
    case Kind::kCrypt:
      break;
  }
  if (hash.empty()) return false;
  if (!info.prefix_fits(hash)) return false;
  auto computed = run_crypt(plain, std::string(hash));
  if (!computed || computed->size() != hash.size()) return false;
  return CRYPTO_memcmp(computed->data(), hash.data(), hash.size()) == 0;
}

}  // namespace nougat::engine
