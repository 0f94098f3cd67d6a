#include "engine/junk_trainer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iterator>

#include "engine/log.hpp"
#include "engine/maildir.hpp"
#include "engine/spam_check.hpp"
#include "scanners/lmdb_store.hpp"

namespace nougat::engine {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kFolders = 2;  // JunkFolder::kInbox, kJunk as indices

int index(JunkFolder f) { return f == JunkFolder::kInbox ? 0 : 1; }

struct Listed {
  uint64_t hash;  // of the base name
  fs::path path;
};

// The files of one Maildir folder: new/ before cur/, so that a file a client
// moves from new/ to cur/ while we list is seen at least once.
void list_folder(const fs::path& folder, std::vector<Listed>& out) {
  for (const char* sub : {"new", "cur"}) {
    fs::path dir = folder / sub;
    DIR* d = ::opendir(dir.c_str());
    if (!d) continue;
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
      std::string_view name(e->d_name);
      out.push_back({content_checksum(maildir_base_name(name)), dir / e->d_name});
    }
    ::closedir(d);
  }
}

// The modification times (ns) of a folder's new/ and cur/, -1 for one that
// is missing: any file created, renamed in or out, or removed changes them.
struct FolderStamp {
  int64_t ns[2] = {-2, -2};
  bool operator==(const FolderStamp&) const = default;
};

FolderStamp folder_stamp(const fs::path& folder) {
  FolderStamp s;
  int i = 0;
  for (const char* sub : {"new", "cur"}) {
    struct stat st {};
    s.ns[i++] = ::stat((folder / sub).c_str(), &st) == 0
                    ? int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec
                    : -1;
  }
  return s;
}

// A stamp proves "unchanged" only when it is older than a clock tick or two
// at the time it was taken: a change in the same tick as our listing could
// leave the time as it was.
bool settled(const FolderStamp& s) {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  int64_t limit = (int64_t(now.tv_sec) - 2) * 1'000'000'000 + now.tv_nsec;
  return s.ns[0] < limit && s.ns[1] < limit;
}

// Reads up to `n` bytes at `off`; fewer only at the end of the file.
bool pread_some(int fd, std::string& out, size_t n, off_t off) {
  // Through a buffer that is never cleared: resizing `out` to n first would
  // zero 64 KiB per file for messages of a few KB.
  thread_local std::vector<char> buf;
  if (buf.size() < n) buf.resize(n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, buf.data() + got, n - got, off + off_t(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    if (r == 0) break;
    got += size_t(r);
  }
  out.assign(buf.data(), got);
  return true;
}

int open_message(const fs::path& p) {
  return ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
}

// A copy of the open file `fd` at `to`: a hard link when the file system
// allows it (through /proc, so it is the file that was read, whatever its
// name is now), else the bytes.
bool stage_file(int fd, const fs::path& to) {
  std::string proc = fmt::format("/proc/self/fd/{}", fd);
  if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, to.c_str(), AT_SYMLINK_FOLLOW) == 0) return true;
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) return false;
  char buf[65536];
  off_t off = 0;
  bool ok = true;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    for (ssize_t w = 0; ok && w < n;) {
      ssize_t k = ::write(out, buf + w, size_t(n - w));
      if (k < 0 && errno == EINTR) continue;
      ok = k > 0;
      w += k > 0 ? k : 0;
    }
    if (!ok) break;
    off += n;
  }
  ::close(out);
  if (!ok) ::unlink(to.c_str());
  return ok;
}

