// MemoryDirectory: an in-memory Directory for tests (STYLE 7). Same matching
// rule as every backend (directory_key), same password schemes
// (verify_password). add() may run while others read: a shared_mutex guards
// the map. add_user() stores the password as {PLAIN} so tests stay fast.
#pragma once

#include <map>
#include <mutex>
#include <shared_mutex>

#include "engine/directory.hpp"
#include "engine/password.hpp"

namespace nougat::engine {

class MemoryDirectory final : public Directory {
 public:
  MemoryDirectory() = default;
  explicit MemoryDirectory(std::filesystem::path data_dir) : data_dir_(std::move(data_dir)) {}

  // Adds or replaces a user.
  void add(User u) {
    std::unique_lock lk(mu_);
    users_[directory_key(u.address)] = std::move(u);
  }
  // "local@domain" with home <data>/home/<domain>/<local> unless given.
  // Asserts the address is valid: tests pass literals.
  void add_user(std::string_view address, std::string_view password,
                std::filesystem::path home = {}) {
    auto a = parse_user_address(address);
    assert(a.ok() && "MemoryDirectory::add_user: bad address");
    User u;
    u.local_part = a->local_part;
    u.domain = a->domain;
    u.address = a->address();
    u.password_hash = "{PLAIN}" + std::string(password);
    u.home = home.empty() ? default_home(data_dir_, *a) : std::move(home);
    add(std::move(u));
  }
  bool remove(std::string_view address) {
    std::unique_lock lk(mu_);
    return users_.erase(directory_key(address)) > 0;
  }

  std::optional<User> find(std::string_view address) const override {
    std::shared_lock lk(mu_);
    auto it = users_.find(directory_key(address));
    if (it == users_.end()) return std::nullopt;
    return it->second;
  }
  bool authenticate(std::string_view address, std::string_view password) const override {
    auto u = find(address);
    return u && verify_password(password, u->password_hash);
  }
  std::vector<User> users() const override {  // by lowercased address
    std::shared_lock lk(mu_);
    std::vector<User> r;
    for (const auto& [key, u] : users_) r.push_back(u);
    return r;
  }

 private:
  std::filesystem::path data_dir_{"/nonexistent/nougat-test"};
  mutable std::shared_mutex mu_;
  std::map<std::string, User, std::less<>> users_;
};

}  // namespace nougat::engine
