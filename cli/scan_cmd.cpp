// `nougat scan [--data DIR] [--database PATH]... [--file-list F] [--stats] FILE...`:
// scans files ("-" is stdin; --file-list names one file a line, as
// clamscan's) with the configured antivirus engine and prints one line each,
// like clamscan: "FILE: OK", "FILE: NAME FOUND" or "FILE: ERROR: why".
// Signatures come from antivirus.signatures, or from the --database flags.
// With engine "off" libclamav is used anyway: an explicit scan is wanted.
// --stats prints files, bytes and the scan time (signature loading and file
// reading excluded) to stderr, for bench/clamav-scan.
// Exit status like clamscan: 0 all clean, 1 a virus found, 2 an error.
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "engine/virus_check.hpp"

namespace nougat::cli {

namespace {

bool read_input(const std::string& name, std::string& out) {
  if (name == "-") {
    out.assign(std::istreambuf_iterator<char>(std::cin), {});
    return !std::cin.bad();
  }
  std::ifstream in(name, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), {});
  return !in.bad();
}

}  // namespace

int cmd_scan(int argc, char** argv, int first) {
  auto args = parse_args(argc, argv, first, {"database", "file-list"}, {"stats"});
  if (!args) {
    std::cerr << "nougat scan: " << args.error().text << "\n";
    return 2;
  }
  std::vector<std::string> names = args->positional;
  if (auto list = args->value("file-list"); !list.empty()) {
    std::ifstream in(list);
    if (!in) {
      std::cerr << "nougat scan: cannot read " << list << "\n";
      return 2;
    }
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) names.push_back(line);
  }
  if (names.empty()) {
    std::cerr << "usage: nougat scan [--data DIR] [--database PATH]... [--file-list F] [--stats] FILE...\n";
    return 2;
  }
  auto cfg = load_config_or_report(*args);
  if (!cfg) return 2;
  auto opt = engine::antivirus_options(*cfg);
  opt.log = [](std::string_view line) { std::cerr << "nougat scan: " << line << "\n"; };
  opt.poll_interval = std::chrono::milliseconds(0);
  if (opt.engine == "off") opt.engine = "libclamav";
  if (auto it = args->values.find("database"); it != args->values.end()) {
    opt.engine = "libclamav";
    opt.signatures.assign(it->second.begin(), it->second.end());
  }
  opt.max_size = UINT64_MAX;  // an explicit scan looks at everything
  auto av = scanners::make_antivirus(opt);
  if (!av) {
    std::cerr << "nougat scan: " << av.error().text << "\n";
    return 2;
  }

  int status = 0;
  uint64_t files = 0, bytes = 0;
  std::chrono::steady_clock::duration spent{};
  std::string data;
  for (const auto& name : names) {
    if (!read_input(name, data)) {
      std::cout << name << ": ERROR: cannot read" << std::endl;
      status = std::max(status, 2);
      continue;
    }
    auto start = std::chrono::steady_clock::now();
    auto r = (*av)->scan(data);
    spent += std::chrono::steady_clock::now() - start;
    ++files;
    bytes += data.size();
    if (r.is_virus()) {
      std::cout << name << ": " << r.virus << " FOUND\n";
      status = status == 2 ? 2 : 1;
    } else if (r.is_error()) {
      std::cout << name << ": ERROR: " << r.error << "\n";
      status = 2;
    } else {
      std::cout << name << ": OK\n";
    }
  }
  std::cout.flush();
  if (args->has("stats")) {
    double s = std::chrono::duration<double>(spent).count();
    std::cerr << "scanned " << files << " files, " << bytes << " bytes in " << s << " s\n";
  }
  return status;
}

}  // namespace nougat::cli
