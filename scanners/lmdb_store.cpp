#include "scanners/lmdb_store.hpp"

#include "scanners/memory_store.hpp"

#include <fmt/format.h>
#include <lmdb.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>
#include <unordered_map>

namespace nougat::scanners {
namespace {

constexpr uint64_t kMetaKey = 0;
constexpr uint64_t kFormat = 1;

struct Meta {
  uint64_t format = kFormat, spam = 0, ham = 0;
  uint64_t seen = 0;  // remembered messages (records that are not tokens); absent in older stores
};
constexpr size_t kMetaV1Size = 3 * sizeof(uint64_t);

// The record key remembering a message: a hash of its key in a namespace of
// its own (tokens hash prefix + word; this hashes "seen" + key), never 0.
uint64_t seen_record(std::string_view key) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : std::string_view("seen\x1f")) h = (h ^ c) * 1099511628211ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h ? h : 1;
}

Error lmdb_error(std::string_view what, int rc) {
  if (rc == MDB_MAP_FULL)
    return make_error("token store: is full", "what was learnt before this batch is kept; start a new store "
                                              "(move the directory away) or unlearn what is no longer wanted");
  return make_error(fmt::format("token store: {} failed", what), mdb_strerror(rc));
}

struct ReadTxn {
  MDB_txn* txn = nullptr;
  ~ReadTxn() {
    if (txn) mdb_txn_abort(txn);
  }
};

// The totals record, and the entry count. A store without the record is a
// new, empty one; records without it, a meta record of the wrong size or a
// failed read mean a damaged file, never "0 messages".
struct MetaStat {
  Meta meta;
  uint64_t entries = 0;
};

Result<MetaStat> read_meta(MDB_txn* txn, MDB_dbi dbi) {
  MetaStat r;
  MDB_stat st{};
  if (int rc = mdb_stat(txn, dbi, &st); rc) return lmdb_error("mdb_stat", rc);
  r.entries = st.ms_entries;
  uint64_t k = kMetaKey;
  MDB_val key{sizeof k, &k}, val;
  int rc = mdb_get(txn, dbi, &key, &val);
  if (rc == MDB_NOTFOUND && r.entries == 0) return r;
  if (rc == MDB_NOTFOUND) return make_error("token store: damaged", "tokens without the totals record");
  if (rc) return lmdb_error("mdb_get", rc);
  if (val.mv_size < kMetaV1Size)
    return make_error("token store: damaged", fmt::format("totals record of {} bytes", val.mv_size));
  // A longer record is a later format's: its format field says so (open()).
  std::memcpy(&r.meta, val.mv_data, std::min(val.mv_size, sizeof r.meta));
  return r;
}

uint64_t token_count(const MetaStat& m) {
  return m.entries > m.meta.seen + 1 ? m.entries - 1 - m.meta.seen : 0;
}

// LMDB trusts its file: pages past the end of a truncated copy are a SIGBUS
// at the first read. So the file must be as long as its own meta page says.
// (LMDB has no checksums: garbage inside the file is not detectable here.)
Status check_file(MDB_env* env) {
  MDB_envinfo info{};
  MDB_stat st{};
  mdb_filehandle_t fd;
  struct stat sb {};
  if (mdb_env_info(env, &info) || mdb_env_stat(env, &st) || mdb_env_get_fd(env, &fd) || ::fstat(fd, &sb) != 0)
    return make_error("token store: cannot inspect its file");
  uint64_t need = (uint64_t(info.me_last_pgno) + 1) * st.ms_psize;
  if (uint64_t(sb.st_size) < need)
    return make_error("token store: damaged",
                      fmt::format("data.mdb has {} bytes, its index needs {}: it was cut short", sb.st_size, need));
  return Ok{};
}

