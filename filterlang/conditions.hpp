// Filter conditions: PCRE2 regexes compiled once (byte mode, Exim's options),
// Exim's number syntax for "is above/below", and the "personal" test.
//
// Limits: regex match and depth limits (kRegexMatchLimit) so a hostile
// pattern or subject cannot hang the interpreter; hitting one counts as no
// match, as Exim's own PCRE2 limits do.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nougat::filterlang {

inline constexpr uint32_t kRegexMatchLimit = 1000000;

struct CompiledRegex {
  void* code = nullptr;  // pcre2_code_8*
  std::string error;     // set when compilation failed: "<msg> at offset <n>"
  CompiledRegex() = default;
  CompiledRegex(const CompiledRegex&) = delete;
  CompiledRegex& operator=(const CompiledRegex&) = delete;
  ~CompiledRegex();
};

std::shared_ptr<const CompiledRegex> compile_regex(std::string_view pattern, bool caseless);
// True on match; fills `captures` ($0..$n, unset groups empty) on a match.
bool regex_match(const CompiledRegex& re, std::string_view subject, std::vector<std::string>* captures);

// Exim's get_number(): "%i" then optional K then optional M, blanks after.
std::optional<long long> filter_number(std::string_view s);

}  // namespace nougat::filterlang
