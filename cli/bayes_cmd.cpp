// `nougat bayes train|classify|stats|eval`: the Bayesian classifier from the
// command line (scanners/bayes.hpp over the LMDB token store in
// spam.store, default <data>/bayes; --user ADDRESS reads that user's store on
// top of the global one and trains only the user's — the server classifies
// that user's mail the same way at delivery, engine/user_spam.hpp).
// PATH arguments: a message file, an mbox file (starts with a "From " line and
// holds several), "-" (standard input: a message or an mbox, as with
// bogofilter and sa-learn), a Maildir (has cur/: the messages in cur/ and new/) or a
// directory whose every regular file is one message (subdirectories are not
// entered). A PATH that cannot be read is an error, said on stderr, while
// train, classify and tokens go on with the others and exit 1 (eval
// stops); one that holds no message gets a warning.
// Output contracts scripts rely on: `classify --tsv` prints exactly one line
// per message, "PATH<TAB>ham|unsure|spam<TAB>SCORE" (the messages of an mbox
// holding several are "PATH:N", N from 1; a backslash, tab, CR or LF or other
// control character in PATH is written \\, \t, \r, \n, \xHH; SCORE has six
// decimals and re-read against the cut-offs gives VERDICT); `stats` prints
// "NAME: VALUE" lines, with --user the layered totals (store: "GLOBAL +
// USER") and then the user's own ("user spam messages: N", …).
// `train` with at most 500 messages learns them in one transaction (all or
// nothing), which the Junk trainer relies on (engine/junk_trainer.hpp). Progress goes to stderr, and only on a terminal.
// Exit status: 0 ok, 1 failure (unreadable store or input), 2 usage error.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <random>
#include <mutex>
#include <thread>
#include <atomic>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/read_file.hpp"
#include "engine/charset.hpp"
#include "engine/directory.hpp"
#include "engine/mbox.hpp"
#include "engine/mime.hpp"
#include "engine/passwd_file.hpp"
#include "engine/junk_training.hpp"
#include "engine/spam_check.hpp"
#include "scanners/bayes.hpp"
#include "scanners/lmdb_store.hpp"
#include "scanners/memory_store.hpp"

namespace nougat::cli {
namespace {
namespace fs = std::filesystem;
using namespace nougat::scanners;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kBayesUsage =
    "usage: nougat bayes train [--user ADDRESS] (--spam|--ham) [--unlearn] PATH...\n"
    "       nougat bayes classify [--user ADDRESS] [--tsv] [--threads N] [--direct] PATH...\n"
    "       nougat bayes stats [--user ADDRESS]\n"
    "       nougat bayes tokens PATH...          (print each message's tokens)\n"
    "       nougat bayes eval --spam DIR... --ham DIR... [--folds K] [--list]\n"
    "         (K-fold cross-validation; also the trade at other spam cut-offs)\n"
    "  PATH is a message file, a directory of message files, a Maildir, an mbox,\n"
    "  or - for standard input.\n"
    "  Every command also takes --data DIR, --config FILE and --set KEY=VALUE\n"
    "  (spam.spam_cutoff, spam.ham_cutoff, spam.bigrams, spam.markup_clues, spam.store).\n";

int usage(std::string_view msg) {
  std::cerr << "nougat bayes: " << msg << "\n" << kBayesUsage;
  return 2;
}

// An mbox file's bytes: read when its messages are wanted, shared by every
// thread reading them, freed when none does — so a set of mboxes is never
// all in memory at once. Read, not mapped: a mail client rewriting the mbox
// meanwhile cannot fault us.
// Standard input ("-") is read once, at the start, and held.
class MboxSource {
 public:
  explicit MboxSource(std::string path) : path_(std::move(path)) {}
  explicit MboxSource(std::shared_ptr<const std::string> held) : held_(std::move(held)) {}
  // nullptr when it cannot be read; `why` says why.
  std::shared_ptr<const std::string> load(std::string* why = nullptr) {
    if (held_) return held_;
    std::lock_guard lock(mu_);
    if (auto d = cache_.lock()) return d;
    auto d = std::make_shared<std::string>();
    if (auto e = read_whole_file(path_, *d); !e.empty()) {
      if (why) *why = e;
      return nullptr;
    }
    cache_ = d;
    return d;
  }

 private:
  std::string path_;
  std::shared_ptr<const std::string> held_;
  std::mutex mu_;
  std::weak_ptr<const std::string> cache_;
};

// One message: a file, or a slice of an mbox file.
struct Item {
  std::string path;
  size_t offset = 0, length = std::string::npos;
  std::string label;
  std::shared_ptr<MboxSource> mbox;  // an mbox's message: its ">From " lines carry the writer's '>'
};

// A path as one TSV field on one line: backslash, tab, CR, LF and the other
// control characters escaped as in PostgreSQL's text format.
std::string field(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        else out += c;
    }
  }
  return out;
}

// A file given as PATH: one message, or an mbox's messages. An unreadable
// file is left to the reader, which reports it where it would have been.
void add_mbox(const std::string& path, const std::shared_ptr<MboxSource>& src, std::string_view m,
              std::vector<Item>& items) {
  auto parts = engine::mbox_split(m);  // the offsets only: the bytes go until wanted
  for (size_t i = 0; i < parts.size(); ++i)
    items.push_back({path, parts[i].offset, parts[i].length,
                     parts.size() > 1 ? fmt::format("{}:{}", path, i + 1) : path, src});
}

