#include "scanners/clamav.hpp"

#include <clamav.h>
#include <fmt/format.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <system_error>
#include <utility>

namespace nougat::scanners {
namespace fs = std::filesystem;

namespace {

// Database file types libclamav's cl_load reads from a directory (its
// CLI_DBEXT list; compared without regard to case, as libclamav does).
constexpr std::array<std::string_view, 38> kDbExtensions = {
    ".cvd", ".cld", ".cud", ".db",  ".hdb", ".hdu", ".hsb", ".hsu", ".mdb", ".mdu", ".msb", ".msu", ".ndb",
    ".ndu", ".ldb", ".ldu", ".sdb", ".zmd", ".rmd", ".idb", ".cdb", ".cbc", ".fp",  ".sfp", ".ign", ".ign2",
    ".pdb", ".gdb", ".wdb", ".ftm", ".cfg", ".crb", ".cat", ".ioc", ".yar", ".yara", ".pwdb", ".imp"};

bool is_database(const fs::path& p) {
  auto ext = p.extension().string();
  for (auto& ch : ext) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return std::find(kDbExtensions.begin(), kDbExtensions.end(), ext) != kDbExtensions.end();
}

// What went wrong inside one scan. libclamav reports some failures it
// carries on from only as error messages and still answers CL_CLEAN — even
// when it could not create its temporary directory or write a decoded part
// to it (a full tmpfs), and so looked at nothing. Those make the scan fail.
// Its other errors are complaints about the input (a corrupt xz or zip
// member), which clamd and clamscan answer "OK" for, as do we: failing them
// would defer such a message until it bounces. cl_scanmap_callback's context
// comes back with most messages of its scan; those it prints before it has
// set the context up are caught by the thread the scan runs on.
struct ScanContext {
  unsigned failures = 0;
  std::string first;
};
thread_local ScanContext* t_scan = nullptr;
// While signatures load on this thread: libclamav's error messages, which
// name the file and line a bad database has (cl_load's code says only
// "Malformed database").
thread_local std::vector<std::string>* t_load_errors = nullptr;

// An error that says libclamav could not do its work — write, create or
// open the files it unpacks into (it scans the message from memory, so every
// file it opens is one of those) — not that the input is odd (a corrupt
// member, an impossible length it refused to allocate) or that it could not
// clean up after a complete scan.
bool could_not_look(std::string_view msg) {
  std::string m(msg);
  for (auto& ch : m) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  for (std::string_view cleanup : {"remove", "unlink", "rmdir", "delete"})
    if (m.find(cleanup) != std::string::npos) return false;
  for (std::string_view sign : {"temporary", "temp file", "tempfile", "tmpfile", "can't write", "cannot write",
                                "failed to write", "write error", "can't create", "cannot create", "failed to create",
                                "can't open", "cannot open", "failed to open", "no space"})
    if (m.find(sign) != std::string::npos) return true;
  return false;
}

// Errors inside a scan go to its context; others (loading, compiling) to
// stderr, prefixed. Warnings and below are dropped (libclamav's default
// prints them all).
void clamav_message(enum cl_msg severity, const char* full, const char* msg, void* context) {
  if (severity != CL_MSG_ERROR) return;
  if (auto* ctx = context ? static_cast<ScanContext*>(context) : t_scan) {
    std::string_view m(msg ? msg : full ? full : "");
    if (!could_not_look(m)) return;
    if (ctx->failures++ == 0) {
      while (!m.empty() && (m.back() == '\n' || m.back() == '\r' || m.back() == ' ')) m.remove_suffix(1);
      ctx->first = std::string(m.substr(0, 200));
    }
    return;
  }
  if (t_load_errors) {
    std::string m(msg ? msg : full ? full : "");
    while (!m.empty() && (m.back() == '\n' || m.back() == '\r' || m.back() == ' ')) m.pop_back();
    if (t_load_errors->size() < 20) t_load_errors->push_back(m.substr(0, 300));
    return;
  }
  std::fprintf(stderr, "libclamav: %s", full);
}

Status init_once() {
  static const cl_error_t rc = [] {
    cl_set_clcb_msg(clamav_message);
    return cl_init(CL_INIT_DEFAULT);
  }();
  if (rc != CL_SUCCESS) return make_error("libclamav failed to initialise", cl_strerror(rc));
  return Ok{};
}

// The database files one signature entry stands for: a file, or the
// database files directly inside a directory. Missing entries yield none.
std::vector<fs::path> database_files(const fs::path& entry) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (fs::is_regular_file(entry, ec)) {
    out.push_back(entry);
    return out;
  }
  if (!fs::is_directory(entry, ec)) return out;
  for (const auto& e : fs::directory_iterator(entry, ec))
    if (e.is_regular_file(ec) && is_database(e.path())) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// What the signatures on disk look like now: changes when any file is
// added, removed, rewritten or touched.
std::string fingerprint(const std::vector<fs::path>& entries) {
  std::string fp;
  for (const auto& entry : entries) {
    for (const auto& f : database_files(entry)) {
      std::error_code ec;
      auto t = fs::last_write_time(f, ec).time_since_epoch().count();
      auto size = fs::file_size(f, ec);
      fp += fmt::format("{}|{}|{}\n", f.string(), t, ec ? 0 : size);
    }
  }
  return fp;
}

constexpr cl_scan_options kScanOptions = {
    CL_SCAN_GENERAL_HEURISTICS,
    // Everything clamscan parses by default: mail (MIME, base64, uuencode),
    // archives (zip, tar, gzip, 7z, rar, cab …), documents and executables.
    CL_SCAN_PARSE_ARCHIVE | CL_SCAN_PARSE_ELF | CL_SCAN_PARSE_PDF | CL_SCAN_PARSE_SWF |
        CL_SCAN_PARSE_HWP3 | CL_SCAN_PARSE_XMLDOCS | CL_SCAN_PARSE_MAIL | CL_SCAN_PARSE_OLE2 |
        CL_SCAN_PARSE_HTML | CL_SCAN_PARSE_PE | CL_SCAN_PARSE_ONENOTE | CL_SCAN_PARSE_IMAGE |
        CL_SCAN_PARSE_IMAGE_FUZZY_HASH,
    0, 0, 0};

// libclamav unpacks each scan into a directory of its own below its
// temporary directory and removes it afterwards — unless the process dies
// mid-scan, and on a tmpfs what is left stays in RAM until reboot. So each
// compiled engine unpacks in a scratch directory of its own,
// nougat-scan.XXXXXX (mkdtemp: 0700, a name nobody can guess or pre-create),
// below the configured one. The engine holds a lock on it while it lives
// and removes it when it goes; a scratch directory nobody holds a lock on
// any more — its process died, in whatever PID namespace — is removed when
// the next engine is made.
constexpr std::string_view kScratchPrefix = "nougat-scan.";

struct Scratch {
  fs::path path;
  int fd = -1;  // the directory, flock'd while the engine lives
  dev_t dev = 0;
  ino_t ino = 0;

  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    if (fd < 0) return;
    std::error_code ec;
    fs::remove_all(path, ec);
    ::close(fd);
  }
  // Still the directory we made, ours alone: not removed, not replaced by
  // a symbolic link or another directory (libclamav would write there as
  // us, and its clean-up chmod and delete there).
  bool intact() const {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev == dev && st.st_ino == ino &&
           st.st_uid == ::geteuid() && (st.st_mode & 077) == 0;
  }
};

// Removes the scratch directories below `base` that no engine holds.
void sweep_scratch(const fs::path& base) {
  std::error_code ec;
  for (fs::directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->path().filename().string().starts_with(kScratchPrefix)) continue;
    int fd = ::open(it->path().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_uid == ::geteuid() && ::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      std::error_code rm;
      fs::remove_all(it->path(), rm);
    }
    ::close(fd);
  }
}

