// Differential test: every row of expand_cases.tsv (generated from real
// Exim 4.96 by gen_expand_cases.py) is expanded here with a context built
// from the same message and options; the result (escaped the way exim -bf
// prints it) or the error text must match exactly.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "filterlang/expand.hpp"

namespace nougat::filterlang {
namespace {

std::string unesc(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    switch (c) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'x': out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)); i += 2; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> f;
  std::stringstream ss(line);
  std::string x;
  while (std::getline(ss, x, '\t')) f.push_back(x);
  return f;
}

// What exim -bf's Testprint does to a value.
std::string print_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 32 && c <= 126) || c == '\t') out += static_cast<char>(c);
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\b') out += "\\b";
    else if (c == '\v') out += "\\v";
    else if (c == '\f') out += "\\f";
    else {
      char b[8];
      std::snprintf(b, sizeof b, "\\%03o", c);
      out += b;
    }
  }
  return out;
}

class MessageContext : public ExpandContext {
 public:
  MessageContext(const std::string& msg, const std::vector<std::string>& opts) {
    size_t pos = 0;
    while (pos < msg.size()) {
      size_t nl = msg.find('\n', pos);
      if (nl == std::string::npos) nl = msg.size();
      std::string line = msg.substr(pos, nl - pos);
      pos = nl + 1;
      if (line.empty()) break;
      if ((line[0] == ' ' || line[0] == '\t') && !headers_.empty()) {
        headers_.back().second += "\n" + line;
        continue;
      }
      size_t colon = line.find(':');
      headers_.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    }
    std::string body = pos < msg.size() ? msg.substr(pos) : "";
    auto flat = [](std::string b) {
      for (char& c : b)
        if (c == '\n' || c == '\0') c = ' ';
      return b;
    };
    vars_["sender_address"] = opts[0];
    vars_["return_path"] = opts[0];
    vars_["local_part"] = opts[1];
    vars_["domain"] = opts[2];
    vars_["home"] = opts[3];
    vars_["message_body"] = flat(body.substr(0, 500));
    vars_["message_body_end"] = flat(body.size() > 500 ? body.substr(body.size() - 500) : body);
    vars_["message_body_size"] = std::to_string(body.size());
    vars_["message_size"] = std::to_string(msg.size());
    for (int i = 0; i < 10; ++i) vars_["n" + std::to_string(i)] = vars_["sn" + std::to_string(i)] = "0";
    vars_["thisaddress"] = "";
    vars_["message_headers"] = message_headers_value(headers_, false);
    vars_["message_headers_raw"] = message_headers_value(headers_, true);
    vars_["reply_address"] = reply_address_value(headers_);
  }
  std::optional<std::string> variable(std::string_view name) const override {
    auto it = vars_.find(std::string(name));
    if (it == vars_.end()) return std::nullopt;
    return it->second;
  }
  const std::vector<std::pair<std::string, std::string>>& headers() const override { return headers_; }
  // The oracle ran on a host with loopback, as every host has; the cases use no other address.
  std::vector<std::string> interface_addresses() const override { return {"127.0.0.1"}; }

 private:
  std::vector<std::pair<std::string, std::string>> headers_;
  std::map<std::string, std::string> vars_;
};

std::string tsv_path() {
  std::string f = __FILE__;
  return f.substr(0, f.rfind('/')) + "/expand_cases.tsv";
}

TEST(ExpandOracle, AllCasesMatchExim) {
  std::ifstream in(tsv_path());
  ASSERT_TRUE(in) << tsv_path();
  std::map<std::string, std::string> messages;
  std::string line;
  int total = 0, matched = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      if (line.rfind("#MESSAGE\t", 0) == 0) {
        auto f = split_tabs(line);
        messages[f[1]] = unesc(f[2]);
      }
      continue;
    }
    auto f = split_tabs(line);
    if (f.size() == 7) f.emplace_back();  // std::getline drops an empty last field
    ASSERT_EQ(f.size(), 8u) << line;
    std::string expansion = unesc(f[0]);
    MessageContext ctx(messages.at(f[1]), {unesc(f[2]), unesc(f[3]), unesc(f[4]), unesc(f[5])});
    ExpandState st;
    if (!f[7].empty()) st.headers_charset = unesc(f[7]);
    auto r = expand_string(expansion, ctx, st);
    std::string got = r ? "OK:" + print_escape(*r) : "ERR:" + r.error().text;
    std::string want = unesc(f[6]);
    ++total;
    if (got == want) ++matched;
    else ADD_FAILURE() << "expansion: " << f[0] << " [" << f[1] << "]\n   want: " << want << "\n    got: " << got;
  }
  std::printf("expand oracle cases: %d/%d match\n", matched, total);
  EXPECT_GE(total, 120);
}

}  // namespace
}  // namespace nougat::filterlang
