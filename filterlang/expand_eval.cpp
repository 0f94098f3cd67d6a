// ${eval:} and ${eval10:}: Exim's signed 64-bit integer arithmetic with C
// precedence (| ^ & << >> + - * / % unary + - ~), K/M/G suffixes, and its
// error texts ("error in expression evaluation: ... (after processing "...")").
#include <cctype>
#include <climits>
#include <cstdlib>
#include <string>

#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang::detail {
namespace {

class Eval {
 public:
  Eval(std::string_view s, bool decimal) : s_(s), decimal_(decimal) {}

  bool expr(long long& x) { return bin_or(x); }
  size_t pos = 0;
  std::string error;

 private:
  void white() {
    while (pos < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos]))) ++pos;
  }
  bool peek(char c) {
    white();
    return pos < s_.size() && s_[pos] == c;
  }
  bool peek2(const char* op) {
    white();
    return pos + 1 < s_.size() && s_[pos] == op[0] && s_[pos + 1] == op[1];
  }

  bool number(long long& x) {
    white();
    if (pos < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos]))) {
      std::string tail(s_.substr(pos));
      char* end = nullptr;
      x = std::strtoll(tail.c_str(), &end, decimal_ ? 10 : 0);
      pos += static_cast<size_t>(end - tail.c_str());
      if (pos < s_.size()) {
        unsigned long long m = 1;
        switch (std::tolower(static_cast<unsigned char>(s_[pos]))) {
          case 'k': m = 1024; break;
          case 'm': m = 1024 * 1024; break;
          case 'g': m = 1024ULL * 1024 * 1024; break;
          default: break;
        }
        if (m > 1) {
          x = static_cast<long long>(static_cast<unsigned long long>(x) * m);
          ++pos;
        }
      }
      white();
      return true;
    }
    if (pos < s_.size() && s_[pos] == '(') {
      ++pos;
      if (!expr(x)) return false;
      if (!peek(')')) {
        error = "expecting closing parenthesis";
        return false;
      }
      ++pos;
      white();
      return true;
    }
    error = "expecting number or opening parenthesis";
    return false;
  }

  bool unary(long long& x) {
    if (++depth_ > kMaxDepth) {
      error = "expression nested too deeply";
      return false;
    }
    white();
    if (pos < s_.size() && (s_[pos] == '-' || s_[pos] == '+' || s_[pos] == '~')) {
      char op = s_[pos++];
      if (!unary(x)) return false;
      if (op == '-') x = static_cast<long long>(0ULL - static_cast<unsigned long long>(x));
      if (op == '~') x = ~x;
      --depth_;
      return true;
    }
    bool ok = number(x);
    --depth_;
    return ok;
  }

  bool mult(long long& x) {
    if (!unary(x)) return false;
    while (peek('*') || peek('/') || peek('%')) {
      char op = s_[pos++];
      long long y;
      if (!unary(y)) return false;
      if (op == '*') {
        x = static_cast<long long>(static_cast<unsigned long long>(x) * static_cast<unsigned long long>(y));  // Exim wraps
      } else {
        if (y == 0) {
          error = op == '/' ? "divide by zero" : "modulo by zero";
          return false;
        }
        if (y == -1 && x == LLONG_MIN) {
          error = op == '/' ? "overflow in division" : "overflow in modulo";
          return false;
        }
        x = op == '/' ? x / y : x % y;
      }
    }
    return true;
  }

  bool sum(long long& x) {
    if (!mult(x)) return false;
    while (peek('+') || peek('-')) {
      char op = s_[pos++];
      long long y;
      if (!mult(y)) return false;
      bool of = op == '+' ? __builtin_add_overflow(x, y, &x) : __builtin_sub_overflow(x, y, &x);
      if (of) {
        error = op == '+' ? "overflow in sum" : "overflow in difference";
        return false;
      }
    }
    return true;
  }

  bool shift(long long& x) {
    if (!sum(x)) return false;
    while (peek2("<<") || peek2(">>")) {
      char op = s_[pos];
      pos += 2;
      long long y;
      if (!sum(y)) return false;
      unsigned n = static_cast<unsigned long long>(y) & 63;
      x = op == '<' ? static_cast<long long>(static_cast<unsigned long long>(x) << n) : x >> n;
    }
    return true;
  }

  bool bin_and(long long& x) {
    if (!shift(x)) return false;
    while (peek('&')) {
      ++pos;
      long long y;
      if (!shift(y)) return false;
      x &= y;
    }
    return true;
  }

  bool bin_xor(long long& x) {
    if (!bin_and(x)) return false;
    while (peek('^')) {
      ++pos;
      long long y;
      if (!bin_and(y)) return false;
      x ^= y;
    }
    return true;
  }

  bool bin_or(long long& x) {
    if (!bin_xor(x)) return false;
    while (peek('|')) {
      ++pos;
      long long y;
      if (!bin_xor(y)) return false;
      x |= y;
    }
    return true;
  }

  static constexpr int kMaxDepth = 200;  // parentheses and unary operators; bounds the recursion
  std::string_view s_;
  bool decimal_;
  int depth_ = 0;
};

}  // namespace

Result<std::string> eval_expression(std::string_view s, bool decimal_only) {
  Eval e(s, decimal_only);
  long long x = 0;
  bool ok = e.expr(x);
  if (ok && e.pos < s.size()) {
    ok = false;
    e.error = "expecting operator";
  }
  if (!ok)
    return fail("error in expression evaluation: " + e.error + " (after processing \"" +
                std::string(s.substr(0, e.pos)) + "\")");
  return std::to_string(x);
}

}  // namespace nougat::filterlang::detail