Result<std::unique_ptr<Scratch>> make_scratch(const fs::path& configured) {
  fs::path base = configured;
  if (base.empty()) {
    const char* env = std::getenv("TMPDIR");
    base = env && *env ? env : "/tmp";
  }
  std::error_code ec;
  if (!fs::is_directory(base, ec))
    return make_error(fmt::format("antivirus temporary directory {} does not exist", base.string()));
  sweep_scratch(base);
  std::string tmpl = (base / fmt::format("{}XXXXXX", kScratchPrefix)).string();
  if (!::mkdtemp(tmpl.data()))
    return make_error(fmt::format("cannot create a scratch directory in {}", base.string()), std::strerror(errno));
  auto s = std::make_unique<Scratch>();
  s->path = tmpl;
  s->fd = ::open(tmpl.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st {};
  if (s->fd < 0 || ::flock(s->fd, LOCK_EX | LOCK_NB) != 0 || ::fstat(s->fd, &st) != 0) {
    int err = errno;
    if (s->fd < 0) ::rmdir(tmpl.c_str());
    return make_error(fmt::format("cannot lock {}", tmpl), std::strerror(err));
  }
  s->dev = st.st_dev;
  s->ino = st.st_ino;
  return s;
}

}  // namespace

struct ClamavEngine::Compiled {
  cl_engine* engine = nullptr;
  unsigned signatures = 0;
  uint64_t generation = 0;
  uint64_t max_file = 0;  // libclamav's file size limit as it took it (0: none)
  std::string fingerprint;
  std::vector<fs::path> loaded;     // the entries that contributed signatures
  std::unique_ptr<Scratch> scratch;  // where this engine unpacks; goes after the engine

