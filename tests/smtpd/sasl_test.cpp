#include "smtpd/sasl.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nougat::smtpd {
namespace {

TEST(SaslTest, Base64RoundTrip) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
      {std::string("\0\xff\xfe", 3), "AP/+"},
  };
  for (const auto& [plain, b64] : cases) {
    EXPECT_EQ(encode_base64(plain), b64);
    auto d = decode_base64(b64);
    ASSERT_TRUE(d.ok()) << b64;
    EXPECT_EQ(*d, plain);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); ++n)
    ASSERT_EQ(*decode_base64(encode_base64(all.substr(0, n))), all.substr(0, n));
}

TEST(SaslTest, Base64Strict) {
  for (std::string bad : {"Zg", "Zg=", "Zg===", "Zm9v\r\n", "Zm 9v",
                          "Zh==", "Zm9=", "====", "Zg==Zg==", "=Zg=", "Z===", "Zm9v*", "Zm-_"}) {
    SCOPED_TRACE(bad);
    auto r = decode_base64(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().text, "501 5.5.2 Invalid base64 data");
  }
}

TEST(SaslTest, SaslResponse) {
  EXPECT_EQ(*decode_sasl_response("="), "");
  EXPECT_EQ(*decode_sasl_response(""), "");
  EXPECT_EQ(*decode_sasl_response("Zm9v"), "foo");
  auto r = decode_sasl_response("*");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().text, "501 5.7.0 Authentication cancelled");
}

TEST(SaslTest, Plain) {
  auto c = parse_plain(encode_base64(std::string("\0tim\0tanstaaftanstaaf", 21)));
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_EQ(c->authzid, "");
  EXPECT_EQ(c->authcid, "tim");
  EXPECT_EQ(c->password, "tanstaaftanstaaf");

  c = parse_plain(encode_base64(std::string("Ursel\0Kurt\0xipj3plmq", 20)));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->authzid, "Ursel");
  EXPECT_EQ(c->authcid, "Kurt");
  EXPECT_EQ(c->password, "xipj3plmq");

  const std::string at_limit(kMaxSaslField, 'x');
  EXPECT_TRUE(parse_plain(encode_base64(at_limit + '\0' + at_limit + '\0' + at_limit)).ok());

  const std::string over(kMaxSaslField + 1, 'x');
  const std::vector<std::string> bad = {
      std::string("\0\0pw", 4),         // empty authcid
      std::string("\0user\0", 6),       // empty password
      "userpw",                         // no NUL
      std::string("user\0pw", 7),       // one NUL
      std::string("\0u\0p\0x", 6),      // extra NUL
      over + std::string("\0u\0p", 4),  // authzid too long
      std::string("\0", 1) + over + std::string("\0p", 2),
      std::string("\0u\0", 3) + over,
      std::string("\0u\xff\0p", 5),  // bad UTF-8
  };
  for (const auto& raw : bad) {
    SCOPED_TRACE(testing::PrintToString(raw));
    auto r = parse_plain(encode_base64(raw));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().text, "501 5.5.2 Invalid AUTH PLAIN response");
  }
  EXPECT_EQ(parse_plain("*").error().text, "501 5.7.0 Authentication cancelled");
  EXPECT_EQ(parse_plain("=").error().text, "501 5.5.2 Invalid AUTH PLAIN response");
  EXPECT_EQ(parse_plain("!!!!").error().text, "501 5.5.2 Invalid base64 data");
}

TEST(SaslTest, LoginExchange) {
  LoginExchange lx;
  EXPECT_EQ(lx.prompt(), "334 VXNlcm5hbWU6");
  EXPECT_TRUE(lx.on_response(encode_base64("alice")).ok());
  EXPECT_FALSE(lx.done());
  EXPECT_EQ(lx.prompt(), "334 UGFzc3dvcmQ6");
  EXPECT_TRUE(lx.on_response(encode_base64("secret")).ok());
  EXPECT_TRUE(lx.done());
  EXPECT_EQ(lx.prompt(), "");
  EXPECT_EQ(lx.credentials().authcid, "alice");
  EXPECT_EQ(lx.credentials().password, "secret");
  EXPECT_FALSE(lx.on_response("Zm9v").ok());
}

TEST(SaslTest, LoginExchangeFailures) {
  {
    LoginExchange lx;
    auto st = lx.on_response("*");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().text, "501 5.7.0 Authentication cancelled");
    EXPECT_TRUE(lx.failed());
    EXPECT_FALSE(lx.done());
  }
  {
    LoginExchange lx;
    ASSERT_TRUE(lx.on_response(encode_base64("bob")).ok());
    auto st = lx.on_response("*");
    EXPECT_EQ(st.error().text, "501 5.7.0 Authentication cancelled");
    EXPECT_FALSE(lx.done());
  }
  {
    LoginExchange lx;  // "=" initial response: empty username is refused
    EXPECT_FALSE(lx.on_response("=").ok());
    EXPECT_TRUE(lx.failed());
  }
  {
    LoginExchange lx;
    EXPECT_EQ(lx.on_response("not base64!").error().text, "501 5.5.2 Invalid base64 data");
  }
  {
    LoginExchange lx;
    EXPECT_FALSE(lx.on_response(encode_base64(std::string("a\0b", 3))).ok());
  }
  {
    LoginExchange lx;  // empty password is passed on (authentication will fail later)
    ASSERT_TRUE(lx.on_response(encode_base64("bob")).ok());
    ASSERT_TRUE(lx.on_response("").ok());
    EXPECT_TRUE(lx.done());
    EXPECT_EQ(lx.credentials().password, "");
  }
}

}  // namespace
}  // namespace nougat::smtpd
