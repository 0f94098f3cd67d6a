// Internationalised names: ${utf8_domain_to_alabel:}, ${utf8_domain_from_alabel:},
// ${utf8_localpart_to_alabel:} and ${utf8_localpart_from_alabel:}, as Exim
// 4.96 built with SUPPORT_I18N_2008: domains to A-labels through libidn2
// (UTS #46 mapping, IDNA2008), everything else RFC 3492 Punycode with
// libidn's lenient decoder; texts verified with exim -bf.
#include <idn2.h>

#include <cstdlib>

#include "filterlang/expand.hpp"
#include "filterlang/expand_ast.hpp"

namespace nougat::filterlang::detail {

namespace {

// RFC 3492's parameters.
constexpr uint32_t kBase = 36, kTMin = 1, kTMax = 26, kSkew = 38, kDamp = 700, kInitialBias = 72,
                   kInitialN = 0x80;
constexpr size_t kMaxCodePoints =
    1024;  // as Exim's buffers: longer is "String size limit exceeded"

uint32_t adapt(uint32_t delta, uint32_t points, bool first) {
  delta = first ? delta / kDamp : delta / 2;
  delta += delta / points;
  uint32_t k = 0;
  for (; delta > ((kBase - kTMin) * kTMax) / 2; k += kBase) delta /= kBase - kTMin;
  return k + (kBase - kTMin + 1) * delta / (delta + kSkew);
}

char encode_digit(uint32_t d) { return static_cast<char>(d < 26 ? 'a' + d : '0' + d - 26); }

// libidn's decode_digit(): on a signed int, so '!'..'/' count as digits too.
uint32_t decode_digit(int c) {
  return static_cast<uint32_t>(c - 48 < 10   ? c - 22
                               : c - 65 < 26 ? c - 65
                               : c - 97 < 26 ? c - 97
                                             : static_cast<int>(kBase));
}

std::optional<std::string> punycode_encode(const std::vector<uint32_t>& in) {
  std::string out;
  for (uint32_t c : in)
    if (c < 0x80) out += static_cast<char>(c);
  const size_t basic = out.size();
  size_t handled = basic;
  if (basic > 0) out += '-';
  uint32_t n = kInitialN, delta = 0, bias = kInitialBias;
  while (handled < in.size()) {
    uint32_t m = UINT32_MAX;
    for (uint32_t c : in)
      if (c >= n && c < m) m = c;
    if (m - n > (UINT32_MAX - delta) / (handled + 1)) return std::nullopt;
    delta += (m - n) * static_cast<uint32_t>(handled + 1);
    n = m;
    for (uint32_t c : in) {
      if (c < n && ++delta == 0) return std::nullopt;
      if (c != n) continue;
      uint32_t q = delta;
      for (uint32_t k = kBase;; k += kBase) {
        const uint32_t t = k <= bias ? kTMin : k >= bias + kTMax ? kTMax : k - bias;
        if (q < t) break;
        out += encode_digit(t + (q - t) % (kBase - t));
        q = (q - t) / (kBase - t);
      }
      out += encode_digit(q);
      bias = adapt(delta, static_cast<uint32_t>(handled + 1), handled == basic);
      delta = 0;
      ++handled;
    }
    ++delta;
    ++n;
  }
  return out;
}

// Errors as libidn's punycode_strerror() words them.
Result<std::vector<uint32_t>> punycode_decode(std::string_view in) {
  std::vector<uint32_t> out;
  size_t b = in.rfind('-');
  if (b == std::string_view::npos) b = 0;
  for (size_t j = 0; j < b; ++j) {
    if (static_cast<unsigned char>(in[j]) >= 0x80) return fail("Invalid input");
    out.push_back(static_cast<unsigned char>(in[j]));
  }
  uint32_t n = kInitialN, i = 0, bias = kInitialBias;
  for (size_t in_pos = b > 0 ? b + 1 : 0; in_pos < in.size();) {
    const uint32_t old_i = i;
    uint32_t w = 1;
    for (uint32_t k = kBase;; k += kBase) {
      if (in_pos >= in.size()) return fail("Invalid input");
      const uint32_t digit = decode_digit(static_cast<unsigned char>(in[in_pos++]));
      if (digit >= kBase) return fail("Invalid input");
      if (digit > (UINT32_MAX - i) / w) return fail("String size limit exceeded");
      i += digit * w;
      const uint32_t t = k <= bias ? kTMin : k >= bias + kTMax ? kTMax : k - bias;
      if (digit < t) break;
      if (w > UINT32_MAX / (kBase - t)) return fail("String size limit exceeded");
      w *= kBase - t;
    }
    const uint32_t len = static_cast<uint32_t>(out.size() + 1);
    bias = adapt(i - old_i, len, old_i == 0);
    if (i / len > UINT32_MAX - n) return fail("String size limit exceeded");
    n += i / len;
    i %= len;
    if (out.size() >= kMaxCodePoints) return fail("Output would exceed the buffer space provided");
    out.insert(out.begin() + i, n);
    ++i;
  }
  return out;
}

std::optional<std::vector<uint32_t>> utf8_code_points(std::string_view s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80         ? 1
                       : (c >> 5) == 6  ? 2
                       : (c >> 4) == 14 ? 3
                       : (c >> 3) == 30 ? 4
                                        : 0;
    if (len == 0 || i + len > s.size()) return std::nullopt;
    uint32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (cc & 0x3f);
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string utf8_text(const std::vector<uint32_t>& cps) {
  std::string out;
  for (uint32_t c : cps) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xc0 | (c >> 6)), out += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xe0 | (c >> 12)),
          out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | ((c >> 18) & 0x07)),
          out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3f)),
          out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

