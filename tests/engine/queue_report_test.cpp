#include "engine/queue_report.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace nougat::engine {
namespace {

SpooledMessage message() {
  SpooledMessage m;
  m.id = "1xXD4z-00DhV1Wa";
  m.envelope.sender = "bob@example.org";
  m.envelope.recipients = {"alice@localhost", "carol@localhost", "dave@localhost"};
  m.envelope.received_at = 1700000000;
  m.envelope.client_ip = "127.0.0.1";
  m.envelope.helo = "client.test";
  m.envelope.protocol = "ESMTP";
  m.state = {RcptState::kPending, RcptState::kDone, RcptState::kFailed};
  m.failure = {"", "", "550 5.1.1 unknown user"};
  m.data_size = 395;
  return m;
}

TEST(QueueReport, Ages) {
  struct Case {
    int64_t seconds;
    const char* text;
  } cases[] = {{-5, "0s"},   {0, "0s"},      {59, "59s"},   {60, "1m"},     {3599, "59m"},
               {3600, "1h"}, {86399, "23h"}, {86400, "1d"}, {864000, "10d"}};
  for (const auto& c : cases) EXPECT_EQ(format_age(c.seconds), c.text) << c.seconds;
}

TEST(QueueReport, Sizes) {
  struct Case {
    uint64_t bytes;
    const char* text;
  } cases[] = {{0, "0"},       {1023, "1023"},     {1024, "1.0K"},    {2970, "2.9K"},
               {10240, "10K"}, {1048575, "1023K"}, {1048576, "1.0M"}, {36700160, "35M"}};
  for (const auto& c : cases) EXPECT_EQ(format_size(c.bytes), c.text) << c.bytes;
}

TEST(QueueReport, EntryListsEveryRecipientWithItsState) {
  EXPECT_EQ(format_queue_entry(message(), false, 1700000000 + 150),
            " 2m   395 1xXD4z-00DhV1Wa <bob@example.org>\n"
            "          pending alice@localhost\n"
            "          done    carol@localhost\n"
            "          failed  dave@localhost: 550 5.1.1 unknown user\n"
            "\n");
}

TEST(QueueReport, HeldAndReleasedEntries) {
  auto m = message();
  m.envelope.sender = "";
  m.envelope.recipients.resize(1);
  m.envelope.quarantined = true;
  m.envelope.held_reason = "virus found: Eicar";
  EXPECT_EQ(format_queue_entry(m, false, 1700000000 + 3 * 86400),
            " 3d   395 1xXD4z-00DhV1Wa <> *** held: virus found: Eicar ***\n"
            "          pending alice@localhost\n\n");
  auto released = format_queue_entry(m, true, 1700000000);
  EXPECT_EQ(released.substr(0, released.find('\n')),
            " 0s   395 1xXD4z-00DhV1Wa <> *** released (held: virus found: Eicar) ***");
  m.envelope.held_reason.clear();  // a spool file from before reasons were kept
  EXPECT_NE(format_queue_entry(m, false, 1700000000).find("<> *** held ***\n"), std::string::npos);
}

TEST(QueueReport, Counts) {
  EXPECT_EQ(format_queue_count(0, 0, 0), "0 messages, 0 held\n");
  EXPECT_EQ(format_queue_count(1, 1, 0), "1 message, 1 held\n");
  EXPECT_EQ(format_queue_count(5, 1, 2), "5 messages, 1 held, 2 released\n");
}

TEST(QueueReport, EnvelopeShowsEverythingDeliveryWillUse) {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  auto m = message();
  m.envelope.quarantined = true;
  m.envelope.held_reason = "frozen by the system filter: review";
  m.envelope.auth_user = "bob";
  m.envelope.folder = "Junk";
  m.envelope.added_headers = {"X-Virus: Eicar", "X-Note: a\n\tb"};
  m.envelope.removed_headers = {"X-Spam-Flag"};
  m.envelope.variables = {{"malware_name", "Eicar"}};
  EXPECT_EQ(format_envelope(m, false, 1700000000 + 7200),
            "Queue-Id: 1xXD4z-00DhV1Wa\n"
            "Received: 2023-11-14 22:13:20 (2h ago) H=client.test [127.0.0.1] P=ESMTP A=bob\n"
            "Sender: <bob@example.org>\n"
            "Size: 395\n"
            "Status: held: frozen by the system filter: review\n"
            "Recipient: pending alice@localhost\n"
            "Recipient: done    carol@localhost\n"
            "Recipient: failed  dave@localhost: 550 5.1.1 unknown user\n"
            "Folder: Junk\n"
            "Header-Added: X-Virus: Eicar\n"
            "Header-Added: X-Note: a\n  \tb\n"
            "Header-Removed: X-Spam-Flag\n"
            "Variable: $malware_name = Eicar\n");
  m.envelope.quarantined = false;
  EXPECT_NE(format_envelope(m, false, 0).find("Status: queued for delivery\n"), std::string::npos);
}

TEST(QueueReport, HeaderAndBodyParts) {
  struct Case {
    const char* data;
    const char* header;
    const char* body;
  } cases[] = {
      {"Subject: a\r\nTo: b\r\n\r\nline 1\r\nline 2\r\n", "Subject: a\nTo: b\n",
       "line 1\nline 2\n"},
      {"Subject: a\r\n\r\n", "Subject: a\n", ""},
      {"Subject: only a header\r\n", "Subject: only a header\n", ""},
      {"\r\nbody without header\r\n", "", "body without header\n"},
      {"Subject: lf\n\nbody\n", "Subject: lf\n", "body\n"},
      {"Subject: x\r\n\r\nbody\r\n\r\nmore\r\n", "Subject: x\n", "body\n\nmore\n"},
      {"", "", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(header_part(c.data), c.header) << c.data;
    EXPECT_EQ(body_part(c.data), c.body) << c.data;
  }
  EXPECT_EQ(with_lf("a\r\nb\rc\n\r"), "a\nb\rc\n\r");  // only CRLF pairs change
}

}  // namespace
}  // namespace nougat::engine
