// Tokenizer: turns a message (engine::Message) into the distinct tokens the
// Bayesian classifier counts, as 64-bit hashes.
//
// What becomes a token:
//  - header fields: each field name ("hdr:subject"); the words of Subject,
//    From/To/Cc/Reply-To/Return-Path/Errors-To (with "@domain" tokens),
//    Content-Type/charset/encoding/filename of every part, Received hosts and
//    IP prefixes (never its date), and the words of any other field, each
//    prefixed by the lowercased field name. Our own verdict headers
//    (X-Spam-*, X-Bogosity), Date and the fields mail readers add to stored
//    mail (Status, X-Status, X-Keywords, X-UID, Lines, Content-Length) are
//    ignored entirely: training on stored mail must learn neither a previous
//    verdict, nor the clock, nor which program kept the mailbox. Nor are the
//    fields that say how a message travelled rather than what it is: mailing
//    list fields (List-*, X-BeenThere, X-Mailman-Version, X-Loop, …) and
//    delivery fields (Delivered-To, Sender, Envelope-To, Resent-*,
//    Original-*): spam that reaches a list travels like the list's ham, so
//    these would lend it the list's good name (SpamAssassin's Bayes ignores
//    the same fields for that reason).
//  - the decoded text of every text/* part (transfer decoding, charset to
//    UTF-8): words of 3..40 bytes, lowercased (ASCII), pure numbers dropped;
//    non-ASCII spaces and punctuation (no-break space, dashes, curly quotes,
//    CJK punctuation) break words like ASCII ones, invisible characters
//    (soft hyphen, zero-width space and joiners) are dropped from them (so a
//    disguised word is the plain one), currency signs stay with their
//    amounts; runs of Han ideographs and kana, written without spaces, give
//    the pairs of adjacent characters (a lone character itself), as
//    Lucene's CJK analyzer does;
//    longer runs become "skip:" length-bucket tokens; all-capital words
//    also count as "caps:" tokens (shouting); URLs become "url:"
//    host, parent-domain and path-word tokens; optional bigrams of adjacent
//    words.
//  - the MIME structure as one "mime:" token, e.g.
//    "multipart/alternative(text/plain,text/html)".
//  - HTML is reduced to its text; tags give "html:" tokens, href/src give URL
//    tokens; comments, scripts and styles are not text.
// Limits: the first kMaxPartBytes of each part's text, kMaxHeaderBytes of each
// field value (both cut before a character, never inside one); a message is
// read until it has given TokenizerOptions::max_tokens distinct tokens (at
// most twice that are kept).
// Failure: none; any input yields some (possibly empty) token list.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/message.hpp"

namespace nougat::scanners {

inline constexpr size_t kMaxPartBytes = 256 * 1024;
inline constexpr size_t kMaxHeaderBytes = 2048;

struct TokenizerOptions {
  bool bigrams = true;        // adjacent body/subject words as one more token
  size_t max_tokens = 20000;  // distinct tokens read per message (see Limits)
  bool markup = false;        // fill TokenList::markup (for BayesParams::max_markup_clues)
};

struct TokenList {
  std::vector<uint64_t> hashes;                     // distinct, sorted
  // Those of hashes that are HTML markup ("html:" tag and attribute
  // tokens), distinct, sorted: one fact about a message in many tokens,
  // which the classifier counts only so often (BayesParams::max_markup_clues).
  // Only with TokenizerOptions::markup; else empty.
  std::vector<uint64_t> markup;
  std::unordered_map<uint64_t, std::string> text;   // only when asked for (reports)
};

// The hash of one token: prefix and word (word lowercased, ASCII); never 0.
uint64_t token_hash(std::string_view prefix, std::string_view word);

TokenList tokenize(const engine::Message& msg, const TokenizerOptions& opt, bool keep_text = false);
// Raw bytes: an empty (or blank) input has no tokens, so no clues, so
// classifies as unsure (0.5), not as the plain-text message it would parse as.
TokenList tokenize(std::string_view raw, const TokenizerOptions& opt, bool keep_text = false);

// Sees each HTML tag (attr "" once per tag, name lowercased) and each of its
// attributes (attr lowercased, value unquoted).
class HtmlTagSink {
 public:
  virtual ~HtmlTagSink() = default;
  virtual void tag(std::string_view name, std::string_view attr, std::string_view value) = 0;
};

// HTML to text: common entities decoded, tags, comments, <script> and <style>
// contents dropped, every tag a word break. Exposed for tests.
std::string html_to_text(std::string_view html, HtmlTagSink* sink);

}  // namespace nougat::scanners
