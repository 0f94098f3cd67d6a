// Exim filter parser: source text -> Ast, with Exim 4.96's syntax rules and
// error messages (byte-identical, including its line numbers).
//
// Promise: the whole file is parsed before anything runs; on error nothing is
// returned but the message ("unknown filtering command ..."). System-filter
// only commands (fail, freeze, defer, headers add/remove) are refused in user
// filters with Exim's messages.
// Limits: `if` nesting and condition parentheses at most kMaxNesting deep
// (Exim has no limit; ours keeps the recursion bounded).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "filterlang/ast.hpp"

namespace nougat::filterlang {

inline constexpr int kMaxNesting = 200;

struct ParseOptions {
  bool system_filter = false;  // exim -bF: fail/freeze/defer/headers add|remove allowed
};

struct ParseOutcome {
  std::optional<Ast> ast;  // set on success
  std::string error;       // set on failure: the text after "Filter error: "
};

ParseOutcome parse_filter(std::string_view source, const ParseOptions& options = {});

// True if `source` starts (after white space) with "# Exim filter" in Exim's
// lenient sense (caseless, each space matching zero or more blanks).
bool is_exim_filter(std::string_view source);

}  // namespace nougat::filterlang
