// Fuzzes the SMTP command-line parsers: the input is one command line.
// Beyond "no crash", it checks invariants: a parsed MAIL/RCPT address is
// canonical (parsing it again gives the same string) and errors always carry
// a reply starting with a 3-digit code.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtpd/address.hpp"
#include "smtpd/command.hpp"
#include "smtpd/sasl.hpp"

namespace {

using namespace nougat::smtpd;

void check(bool ok) {
  if (!ok) std::abort();
}

template <typename T>
void check_error(const nougat::Result<T>& r) {
  if (r.ok()) return;
  const std::string& t = r.error().text;
  check(t.size() >= 4 && t[0] >= '4' && t[0] <= '5' && t[3] == ' ');
}

void check_canonical(const std::string& address, bool utf8) {
  if (address.empty() || address == "postmaster") return;
  auto m = parse_mailbox(address, utf8);
  check(m.ok() && to_string(*m) == address);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  auto cmd = parse_command(in);
  check_error(cmd);
  std::string_view arg = cmd.ok() ? cmd->arg : in;

  for (std::string_view a : {arg, in}) {
    auto mail = parse_mail_from(a);
    check_error(mail);
    if (mail.ok()) check_canonical(mail->address, mail->smtputf8);
    for (bool utf8 : {false, true}) {
      auto rcpt = parse_rcpt_to(a, utf8);
      check_error(rcpt);
      if (rcpt.ok()) check_canonical(rcpt->address, utf8);
    }
    bool last = false;
    check_error(parse_bdat(a, last));
  }

  for (bool utf8 : {false, true}) {
    auto m = parse_mailbox(in, utf8);
    if (m.ok()) check_canonical(to_string(*m), utf8);
  }

  auto b = decode_base64(in);
  if (b.ok()) check(encode_base64(*b) == in);  // strict decoding is canonical
  (void)parse_plain(in);
  nougat::smtpd::LoginExchange lx;
  (void)lx.on_response(in);
  return 0;
}
