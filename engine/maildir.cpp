#include "engine/maildir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nougat::engine {
namespace fs = std::filesystem;
namespace {

// Maildir names must not contain '/' or ':' (the flags separator).
std::string safe_host(std::string_view host) {
  std::string r;
  for (char c : host) {
    if (c == '/') r += "\\057";
    else if (c == ':') r += "\\072";
    else r += c;
  }
  return r;
}

std::string top_lines(const SpooledMessage& m, size_t rcpt) {
  std::string top = fmt::format("Return-Path: <{}>\nDelivered-To: {}\n", m.envelope.sender,
                                m.envelope.recipients[rcpt]);
  for (const auto& h : m.envelope.added_headers) top.append(h).push_back('\n');
  return top;
}

// Size of the file: the top lines plus the data with CRLF folded to LF.
uint64_t local_size(std::string_view top, std::string_view data) {
  uint64_t crlfs = 0;
  for (size_t p = data.find("\r\n"); p != std::string_view::npos; p = data.find("\r\n", p + 2)) ++crlfs;
  return top.size() + data.size() - crlfs;
}

Status ensure_dirs(const fs::path& md) {
  std::error_code ec;
  if (fs::is_directory(md / "tmp", ec) && fs::is_directory(md / "new", ec) && fs::is_directory(md / "cur", ec))
    return Ok{};
  for (const char* sub : {"tmp", "new", "cur"}) {
    fs::create_directories(md / sub, ec);
    if (ec) return make_error("cannot create maildir", (md / sub).string() + ": " + ec.message());
  }
  // A Maildir++ folder (".Junk") is marked as such for IMAP servers.
  auto leaf = md.filename().string();
  if (!leaf.empty() && leaf[0] == '.') {
    int fd = ::open((md / "maildirfolder").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
  }
  return Ok{};
}

}  // namespace

fs::path maildir_folder(const fs::path& maildir, std::string_view folder) {
  if (folder.empty()) return maildir;
  std::string name = ".";
  for (char c : folder) name += (c == '/' ? '.' : c);  // "Lists/foo" → ".Lists.foo"
  return maildir / name;
}

bool valid_folder_name(std::string_view folder) {
  if (folder.empty() || folder.size() > 200 || folder.front() == '.' || folder.front() == '/') return false;
  for (size_t i = 0; i < folder.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(folder[i]);
    if (c < 0x20 || c == 0x7f || c == '\\') return false;
    if ((c == '/' || c == '.') && i + 1 < folder.size() && (folder[i + 1] == '.' || folder[i + 1] == '/'))
      return false;
  }
  return folder.back() != '/' && folder.back() != '.';
}

MaildirCopy maildir_copy_name(const fs::path& maildir, const SpooledMessage& m, size_t rcpt,
                              std::string_view hostname) {
  auto top = top_lines(m, rcpt);
  uint64_t size = m.data ? local_size(top, *m.data) : 0;
  return MaildirCopy{maildir, fmt::format("{}.{}_{}.{},S={}", m.envelope.received_at, m.id, rcpt,
                                          safe_host(hostname), size)};
}

Result<MaildirCopy> write_maildir_tmp(const fs::path& maildir, const SpooledMessage& m, size_t rcpt,
                                      std::string_view hostname) {
  if (auto st = ensure_dirs(maildir); !st) return st.error();
  MaildirCopy c = maildir_copy_name(maildir, m, rcpt, hostname);
  std::string_view data = *m.data;
  std::string buf = top_lines(m, rcpt);
  buf.reserve(buf.size() + data.size());
  size_t start = 0;
  while (start < data.size()) {  // CRLF → LF: Maildir files use the local line end
    size_t cr = data.find("\r\n", start);
    if (cr == std::string_view::npos) {
      buf.append(data.substr(start));
      break;
    }
    buf.append(data.substr(start, cr - start)).push_back('\n');
    start = cr + 2;
  }
  auto path = c.tmp();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot write maildir", path.string() + ": " + std::strerror(errno));
  std::string_view out = buf;
  while (!out.empty()) {
    ssize_t n = ::write(fd, out.data(), out.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return make_error("cannot write maildir", path.string() + ": " + std::strerror(err));
    }
    out.remove_prefix(static_cast<size_t>(n));
  }
  if (::close(fd) != 0) {
    ::unlink(path.c_str());
    return make_error("cannot write maildir", path.string() + ": close failed");
  }
  return c;
}

Status publish(const MaildirCopy& c) {
  if (::rename(c.tmp().c_str(), c.dest().c_str()) != 0)
    return make_error("cannot deliver", "rename " + c.tmp().string() + ": " + std::strerror(errno));
  return Ok{};
}

void discard(const MaildirCopy& c) {
  ::unlink(c.tmp().c_str());
  ::unlink(c.dest().c_str());
}

bool already_delivered(const MaildirCopy& c) {
  std::error_code ec;
  if (fs::exists(c.dest(), ec)) return true;
  DIR* d = ::opendir((c.maildir / "cur").c_str());
  if (!d) return false;
  bool found = false;
  while (auto* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n.size() > c.name.size() && n.compare(0, c.name.size(), c.name) == 0 && n[c.name.size()] == ':') {
      found = true;
      break;
    }
  }
  ::closedir(d);
  return found;
}

}  // namespace nougat::engine
