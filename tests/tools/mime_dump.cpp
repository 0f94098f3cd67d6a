// mime_dump: prints, for each message file, one JSON line describing how
// nougat::engine::Message sees it; used by tests/differential/mime_vs_python.py.
//
//   mime_dump [--stdin] FILE...
//
// Line: {"file": F, "parts": [{"path": "1.2", "type": "text/plain",
//        "charset": "utf-8"|null, "filename": "x"|null, "text": "..."}]}
// Parts are in document order; the root's path is "", the n-th child of path
// P is "P.n" ("n" for the root's children). "text" is present only for text/*
// leaves: decoded to UTF-8, line breaks (CRLF, CR) normalised to \n, spaces
// and tabs at line ends and trailing empty lines removed.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/message.hpp"

namespace {

using nougat::engine::MimePart;

void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

std::string normalise_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\r') {
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
      c = '\n';
    }
    if (c == '\n')
      while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
    out += c;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t' || out.back() == '\n'))
    out.pop_back();
  return out;
}

void dump_part(const MimePart& p, const std::string& path, std::string& out, bool& first) {
  if (!first) out += ',';
  first = false;
  out += "{\"path\":";
  json_string(out, path);
  out += ",\"type\":";
  json_string(out, nougat::engine::to_utf8(p.content_type(), ""));
  out += ",\"charset\":";
  std::string cs = p.charset();
  if (cs.empty())
    out += "null";
  else
    json_string(out, nougat::engine::to_utf8(cs, ""));
  out += ",\"filename\":";
  std::string fn = p.filename();
  if (fn.empty())
    out += "null";
  else
    json_string(out, fn);
  if (p.type == "text" && p.children.empty()) {
    out += ",\"text\":";
    json_string(out, normalise_text(p.text()));
  }
  out += '}';
  for (size_t i = 0; i < p.children.size(); ++i)
    dump_part(p.children[i], (path.empty() ? "" : path + ".") + std::to_string(i + 1), out, first);
}

bool dump_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "mime_dump: cannot read " << file << "\n";
    return false;
  }
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto m = nougat::engine::Message::parse(raw);
  std::string out = "{\"file\":";
  json_string(out, nougat::engine::to_utf8(file, ""));
  out += ",\"parts\":[";
  bool first = true;
  dump_part(m.root(), "", out, first);
  out += "]}\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  bool from_stdin = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--stdin")
      from_stdin = true;
    else
      files.push_back(a);
  }
  if (from_stdin)
    for (std::string line; std::getline(std::cin, line);)
      if (!line.empty()) files.push_back(line);
  if (files.empty()) {
    std::cerr << "usage: mime_dump [--stdin] FILE...\n";
    return 2;
  }
  int rc = 0;
  for (const auto& f : files)
    if (!dump_file(f)) rc = 1;
  return rc;
}
