// RFC 2047 encoded-word decoding ("=?charset?B|Q?text?=") to UTF-8, for
// header values and (non-standard but common) quoted parameter values.
//
// Contract: never throws; returns valid UTF-8; linear time.
//  - Whitespace between two adjacent encoded words is dropped (RFC 2047 §6.2);
//    adjacent words in the same charset are joined before conversion, so a
//    multi-byte character split across words survives.
//  - Words are recognised even when not delimited by whitespace (as Python's
//    email package and most MUAs do); a malformed word is kept literally.
//  - Text outside encoded words goes through to_utf8(text, "") (valid UTF-8
//    passes, 8-bit junk is read as windows-1252).
//  - The input should be unfolded already (see HeaderField::unfolded()).
#pragma once

#include <string>
#include <string_view>

namespace nougat::engine {

std::string decode_rfc2047(std::string_view value);

}  // namespace nougat::engine
