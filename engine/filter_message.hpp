// The message as the Exim filter language sees it: an ExpandContext over the
// raw message bytes plus the filter-test envelope (sender, recipient, home).
//
// It reproduces what `exim -bf` does to a message before filtering:
// a leading mbox "From " line may give the sender; Return-path: headers are
// dropped (the last one gives $return_path); CR before LF is removed in the
// header block; From: (= the sender), Message-Id: and Date: are added when
// missing. $message_body/$message_body_end are the first/last 500 body bytes
// with newlines and NULs as spaces.
// Zero-copy where it matters: the body is a view into the caller's buffer,
// which must outlive this object. Never fails on input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "filterlang/expand.hpp"

namespace nougat::engine {

struct FilterEnvelope {
  std::optional<std::string> sender;  // --sender; nullopt: from the "From " line, else login@qualify
  std::string local_part, domain, home;
  std::optional<std::string> prefix, suffix;
  std::string qualify_domain;         // unqualified addresses get this domain
  std::string login;                  // caller's login name (default sender)
  std::string login_name;             // its passwd name ("root"): an added From: is "NAME <login@qualify>"
  // Content-scan results saved with the message (engine::Envelope::variables).
  // $spam_score, $spam_score_int, $spam_bar and $malware_name are always
  // defined, empty when the message was not scanned, as in Exim.
  std::vector<std::pair<std::string, std::string>> scan_variables;
  // System filter only: $recipients (comma-and-space separated); user
  // filters see it empty, as in Exim.
  std::optional<std::string> recipients;
  // Header fields added before the filter runs ("Name: value", e.g. the
  // scanners' X-Spam-*), seen by $h_ after the message's own.
  std::vector<std::string> extra_headers;
  std::vector<std::string> removed_headers;  // names of the message's fields not to be seen
  // Where the message came from, for Exim's message and connection
  // variables ($message_id — Exim's queue id, not the header —,
  // $received_protocol, $sender_host_address, …). The defaults are those of
  // `exim -bf`: a message submitted locally, now, with an id made up.
  struct Origin {
    std::string id;                  // queue id; "" = made up as Exim's -bf does
    int64_t received_at = 0;         // unix time; 0 = now
    std::string protocol = "local";  // $received_protocol, lowercase ("esmtps", "esmtpsa", …)
    std::string client_ip, helo, auth_user;
    size_t recipients = 1;           // $recipients_count
    bool adds_received = true;       // -bf counts the Received field Exim would add
    bool test = true;                // $sender_ident is the caller's login
    std::string hostname;            // $primary_hostname, $smtp_active_hostname; "" = qualify_domain
    // For an address a .forward generated: the address whose .forward did
    // ($parent_local_part, $parent_domain) and the envelope recipient it
    // started from ($original_local_part, $original_domain); "" otherwise.
    std::string parent, original;
  } origin;
};

struct Envelope;
// The origin of a spooled message (engine/spool.hpp), as its filters see it.
FilterEnvelope::Origin filter_origin(const Envelope& env, std::string_view id, std::string_view hostname);

class FilterMessage final : public filterlang::ExpandContext {
 public:
  // `raw`: the message as read (already cut at a lone "." line if the caller
  // wants that): CRLF as spooled when env.origin.test is false, else as
  // exim -bf reads a file. The message keeps its own copy.
  FilterMessage(std::string_view raw, FilterEnvelope env);
  FilterMessage(const FilterMessage&) = delete;  // body_ views text_
  FilterMessage& operator=(const FilterMessage&) = delete;

  std::optional<std::string> variable(std::string_view name) const override;
  std::vector<std::string> interface_addresses() const override;  // the host's, for "@[]" (getifaddrs)
  // Message data, and at delivery the envelope too (it came over SMTP);
  // in filter test the envelope is the caller's options, as with exim -bf.
  bool tainted(std::string_view name) const override;
  const std::vector<std::pair<std::string, std::string>>& headers() const override { return headers_; }

  // Facts for the test report's envelope block.
  bool no_headers() const { return no_headers_; }
  bool sender_from_line() const { return sender_from_line_; }
  int sender_from_lines() const { return from_lines_; }  // exim -bf says "Sender taken" for each
  // $0 and $1 as Exim's match of a "From " line leaves them (exim -bf
  // shows them until the filter's own first match).
  const std::vector<std::string>& from_line_captures() const { return from_line_captures_; }
  int return_path_headers() const { return return_path_headers_; }
  const std::optional<std::string>& return_path_header() const { return return_path_header_; }
  const std::string& sender() const { return sender_; }
  const FilterEnvelope& envelope() const { return env_; }

 private:

  FilterEnvelope env_;
  size_t read_lines_ = 0, read_longest_ = 0;  // exim -bf's header-mode reading (as_stored)
  bool empty_body_dot_ = false;  // a "." line ended the message where its body began
  std::string text_;  // the message as Exim would have stored it (LF line ends)
  std::string sender_;
  mutable std::string made_up_id_;  // made once, on first use
  size_t from_line_len_ = 0, header_longest_ = 0;
  std::vector<std::string> from_line_captures_;
  size_t first_body_line_ = 0;   // the length + 1 of the line that ended the header, when no blank line did
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string_view body_;
  size_t size_ = 0;
  bool no_headers_ = false, sender_from_line_ = false;
  int from_lines_ = 0;
  int return_path_headers_ = 0;
  std::optional<std::string> return_path_header_;
};

}  // namespace nougat::engine