// "-" (standard input), or a named pipe or device given as PATH
// (`<(zcat x.gz)`, /dev/stdin): read once, as it streams; one message, or
// an mbox's messages.
Status add_stream(const std::string& path, std::vector<Item>& items) {
  auto data = std::make_shared<std::string>();
  if (auto e = read_whole_file(path, *data); !e.empty())
    return make_error(path == "-" ? "-: cannot read standard input" : path + ": cannot read", e);
  auto src = std::make_shared<MboxSource>(std::shared_ptr<const std::string>(data));
  if (engine::leading_from_line(std::string_view(*data).substr(0, data->find('\n')))) add_mbox(path, src, *data, items);
  else items.push_back({path, 0, std::string::npos, path, src});
  return Ok{};
}

void add_file(const fs::path& p, std::vector<Item>& items) {
  std::string path = p.string();
  char head[5] = {};
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    size_t n = std::fread(head, 1, sizeof head, f);
    std::fclose(f);
    auto src = std::make_shared<MboxSource>(path);
    std::shared_ptr<const std::string> m;
    if (n == 5 && std::string_view(head, 5) == "From " && (m = src->load()) &&
        engine::leading_from_line(std::string_view(*m).substr(0, m->find('\n')))) {
      add_mbox(path, src, *m, items);
      return;
    }
  }
  items.push_back({path, 0, std::string::npos, path, nullptr});
}

Status add_dir_files(const fs::path& dir, std::vector<Item>& items) {
  std::vector<fs::path> files;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2)) files.push_back(it->path());
  }
  if (ec) return make_error(dir.string() + ": cannot read the directory", ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) items.push_back({f.string(), 0, std::string::npos, f.string(), nullptr});
  return Ok{};
}

// A device that ends: a terminal (typed until ^D) or /dev/null; not
// /dev/zero or /dev/urandom, which would be read until memory runs out.
bool finite_device(const std::string& path) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0 || !S_ISCHR(sb.st_mode)) return false;
  if (major(sb.st_rdev) == 1 && minor(sb.st_rdev) == 3) return true;  // /dev/null
  int fd = ::open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  bool tty = ::isatty(fd);
  ::close(fd);
  return tty;
}

// The messages of the PATH arguments. A PATH that cannot be used is an
// error; with `bad`, it is said on stderr, *bad is set and the other PATHs
// still count (as an unreadable file does: one typo does not void a run).
Result<std::vector<Item>> collect(const std::vector<std::string>& paths, bool* bad = nullptr) {
  std::vector<Item> items;
  for (const auto& s : paths) {
    fs::path p(s);
    std::error_code ec;
    auto st = fs::status(p, ec);
    size_t before = items.size();
    Status problem = Ok{};
    if (s == "-" || fs::is_fifo(st) || (fs::is_character_file(st) && finite_device(s))) {
      problem = add_stream(s, items);
    } else if (fs::is_directory(st)) {
      if (fs::is_directory(p / "cur", ec)) {  // a Maildir, as Dovecot tells one
        for (auto sub : {"cur", "new"})
          if (problem && fs::is_directory(p / sub, ec)) problem = add_dir_files(p / sub, items);
      } else {
        problem = add_dir_files(p, items);
      }
      if (problem && items.size() == before) std::cerr << "nougat bayes: warning: " << s << ": no message in it\n";
    } else if (fs::is_regular_file(st)) {
      add_file(p, items);
    } else if (fs::exists(st)) {
      problem = make_error(s + ": not a message file, directory, Maildir or mbox");
    } else {
      problem = make_error(s + ": " + (ec ? ec.message() : "no such file or directory"));
    }
    if (!problem) {
      if (!bad) return problem.error();
      const Error& e = problem.error();
      std::cerr << "nougat bayes: " << e.text << (e.detail.empty() ? "" : ": " + e.detail) << "\n";
      *bad = true;
    }
  }
  return items;
}