std::string counts_text(const size_t (&n)[4]) {
  // Indexed by TrainOp.
  std::vector<std::string> parts;
  if (n[size_t(TrainOp::kLearnSpam)])
    parts.push_back(fmt::format("{} spam", n[size_t(TrainOp::kLearnSpam)]));
  if (n[size_t(TrainOp::kLearnHam)])
    parts.push_back(fmt::format("{} ham", n[size_t(TrainOp::kLearnHam)]));
  if (n[size_t(TrainOp::kUnlearnSpam)])
    parts.push_back(fmt::format("{} spam unlearnt", n[size_t(TrainOp::kUnlearnSpam)]));
  if (n[size_t(TrainOp::kUnlearnHam)])
    parts.push_back(fmt::format("{} ham unlearnt", n[size_t(TrainOp::kUnlearnHam)]));
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

struct JunkTrainer::UserState {
  // Hashes of the base names present (and handled) at the last pass, sorted:
  // 8 bytes per message between passes.
  std::vector<uint64_t> seen[kFolders];
  FolderStamp stamp[kFolders];                  // of the last listing
  bool stamp_settled[kFolders] = {false, false};
  bool relist[kFolders] = {false, false};  // files listed but not handled: list again
  // `seen` says what was there before: restored from junk-seen, or a first
  // pass that judged every file. Until then each pass is a first pass.
  bool known = false;
  bool restore_tried = false;
  bool seen_dirty = false;  // seen differs from the junk-seen file
  bool seen_error_logged = false;
  std::unique_ptr<JunkJournal> journal;
  bool journal_error_logged = false;
  bool staging_cleaned = false;
  unsigned failures = 0;
  Clock::time_point retry_after{};
};

// One file read this pass.
struct JunkTrainer::Seen {
  JunkFolder folder;
  uint64_t hash;
  fs::path path;
  bool flagged;
  std::string key;
  uint64_t dev, ino;
};

// What one message key needs this pass.
struct JunkTrainer::Plan {
  std::string key;
  std::vector<TrainOp> ops;
  size_t done = 0;  // ops that succeeded
  Trained after = Trained::kNone;
  std::vector<const Seen*> files;  // its files (marked seen when the plan is done)
  fs::path staged;
  bool failed = false;
};

JunkTrainer::JunkTrainer(const Config::Spam& spam, const Directory& dir, TrainFn train)
    : cfg_(spam),
      dir_(dir),
      train_(std::move(train)),
      ham_from_inbox_(spam.action == "junk" || spam.action == "reject") {}

JunkTrainer::~JunkTrainer() { stop(); }

bool JunkTrainer::wanted(const Config::Spam& spam) {
  return spam.enabled && spam.action != "off" && spam.junk_scan_interval.count() > 0;
}

void JunkTrainer::start() {
  thread_ = std::thread([this] {
    while (!stop_) {
      scan_once();
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, cfg_.junk_scan_interval, [this] { return stop_.load(); });
    }
  });
}

void JunkTrainer::request_stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

void JunkTrainer::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

JunkTrainer::UserState& JunkTrainer::state_for(const std::string& key) {
  auto& p = users_[key];
  if (!p) p = std::make_unique<UserState>();
  return *p;
}

JunkTrainer::PassStats JunkTrainer::scan_once() {
  PassStats stats;
  auto t0 = Clock::now();
  bool first = !first_pass_done_;
  std::map<std::string, std::unique_ptr<UserState>> kept;
  for (const User& u : dir_.users()) {
    if (stop_) return stats;
    auto key = directory_key(u.address);
    auto& st = state_for(key);
    scan_user(u, st, stats);
    ++stats.users;
    kept[key] = std::move(users_[key]);
  }
  users_ = std::move(kept);  // users gone from the directory are forgotten
  stats.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (first) {
    first_pass_done_ = true;
    log::line("",
              "junk training: watching {} mailboxes every {}s (first pass: {} messages in {:.3f}s)",
              stats.users, cfg_.junk_scan_interval.count(), stats.read, stats.seconds);
  }
  return stats;
}

// One user's pass: what was listed, what is new, and which of it is handled
// (only handled files are remembered as seen; the others are read again).
struct JunkTrainer::Pass {
  Pass(const User& u, UserState& s, bool first) : user(u), st(s), first_pass(first) {}
  const User& user;
  UserState& st;
  bool first_pass;
  std::vector<Listed> listed[kFolders];
  bool skip[kFolders] = {false, false};  // unchanged since a complete listing
  std::unordered_set<uint64_t> next_seen[kFolders];
  // Files of pending relearns (decide()): left unhandled they are listed
  // again, but they do not make a first pass incomplete.
  std::unordered_set<uint64_t> deferred[kFolders];
  bool incomplete = false;  // a file other than those left unhandled
  std::vector<Seen> fresh;  // read this pass (stable: plans point into it)

  void handled(const Seen& s) { next_seen[index(s.folder)].insert(s.hash); }
  void commit() {
    for (int fi = 0; fi < kFolders; ++fi) {
      if (skip[fi]) continue;
      st.relist[fi] = false;
      for (const auto& l : listed[fi]) {
        if (next_seen[fi].count(l.hash)) continue;
        st.relist[fi] = true;
        incomplete = incomplete || !deferred[fi].count(l.hash);
      }
      std::vector<uint64_t> now(next_seen[fi].begin(), next_seen[fi].end());
      std::sort(now.begin(), now.end());
      if (now != st.seen[fi]) st.seen_dirty = true;
      st.seen[fi] = std::move(now);
    }
  }
};

