// ${imapfolder{name}{sep}{specials}}: a folder name as a Maildir folder's
// (RFC 3501 modified UTF-7, levels joined by '.'), as Exim 4.96's
// imap_utf7_encode(); texts verified with exim -bf.
#include <iconv.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang::detail {

namespace {

// The name as UTF-16 code units, from the headers charset.
Result<std::vector<uint16_t>> to_utf16(std::string_view s, const std::string& charset) {
  iconv_t cd = iconv_open("UTF-16BE", charset.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1))
    return fail("imapfolder: iconv_open(\"UTF-16BE\", \"" + charset +
                "\") failed: " + std::strerror(errno) + " (maybe unsupported conversion)");
  std::string in(s);
  char* ip = in.data();
  size_t il = in.size();
  std::string out;
  char buf[1024];
  int err = 0;
  while (il > 0) {  // a charset may make many UTF-16 units of one byte (TSCII: up to four)
    char* op = buf;
    size_t ol = sizeof buf;
    const size_t rc = iconv(cd, &ip, &il, &op, &ol);
    out.append(buf, static_cast<size_t>(op - buf));
    if (rc != static_cast<size_t>(-1)) break;
    if (errno != E2BIG) {
      err = errno;
      break;
    }
  }
  iconv_close(cd);
  if (err)
    return fail("imapfolder: iconv() failed to convert from " + charset + ": " +
                std::strerror(err));
  std::vector<uint16_t> units;
  for (size_t p = 0; p + 1 < out.size(); p += 2)
    units.push_back(static_cast<uint16_t>((static_cast<unsigned char>(out[p]) << 8) |
                                          static_cast<unsigned char>(out[p + 1])));
  return units;
}

}  // namespace

Result<std::string> imap_folder(std::string_view name, std::string_view sep_arg,
                                std::string_view specials, const std::string& charset) {
  if (sep_arg.size() != 1)
    return fail("IMAP folder separator must be one character, found \"" + std::string(sep_arg) +
                "\"");
  const char sep = sep_arg[0];
  if (!name.empty() && name[0] == sep) name.remove_prefix(1);
  auto special = [&](unsigned char c) {
    return c < 0x20 || c >= 0x7f || c == '.' || c == '/' || c == '&' || c == sep ||
           specials.find(static_cast<char>(c)) != std::string_view::npos;
  };
  if (std::none_of(name.begin(), name.end(),
                   [&](char c) { return special(static_cast<unsigned char>(c)); }))
    return std::string(name);
  auto units = to_utf16(name, charset);
  if (!units) return units.error();
  static constexpr char kModifiedBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
  std::string out;
  std::string run;  // the UTF-16BE bytes of a base64 run not yet written
  bool in_run = false;
  auto close_run = [&] {
    if (!in_run) return;
    out += base64_text(run, kModifiedBase64, false) + '-';  // RFC 3501's modified UTF-7: no padding
    run.clear();
    in_run = false;
  };
  bool after_sep = false;
  for (uint16_t u : *units) {
    const bool special_char = u <= 0xff && u != static_cast<unsigned char>(sep) &&
                              specials.find(static_cast<char>(u)) != std::string_view::npos;
    if (u > 0xff || u < 0x20 || u >= 0x7f || special_char) {
      if (!in_run) out += '&';
      in_run = true;
      run += static_cast<char>(u >> 8);
      run += static_cast<char>(u & 0xff);
      after_sep = false;
      continue;
    }
    close_run();
    if (u == static_cast<unsigned char>(sep)) {
      if (!after_sep) out += '.';
      after_sep = true;
      continue;
    }
    after_sep = false;
    if (u == '.' || u == '/')
      return fail(std::string("imapfolder: illegal character '") + static_cast<char>(u) + "'");
    out += static_cast<char>(u);
    if (u == '&') out += '-';
  }
  close_run();
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace nougat::filterlang::detail
