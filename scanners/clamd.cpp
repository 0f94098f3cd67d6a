#include "scanners/clamd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace nougat::scanners {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kChunk = 64 * 1024;
constexpr size_t kMaxReply = 4096;

// A connected, non-blocking socket that closes itself.
class Conn {
 public:
  Conn(std::chrono::milliseconds timeout, int cancel_fd) : timeout_(timeout), cancel_fd_(cancel_fd) {}
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  Status connect(const ClamdClient::Address& a) {
    if (a.unix_socket) {
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      if (a.path.size() >= sizeof sa.sun_path) return make_error("clamd socket path too long");
      std::memcpy(sa.sun_path, a.path.c_str(), a.path.size() + 1);
      return connect_to(AF_UNIX, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (int rc = getaddrinfo(a.host.c_str(), a.port.c_str(), &hints, &res); rc != 0)
      return make_error(fmt::format("clamd address {}:{}: {}", a.host, a.port, gai_strerror(rc)));
    Status st = make_error("clamd: no address");
    for (auto* p = res; p; p = p->ai_next) {
      st = connect_to(p->ai_family, p->ai_addr, p->ai_addrlen);
      if (st) break;
    }
    freeaddrinfo(res);
    return st;
  }

  Status send_all(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (w > 0) {
        p += w;
        n -= static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (auto st = wait(POLLOUT); !st) return st;
        continue;
      }
      return make_error("clamd: send failed", std::strerror(errno));
    }
    return Ok{};
  }

  // Reads until the NUL clamd ends each reply with ('z' commands), or EOF,
  // within `budget` in all: a reply trickling in a byte at a time is no
  // longer waited for than a silent one.
  Result<std::string> read_reply(std::chrono::milliseconds budget) {
    const auto deadline = std::chrono::steady_clock::now() + budget;
    std::string out;
    char buf[512];
    while (out.size() < kMaxReply) {
      ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r > 0) {
        out.append(buf, static_cast<size_t>(r));
        if (auto z = out.find('\0'); z != std::string::npos) return out.substr(0, z);
        continue;
      }
      if (r == 0) break;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        Status st = left.count() > 0 ? wait(POLLIN, left) : Status(make_error("clamd: timed out"));
        if (!st && std::chrono::steady_clock::now() >= deadline)
          return make_error(fmt::format("clamd: timed out, no complete reply within {} ms", budget.count()));
        if (!st) return st.error();
        continue;
      }
      return make_error("clamd: receive failed", std::strerror(errno));
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (out.empty()) return make_error("clamd closed the connection without a reply");
    return out;
  }

 private:
  Status connect_to(int family, const sockaddr* sa, socklen_t len) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return make_error("clamd: socket failed", std::strerror(errno));
    if (::connect(fd_, sa, len) == 0) return Ok{};
    if (errno != EINPROGRESS && errno != EAGAIN)
      return make_error("clamd: cannot connect", std::strerror(errno));
    if (auto st = wait(POLLOUT); !st) return st;
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) return make_error("clamd: cannot connect", std::strerror(err));
    return Ok{};
  }

  Status wait(short events) { return wait(events, timeout_); }
  Status wait(short events, std::chrono::milliseconds timeout) {
    pollfd p[2] = {{fd_, events, 0}, {cancel_fd_, POLLIN, 0}};
    for (;;) {
      int rc = ::poll(p, 2, static_cast<int>(timeout.count()));
      if (rc > 0 && p[1].revents) return make_error("clamd: scan cancelled (shutting down)");
      if (rc > 0) return Ok{};
      if (rc == 0) return make_error(fmt::format("clamd: timed out after {} ms", timeout.count()));
      if (errno != EINTR) return make_error("clamd: poll failed", std::strerror(errno));
    }
  }

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  int cancel_fd_;
};

std::string error_text(const Error& e) {
  return e.detail.empty() ? e.text : e.text + ": " + e.detail;
}

}  // namespace