// Whether text starts like a JSON document: an object ('{', then '}' or a
// string and ':'), or an array whose first value is followed by ',' or by
// the ']' that ends the file. "[SPAM] Cheap…", "[1] Claim your prize" and
// "{"Hi" she said}" are prose.
struct JsonStart {
  std::string_view s;
  size_t ws(size_t p) const {
    while (p < s.size() && (s[p] == ' ' || s[p] == '\t' || s[p] == '\r' || s[p] == '\n')) ++p;
    return p;
  }
  size_t string_end(size_t p) const {  // after the closing quote, or npos
    for (++p; p < s.size(); ++p) {
      if (s[p] == '\\') ++p;
      else if (s[p] == '"') return p + 1;
      else if (s[p] == '\n') break;
    }
    return std::string_view::npos;
  }
  size_t scalar_end(size_t p) const {  // string, number, true, false, null
    if (p >= s.size()) return std::string_view::npos;
    if (s[p] == '"') return string_end(p);
    for (std::string_view word : {"true", "false", "null"})
      if (s.substr(p).starts_with(word)) return p + word.size();
    size_t q = p + (s[p] == '-');
    size_t digits = q;
    while (q < s.size() && std::isdigit(static_cast<unsigned char>(s[q]))) ++q;
    if (q == digits) return std::string_view::npos;
    if (q < s.size() && s[q] == '.')
      for (++q; q < s.size() && std::isdigit(static_cast<unsigned char>(s[q]));) ++q;
    if (q < s.size() && (s[q] == 'e' || s[q] == 'E')) {
      ++q;
      if (q < s.size() && (s[q] == '+' || s[q] == '-')) ++q;
      while (q < s.size() && std::isdigit(static_cast<unsigned char>(s[q]))) ++q;
    }
    return q;
  }
  bool value_start(size_t p, int depth) const {
    if (depth > 8 || p >= s.size()) return false;
    if (s[p] == '{') {
      size_t q = ws(p + 1);
      if (q < s.size() && s[q] == '}') return true;
      if (q >= s.size() || s[q] != '"') return false;
      size_t e = string_end(q);
      return e != std::string_view::npos && (e = ws(e)) < s.size() && s[e] == ':';
    }
    if (s[p] != '[') return false;
    size_t q = ws(p + 1);
    if (q < s.size() && (s[q] == '{' || s[q] == '[')) return value_start(q, depth + 1);
    size_t e = q < s.size() && s[q] == ']' ? q : scalar_end(q);
    if (e == std::string_view::npos || (e = ws(e)) >= s.size()) return false;
    if (s[e] == ',' && e != q) return true;
    return s[e] == ']' && ws(e + 1) == s.size();
  }
};

// Why a file given as a message is none, or "": mail starts with a header
// field (or an mbox From_ line), after at most a UTF-8 BOM an editor put
// there; text without one is a message with no header, all body, as
// bogofilter reads it (corpora of bare bodies exist). A file that is
// empty (or blank), binary — a compressed archive, a UTF-16 text — or JSON
// (the corpus copies npm's SpamAssassin dataset keeps beside its messages)
// is left out, with a warning, by every command: learnt, an empty file
// would count as a message, which every probability divides by
// (bogofilter does not count one either).
std::string not_mail(std::string_view raw) {
  if (raw.find_first_not_of(" \t\r\n\xEF\xBB\xBF") == std::string_view::npos) return "empty";
  std::string_view first = raw.substr(0, raw.find('\n'));
  if (first.starts_with("\xEF\xBB\xBF")) first.remove_prefix(3);
  if (first.ends_with('\r')) first.remove_suffix(1);
  first.remove_prefix(std::min(first.size(), first.find_first_not_of(" \t")));
  if (first.starts_with("From ") || first.starts_with(">From ")) return "";  // an mbox's, or saved with one
  // A field name as mail has them: letters, digits and "-_." (RFC 5322
  // allows more, which a JSON line's `{"id"` would pass as well).
  std::string_view name = engine::field_name_of(first);
  if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      }))
    return "";
  std::string_view head = raw.substr(0, 8192);
  size_t control = 0;
  for (unsigned char c : head) {
    if (c == 0) return "binary data";
    control += (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b) || c == 0x7f;
  }
  if (control * 10 > head.size()) return "binary data";
  size_t at = raw.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
  if (at != std::string_view::npos && JsonStart{raw}.value_start(at, 0)) return "JSON data";
  return "";
}


// Loads an item's bytes; an mbox's messages are slices of its bytes, held
// while this reader is on that mbox.
class ItemReader {
 public:
  bool load(const Item& it, std::string_view& out) {
    if (it.mbox) {
      if (it.mbox.get() != source_) {
        mbox_ = it.mbox->load(&why_);
        source_ = mbox_ ? it.mbox.get() : nullptr;
        if (!mbox_) return false;
      }
      out = std::string_view(*mbox_).substr(std::min(it.offset, mbox_->size()), it.length);
      if (out.starts_with("From ") && engine::mbox_has_escapes(out)) {  // as its writer was given it
        unescaped_ = engine::mbox_unescape(out);
        out = unescaped_;
      }
      return true;
    }
    if (it.path != path_) {
      path_ = it.path;
      if (why_ = read_whole_file(it.path, data_); !why_.empty()) {
        path_.clear();
        return false;
      }
    }
    out = std::string_view(data_).substr(std::min(it.offset, data_.size()), it.length);
    return true;
  }

  // Why the last load failed (strerror text).
  const std::string& why() const { return why_; }

 private:
  std::string path_, data_, unescaped_, why_;
  const MboxSource* source_ = nullptr;
  std::shared_ptr<const std::string> mbox_;
};

