// Password hashes in Dovecot's "{SCHEME}hash" notation, so a users file can
// move between Dovecot and nougat unchanged.
//
// hash_password() makes {SHA512-CRYPT} ($6$, 5000 rounds: the Dovecot and
// glibc default) or {BLF-CRYPT} ($2y$, cost kBlfCryptCost) with a fresh random
// salt from libxcrypt. verify_password() accepts {SHA512-CRYPT},
// {SHA256-CRYPT}, {BLF-CRYPT}, {MD5-CRYPT}, {CRYPT} (any crypt(3) string
// libxcrypt knows, DES included) and {PLAIN}; scheme names are
// case-insensitive, a hash without a {SCHEME} prefix is taken as {CRYPT}
// (Dovecot's passwd-file default). Anything else — an unknown scheme, a hash
// whose prefix does not fit its scheme ({SHA512-CRYPT}$1$…), a password
// containing NUL (crypt(3) would silently cut it) — does not verify.
//
// Only libxcrypt's reentrant calls are used (crypt_gensalt_rn, crypt_rn), with
// per-call state, so every function here is thread-safe. Comparisons of the
// final strings are constant-time.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/result.hpp"

namespace nougat::engine {

enum class Scheme { kSha512Crypt, kBlfCrypt };

// bcrypt cost for new {BLF-CRYPT} hashes. Every SMTP AUTH, IMAP LOGIN and POP3
// PASS pays it on a worker thread, and mail clients log in often (phones
// reconnect on every network change, some clients open several IMAP
// connections at once). Cost 9 is ~35 ms of one core on current x86 —
// 2^9 iterations, twice the work of cost 8 — which keeps an offline attack on
// a stolen file expensive while one core still serves ~30 logins a second
// (SHA512-CRYPT: ~2.5 ms).
// 10 doubles that again for little extra safety on a mail server; raise it if
// your login rate is low.
inline constexpr unsigned kBlfCryptCost = 9;

// "SHA512-CRYPT" / "BLF-CRYPT" (any case) → Scheme; nullopt otherwise.
std::optional<Scheme> parse_scheme(std::string_view name);
std::string_view scheme_name(Scheme s);

// "{SHA512-CRYPT}$6$…". Fails on an empty password or one containing NUL, or
// if the system cannot supply random bytes for the salt.
Result<std::string> hash_password(std::string_view plain, Scheme scheme = Scheme::kSha512Crypt);

bool verify_password(std::string_view plain, std::string_view stored);

// True when verify_password() understands the scheme of `stored` (used by the
// passwd-file parser to warn about users who can never log in).
bool is_known_password_scheme(std::string_view stored);

}  // namespace nougat::engine
