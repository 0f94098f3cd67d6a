// The syntax tree of an Exim filter, as the parser builds it: raw argument
// strings (after quote processing, before expansion), conditions as trees.
//
// Promise: a tree that parsed is well formed (every if has its branches, every
// binary condition both operands); program.cpp compiles it into the compact
// Program the interpreter runs. Nothing here is expanded or evaluated.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nougat::filterlang {

enum class CondKind : uint8_t {
  kAnd, kOr, kPersonal, kBegins, kBEGINS, kEnds, kENDS, kIs, kIS, kMatches, kMATCHES,
  kContains, kCONTAINS, kDelivered, kAbove, kBelow, kErrorMessage, kFirstDelivery,
  kManuallyThawed, kForAnyAddress,
};

struct CondNode {
  CondKind kind = CondKind::kIs;
  bool testfor = true;               // false: negated ("not", "does not", "is not")
  std::string left, right;           // operands (foranyaddress: left = the list)
  std::vector<std::string> aliases;  // personal
  std::unique_ptr<CondNode> a, b;    // and/or operands; foranyaddress: a = inner
};

enum class CmdKind : uint8_t {
  kAdd, kDefer, kDeliver, kFinish, kFail, kFreeze, kHeaders, kIf, kLogfile, kLogwrite,
  kMail, kPipe, kSave, kTestprint, kVacation,
};

enum class HeadersOp : uint8_t { kAdd, kRemove, kCharset };

// Mail/vacation string options, in Exim's fixed order (report order too).
enum MailArg : uint8_t {
  kMailTo, kMailCc, kMailBcc, kMailFrom, kMailReplyTo, kMailSubject, kMailHeaders, kMailText,
  kMailFile, kMailLog, kMailOnce, kMailOnceRepeat, kMailArgCount,
};
inline constexpr std::array<const char*, kMailArgCount> kMailArgNames = {
    "to", "cc", "bcc", "from", "reply_to", "subject", "extra_headers", "text",
    "file", "log", "once", "once_repeat"};

struct Command;
using Block = std::vector<Command>;

struct IfArm {
  std::unique_ptr<CondNode> cond;
  std::string cond_text;  // the condition as written, for --trace
  Block body;
};

struct Command {
  CmdKind kind = CmdKind::kFinish;
  int line = 0;  // line where the command word was read
  bool seen = false, noerror = false;
  std::string arg;                 // deliver/save/pipe/logfile/logwrite/testprint/headers/add value, fail text
  std::optional<std::string> arg2; // deliver errors_to, add variable
  bool has_text = false;           // fail/freeze/defer: a text was given
  int mode = -1;                   // save/logfile octal mode, -1 if none
  HeadersOp headers_op = HeadersOp::kCharset;
  std::array<std::optional<std::string>, kMailArgCount> mail;  // mail/vacation
  bool mail_expand_file = false, mail_return = false;
  std::vector<IfArm> arms;         // if/elif arms
  std::optional<Block> else_body;
};

struct Ast {
  Block commands;
};

}  // namespace nougat::filterlang