// The map when none is asked for: 64 GiB of address space — or, under an
// address-space limit, one that follows the file (`file`: its size, none
// yet if empty): twice it to read (a reader sees growth up to that), to
// write a quarter of the limit or room for half as much again, never past
// half the limit unless the file needs it.
size_t default_map_size(bool read_only, std::optional<uint64_t> file) {
  constexpr size_t kUnlimited = size_t(64) << 30;
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return kUnlimited;
  const size_t limit = size_t(rl.rlim_cur), f = size_t(file.value_or(0));
  size_t want = read_only ? std::max(2 * f, size_t(64) << 20) : std::max(limit / 4, f + f / 2);
  return std::min({want, std::max(limit / 2, f + (size_t(16) << 20)), kUnlimited});
}

// `want`, if that much address space is free right now, else just what the
// file needs (LMDB rounds a smaller size up to that): a map LMDB fails to
// make leaves its environment without one, so it is tried here first.
size_t fitting_map(size_t want, std::optional<uint64_t> file) {
  void* p = ::mmap(nullptr, want, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p != MAP_FAILED) {
    ::munmap(p, want);
    return want;
  }
  return std::max<size_t>(size_t(file.value_or(0)), 1);
}

// The map to ask for: the configured size, else what the file suggests,
// if there is room for it now.
size_t map_for(const LmdbStore::Options& opt, std::optional<uint64_t> file) {
  return fitting_map(opt.map_size ? opt.map_size : default_map_size(opt.read_only, file), file);
}

}  // namespace

int LmdbStore::begin(unsigned flags, MDB_txn** txn, std::shared_lock<std::shared_mutex>& hold) const {
  hold = std::shared_lock(map_mu_);
  int rc = unmapped_ ? MDB_MAP_RESIZED : mdb_txn_begin(env_, nullptr, flags, txn);
  if (rc == MDB_READERS_FULL) {
    // Slots of reader processes that were killed (a `bayes classify` taken
    // down with kill -9) are only cleared when somebody asks: ask, once.
    int dead = 0;
    if (mdb_reader_check(env_, &dead) == 0 && dead > 0) rc = mdb_txn_begin(env_, nullptr, flags, txn);
  }
  if (rc != MDB_MAP_RESIZED) return rc;
  hold.unlock();
  {
    // LMDB's own recovery: mdb_env_set_mapsize() with no transaction of
    // this process open, which the exclusive lock guarantees. The size is
    // chosen as at open (LMDB rounds it up to what the file needs), not
    // adopted from the writer, whose limit may be larger than ours. If even
    // that fails, LMDB has unmapped the old map: the environment is opened
    // afresh, now or at a later transaction.
    std::unique_lock grow(map_mu_);
    if (!unmapped_) {
      std::error_code ec;
      std::optional<uint64_t> file;
      if (auto n = std::filesystem::file_size(dir_ / "data.mdb", ec); !ec) file = n;
      unmapped_ = mdb_env_set_mapsize(env_, map_for(opt_, file)) != 0;
    }
    if (unmapped_) {
      if (auto st = attach(); !st) return ENOMEM;
      unmapped_ = false;
    }
  }
  hold.lock();
  return mdb_txn_begin(env_, nullptr, flags, txn);
}

LmdbStore::~LmdbStore() {
  if (env_) mdb_env_close(env_);
}

Result<std::unique_ptr<LmdbStore>> LmdbStore::open(const std::filesystem::path& dir, Options opt) {
  std::error_code ec;
  if (!opt.read_only) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error("token store: cannot create " + dir.string(), ec.message());
    if (opt.private_files) {  // also a store made before this was so
      std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
      for (const char* f : {"data.mdb", "lock.mdb"})
        if (std::filesystem::exists(dir / f, ec))
          std::filesystem::permissions(dir / f, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
    }
  } else if (!std::filesystem::exists(dir / "data.mdb", ec)) {
    return make_error("token store: no store in " + dir.string() + " (train it first)");
  }
  std::unique_ptr<LmdbStore> s(new LmdbStore());
  s->dir_ = dir;
  s->opt_ = opt;
  if (auto st = s->attach(); !st) return st.error();
  return s;
}