ScanResult ClamdClient::parse_reply(std::string_view r) {
  // "stream: OK", "stream: Eicar-Signature FOUND", "INSTREAM size limit exceeded. ERROR".
  // A reply with a control character (a line break would split the 550
  // that names the virus into two lines) is no reply clamd makes.
  if (std::any_of(r.begin(), r.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
    return ScanResult::failed("clamd: a reply with control characters");
  if (r.ends_with(" ERROR")) return ScanResult::failed(fmt::format("clamd: {}", r));
  auto colon = r.find(": ");
  if (colon == std::string_view::npos) return ScanResult::failed(fmt::format("clamd: unexpected reply \"{}\"", r));
  auto rest = r.substr(colon + 2);
  if (rest == "OK") return ScanResult::clean();
  if (rest.ends_with(" FOUND") && rest.size() > 6) return ScanResult::found(std::string(rest.substr(0, rest.size() - 6)));
  return ScanResult::failed(fmt::format("clamd: unexpected reply \"{}\"", r));
}

Result<std::unique_ptr<ClamdClient>> ClamdClient::open(const AntivirusOptions& opt) {
  if (opt.socket.empty()) return make_error("antivirus.socket: set the clamd socket (e.g. /run/clamav/clamd.ctl)");
  auto a = parse_address(opt.socket);
  if (!a) return a.error();
  int cancel_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (cancel_fd < 0) return make_error("clamd: eventfd failed", std::strerror(errno));
  return std::unique_ptr<ClamdClient>(new ClamdClient(opt, std::move(*a), cancel_fd));
}

ClamdClient::~ClamdClient() { ::close(cancel_fd_); }

void ClamdClient::cancel() {
  cancelled_ = true;
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(cancel_fd_, &one, sizeof one);  // stays readable: never read
}

Result<std::string> ClamdClient::command(std::string_view cmd, std::chrono::milliseconds timeout) {
  Conn c(timeout, cancel_fd_);
  if (auto st = c.connect(addr_); !st) return st.error();
  std::string z = fmt::format("z{}", cmd);
  z.push_back('\0');
  if (auto st = c.send_all(z.data(), z.size()); !st) return st.error();
  return c.read_reply(timeout);
}

Status ClamdClient::ping(std::chrono::milliseconds timeout) {
  auto r = command("PING", timeout);
  if (!r) return r.error();
  if (*r != "PONG") return make_error(fmt::format("clamd: unexpected reply to PING \"{}\"", *r));
  return Ok{};
}

Result<std::string> ClamdClient::version() { return command("VERSION", opt_.timeout); }

ScanResult ClamdClient::scan(std::string_view message) {
  ScanResult r = scan_stream(message);
  if (r.is_error() && cancelled_) r.cancelled = true;
  return r;
}

ScanResult ClamdClient::scan_stream(std::string_view message) {
  if (message.size() > opt_.max_size) return ScanResult::clean();
  Conn c(opt_.timeout, cancel_fd_);
  if (auto st = c.connect(addr_); !st) return ScanResult::failed(error_text(st.error()));
  static constexpr char kCmd[] = "zINSTREAM";  // sizeof includes the NUL clamd wants
  Status sent = c.send_all(kCmd, sizeof kCmd);
  for (size_t off = 0; sent && off < message.size(); off += kChunk) {
    size_t n = std::min(kChunk, message.size() - off);
    uint32_t len = htonl(static_cast<uint32_t>(n));
    sent = c.send_all(&len, sizeof len);
    if (sent) sent = c.send_all(message.data() + off, n);
  }
  if (sent) {
    uint32_t end = 0;
    sent = c.send_all(&end, sizeof end);
  }
  // clamd may answer early (size limit) and close: its reply says more than
  // our send error. After a send that timed out, only a moment for it.
  auto reply = c.read_reply(sent ? opt_.timeout : std::min(opt_.timeout, std::chrono::milliseconds(1000)));
  if (!reply) return ScanResult::failed(error_text(sent ? reply.error() : sent.error()));
  ScanResult r = parse_reply(*reply);
  if (r.is_error() && reply->starts_with("INSTREAM size limit exceeded"))
    return ScanResult::failed(fmt::format("clamd: INSTREAM size limit exceeded: {} bytes is above its StreamMaxLength: raise that in clamd.conf, "
                                          "or lower antivirus.max_size to it (larger messages then pass unscanned)",
                                          message.size()));
  if (!sent && !r.is_virus() && !r.is_error())  // clamd saw part of the message only
    return ScanResult::failed(error_text(sent.error()));
  return r;
}

std::string ClamdClient::describe() const {
  return addr_.unix_socket ? fmt::format("clamd at unix:{}", addr_.path)
                           : fmt::format("clamd at {}:{}", addr_.host, addr_.port);
}

}  // namespace nougat::scanners
