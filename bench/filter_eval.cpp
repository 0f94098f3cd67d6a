// bench/filter_eval: in-process Exim filter evaluation rate, driven by
// bench/filter-eval. Compiles FILTER once (filterlang::compile_filter), reads
// every message named in LIST into memory, then times, best of --repeat:
//   full     per message: engine::FilterMessage (header parse, exim -bf
//            fix-ups) + filterlang::run_filter
//   run-only run_filter alone over FilterMessages built beforehand
// Envelope as `nougat filter test ... --sender a@b.test --local-part alice
// --domain example.org --home /home/alice`. The message is cut at a lone "."
// line first, as `filter test` (and exim -bf) read it.
//
// Usage: filter_eval FILTER LIST [--repeat N]
// Output: key=value lines (parsed by the script), one per fact.
// Exit: 0 ok, 1 the filter failed to compile or a file could not be read, 2 usage.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/filter_message.hpp"
#include "filterlang/interpreter.hpp"
#include "filterlang/program.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using nougat::engine::FilterEnvelope;
using nougat::engine::FilterMessage;
namespace fl = nougat::filterlang;

bool slurp(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

// What exim -bf (and `nougat filter test`) read: up to a line holding a single ".".
std::string cut_at_dot(std::string_view all) {
  if (all.substr(0, 2) == ".\n" || all == ".") return {};
  size_t dot = all.find("\n.\n");
  if (dot != std::string_view::npos) return std::string(all.substr(0, dot + 1));
  if (all.size() >= 2 && all.substr(all.size() - 2) == "\n.") all.remove_suffix(1);
  return std::string(all);
}

FilterEnvelope envelope() {
  FilterEnvelope env;
  env.sender = "a@b.test";
  env.local_part = "alice";
  env.domain = "example.org";
  env.home = "/home/alice";
  env.login = "alice";
  env.qualify_domain = "example.org";
  return env;
}

// Keeps the optimizer from discarding results.
volatile size_t g_sink = 0;

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: filter_eval FILTER LIST [--repeat N]\n";
    return 2;
  }
  std::string filter_path = argv[1], list_path = argv[2];
  int repeat = 3;
  for (int i = 3; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--repeat" && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
    else {
      std::cerr << "usage: filter_eval FILTER LIST [--repeat N]\n";
      return 2;
    }
  }

  std::string source;
  if (!slurp(filter_path, source)) {
    std::cerr << "filter_eval: cannot read " << filter_path << "\n";
    return 1;
  }
  auto t0 = Clock::now();
  auto compiled = fl::compile_filter(source);
  double compile_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  if (!compiled.program) {
    std::cerr << "filter_eval: " << filter_path << ": " << compiled.error << "\n";
    return 1;
  }
  const fl::Program& prog = *compiled.program;

  std::vector<std::string> msgs;
  {
    std::ifstream list(list_path);
    std::string path, data;
    while (std::getline(list, path)) {
      if (path.empty()) continue;
      if (!slurp(path, data)) {
        std::cerr << "filter_eval: cannot read " << path << "\n";
        return 1;
      }
      msgs.push_back(cut_at_dot(data));
    }
  }
  if (msgs.empty()) {
    std::cerr << "filter_eval: no messages in " << list_path << "\n";
    return 1;
  }
  size_t bytes = 0;
  for (const auto& m : msgs) bytes += m.size();
  const FilterEnvelope env = envelope();

  // One untimed pass: outcome counts (and a warm cache).
  std::map<std::string, size_t> outcomes;
  size_t actions = 0;
  for (const auto& m : msgs) {
    FilterMessage fm(m, env);
    auto r = fl::run_filter(prog, fm);
    actions += r.actions.size();
    static const char* names[] = {"delivered", "not_delivered", "defer", "fail", "freeze", "error"};
    ++outcomes[names[static_cast<int>(r.outcome)]];
  }

  double best_full = 1e300, best_run = 1e300;
  for (int rep = 0; rep < repeat; ++rep) {
    auto s = Clock::now();
    for (const auto& m : msgs) {
      FilterMessage fm(m, env);
      auto r = fl::run_filter(prog, fm);
      g_sink = g_sink + r.actions.size();
    }
    best_full = std::min(best_full, std::chrono::duration<double>(Clock::now() - s).count());
  }
  {
    std::vector<std::unique_ptr<FilterMessage>> parsed;
    parsed.reserve(msgs.size());
    for (const auto& m : msgs) parsed.push_back(std::make_unique<FilterMessage>(m, env));
    for (int rep = 0; rep < repeat; ++rep) {
      auto s = Clock::now();
      for (const auto& fm : parsed) {
        auto r = fl::run_filter(prog, *fm);
        g_sink = g_sink + r.actions.size();
      }
      best_run = std::min(best_run, std::chrono::duration<double>(Clock::now() - s).count());
    }
  }

  const double n = static_cast<double>(msgs.size());
  std::printf("messages=%zu\nbytes=%zu\nrepeat=%d\ncompile_us=%.1f\n", msgs.size(), bytes, repeat, compile_us);
  std::printf("full_s=%.6f\nfull_per_s=%.0f\nfull_us=%.3f\n", best_full, n / best_full, best_full / n * 1e6);
  std::printf("run_s=%.6f\nrun_per_s=%.0f\nrun_us=%.3f\n", best_run, n / best_run, best_run / n * 1e6);
  std::printf("actions=%zu\n", actions);
  for (const auto& [k, v] : outcomes) std::printf("outcome_%s=%zu\n", k.c_str(), v);
  return 0;
}
