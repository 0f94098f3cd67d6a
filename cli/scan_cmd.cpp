// `nougat scan [--data DIR] [--database PATH]... [--file-list F] [--stats] FILE...`:
// scans files ("-" is stdin; a directory stands for every regular file
// below it, as with `clamscan -r` — symbolic links to directories are not
// followed, and a directory that cannot be listed is one ERROR line; --file-list names one path a line, as
// clamscan's) with the configured antivirus engine and prints one line each
// as it goes, like clamscan: "FILE: OK", "FILE: NAME FOUND" or
// "FILE: ERROR: why".
// Signatures come from antivirus.signatures, or from the --database flags.
// With engine "off" libclamav is used anyway: an explicit scan is wanted.
// --stats prints files, bytes and the scan time (signature loading and file
// reading excluded) to stderr, for bench/clamav-scan.
// Exit status like clamscan: 0 all clean, 1 a virus found, 2 an error.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/read_file.hpp"
#include "engine/virus_check.hpp"

namespace nougat::cli {

namespace {

// A directory stands for the regular files below it, in name order; one
// that cannot be listed is named as it is (and reported unreadable below),
// and the walk goes on.
void expand(const std::string& name, std::vector<std::string>& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (name == "-" || !fs::is_directory(name, ec)) {
    out.push_back(name);
    return;
  }
  std::vector<std::pair<std::string, bool>> entries;  // path, is a directory
  fs::directory_iterator it(name, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_directory(ec2) && !it->is_symlink(ec2)) entries.emplace_back(it->path().string(), true);
    else if (it->is_regular_file(ec2)) entries.emplace_back(it->path().string(), false);
  }
  if (ec) {
    out.push_back(name);
    return;
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& [path, dir] : entries) {
    if (dir) expand(path, out);
    else out.push_back(path);
  }
}

}  // namespace

int cmd_scan(int argc, char** argv, int first) {
  auto args = parse_args(argc, argv, first, {"database", "file-list"}, {"stats"});
  if (!args) {
    std::cerr << "nougat scan: " << args.error().text << "\n";
    return 2;
  }
  std::vector<std::string> given = args->positional;
  if (auto list = args->value("file-list"); !list.empty()) {
    std::ifstream in(list);
    if (!in) {
      std::cerr << "nougat scan: cannot read " << list << "\n";
      return 2;
    }
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) given.push_back(line);
  }
  std::vector<std::string> names;
  for (const auto& g : given) expand(g, names);
  if (given.empty()) {
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
    std::cerr << "nougat scan: " << av.error().text
              << (av.error().detail.empty() ? "" : " (" + av.error().detail + ")") << "\n";
    return 2;
  }

  int status = 0;
  uint64_t files = 0, bytes = 0;
  std::chrono::steady_clock::duration spent{};
  std::string data;
  for (const auto& name : names) {
    if (auto why = read_whole_file(name, data); !why.empty()) {
      std::cout << name << ": ERROR: cannot read: " << why << std::endl;
      status = std::max(status, 2);
      continue;
    }
    auto start = std::chrono::steady_clock::now();
    auto r = (*av)->scan(data);
    spent += std::chrono::steady_clock::now() - start;
    ++files;
    bytes += data.size();
    if (r.is_virus()) {
      std::cout << name << ": " << r.virus << " FOUND" << std::endl;
      status = status == 2 ? 2 : 1;
    } else if (r.is_error()) {
      std::cout << name << ": ERROR: " << r.error << std::endl;
      status = 2;
    } else {
      std::cout << name << ": OK" << std::endl;
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
