#include "smtpd/address.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nougat::smtpd {
namespace {

TEST(AddressTest, Valid) {
  struct Case {
    std::string in;
    bool utf8;
    std::string local, domain, canonical;
  };
  const std::vector<Case> cases = {
      {"user@example.org", false, "user", "example.org", "user@example.org"},
      {"User.Name+tag@EXAMPLE.Org", false, "User.Name+tag", "example.org",
       "User.Name+tag@example.org"},
      {"!#$%&'*+-/=?^_`{|}~@x", false, "!#$%&'*+-/=?^_`{|}~", "x", "!#$%&'*+-/=?^_`{|}~@x"},
      {"\"john doe\"@x.org", false, "john doe", "x.org", "\"john doe\"@x.org"},
      {"\"plain\"@x.org", false, "plain", "x.org", "plain@x.org"},
      {"\"a\\\"b\\\\c\"@x.org", false, "a\"b\\c", "x.org", "\"a\\\"b\\\\c\"@x.org"},
      {"\"\"@x.org", false, "", "x.org", "\"\"@x.org"},
      {"\"a@b\"@x.org", false, "a@b", "x.org", "\"a@b\"@x.org"},
      {"\".a.\"@x.org", false, ".a.", "x.org", "\".a.\"@x.org"},
      {"a@[192.0.2.1]", false, "a", "[192.0.2.1]", "a@[192.0.2.1]"},
      {"a@[ipv6:2001:DB8::1]", false, "a", "[IPv6:2001:db8::1]", "a@[IPv6:2001:db8::1]"},
      {"a@[IPv6:::ffff:192.0.2.1]", false, "a", "[IPv6:::ffff:192.0.2.1]",
       "a@[IPv6:::ffff:192.0.2.1]"},
      {"a@xn--bcher-kva.example", false, "a", "xn--bcher-kva.example", "a@xn--bcher-kva.example"},
      {"a@1.2.3.4", false, "a", "1.2.3.4", "a@1.2.3.4"},
      {"j\xc3\xb6rg@B\xc3\xbc"
       "cher.example",
       true, "j\xc3\xb6rg",
       "b\xc3\xbc"
       "cher.example",
       "j\xc3\xb6rg@b\xc3\xbc"
       "cher.example"},
      {"\"\xe2\x82\xac x\"@y", true, "\xe2\x82\xac x", "y", "\"\xe2\x82\xac x\"@y"},
      {std::string(64, 'a') + "@b", false, std::string(64, 'a'), "b", std::string(64, 'a') + "@b"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    auto m = parse_mailbox(c.in, c.utf8);
    ASSERT_TRUE(m.ok()) << m.error().text;
    EXPECT_EQ(m->local_part, c.local);
    EXPECT_EQ(m->domain, c.domain);
    EXPECT_EQ(to_string(*m), c.canonical);
    // The canonical form parses back to the same mailbox.
    auto again = parse_mailbox(to_string(*m), c.utf8);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *m);
  }
}

TEST(AddressTest, Invalid) {
  std::string long_domain;
  for (int i = 0; i < 26; ++i) long_domain += "bbbbbbbbb.";
  long_domain += "c";
  const std::vector<std::pair<std::string, bool>> cases = {
      {"", false},
      {"user", false},
      {"@example.org", false},
      {"user@", false},
      {"a..b@x", false},
      {".a@x", false},
      {"a.@x", false},
      {"a b@x", false},
      {"a(comment)@x", false},
      {"a@b@c", false},
      {"\"unterminated@x", false},
      {"\"a\"b@x", false},
      {"\"a\\", false},
      {"\"tab\there\"@x", false},
      {"a@b..c", false},
      {"a@.b", false},
      {"a@b.", false},
      {"a@-b", false},
      {"a@b-", false},
      {"a@b_c", false},
      {"a@b c", false},
      {"a@[1.2.3]", false},
      {"a@[1.2.3.4.5]", false},
      {"a@[256.1.1.1]", false},
      {"a@[1.2.3.4", false},
      {"a@[]", false},
      {"a@[IPv6:]", false},
      {"a@[IPv6:1::2::3]", false},
      {"a@[IPv6:1.2.3.4]", false},
      {"a@[x:1]", false},
      {"j\xc3\xb6rg@x", false},  // 8-bit without SMTPUTF8
      {"a@b\xc3\xbc"
       "cher",
       false},
      {"j\xc3@x", true},             // truncated UTF-8
      {"\xc0\xaf@x", true},          // overlong
      {"\xed\xa0\x80@x", true},      // surrogate
      {"\xf4\x90\x80\x80@x", true},  // > U+10FFFF
      {std::string(65, 'a') + "@b", false},
      {"\"" + std::string(63, 'a') + "\"@b", false},  // 65 octets as written
      {"a@" + std::string(64, 'b'), false},
      {"a@" + long_domain, false},
      {std::string("a\0b@x", 5), false},
  };
  for (const auto& [in, utf8] : cases) {
    SCOPED_TRACE(testing::PrintToString(in));
    EXPECT_FALSE(parse_mailbox(in, utf8).ok());
  }
}

TEST(AddressTest, Utf8Validator) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("abc"));
  EXPECT_TRUE(valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(valid_utf8("\x80"));
  EXPECT_FALSE(valid_utf8("\xc3"));
  EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));
  EXPECT_FALSE(valid_utf8("\xf0\x80\x80\xaf"));
  EXPECT_FALSE(valid_utf8("\xff"));
}

}  // namespace
}  // namespace nougat::smtpd
