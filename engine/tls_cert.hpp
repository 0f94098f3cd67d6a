// Self-signed certificate for the default setup: when the configured cert
// and key files are both missing, create an EC P-256 key and a certificate
// for the host name (CN and subjectAltName DNS), valid ten years, key file
// mode 0600. Existing files are never touched.
#pragma once

#include <filesystem>
#include <string>

#include "engine/result.hpp"

namespace nougat::engine {

// Returns true in *created when new files were written.
Status ensure_certificate(const std::filesystem::path& cert, const std::filesystem::path& key,
                          const std::string& hostname, bool* created = nullptr);

}  // namespace nougat::engine
