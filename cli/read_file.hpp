// Reading a whole input file for the commands that take message files
// (`nougat scan`, `nougat bayes`).
#pragma once

#include <string>

namespace nougat::cli {

// Reads all of `path` ("-": standard input) into `out`. Returns "" on
// success, else why it failed (strerror text).
std::string read_whole_file(const std::string& path, std::string& out);

}  // namespace nougat::cli