class Progress {
 public:
  Progress(std::string_view what, size_t total) : what_(what), total_(total), on_(::isatty(2)), t0_(Clock::now()) {
    if (on_) active_ = this;
  }
  ~Progress() {
    if (active_ == this) active_ = nullptr;
  }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // Before a warning: the bar's line is cleared (the next tick draws it
  // again below the warning).
  static void interrupt() {
    if (active_ && active_->drawn_) fmt::print(stderr, "\r\x1b[K");
  }
  void tick(size_t done) {
    if (!on_ || (done % 50 && done != total_)) return;
    drawn_ = done != total_;
    double secs = std::chrono::duration<double>(Clock::now() - t0_).count();
    double rate = secs > 0 ? done / secs : 0;
    double eta = rate > 0 ? (total_ - done) / rate : 0;
    int width = 30, fill = total_ ? int(width * done / total_) : width;
    fmt::print(stderr, "\r{} [{}{}] {}/{} {:.0f} msg/s ETA {:.0f}s ", what_, std::string(size_t(fill), '#'),
               std::string(size_t(width - fill), ' '), done, total_, rate, eta);
    if (done == total_) fmt::print(stderr, "\n");
  }
  // Ends the bar's line before it is complete (a failure follows).
  void stop() {
    if (on_) fmt::print(stderr, "\n");
  }

 private:
  std::string what_;
  size_t total_;
  bool on_, drawn_ = false;
  Clock::time_point t0_;
  static inline Progress* active_ = nullptr;  // the one on the terminal now
};

void warn_not_mail(const Item& it, std::string_view why, std::string_view what) {
  Progress::interrupt();
  std::cerr << "nougat bayes: warning: " << field(it.label) << ": not a mail message (" << why << ")" << what << "\n";
}

struct Context {
  engine::ConfigPtr cfg;
  BayesParams params;
  TokenizerOptions topts;
};

Context make_context(const engine::ConfigPtr& cfg) {
  return Context{cfg, engine::bayes_params(cfg->spam), engine::tokenizer_options(cfg->spam)};
}

// The store to use: global, or the user's on top of it. `writable`: create
// what is missing; else a missing store reads as an empty one. `user_layer`
// gets the user's own store (never open one environment twice in a process).
Result<std::shared_ptr<TokenStore>> open_store(const Context& ctx, const std::string& user, bool writable,
                                               std::shared_ptr<TokenStore>* user_layer = nullptr) {
  const fs::path& dir = ctx.cfg->spam.store;
  // A user's store is their address's: one the users file could hold.
  if (!user.empty()) {
    if (auto a = engine::parse_user_address(user); !a)
      return make_error(fmt::format("--user {}: {}", user, a.error().text));
    // A store may be made before its user (so no error), but a typo should
    // not go unnoticed: the server would never use that store.
    const fs::path users = ctx.cfg->server.data_dir / "users";
    engine::PasswdFileDirectory dir(users, ctx.cfg->server.data_dir, std::chrono::milliseconds(0));
    std::error_code ec;
    const bool readable = !fs::exists(users, ec) || ::access(users.c_str(), R_OK) == 0;  // else: cannot tell
    if (readable && !dir.find(user))
      fmt::print(stderr, "nougat bayes: warning: {} is no user in {} (the server uses this store only for a user of that address)\n",
                 user, users.string());
  }
  if (!writable) {
    // Reading nothing is allowed (an untrained store: every message
    // "unsure"), but said: a mistyped --data would otherwise look like one.
    std::error_code ec;
    for (fs::path p = dir; !p.empty() && p != p.parent_path(); p = p.parent_path())
      if (fs::exists(p, ec)) {
        if (!fs::is_directory(p, ec)) return make_error(p.string() + " is not a directory");
        break;
      }
    auto udir = user.empty() ? Result<fs::path>(make_error("")) : user_store_dir(dir, user);
    if (!fs::exists(dir / "data.mdb", ec) && !(udir && fs::exists(*udir / "data.mdb", ec)))
      fmt::print(stderr, "nougat bayes: warning: no token store in {}{}: nothing learnt yet (train it first)\n",
                 dir.string(), udir ? " or " + udir->string() : "");
  }
  auto open = [&](const fs::path& d, bool own) -> Result<std::shared_ptr<TokenStore>> {
    std::error_code ec;
    if (!writable && !fs::exists(d / "data.mdb", ec)) return std::shared_ptr<TokenStore>(std::make_shared<MemoryStore>());
    // Readers open read-only: no write transaction, so no wait for a trainer.
    auto s = LmdbStore::open(d, {.read_only = !writable, .private_files = own});
    if (!s) return s.error();
    return std::shared_ptr<TokenStore>(std::move(*s));
  };
  if (user.empty()) return open(dir, false);
  auto udir = user_store_dir(dir, user);
  if (!udir) return udir.error();
  auto u = open(*udir, true);
  if (!u) return u;
  if (user_layer) *user_layer = *u;
  std::error_code ec;
  if (!fs::exists(dir / "data.mdb", ec)) return u;
  auto g = open(dir, false);
  if (!g) return g;
  return std::shared_ptr<TokenStore>(std::make_shared<LayeredStore>(*g, *u));
}

int fail(const Error& e) {
  std::cerr << "nougat bayes: " << e.text << (e.detail.empty() ? "" : ": " + e.detail) << "\n";
  return 1;
}