void JunkTrainer::scan_user(const User& u, UserState& st, PassStats& stats) {
  // This user's first pass in this process learns nothing new — unless the
  // seen sets of the last run are on disk: then what changed while we were
  // down is judged like any other pass.
  if (!st.known && !st.restore_tried) {
    st.restore_tried = true;
    st.known = restore_seen(u, st);
  }
  const bool first_pass = !st.known;
  Pass pass(u, st, first_pass);
  scan_user_pass(pass, stats);
  if (first_pass) {
    // It counts — and is saved as "watched since" — only once it judged
    // every file: one skipped now (a stop, an unreadable journal, a failed
    // undo) would otherwise look moved by the user at a later pass.
    if (stop_ || pass.incomplete) return;
    st.known = true;
    st.seen_dirty = true;  // saved even when empty
  }
  if (st.seen_dirty) save_seen(u, st);
}

void JunkTrainer::scan_user_pass(Pass& pass, PassStats& stats) {
  const User& u = pass.user;
  UserState& st = pass.st;
  list_changed(pass, stats);
  read_new(pass, stats);
  if (pass.fresh.empty() || stop_ || !load_journal(pass)) return pass.commit();
  auto plans = decide(pass);
  if (plans.empty() || Clock::now() < st.retry_after) return pass.commit();
  auto staging = st.journal->file().parent_path() / "junk-staging";
  std::error_code ec;
  if (!st.staging_cleaned) fs::remove_all(staging, ec);  // left by a crash
  st.staging_cleaned = true;
  auto ready = stage(plans, staging);
  bool all_ok = run_batches(u, st, ready, stats);
  fs::remove_all(staging, ec);
  for (const auto& p : ready)
    if (!p.failed)
      for (const Seen* s : p.files) pass.handled(*s);
  if (all_ok) {
    st.failures = 0;
  } else {  // a broken store is not hammered every few seconds
    st.failures = std::min(st.failures + 1, 16u);
    auto wait = cfg_.junk_scan_interval * (1u << std::min(st.failures - 1, 10u));
    st.retry_after = Clock::now() + std::min<std::chrono::seconds>(wait, kMaxBackoff);
  }
  pass.commit();
}

// Lists INBOX and Junk, except a folder whose new/ and cur/ have not changed
// since a complete pass: a quiet mailbox costs four stat calls.
void JunkTrainer::list_changed(Pass& pass, PassStats& stats) {
  const fs::path md = pass.user.maildir();
  const fs::path folders[kFolders] = {md, maildir_folder(md, cfg_.junk_folder)};
  auto& st = pass.st;
  for (int fi = 0; fi < kFolders; ++fi) {
    auto stamp = folder_stamp(folders[fi]);
    pass.skip[fi] = st.stamp_settled[fi] && !st.relist[fi] && stamp == st.stamp[fi];
    if (pass.skip[fi]) continue;
    list_folder(folders[fi], pass.listed[fi]);
    stats.listed += pass.listed[fi].size();
    st.stamp[fi] = stamp;
    st.stamp_settled[fi] = settled(stamp);
  }
}

// Reads the header block of each file not seen at the previous pass.
void JunkTrainer::read_new(Pass& pass, PassStats& stats) {
  std::string head, body;
  for (JunkFolder f : {JunkFolder::kInbox, JunkFolder::kJunk}) {
    int fi = index(f);
    auto& next = pass.next_seen[fi];
    for (const auto& l : pass.listed[fi]) {
      const auto& seen = pass.st.seen[fi];
      if (std::binary_search(seen.begin(), seen.end(), l.hash) || next.count(l.hash)) {
        next.insert(l.hash);
        continue;
      }
      if (stop_) return;
      int fd = open_message(l.path);
      if (fd < 0) {  // moved since it was listed: seen where it went, next pass
        if (pass.first_pass) next.insert(l.hash);  // or unreadable: there before we looked
        continue;
      }
      struct stat sb {};
      bool ok = ::fstat(fd, &sb) == 0;
      // Not a message file, or too big to have been classified: never trained.
      bool small = ok && S_ISREG(sb.st_mode) && uint64_t(sb.st_size) <= kMaxScanBytes;
      StoredHeader h;
      std::string key;
      if (small && (ok = pread_some(fd, head, kJunkHeadBytes, 0))) {
        h = inspect_stored_header(head);
        // The body usually came with the header block (a short message, read whole).
        std::string_view rest;
        if (h.body_offset) rest = std::string_view(head).substr(h.body_offset);
        if (h.body_offset && head.size() == kJunkHeadBytes && rest.size() < kKeyReadBytes) {
          ok = pread_some(fd, body, kKeyReadBytes, off_t(h.body_offset));
          rest = body;
        }
        // A file read whole: the key `nougat bayes train` gives it, from
        // the whole (that covers files without the end of a header block).
        key = head.size() < kJunkHeadBytes ? message_key(head) : message_key(h, rest);
        ++stats.read;
      }
      ::close(fd);
      if (!ok) {
        if (pass.first_pass) next.insert(l.hash);
        continue;
      }
      if (key.empty()) {  // see above, or no Message-ID and a header block above kJunkHeadBytes
        next.insert(l.hash);
        continue;
      }
      pass.fresh.push_back({f, l.hash, l.path, h.flagged, std::move(key), uint64_t(sb.st_dev),
                            uint64_t(sb.st_ino)});
    }
  }
}

