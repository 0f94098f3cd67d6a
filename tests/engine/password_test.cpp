#include "engine/password.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace nougat::engine {
namespace {

// Known vectors from implementations independent of libxcrypt:
// Drepper's SHA-crypt spec and `openssl passwd -5/-6/-1`, the crypt_blowfish
// test suite, and the classic DES crypt vector (cross-checked with Python's
// crypt module).
struct Vector {
  const char* plain;
  const char* stored;
};
const Vector kVectors[] = {
    {"Hello world!",
     "{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
     "O817G3uBnIFNjnQJuesI68u4OTLiBFd"
     "cbYEdFCoEOfaS35inz1"},
    {"pw",
     "{SHA512-CRYPT}$6$saltsalt$pauPrmdmG4BTE9h2HPmywiw152IFch6BJCEsaY6D."
     "PLTfpV8sqvXwWdyfsgVgozkYH9B80"
     "bAip/08R2BPH2xk/"},
    {"Hello world!", "{SHA256-CRYPT}$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
    {"pw", "{MD5-CRYPT}$1$saltsalt$6SNdNaZLKst2LlSm7oPPL1"},
    {"U*U", "{BLF-CRYPT}$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
    {"U*U*", "{BLF-CRYPT}$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"},
    {"U*U*U", "{BLF-CRYPT}$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"},
    {"test", "{CRYPT}abgOeLfPimXQo"},
    {"pw", "{CRYPT}$1$saltsalt$6SNdNaZLKst2LlSm7oPPL1"},
    {"pw", "$1$saltsalt$6SNdNaZLKst2LlSm7oPPL1"},  // no prefix: {CRYPT}
    {"pw",
     "{sha512-crypt}$6$saltsalt$pauPrmdmG4BTE9h2HPmywiw152IFch6BJCEsaY6D.PLTfpV8sqvXwWdyfsgVgozk"
     "YH9B80bAip/08R2BPH2xk/"},  // scheme names are case-insensitive
    {"secret", "{PLAIN}secret"},
    {"", "{PLAIN}"},  // never: checked below as a non-match
};

TEST(PasswordTest, KnownVectorsVerify) {
  for (const auto& v : kVectors) {
    if (std::string_view(v.plain).empty()) continue;
    EXPECT_TRUE(verify_password(v.plain, v.stored)) << v.stored;
    EXPECT_FALSE(verify_password(std::string(v.plain) + "x", v.stored)) << v.stored;
    EXPECT_FALSE(verify_password("", v.stored)) << v.stored;
  }
}

TEST(PasswordTest, Rejects) {
  const std::string sha = kVectors[1].stored;
  EXPECT_FALSE(verify_password("pw", "{NOPE}pw"));
  EXPECT_FALSE(verify_password("pw", "{PLAIN"));
  EXPECT_FALSE(verify_password("pw", ""));
  EXPECT_FALSE(verify_password("pw", "{CRYPT}"));
  EXPECT_FALSE(verify_password("pw", "{CRYPT}*"));
  EXPECT_FALSE(verify_password("pw", "{CRYPT}!locked"));
  EXPECT_FALSE(verify_password("", "{PLAIN}"));
  // A hash under the wrong scheme label does not verify.
  EXPECT_FALSE(verify_password("pw", "{SHA512-CRYPT}$1$saltsalt$6SNdNaZLKst2LlSm7oPPL1"));
  EXPECT_FALSE(verify_password("pw", "{BLF-CRYPT}" + sha.substr(14)));
  // NUL: crypt(3) would see only "pw".
  EXPECT_FALSE(verify_password(std::string("pw\0xyz", 6), sha));
  EXPECT_FALSE(verify_password(std::string("pw\0", 3), "{PLAIN}pw"));
  EXPECT_FALSE(verify_password("secre", "{PLAIN}secret"));
  EXPECT_FALSE(verify_password("secrets", "{PLAIN}secret"));
}

TEST(PasswordTest, RoundTripEachScheme) {
  for (Scheme s : {Scheme::kSha512Crypt, Scheme::kBlfCrypt}) {
    auto h = hash_password("correct horse", s);
    ASSERT_TRUE(h.ok()) << h.error().text;
    EXPECT_TRUE(is_known_password_scheme(*h));
    EXPECT_TRUE(verify_password("correct horse", *h)) << *h;
    EXPECT_FALSE(verify_password("correct horsf", *h));
    EXPECT_FALSE(verify_password("", *h));
  }
  auto sha = hash_password("pw");
  ASSERT_TRUE(sha.ok());
  EXPECT_EQ(sha->rfind("{SHA512-CRYPT}$6$", 0), 0u) << *sha;
  auto blf = hash_password("pw", Scheme::kBlfCrypt);
  ASSERT_TRUE(blf.ok());
  EXPECT_EQ(blf->rfind("{BLF-CRYPT}$2y$09$", 0), 0u) << *blf;
}

TEST(PasswordTest, SaltsDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 5; ++i) seen.insert(*hash_password("same"));
  EXPECT_EQ(seen.size(), 5u);
}

TEST(PasswordTest, HashRefusesBadInput) {
  EXPECT_FALSE(hash_password("").ok());
  EXPECT_FALSE(hash_password(std::string("a\0b", 3)).ok());
}

TEST(PasswordTest, SchemeNames) {
  EXPECT_EQ(parse_scheme("SHA512-CRYPT"), Scheme::kSha512Crypt);
  EXPECT_EQ(parse_scheme("blf-crypt"), Scheme::kBlfCrypt);
  EXPECT_FALSE(parse_scheme("MD5-CRYPT").has_value());
  EXPECT_EQ(scheme_name(Scheme::kBlfCrypt), "BLF-CRYPT");
  EXPECT_TRUE(is_known_password_scheme("{PLAIN}x"));
  EXPECT_TRUE(is_known_password_scheme("$6$abc$def"));
  EXPECT_FALSE(is_known_password_scheme("{SSHA}abc"));
  EXPECT_FALSE(is_known_password_scheme("{SHA512-CRYPT}$1$abc"));
}

TEST(PasswordTest, ConcurrentVerifyIsThreadSafe) {
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (verify_password("pw", kVectors[1].stored) &&
            !verify_password("px", kVectors[1].stored) && verify_password("pw", kVectors[3].stored))
          ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 40);
}

}  // namespace
}  // namespace nougat::engine