int train(const Args& a, const Context& ctx) {
  bool spam = a.has("spam"), ham = a.has("ham");
  if (spam == ham) return usage("train needs exactly one of --spam or --ham");
  if (a.positional.size() < 2) return usage("train needs at least one PATH");
  bool bad_path = false;
  auto items = collect({a.positional.begin() + 1, a.positional.end()}, &bad_path);
  if (!items) return fail(items.error());
  auto store = open_store(ctx, a.value("user"), true);
  if (!store) return fail(store.error());
  constexpr size_t kBatch = 500;  // engine::JunkTrainer::kMaxBatchFiles relies on it
  std::vector<LearnItem> batch;
  ItemReader reader;
  Progress progress(a.has("unlearn") ? "unlearning" : "training", items->size());
  size_t done = 0, unreadable = 0, not_mail_files = 0;
  LearnOutcome total;
  std::optional<Error> failed;  // a batch that could not be learnt ends the run
  for (const auto& it : *items) {
    std::string_view raw;
    if (!reader.load(it, raw)) {
      Progress::interrupt();
      std::cerr << "nougat bayes: cannot read " << field(it.label) << ": " << reader.why() << "\n";
      ++unreadable;
    } else if (auto why = not_mail(raw); !why.empty()) {
      warn_not_mail(it, why, ": left out");
      ++not_mail_files;
    } else {
      batch.push_back({tokenize(raw, ctx.topts).hashes, spam, a.has("unlearn"), engine::message_key(raw)});
    }
    progress.tick(++done);
    if (batch.size() >= kBatch || done == items->size()) {
      LearnOutcome o;
      if (auto st = (*store)->learn(batch, &o); !st) {
        failed = st.error();
        break;
      }
      total.learnt += o.learnt;
      total.moved += o.moved;
      total.unlearnt += o.unlearnt;
      total.skipped += o.skipped;
      batch.clear();
    }
  }
  if (items->empty()) progress.tick(0);
  if (failed) progress.stop();
  // One summary line (stdout): what changed, and what was already so —
  // also when a batch failed: the batches before it are in the store.
  std::string left_out =
      not_mail_files ? fmt::format("; {} {} not mail, left out", not_mail_files, not_mail_files == 1 ? "file" : "files")
                     : "";
  if (a.has("unlearn"))
    std::cout << fmt::format("unlearnt {} {}; {} not learnt as {}, left alone{}\n", total.unlearnt,
                             spam ? "spam" : "ham", total.skipped, spam ? "spam" : "ham", left_out);
  else
    std::cout << fmt::format("learnt {} as {} ({} moved from {}); {} already learnt as {}, skipped{}\n",
                             total.learnt, spam ? "spam" : "ham", total.moved, spam ? "ham" : "spam", total.skipped,
                             spam ? "spam" : "ham", left_out);
  if (failed) return fail(*failed);
  // A file that is no mail is said (stderr, and the summary) but is no
  // failure: it never will be mail, and the server's Junk trainer, which
  // names every file it stages, would otherwise retry its batch forever.
  return unreadable || bad_path ? 1 : 0;
}

void report(std::string& out, const Item& it, const Classification& c, const TokenList& tl, const BayesParams& p) {
  auto o = std::back_inserter(out);
  // The score as the headers print it: never rounded across a cut-off.
  fmt::format_to(o, "{}: {} (score {}; {} of {} tokens decide; store: {} spam, {} ham)\n", field(it.label),
                 verdict_name(c.verdict), score_text(c.score, c.verdict, p, 4), c.clues.size(), c.tokens,
                 c.totals.spam_messages, c.totals.ham_messages);
  if (c.clues.empty()) return;
  fmt::format_to(o, "  {:<40} {:>6} {:>6} {:>7}\n", "token", "spam", "ham", "prob");
  for (size_t i = 0; i < std::min<size_t>(10, c.clues.size()); ++i) {
    const auto& cl = c.clues[i];
    auto t = tl.text.find(cl.token);
    std::string name = t == tl.text.end() ? fmt::format("#{:016x}", cl.token) : t->second;
    for (auto& ch : name)
      if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
    if (name.size() > 40) name = name.substr(0, engine::utf8_cut_len(name, 37)) + "...";
    fmt::format_to(o, "  {:<40} {:>6} {:>6} {:>7.4f}\n", name, cl.spam, cl.ham, cl.prob);
  }
}

constexpr size_t kMaxSnapshotTokens = 8'000'000;  // about 256 MB of table
constexpr size_t kTokensPerMessage = 500;          // a typical message's distinct tokens

