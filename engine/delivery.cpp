#include "engine/delivery.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>

#include "engine/log.hpp"

namespace nougat::engine {
namespace fs = std::filesystem;

struct Delivery::Pending {
  Item* item;
  size_t rcpt;
  fs::path tmp, dest;
  std::string user;
};

namespace {

constexpr size_t kBatch = 64;

std::string domain_of(const std::string& addr) {
  auto at = addr.rfind('@');
  return at == std::string::npos ? "" : addr.substr(at + 1);
}

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

Status ensure_maildir(const fs::path& md) {
  std::error_code ec;
  for (const char* sub : {"tmp", "new", "cur"}) {
    fs::create_directories(md / sub, ec);
    if (ec) return make_error("cannot create maildir", (md / sub).string() + ": " + ec.message());
  }
  return Ok{};
}

// Was this recipient's copy already renamed into new/ or moved on to cur/?
bool already_delivered(const fs::path& md, const std::string& name) {
  std::error_code ec;
  if (fs::exists(md / "new" / name, ec)) return true;
  DIR* d = ::opendir((md / "cur").c_str());
  if (!d) return false;
  bool found = false;
  while (auto* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n.size() > name.size() && n.compare(0, name.size(), name) == 0 && n[name.size()] == ':') {
      found = true;
      break;
    }
  }
  ::closedir(d);
  return found;
}

Status write_file(const fs::path& path, std::string_view head, std::string_view data, bool fsync_it) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot write", path.string() + ": " + std::strerror(errno));
  // CRLF → LF while copying: Maildir files use the local line ending.
  std::string buf;
  buf.reserve(head.size() + data.size());
  buf.append(head);
  size_t start = 0;
  while (start < data.size()) {
    size_t cr = data.find("\r\n", start);
    if (cr == std::string_view::npos) {
      buf.append(data.substr(start));
      break;
    }
    buf.append(data.substr(start, cr - start)).push_back('\n');
    start = cr + 2;
  }
  std::string_view out = buf;
  while (!out.empty()) {
    ssize_t n = ::write(fd, out.data(), out.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return make_error("cannot write", path.string() + ": " + std::strerror(err));
    }
    out.remove_prefix(static_cast<size_t>(n));
  }
  if (fsync_it && ::fsync(fd) != 0) {
    ::close(fd);
    return make_error("cannot sync", path.string());
  }
  if (::close(fd) != 0) return make_error("cannot close", path.string());
  return Ok{};
}

}  // namespace

Delivery::Delivery(ConfigPtr cfg, Spool& spool, const Directory& dir, SyncGroup& sync)
    : cfg_(std::move(cfg)), spool_(spool), dir_(dir), sync_(sync) {}

Delivery::~Delivery() { stop(); }

void Delivery::start(unsigned workers) {
  for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this] { run(); });
}

void Delivery::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Delivery::submit(SpooledMessage&& m) {
  {
    std::lock_guard lk(mu_);
    queue_.push_back(Item{std::move(m), false});
  }
  cv_.notify_one();
}

size_t Delivery::recover() {
  size_t n = 0;
  for (const auto& id : spool_.recover()) {
    auto m = spool_.load(id, false);
    if (!m) continue;
    std::lock_guard lk(mu_);
    queue_.push_back(Item{std::move(*m), true});
    ++n;
  }
  cv_.notify_all();
  return n;
}

void Delivery::drain() {
  std::unique_lock lk(mu_);
  idle_cv_.wait(lk, [&] { return queue_.empty() && busy_ == 0; });
}

bool Delivery::sync() {
  std::promise<bool> p;
  auto f = p.get_future();
  sync_.request([&p](bool ok) { p.set_value(ok); });
  return f.get();
}

void Delivery::run() {
  std::vector<Item> batch;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      while (!queue_.empty() && batch.size() < kBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ++busy_;
    }
    deliver_batch(batch);
    batch.clear();
    {
      std::lock_guard lk(mu_);
      --busy_;
    }
    idle_cv_.notify_all();
  }
}

