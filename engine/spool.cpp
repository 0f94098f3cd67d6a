#include "engine/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "engine/log.hpp"

namespace nougat::engine {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kMagic = "nougat-spool 1\n";

std::string base62(uint64_t v, size_t width) {
  static const char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string s(width, '0');
  for (size_t i = width; i-- > 0;) {
    s[i] = kDigits[v % 62];
    v /= 62;
  }
  return s;
}

Status write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("local error in processing",
                        fmt::format("write {}: {}", path.string(), std::strerror(errno)));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok{};
}

bool clean_field(std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; }

// The held reason is a note for the administrator, not a protocol field:
// line breaks become spaces and it is cut to a readable length.
std::string one_line(std::string_view s, size_t max) {
  std::string out(s.substr(0, max));
  for (auto& c : out)
    if (c == '\r' || c == '\n') c = ' ';
  return out;
}

Status fsync_path(const fs::path& p, int flags) {
  int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return make_error("cannot open " + p.string(), std::strerror(errno));
  int r = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (r != 0) return make_error("cannot sync " + p.string(), std::strerror(e));
  return Ok{};
}

bool is_base62(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

bool valid_variable_name(std::string_view s) {
  return !s.empty() &&
         s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string_view::npos;
}

}  // namespace

bool valid_queue_id(std::string_view id) {
  if (id.size() != 15 || id[6] != '-') return false;
  for (size_t i = 0; i < id.size(); ++i)
    if (i != 6 && !is_base62(id[i])) return false;
  return true;
}

Spool::Spool(fs::path dir) : dir_(std::move(dir)), queue_(dir_ / "queue"), release_(dir_ / "release") {}

Status Spool::open() {
  std::error_code ec;
  for (const auto& d : {queue_, release_}) {
    fs::create_directories(d, ec);
    if (ec) return make_error("cannot create spool", d.string() + ": " + ec.message());
  }
  return Ok{};
}

std::string Spool::new_id() {
  // time(6) - pid and sequence(6): unique per host; create() uses O_EXCL anyway.
  static std::atomic<uint64_t> seq{0};
  uint64_t n = seq.fetch_add(1);
  uint64_t mix = (static_cast<uint64_t>(::getpid()) << 20) ^ (n & 0xfffff) ^ ((n >> 20) << 40);
  return base62(static_cast<uint64_t>(std::time(nullptr)), 6) + "-" + base62(mix, 8);
}

Result<std::unique_ptr<Spool::Writer>> Spool::create(const std::string& id, const Envelope& env) {
  auto w = std::unique_ptr<Writer>(new Writer);
  w->path_ = queue_ / id;
  w->msg_.id = id;
  w->msg_.envelope = env;
  w->memory_ = std::make_shared<std::string>();
  if (!encode_envelope(id, env)) return make_error("bad envelope", "CR or LF in an envelope field");
  return w;
}

