// SMTP reply formatting (RFC 5321 4.2, RFC 2034 enhanced status codes).
//
// Contract: returns complete reply text, every line CRLF-terminated, ready to
// write. `text` may hold several lines separated by '\n' (a final '\n' is
// ignored): all but the last get "<code>-", the last "<code> ". A non-empty
// `enhanced` code ("2.1.0") is repeated on every line. CR and other control
// octets in `text` are replaced by '?' so a reply can never inject a line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nougat::smtpd {

std::string format_reply(int code, std::string_view enhanced, std::string_view text);

// "250-<hostname> <greeting_name>" then one line per keyword
// ("250-PIPELINING" ... "250 SMTPUTF8"). greeting_name is free text for the
// rest of the first line (e.g. "Hello client.test [192.0.2.1]"); when empty
// the first line is just the hostname. '\n' in either name becomes '?'.
std::string ehlo_reply(std::string_view hostname, std::string_view greeting_name,
                       const std::vector<std::string>& keywords);

}  // namespace nougat::smtpd
