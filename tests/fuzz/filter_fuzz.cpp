// Fuzz target for the Exim filter language: parse and compile any input as a
// filter (user and system mode), run what compiles against a fixed message
// (system mode also as a real run: `headers add|remove` applied at once),
// format the report, and also read the input as a plain .forward list and as
// `headers add` / `headers remove` text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "filterlang/forward.hpp"
#include "filterlang/interpreter.hpp"
#include "filterlang/program.hpp"
#include "filterlang/report.hpp"

namespace {

class FixedMessage final : public nougat::filterlang::ExpandContext {
 public:
  std::optional<std::string> variable(std::string_view name) const override {
    if (name == "local_part") return "me";
    if (name == "domain" || name == "qualify_domain") return "here.example";
    if (name == "sender_address" || name == "return_path") return "s@x.example";
    if (name == "home") return "/home/me";
    if (name == "message_body") return "body text ";
    return std::nullopt;
  }
  const std::vector<std::pair<std::string, std::string>>& headers() const override { return headers_; }

 private:
  std::vector<std::pair<std::string, std::string>> headers_ = {
      {"From", " Alice <alice@x.example>"}, {"To", " me@here.example"}, {"Subject", " hello there"}};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nougat::filterlang;
  std::string_view src(reinterpret_cast<const char*>(data), size);
  static const FixedMessage msg;
  for (bool system : {false, true}) {
    ParseOptions o;
    o.system_filter = system;
    auto c = compile_filter(src, o);
    if (!c.program) continue;
    RunOptions ro;
    ro.max_actions = 1000;
    auto r = run_filter(*c.program, msg, ro);
    int status = 0;
    (void)report_run(r, status);
    if (system) {
      ro.apply_headers = true;
      (void)run_filter(*c.program, msg, ro);
    }
  }
  (void)split_header_text(src);
  (void)header_names(src);
  std::string out;
  (void)forward_report(parse_forward_list(src, "here.example"), out);
  (void)is_exim_filter(src);
  return 0;
}
