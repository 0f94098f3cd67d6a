// libFuzzer target for the Exim string expander: compile the input, then run
// it against a small fixed context (a few variables and headers, including
// encoded words). Any crash, hang, or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filterlang/expand.hpp"

namespace {

class FuzzContext : public nougat::filterlang::ExpandContext {
 public:
  std::optional<std::string> variable(std::string_view name) const override {
    if (name == "sender_address") return std::string("fred@example.com");
    if (name == "local_part") return std::string("joe");
    if (name == "domain") return std::string("example.org");
    if (name == "home") return std::string("/home/joe");
    if (name == "message_body") return std::string("Hello body");
    if (name.size() == 2 && name[0] == 'n' && name[1] >= '0' && name[1] <= '9') return std::string("0");
    return std::nullopt;
  }
  const std::vector<std::pair<std::string, std::string>>& headers() const override { return headers_; }

 private:
  std::vector<std::pair<std::string, std::string>> headers_ = {
      {"From", " Fred <fred@example.com>"},
      {"To", " a@b.example, \"C D\" <c@d.example>"},
      {"Subject", " =?utf-8?q?caf=C3=A9?= =?iso-8859-1?b?4A==?="},
      {"X-Multi", " one"},
      {"X-Multi", " two\n\tfolded"},
  };
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto compiled = nougat::filterlang::compile_expansion(text);
  if (!compiled) return 0;
  static const FuzzContext ctx;
  nougat::filterlang::ExpandState st;
  st.captures = {"whole", "one"};
  st.max_output = 1 << 16;
  (void)nougat::filterlang::expand(**compiled, ctx, st);
  return 0;
}