// Opens the environment in dir_ with opt_ (env_ and dbi_): at open(), and
// again when a remap failed and left the old environment without a map.
Status LmdbStore::attach() const {
  const auto& dir = dir_;
  const auto& opt = opt_;
  std::error_code ec;
  if (env_) mdb_env_close(env_);
  env_ = nullptr;
  if (int rc = mdb_env_create(&env_); rc) return lmdb_error("mdb_env_create", rc);
  std::optional<uint64_t> file;  // data.mdb's size, if there is one
  if (auto n = std::filesystem::file_size(dir / "data.mdb", ec); !ec) file = n;
  const size_t map = map_for(opt, file);
  mdb_env_set_mapsize(env_, map);
  mdb_env_set_maxreaders(env_, 512);
  unsigned flags = MDB_NOTLS | MDB_NORDAHEAD | (opt.read_only ? MDB_RDONLY : 0);
  // What is wrong with a store is said with its path, and what to do.
  auto damaged = [&](const Error& e) {
    return make_error(fmt::format("token store: {} is damaged", (dir / "data.mdb").string()),
                      e.detail + "; restore it from a backup, or move it away and train again");
  };
  if (file == 0u && opt.read_only)
    return make_error(fmt::format("token store: {} is empty", (dir / "data.mdb").string()),
                      "train it first, or move it away");
  if (int rc = mdb_env_open(env_, dir.c_str(), flags, opt.private_files ? 0600 : 0644); rc) {
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED)
      return damaged(make_error("", mdb_strerror(rc)));
    if (rc == ENOMEM)
      return make_error(fmt::format("{} {} ({} MiB of address space)", kCannotMap, dir.string(), map >> 20),
                        "the process' address-space limit (ulimit -v, LimitAS=) is too small");
    return make_error(fmt::format("token store: cannot open {}", dir.string()), mdb_strerror(rc));
  }
  if (auto st = check_file(env_); !st) return damaged(st.error());
  int dead = 0;
  mdb_reader_check(env_, &dead);
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, opt.read_only ? MDB_RDONLY : 0, &txn); rc)
    return lmdb_error("mdb_txn_begin", rc);
  MDB_dbi dbi;
  if (int rc = mdb_dbi_open(txn, nullptr, MDB_INTEGERKEY | (opt.read_only ? 0 : MDB_CREATE), &dbi); rc) {
    mdb_txn_abort(txn);
    return lmdb_error("mdb_dbi_open", rc);
  }
  auto m = read_meta(txn, dbi);
  if (!m) {
    mdb_txn_abort(txn);
    return damaged(m.error());
  }
  if (m->meta.format != kFormat) {
    mdb_txn_abort(txn);
    return make_error(fmt::format("token store: {} has format {}, expected {}", dir.string(), m->meta.format, kFormat));
  }
  if (int rc = mdb_txn_commit(txn); rc) return lmdb_error("mdb_txn_commit", rc);
  dbi_ = dbi;
  return Ok{};
}

Result<StoreTotals> LmdbStore::lookup(std::span<const uint64_t> tokens, std::span<TokenCounts> out) const {
  std::shared_lock<std::shared_mutex> hold;
  ReadTxn r;
  if (int rc = begin(MDB_RDONLY, &r.txn, hold); rc) return lmdb_error("mdb_txn_begin", rc);
  // Keys in ascending order through one cursor: LMDB then searches within
  // the current leaf page first, instead of walking down from the root.
  std::vector<uint32_t> order;
  bool sorted = std::is_sorted(tokens.begin(), tokens.end());
  if (!sorted) {
    order.resize(tokens.size());
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return tokens[a] < tokens[b]; });
  }
  MDB_cursor* cur = nullptr;
  if (int rc = mdb_cursor_open(r.txn, dbi_, &cur); rc) return lmdb_error("mdb_cursor_open", rc);
  for (size_t n = 0; n < tokens.size(); ++n) {
    size_t i = sorted ? n : order[n];
    uint64_t k = tokens[i];
    MDB_val key{sizeof k, &k}, val;
    int rc = mdb_cursor_get(cur, &key, &val, MDB_SET);
    if (rc == 0 && val.mv_size == sizeof(TokenCounts) && k != kMetaKey) {
      std::memcpy(&out[i], val.mv_data, sizeof(TokenCounts));
    } else if (rc == 0 || rc == MDB_NOTFOUND) {
      out[i] = {};
    } else {
      mdb_cursor_close(cur);
      return lmdb_error("mdb_cursor_get", rc);
    }
  }
  mdb_cursor_close(cur);
  auto m = read_meta(r.txn, dbi_);
  if (!m) return m.error();
  return StoreTotals{m->meta.spam, m->meta.ham, token_count(*m)};
}

