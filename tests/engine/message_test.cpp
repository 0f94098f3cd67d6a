// Table tests for Message / MimePart. Every case is parsed twice, with LF and
// with CRLF line endings, and must describe identically (the parser is not
// incremental, so this stands in for STYLE 19's chunked re-feed).
#include "engine/message.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace nougat::engine {
namespace {

std::string to_crlf(std::string_view lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

std::string lf_only(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i)
    if (!(s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')) out += s[i];
  return out;
}

void describe_part(const MimePart& p, const std::string& path, std::string& out) {
  out += "[" + path + "] " + p.content_type();
  if (!p.charset().empty()) out += " cs=" + p.charset();
  if (!p.filename().empty()) out += " fn=" + p.filename();
  if (!p.disposition.empty()) out += " disp=" + p.disposition;
  if (p.children.empty() && p.type == "text") out += " \"" + lf_only(p.text()) + "\"";
  out += "\n";
  for (size_t i = 0; i < p.children.size(); ++i)
    describe_part(p.children[i], (path.empty() ? "" : path + ".") + std::to_string(i + 1), out);
}

// Canonical description: the part tree, one line per part, text leaves decoded.
std::string describe_tree(const Message& m) {
  std::string out;
  describe_part(m.root(), "", out);
  return out;
}

// Everything, headers included, for the LF/CRLF comparison.
std::string describe_all(const Message& m) {
  std::string out(m.envelope_from());
  out += "\n";
  for (const auto& f : m.headers()) out += std::string(f.name) + ": " + f.decoded() + "\n";
  for_each_part(m.root(), [&](const MimePart& p) {
    out += "pre=" + lf_only(p.preamble) + " epi=" + lf_only(p.epilogue) +
           " hdrs=" + std::to_string(p.headers.size()) + " cte=" + p.transfer_encoding + "\n";
  });
  return out + describe_tree(m);
}

struct TreeCase {
  const char* name;
  std::string_view raw;
  std::string_view tree;
};

const TreeCase kCases[] = {
    {"plain", "Subject: hi\n\nHello\n", "[] text/plain \"Hello\n\"\n"},
    {"no content-type default", "\nx", "[] text/plain \"x\"\n"},
    {"invalid content-type", "Content-Type: garbage\n\nx", "[] text/plain \"x\"\n"},
    {"content-type case", "Content-Type: TEXT/Html; CHARSET=\"ISO-8859-1\"\n\ncaf\xE9",
     "[] text/html cs=iso-8859-1 \"caf\xC3\xA9\"\n"},
    {"base64 body", "Content-Transfer-Encoding: BASE64\n\naGVs\nbG8=\n",
     "[] text/plain \"hello\"\n"},
    {"qp body",
     "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
     "caf=C3=A9 =\nau lait\n",
     "[] text/plain cs=utf-8 \"caf\xC3\xA9 au lait\n\"\n"},
    {"multipart",
     "Content-Type: multipart/mixed; boundary=XX\n\npreamble\n--XX\n\npart one\n--XX\n"
     "Content-Type: text/html\n\n<b>two</b>\n--XX--\nepilogue\n",
     "[] multipart/mixed\n[1] text/plain \"part one\"\n[2] text/html \"<b>two</b>\"\n"},
    {"nested multipart",
     "Content-Type: multipart/mixed; boundary=outer\n\n--outer\n"
     "Content-Type: multipart/alternative; boundary=inner\n\n--inner\n\nplain\n--inner\n"
     "Content-Type: text/html\n\nhtml\n--inner--\n--outer\n"
     "Content-Type: application/pdf; name=x.pdf\nContent-Disposition: attachment\n"
     "Content-Transfer-Encoding: base64\n\nJVBERg==\n--outer--\n",
     "[] multipart/mixed\n[1] multipart/alternative\n[1.1] text/plain \"plain\"\n"
     "[1.2] text/html \"html\"\n[2] application/pdf fn=x.pdf disp=attachment\n"},
    {"inner multipart missing close ends at outer boundary",
     "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
     "Content-Type: multipart/alternative; boundary=i\n\n--i\n\nA\n--o\n\nB\n--o--\n",
     "[] multipart/mixed\n[1] multipart/alternative\n[1.1] text/plain \"A\"\n[2] text/plain "
     "\"B\"\n"},
    {"missing close boundary",
     "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n",
     "[] multipart/mixed\n[1] text/plain \"one\"\n[2] text/plain \"two\n\"\n"},
    {"boundary never appears", "Content-Type: multipart/mixed; boundary=b\n\njust text\n",
     "[] multipart/mixed\n"},
    {"multipart without boundary parameter", "Content-Type: multipart/mixed\n\n--b\n\nx\n--b--\n",
     "[] multipart/mixed\n"},
    {"close delimiter first", "Content-Type: multipart/mixed; boundary=b\n\n--b--\n\nx\n",
     "[] multipart/mixed\n"},
    {"boundary with trailing whitespace and padding",
     "Content-Type: multipart/mixed; boundary=\"b \"\n\n--b  \t\n\nx\n--b-- \n",
     "[] multipart/mixed\n[1] text/plain \"x\"\n"},
    {"boundary prefix is not a delimiter",
     "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bc\n--b--\n",
     "[] multipart/mixed\n[1] text/plain \"--bc\"\n"},
    {"adjacent delimiters make no empty part",
     "Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\nx\n--b--\n",
     "[] multipart/mixed\n[1] text/plain \"x\"\n"},
    {"part without headers or blank line",
     "Content-Type: multipart/mixed; boundary=b\n\n--b\nno headers here\n--b--\n",
     "[] multipart/mixed\n[1] text/plain \"no headers here\"\n"},
    {"digest children default to message/rfc822",
     "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: a\n\nA\n--d\n"
     "Content-Type: text/plain\n\nB\n--d--\n",
     "[] multipart/digest\n[1] message/rfc822\n[1.1] text/plain \"A\"\n[2] text/plain \"B\"\n"},
    {"message/rfc822 embeds a message",
     "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n"
     "Subject: inner\nContent-Type: text/plain; charset=utf-8\n\ninner body\n--b--\n",
     "[] multipart/mixed\n[1] message/rfc822\n[1.1] text/plain cs=utf-8 \"inner body\"\n"},
    {"base64 message/rfc822 stays a leaf",
     "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeAoKeQ==\n",
     "[] message/rfc822\n"},
    {"filenames: 2231 and 2047",
     "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
     "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.txt\n\nA\n--b\n"
     "Content-Type: text/plain; name=\"=?iso-8859-1?q?caf=E9?=.txt\"\n\nB\n--b\n"
     "Content-Disposition: attachment;\n filename*0=\"long\";\n "
     "filename*1=\"name.txt\"\n\nC\n--b--\n",
     "[] multipart/mixed\n[1] text/plain fn=r\xC3\xA9sum\xC3\xA9.txt disp=attachment \"A\"\n"
     "[2] text/plain fn=caf\xC3\xA9.txt \"B\"\n[3] text/plain fn=longname.txt disp=attachment "
     "\"C\"\n"},
    {"truncated base64",
     "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVsbG8gd29y",
     "[] text/plain \"hello wor\"\n"},
    {"unknown charset falls back", "Content-Type: text/plain; charset=x-martian\n\ncaf\xE9",
     "[] text/plain cs=x-martian \"caf\xC3\xA9\"\n"},
    {"header without body", "Subject: only headers\n", "[] text/plain \"\"\n"},
    {"body without header", "Hello there\nsecond line\n",
     "[] text/plain \"Hello there\nsecond line\n\"\n"},
    {"empty input", "", "[] text/plain \"\"\n"},
    {"mbox From line", "From a@b Sat Jan  1 00:00:00 2000\nSubject: s\n\nbody\n",
     "[] text/plain \"body\n\"\n"},
    {"content-type missing ';'", "Content-Type: text/html charset=utf-8\n\n<p>",
     "[] text/html \"<p>\"\n"},
    {"first content-type wins", "Content-Type: text/html\nContent-Type: image/gif\n\nx",
     "[] text/html \"x\"\n"},
    {"transfer encoding with space and comment",
     "Content-Transfer-Encoding:  Base64 (yes)\n\naGk=\n", "[] text/plain \"hi\"\n"},
    {"unknown transfer encoding passes through", "Content-Transfer-Encoding: x-gzip\n\nraw",
     "[] text/plain \"raw\"\n"},
    {"delivery-status is a leaf",
     "Content-Type: multipart/report; boundary=r\n\n--r\n\nfailed\n--r\n"
     "Content-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\nAction: failed\n--r--\n",
     "[] multipart/report\n[1] text/plain \"failed\"\n[2] message/delivery-status\n"},
    {"preamble and epilogue kept",
     "Content-Type: multipart/mixed; boundary=b\n\nPRE\n--b\n\nx\n--b--\nEPI\n",
     "[] multipart/mixed\n[1] text/plain \"x\"\n"},
};

TEST(MessageTree, Table) {
  for (const auto& c : kCases) {
    Message lf = Message::parse(c.raw);
    EXPECT_EQ(describe_tree(lf), c.tree) << c.name;
    std::string crlf = to_crlf(c.raw);
    Message cr = Message::parse(crlf);
    EXPECT_EQ(describe_all(lf), describe_all(cr)) << c.name;
  }
}

TEST(MessageHeaders, LookupAndDecoding) {
  const std::string_view raw =
      "From sender@example Mon Jan  1 00:00:00 2024\n"
      "Received: one\nreceived: two\nSubject: =?utf-8?q?Caf=C3=A9?=\n =?utf-8?q?_ok?=\n"
      "X-Empty:\n\nbody";
  for (const std::string& r : {std::string(raw), to_crlf(raw)}) {
    Message m = Message::parse(r);
    EXPECT_EQ(m.envelope_from(), "From sender@example Mon Jan  1 00:00:00 2024");
    ASSERT_EQ(m.headers().size(), 4u);
    auto rec = m.all("RECEIVED");
    ASSERT_EQ(rec.size(), 2u);
    EXPECT_EQ(rec[0]->value, "one");
    EXPECT_EQ(rec[1]->value, "two");
    EXPECT_EQ(m.find("received")->value, "one");
    EXPECT_EQ(m.header_text("subject").value(), "Caf\xC3\xA9 ok");
    EXPECT_EQ(m.header_text("x-empty").value(), "");
    EXPECT_FALSE(m.header_text("x-missing").has_value());
    EXPECT_EQ(m.body(), "body");
  }
}

TEST(MessageModel, IsZeroCopy) {
  const std::string raw =
      "Content-Type: multipart/mixed; boundary=b\n\npre\n--b\nA: 1\n\nbody\n--b--\nepi";
  Message m = Message::parse(raw);
  auto inside = [&](std::string_view v) {
    return v.data() >= raw.data() && v.data() + v.size() <= raw.data() + raw.size();
  };
  const MimePart& part = m.root().children.at(0);
  EXPECT_TRUE(inside(m.root().body));
  EXPECT_TRUE(inside(part.body));
  EXPECT_TRUE(inside(part.header_block));
  EXPECT_TRUE(inside(part.headers.at(0).value));
  EXPECT_EQ(part.body, "body");
  EXPECT_EQ(part.header_block, "A: 1\n");
  EXPECT_EQ(m.root().preamble, "pre");
  EXPECT_EQ(m.root().epilogue, "epi");
}

TEST(MessageMalformed, NulBytesAnd8BitHeaders) {
  std::string raw("Subject: caf\xE9\0x\nContent-Type: text/plain\n\nbo\0dy", 47);
  Message m = Message::parse(raw);
  EXPECT_EQ(m.header_text("subject").value(), std::string("caf\xC3\xA9\0x", 7));
  EXPECT_EQ(m.root().text(), std::string("bo\0dy", 5));
}

TEST(MessageMalformed, DeepNestingIsCapped) {
  std::string raw;
  for (int i = 0; i < 100; ++i)
    raw += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
           std::to_string(i) + "\n";
  raw += "\nleaf\n";
  for (const std::string& r : {raw, to_crlf(raw)}) {
    Message m = Message::parse(r);
    int depth = 0;
    for_each_part(m.root(), [&](const MimePart& p) { depth = std::max(depth, p.depth); });
    EXPECT_EQ(depth, kMaxDepth);
  }
}

TEST(MessageMalformed, DeepMessageRfc822NestingIsCapped) {
  std::string raw;
  for (int i = 0; i < 100; ++i) raw += "Content-Type: message/rfc822\n\n";
  raw += "x";
  Message m = Message::parse(raw);
  int depth = 0;
  for_each_part(m.root(), [&](const MimePart& p) { depth = std::max(depth, p.depth); });
  EXPECT_EQ(depth, kMaxDepth);
}

TEST(MessageMalformed, ManyPartsAreCapped) {
  std::string raw = "Content-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < 20000; ++i) raw += "--b\n\nx\n";
  Message m = Message::parse(raw);
  EXPECT_LE(m.root().children.size(), kMaxParts);
  EXPECT_GT(m.root().children.size(), 1000u);
}

TEST(MessageMalformed, BigInputsStayFast) {
  std::string raw = "X-Long: " + std::string(1 << 20, 'x') +
                    "\nContent-Type: multipart/mixed; boundary=" + std::string(1000, 'b') + "\n\n";
  for (int i = 0; i < 2000; ++i) raw += "-" + std::string(1000, 'b') + "\n";
  raw += std::string(1 << 20, '\n');
  auto t0 = std::chrono::steady_clock::now();
  Message m = Message::parse(raw);
  for_each_part(m.root(), [](const MimePart& p) { (void)p.text(); });
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  EXPECT_LT(ms.count(), 2000);
  EXPECT_EQ(m.headers().size(), 2u);
}

}  // namespace
}  // namespace nougat::engine
