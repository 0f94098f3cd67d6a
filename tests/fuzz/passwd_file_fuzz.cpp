// Fuzz target: the input is the whole contents of a users file
// (engine/passwd_file.hpp). Besides not crashing, every accepted entry must
// satisfy what the rest of the server relies on, and the per-line helpers must
// agree with the parser on which address a line names.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/passwd_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nougat::engine;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_passwd_file(text, "users", "/data");
  for (const auto& e : parsed.entries) {
    const User& u = e.user;
    if (u.address != u.local_part + "@" + u.domain) std::abort();
    if (u.home.empty() || !u.home.is_absolute()) std::abort();
    if (!parse_user_address(u.address).ok()) std::abort();
    if (e.line == 0) std::abort();
    // Re-formatting an accepted user yields a line that parses to the same user.
    auto line = format_passwd_line(u.address, u.password_hash, u.home);
    if (line) {
      auto again = parse_passwd_file(*line, "u", "/data");
      if (again.entries.size() != 1 || again.entries[0].user.home != u.home ||
          directory_key(again.entries[0].user.address) != directory_key(u.address))
        std::abort();
      if (passwd_line_address(*line) != u.address) std::abort();
      auto changed = passwd_line_with_password(*line, "{PLAIN}x");
      if (parse_passwd_file(changed, "u", "/data").entries.at(0).user.password_hash != "{PLAIN}x")
        std::abort();
    }
  }
  return 0;
}
