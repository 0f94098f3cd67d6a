// Table tests for the standalone pieces of the message model: transfer
// decoding, charset conversion, RFC 2047 words, header blocks, parameters.
#include "engine/mime.hpp"

#include <gtest/gtest.h>

#include <string>

#include "engine/charset.hpp"
#include "engine/encoded_word.hpp"
#include "engine/transfer_decode.hpp"

namespace nougat::engine {
namespace {

std::string crlf(std::string_view lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

struct Case {
  std::string_view in, want;
};

TEST(MimeBase64, Table) {
  const Case cases[] = {
      {"", ""},
      {"aGVsbG8=", "hello"},
      {"aGVs\nbG8=", "hello"},
      {"aGVs\r\nbG8=\r\n", "hello"},
      {"aGVsbG8", "hello"},     // missing padding
      {"aGVsbA", "hell"},       // truncated group of 2
      {"aGVsbG", "hell"},       // truncated group: 'G' alone dropped
      {"a", ""},                // lone character
      {"aG Vs*bG8=", "hello"},  // junk characters skipped
      {"aGk=IGpvZQ==", "hi"},   // stops at completed padding
      {"=aGk=", "hi"},          // stray leading '='
      {"AAEC", std::string_view("\x00\x01\x02", 3)},
  };
  for (const auto& c : cases) EXPECT_EQ(decode_base64(c.in), c.want) << c.in;
}

TEST(MimeQuotedPrintable, Table) {
  const Case cases[] = {
      {"", ""},
      {"a=3Db", "a=b"},
      {"a=3db", "a=b"},  // lowercase hex
      {"caf=C3=A9", "caf\xC3\xA9"},
      {"soft=\nbreak", "softbreak"},
      {"soft=\r\nbreak", "softbreak"},
      {"soft=  \r\nbreak", "softbreak"},  // transport padding after '='
      {"end=", "end"},
      {"bad=ZZ", "bad=ZZ"},  // invalid escape kept
      {"bad=4", "bad=4"},    // truncated escape kept
      {"line\nnext", "line\nnext"},
      {"a_b", "a_b"},
  };
  for (const auto& c : cases) EXPECT_EQ(decode_qp(c.in), c.want) << c.in;
  EXPECT_EQ(decode_qp("a_b=5Fc", true), "a b_c");
}

TEST(MimeCharset, Table) {
  struct C {
    std::string_view bytes, charset, want;
  };
  const C cases[] = {
      {"plain", "", "plain"},
      {"caf\xE9", "iso-8859-1", "caf\xC3\xA9"},
      {"caf\xE9", "ISO-8859-1", "caf\xC3\xA9"},
      {"\x93q\x94", "iso-8859-1", "\xE2\x80\x9Cq\xE2\x80\x9D"},  // cp1252 quotes
      {"caf\xC3\xA9", "utf-8", "caf\xC3\xA9"},
      {"caf\xC3\xA9", "\"UTF-8\"", "caf\xC3\xA9"},
      {"a\xFF"
       "b",
       "utf-8",
       "a\xEF\xBF\xBD"
       "b"},                                       // invalid UTF-8
      {"caf\xC3\xA9", "us-ascii", "caf\xC3\xA9"},  // mislabelled UTF-8 passes
      {"caf\xE9", "us-ascii", "caf\xC3\xA9"},      // else cp1252
      {"caf\xE9", "x-no-such-charset", "caf\xC3\xA9"},
      {"caf\xC3\xA9", "x-no-such-charset", "caf\xC3\xA9"},
      {"caf\xE9", "utf-8//TRANSLIT", "caf\xC3\xA9"},  // unsafe name: unknown
      {"\xC4\xE3", "koi8-r", "\xD0\xB4\xD0\xA6"},
      {"\xA4\xA2", "euc-jp", "\xE3\x81\x82"},
      {"\x1B$B$\"\x1B(B", "iso-2022-jp", "\xE3\x81\x82"},
      {"\xB0\xA1", "ks_c_5601-1987", "\xEA\xB0\x80"},
      {"\xC4\xE3", "gb2312", "\xE4\xBD\xA0"},
      {"+AGE-", "utf-7", "a"},
      {"\xA4", "iso-8859-15", "\xE2\x82\xAC"},
      {"\x81\x40\xFF", "shift_jis", "\xE3\x80\x80\xEF\xBF\xBD"},  // bad byte -> U+FFFD
  };
  for (const auto& c : cases) {
    std::string got = to_utf8(c.bytes, c.charset);
    EXPECT_EQ(got, c.want) << c.charset;
    EXPECT_TRUE(is_valid_utf8(got));
  }
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9"));
  EXPECT_FALSE(is_valid_utf8("\xC0\x80"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));  // surrogate
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));      // truncated
}

TEST(MimeRfc2047, Table) {
  const Case cases[] = {
      {"plain text", "plain text"},
      {"=?utf-8?q?caf=C3=A9?=", "caf\xC3\xA9"},
      {"=?UTF-8?Q?caf=C3=A9_au_lait?=", "caf\xC3\xA9 au lait"},
      {"=?iso-8859-1?b?Y2Fm6Q==?=", "caf\xC3\xA9"},
      {"=?utf-8?q?a?= =?utf-8?q?b?=", "ab"},  // whitespace between words dropped
      {"=?utf-8?q?a?=  \t =?utf-8?q?b?= c", "ab c"},
      {"x =?utf-8?q?a?= y", "x a y"},
      {"=?utf-8?b?4oKs?==?utf-8?b?4oKs?=", "\xE2\x82\xAC\xE2\x82\xAC"},
      {"=?utf-8?b?4g==?= =?utf-8?b?gqw=?=", "\xE2\x82\xAC"},  // char split across words
      {"=?utf-8*en?q?hi?=", "hi"},                            // RFC 2231 language
      {"=?utf-8?x?hi?=", "=?utf-8?x?hi?="},                   // unknown encoding kept
      {"=?utf-8?q?unterminated", "=?utf-8?q?unterminated"},
      {"=??q?x?=", "=??q?x?="},
      {"=?koi8-r?b?9MXT1A==?=", "\xD0\xA2\xD0\xB5\xD1\x81\xD1\x82"},
      {"=?bogus?q?caf=E9?=", "caf\xC3\xA9"},  // unknown charset: cp1252
      {"8bit caf\xE9", "8bit caf\xC3\xA9"},   // raw 8-bit header
      {"prefix=?utf-8?q?x?=", "prefixx"},
  };
  for (const auto& c : cases) EXPECT_EQ(decode_rfc2047(c.in), c.want) << c.in;
}

TEST(MimeRfc2047, PathologicalInputIsLinear) {
  std::string s;
  for (int i = 0; i < 200000; ++i) s += "=?a?q?x ";
  EXPECT_EQ(decode_rfc2047(s).size(), s.size());
}

struct HeaderCase {
  std::string_view raw;
  std::vector<std::pair<std::string, std::string>> fields;  // name, unfolded
  std::string_view body;
};

TEST(MimeHeaderBlock, TableSameForLfAndCrlf) {
  const HeaderCase cases[] = {
      {"A: 1\nB: 2\n\nbody\n", {{"A", "1"}, {"B", "2"}}, "body\n"},
      {"Subject: folded\n  line\n\tagain\n\nx", {{"Subject", "folded  line\tagain"}}, "x"},
      {"A:1\nA:  2\n\n", {{"A", "1"}, {"A", "2"}}, ""},              // duplicates kept in order
      {"A: 1\nB: 2\n", {{"A", "1"}, {"B", "2"}}, ""},                // header without body
      {"A: 1", {{"A", "1"}}, ""},                                    // no final line break
      {"\nbody only\n", {}, "body only\n"},                          // empty header block
      {"just a body line\nmore\n", {}, "just a body line\nmore\n"},  // body without header
      {"A: 1\nnot a header\nB: 2\n", {{"A", "1"}}, "not a header\nB: 2\n"},
      {"  leading continuation\nA: 1\n\n", {{"A", "1"}}, ""},
      {": no name\nA: 1\n\n", {{"A", "1"}}, ""},
      {"X-8bit: caf\xE9\n\n", {{"X-8bit", "caf\xE9"}}, ""},
      {"Empty:\nB: x\n\n", {{"Empty", ""}, {"B", "x"}}, ""},
      {"Trail: v  \n\n", {{"Trail", "v"}}, ""},
      {std::string_view("N: a\0b\n\nz", 9), {{"N", std::string("a\0b", 3)}}, "z"},
  };
  for (const auto& c : cases) {
    for (bool use_crlf : {false, true}) {
      std::string raw = use_crlf ? crlf(c.raw) : std::string(c.raw);
      HeaderBlock hb = parse_header_block(raw);
      ASSERT_EQ(hb.fields.size(), c.fields.size()) << c.raw;
      for (size_t i = 0; i < c.fields.size(); ++i) {
        EXPECT_EQ(hb.fields[i].name, c.fields[i].first);
        EXPECT_EQ(hb.fields[i].unfolded(), c.fields[i].second);
      }
      std::string want_body = use_crlf ? crlf(c.body) : std::string(c.body);
      EXPECT_EQ(raw.substr(hb.body_offset), want_body) << c.raw;
    }
  }
}

TEST(MimeHeaderBlock, FindIsCaseInsensitive) {
  HeaderBlock hb = parse_header_block("content-TYPE: text/html\nSubject: =?utf-8?q?hi?=\n\n");
  ASSERT_NE(find_field(hb.fields, "Content-Type"), nullptr);
  EXPECT_EQ(find_field(hb.fields, "Content-Type")->value, "text/html");
  EXPECT_EQ(find_field(hb.fields, "SUBJECT")->decoded(), "hi");
  EXPECT_EQ(find_field(hb.fields, "X-Missing"), nullptr);
}

TEST(MimeHeaderBlock, MegabyteLine) {
  std::string raw = "X-Long: " + std::string(1 << 20, 'a') + "\nB: 1\n\nbody";
  HeaderBlock hb = parse_header_block(raw);
  ASSERT_EQ(hb.fields.size(), 2u);
  EXPECT_EQ(hb.fields[0].value.size(), size_t{1} << 20);
  EXPECT_EQ(raw.substr(hb.body_offset), "body");
}

struct ParamCase {
  std::string_view in, value;
  std::vector<std::pair<std::string, std::string>> params;
};

TEST(MimeParams, Table) {
  const ParamCase cases[] = {
      {"text/plain", "text/plain", {}},
      {"Text/HTML; Charset=UTF-8", "text/html", {{"charset", "UTF-8"}}},
      {"multipart/mixed; boundary=\"a;b\\\"c\"", "multipart/mixed", {{"boundary", "a;b\"c"}}},
      {"text/plain (a comment); format=flowed", "text/plain", {{"format", "flowed"}}},
      {"a/b; x=1; x=2", "a/b", {{"x", "1"}}},  // first duplicate wins
      {"a/b; novalue; y=2", "a/b", {{"y", "2"}}},
      {"a/b;;; y = 2 ;", "a/b", {{"y", "2"}}},
      {"attachment; filename=my file.pdf", "attachment", {{"filename", "my file.pdf"}}},
      {"attachment; filename=\"unterminated", "attachment", {{"filename", "unterminated"}}},
      // RFC 2231
      {"a/b; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
       "a/b",
       {{"title", "This is ***fun***"}}},
      {"a/b; t*0*=utf-8''caf%C3; t*1*=%A9; t*2=\" ok\"", "a/b", {{"t", "caf\xC3\xA9 ok"}}},
      {"a/b; t*1=\"world\"; t*0=\"hello \"", "a/b", {{"t", "hello world"}}},  // out of order
      {"a/b; t*=iso-8859-1''caf%E9", "a/b", {{"t", "caf\xC3\xA9"}}},
      {"a/b; t=\"plain\"; t*=utf-8''ext", "a/b", {{"t", "ext"}}},  // extended beats plain
      {"a/b; t*=''no%20charset", "a/b", {{"t", "no charset"}}},
      {"a/b; t*=noquotes%41", "a/b", {{"t", "noquotesA"}}},
      {"a/b; t*x=1", "a/b", {{"t*x", "1"}}},
  };
  for (const auto& c : cases) {
    StructuredValue sv = parse_structured(c.in);
    EXPECT_EQ(sv.value, c.value) << c.in;
    ASSERT_EQ(sv.params.size(), c.params.size()) << c.in;
    for (size_t i = 0; i < c.params.size(); ++i) {
      EXPECT_EQ(sv.params[i].name, c.params[i].first) << c.in;
      EXPECT_EQ(sv.params[i].value, c.params[i].second) << c.in;
    }
  }
}

TEST(MimeParams, ManyParamsStayBounded) {
  std::string s = "a/b";
  for (int i = 0; i < 100000; ++i) s += "; p" + std::to_string(i) + "=v";
  StructuredValue sv = parse_structured(s);
  EXPECT_EQ(sv.params.size(), 64u);
}

}  // namespace
}  // namespace nougat::engine
