// Exim filter lexer: a cursor over the filter source that reads words and
// quoted items exactly as Exim's filter.c scanner does.
//
// Why a cursor, not a token stream: Exim's tokenisation depends on the parse
// context (inside a condition "(" and ")" end a word; "if(" is a command), and
// its line counter keeps counting when a lookahead is backed out. The parser
// asks for the next word or item in the mode it needs; rewind() restores the
// position only, never the line count, which is what makes our error line
// numbers byte-identical to Exim's.
// Limits: a token holds at most kMaxToken-1 bytes; longer ones set an error.
// Failure: error() holds the error; like Exim, a later error replaces an
// earlier one, except "quote missing" (set_error_once).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nougat::filterlang {

inline constexpr size_t kMaxToken = 1024;  // Exim's buffer size, including NUL

struct Token {
  std::string text;     // after quote/escape processing; cut at an embedded NUL
  bool quoted = false;  // written as "..."
};

class Lexer {
 public:
  // `source` is cut at its first NUL byte (Exim reads the file as a C string).
  explicit Lexer(std::string_view source);

  // Skips white space and comments; counts newlines.
  void skip();
  // A word: up to white space (and "(" / ")" when `bracket`). Then skip().
  Token word(bool bracket);
  // A quoted string with escapes, or a word. Then skip().
  Token item(bool bracket);

  char peek() const { return pos_ < src_.size() ? src_[pos_] : '\0'; }
  bool at_end() const { return pos_ >= src_.size(); }
  bool starts_with(std::string_view s) const { return src_.substr(pos_).starts_with(s); }
  void advance(size_t n) { pos_ = std::min(src_.size(), pos_ + n); }
  size_t pos() const { return pos_; }
  void rewind(size_t pos) { pos_ = pos; }  // line count intentionally kept
  int line() const { return line_; }

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  void set_error(std::string msg) { error_ = std::move(msg); }
  void set_error_once(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
  }

 private:
  std::string_view src_;
  size_t pos_ = 0;
  int line_ = 1;
  std::string error_;
};

// Exim's string_interpret_escape for one escape in a quoted item; `p` points at the backslash
// and is left on the last byte consumed.
char filter_escape(std::string_view s, size_t& p);
// Exim's string_interpret_escape(), shared by quoted filter strings and
// string expansion: s[pos] is the character after the backslash; pos ends on
// the last character consumed.
char interpret_escape(std::string_view s, size_t& pos);

}  // namespace nougat::filterlang
