#include "filterlang/parser.hpp"

#include <array>
#include <cctype>
#include <cstdlib>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "filterlang/lexer.hpp"

namespace nougat::filterlang {
namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

enum class Word {
  kAdd, kDefer, kDeliver, kElif, kElse, kEndif, kFinish, kFail, kFreeze, kHeaders, kIf,
  kLogfile, kLogwrite, kMail, kNoerror, kPipe, kSave, kSeen, kTestprint, kUnseen, kVacation,
  kUnknown,
};

constexpr std::array<std::pair<std::string_view, Word>, 21> kWords = {{
    {"add", Word::kAdd},         {"defer", Word::kDefer},       {"deliver", Word::kDeliver},
    {"elif", Word::kElif},       {"else", Word::kElse},         {"endif", Word::kEndif},
    {"finish", Word::kFinish},   {"fail", Word::kFail},         {"freeze", Word::kFreeze},
    {"headers", Word::kHeaders}, {"if", Word::kIf},             {"logfile", Word::kLogfile},
    {"logwrite", Word::kLogwrite}, {"mail", Word::kMail},       {"noerror", Word::kNoerror},
    {"pipe", Word::kPipe},       {"save", Word::kSave},         {"seen", Word::kSeen},
    {"testprint", Word::kTestprint}, {"unseen", Word::kUnseen}, {"vacation", Word::kVacation},
}};

constexpr std::array<std::pair<std::string_view, CondKind>, 20> kCondWords = {{
    {"BEGIN", CondKind::kBEGINS},     {"BEGINS", CondKind::kBEGINS}, {"CONTAIN", CondKind::kCONTAINS},
    {"CONTAINS", CondKind::kCONTAINS}, {"END", CondKind::kENDS},     {"ENDS", CondKind::kENDS},
    {"IS", CondKind::kIS},           {"MATCH", CondKind::kMATCHES}, {"MATCHES", CondKind::kMATCHES},
    {"above", CondKind::kAbove},     {"begin", CondKind::kBegins},  {"begins", CondKind::kBegins},
    {"below", CondKind::kBelow},     {"contain", CondKind::kContains}, {"contains", CondKind::kContains},
    {"end", CondKind::kEnds},        {"ends", CondKind::kEnds},     {"is", CondKind::kIs},
    {"match", CondKind::kMatches},   {"matches", CondKind::kMatches},
}};

enum class Terminator { kNeither, kElse, kElif, kEndif };

class Parser {
 public:
  Parser(std::string_view src, const ParseOptions& o) : lx_(src), src_(src), opt_(o) {}

  ParseOutcome run() {
    ParseOutcome out;
    Ast ast;
    lx_.skip();
    if (read_command_list(ast.commands, false) && !lx_.failed())
      out.ast = std::move(ast);
    else
      out.error = lx_.error();
    return out;
  }

 private:
  void error(std::string msg) { lx_.set_error(std::move(msg)); }
  int line() const { return lx_.line(); }

  bool read_command_list(Block& block, bool conditional);
  bool read_command(Block& block);
  bool read_simple(Word w, std::string_view name, Block& block);
  bool read_if(Block& block);
  bool read_mail(Word w, Block& block);
  std::unique_ptr<CondNode> read_condition(bool toplevel, std::string* text);
  std::unique_ptr<CondNode> read_term(bool& testfor, const Token* word);

