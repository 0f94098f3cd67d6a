// Fuzz target for the Bayes tokenizer: any bytes tokenize (with and without
// bigrams, with report texts) within the limits, deterministically, and the
// HTML reducer survives anything.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scanners/tokenizer.hpp"

namespace {
class CountTags final : public nougat::scanners::HtmlTagSink {
 public:
  void tag(std::string_view name, std::string_view attr, std::string_view value) override {
    n += name.size() + attr.size() + value.size();
  }
  size_t n = 0;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nougat::scanners;
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  TokenizerOptions opt;
  opt.max_tokens = 5000;
  auto a = tokenize(raw, opt, true);
  if (a.hashes.size() > opt.max_tokens || a.text.size() != a.hashes.size()) __builtin_trap();
  if (!std::is_sorted(a.hashes.begin(), a.hashes.end())) __builtin_trap();
  if (std::find(a.hashes.begin(), a.hashes.end(), 0u) != a.hashes.end()) __builtin_trap();
  auto b = tokenize(raw, opt, false);
  if (b.hashes != a.hashes) __builtin_trap();
  opt.bigrams = false;
  (void)tokenize(raw, opt);
  CountTags tags;
  std::string text = html_to_text(raw.substr(0, 65536), &tags);
  if (text.size() > 4 * std::min<size_t>(size, 65536) + 16) __builtin_trap();
  return 0;
}