void Delivery::deliver_batch(std::vector<Item>& batch) {
  const auto& host = cfg_->server.hostname;
  std::vector<Pending> pending;
  // maildir_fsync = false trades crash safety for speed: no syncs at all.
  const bool durable = cfg_->transports.maildir_fsync;
  for (auto& item : batch) {
    auto& m = item.msg;
    if (!m.data) {
      auto d = spool_.read_data(m);
      if (!d) {
        log::line(m.id, "== cannot read spool data: {}", d.error().detail);
        continue;
      }
      m.data = *d;
    }
    for (size_t i = 0; i < m.envelope.recipients.size(); ++i) {
      if (m.state[i] != RcptState::kPending) continue;
      const auto& rcpt = m.envelope.recipients[i];
      if (!cfg_->is_local_domain(domain_of(rcpt))) {
        log::line(m.id, "== {} R=remote defer (remote delivery is not available yet)", rcpt);
        continue;
      }
      auto user = dir_.find(rcpt);
      if (!user) {
        m.state[i] = RcptState::kFailed;
        m.failure[i] = "550 5.1.1 unknown user";
        log::line(m.id, "** {}: unknown user", rcpt);
        (void)spool_.record(m.id, i, RcptState::kFailed, m.failure[i]);
        continue;
      }
      auto md = user->maildir();
      if (auto st = ensure_maildir(md); !st) {
        log::line(m.id, "== {} T=maildir defer: {}", rcpt, st.error().detail);
        continue;
      }
      std::string head = fmt::format("Return-Path: <{}>\nDelivered-To: {}\n", m.envelope.sender, rcpt);
      uint64_t size = head.size() + m.data->size();  // approximate before CRLF folding
      size_t crlfs = 0;
      for (size_t p = m.data->find("\r\n"); p != std::string::npos; p = m.data->find("\r\n", p + 2))
        ++crlfs;
      size -= crlfs;
      std::string name = fmt::format("{}.{}_{}.{},S={}", m.envelope.received_at, m.id, i,
                                     safe_host(host), size);
      if (item.recovered && already_delivered(md, name)) {
        m.state[i] = RcptState::kDone;
        log::line(m.id, "=> {} (already delivered before restart)", rcpt);
        continue;
      }
      auto tmp = md / "tmp" / name;
      if (auto st = write_file(tmp, head, *m.data, false); !st) {
        log::line(m.id, "== {} T=maildir defer: {}", rcpt, st.error().detail);
        continue;
      }
      pending.push_back(Pending{&item, i, tmp, md / "new" / name, user->address});
    }
  }
  // The data of every tmp file is durable before any rename (Maildir rule)…
  if (durable && !pending.empty() && !sync()) {
    for (auto& p : pending) {
      std::error_code ec;
      fs::remove(p.tmp, ec);
      log::line(p.item->msg.id, "== {} T=maildir defer: sync failed", p.item->msg.envelope.recipients[p.rcpt]);
    }
    return;
  }
  for (auto& p : pending) {
    auto& m = p.item->msg;
    if (::rename(p.tmp.c_str(), p.dest.c_str()) != 0) {
      log::line(m.id, "== {} T=maildir defer: rename: {}", m.envelope.recipients[p.rcpt], std::strerror(errno));
      continue;
    }
    m.state[p.rcpt] = RcptState::kDone;
  }
  // …and every rename is durable before the spool forgets the message.
  if (durable && !pending.empty() && !sync()) return;
  for (auto& p : pending) {
    auto& m = p.item->msg;
    if (m.state[p.rcpt] == RcptState::kDone)
      log::line(m.id, "=> {} R=local_user T=maildir", m.envelope.recipients[p.rcpt]);
  }
  for (auto& item : batch) {
    auto& m = item.msg;
    bool all_done = true, any_pending = false;
    for (auto s : m.state) {
      all_done &= s == RcptState::kDone;
      any_pending |= s == RcptState::kPending;
    }
    if (all_done) {
      spool_.remove(m.id);
      log::line(m.id, "Completed");
      continue;
    }
    for (size_t i = 0; i < m.state.size(); ++i)
      if (m.state[i] == RcptState::kDone) (void)spool_.record(m.id, i, RcptState::kDone);
    if (!any_pending) log::line(m.id, "kept in the queue: failed recipients await a bounce");
  }
}

}  // namespace nougat::engine
