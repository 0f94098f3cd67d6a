// Charset conversion to UTF-8 for message text (bodies, RFC 2047 words,
// RFC 2231 parameters). Usable standalone.
//
// Contract: to_utf8() never throws on input and always returns valid UTF-8.
//  - "utf-8" (and aliases): invalid sequences become U+FFFD.
//  - "", "us-ascii" and charsets neither we nor iconv know: the bytes pass
//    through if they are valid UTF-8, else they are read as windows-1252.
//  - "iso-8859-1"/"latin1" are read as windows-1252 (its superset, as every
//    browser does, since mailers label cp1252 text as latin1).
//  - anything else goes through glibc iconv; bytes iconv rejects become U+FFFD.
// Charset names are matched case-insensitively, surrounding quotes/space are
// ignored, and names with characters outside [A-Za-z0-9._:+-] are "unknown"
// (so "//TRANSLIT" and friends cannot be smuggled into iconv).
#pragma once

#include <string>
#include <string_view>

namespace nougat::engine {

std::string to_utf8(std::string_view bytes, std::string_view charset);

bool is_valid_utf8(std::string_view s);

// Length of the valid UTF-8 sequence at s[i], or 0 if there is none there
// (overlong forms, surrogates, values above U+10FFFF, a cut-off sequence).
size_t utf8_seq_len(std::string_view s, size_t i);

// The length of s cut to at most `max` bytes before a character rather than
// inside one (a cut through a UTF-8 sequence backs off to its first byte).
size_t utf8_cut_len(std::string_view s, size_t max);

// Lowercased, trimmed, unquoted charset name ("" if none).
std::string normalize_charset(std::string_view charset);

}  // namespace nougat::engine