std::optional<std::string> encode_envelope(const std::string& id, const Envelope& env) {
  std::string out;
  auto rec = [&](std::string_view k, std::string_view v) -> bool {
    if (!clean_field(v)) return false;
    out.append(k).append(" ").append(v).append("\n");
    return true;
  };
  bool ok = rec("id", id) && rec("time", std::to_string(env.received_at)) &&
            rec("sender", env.sender) && rec("client", env.client_ip) && rec("helo", env.helo) &&
            rec("auth", env.auth_user) && rec("protocol", env.protocol) &&
            rec("smtputf8", env.smtputf8 ? "1" : "0");
  for (const auto& r : env.recipients) ok = ok && rec("rcpt", r);
  for (const auto& h : env.added_headers) {
    // A folded field: its first line, then one "header+" per continuation line.
    size_t start = 0;
    for (bool first = true; ok; first = false) {
      size_t nl = h.find('\n', start);
      ok = rec(first ? "header" : "header+", std::string_view(h).substr(start, nl == std::string::npos ? nl : nl - start));
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
  for (const auto& name : env.removed_headers) ok = ok && rec("unheader", name);
  if (!env.folder.empty()) ok = ok && rec("folder", env.folder);
  if (env.quarantined) {
    ok = ok && rec("quarantine", "1");
    // A record of its own: readers that predate it skip it (and older spool
    // files without it are simply held for no recorded reason).
    if (!env.held_reason.empty()) ok = ok && rec("held", one_line(env.held_reason, 300));
  }
  for (const auto& [name, value] : env.variables)
    ok = ok && valid_variable_name(name) && rec("var", name + " " + value);
  if (!ok) return std::nullopt;
  return out;
}

Spool::Writer::~Writer() {
  if (fd_ >= 0 || !finished_) abort();
}

// The file is created on first need: a small message may never touch the
// spool (see engine/intake.hpp); a large one streams to disk as it arrives.
Status Spool::Writer::open_file() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0)
    return make_error("local error in processing",
                      fmt::format("create {}: {}", path_.string(), std::strerror(errno)));
  auto st = write_all(fd_, kMagic, path_);
  if (st && memory_) st = write_all(fd_, *memory_, path_);
  return st;
}

Status Spool::Writer::append(std::string_view bytes) {
  size_ += bytes.size();
  if (memory_ && size_ <= kMemoryCopyLimit) {
    memory_->append(bytes);
    return Ok{};
  }
  if (fd_ < 0) {
    if (auto st = open_file(); !st) return st;
    memory_.reset();  // too big to keep: delivery reads it back from the file
  }
  return write_all(fd_, bytes, path_);
}

Result<SpooledMessage> Spool::Writer::finish() {
  Status st = Ok{};
  auto records = encode_envelope(msg_.id, msg_.envelope);
  if (!records) st = make_error("bad envelope", "CR or LF in an envelope field");
  if (st && fd_ < 0) st = open_file();
  if (st) st = write_all(fd_, *records + fmt::format("end {} {}\n", size_, records->size()), path_);
  if (fd_ >= 0 && ::close(fd_) != 0 && st) st = make_error("local error in processing", "close spool file");
  fd_ = -1;
  finished_ = true;
  if (!st) {
    ::unlink(path_.c_str());
    return st.error();
  }
  msg_.data_offset = kMagic.size();
  msg_.data_size = size_;
  msg_.data = std::move(memory_);
  msg_.state.assign(msg_.envelope.recipients.size(), RcptState::kPending);
  msg_.failure.assign(msg_.envelope.recipients.size(), {});
  return std::move(msg_);
}

std::optional<SpooledMessage> Spool::Writer::take_in_memory() {
  if (fd_ >= 0 || !memory_) return std::nullopt;
  finished_ = true;
  msg_.data_size = size_;
  msg_.data = std::move(memory_);
  msg_.state.assign(msg_.envelope.recipients.size(), RcptState::kPending);
  msg_.failure.assign(msg_.envelope.recipients.size(), {});
  return std::move(msg_);
}

Result<std::shared_ptr<const std::string>> Spool::Writer::contents() const {
  if (memory_) return std::shared_ptr<const std::string>(memory_);
  std::ifstream in(path_, std::ios::binary);
  auto data = std::make_shared<std::string>(size_, '\0');
  in.seekg(static_cast<std::streamoff>(kMagic.size()));
  in.read(data->data(), static_cast<std::streamsize>(size_));
  if (!in || static_cast<uint64_t>(in.gcount()) != size_) return make_error("short read", path_.string());
  return std::shared_ptr<const std::string>(std::move(data));
}

void Spool::Writer::abort() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  fd_ = -1;
  finished_ = true;
}

