// The `exim -bf` style test report: the envelope block, one line per action
// in execution order, and the closing lines. Byte-identical to Exim 4.96's
// stdout for the same filter, message and options.
// Pure formatting; the caller writes the text.
#pragma once

#include <optional>
#include <string>

#include "filterlang/interpreter.hpp"

namespace nougat::filterlang {

struct ReportEnvelope {
  bool no_headers = false;                 // "Warning: no message headers read"
  int sender_from_lines = 0;               // the sender came from this many mbox "From " lines
  int return_path_headers = 0;             // Return-path: header lines seen
  std::optional<std::string> return_path;  // from the last Return-path: header
  std::string sender;                      // envelope sender ("" = <>)
  std::string recipient;                   // prefix + local part + suffix @ domain
  std::optional<std::string> prefix, suffix;
  std::string filename;                    // as given on the command line
  bool exim_filter = true;                 // false: a plain forward list
};

std::string report_envelope(const ReportEnvelope& env);
std::string report_action(const Action& a);
// Action lines and the final line(s); `exit_status` gets 0 or 1.
std::string report_run(const RunResult& r, int& exit_status);

}  // namespace nougat::filterlang
