#include "cli/args.hpp"

#include <cstdlib>
#include <iostream>

namespace nougat::cli {

std::string Args::value(const std::string& flag, const std::string& dflt) const {
  auto it = values.find(flag);
  return it == values.end() || it->second.empty() ? dflt : it->second.back();
}

Result<Args> parse_args(int argc, char** argv, int first, const std::set<std::string>& value_flags,
                        const std::set<std::string>& switch_flags) {
  Args a;
  auto takes_value = [&](const std::string& n) {
    return value_flags.count(n) || n == "data" || n == "config" || n == "set";
  };
  bool only_positional = false;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (only_positional || s.size() < 3 || s.compare(0, 2, "--") != 0) {
      if (s == "--") {
        only_positional = true;
        continue;
      }
      a.positional.push_back(s);
      continue;
    }
    std::string name = s.substr(2), val;
    auto eq = name.find('=');
    bool inline_val = eq != std::string::npos;
    if (inline_val) {
      val = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (takes_value(name)) {
      if (!inline_val) {
        if (i + 1 >= argc) return make_error("--" + name + " needs a value");
        val = argv[++i];
      }
      a.values[name].push_back(val);
    } else if (switch_flags.count(name) && !inline_val) {
      a.switches.insert(name);
    } else {
      return make_error("unknown option --" + name);
    }
  }
  return a;
}

engine::ConfigSources config_sources(const Args& args) {
  engine::ConfigSources src;
  if (auto c = args.value("config"); !c.empty()) {
    src.file = c;
    src.file_required = true;
  }
  if (auto d = args.value("data"); !d.empty()) {
    src.data_dir = d;
  } else if (const char* env = std::getenv("NOUGAT_DATA"); env && *env) {
    src.data_dir = env;
  }
  if (auto it = args.values.find("set"); it != args.values.end()) src.overrides = it->second;
  return src;
}

engine::ConfigPtr load_config_or_report(const Args& args) {
  auto cfg = engine::load_config(config_sources(args));
  if (!cfg) {
    std::cerr << "nougat: " << cfg.error().text << "\n";
    return nullptr;
  }
  return *cfg;
}

}  // namespace nougat::cli
