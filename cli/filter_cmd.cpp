// `nougat filter test FILTER [options] < message`: runs a .forward file (an
// Exim filter or a plain address list) against a message and prints exactly
// what `exim -bf` prints, with the same exit status. --trace (ours) writes
// each `if` condition, its expanded operands and its result to stderr.
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "cli/commands.hpp"
#include "engine/filter_message.hpp"
#include "filterlang/forward.hpp"
#include "filterlang/parser.hpp"
#include "filterlang/program.hpp"
#include "filterlang/report.hpp"

namespace nougat::cli {
namespace {

constexpr std::string_view kFilterUsage =
    "usage: nougat filter test FILTER [--sender ADDR] [--local-part L] [--domain D] [--home DIR]\n"
    "                         [--local-part-prefix P] [--local-part-suffix S] [--system] [--trace] < message\n";

struct TestOptions {
  std::string file;
  std::optional<std::string> sender, local_part, domain, home, prefix, suffix;
  bool system = false, trace = false;
};

bool parse(int argc, char** argv, int first, TestOptions& o) {
  for (int i = first; i < argc; ++i) {
    std::string_view a = argv[i];
    auto take = [&](std::optional<std::string>& slot) {
      if (i + 1 >= argc) return false;
      slot = argv[++i];
      return true;
    };
    bool ok = true;
    if (a == "--sender") ok = take(o.sender);
    else if (a == "--local-part") ok = take(o.local_part);
    else if (a == "--domain") ok = take(o.domain);
    else if (a == "--home") ok = take(o.home);
    else if (a == "--local-part-prefix") ok = take(o.prefix);
    else if (a == "--local-part-suffix") ok = take(o.suffix);
    else if (a == "--system") o.system = true;
    else if (a == "--trace") o.trace = true;
    else if (a.starts_with("--") || !o.file.empty()) ok = false;
    else o.file = a;
    if (!ok) return false;
  }
  return !o.file.empty();
}

// The message as exim -bf reads it: up to a line holding a single ".".
// All of standard input: where a line "." ends the message is Exim's
// reading of it (engine::FilterMessage), which depends on the header.
std::string read_message(std::istream& in) {
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int run_test(const TestOptions& o) {
  std::ifstream f(o.file, std::ios::binary);
  if (!f) {
    std::cerr << "nougat: failed to open " << o.file << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  std::string source((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string raw = read_message(std::cin);

  const passwd* pw = getpwuid(getuid());
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  engine::FilterEnvelope env;
  env.login = pw ? pw->pw_name : "nobody";
  if (pw && pw->pw_gecos) {  // the passwd name, as Exim takes it: up to a comma, '&' the login
    std::string g = pw->pw_gecos;
    g = g.substr(0, g.find(','));
    for (size_t at; (at = g.find('&')) != std::string::npos;) {
      std::string l = env.login;
      if (!l.empty()) l[0] = char(std::toupper(static_cast<unsigned char>(l[0])));
      g.replace(at, 1, l);
    }
    env.login_name = g;
  }
  env.qualify_domain = host;
  env.local_part = o.local_part.value_or(env.login);
  env.domain = o.domain.value_or(env.qualify_domain);
  env.home = o.home.value_or(pw ? pw->pw_dir : "");
  env.prefix = o.prefix;
  env.suffix = o.suffix;
  env.sender = o.sender;
  const std::string recipient = o.prefix.value_or("") + env.local_part + o.suffix.value_or("") + "@" + env.domain;
  if (o.system) env.recipients = recipient;  // $recipients: a system filter's, as exim -bf sets it
  engine::FilterMessage msg(raw, env);

  filterlang::ReportEnvelope rep;
  rep.no_headers = msg.no_headers();
  rep.sender_from_lines = msg.sender_from_lines();
  rep.return_path_headers = msg.return_path_headers();
  rep.return_path = msg.return_path_header();
  rep.sender = msg.sender();
  rep.recipient = recipient;
  rep.prefix = o.prefix;
  rep.suffix = o.suffix;
  rep.filename = o.file;
  rep.exim_filter = o.system || filterlang::is_exim_filter(source);  // a system filter is one, as in Exim

  std::string out = filterlang::report_envelope(rep);
  int status = 0;
  if (!rep.exim_filter) {
    auto list = filterlang::parse_forward_list(source, env.domain, env.qualify_domain);  // as exim -bf qualifies
    status = filterlang::forward_report(list, out);
  } else {
    filterlang::ParseOptions popts;
    popts.system_filter = o.system;
    auto compiled = filterlang::compile_filter(source, popts);
    if (!compiled.program) {
      out += "Filter error: " + compiled.error + "\n";
      status = 1;
    } else {
      filterlang::RunOptions ropts;
      ropts.trace = o.trace;
      ropts.captures = msg.from_line_captures();
      ropts.apply_headers = o.system;  // exim -bF: later $h_ see `headers add|remove` (checked against the oracle)
      auto result = filterlang::run_filter(*compiled.program, msg, ropts);
      out += filterlang::report_run(result, status);
      for (const auto& t : result.trace) std::cerr << t << "\n";
    }
  }
  std::cout << out << std::flush;
  return status;
}

}  // namespace

int cmd_filter(int argc, char** argv, int first) {
  if (first >= argc || std::string_view(argv[first]) != "test") {
    std::cerr << kFilterUsage;
    return 2;
  }
  TestOptions o;
  if (!parse(argc, argv, first + 1, o)) {
    std::cerr << kFilterUsage;
    return 2;
  }
  return run_test(o);
}

}  // namespace nougat::cli
