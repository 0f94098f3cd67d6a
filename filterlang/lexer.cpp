#include "filterlang/lexer.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace nougat::filterlang {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

Lexer::Lexer(std::string_view source) : src_(source.substr(0, source.find('\0'))) {}

void Lexer::skip() {
  for (;;) {
    while (pos_ < src_.size() && is_space(src_[pos_])) {
      if (src_[pos_] == '\n') ++line_;
      ++pos_;
    }
    if (pos_ < src_.size() && src_[pos_] == '#') {
      while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
      continue;
    }
    return;
  }
}

Token Lexer::word(bool bracket) {
  Token t;
  while (pos_ < src_.size() && !is_space(src_[pos_]) &&
         (!bracket || (src_[pos_] != '(' && src_[pos_] != ')'))) {
    if (t.text.size() >= kMaxToken - 1) {
      set_error(fmt::format("word is too long in line {} of filter file (max = {} chars)", line_,
                       kMaxToken));
      break;
    }
    t.text.push_back(src_[pos_++]);
  }
  skip();
  return t;
}

char interpret_escape(std::string_view s, size_t& pos) {
  auto at = [&](size_t i) { return i < s.size() ? s[i] : '\0'; };
  char ch = s[pos];
  if (ch >= '0' && ch <= '7') {
    int v = ch - '0';
    for (int i = 0; i < 2 && at(pos + 1) >= '0' && at(pos + 1) <= '7'; ++i) v = v * 8 + (s[++pos] - '0');
    return static_cast<char>(v);
  }
  switch (ch) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'v': return '\v';
    case 'x': {
      int v = 0;
      for (int i = 0; i < 2 && hex_value(at(pos + 1)) >= 0; ++i) v = v * 16 + hex_value(s[++pos]);
      return static_cast<char>(v);
    }
    default: return ch;
  }
}

char filter_escape(std::string_view s, size_t& p) {
  if (p + 1 >= s.size()) return '\\';  // a backslash at the very end stands for itself
  ++p;
  return interpret_escape(s, p);
}

Token Lexer::item(bool bracket) {
  if (peek() != '"') return word(bracket);
  Token t;
  t.quoted = true;
  ++pos_;
  while (pos_ < src_.size() && src_[pos_] != '"' && src_[pos_] != '\n') {
    if (t.text.size() >= kMaxToken - 1) {
      set_error(fmt::format("string is too long in line {} of filter file (max = {} chars)", line_,
                       kMaxToken));
      break;
    }
    if (src_[pos_] != '\\') {
      t.text.push_back(src_[pos_++]);
      continue;
    }
    if (pos_ + 1 < src_.size() && is_space(src_[pos_ + 1])) {  // \ blanks NL blanks: nothing
      size_t p = pos_ + 1;
      while (p < src_.size() && src_[p] != '\n' && is_space(src_[p])) ++p;
      if (p < src_.size() && src_[p] == '\n') {
        ++line_;
        pos_ = p + 1;
        while (pos_ < src_.size() && src_[pos_] != '\n' && is_space(src_[pos_])) ++pos_;
        continue;
      }
    }
    t.text.push_back(filter_escape(src_, pos_));
    ++pos_;
  }
  if (pos_ < src_.size() && src_[pos_] == '"')
    ++pos_;
  else
    set_error_once(fmt::format("quote missing at end of string in line {}", line_));
  if (auto nul = t.text.find('\0'); nul != std::string::npos) t.text.resize(nul);
  skip();
  return t;
}

}  // namespace nougat::filterlang
