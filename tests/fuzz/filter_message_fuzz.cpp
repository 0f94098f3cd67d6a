// Fuzz target for the message as the Exim filter language sees it
// (engine/filter_message): any bytes as a message — mbox From_ line,
// Return-path fields, CR handling, header folding, the blank line or its
// absence — then every message variable, and a fixed filter that expands
// header fields ($h_, $rh_, $bh_ with RFC 2047 words) and tests them, as a
// user's .forward would at delivery.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/filter_message.hpp"
#include "filterlang/interpreter.hpp"
#include "filterlang/program.hpp"
#include "filterlang/report.hpp"

namespace {

constexpr std::string_view kVariables[] = {
    "sender_address", "sender_address_domain", "sender_address_local_part", "return_path",
    "reply_address", "message_size", "message_body_size", "message_body", "message_body_end",
    "body_linecount", "body_zerocount", "message_headers", "message_headers_raw",
    "message_linecount", "max_received_linelength", "received_count", "message_id",
    "original_local_part", "parent_domain", "spam_score"};

const nougat::filterlang::Program& fixed_filter() {
  static const auto compiled = [] {
    nougat::filterlang::ParseOptions o;
    return nougat::filterlang::compile_filter(
        "# Exim filter\n"
        "if $h_subject: contains \"x\" or $rh_from: matches \"^(.*)<\" or\n"
        "   $bh_to: is \"\" or $header_reply-to: begins \"a\" or\n"
        "   \"${lc:$h_received:}\" ends \"z\" or $message_headers contains \"=?\" or\n"
        "   $h_x-nothing: is \"\" or foranyaddress $h_to:,$h_cc: ($thisaddress is $local_part@$domain)\n"
        "then\n"
        "  logwrite \"$h_subject: $message_body_end $return_path $reply_address\"\n"
        "  save $home/Mail/${length_10:$h_from:}\n"
        "endif\n"
        "if error_message or personal or $message_body matches \"\\\\d+\" then seen finish endif\n",
        o);
  }();
  return *compiled.program;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nougat;
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  engine::FilterEnvelope env;
  env.local_part = "me";
  env.domain = "here.example";
  env.home = "/home/me";
  env.qualify_domain = "here.example";
  env.login = "me";
  env.origin.id = "1a2b3c-000001-AB";
  env.origin.received_at = 1'700'000'000;
  // Half the inputs with a fixed sender, half with the From_ line's.
  if (size % 2) env.sender = "s@x.example";
  engine::FilterMessage msg(raw, env);
  for (auto name : kVariables) (void)msg.variable(name);
  filterlang::RunOptions ro;
  ro.max_actions = 100;
  auto r = filterlang::run_filter(fixed_filter(), msg, ro);
  int status = 0;
  (void)filterlang::report_run(r, status);
  return 0;
}