bool JunkTrainer::restore_seen(const User& u, UserState& st) {
  auto dir = scanners::user_store_dir(cfg_.store, u.address);
  if (!dir) return false;
  std::ifstream in(*dir / "junk-seen", std::ios::binary);
  if (!in) return false;
  std::error_code ec;
  auto size = fs::file_size(*dir / "junk-seen", ec);
  std::string text;
  if (!ec && size <= kMaxJunkSeenBytes)
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  JunkSeen seen;
  if (!parse_junk_seen(text, junk_seen_rule(ham_from_inbox_, cfg_.junk_folder), seen)) {
    log::line("", "junk training: {}: {} is not usable; this pass learns nothing new", u.address,
              (*dir / "junk-seen").string());
    return false;
  }
  for (int fi = 0; fi < kFolders; ++fi) st.seen[fi] = std::move(seen[fi]);
  return true;
}

// Written after each pass that changed the sets (temporary file, rename; no
// fsync: a lost or stale file only makes a pass judge more files, each by
// the same rules).
void JunkTrainer::save_seen(const User& u, UserState& st) {
  auto dir = scanners::user_store_dir(cfg_.store, u.address);
  if (!dir) return;
  std::error_code ec;
  if (fs::create_directories(*dir, ec)) fs::permissions(*dir, fs::perms::owner_all, ec);  // as the store's
  auto tmp = *dir / "junk-seen.tmp";
  std::string text = junk_seen_text({st.seen[0], st.seen[1]}, junk_seen_rule(ham_from_inbox_, cfg_.junk_folder));
  bool ok;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(text.data(), std::streamsize(text.size()));
    ok = bool(out.flush());
  }
  if (ok) fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write, ec);  // names of her mail files
  if (ok) fs::rename(tmp, *dir / "junk-seen", ec);
  if (ok && !ec) {
    st.seen_dirty = false;
    return;
  }
  fs::remove(tmp, ec);
  if (!st.seen_error_logged)  // retried after every pass; logged once
    log::line("", "junk training: {}: cannot write {}; a restart will be a first pass for this user", u.address,
              (*dir / "junk-seen").string());
  st.seen_error_logged = true;
}

// The user's journal, read at the first need. False: do not train this user
// (the fresh files stay unseen and are retried).
bool JunkTrainer::load_journal(Pass& pass) {
  auto& st = pass.st;
  if (st.journal) return true;
  auto dir = scanners::user_store_dir(cfg_.store, pass.user.address);
  if (!dir) return false;
  auto j = std::make_unique<JunkJournal>(*dir / "junk-journal");
  auto problems = j->load();
  if (!problems) {
    if (!st.journal_error_logged)
      log::line("", "junk training: {}: {} ({}); not training this user", pass.user.address,
                problems.error().text, problems.error().detail);
    st.journal_error_logged = true;
    return false;
  }
  for (const auto& p : *problems)
    log::line("", "junk training: {}: skipped a journal line: {}", pass.user.address, p);
  st.journal = std::move(j);
  return true;
}

