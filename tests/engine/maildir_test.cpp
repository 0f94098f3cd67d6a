// engine/maildir: an mbox append that an earlier attempt already made is
// not made again on a retry (no duplicate in the user's mbox).
#include "engine/maildir.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "engine/spool.hpp"

namespace nougat::engine {
namespace {

namespace fs = std::filesystem;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(AppendMbox, ARetryDoesNotAppendTheSameCopyTwice) {
  fs::path dir = fs::temp_directory_path() / ("nougat-mbox-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  SpooledMessage m;
  m.id = "1xXD4z-00DhV1Wa";
  m.envelope.sender = "bob@example.org";
  m.envelope.recipients = {"alice@localhost", "carol@localhost"};
  m.envelope.received_at = 1700000000;
  m.data = std::make_shared<std::string>("Received: from x\r\nSubject: hi\r\n\r\nFrom here on\r\nbody\r\n");
  m.data_size = m.data->size();
  const fs::path box = dir / "mail" / "inbox";
  ASSERT_TRUE(append_mbox(box, m, 0).ok());
  // Another message arrives in between.
  SpooledMessage other = m;
  other.id = "1xXD50-00DhV1Wb";
  other.data = std::make_shared<std::string>("Subject: other\r\n\r\nsomething else\r\n");
  other.data_size = other.data->size();
  ASSERT_TRUE(append_mbox(box, other, 0).ok());
  // The retry of the first: already there, not appended again.
  ASSERT_TRUE(append_mbox(box, m, 0, /*retry=*/true).ok());
  std::string text = read(box);
  EXPECT_EQ(count(text, "Subject: hi\n"), 1u) << text;
  EXPECT_EQ(count(text, ">From here on\n"), 1u);
  // The copy of another recipient is another copy.
  ASSERT_TRUE(append_mbox(box, m, 1, /*retry=*/true).ok());
  EXPECT_EQ(count(read(box), "Subject: hi\n"), 2u);
  // Without `retry` (a first attempt) it is appended as asked.
  ASSERT_TRUE(append_mbox(box, other, 0).ok());
  EXPECT_EQ(count(read(box), "Subject: other\n"), 2u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace nougat::engine
