// nougat: one binary, several subcommands (serve, config, user, queue, …).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string_view>

#include "cli/commands.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: nougat COMMAND [ARGS]\n"
    "\n"
    "  serve [--data DIR] [--config FILE] [--set KEY=VALUE]...   run the mail server\n"
    "  config check [FILE] [--data DIR] [--set KEY=VALUE]...     print the effective configuration\n"
    "  user add ADDRESS [--password-stdin] [--home DIR]          add a mail user\n"
    "  user passwd ADDRESS [--password-stdin]                    change a password\n"
    "  user del ADDRESS                                          remove a user\n"
    "  user list                                                 list users\n"
    "  filter test FILE [--sender A] [--local-part L] [--domain D] [--home H] [--trace] < MSG   test a .forward file\n"
    "  bayes train [--user A] (--spam|--ham) [--unlearn] PATH... train the spam classifier\n"
    "  bayes classify [--user A] [--tsv] PATH...                 classify messages\n"
    "  bayes stats [--user A] | bayes eval --spam DIR... --ham DIR... [--folds K]\n"
    "  scan [--database PATH]... [--file-list F] [--stats] FILE...   scan files for viruses (like clamscan)\n"
    "  queue list [--count]                                      list queued and held messages (like exim -bp)\n"
    "  queue show ID [--headers|--body]                          print a queued message's envelope and data\n"
    "  queue release ID                                          deliver a held (frozen, quarantined) message\n"
    "  queue delete ID [--force]                                 remove a held message (--force: any message)\n"
    "  version                                                   print the version\n"
    "\n"
    "The data directory is --data DIR, else $NOUGAT_DATA, else ./var.\n";

constexpr int kUnknown = -1;

int run(std::string_view cmd, int argc, char** argv) {
  if (cmd == "serve") return nougat::cli::cmd_serve(argc, argv, 2);
  if (cmd == "config") return nougat::cli::cmd_config(argc, argv, 2);
  if (cmd == "user") return nougat::cli::cmd_user(argc, argv, 2);
  if (cmd == "bayes") return nougat::cli::cmd_bayes(argc, argv, 2);
  if (cmd == "filter") return nougat::cli::cmd_filter(argc, argv, 2);
  if (cmd == "scan") return nougat::cli::cmd_scan(argc, argv, 2);
  if (cmd == "queue") return nougat::cli::cmd_queue(argc, argv, 2);
  if (cmd == "version" || cmd == "--version") {
    std::cout << "nougat 0.1.0\n";
    return 0;
  }
  return kUnknown;
}

// Output that could not be written (a full disk, a closed pipe's reader
// gone) is a failure: a script must not take a cut-off TSV for the whole.
int checked_output(int rc) {
  std::cout.flush();
  if (std::fflush(stdout) == 0 && !std::ferror(stdout) && std::cout.good()) return rc;
  int err = errno;
  std::cerr << "nougat: cannot write to standard output: " << std::strerror(err ? err : EIO) << "\n";
  return rc ? rc : 1;
}

int dispatch(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "help")) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  std::string_view cmd = argv[1];
  // `nougat CMD --help` (or -h) anywhere after the command: that command's
  // lines of the usage, on stdout, exit 0 (user, queue and bayes say more).
  if (cmd != "user" && cmd != "queue" && cmd != "bayes")
    for (int i = 2; i < argc && std::strcmp(argv[i], "--"); ++i)  // not past "--"
      if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
        std::string_view rest = kUsage;
        bool any = false;
        while (!rest.empty()) {
          std::string_view line = rest.substr(0, rest.find('\n') + 1);
          rest.remove_prefix(line.size());
          if (line.starts_with("  ") && line.substr(2).starts_with(cmd) && line.size() > cmd.size() + 2 &&
              line[cmd.size() + 2] == ' ') {
            std::cout << (any ? "" : "usage:\n") << line;
            any = true;
          }
        }
        if (!any) break;  // an unknown command: said below
        std::cout << "\nThe data directory is --data DIR, else $NOUGAT_DATA, else ./var.\n";
        return 0;
      }
  if (int rc = run(cmd, argc, argv); rc != kUnknown) return rc;
  std::cerr << "nougat: unknown command '" << cmd << "'\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) { return checked_output(dispatch(argc, argv)); }