// Whether a file is where only the user (or the user's own filter) puts
// it: against our verdict — unflagged in Junk, or flagged in INBOX where
// flagged mail is delivered to Junk — or against what was learnt of it (in
// INBOX after a spam learn, in Junk after a ham learn: moved back). A copy
// we deliver agrees with both.
bool JunkTrainer::tells(const Seen& s, Trained state) const {
  if (s.folder == JunkFolder::kJunk) return !s.flagged || state == Trained::kHam;
  return (s.flagged && ham_from_inbox_) || state == Trained::kSpam;
}

// The one folder in which files of a message are the user's doing, if
// exactly one holds such files.
const JunkFolder* JunkTrainer::told_in(const std::vector<const Seen*>& files, Trained state) const {
  static constexpr JunkFolder kWhere[kFolders] = {JunkFolder::kInbox, JunkFolder::kJunk};
  bool told[kFolders] = {false, false};
  for (const Seen* s : files)
    if (tells(*s, state)) told[index(s->folder)] = true;
  if (told[0] == told[1]) return nullptr;
  return &kWhere[told[0] ? 0 : 1];
}

// One decision per message key over the files that are new this pass;
// what needs nothing is handled at once.
std::vector<JunkTrainer::Plan> JunkTrainer::decide(Pass& pass) {
  std::map<std::string_view, std::vector<const Seen*>> by_key;
  for (const auto& s : pass.fresh) by_key[s.key].push_back(&s);
  std::vector<Plan> plans;
  for (auto& [key, files] : by_key) {
    bool in[kFolders] = {false, false};
    bool flagged = false;
    for (const Seen* s : files) {
      in[index(s->folder)] = true;
      flagged = flagged || s->flagged;
    }
    Trained state = pass.st.journal->state(key);
    JunkFolder learnt_in = state == Trained::kSpam ? JunkFolder::kJunk : JunkFolder::kInbox;
    JunkDecision d;
    if (pass.st.journal->pending(key) && in[index(learnt_in)]) {
      // A learn written ahead but never confirmed (its batch failed, or the
      // process died before it finished), the message still where it was
      // (a copy elsewhere too, maybe): learnt again — a no-op in the store
      // if the child had committed. In a first pass too, whatever the flag
      // and settings say now: the journal holds the user's move, so this is
      // no guess about old mail. Its files, left unhandled if it fails
      // again, do not keep a first pass from counting (Pass::deferred):
      // the next pass finds them new and comes back here.
      std::stable_partition(files.begin(), files.end(),
                            [&](const Seen* s) { return s->folder == learnt_in; });  // staged: files[0]
      for (const Seen* s : files) pass.deferred[index(s->folder)].insert(s->hash);
      d.ops = {state == Trained::kSpam ? TrainOp::kLearnSpam : TrainOp::kLearnHam};
      d.after = state;
    } else if (const JunkFolder* where = told_in(files, state)) {
      // A placement that contradicts our verdict — unflagged in Junk,
      // flagged in INBOX — is the user's, and only in one folder: that is
      // the decision, whatever copies that agree with their verdict came
      // in meanwhile (a new delivery of the same message to Junk while
      // the user moved the last one out; the original of one just saved
      // to Junk, not yet deleted by the client).
      std::stable_partition(files.begin(), files.end(),
                            [&](const Seen* s) { return tells(*s, state) && s->folder == *where; });  // staged: files[0]
      const bool told_flagged = std::any_of(files.begin(), files.end(), [&](const Seen* s) {
        return s->folder == *where && tells(*s, state) && s->flagged;
      });
      d = junk_decision(*where, told_flagged, state, ham_from_inbox_, pass.first_pass);
    } else if (!(in[0] && in[1])) {
      // Moved since a pending learn: junk_decision's undo, a no-op in the
      // store if it never learnt it. A copy in each folder: nothing, the
      // journal's word stands.
      d = junk_decision(files[0]->folder, flagged, state, ham_from_inbox_, pass.first_pass);
    }
    if (d.ops.empty()) {
      for (const Seen* s : files) pass.handled(*s);
      continue;
    }
    plans.push_back({std::string(key), std::move(d.ops), 0, d.after, files, {}, false});
  }
  return plans;
}

