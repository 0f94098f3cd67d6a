// Content-Transfer-Encoding decoders (RFC 2045 §6.7, §6.8) and the RFC 2047
// "Q" variant. Pure functions over bytes; usable standalone (Bayes tokenizer,
// filter language).
//
// Contract: never throw on input, never read outside `in`, linear time, output
// is never longer than the input. Malformed input is decoded best-effort:
//  - base64: characters outside the alphabet (whitespace, garbage) are skipped;
//    decoding stops at the first completed padding ("xx==", "xxx="); a
//    truncated final group yields the bytes it fully encodes (a lone trailing
//    character is dropped).
//  - quoted-printable: "=XX" (either hex case) decodes, "=" + optional
//    spaces/tabs + line break is a soft break, any other "=" is kept literally.
#pragma once

#include <string>
#include <string_view>

namespace nougat::engine {

std::string decode_base64(std::string_view in);

// header_mode: RFC 2047 "Q" encoding, where '_' means a space.
std::string decode_qp(std::string_view in, bool header_mode = false);

}  // namespace nougat::engine
