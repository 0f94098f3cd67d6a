// Address operators: ${address:}, ${addresses:}, ${local_part:}, ${domain:},
// on the same extractor as the filter's commands (filterlang/forward.hpp,
// Exim's parse_extract_address): anything unparseable yields "", as in Exim.
#include <cctype>

#include "filterlang/expand_ast.hpp"
#include "filterlang/forward.hpp"

namespace nougat::filterlang::detail {

Result<std::string> address_operator(std::string_view op, std::string_view arg) {
  if (op == "addresses") {  // as Exim's EOP_ADDRESSES
    char sep = ':';
    std::string_view list = arg;
    while (!list.empty() && std::isspace(static_cast<unsigned char>(list.front()))) list.remove_prefix(1);
    if (!list.empty() && list[0] == '>') {
      if (list.size() < 2) return fail("output separator missing in expanding ${addresses:" + std::string(list) + "}");
      sep = list[1];
      list.remove_prefix(2);
    }
    std::string out;
    bool first = true;
    for (const auto& a : extract_address_list(list, true)) {
      if (!a) continue;
      if (!first && !a->empty() && (*a)[0] == sep) out += ' ';  // else it would read as a doubled separator
      first = false;
      for (char c : *a) {
        out += c;
        if (c == sep) out += sep;
      }
      out += sep;
    }
    if (!out.empty()) out.pop_back();
    return out;
  }
  std::string err;
  auto a = extract_address(arg, err);
  if (!a) return std::string();
  size_t at = domain_at(*a);
  if (op == "address") return *a;
  if (op == "local_part") return at == std::string::npos ? *a : a->substr(0, at);
  if (op == "domain") return at == std::string::npos ? std::string() : a->substr(at + 1);
  return fail("unknown expansion operator \"" + std::string(op) + "\"");
}

}  // namespace nougat::filterlang::detail
