// Expansion core (temporary minimal version: $name, ${name}, \ escapes, \N..\N).
#include "filterlang/expand.hpp"

#include <cctype>

namespace nougat::filterlang {

class Expansion {
 public:
  std::string text;
};

Result<std::shared_ptr<const Expansion>> compile_expansion(std::string_view text) {
  auto e = std::make_shared<Expansion>();
  e->text = std::string(text);
  return std::shared_ptr<const Expansion>(std::move(e));
}

bool is_constant(const Expansion& e) { return e.text.find_first_of("$\\") == std::string::npos; }

Result<std::string> expand(const Expansion& e, const ExpandContext& ctx, ExpandState& st) {
  std::string_view s = e.text;
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      char d = s[i + 1];
      i += 2;
      if (d == 'N') {
        size_t end = s.find("\\N", i);
        if (end == std::string_view::npos) end = s.size();
        out.append(s.substr(i, end - i));
        i = end == s.size() ? end : end + 2;
        continue;
      }
      switch (d) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        default: out += d;
      }
      continue;
    }
    if (c != '$') { out += c; ++i; continue; }
    ++i;
    bool braced = i < s.size() && s[i] == '{';
    if (braced) ++i;
    size_t b = i;
    while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
    std::string name(s.substr(b, i - b));
    if (name.empty()) return make_error("$ not followed by letter, digit, or {");
    if (braced) {
      if (i >= s.size() || s[i] != '}') return make_error("missing } at end of string");
      ++i;
    }
    auto v = ctx.variable(name);
    if (!v) return make_error("unknown variable name \"" + name + "\"");
    out += *v;
    if (out.size() > st.max_output) return make_error("expansion too long");
  }
  return out;
}

Result<std::string> expand_string(std::string_view text, const ExpandContext& ctx, ExpandState& st) {
  auto e = compile_expansion(text);
  if (!e) return e.error();
  return expand(**e, ctx, st);
}

}  // namespace nougat::filterlang