// Classifies in windows of messages spread over worker threads (LMDB has
// many concurrent readers); output stays in input order.
int classify(const Args& a, const Context& ctx) {
  if (a.positional.size() < 2) return usage("classify needs at least one PATH");
  bool bad_path = false;
  auto items = collect({a.positional.begin() + 1, a.positional.end()}, &bad_path);
  if (!items) return fail(items.error());
  auto store = open_store(ctx, a.value("user"), false);
  if (!store) return fail(store.error());
  // A run that will touch a good part of the store anyway reads it once,
  // sequentially, instead of walking the B-tree per token (a query planner's
  // hash join). Bounded: small runs and huge stores stay on direct lookups.
  std::unique_ptr<TokenStore> snap;
  if (auto* lmdb = dynamic_cast<LmdbStore*>(store->get()); lmdb && !a.has("direct")) {
    auto t = lmdb->totals();
    if (t && t->tokens <= kMaxSnapshotTokens && items->size() * kTokensPerMessage >= t->tokens / 4) {
      auto s = lmdb->snapshot();
      if (!s) return fail(s.error());
      snap = std::move(*s);
    }
  }
  Classifier clf(snap ? *snap : **store, ctx.params, ctx.topts);
  bool tsv = a.has("tsv");
  unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  if (auto t = a.value("threads"); !t.empty()) threads = unsigned(std::atoi(t.c_str()));  // checked: 1…64
  constexpr size_t kWindow = 4096, kChunk = 32;
  std::vector<std::string> out(std::min(kWindow, items->size()));
  std::atomic<int> status{bad_path ? 1 : 0};
  std::mutex err_mu;
  Error first_error;
  // The mboxes of the window being classified stay loaded until those of
  // the next one are: one read per mbox, however many windows it spans.
  std::vector<std::shared_ptr<const std::string>> pinned;
  for (size_t base = 0; base < items->size(); base += kWindow) {
    size_t n = std::min(kWindow, items->size() - base);
    std::vector<std::shared_ptr<const std::string>> pin;
    for (size_t i = 0; i < n; ++i)
      if (const auto& m = (*items)[base + i].mbox; m && (i == 0 || (*items)[base + i - 1].mbox != m))
        pin.push_back(m->load());
    pinned = std::move(pin);
    std::atomic<size_t> next{0};
    auto work = [&] {
      ItemReader reader;
      for (size_t c = next.fetch_add(kChunk); c < n; c = next.fetch_add(kChunk)) {
        for (size_t i = c; i < std::min(n, c + kChunk); ++i) {
          const Item& it = (*items)[base + i];
          out[i].clear();
          std::string_view raw;
          if (!reader.load(it, raw)) {
            std::lock_guard lock(err_mu);
            std::cerr << "nougat bayes: cannot read " << field(it.label) << ": " << reader.why() << "\n";
            status = std::max(status.load(), 1);
            continue;
          }
          if (auto why = not_mail(raw); !why.empty()) {  // no line: it is no message
            std::lock_guard lock(err_mu);
            warn_not_mail(it, why, ": left out");
            continue;
          }
          TokenList tl = tokenize(raw, ctx.topts, !tsv);
          auto r = clf.classify(tl);
          if (!r) {
            std::lock_guard lock(err_mu);
            first_error = r.error();
            status = 3;
            return;
          }
          if (tsv)
            fmt::format_to(std::back_inserter(out[i]), "{}\t{}\t{}\n", field(it.label), verdict_name(r->verdict),
                           score_text(r->score, r->verdict, ctx.params));
          else
            report(out[i], it, *r, tl, ctx.params);
        }
      }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < std::min<size_t>(threads, (n + kChunk - 1) / kChunk); ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (status == 3) return fail(first_error);
    for (size_t i = 0; i < n; ++i) std::fwrite(out[i].data(), 1, out[i].size(), stdout);
  }
  std::fflush(stdout);
  return status;
}

// Debugging aid: the distinct tokens of each message, one a line.
int tokens(const Args& a, const Context& ctx) {
  if (a.positional.size() < 2) return usage("tokens needs at least one PATH");
  bool bad_path = false;
  auto items = collect({a.positional.begin() + 1, a.positional.end()}, &bad_path);
  if (!items) return fail(items.error());
  ItemReader reader;
  for (const auto& it : *items) {
    std::string_view raw;
    if (!reader.load(it, raw)) {
      std::cerr << "nougat bayes: cannot read " << field(it.label) << ": " << reader.why() << "\n";
      bad_path = true;
      continue;
    }
    auto tl = tokenize(raw, ctx.topts, true);
    std::vector<std::string> names;
    for (auto& [h, t] : tl.text) names.push_back(t);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) fmt::print("{}\t{}\n", field(it.label), field(n));
  }
  return bad_path ? 1 : 0;
}

// With --user the totals are those the user's mail is classified with (the
// global store plus theirs), then the user's own store alone ("user …").
int stats(const Args& a, const Context& ctx) {
  std::shared_ptr<TokenStore> own;
  auto store = open_store(ctx, a.value("user"), false, &own);
  if (!store) return fail(store.error());
  auto t = (*store)->totals();
  if (!t) return fail(t.error());
  // With --user the first totals are the global store's and the user's
  // together ("GLOBAL + USER"), or the user's alone when there is no global one.
  std::string where = ctx.cfg->spam.store.string();
  std::string own_dir = own ? user_store_dir(ctx.cfg->spam.store, a.value("user"))->string() : "";
  Result<StoreTotals> u = own ? own->totals() : Result<StoreTotals>(StoreTotals{});
  if (!u) return fail(u.error());
  std::error_code ec;
  const bool has_own = own && fs::exists(fs::path(own_dir) / "data.mdb", ec);  // else the global store's alone
  const bool layered = has_own && store->get() != own.get();
  if (has_own) where = layered ? where + " + " + own_dir : own_dir;
  std::string tokens = std::to_string(t->tokens);
  if (layered && u->tokens <= t->tokens)  // two stores: the sum, not distinct tokens
    tokens += fmt::format(" ({} global + {} user; a token in both counts twice)", t->tokens - u->tokens, u->tokens);
  fmt::print("store: {}\nspam messages: {}\nham messages: {}\ntokens: {}\n", where, t->spam_messages,
             t->ham_messages, tokens);
  if (own)
    fmt::print("user store: {}\nuser spam messages: {}\nuser ham messages: {}\nuser tokens: {}\n", own_dir,
               u->spam_messages, u->ham_messages, u->tokens);
  return 0;
}

