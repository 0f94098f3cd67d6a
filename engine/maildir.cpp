#include "engine/maildir.hpp"

#include "engine/mime.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>

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

// The message without the header fields named in `names` (whole fields,
// continuation lines included; the body untouched), or nullopt when it has
// none of them: the checks name what they remove whether or not the sender
// sent it, and the common copy should not be rebuilt for nothing.
std::optional<std::string> without_fields(std::string_view data, const std::vector<std::string>& names) {
  std::optional<std::string> out;  // made at the first field dropped
  size_t p = 0;
  bool drop = false;
  while (p < data.size()) {
    size_t nl = data.find('\n', p);
    size_t end = nl == std::string_view::npos ? data.size() : nl + 1;
    std::string_view line = data.substr(p, end - p);
    if (line == "\n" || line == "\r\n") break;  // end of the header block
    if (line[0] != ' ' && line[0] != '\t') {
      std::string_view name = field_name_of(line);
      drop = false;
      for (const auto& n : names) drop = drop || (!name.empty() && name_matches(name, n));
    }
    if (drop && !out) {
      out.emplace();
      out->reserve(data.size());
      out->append(data.substr(0, p));
    } else if (!drop && out) {
      out->append(line);
    }
    p = end;
  }
  if (out) out->append(data.substr(std::min(p, data.size())));
  return out;
}

// The file as stored locally: Return-Path and Delivered-To on top, then the
// message with CRLF folded to LF, and the headers the checks added right
// after our own Received: field (the first field of every spooled message),
// so that Received stays the first trace header of the copy. Fields the
// checks removed (Envelope::removed_headers) are left out.
std::string local_copy(const SpooledMessage& m, size_t rcpt) {
  std::string_view data = *m.data;
  std::optional<std::string> filtered;
  if (!m.envelope.removed_headers.empty() && (filtered = without_fields(data, m.envelope.removed_headers)))
    data = *filtered;
  std::string out = fmt::format("Return-Path: <{}>\nDelivered-To: {}\n", m.envelope.sender,
                                m.envelope.recipients[rcpt]);
  out.reserve(out.size() + data.size() + 256);
  size_t insert_at = 0;  // end of the first header field (with its continuation lines)
  if (!m.envelope.added_headers.empty()) {
    size_t p = 0;
    for (;;) {
      size_t nl = data.find('\n', p);
      if (nl == std::string_view::npos) {
        insert_at = data.size();
        break;
      }
      p = nl + 1;
      if (p >= data.size() || (data[p] != ' ' && data[p] != '\t')) {
        insert_at = p;
        break;
      }
    }
  }
  auto fold = [&out](std::string_view part) {
    size_t start = 0;
    while (start < part.size()) {
      size_t cr = part.find("\r\n", start);
      if (cr == std::string_view::npos) {
        out.append(part.substr(start));
        break;
      }
      out.append(part.substr(start, cr - start)).push_back('\n');
      start = cr + 2;
    }
  };
  fold(data.substr(0, insert_at));
  for (const auto& h : m.envelope.added_headers) out.append(h).push_back('\n');
  fold(data.substr(insert_at));
  return out;
}

// The last component of a directory path, a trailing '/' allowed
// ("Maildir/.Carol/" → ".Carol").
std::string leaf_name(const fs::path& dir) { return (dir / "").parent_path().filename().string(); }

Status ensure_dirs(const fs::path& md) {
  std::error_code ec;
  if (fs::is_directory(md / "tmp", ec) && fs::is_directory(md / "new", ec) && fs::is_directory(md / "cur", ec))
    return Ok{};
  for (const char* sub : {"tmp", "new", "cur"}) {
    fs::create_directories(md / sub, ec);
    if (ec) return make_error("cannot create maildir", (md / sub).string() + ": " + ec.message());
  }
  // A Maildir++ folder (".Junk") is marked as such for IMAP servers.
  auto leaf = leaf_name(md);
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

std::string maildir_folder_log(const fs::path& dir) {
  std::string last = leaf_name(dir);
  return last.size() > 1 && last[0] == '.' ? " F=" + last.substr(1) : "";
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

uint64_t content_checksum(std::string_view data) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a: detects a torn or zero-filled file
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

MaildirCopy maildir_copy_name(const fs::path& maildir, const SpooledMessage& m, size_t rcpt,
                              std::string_view hostname, size_t target) {
  uint64_t size = m.data ? local_copy(m, rcpt).size() : 0;
  std::string which = target == 0 ? std::to_string(rcpt) : fmt::format("{}-{}", rcpt, target);
  return MaildirCopy{maildir, fmt::format("{}.{}_{}.{},S={}", m.envelope.received_at, m.id, which,
                                          safe_host(hostname), size)};
}

Result<MaildirCopy> write_maildir_tmp(const fs::path& maildir, const SpooledMessage& m, size_t rcpt,
                                      std::string_view hostname, size_t target) {
  if (auto st = ensure_dirs(maildir); !st) return st.error();
  std::string buf = local_copy(m, rcpt);
  std::string which = target == 0 ? std::to_string(rcpt) : fmt::format("{}-{}", rcpt, target);
  MaildirCopy c{maildir, fmt::format("{}.{}_{}.{},S={}", m.envelope.received_at, m.id, which,
                                     safe_host(hostname), buf.size())};
  c.size = buf.size();
  c.checksum = content_checksum(buf);
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

Status append_mbox(const fs::path& file, const SpooledMessage& m, size_t rcpt, bool retry) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);  // read: see retry
  if (fd < 0) return make_error("cannot open mbox", file.string() + ": " + std::strerror(errno));
  struct flock lk {};
  lk.l_type = F_WRLCK;
  lk.l_whence = SEEK_SET;
  if (::fcntl(fd, F_SETLKW, &lk) != 0) {
    ::close(fd);
    return make_error("cannot lock mbox", file.string());
  }
  std::time_t t = m.envelope.received_at;
  char date[64];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
  std::string out = fmt::format("From {} {}\n", m.envelope.sender.empty() ? "MAILER-DAEMON" : m.envelope.sender,
                                date);
  std::string copy = local_copy(m, rcpt);
  std::string_view data = copy;
  size_t start = 0;
  while (start < data.size()) {
    size_t end = data.find('\n', start);
    std::string_view line = data.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    // mboxrd: ">*From " gets one more '>'.
    size_t gt = 0;
    while (gt < line.size() && line[gt] == '>') ++gt;
    if (line.substr(gt).substr(0, 5) == "From ") out += '>';
    out.append(line).push_back('\n');
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  out += '\n';
  struct stat before {};
  ::fstat(fd, &before);
  if (retry && before.st_size >= off_t(out.size())) {
    // The same copy (this message, this recipient: the bytes are the same
    // every time) is there already: an earlier attempt appended it. Looked
    // for in the last 64 MiB, where appends since then still leave it.
    const off_t window = std::min<off_t>(before.st_size, off_t(64) << 20);
    std::string tail(size_t(window), '\0');
    ssize_t got = ::pread(fd, tail.data(), tail.size(), before.st_size - window);
    if (got == ssize_t(tail.size()) && tail.find(out) != std::string::npos) {
      ::close(fd);
      return Ok{};
    }
  }
  std::string_view rest = out;
  Status st = Ok{};
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      st = make_error("cannot write mbox", file.string() + ": " + std::strerror(errno));
      break;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (st && ::fsync(fd) != 0) st = make_error("cannot sync mbox", file.string());
  if (!st && ::ftruncate(fd, before.st_size) == 0) (void)::fsync(fd);  // no half message left behind
  ::close(fd);  // also releases the lock
  return st;
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
