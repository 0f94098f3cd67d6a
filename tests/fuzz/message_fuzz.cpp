// Fuzz target for the message model: parse, then walk every part and decode
// everything that can be decoded on demand (headers, params, bodies, text).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nougat::engine;
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  Message m = Message::parse(raw);
  size_t sink = m.envelope_from().size();
  for (const auto& f : m.headers()) sink += f.decoded().size();
  (void)m.all("received");
  (void)m.header_text("subject");
  for_each_part(m.root(), [&](const MimePart& p) {
    for (const auto& f : p.headers) sink += f.unfolded().size();
    sink += p.content_type().size() + p.charset().size() + p.filename().size();
    sink += p.preamble.size() + p.epilogue.size();
    std::string text = p.text();
    if (!is_valid_utf8(text)) __builtin_trap();
    std::string d = p.decoded();
    if (d.size() > p.body.size()) __builtin_trap();
    sink += text.size();
    // The model is views into the input.
    if (!p.body.empty() &&
        (p.body.data() < raw.data() || p.body.data() + p.body.size() > raw.data() + raw.size()))
      __builtin_trap();
  });
  // The standalone helpers on arbitrary bytes.
  if (!is_valid_utf8(decode_rfc2047(raw.substr(0, 4096)))) __builtin_trap();
  (void)decode_qp(raw.substr(0, 4096), true);
  (void)to_utf8(raw.substr(0, 256), raw.size() > 8 ? raw.substr(0, 8) : "iso-2022-jp");
  return sink == 0xdeadbeef ? 1 : 0;
}