// Links (or copies) each plan's file into `staging` from the inode that was
// read, so a client renaming it meanwhile changes nothing. A file gone or
// replaced since is left for the next pass.
std::vector<JunkTrainer::Plan> JunkTrainer::stage(std::vector<Plan>& plans,
                                                  const fs::path& staging) {
  std::error_code ec;
  fs::create_directories(staging, ec);
  size_t seq = 0;
  std::vector<Plan> ready;
  for (auto& p : plans) {
    const Seen* s = p.files[0];
    int fd = open_message(s->path);
    struct stat sb {};
    bool same = fd >= 0 && ::fstat(fd, &sb) == 0 && uint64_t(sb.st_dev) == s->dev &&
                uint64_t(sb.st_ino) == s->ino;
    p.staged = staging / std::to_string(++seq);
    bool ok = same && stage_file(fd, p.staged);
    if (fd >= 0) ::close(fd);
    if (ok) ready.push_back(std::move(p));
  }
  return ready;
}

bool JunkTrainer::run_batches(const User& u, UserState& st, std::vector<Plan>& plans,
                              PassStats& stats) {
  size_t done[4] = {0, 0, 0, 0};
  bool all_ok = true;
  for (TrainOp op :
       {TrainOp::kUnlearnSpam, TrainOp::kUnlearnHam, TrainOp::kLearnSpam, TrainOp::kLearnHam}) {
    std::vector<Plan*> todo;
    for (auto& p : plans)
      if (!p.failed && p.done < p.ops.size() && p.ops[p.done] == op) todo.push_back(&p);
    for (size_t i = 0; i < todo.size(); i += kMaxBatchFiles) {
      std::vector<Plan*> chunk(todo.begin() + long(i),
                               todo.begin() + long(std::min(todo.size(), i + kMaxBatchFiles)));
      Batch b{u.address, op, {}};
      for (Plan* p : chunk) b.files.push_back(p->staged);
      // Learning is written to the journal before the store, as pending, and
      // confirmed after it; unlearning is written after it. A crash or a
      // failure in between leaves the journal claiming at most a learn the
      // store may lack, marked pending, so the next pass (after a restart
      // too) learns the message again if it is still in place (a no-op in
      // the store if it has it) or undoes it if it moved (a no-op if it has
      // not); it never forgets a learn the store still has.
      bool learn = op == TrainOp::kLearnSpam || op == TrainOp::kLearnHam;
      std::vector<JunkJournal::Change> changes, before;
      for (Plan* p : chunk) {
        changes.push_back(
            {p->key, p->done + 1 == p->ops.size() ? p->after : Trained::kNone, learn});
        before.push_back(st.journal->current(p->key));
      }
      Status r = Ok{};
      if (learn)
        if (auto w = st.journal->record(changes, std::time(nullptr)); !w)
          r = make_error("cannot write the junk journal", w.error().text + ": " + w.error().detail);
      bool journaled = !!r;
      if (r) r = stop_ ? Status(make_error("server stopping")) : train_(b, stop_);
      if (!r) {
        // A failed learn keeps its pending lines (the child may have
        // committed before it failed). One never started goes back to what
        // the journal said before, pending or not (the file may say so too).
        if (learn && !journaled)
          if (auto w = st.journal->record(before, std::time(nullptr)); !w)
            log::line("", "junk training: {}: {} ({})", u.address, w.error().text,
                      w.error().detail);
        all_ok = false;
        stats.failed += chunk.size();
        for (Plan* p : chunk) p->failed = true;
        if (stop_) continue;  // retried after the restart
        log::line("", "junk training: {}: {} {} message(s) failed: {}{}; trying again later",
                  u.address, train_op_name(op), chunk.size(), r.error().text,
                  r.error().detail.empty() ? "" : " (" + r.error().detail + ")");
        continue;
      }
      for (Plan* p : chunk) ++p->done;
      // What was learnt: a file that is no mail was left out (and counts
      // as handled: it never will be mail).
      const size_t trained = chunk.size() - std::min(chunk.size(), b.not_mail);
      done[size_t(op)] += trained;
      (learn ? stats.learnt : stats.unlearnt) += trained;
      // The confirmation goes through record() and is fsync'd like any line,
      // though it need not be: lost, it only costs one relearn, a no-op in
      // the store. One fsync per batch, next to the child's own.
      for (auto& c : changes) c.pending = false;
      if (auto w = st.journal->record(changes, std::time(nullptr)); !w)
        log::line("", "junk training: {}: {} ({}); {}", u.address, w.error().text, w.error().detail,
                  learn ? "the journal may still say pending (a later relearn is a no-op)"
                        : "the journal may still say learnt (a later undo is a no-op)");
    }
  }
  if (done[0] + done[1] + done[2] + done[3])
    log::line("", "junk training: {}: {} (moved or filed by the user)", u.address, counts_text(done));
  return all_ok;
}

}  // namespace nougat::engine