Result<StoreTotals> LmdbStore::totals() const { return lookup({}, {}); }

Result<std::unique_ptr<TokenStore>> LmdbStore::snapshot() const {
  std::shared_lock<std::shared_mutex> hold;
  ReadTxn r;
  if (int rc = begin(MDB_RDONLY, &r.txn, hold); rc) return lmdb_error("mdb_txn_begin", rc);
  auto m = read_meta(r.txn, dbi_);
  if (!m) return m.error();
  auto snap = std::make_unique<FlatSnapshot>(m->entries);
  // The store is opened MDB_NORDAHEAD (MADV_RANDOM: a lookup reads only
  // its own pages, not the readahead around them); a whole scan reads the
  // file once, sequentially, into the page cache first.
  if (mdb_filehandle_t fd; mdb_env_get_fd(env_, &fd) == 0) {
    std::vector<char> buf(1 << 20);
    for (off_t off = 0;;) {
      ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
      if (n <= 0) break;
      off += n;
    }
  }
  MDB_cursor* cur = nullptr;
  if (int rc = mdb_cursor_open(r.txn, dbi_, &cur); rc) return lmdb_error("mdb_cursor_open", rc);
  MDB_val key, val;
  int rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
  for (; rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
    if (key.mv_size != sizeof(uint64_t) || val.mv_size != sizeof(TokenCounts)) continue;
    uint64_t k;
    TokenCounts c;
    std::memcpy(&k, key.mv_data, sizeof k);
    std::memcpy(&c, val.mv_data, sizeof c);
    if (k != kMetaKey) snap->append(k, c);  // MDB_INTEGERKEY: ascending
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) return lmdb_error("mdb_cursor_get", rc);
  snap->finish(StoreTotals{m->meta.spam, m->meta.ham, token_count(*m)});
  return std::unique_ptr<TokenStore>(std::move(snap));
}