  Compiled() = default;
  Compiled(const Compiled&) = delete;
  Compiled& operator=(const Compiled&) = delete;
  ~Compiled() {
    if (engine) cl_engine_free(engine);
  }
};

namespace {

constexpr unsigned kFewSignatures = 10000;

Result<std::shared_ptr<ClamavEngine::Compiled>> compile(const AntivirusOptions& opt) {
  const auto& entries = opt.signatures;
  const auto& log = opt.log;
  auto c = std::make_shared<ClamavEngine::Compiled>();
  c->fingerprint = fingerprint(entries);
  c->engine = cl_engine_new();
  if (!c->engine) return make_error("libclamav: cannot create an engine", "cl_engine_new failed");
  // Mail parts and archive members are unpacked to temporary files: a tmpfs
  // here makes scanning an order of magnitude faster than a busy disk.
  auto scratch = make_scratch(opt.tmpdir);
  if (!scratch) return scratch.error();
  c->scratch = std::move(*scratch);
  if (cl_engine_set_str(c->engine, CL_ENGINE_TMPDIR, c->scratch->path.c_str()) != CL_SUCCESS)
    return make_error(fmt::format("libclamav: cannot use {} for temporary files", c->scratch->path.string()));
  // libclamav remembers what it found clean (by hash) — also what it could
  // not look at properly: the retry of a message that failed for want of
  // room would then pass unscanned. Mail rarely repeats; no cache.
  if (cl_engine_set_num(c->engine, CL_ENGINE_DISABLE_CACHE, 1) != CL_SUCCESS)
    return make_error("libclamav: cannot turn its clean-file cache off");
  // libclamav's own size limits (100 MB a file, 400 MB scanned in all, the
  // message plus what is decoded and unpacked from it) would pass a bigger
  // message as clean without a word: the file limit is raised to max_size
  // and the total to four times that. libclamav clamps the file limit
  // below 2 GiB, which is why antivirus.max_size stops at 2047M; what it
  // really took is read back, and a larger input is a failed scan, not a
  // clean one. Inside archives its other limits (recursion, file count,
  // the total) apply as in clamd: what exceeds them is not looked at, or,
  // with alert_exceeds_max, is the virus "Heuristics.Limits.Exceeded.*".
  const uint64_t want_file = opt.max_size, want_total = opt.max_size > (UINT64_MAX / 4) ? UINT64_MAX : opt.max_size * 4;
  for (auto [field, want] : {std::pair{CL_ENGINE_MAX_FILESIZE, want_file}, std::pair{CL_ENGINE_MAX_SCANSIZE, want_total}}) {
    int err = CL_SUCCESS;
    long long now = cl_engine_get_num(c->engine, field, &err);
    long long w = (long long)std::min<uint64_t>(want, uint64_t(INT64_MAX));
    if (err == CL_SUCCESS && now < w) {
      if (cl_engine_set_num(c->engine, field, w) != CL_SUCCESS)
        return make_error("libclamav: cannot raise its size limits", fmt::format("to {} bytes", w));
      now = cl_engine_get_num(c->engine, field, &err);
    }
    if (field == CL_ENGINE_MAX_FILESIZE) c->max_file = err == CL_SUCCESS && now > 0 ? uint64_t(now) : 0;
  }
  std::vector<std::string> skipped;
  for (const auto& entry : entries) {
    if (database_files(entry).empty()) {
      skipped.push_back(entry.string());
      continue;
    }
    unsigned n = 0;
    std::vector<std::string> said;
    t_load_errors = &said;
    cl_error_t rc = cl_load(entry.c_str(), c->engine, &n, CL_DB_STDOPT);
    t_load_errors = nullptr;
    if (rc != CL_SUCCESS)  // with what libclamav said: the file (and line) at fault
      return make_error(fmt::format("cannot load ClamAV signatures from {}: {}", entry.string(), cl_strerror(rc)),
                        fmt::format("{}", fmt::join(said, "; ")));
    if (log)
      for (const auto& m : said) log(fmt::format("antivirus: libclamav: {}", m));
    c->signatures += n;
    c->loaded.push_back(entry);
  }
  if (log && !skipped.empty())
    log(fmt::format("antivirus: no ClamAV database in {} (skipped)", fmt::join(skipped, ", ")));
  if (c->signatures == 0) {
    std::vector<std::string> names;
    for (const auto& e : entries) names.push_back(e.string());
    return make_error(fmt::format("no ClamAV signatures found in {}",
                                  names.empty() ? std::string("(no directories configured)")
                                                : fmt::format("{}", fmt::join(names, ", "))));
  }
  // A configured database that is missing, and what is left is a handful
  // (nougat's own test signatures find EICAR, not today's malware): said
  // as a warning, not a footnote. The official database has millions.
  if (log && !skipped.empty() && c->signatures < kFewSignatures)
    log(fmt::format("antivirus: warning: only {} signatures loaded; the ClamAV database is missing from {} "
                    "(Debian: apt-get install clamav-freshclam, or run freshclam)",
                    c->signatures, fmt::join(skipped, ", ")));
  if (cl_error_t rc = cl_engine_compile(c->engine); rc != CL_SUCCESS)
    return make_error(fmt::format("cannot compile ClamAV signatures: {}", cl_strerror(rc)));
  return c;
}

}  // namespace

