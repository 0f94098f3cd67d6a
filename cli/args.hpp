// Args: the small command-line parser every `nougat` subcommand uses.
// Flags are `--name VALUE`, `--name=VALUE` or bare switches; everything else
// is positional. Also turns the common flags (--data, --config, --set) and
// NOUGAT_DATA into engine::ConfigSources, so every subcommand finds the same
// data directory and configuration the same way.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/result.hpp"

namespace nougat::cli {

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> values;  // flag -> values in order
  std::set<std::string> switches;

  bool has(const std::string& sw) const { return switches.count(sw) > 0; }
  std::string value(const std::string& flag, const std::string& dflt = "") const;
};

// value_flags / switch_flags list the accepted names without the leading "--".
// The common flags data, config and set are always accepted.
Result<Args> parse_args(int argc, char** argv, int first, const std::set<std::string>& value_flags,
                        const std::set<std::string>& switch_flags);

engine::ConfigSources config_sources(const Args& args);

// Loads the configuration for a subcommand; prints the error and returns
// nullptr on failure.
engine::ConfigPtr load_config_or_report(const Args& args);

}  // namespace nougat::cli
