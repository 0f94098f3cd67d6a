// PCRE2 patterns for ${sg}, ${if match}: compiled once, JIT when available,
// bounded by match and depth limits so a hostile pattern cannot hang a run.
// Byte-oriented (no UTF mode), as in Exim 4.96.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang::detail {
namespace {
constexpr uint32_t kMatchLimit = 1000000;
constexpr uint32_t kDepthLimit = 10000;
}  // namespace

Regex::Regex(std::string_view pattern, bool caseless) : pattern_(pattern) {
  int errcode = 0;
  PCRE2_SIZE erroff = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   caseless ? PCRE2_CASELESS : 0, &errcode, &erroff, nullptr);
  if (!code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(errcode, buf, sizeof buf);
    error_ = std::string(reinterpret_cast<char*>(buf)) + " at offset " + std::to_string(erroff);
    return;
  }
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
  code_ = code;
}

Regex::~Regex() {
  if (code_) pcre2_code_free(static_cast<pcre2_code*>(code_));
}

int Regex::match(std::string_view subject, size_t start, std::vector<size_t>& ovector, std::string& err) const {
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  pcre2_match_context* mc = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(mc, kMatchLimit);
  pcre2_set_depth_limit(mc, kDepthLimit);
  int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), start, 0, md, mc);
  int result;
  if (rc == PCRE2_ERROR_NOMATCH) {
    result = -1;
  } else if (rc < 0) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(rc, buf, sizeof buf);
    err = "pcre2_match failed on \"" + pattern_ + "\": " + reinterpret_cast<char*>(buf);
    result = -2;
  } else {
    uint32_t pairs = pcre2_get_ovector_count(md);
    if (rc == 0) rc = static_cast<int>(pairs);
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    ovector.assign(ov, ov + 2 * static_cast<size_t>(rc));
    for (size_t& v : ovector)
      if (v == PCRE2_UNSET) v = static_cast<size_t>(-1);
    result = rc;
  }
  pcre2_match_context_free(mc);
  pcre2_match_data_free(md);
  return result;
}

std::shared_ptr<const Regex> compile_regex(std::string_view pattern, bool caseless) {
  return std::make_shared<const Regex>(pattern, caseless);
}

}  // namespace nougat::filterlang::detail