  Lexer lx_;
  std::string_view src_;
  ParseOptions opt_;
  int expect_endif_ = 0;
  int depth_ = 0;
  Terminator had_ = Terminator::kNeither;
  bool seen_force_ = false, seen_value_ = false, noerror_force_ = false;
};

bool Parser::read_command_list(Block& block, bool conditional) {
  if (conditional) ++expect_endif_;
  had_ = Terminator::kNeither;
  while (!lx_.at_end() && had_ == Terminator::kNeither) {
    if (!read_command(block)) return false;
    lx_.skip();
  }
  if (conditional) {
    --expect_endif_;
    if (had_ == Terminator::kNeither) {
      error("\"endif\" missing at end of filter file");
      return false;
    }
  }
  return true;
}

bool Parser::read_command(Block& block) {
  std::string name;
  if (lx_.starts_with("if(")) {
    name = "if";
    lx_.advance(2);
  } else if (lx_.starts_with("elif(")) {
    name = "elif";
    lx_.advance(4);
  } else {
    name = lx_.word(false).text;
    if (lx_.failed()) return false;
  }
  Word w = Word::kUnknown;
  for (const auto& [text, word] : kWords)
    if (name == text) w = word;

  bool keep_prefix = false;
  bool ok = true;
  switch (w) {
    case Word::kAdd:
    case Word::kHeaders:
    case Word::kDeliver:
    case Word::kLogfile:
    case Word::kLogwrite:
    case Word::kPipe:
    case Word::kSave:
    case Word::kTestprint:
      ok = read_simple(w, name, block);
      break;
    case Word::kElif:
    case Word::kElse:
    case Word::kEndif:
      if (seen_force_ || noerror_force_) {
        error(fmt::format("\"seen\", \"unseen\", or \"noerror\" near line {} is not followed by a command", line()));
        ok = false;
      }
      if (expect_endif_ > 0) {
        had_ = w == Word::kElif ? Terminator::kElif : w == Word::kElse ? Terminator::kElse : Terminator::kEndif;
      } else {
        error(fmt::format("unexpected \"{}\" command near line {} of filter file", name, line()));
        ok = false;
      }
      break;
    case Word::kDefer:
    case Word::kFail:
    case Word::kFreeze: {
      if (!opt_.system_filter) {
        error(fmt::format("filtering command \"{}\" is disabled: near line {} of filter file", name, line()));
        return false;
      }
      Command c;
      c.kind = w == Word::kDefer ? CmdKind::kDefer : w == Word::kFail ? CmdKind::kFail : CmdKind::kFreeze;
      c.line = line();
      size_t save = lx_.pos();
      bool quoted = lx_.peek() == '"';
      Token t = lx_.item(false);
      if (!quoted && t.text != "text") {
        lx_.rewind(save);
      } else {
        if (!quoted) t = lx_.item(false);
        c.arg = t.text;
        c.has_text = true;
      }
      c.seen = false;
      block.push_back(std::move(c));
      break;
    }
    case Word::kFinish: {
      Command c;
      c.kind = CmdKind::kFinish;
      c.line = line();
      c.seen = seen_force_ && seen_value_;
      block.push_back(std::move(c));
      break;
    }
    case Word::kIf:
      ok = read_if(block);
      break;
    case Word::kMail:
    case Word::kVacation:
      ok = read_mail(w, block);
      break;
    case Word::kSeen:
    case Word::kUnseen:
      if (lx_.at_end()) {
        error(fmt::format("\"seen\" or \"unseen\" near line {} is not followed by a command", line()));
        ok = false;
      }
      if (seen_force_) {
        error(fmt::format("\"seen\" or \"unseen\" repeated near line {}", line()));
        ok = false;
      }
      seen_value_ = w == Word::kSeen;
      seen_force_ = true;
      keep_prefix = true;
      break;
    case Word::kNoerror:
      if (lx_.at_end()) {
        error(fmt::format("\"noerror\" near line {} is not followed by a command", line()));
        ok = false;
      }
      noerror_force_ = true;
      keep_prefix = true;
      break;
    case Word::kUnknown:
      error(fmt::format("unknown filtering command \"{}\" near line {} of filter file", name, line()));
      ok = false;
      break;
  }
  if (!keep_prefix) seen_force_ = noerror_force_ = false;
  return ok && !lx_.failed();
}

bool Parser::read_simple(Word w, std::string_view name, Block& block) {
  if ((w == Word::kAdd || w == Word::kHeaders) && (seen_force_ || noerror_force_)) {
    error(fmt::format("\"seen\", \"unseen\", or \"noerror\" found before an \"{}\" command near line {}", name,
                      line()));
  }
  Token t = lx_.item(false);
  if (t.text.empty()) error(fmt::format("\"{}\" requires an argument near line {} of filter file", name, line()));
  if (lx_.failed()) return false;

  Command c;
  c.line = line();
  switch (w) {
    case Word::kAdd: {
      c.kind = CmdKind::kAdd;
      c.arg = t.text;
      Token to = lx_.item(false);
      if (to.text != "to") {
        error(fmt::format("\"to\" expected in \"add\" command near line {} of filter file", line()));
      } else {
        Token var = lx_.item(false);
        if (var.text.empty())
          error(fmt::format("value missing after \"to\" near line {} of filter file", line()));
        else
          c.arg2 = var.text;
      }
      break;
    }
    case Word::kHeaders: {
      c.kind = CmdKind::kHeaders;
      bool known = true;
      if (t.text == "add") {
        c.headers_op = HeadersOp::kAdd;
      } else if (t.text == "remove") {
        c.headers_op = HeadersOp::kRemove;
      } else if (t.text == "charset") {
        c.headers_op = HeadersOp::kCharset;
      } else {
        error(fmt::format("\"add\", \"remove\", or \"charset\" expected after \"headers\" near line {} of filter file",
                          line()));
        known = false;
      }
      if (!opt_.system_filter && (!known || c.headers_op != HeadersOp::kCharset)) {
        error(fmt::format("header addition and removal is available only in system filters: near line {} of filter file",
                          line()));
        return false;
      }
      if (!known) return false;
      Token v = lx_.item(false);
      if (v.text.empty())
        error(fmt::format("value missing after \"add\", \"remove\", or \"charset\" near line {} of filter file",
                          line()));
      else
        c.arg = v.text;
      break;
    }
    default: {
      c.kind = w == Word::kDeliver    ? CmdKind::kDeliver
               : w == Word::kLogfile  ? CmdKind::kLogfile
               : w == Word::kLogwrite ? CmdKind::kLogwrite
               : w == Word::kPipe     ? CmdKind::kPipe
               : w == Word::kSave     ? CmdKind::kSave
                                      : CmdKind::kTestprint;
      c.arg = t.text;
      if (w == Word::kLogwrite && c.arg.back() != '\n') c.arg.push_back('\n');
      if (w == Word::kSave || w == Word::kLogfile) {
        if (std::isdigit(static_cast<unsigned char>(lx_.peek()))) {
          Token m = lx_.word(false);
          c.mode = static_cast<int>(std::strtol(m.text.c_str(), nullptr, 8));
        }
      } else if (w == Word::kDeliver) {
        size_t save = lx_.pos();
        Token e = lx_.word(false);
        if (e.text == "errors_to")
          c.arg2 = lx_.word(false).text;
        else
          lx_.rewind(save);
      }
    }
  }
  if (lx_.failed()) return false;
  bool default_seen = w == Word::kDeliver || w == Word::kPipe || w == Word::kSave;
  c.seen = seen_force_ ? seen_value_ : default_seen;
  c.noerror = noerror_force_;
  block.push_back(std::move(c));
  return true;
}

bool Parser::read_if(Block& block) {
  if (seen_force_ || noerror_force_) {
    if (lx_.at_end())
      error("\"then\" missing at end of filter file");
    else if (lx_.peek() == ')')
      error(fmt::format("unexpected \")\" in line {} of filter file", line()));
    else
      error(fmt::format("\"seen\", \"unseen\", or \"noerror\" found before an \"if\" command near line {}", line()));
    return false;
  }
  if (++depth_ > kMaxNesting) {
    error(fmt::format("too many nested \"if\" commands near line {} of filter file", line()));
    return false;
  }
  Command c;
  c.kind = CmdKind::kIf;
  c.line = line();
  IfArm arm;
  arm.cond = read_condition(true, &arm.cond_text);
  if (lx_.failed()) return false;
  // had_ is Exim's had_else_endif, a global: which failures leave it at
  // "elif" decides whether an enclosing elif loop reads on (below).
  if (!read_command_list(arm.body, true)) {
    had_ = Terminator::kNeither;
    return false;
  }
  c.arms.push_back(std::move(arm));
  while (had_ == Terminator::kElif) {
    IfArm next;
    next.cond = read_condition(true, &next.cond_text);
    if (lx_.failed()) return false;
    if (!read_command_list(next.body, true)) {
      // Exim reads on after a failed elif arm while had_else_endif still says
      // "elif" (an if directly in the arm failed in its own elif condition):
      // a condition read at the end of the file then replaces the error.
      if (had_ == Terminator::kElif) {
        lx_.skip();
        if (lx_.at_end()) lx_.set_error("\"then\" missing at end of filter file");
      }
      return false;
    }
    c.arms.push_back(std::move(next));
  }
  if (had_ == Terminator::kElse) {
    c.else_body.emplace();
    if (!read_command_list(*c.else_body, true)) {
      had_ = Terminator::kNeither;
      return false;
    }
    if (had_ != Terminator::kEndif) {
      error(fmt::format("\"endif\" missing near line {} of filter file", line()));
      had_ = Terminator::kNeither;
      return false;
    }
  }
  had_ = Terminator::kNeither;
  --depth_;
  block.push_back(std::move(c));
  return true;
}

bool Parser::read_mail(Word w, Block& block) {
  Command c;
  c.kind = w == Word::kMail ? CmdKind::kMail : CmdKind::kVacation;
  c.line = line();
  c.seen = seen_force_ && seen_value_;
  c.noerror = noerror_force_;
  for (;;) {
    size_t save = lx_.pos();
    std::string kw = lx_.word(false).text;
    if (lx_.failed()) return false;
    if (kw == "return") {
      c.mail_return = true;
      if (lx_.word(false).text != "message") {
        error(fmt::format("\"return\" not followed by \"message\"  near line {} of filter file", line()));
        return false;
      }
      continue;
    }
    if (kw == "expand") {
      c.mail_expand_file = true;
      kw = lx_.word(false).text;
      if (kw != "file") {
        error(fmt::format("\"expand\" not followed by \"file\"  near line {} of filter file", line()));
        return false;
      }
    }
    size_t i = 0;
    while (i < kMailArgCount && kw != kMailArgNames[i]) ++i;
    if (i >= kMailArgCount) {
      lx_.rewind(save);
      break;
    }
    Token v = lx_.item(false);
    if (lx_.failed()) return false;
    c.mail[i] = v.text;
  }
  if (c.kind == CmdKind::kVacation) {
    if (!c.mail[kMailFile]) {
      c.mail[kMailFile] = ".vacation.msg";
      c.mail_expand_file = true;
    }
    if (!c.mail[kMailLog]) c.mail[kMailLog] = ".vacation.log";
    if (!c.mail[kMailOnce]) c.mail[kMailOnce] = ".vacation";
    if (!c.mail[kMailOnceRepeat]) c.mail[kMailOnceRepeat] = "7d";
    if (!c.mail[kMailSubject]) c.mail[kMailSubject] = "On vacation";
  }
  block.push_back(std::move(c));
  return true;
}

// One operand-level condition (after any "not"s); nullptr on error.
std::unique_ptr<CondNode> Parser::read_term(bool& testfor, const Token* word) {
  auto c = std::make_unique<CondNode>();
  if (!word) {
    lx_.advance(1);
    lx_.skip();
    c = read_condition(false, nullptr);
    if (lx_.failed()) return nullptr;
    if (lx_.peek() != ')') {
      error(fmt::format("expected \")\" in line {} of filter file", line()));
      return nullptr;
    }
    if (!testfor) c->testfor = !c->testfor;
    testfor = true;
    lx_.advance(1);
    lx_.skip();
    return c;
  }
  const Token& t = *word;
  c->testfor = testfor;
  testfor = true;
  const std::string& s = t.text;
  if (s == "delivered") {
    c->kind = CondKind::kDelivered;
  } else if (s == "error_message") {
    c->kind = CondKind::kErrorMessage;
  } else if (s == "first_delivery") {
    c->kind = CondKind::kFirstDelivery;
  } else if (s == "manually_thawed") {
    c->kind = CondKind::kManuallyThawed;
  } else if (s == "personal") {
    c->kind = CondKind::kPersonal;
    for (;;) {
      size_t save = lx_.pos();
      Token w = lx_.word(true);
      if (lx_.failed()) return nullptr;
      if (w.text != "alias") {
        lx_.rewind(save);
        break;
      }
      Token a = lx_.item(true);
      if (lx_.failed()) return nullptr;
      c->aliases.push_back(a.text);
    }
  } else if (s == "foranyaddress") {
    Token list = lx_.item(true);
    if (lx_.failed()) return nullptr;
    if (lx_.peek() != '(') {
      error(fmt::format("\"(\" expected after \"foranyaddress\" near line {} of filter file", line()));
      return nullptr;
    }
    c->kind = CondKind::kForAnyAddress;
    c->left = list.text;
    lx_.advance(1);
    lx_.skip();
    c->a = read_condition(false, nullptr);
    if (lx_.failed()) return nullptr;
    if (lx_.peek() != ')') {
      error(fmt::format("expected \")\" in line {} of filter file", line()));
      return nullptr;
    }
    lx_.advance(1);
    lx_.skip();
  } else {
    c->left = s;
    std::string w = lx_.word(true).text;
    if (lx_.failed()) return nullptr;
    std::optional<size_t> isptr;
    if (iequal(w, "does") || iequal(w, "is")) {
      if (w[0] == 'i') c->kind = CondKind::kIs, isptr = lx_.pos();
      if (w[0] == 'I') c->kind = CondKind::kIS, isptr = lx_.pos();
      w = lx_.word(true).text;
      if (lx_.failed()) return nullptr;
      if (iequal(w, "not")) {
        c->testfor = !c->testfor;
        if (isptr) isptr = lx_.pos();
        w = lx_.word(true).text;
        if (lx_.failed()) return nullptr;
      }
    }
    bool found = false;
    for (const auto& [text, kind] : kCondWords)
      if (w == text) c->kind = kind, found = true;
    if (!found) {
      if (isptr) {
        lx_.rewind(*isptr);
      } else {
        error(fmt::format("unrecognized condition word \"{}\" near line {} of filter file", w, line()));
        return nullptr;
      }
    }
    Token r = lx_.item(true);
    if (lx_.failed()) return nullptr;
    c->right = r.text;
  }
  return c;
}

std::unique_ptr<CondNode> fold(std::vector<std::unique_ptr<CondNode>>& v, CondKind k) {
  std::unique_ptr<CondNode> acc;
  for (auto& n : v) {
    if (!acc) {
      acc = std::move(n);
      continue;
    }
    auto j = std::make_unique<CondNode>();
    j->kind = k;
    j->a = std::move(acc);
    j->b = std::move(n);
    acc = std::move(j);
  }
  return acc;
}

std::unique_ptr<CondNode> Parser::read_condition(bool toplevel, std::string* text) {
  if (++depth_ > kMaxNesting) {
    error(fmt::format("too many nested conditions near line {} of filter file", line()));
    return nullptr;
  }
  size_t start = lx_.pos();
  std::vector<std::vector<std::unique_ptr<CondNode>>> ors(1);
  bool testfor = true;
  for (;;) {
    if (lx_.at_end()) {
      error("\"then\" missing at end of filter file");
      break;
    }
    if (lx_.peek() == ')') {
      error(fmt::format("unexpected \")\" in line {} of filter file", line()));
      break;
    }
    Token t;
    bool is_word = lx_.peek() != '(';
    if (is_word) {
      t = lx_.item(true);
      if (lx_.failed()) break;
      if (t.text == "then") {
        error(fmt::format("unexpected \"then\" near line {} of filter file", line()));
        break;
      }
      if (t.text == "not") {
        testfor = !testfor;
        continue;
      }
    }
    auto c = read_term(testfor, is_word ? &t : nullptr);
    if (!c) break;
    ors.back().push_back(std::move(c));
    if (lx_.peek() == ')') {
      if (toplevel) error(fmt::format("unexpected \")\" in line {} of filter file", line()));
      break;
    }
    if (lx_.peek() == '(') {
      error(fmt::format("unexpected \"(\" in line {} of filter file", line()));
      break;
    }
    size_t save = lx_.pos();
    std::string w = lx_.word(false).text;
    if (lx_.failed()) break;
    if (w == "then") {
      if (!toplevel)
        error(fmt::format("missing \")\" at end of condition near line {} of filter file", line()));
      else if (text)
        *text = std::string(src_.substr(start, save - start));
      break;
    }
    if (w == "and") continue;
    if (w == "or") {
      ors.emplace_back();
      continue;
    }
    error(fmt::format("\"and\" or \"or\" or \"{}\" expected near line {} of filter file, but found \"{}\"",
                      toplevel ? "then" : ")", line(), w));
    break;
  }
  --depth_;
  if (lx_.failed()) return nullptr;
  std::vector<std::unique_ptr<CondNode>> groups;
  for (auto& g : ors) groups.push_back(fold(g, CondKind::kAnd));
  return fold(groups, CondKind::kOr);
}

}  // namespace

ParseOutcome parse_filter(std::string_view source, const ParseOptions& options) {
  return Parser(source, options).run();
}

bool is_exim_filter(std::string_view s) {
  size_t p = 0;
  while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
  constexpr std::string_view tag = "# exim filter";
  for (char want : tag) {
    if (want == ' ') {
      while (p < s.size() && (s[p] == ' ' || s[p] == '\t')) ++p;
      continue;
    }
    if (p >= s.size() || std::tolower(static_cast<unsigned char>(s[p])) != want) return false;
    ++p;
  }
  return true;
}

}  // namespace nougat::filterlang
