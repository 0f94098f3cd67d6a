// Config: one typed, validated, immutable snapshot of nougat's configuration
// (STYLE 15). Built from built-in defaults, then an optional TOML file, then
// `--set KEY=VALUE` overrides, in that order. Every key has a default and
// bounds; a bad file fails with "FILE:LINE: key: problem" and a bad override
// with "--set key: problem". toml++ stays inside config.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/net.hpp"
#include "engine/result.hpp"

namespace nougat::engine {

struct Config {
  struct Server {
    std::string hostname;             // default: the system's host name
    std::filesystem::path data_dir;   // default: ./var (or --data / NOUGAT_DATA)
    std::filesystem::path log_file;   // default: <data>/log/nougat.log; "" = stderr only
    unsigned threads = 0;             // network threads; 0 = number of cores
  } server;
  struct Listen {
    std::vector<Endpoint> smtp, submission, submissions;
  } listen;
  struct Domains {
    std::vector<std::string> local;   // lowercased
    std::vector<Cidr> relay_networks; // clients allowed to relay without AUTH
  } domains;
  struct Tls {
    std::filesystem::path cert, key;  // default: self-signed in <data>/tls
  } tls;
  struct Limits {
    uint64_t message_size = 50ull << 20;
    uint32_t recipients = 1000;
    uint32_t line_length = 1000;      // text line incl. CRLF (RFC 5321 4.5.3.1.6)
    uint32_t command_length = 512;    // command line incl. CRLF (RFC 5321 4.5.3.1.4)
    uint32_t errors = 20;             // 5xx refusals since the last accepted message (failed AUTH: all) before 421
    uint32_t commands = 10000;        // commands per session
    uint32_t connections = 1000;      // concurrent sessions, all listeners together
    std::chrono::seconds idle_timeout{300};
    std::chrono::seconds session_timeout{3600};
  } limits;
  struct Auth {
    std::vector<std::string> mechanisms{"PLAIN", "LOGIN"};
    bool require_tls = true;
    bool on_smtp = false;             // offer AUTH on the port-25 listener too
  } auth;
  struct Routers {
    bool forward_files = true;
    // Who gets mail for postmaster@<local domain> when no user of that name
    // exists (RFC 5321 4.5.1: postmaster must always be accepted). "" keeps
    // such mail queued, logged, until this is set or the user is added.
    std::string postmaster;
  } routers;
  struct Transports {
    bool maildir_fsync = true;
  } transports;
  struct Filter {                     // Exim filter language (filterlang/)
    // Run once per message at end of DATA, after the scanners (engine/system_filter.hpp);
    // "" = none. Relative paths are taken from the data directory.
    std::filesystem::path system_filter;
  } filter;
  struct Spam {                       // the Bayesian classifier (scanners/bayes.hpp)
    bool enabled = true;
    double spam_cutoff = 0.99;        // score >= spam_cutoff: spam
    double ham_cutoff = 0.45;         // score < ham_cutoff: ham; between: unsure
    std::string action = "junk";      // tag | junk (tag + junk_folder) | reject | off
    // The Maildir++ folder spam goes to ("junk", and "reject"'s personally
    // flagged copies) and the one the Junk trainer watches: "Junk" →
    // Maildir/.Junk (Dovecot's default; "Spam" for sites used to that).
    std::string junk_folder = "Junk";
    bool bigrams = true;              // adjacent word pairs as tokens too
    uint32_t markup_clues = 0;        // at most this many HTML markup clues per message (0: no limit)
    std::filesystem::path store;      // default: <data>/bayes
    // How often `serve` looks for mail the users moved into or out of their
    // junk_folder, to train their own store (engine/junk_trainer.hpp); 0 = never.
    std::chrono::seconds junk_scan_interval{30};
  } spam;
  struct Antivirus {
    std::string engine = "libclamav";               // "libclamav" | "clamd" | "off"
    std::vector<std::filesystem::path> signatures;  // libclamav; default: scanners::default_signature_dirs()
    std::string socket;                             // clamd: "/path", "unix:/path" or "host:port"
    std::string action = "reject";                  // "reject" | "quarantine" | "tag"
    std::string on_error = "tempfail";              // "tempfail" | "accept"
    uint64_t max_size = 50ull << 20;                // larger messages are not scanned; default: limits.message_size
    std::chrono::seconds timeout{30};               // clamd: connecting, sending, and its reply, each
    bool alert_exceeds_max = false;                 // libclamav: what its limits stop it from unpacking is a virus
    std::filesystem::path tmpdir;                   // libclamav's unpacking dir; "" = /dev/shm if a tmpfs with room for 4 x max_size, else $TMPDIR or /tmp
  } antivirus;

  // Effective configuration as TOML text (what `nougat config check` prints).
  std::string to_toml() const;
  // Settings that are valid but have no effect as combined (an option of
  // the other antivirus engine): said by `config check` and at start.
  std::vector<std::string> warnings() const;
  bool is_local_domain(std::string_view domain) const;
};

using ConfigPtr = std::shared_ptr<const Config>;

struct ConfigSources {
  std::filesystem::path file;            // empty: none
  bool file_required = false;            // --config given: a missing file is an error
  std::filesystem::path data_dir;        // from --data / NOUGAT_DATA; empty: not given
  std::vector<std::string> overrides;    // "KEY=VALUE" from --set
  std::optional<std::string> text;       // the file's contents, already read (tests, fuzzing)
};

Result<ConfigPtr> load_config(const ConfigSources& src);

// "50M" → bytes; "5m" → seconds. Exposed for tests and other config users.
Result<uint64_t> parse_size(std::string_view s);
Result<std::chrono::seconds> parse_duration(std::string_view s);

}  // namespace nougat::engine