ClamavEngine::ClamavEngine(AntivirusOptions opt) : opt_(std::move(opt)) {}

ClamavEngine::~ClamavEngine() {
  watcher_.request_stop();
  if (watcher_.joinable()) watcher_.join();
}

Result<std::unique_ptr<ClamavEngine>> ClamavEngine::open(const AntivirusOptions& opt) {
  if (auto st = init_once(); !st) return st.error();
  auto c = compile(opt);
  if (!c) return c.error();
  (*c)->generation = 1;
  std::unique_ptr<ClamavEngine> e(new ClamavEngine(opt));
  e->engine_ = std::move(*c);
  e->watcher_ = std::jthread([p = e.get()](std::stop_token st) { p->watch(st); });
  return e;
}

std::shared_ptr<const ClamavEngine::Compiled> ClamavEngine::current() const {
  std::lock_guard lock(mu_);
  return engine_;
}

void ClamavEngine::log(std::string_view line) const {
  if (opt_.log) opt_.log(line);
}

ScanResult ClamavEngine::scan(std::string_view message) {
  if (message.empty()) return ScanResult::clean();
  if (message.size() > opt_.max_size) return ScanResult::clean();
  auto eng = current();
  // A cleaner (tmpreaper, rm -rf) may have taken our scratch directory, or
  // someone replaced it: a new engine makes a new one, and until then
  // scans fail rather than look at nothing or write elsewhere.
  if (!eng->scratch->intact()) {
    std::error_code ec;  // the configured directory itself gone: nothing to reload into yet
    if (fs::is_directory(eng->scratch->path.parent_path(), ec)) request_reload();
    return ScanResult::failed(fmt::format("libclamav: its scratch directory {} is gone or not ours; reloading",
                                          eng->scratch->path.string()));
  }
  // A full file system makes libclamav skip what it cannot unpack, often
  // without a word: room for the message's size (more than its decoded
  // parts take) and a megabyte first.
  if (struct statvfs vfs {}; ::statvfs(eng->scratch->path.c_str(), &vfs) == 0 &&
                             uint64_t(vfs.f_bavail) * vfs.f_frsize < uint64_t(message.size()) + (1u << 20))
    return ScanResult::failed(
        fmt::format("libclamav: {} has {} bytes free, less than the message ({} bytes) and the 1 MiB kept for "
                    "unpacking it; free some room there or set antivirus.tmpdir",
                    eng->scratch->path.string(), uint64_t(vfs.f_bavail) * vfs.f_frsize, message.size()));
  if (eng->max_file && message.size() > eng->max_file)
    return ScanResult::failed(fmt::format("libclamav: {} bytes, above the {} it can scan", message.size(), eng->max_file));
  cl_fmap_t* map = cl_fmap_open_memory(message.data(), message.size());
  if (!map) return ScanResult::failed("libclamav: cannot map the message");
  const char* virname = nullptr;
  unsigned long scanned = 0;
  cl_scan_options opts = kScanOptions;
  if (opt_.alert_exceeds_max) opts.heuristic |= CL_SCAN_HEURISTIC_EXCEEDS_MAX;
  ScanContext ctx;
  t_scan = &ctx;
  cl_error_t rc = cl_scanmap_callback(map, "message", &virname, &scanned, eng->engine, &opts, &ctx);
  t_scan = nullptr;
  cl_fmap_close(map);
  // virname points into the engine's signature tables: copy it while `eng` lives.
  if (rc == CL_VIRUS) return ScanResult::found(virname ? virname : "unknown");
  // A "clean" scan that could not look at everything is no clean result.
  if (rc == CL_CLEAN && ctx.failures)
    return ScanResult::failed(fmt::format("libclamav: could not look at everything ({} error{}), first: {}",
                                          ctx.failures, ctx.failures == 1 ? "" : "s", ctx.first));
  if (rc == CL_CLEAN) return ScanResult::clean();
  return ScanResult::failed(fmt::format("libclamav: {}", cl_strerror(rc)));
}