std::vector<std::string> Spool::recover() {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& name : this->ids()) {
    auto m = load(name, false);
    if (m) {
      ids.push_back(name);
    } else {
      log::line(name, "removing incomplete spool file ({})", m.error().detail);
      fs::remove(queue_ / name, ec);
      fs::remove(queue_ / (name + ".state"), ec);
    }
  }
  // What a removal interrupted by a crash left behind (Spool::remove order).
  for (const auto& e : fs::directory_iterator(queue_, ec)) {
    auto name = e.path().filename().string();
    if (name.ends_with(".state") && valid_queue_id(name.substr(0, name.size() - 6)) &&
        !exists(name.substr(0, name.size() - 6)))
      fs::remove(e.path(), ec);
  }
  for (const auto& id : released_ids()) {
    if (exists(id)) continue;
    log::line(id, "removing a release marker without a message");
    unmark_released(id);
  }
  return ids;
}

std::vector<std::string> Spool::ids() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(queue_, ec)) {
    auto name = e.path().filename().string();
    if (valid_queue_id(name)) ids.push_back(std::move(name));  // not .state files, not strangers
  }
  std::sort(ids.begin(), ids.end());  // base62 time first: arrival order
  return ids;
}

bool Spool::exists(const std::string& id) const {
  struct stat st {};
  return valid_queue_id(id) && ::stat((queue_ / id).c_str(), &st) == 0;
}

Result<SpooledMessage> Spool::load(const std::string& id, bool with_data) {
  auto path = queue_ / id;
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot open", path.string());
  std::string magic(kMagic.size(), '\0');
  if (!in.read(magic.data(), static_cast<std::streamsize>(magic.size())) || magic != kMagic)
    return make_error("bad spool file", "no magic");
  // The end record "end <data size> <records size>\n" closes the file.
  std::error_code ec;
  uint64_t total = fs::file_size(path, ec);
  if (ec || total < kMagic.size() + 8) return make_error("bad spool file", "truncated");
  uint64_t tail_len = std::min<uint64_t>(48, total - kMagic.size());
  std::string tail(tail_len, '\0');
  in.seekg(static_cast<std::streamoff>(total - tail_len));
  in.read(tail.data(), static_cast<std::streamsize>(tail_len));
  auto pos = tail.rfind("end ");
  if (pos == std::string::npos || tail.back() != '\n' || (pos > 0 && tail[pos - 1] != '\n'))
    return make_error("bad spool file", "no end record");
  std::istringstream end(tail.substr(pos + 4));
  uint64_t size = 0, rec_size = 0;
  std::string rest;
  if (!(end >> size >> rec_size) || (end >> rest))
    return make_error("bad spool file", "bad end record");
  uint64_t end_len = tail.size() - pos;
  if (kMagic.size() + size + rec_size + end_len != total)
    return make_error("bad spool file", "end record does not match size");
  SpooledMessage m;
  m.id = id;
  m.data_offset = kMagic.size();
  m.data_size = size;
  std::string records(rec_size, '\0');
  in.seekg(static_cast<std::streamoff>(kMagic.size() + size));
  in.read(records.data(), static_cast<std::streamsize>(rec_size));
  auto& env = m.envelope;
  std::istringstream rs(records);
  std::string line;
  while (std::getline(rs, line)) {
    auto sp = line.find(' ');
    std::string k = line.substr(0, sp), v = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (k == "sender") env.sender = v;
    else if (k == "rcpt") env.recipients.push_back(v);
    else if (k == "time") env.received_at = std::atoll(v.c_str());
    else if (k == "client") env.client_ip = v;
    else if (k == "helo") env.helo = v;
    else if (k == "auth") env.auth_user = v;
    else if (k == "protocol") env.protocol = v;
    else if (k == "smtputf8") env.smtputf8 = v == "1";
    else if (k == "header") env.added_headers.push_back(v);
    else if (k == "header+" && !env.added_headers.empty()) env.added_headers.back() += "\n" + v;
    else if (k == "unheader") env.removed_headers.push_back(v);
    else if (k == "folder") env.folder = v;
    else if (k == "quarantine") env.quarantined = v == "1";
    else if (k == "held") {
      env.quarantined = true;
      env.held_reason = v;
    }
    else if (k == "var") {
      auto sp2 = v.find(' ');
      if (sp2 != std::string::npos) env.variables.emplace_back(v.substr(0, sp2), v.substr(sp2 + 1));
    }
  }
  m.state.assign(env.recipients.size(), RcptState::kPending);
  m.failure.assign(env.recipients.size(), {});
  std::ifstream st(queue_ / (id + ".state"));
  while (std::getline(st, line)) {
    std::istringstream ls(line);
    std::string k;
    size_t n = 0;
    if (!(ls >> k >> n) || n >= m.state.size()) continue;
    if (k == "done") m.state[n] = RcptState::kDone;
    if (k == "failed") {
      m.state[n] = RcptState::kFailed;
      std::getline(ls >> std::ws, m.failure[n]);
    }
  }
  if (with_data) {
    auto d = read_data(m);
    if (!d) return d.error();
    m.data = *d;
  }
  return m;
}

