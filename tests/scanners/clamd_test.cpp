#include "scanners/clamd.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "tests/scanners/av_fixtures.hpp"

namespace nougat::scanners {
namespace {

using S = ScanResult::Status;

TEST(ClamdReply, Table) {
  struct Case { const char* reply; S status; const char* virus; };
  const Case cases[] = {
      {"stream: OK", S::kClean, ""},
      {"stream: Eicar-Signature FOUND", S::kVirus, "Eicar-Signature"},
      {"stream: Nougat.Test.EICAR.UNOFFICIAL FOUND", S::kVirus, "Nougat.Test.EICAR.UNOFFICIAL"},
      {"INSTREAM size limit exceeded. ERROR", S::kError, ""},
      {"stream: Can't allocate memory ERROR", S::kError, ""},
      {"stream: FOUND", S::kError, ""},
      {"garbage", S::kError, ""},
      // A line break in a name would split the 550 naming it into two lines.
      {"stream: Evil\r\n250 2.0.0 OK FOUND", S::kError, ""},
      {"", S::kError, ""},
  };
  for (const auto& c : cases) {
    auto r = ClamdClient::parse_reply(c.reply);
    EXPECT_EQ(r.status, c.status) << c.reply;
    EXPECT_EQ(r.virus, c.virus) << c.reply;
  }
}

TEST(ClamdAddress, Table) {
  auto a = ClamdClient::parse_address("/run/clamav/clamd.ctl");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->unix_socket);
  EXPECT_EQ(a->path, "/run/clamav/clamd.ctl");
  a = ClamdClient::parse_address("unix:/tmp/x.sock");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->path, "/tmp/x.sock");
  a = ClamdClient::parse_address("127.0.0.1:3310");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->unix_socket);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, "3310");
  a = ClamdClient::parse_address("tcp:[::1]:3310");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  for (const char* bad : {"", "clamd", "host:", ":3310", "host:port"})
    EXPECT_FALSE(ClamdClient::parse_address(bad)) << bad;
}

// A scripted clamd on a unix socket: reads one INSTREAM request, records
// the reassembled stream, and answers `reply` (or nothing, to test timeouts).
class FakeClamd {
 public:
  explicit FakeClamd(std::string reply, bool answer = true, int trickle_ms = 0)
      : reply_(std::move(reply)), answer_(answer), trickle_ms_(trickle_ms) {
    char tmpl[] = "/tmp/nougat-clamd-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/clamd.sock";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strcpy(sa.sun_path, path_.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ::listen(fd_, 4);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeClamd() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string command, stream;

 private:
  bool read_exact(int c, void* buf, size_t n) {
    auto* p = static_cast<char*>(buf);
    while (n) {
      ssize_t r = ::read(c, p, n);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  void serve() {
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    char ch;
    while (read_exact(c, &ch, 1) && ch) command += ch;
    if (command == "zINSTREAM") {
      for (;;) {
        uint32_t len;
        if (!read_exact(c, &len, 4)) break;
        len = ntohl(len);
        if (!len) break;
        std::string chunk(len, '\0');
        if (!read_exact(c, chunk.data(), len)) break;
        stream += chunk;
      }
    }
    if (answer_ && trickle_ms_) {  // a byte at a time, until the client hangs up
      for (size_t i = 0; i <= reply_.size(); ++i) {
        if (::send(c, reply_.c_str() + i, 1, MSG_NOSIGNAL) != 1) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(trickle_ms_));
      }
    } else if (answer_) {
      ::write(c, reply_.c_str(), reply_.size() + 1);
    } else {
      char buf[16];
      while (::read(c, buf, sizeof buf) > 0) {}  // until the client gives up
    }
    ::close(c);
  }
  std::string reply_;
  bool answer_;
  int trickle_ms_;
  std::string dir_, path_;
  int fd_ = -1;
  std::thread thread_;
};

std::unique_ptr<ClamdClient> client(const std::string& socket, int timeout_ms = 2000) {
  AntivirusOptions o;
  o.engine = "clamd";
  o.socket = socket;
  o.timeout = std::chrono::milliseconds(timeout_ms);
  auto c = ClamdClient::open(o);
  EXPECT_TRUE(c);
  return std::move(*c);
}

TEST(Clamd, SendsTheMessageInInstreamChunks) {
  FakeClamd fake("stream: Eicar-Signature FOUND");
  std::string msg = testing::plain_message(std::string(200000, 'x'));  // several 64 KiB chunks
  auto r = client(fake.path())->scan(msg);
  ASSERT_TRUE(r.is_virus()) << r.error;
  EXPECT_EQ(r.virus, "Eicar-Signature");
  EXPECT_EQ(fake.command, "zINSTREAM");
  EXPECT_EQ(fake.stream, msg);
}

TEST(Clamd, CleanReply) {
  FakeClamd fake("stream: OK");
  EXPECT_EQ(client("unix:" + fake.path())->scan("hello").status, S::kClean);
}

TEST(Clamd, ErrorReplyIsAnError) {
  FakeClamd fake("INSTREAM size limit exceeded. ERROR");
  auto r = client(fake.path())->scan("hello");
  EXPECT_TRUE(r.is_error());
  EXPECT_NE(r.error.find("size limit"), std::string::npos) << r.error;
}

TEST(Clamd, NoDaemonIsAnError) {
  auto r = client("/nonexistent/clamd.sock")->scan("hello");
  ASSERT_TRUE(r.is_error());
  EXPECT_NE(r.error.find("cannot connect"), std::string::npos) << r.error;
  EXPECT_FALSE(client("/nonexistent/clamd.sock")->ping());
}

TEST(Clamd, SilentDaemonTimesOut) {
  FakeClamd fake("", /*answer=*/false);
  auto start = std::chrono::steady_clock::now();
  auto r = client(fake.path(), 200)->scan("hello");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.is_error());
  EXPECT_NE(r.error.find("timed out"), std::string::npos) << r.error;
  EXPECT_LT(took, std::chrono::seconds(2));
}

// cancel() (shutdown) ends a scan waiting on a silent clamd at once, and
// the scans after it.
TEST(Clamd, CancelEndsAWaitingScan) {
  FakeClamd fake("", /*answer=*/false);
  auto c = client(fake.path(), 60000);
  auto start = std::chrono::steady_clock::now();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    c->cancel();
  });
  auto r = c->scan("hello");
  canceller.join();
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.is_error());
  EXPECT_NE(r.error.find("cancelled"), std::string::npos) << r.error;
  EXPECT_TRUE(r.cancelled);
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_TRUE(c->scan("again").is_error());
}

// A reply trickling in a byte at a time is bounded like a silent one.
TEST(Clamd, TricklingReplyTimesOutToo) {
  FakeClamd fake("stream: OK", /*answer=*/true, /*trickle_ms=*/100);
  auto start = std::chrono::steady_clock::now();
  auto r = client(fake.path(), 300)->scan("hello");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.is_error());
  EXPECT_NE(r.error.find("no complete reply within 300 ms"), std::string::npos) << r.error;
  EXPECT_LT(took, std::chrono::milliseconds(900));
}

TEST(Clamd, Ping) {
  FakeClamd fake("PONG");
  EXPECT_TRUE(client(fake.path())->ping());
  EXPECT_EQ(fake.command, "zPING");
}

TEST(Clamd, OpenNeedsASocket) {
  AntivirusOptions o;
  o.engine = "clamd";
  EXPECT_FALSE(ClamdClient::open(o));
}

}  // namespace
}  // namespace nougat::scanners
