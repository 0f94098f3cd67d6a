// Fuzzes the configuration loader: any bytes as nougat.toml must give a
// config or a located error, never a crash; an accepted config must print
// (`config check`) to TOML that loads again to the same text.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nougat::engine;
  ConfigSources src;
  src.file = "fuzz.toml";
  src.data_dir = "/nonexistent-nougat-fuzz";
  src.text = std::string(reinterpret_cast<const char*>(data), size);
  auto c = load_config(src);
  if (!c) {
    if (c.error().text.empty()) std::abort();
    return 0;
  }
  std::string text = (*c)->to_toml();
  src.text = text;
  auto again = load_config(src);
  if (!again || (*again)->to_toml() != text) std::abort();
  return 0;
}