bool ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

Error to_alabel_error(std::string_view s, std::string_view why) {
  return fail("error converting utf8 (" + printing(s) + ") to alabel: " + std::string(why));
}

Error to_utf8_error(std::string_view s, std::string_view why) {
  return fail("error converting alabel (" + printing(s) + ") to utf8: " + std::string(why));
}

}  // namespace

std::optional<Result<std::string>> idn_operator(const std::string& op, const std::string& arg) {
  using R = Result<std::string>;
  if (op == "utf8_domain_to_alabel") {
    if (ascii(arg)) return R(arg);
    std::string lower = arg;
    for (char& c : lower)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    uint8_t* out = nullptr;
    const int rc =
        idn2_lookup_u8(reinterpret_cast<const uint8_t*>(lower.c_str()), &out, IDN2_NFC_INPUT);
    if (rc != IDN2_OK) return R(to_alabel_error(arg, idn2_strerror(rc)));
    std::string result(reinterpret_cast<char*>(out));
    idn2_free(out);
    return R(result);
  }
  if (op == "utf8_domain_from_alabel") {
    // Each "xn--" label decoded; the labels read and joined as an Exim list with '.' for separator.
    std::string out;
    for (const std::string& label : split_list("<." + arg)) {
      std::string text = label;
      if (label.starts_with("xn--")) {
        auto cps = punycode_decode(std::string_view(label).substr(4));
        if (!cps) return R(to_utf8_error(arg, cps.error().text));
        text = utf8_text(*cps);
      }
      if (out.empty() && text.empty()) continue;  // Exim's string_append_listele() on an empty list
      if (!out.empty()) out += '.';
      for (char c : text) {
        out += c;
        if (c == '.') out += '.';
      }
    }
    return R(out);
  }
  if (op == "utf8_localpart_to_alabel") {
    if (ascii(arg)) return R(arg);
    auto cps = utf8_code_points(arg);
    if (!cps) return R(to_alabel_error(arg, "l_u2a: bad UTF-8 input"));
    auto encoded = punycode_encode(*cps);
    if (!encoded) return R(to_alabel_error(arg, "String size limit exceeded"));
    return R("xn--" + *encoded);
  }
  if (op == "utf8_localpart_from_alabel") {
    if (!arg.starts_with("xn--")) return R(to_utf8_error(arg, "bad alabel prefix"));
    auto cps = punycode_decode(std::string_view(arg).substr(4));
    if (!cps) return R(to_utf8_error(arg, cps.error().text));
    return R(utf8_text(*cps));
  }
  return std::nullopt;
}

}  // namespace nougat::filterlang::detail
