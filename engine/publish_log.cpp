#include "engine/publish_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "engine/log.hpp"
#include "engine/sync.hpp"

namespace nougat::engine {
namespace fs = std::filesystem;
namespace {

constexpr size_t kGenEntries = 2048;  // intents per generation file

bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    s.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

PublishLog::PublishLog(fs::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
}

PublishLog::~PublishLog() {
  for (auto& g : gens_) ::close(g.fd);
}

size_t PublishLog::recover(SyncGroup& sync) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    auto name = e.path().filename().string();
    if (name.rfind("gen-", 0) != 0) continue;
    files.push_back(e.path());
    next_id_ = std::max<uint64_t>(next_id_, std::strtoull(name.c_str() + 4, nullptr, 10) + 1);
  }
  size_t redone = 0;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line)) {
      // "<maildir>\t<name>\t<size>\t<checksum>"; a torn last line fails to parse.
      std::istringstream ls(line);
      std::string maildir, name, size_s, sum_s;
      if (!std::getline(ls, maildir, '\t') || !std::getline(ls, name, '\t') ||
          !std::getline(ls, size_s, '\t') || !std::getline(ls, sum_s))
        continue;
      MaildirCopy c{maildir, name};
      if (already_delivered(c)) {  // renamed before the crash, maybe not logged: said now
        log::line("", "publish log: {} was in place already", c.dest().string());
        continue;
      }
      std::ifstream tmp(c.tmp(), std::ios::binary);
      if (!tmp) continue;  // never written, or renamed and then removed by the user
      std::string data((std::istreambuf_iterator<char>(tmp)), {});
      if (std::to_string(data.size()) != size_s || std::to_string(content_checksum(data)) != sum_s) {
        log::line("", "publish log: {} is incomplete, not delivered (it was never acknowledged)",
                  c.tmp().string());
        continue;
      }
      if (publish(c)) {
        ++redone;
        log::line("", "publish log: recovered {}", c.dest().string());
      }
    }
  }
  if (!files.empty()) {
    sync.sync_now();  // the recovered renames are durable before the intents go
    for (const auto& f : files) fs::remove(f, ec);
  }
  return redone;
}

Result<PublishLog::Gen*> PublishLog::current_locked() {
  if (gens_.empty() || gens_.back().appended >= kGenEntries) {
    auto path = dir_ / fmt::format("gen-{}", next_id_);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return make_error("local error in processing", path.string() + ": " + std::strerror(errno));
    gens_.push_back(Gen{next_id_++, fd, 0, 0});
  }
  return &gens_.back();
}

Result<uint64_t> PublishLog::append(const std::vector<MaildirCopy>& copies) {
  std::string lines;
  for (const auto& c : copies)
    lines += fmt::format("{}\t{}\t{}\t{}\n", c.maildir.string(), c.name, c.size, c.checksum);
  std::lock_guard lk(mu_);
  auto g = current_locked();
  if (!g) return g.error();
  if (!write_all((*g)->fd, lines)) return make_error("local error in processing", "publish log write failed");
  (*g)->outstanding += copies.size();
  (*g)->appended += copies.size();
  return (*g)->id;
}

void PublishLog::done(uint64_t gen, size_t n, SyncGroup& sync) {
  std::lock_guard lk(mu_);
  for (auto& g : gens_)
    if (g.id == gen) g.outstanding -= std::min(n, g.outstanding);
  retire_locked(sync);
}

void PublishLog::retire_locked(SyncGroup& sync) {
  // Every generation but the one taking appends may go once it is settled.
  while (gens_.size() > 1 && gens_.front().outstanding == 0) {
    Gen g = gens_.front();
    gens_.erase(gens_.begin());
    ::close(g.fd);
    auto path = dir_ / fmt::format("gen-{}", g.id);
    sync.request([path](bool ok) {
      if (ok) ::unlink(path.c_str());  // else: kept; the next start re-checks it
    });
  }
}

}  // namespace nougat::engine
