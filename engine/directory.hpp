// Directory: who the mail users are, where their mail lives, and whether a
// password is theirs (DESIGN "Interfaces that keep the core swappable").
// passwd-file today (engine/passwd_file.hpp), an in-memory backend for tests
// (engine/memory_directory.hpp); SQL or LDAP later.
//
// Promises: every implementation is safe for any number of concurrent
// readers. find() never fails loudly: an unknown or malformed address is
// simply std::nullopt. users() lists everybody, for background work that
// visits every mailbox (engine/junk_trainer.hpp); it copies the list, so
// call it once per pass, not per message. authenticate() is CPU-heavy by design (password
// hashing: milliseconds); protocol code runs it on a worker pool, never on a
// network thread.
//
// Address matching (one rule for every backend, see directory_key()): the
// whole address is compared ASCII-case-insensitively. The domain is
// case-insensitive by RFC 5321; the local part strictly is not, but no one
// runs a mail server where "Kitkat" and "kitkat" are two people, and
// lowercasing it too means the SMTP RCPT, IMAP LOGIN and the users file can
// disagree on case without locking anybody out. User::local_part keeps the
// spelling from the users file.
#pragma once

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/result.hpp"

namespace nougat::engine {

struct User {
  std::string address, local_part, domain;  // as written in the directory (domain lowercased)
  std::string password_hash;                // "{SCHEME}..." (engine/password.hpp)
  std::filesystem::path home;               // absolute (if the data dir given is)
  std::filesystem::path maildir() const { return home / "Maildir"; }
};

class Directory {
 public:
  virtual ~Directory() = default;
  virtual std::optional<User> find(std::string_view address) const = 0;
  // False for an unknown user, a wrong password or an unusable hash.
  virtual bool authenticate(std::string_view address, std::string_view password) const = 0;
  // Every user, in the backend's order (file order for passwd-file).
  virtual std::vector<User> users() const = 0;
};

// ASCII lowercase of the whole address: the lookup key of every backend.
inline std::string directory_key(std::string_view address) {
  std::string k(address);
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  });
  return k;
}

struct UserAddress {
  std::string local_part, domain;  // domain lowercased
  std::string address() const { return local_part + "@" + domain; }
};

// The halves of an envelope address, split at the last '@' (a quoted local
// part may hold one): no '@' is all local part and no domain.
inline std::string_view address_local_part(std::string_view address) {
  return address.substr(0, address.rfind('@'));
}
inline std::string_view address_domain(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

// Checks a directory address: exactly one '@', non-empty local part and
// domain, no ':' (the passwd-file separator), no '/', neither half "." or
// "..", no whitespace, no control
// characters, no leading '#' (a comment in the users file), at most 254
// bytes (RFC 5321 path limit).
inline Result<UserAddress> parse_user_address(std::string_view address) {
  if (address.empty()) return make_error("empty address");
  if (address.size() > 254) return make_error("address longer than 254 characters");
  for (unsigned char c : address) {
    if (c == ':') return make_error("address contains ':'");
    if (c <= ' ' || c == 0x7f)
      return make_error("address contains whitespace or a control character");
  }
  auto at = address.find('@');
  if (at == std::string_view::npos) return make_error("address must be local@domain");
  if (address.find('@', at + 1) != std::string_view::npos)
    return make_error("address has more than one '@'");
  if (at == 0) return make_error("address has an empty local part");
  if (address.front() == '#')
    return make_error("address starts with '#' (a comment in the users file)");
  if (at + 1 == address.size()) return make_error("address has an empty domain");
  // Both halves become path components of the default home: no '/', and
  // never "." or ".." (which would point outside <data>/home/<domain>/).
  if (address.find('/') != std::string_view::npos) return make_error("address contains '/'");
  auto local = address.substr(0, at), domain = address.substr(at + 1);
  if (local == "." || local == ".." || domain == "." || domain == "..")
    return make_error("address has a local part or domain of \".\" or \"..\"");
  return UserAddress{std::string(address.substr(0, at)), directory_key(address.substr(at + 1))};
}

// For a new user (`nougat user add`): the local part is also an RFC 5321
// Dot-string — no dot at either end, none doubled — since SMTP refuses such
// an address unquoted and a user's Bayes store would be a hidden directory.
// Entries already in a users file stay valid (they can log in and be deleted).
inline Result<UserAddress> parse_new_user_address(std::string_view address) {
  auto a = parse_user_address(address);
  if (!a) return a;
  const std::string& local = a->local_part;
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string::npos)
    return make_error("local part starts or ends with '.' or has \"..\" (RFC 5321 Dot-string)");
  return a;
}

// The home of a user whose directory entry names none:
// <data>/home/<domain>/<local-part>, both lowercased so that the path does not
// move when the case in the users file changes.
inline std::filesystem::path default_home(const std::filesystem::path& data_dir,
                                          const UserAddress& a) {
  return data_dir / "home" / directory_key(a.domain) / directory_key(a.local_part);
}

}  // namespace nougat::engine
