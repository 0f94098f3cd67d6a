#include "engine/junk_journal.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "engine/log.hpp"

namespace nougat::engine {
namespace fs = std::filesystem;
namespace {

Status write_all(int fd, std::string_view data, const fs::path& file) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return make_error("cannot write junk journal", file.string() + ": " + std::strerror(errno));
    data.remove_prefix(size_t(n));
  }
  return Ok{};
}

Status sync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return make_error("cannot sync directory", dir.string() + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0)
    return make_error("cannot sync directory", dir.string() + ": " + std::strerror(errno));
  return Ok{};
}

}  // namespace

JunkJournal::Parsed JunkJournal::parse(std::string_view text, std::string_view label) {
  Parsed r;
  size_t p = 0, lineno = 0;
  while (p < text.size()) {
    ++lineno;
    size_t nl = text.find('\n', p);
    if (nl == std::string_view::npos) {
      r.problems.push_back(fmt::format("{}:{}: incomplete last line", label, lineno));
      break;
    }
    std::string_view line = text.substr(p, nl - p);
    p = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    auto bad = [&](std::string_view what) {
      r.problems.push_back(fmt::format("{}:{}: {}", label, lineno, what));
    };
    size_t s1 = line.find(' ');
    size_t s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
    if (s2 == std::string_view::npos) {
      bad("expected TIME STATE KEY");
      continue;
    }
    int64_t time = 0;
    auto tv = line.substr(0, s1);
    auto [ptr, ec] = std::from_chars(tv.data(), tv.data() + tv.size(), time);
    if (ec != std::errc() || ptr != tv.data() + tv.size() || time < 0) {
      bad("bad time");
      continue;
    }
    auto word = line.substr(s1 + 1, s2 - s1 - 1);
    bool pending = word.ends_with(kPendingSuffix);
    if (pending) word.remove_suffix(kPendingSuffix.size());
    auto state = parse_trained(word);
    if (!state || (pending && *state == Trained::kNone)) {
      bad("unknown state (none, spam, ham, spam-pending or ham-pending)");
      continue;
    }
    auto key = line.substr(s2 + 1);
    if (!valid_message_key(key)) {
      bad("bad message key");
      continue;
    }
    auto it = r.entries.find(key);
    if (it == r.entries.end()) it = r.entries.emplace(std::string(key), Entry{}).first;
    it->second = Entry{*state, pending, time};
    ++r.lines;
  }
  return r;
}

std::string JunkJournal::format_line(int64_t time, Trained state, bool pending,
                                     std::string_view key) {
  return fmt::format("{} {}{} {}\n", time, trained_name(state), pending ? kPendingSuffix : "", key);
}

std::string JunkJournal::compacted(const Map& entries) {
  std::string out(kHeader);
  for (const auto& [key, e] : entries)
    if (e.state != Trained::kNone) out += format_line(e.time, e.state, e.pending, key);
  return out;
}

Result<std::vector<std::string>> JunkJournal::load() {
  entries_.clear();
  lines_ = live_ = 0;
  int fd = ::open(file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::vector<std::string>{};
    return make_error("cannot read junk journal", file_.string() + ": " + std::strerror(errno));
  }
  std::string text;
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0;
  if (ok && uint64_t(st.st_size) > kMaxJournalBytes) {
    ::close(fd);
    return make_error(
        "junk journal too large",
        fmt::format("{}: {} bytes (limit {})", file_.string(), st.st_size, kMaxJournalBytes));
  }
  char buf[65536];
  int err = ok ? 0 : errno;
  while (!err) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0 && errno != EINTR) err = errno;
    if (n > 0) text.append(buf, size_t(n));
  }
  ::close(fd);
  if (err)
    return make_error("cannot read junk journal", file_.string() + ": " + std::strerror(err));
  auto parsed = parse(text, file_.string());
  entries_ = std::move(parsed.entries);
  lines_ = parsed.lines;
  for (const auto& [k, e] : entries_) live_ += e.state != Trained::kNone;
  if (!parsed.problems.empty()) {
    // Repair now: the next append must not continue a torn line.
    if (auto st2 = compact(); !st2)
      parsed.problems.push_back(st2.error().text + ": " + st2.error().detail);
  }
  return std::move(parsed.problems);
}

Trained JunkJournal::state(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? Trained::kNone : it->second.state;
}

bool JunkJournal::pending(std::string_view key) const {
  auto it = entries_.find(key);
  return it != entries_.end() && it->second.pending;
}

void JunkJournal::set(const Change& c, int64_t time) {
  auto& e = entries_[c.key];
  live_ -= e.state != Trained::kNone;
  live_ += c.state != Trained::kNone;
  e = Entry{c.state, c.pending, time};
}

Status JunkJournal::record(const std::vector<Change>& changes, int64_t now) {
  if (changes.empty()) return Ok{};
  std::string out;
  for (const auto& c : changes) {
    if (c.pending && c.state == Trained::kNone) {  // no line could say it
      log::line("", "JunkJournal::record: a pending change to none for {}", c.key);
      std::abort();
    }
    set(c, now);
    out += format_line(now, c.state, c.pending, c.key);
  }
  std::error_code ec;
  fs::create_directories(file_.parent_path(), ec);
  bool fresh = !fs::exists(file_, ec);
  if (fresh) out.insert(0, kHeader);
  int fd = ::open(file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error("cannot write junk journal", file_.string() + ": " + std::strerror(errno));
  auto st = write_all(fd, out, file_);
  if (st && ::fsync(fd) != 0)
    st = make_error("cannot sync junk journal", file_.string() + ": " + std::strerror(errno));
  ::close(fd);
  if (!st) return st;
  if (fresh)
    if (auto d = sync_dir(file_.parent_path()); !d) return d;
  lines_ += changes.size();
  // The lines are durable: a compaction that fails (tried again at the next
  // record) is for the log, not a failure of the record.
  if (lines_ > std::max(kCompactMinLines, 2 * live_))
    if (auto c = compact(); !c) log::line("", "junk journal: {} ({}); compacting later", c.error().text, c.error().detail);
  return Ok{};
}

Status JunkJournal::compact() {
  std::string text = compacted(entries_);
  fs::path tmp = file_;
  tmp += fmt::format(".tmp.{}", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error("cannot compact junk journal", tmp.string() + ": " + std::strerror(errno));
  auto st = write_all(fd, text, tmp);
  if (st && ::fsync(fd) != 0)
    st = make_error("cannot compact junk journal", tmp.string() + ": " + std::strerror(errno));
  ::close(fd);
  if (st && ::rename(tmp.c_str(), file_.c_str()) != 0)
    st = make_error("cannot compact junk journal", file_.string() + ": " + std::strerror(errno));
  if (!st) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (auto d = sync_dir(file_.parent_path()); !d) return d;
  for (auto it = entries_.begin(); it != entries_.end();)
    it = it->second.state == Trained::kNone ? entries_.erase(it) : std::next(it);
  lines_ = live_;
  return Ok{};
}

}  // namespace nougat::engine