Status ClamavEngine::reload() {
  std::lock_guard one(reload_mu_);
  // What failed is the set of files this attempt started from: files that
  // changed meanwhile (a copy finishing) are new again for the watcher.
  std::string attempted = fingerprint(opt_.signatures);
  auto c = compile(opt_);
  if (!c) {
    std::lock_guard lock(mu_);
    failed_ = std::move(attempted);
    failed_at_ = std::chrono::steady_clock::now();
    return c.error();
  }
  unsigned n = (*c)->signatures;
  {
    std::lock_guard lock(mu_);
    (*c)->generation = engine_->generation + 1;
    engine_ = std::move(*c);
    failed_.clear();
  }
  log(fmt::format("antivirus: reloaded {} ClamAV signatures", n));
  return Ok{};
}

bool ClamavEngine::reload_if_changed() {
  std::string now = fingerprint(opt_.signatures);
  {
    std::lock_guard lock(mu_);
    // A set that failed is tried again only after a while: the failure may
    // have been the machine's (memory, a full tmpfs), not the files'.
    if (now == engine_->fingerprint ||
        (now == failed_ && std::chrono::steady_clock::now() - failed_at_ < kRetryFailed))
      return false;
  }
  if (auto st = reload(); !st)
    log(fmt::format("antivirus: reload failed, keeping the old signatures: {}{}", st.error().text,
                    st.error().detail.empty() ? "" : " (" + st.error().detail + ")"));
  return true;
}

void ClamavEngine::request_reload() {
  {
    std::lock_guard lock(wake_mu_);
    reload_requested_ = true;
  }
  wake_.notify_one();
}

void ClamavEngine::watch(std::stop_token st) {
  std::unique_lock lock(wake_mu_);
  while (!st.stop_requested()) {
    auto asked_for = [this] { return reload_requested_; };
    if (opt_.poll_interval.count() > 0) wake_.wait_for(lock, st, opt_.poll_interval, asked_for);
    else wake_.wait(lock, st, asked_for);  // no polling: requests only
    if (st.stop_requested()) break;
    bool asked = std::exchange(reload_requested_, false);
    lock.unlock();
    if (!asked) {
      reload_if_changed();
    } else if (auto r = reload(); !r) {
      log(fmt::format("antivirus: reload failed, keeping the old signatures: {}{}", r.error().text,
                      r.error().detail.empty() ? "" : " (" + r.error().detail + ")"));
    }
    lock.lock();
  }
}

unsigned ClamavEngine::signature_count() const { return current()->signatures; }
uint64_t ClamavEngine::generation() const { return current()->generation; }

std::string ClamavEngine::describe() const {
  auto c = current();
  std::vector<std::string> names;
  for (const auto& p : c->loaded) names.push_back(p.string());
  return fmt::format("libclamav {}, {} signatures from {}", cl_retver(), c->signatures,
                     fmt::join(names, ", "));
}

}  // namespace nougat::scanners