// K-fold cross-validation in memory: tokenize once, train on K-1 folds,
// classify the remaining one; folds come from a fixed-seed shuffle.
// Arguments after `eval` other than the common flags: --spam PATH...,
// --ham PATH... (each takes the paths up to the next flag; --spam=PATH adds
// one), --folds K (or --folds=K), --list.
int eval(const std::vector<std::string>& raw, const Context& ctx) {
  std::vector<std::string> spam_paths, ham_paths, *into = nullptr;
  std::string folds_text = "5";
  bool list_errors = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    const std::string& s = raw[i];
    if (s == "--spam" || s == "--ham") {
      into = s == "--spam" ? &spam_paths : &ham_paths;
    } else if (s.starts_with("--spam=") || s.starts_with("--ham=")) {
      (s[2] == 's' ? spam_paths : ham_paths).push_back(s.substr(s.find('=') + 1));
      into = nullptr;
    } else if (s == "--folds" || s.starts_with("--folds=")) {
      if (s == "--folds" && i + 1 >= raw.size()) return usage("--folds needs a value");
      folds_text = s == "--folds" ? raw[++i] : s.substr(8);
      into = nullptr;
    } else if (s == "--list") {
      list_errors = true;
      into = nullptr;
    } else if (s.starts_with("--") && s.size() > 2) {
      return usage("unknown option " + s.substr(0, s.find('=')));
    } else if (into) {
      into->push_back(s);
    } else {
      return usage("'" + s + "' is neither after --spam nor after --ham");
    }
  }
  if (spam_paths.empty() || ham_paths.empty()) return usage("eval needs --spam PATH and --ham PATH");
  int folds = 0;
  if (folds_text.empty() || folds_text.find_first_not_of("0123456789") != std::string::npos ||
      folds_text.size() > 3 || (folds = std::stoi(folds_text)) < 2 || folds > 100)
    return usage("--folds must be a number from 2 to 100");
  struct Sample {
    TokenList tokens;
    bool spam;
    int fold;
    std::string label;
  };
  std::vector<Sample> samples;
  int status = 0;
  for (int cls = 0; cls < 2; ++cls) {
    auto items = collect(cls ? spam_paths : ham_paths);
    if (!items) return fail(items.error());
    ItemReader reader;
    size_t before = samples.size();
    for (const auto& it : *items) {
      std::string_view raw;
      if (!reader.load(it, raw)) {
        std::cerr << "nougat bayes: cannot read " << field(it.label) << ": " << reader.why() << "\n";
        status = 1;
      } else if (auto why = not_mail(raw); !why.empty()) {
        warn_not_mail(it, why, ": left out");
      } else {
        samples.push_back({tokenize(raw, ctx.topts), cls == 1, 0, it.label});
      }
    }
    if (size_t n = samples.size() - before; n < size_t(folds))
      return fail(make_error(fmt::format("eval: {} {} messages, fewer than the {} folds", n, cls ? "spam" : "ham", folds)));
  }
  std::mt19937_64 rng(20020801);
  std::vector<size_t> order(samples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  for (size_t i = 0; i < order.size(); ++i) samples[order[i]].fold = int(i % size_t(folds));
  size_t n_spam = 0, n_ham = 0, fp = 0, fn = 0, spam_unsure = 0, ham_unsure = 0, caught = 0;
  std::vector<double> ham_scores, spam_scores;
  for (int f = 0; f < folds; ++f) {
    MemoryStore store;
    std::vector<LearnItem> learn;
    for (const auto& s : samples)
      if (s.fold != f) learn.push_back({s.tokens.hashes, s.spam, false});
    if (auto st = store.learn(learn); !st) return fail(st.error());
    Classifier clf(store, ctx.params, ctx.topts);
    for (const auto& s : samples) {
      if (s.fold != f) continue;
      auto c = clf.classify(s.tokens);
      if (!c) return fail(c.error());
      if (list_errors && (s.spam ? c->verdict != SpamVerdict::kSpam : c->verdict != SpamVerdict::kHam))
        fmt::print("{}\t{}\t{}\t{}\n", s.spam ? "spam" : "ham", field(s.label), verdict_name(c->verdict),
                   score_text(c->score, c->verdict, ctx.params));
      // No clue at all is "unsure" at any cut-off, whatever its 0.5 says.
      (s.spam ? spam_scores : ham_scores).push_back(c->clues.empty() ? -1.0 : c->score);
      if (s.spam) {
        ++n_spam;
        fn += c->verdict == SpamVerdict::kHam;
        spam_unsure += c->verdict == SpamVerdict::kUnsure;
        caught += c->verdict == SpamVerdict::kSpam;
      } else {
        ++n_ham;
        fp += c->verdict == SpamVerdict::kSpam;
        ham_unsure += c->verdict == SpamVerdict::kUnsure;
      }
    }
  }
  auto pct = [](size_t a, size_t b) { return b ? 100.0 * double(a) / double(b) : 0.0; };
  fmt::print("messages: {} ham, {} spam, {} folds\n", n_ham, n_spam, folds);
  fmt::print("false positives (ham -> spam): {} ({:.3f}%)\n", fp, pct(fp, n_ham));
  fmt::print("false negatives (spam -> ham): {} ({:.3f}%)\n", fn, pct(fn, n_spam));
  fmt::print("unsure: {} ham ({:.3f}%), {} spam ({:.3f}%)\n", ham_unsure, pct(ham_unsure, n_ham), spam_unsure,
             pct(spam_unsure, n_spam));
  fmt::print("spam caught (spam -> spam): {} ({:.3f}%)\n", caught, pct(caught, n_spam));
  // What another spam.spam_cutoff would give on the same scores: the choice
  // between false positives and spam caught, on the site's own mail.
  std::vector<double> cuts = {0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999};
  if (std::find(cuts.begin(), cuts.end(), ctx.params.spam_cutoff) == cuts.end()) cuts.push_back(ctx.params.spam_cutoff);
  std::sort(cuts.begin(), cuts.end());
  auto at_least = [](const std::vector<double>& v, double cut) {
    return size_t(std::count_if(v.begin(), v.end(), [cut](double x) { return x >= cut; }));
  };
  fmt::print("at other spam cut-offs (* = spam.spam_cutoff now):\n");
  fmt::print("  cut-off   false positives      spam caught\n");
  for (double cut : cuts) {
    size_t f = at_least(ham_scores, cut), c = at_least(spam_scores, cut);
    std::string shown = fmt::format("{:.3f}", cut);
    if (std::stod(shown) != cut) shown = fmt::format("{:.6g}", cut);  // 0.9995, not 1.000
    fmt::print("  {:<5}{}  {:>6} {:>10}  {:>6} {:>10}\n", shown, cut == ctx.params.spam_cutoff ? " *" : "  ", f,
               fmt::format("({:.3f}%)", pct(f, n_ham)), c, fmt::format("({:.3f}%)", pct(c, n_spam)));
  }
  return status;
}

}  // namespace

