// filterlang's own copy of engine/result.hpp (filterlang must not include engine/).
// Result<T>: a value or an Error, shaped like C++23 std::expected (GCC 12 has
// none). Used for everything that can fail on input (STYLE 12). An Error
// carries a client-safe text and a log-only detail; protocols map errors to
// replies in one place each.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace nougat::filterlang {

struct Error {
  std::string text;    // safe to show to a client / user
  std::string detail;  // for the log only (paths, errno, internals)

  Error() = default;
  explicit Error(std::string t, std::string d = {}) : text(std::move(t)), detail(std::move(d)) {}
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}      // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok() && "Result::value on error"); return std::get<0>(v_); }
  const T& value() const& { assert(ok() && "Result::value on error"); return std::get<0>(v_); }
  T&& value() && { assert(ok() && "Result::value on error"); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!ok() && "Result::error on value"); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};  // value type for Result of operations with nothing to return
using Status = Result<Ok>;

inline Error make_error(std::string text, std::string detail = {}) {
  return Error(std::move(text), std::move(detail));
}

}  // namespace nougat::filterlang
