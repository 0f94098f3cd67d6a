#include "scanners/antivirus.hpp"

#include <fmt/format.h>

#include "scanners/clamav.hpp"
#include "scanners/clamd.hpp"

#ifndef NOUGAT_RULES_DIR
#define NOUGAT_RULES_DIR "rules"
#endif

namespace nougat::scanners {

std::vector<std::filesystem::path> default_signature_dirs() {
  return {"/var/lib/clamav", std::filesystem::path(NOUGAT_RULES_DIR) / "clamav"};
}

Result<std::unique_ptr<Antivirus>> make_antivirus(const AntivirusOptions& opt) {
  if (opt.engine == "libclamav") {
    auto e = ClamavEngine::open(opt);
    if (!e) return e.error();
    return std::unique_ptr<Antivirus>(std::move(*e));
  }
  if (opt.engine == "clamd") {
    auto c = ClamdClient::open(opt);
    if (!c) return c.error();
    return std::unique_ptr<Antivirus>(std::move(*c));
  }
  return make_error(fmt::format("unknown antivirus engine \"{}\" (libclamav, clamd)", opt.engine));
}

}  // namespace nougat::scanners