Status LmdbStore::learn(std::span<const LearnItem> batch, LearnOutcome* outcome) {
  std::shared_lock<std::shared_mutex> hold;
  MDB_txn* txn = nullptr;
  if (int rc = begin(0, &txn, hold); rc) return lmdb_error("mdb_txn_begin", rc);
  auto fail = [&](std::string_view what, int rc) {
    mdb_txn_abort(txn);
    return lmdb_error(what, rc);
  };
  // The totals as they were: read before the batch adds tokens.
  auto ms = read_meta(txn, dbi_);
  if (!ms) {
    mdb_txn_abort(txn);
    return ms.error();
  }
  // What the store remembers of the batch's keyed messages decides what
  // the batch really does (token_store.hpp).
  std::vector<std::pair<std::string, Seen>> before;
  int seen_rc = 0;
  auto resolved = resolve_batch(batch, [&](const std::string& k) {
    uint64_t rk = seen_record(k);
    MDB_val key{sizeof rk, &rk}, val;
    Seen s = Seen::kNone;
    int rc = mdb_get(txn, dbi_, &key, &val);
    if (rc == 0 && val.mv_size == 1) s = static_cast<Seen>(*static_cast<const char*>(val.mv_data));
    else if (rc != 0 && rc != MDB_NOTFOUND) seen_rc = rc;
    before.emplace_back(k, s);
    return s;
  });
  if (seen_rc) return fail("mdb_get", seen_rc);
  // Sum the batch first: one get/put per distinct token, in key order.
  struct Delta {
    int64_t spam = 0, ham = 0;
  };
  std::unordered_map<uint64_t, Delta> deltas;
  int64_t dspam = 0, dham = 0;
  for (const auto& op : resolved.ops) {
    int64_t d = op.unlearn ? -1 : 1;
    (op.spam ? dspam : dham) += d;
    for (uint64_t t : *op.tokens) {
      if (t == kMetaKey) continue;
      auto& e = deltas[t];
      (op.spam ? e.spam : e.ham) += d;
    }
  }
  std::vector<std::pair<uint64_t, Delta>> sorted(deltas.begin(), deltas.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  auto apply = [](uint32_t v, int64_t d) -> uint32_t {
    int64_t r = int64_t(v) + d;
    return uint32_t(std::clamp<int64_t>(r, 0, UINT32_MAX));
  };
  for (auto& [tok, d] : sorted) {
    uint64_t k = tok;
    MDB_val key{sizeof k, &k}, val;
    TokenCounts c;
    int rc = mdb_get(txn, dbi_, &key, &val);
    if (rc == 0 && val.mv_size == sizeof c) std::memcpy(&c, val.mv_data, sizeof c);
    else if (rc != 0 && rc != MDB_NOTFOUND) return fail("mdb_get", rc);
    c.spam = apply(c.spam, d.spam);
    c.ham = apply(c.ham, d.ham);
    if (c.spam == 0 && c.ham == 0) {
      if (rc == 0) {
        if (int r2 = mdb_del(txn, dbi_, &key, nullptr); r2 && r2 != MDB_NOTFOUND) return fail("mdb_del", r2);
      }
      continue;
    }
    MDB_val nv{sizeof c, &c};
    if (int r2 = mdb_put(txn, dbi_, &key, &nv, 0); r2) return fail("mdb_put", r2);
  }
  int64_t dseen = 0;
  for (size_t i = 0; i < resolved.changes.size(); ++i) {
    const auto& [k, now] = resolved.changes[i];
    Seen was = before[i].second;  // resolve_batch asks once per key, in this order
    if (now == was) continue;
    uint64_t rk = seen_record(k);
    MDB_val key{sizeof rk, &rk};
    if (now == Seen::kNone) {
      if (int rc = mdb_del(txn, dbi_, &key, nullptr); rc && rc != MDB_NOTFOUND) return fail("mdb_del", rc);
      --dseen;
      continue;
    }
    char v = static_cast<char>(now);
    MDB_val nv{1, &v};
    if (int rc = mdb_put(txn, dbi_, &key, &nv, 0); rc) return fail("mdb_put", rc);
    if (was == Seen::kNone) ++dseen;
  }
  Meta m = ms->meta;
  m.spam = uint64_t(std::max<int64_t>(0, int64_t(m.spam) + dspam));
  m.ham = uint64_t(std::max<int64_t>(0, int64_t(m.ham) + dham));
  m.seen = uint64_t(std::max<int64_t>(0, int64_t(m.seen) + dseen));
  uint64_t k = kMetaKey;
  MDB_val key{sizeof k, &k}, nv{sizeof m, &m};
  if (int rc = mdb_put(txn, dbi_, &key, &nv, 0); rc) return fail("mdb_put", rc);
  if (int rc = mdb_txn_commit(txn); rc) {
    // LMDB reports a write that did not fit as EIO: say how full the disk is.
    Error e = lmdb_error("mdb_txn_commit", rc);
    const char* path = nullptr;
    struct statvfs vfs {};
    if (rc != MDB_MAP_FULL && mdb_env_get_path(env_, &path) == 0 && path && ::statvfs(path, &vfs) == 0)
      e.detail += fmt::format(" ({} bytes free on {}'s file system)", uint64_t(vfs.f_bavail) * vfs.f_frsize, path);
    return e;
  }
  if (outcome) *outcome = resolved.outcome;
  return Ok{};
}

Result<std::filesystem::path> user_store_dir(const std::filesystem::path& bayes_dir, std::string_view address) {
  std::string a;
  for (char c : address) a += char(std::tolower(static_cast<unsigned char>(c)));
  bool bad = a.empty() || a.front() == '.' || a.size() > 320 ||
             std::any_of(a.begin(), a.end(), [](unsigned char c) { return c == '/' || c == '\\' || c < 0x21 || c == 0x7f; });
  if (bad) return make_error("bad user address \"" + std::string(address) + "\"");
  return bayes_dir / "users" / a;
}

}  // namespace nougat::scanners