Result<std::shared_ptr<const std::string>> Spool::read_data(const SpooledMessage& m) {
  auto path = queue_ / m.id;
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot open", path.string());
  auto data = std::make_shared<std::string>(m.data_size, '\0');
  in.seekg(static_cast<std::streamoff>(m.data_offset));
  in.read(data->data(), static_cast<std::streamsize>(m.data_size));
  if (static_cast<uint64_t>(in.gcount()) != m.data_size) return make_error("short read", path.string());
  return std::shared_ptr<const std::string>(std::move(data));
}

Status Spool::record(const std::string& id, size_t rcpt, RcptState st, std::string_view why) {
  auto path = queue_ / (id + ".state");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot record state", path.string());
  std::string line = st == RcptState::kDone ? fmt::format("done {}\n", rcpt)
                                            : fmt::format("failed {} {}\n", rcpt, why);
  auto r = write_all(fd, line, path);
  ::close(fd);
  return r;
}

Status Spool::remove(const std::string& id) {
  std::string problems;
  for (const auto& p : {queue_ / id, queue_ / (id + ".state"), release_ / id})
    if (::unlink(p.c_str()) != 0 && errno != ENOENT)
      problems += (problems.empty() ? "" : "; ") + p.string() + ": " + std::strerror(errno);
  if (!problems.empty()) return make_error("cannot remove " + id, problems);
  return Ok{};
}

Status Spool::mark_released(const std::string& id) {
  if (!valid_queue_id(id)) return make_error("not a queue id: " + id);
  std::error_code ec;
  bool made = fs::create_directories(release_, ec);  // a spool from before markers existed
  if (ec) return make_error("cannot create " + release_.string(), ec.message());
  auto path = release_ / id;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot create " + path.string(), std::strerror(errno));
  auto st = write_all(fd, fmt::format("released {} uid {}\n", std::time(nullptr), ::getuid()), path);
  if (st && ::fsync(fd) != 0) st = make_error("cannot sync " + path.string(), std::strerror(errno));
  ::close(fd);
  if (st) st = fsync_path(release_, O_RDONLY | O_DIRECTORY);
  if (st && made) st = fsync_path(dir_, O_RDONLY | O_DIRECTORY);
  if (!st) ::unlink(path.c_str());
  return st;
}

bool Spool::is_released(const std::string& id) const {
  struct stat st {};
  return valid_queue_id(id) && ::stat((release_ / id).c_str(), &st) == 0;
}

std::vector<std::string> Spool::released_ids() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(release_, ec)) {
    auto name = e.path().filename().string();
    if (valid_queue_id(name)) ids.push_back(std::move(name));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void Spool::unmark_released(const std::string& id) {
  if (valid_queue_id(id)) ::unlink((release_ / id).c_str());
}

}  // namespace nougat::engine
