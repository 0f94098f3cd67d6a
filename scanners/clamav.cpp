#include "scanners/clamav.hpp"

#include <clamav.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
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

// An error that says libclamav could not do its work, not that the input is odd.
bool could_not_look(std::string_view msg) {
  std::string m(msg);
  for (auto& ch : m) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  for (std::string_view sign : {"temporary", "temp file", "tempfile", "can't write", "cannot write", "write error",
                                "can't create", "cannot create", "allocate", "out of memory", "no space"})
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

}  // namespace

struct ClamavEngine::Compiled {
  cl_engine* engine = nullptr;
  unsigned signatures = 0;
  uint64_t generation = 0;
  uint64_t max_file = 0;  // libclamav's file size limit as it took it (0: none)
  std::string fingerprint;
  std::vector<fs::path> loaded;  // the entries that contributed signatures

  Compiled() = default;
  Compiled(const Compiled&) = delete;
  Compiled& operator=(const Compiled&) = delete;
  ~Compiled() {
    if (engine) cl_engine_free(engine);
  }
};

namespace {

Result<std::shared_ptr<ClamavEngine::Compiled>> compile(const AntivirusOptions& opt) {
  const auto& entries = opt.signatures;
  const auto& log = opt.log;
  auto c = std::make_shared<ClamavEngine::Compiled>();
  c->fingerprint = fingerprint(entries);
  c->engine = cl_engine_new();
  if (!c->engine) return make_error("libclamav: cannot create an engine", "cl_engine_new failed");
  // Mail parts and archive members are unpacked to temporary files: a tmpfs
  // here makes scanning an order of magnitude faster than a busy disk.
  std::error_code ec;
  if (!opt.tmpdir.empty() && !fs::is_directory(opt.tmpdir, ec)) ::mkdir(opt.tmpdir.c_str(), 0700);  // see scan()
  if (!opt.tmpdir.empty() && !fs::is_directory(opt.tmpdir, ec))
    return make_error(fmt::format("antivirus temporary directory {} does not exist", opt.tmpdir.string()));
  if (!opt.tmpdir.empty() && cl_engine_set_str(c->engine, CL_ENGINE_TMPDIR, opt.tmpdir.c_str()) != CL_SUCCESS)
    return make_error(fmt::format("libclamav: cannot use {} for temporary files", opt.tmpdir.string()));
  // libclamav's own size limits (100 MB a file, 400 MB scanned in all, the
  // message plus what is decoded and unpacked from it) would pass a bigger
  // message as clean without a word: the file limit is raised to max_size
  // and the total to four times that. libclamav clamps both below 2 GiB,
  // which is why antivirus.max_size stops at 2047M; what it really took is
  // read back, and a larger input is a failed scan, not a clean one.
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
    cl_error_t rc = cl_load(entry.c_str(), c->engine, &n, CL_DB_STDOPT);
    if (rc != CL_SUCCESS)
      return make_error(fmt::format("cannot load ClamAV signatures from {}: {}", entry.string(),
                                    cl_strerror(rc)));
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
  if (cl_error_t rc = cl_engine_compile(c->engine); rc != CL_SUCCESS)
    return make_error(fmt::format("cannot compile ClamAV signatures: {}", cl_strerror(rc)));
  return c;
}

constexpr std::string_view kScratchPrefix = "nougat-scan.";

// libclamav unpacks each scan into a directory of its own below its
// temporary directory and removes it afterwards — unless the process dies
// mid-scan, and on a tmpfs what is left stays in RAM until reboot. So each
// engine gets a scratch directory of its own (nougat-scan.PID.N) below the
// configured one, removed when the engine goes; those of processes that no
// longer run are removed at start.
Result<fs::path> make_scratch(const fs::path& configured) {
  fs::path base = configured;
  if (base.empty()) {
    const char* env = std::getenv("TMPDIR");
    base = env && *env ? env : "/tmp";
  }
  std::error_code ec;
  if (!fs::is_directory(base, ec))
    return make_error(fmt::format("antivirus temporary directory {} does not exist", base.string()));
  for (fs::directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.starts_with(kScratchPrefix)) continue;
    std::string_view digits = std::string_view(name).substr(kScratchPrefix.size());
    digits = digits.substr(0, digits.find('.'));
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string_view::npos)
      continue;
    pid_t pid = pid_t(std::stol(std::string(digits)));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
      std::error_code rm;
      fs::remove_all(it->path(), rm);
    }
  }
  static std::atomic<unsigned> engines{0};
  fs::path mine = base / fmt::format("{}{}.{}", kScratchPrefix, ::getpid(), ++engines);
  fs::remove_all(mine, ec);  // a previous process with our PID
  if (::mkdir(mine.c_str(), 0700) != 0)
    return make_error(fmt::format("cannot create {}", mine.string()), std::strerror(errno));
  return mine;
}

}  // namespace

ClamavEngine::ClamavEngine(AntivirusOptions opt) : opt_(std::move(opt)) {}

ClamavEngine::~ClamavEngine() {
  watcher_.request_stop();
  if (watcher_.joinable()) watcher_.join();
  {
    std::lock_guard lock(mu_);
    engine_.reset();  // scans in flight keep theirs; none remain when we are destroyed
  }
  std::error_code ec;
  if (!opt_.tmpdir.empty()) fs::remove_all(opt_.tmpdir, ec);
}

Result<std::unique_ptr<ClamavEngine>> ClamavEngine::open(const AntivirusOptions& given) {
  if (auto st = init_once(); !st) return st.error();
  AntivirusOptions opt = given;
  auto scratch = make_scratch(given.tmpdir);
  if (!scratch) return scratch.error();
  opt.tmpdir = *scratch;
  auto c = compile(opt);
  if (!c) {
    std::error_code ec;
    fs::remove_all(*scratch, ec);
    return c.error();
  }
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
  // Someone cleaning the temporary directory (tmpreaper, a rm -rf) may
  // have taken ours: make it again, or the scan fails for want of it.
  if (::access(opt_.tmpdir.c_str(), F_OK) != 0) ::mkdir(opt_.tmpdir.c_str(), 0700);
  if (eng->max_file && message.size() > eng->max_file)
    return ScanResult::failed(fmt::format("libclamav: {} bytes, above the {} it can scan", message.size(), eng->max_file));
  cl_fmap_t* map = cl_fmap_open_memory(message.data(), message.size());
  if (!map) return ScanResult::failed("libclamav: cannot map the message");
  const char* virname = nullptr;
  unsigned long scanned = 0;
  cl_scan_options opts = kScanOptions;
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
  auto c = compile(opt_);
  if (!c) {
    std::lock_guard lock(mu_);
    failed_ = fingerprint(opt_.signatures);
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
    if (now == engine_->fingerprint || now == failed_) return false;
  }
  if (auto st = reload(); !st) log(fmt::format("antivirus: reload failed, keeping the old signatures: {}", st.error().text));
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
      log(fmt::format("antivirus: reload failed, keeping the old signatures: {}", r.error().text));
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
