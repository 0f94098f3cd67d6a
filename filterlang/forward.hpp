// RFC 2822 address extraction as Exim's parse_extract_address() does it, and
// traditional (non-filter) .forward lists.
//
// extract_address: one mailbox ("Name <a@b>", "a@b (comment)", "a"), returns
// the bare address (local part as written, quotes kept) or an Exim-style
// error text. extract_address_list: a comma list of them, as Exim walks one.
// Forward lists: items separated by commas/newlines, "#" comment lines,
// "\name" (no further forwarding), ":blackhole:", ":fail:" (an error in a
// user .forward), pipes and files kept as written.
// Pure functions, no I/O; bounded by the input length.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nougat::filterlang {

std::optional<std::string> extract_address(std::string_view text, std::string& error);
// Where the domain's '@' is in an address extract_address gave: the last
// '@' outside quotes and backslash pairs ("x@y"@z: the second), or npos.
size_t domain_at(std::string_view address);
// An address list as Exim walks one (${addresses}, foranyaddress, the
// address headers `personal` reads): comma-separated items, each extracted
// as above — nullopt where Exim finds no address — with group syntax
// ("name: a, b;") when allow_group; text after a group's ';' in the same
// item is ignored, and no group opens inside a group.
std::vector<std::optional<std::string>> extract_address_list(std::string_view list, bool allow_group);
// An address header's value with each address that has no domain given
// `domain`, as Exim qualifies the header of a locally submitted message
// (`To: t, "A" <v>` reads `To: t@host, "A" <v@host>`): after an address it
// qualified, a line longer than 40 characters folds before the next one.
// `line_start`: the characters of the line before the value ("To:").
std::string qualify_address_list(std::string_view value, std::string_view domain, size_t line_start);

struct ForwardList {
  std::vector<std::string> addresses;  // in file order; "\x" already qualified
  // As exim -bf shows them: "\" kept on an address written with a domain
  // ("\frank@here" → "\frank@here"; "\frank" → "frank@here").
  std::vector<std::string> shown;
  std::vector<bool> no_forward;        // per address: written "\x", delivered without x's own .forward
  bool blackhole = false;
  std::string error;                   // non-empty: "error in forward file: ..." text
};

// Unqualified addresses get `qualify_domain` ("" = `domain`); those written
// "\x" get `domain`, the recipient's — as exim -bf qualifies them (the
// router passes the user's domain alone: DECISIONS, qualify_preserve_domain).
ForwardList parse_forward_list(std::string_view text, std::string_view domain, std::string_view qualify_domain = {});

// `nougat filter test` / exim -bf report body for a plain .forward file.
// Returns the exit status (0, or 1 after an error).
int forward_report(const ForwardList& list, std::string& out);

}  // namespace nougat::filterlang