int cmd_bayes(int argc, char** argv, int first) {
  for (int i = first; i < argc && std::string_view(argv[i]) != "--"; ++i)  // not past "--"
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      std::cout << kBayesUsage;
      return 0;
    }
  if (first < argc && std::string_view(argv[first]) == "eval") {
    // eval's --spam/--ham take lists, which Args cannot express: only the
    // common flags go through it.
    std::vector<std::string> raw;
    std::vector<char*> common{argv[0]};
    for (int i = first + 1; i < argc; ++i) {
      std::string s = argv[i];
      bool common_flag = s == "--data" || s == "--config" || s == "--set";
      if (common_flag && i + 1 < argc) {
        common.push_back(argv[i]);
        common.push_back(argv[++i]);
      } else if (s.rfind("--data=", 0) == 0 || s.rfind("--config=", 0) == 0 || s.rfind("--set=", 0) == 0) {
        common.push_back(argv[i]);
      } else {
        raw.push_back(s);
      }
    }
    auto cargs = parse_args(int(common.size()), common.data(), 1, {}, {});
    if (!cargs) return usage(cargs.error().text);
    auto cfg = load_config_or_report(*cargs);
    if (!cfg) return 1;
    return eval(raw, make_context(cfg));
  }
  auto args = parse_args(argc, argv, first, {"user", "threads"}, {"tsv", "unlearn", "spam", "ham", "direct"});
  if (!args) return usage(args.error().text);
  if (args->positional.empty()) return usage("missing subcommand");
  const std::string& sub = args->positional[0];
  // Each subcommand takes only its own flags: a misplaced one is a mistake.
  static const std::map<std::string, std::set<std::string>, std::less<>> kFlags = {
      {"train", {"user", "spam", "ham", "unlearn"}},
      {"classify", {"user", "tsv", "threads", "direct"}},
      {"stats", {"user"}},
      {"tokens", {}},
  };
  auto own = kFlags.find(sub);
  if (own == kFlags.end()) return usage("unknown subcommand '" + sub + "'");
  for (const auto& sw : args->switches)
    if (!own->second.count(sw)) return usage("bayes " + sub + " takes no --" + sw);
  for (const auto& [flag, vals] : args->values) {
    if (flag == "data" || flag == "config" || flag == "set") continue;
    if (!own->second.count(flag)) return usage("bayes " + sub + " takes no --" + flag);
    if (vals.back().empty()) return usage("--" + flag + " needs a value");
  }
  auto cfg = load_config_or_report(*args);
  if (!cfg) return 1;
  Context ctx = make_context(cfg);
  if (sub == "stats" && args->positional.size() > 1) return usage("stats takes no PATH");
  if (auto t = args->value("threads"); !t.empty()) {
    char* end = nullptr;
    long n = std::strtol(t.c_str(), &end, 10);
    if (*end || n < 1 || n > 64) return usage("--threads must be a number from 1 to 64");
  }
  if (sub == "train") return train(*args, ctx);
  if (sub == "classify") return classify(*args, ctx);
  if (sub == "stats") return stats(*args, ctx);
  return tokens(*args, ctx);
}

}  // namespace nougat::cli
