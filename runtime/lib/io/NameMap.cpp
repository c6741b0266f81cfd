//===- NameMap.cpp - s2s's parameter names in another framework -----------===//

#include "io/NameMap.h"

#include "s2s/runtime/Error.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace s2s::rt {

namespace {

/// FourCastNet (Pathak et al. 2022; NVlabs/FourCastNet networks/afnonet.py,
/// class AFNONet) against std/models/afno.s2s's AFNONet.
const char *kFourcastnet = R"(
pos                                   pos_embed
patch_embed.0.weight                  patch_embed.proj.weight
patch_embed.0.bias                    patch_embed.proj.bias
AFNOBlock.{i}.layer_norm.0.{p}        blocks.{i}.norm1.{p}
AFNOBlock.{i}.afno2d.0.{p}            blocks.{i}.filter.{p}
AFNOBlock.{i}.layer_norm.1.{p}        blocks.{i}.norm2.{p}
AFNOBlock.{i}.Mlp.0.linear.0.weight   blocks.{i}.mlp.fc1.weight   transpose
AFNOBlock.{i}.Mlp.0.linear.0.bias     blocks.{i}.mlp.fc1.bias
AFNOBlock.{i}.Mlp.0.linear.1.weight   blocks.{i}.mlp.fc2.weight   transpose
AFNOBlock.{i}.Mlp.0.linear.1.bias     blocks.{i}.mlp.fc2.bias
linear.0.weight                       head.weight                 transpose
-                                     norm.*   # made in __init__, never applied
)";

const std::map<std::string, const char *> &builtinTexts() {
  static const std::map<std::string, const char *> maps = {
      {"fourcastnet", kFourcastnet}};
  return maps;
}

using Captures = std::map<std::string, std::string>;

/// Matches `name` from `n` against `pat` from `p`, filling `caps`.
bool match(const std::string &pat, size_t p, const std::string &name, size_t n,
           Captures &caps) {
  if (p == pat.size())
    return n == name.size();
  if (pat[p] == '*') {
    caps["*"] = name.substr(n);
    return p + 1 == pat.size();
  }
  if (pat[p] == '{') {
    const size_t close = pat.find('}', p);
    const std::string key = pat.substr(p + 1, close - p - 1);
    for (size_t e = n + 1; e <= name.size() && name[e - 1] != '.'; ++e) {
      caps[key] = name.substr(n, e - n);
      if (match(pat, close + 1, name, e, caps))
        return true;
    }
    caps.erase(key);
    return false;
  }
  return n < name.size() && pat[p] == name[n] &&
         match(pat, p + 1, name, n + 1, caps);
}

/// The capture names of a pattern ("*" for a star), or nullopt when its
/// braces do not close.
std::optional<std::vector<std::string>> capturesOf(const std::string &pat) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < pat.size(); ++i) {
    if (pat[i] == '*') {
      if (i + 1 != pat.size())
        return std::nullopt; // '*' only at the end
      keys.push_back("*");
    } else if (pat[i] == '{') {
      size_t close = pat.find('}', i);
      if (close == std::string::npos || close == i + 1)
        return std::nullopt;
      keys.push_back(pat.substr(i + 1, close - i - 1));
      i = close;
    }
  }
  return keys;
}

std::string substitute(const std::string &pat, const Captures &caps) {
  std::string out;
  for (size_t i = 0; i < pat.size(); ++i) {
    if (pat[i] == '*') {
      out += caps.at("*");
    } else if (pat[i] == '{') {
      size_t close = pat.find('}', i);
      out += caps.at(pat.substr(i + 1, close - i - 1));
      i = close;
    } else {
      out += pat[i];
    }
  }
  return out;
}

} // namespace

NameMap NameMap::parse(const std::string &text, const std::string &origin) {
  NameMap m;
  m.origin_ = origin;
  std::istringstream in(text);
  std::string line;
  for (int no = 1; std::getline(in, line); ++no) {
    if (size_t hash = line.find('#'); hash != std::string::npos)
      line.resize(hash);
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string s; words >> s;)
      w.push_back(s);
    if (w.empty())
      continue;
    const std::string at = origin + ":" + std::to_string(no) + ": ";
    if (w.size() < 2 || w.size() > 3 || (w.size() == 3 && w[2] != "transpose"))
      throw Error(at + "a rule is 'S2S_NAME OTHER_NAME [transpose]', got '" +
                  line + "'");
    if (w[0] == "-") {
      if (w.size() != 2 || !capturesOf(w[1]))
        throw Error(at + "a skip rule is '- OTHER_NAME', got '" + line + "'");
      m.skipped_.push_back(w[1]);
      continue;
    }
    auto ours = capturesOf(w[0]), theirs = capturesOf(w[1]);
    if (!ours || !theirs)
      throw Error(at +
                  "a pattern has an unclosed or empty '{}', or a '*' "
                  "before its end: '" +
                  line + "'");
    for (const std::string &k : *theirs)
      if (std::find(ours->begin(), ours->end(), k) == ours->end())
        throw Error(at + "'" + w[1] + "' uses " +
                    (k == "*" ? std::string("'*'") : "'{" + k + "}'") +
                    ", which '" + w[0] + "' does not capture");
    m.rules_.push_back({w[0], w[1], w.size() == 3});
  }
  return m;
}

NameMap NameMap::load(const std::string &nameOrFile) {
  if (nameOrFile.empty())
    return NameMap();
  const auto &maps = builtinTexts();
  if (auto it = maps.find(nameOrFile); it != maps.end())
    return parse(it->second, "built-in map '" + nameOrFile + "'");
  std::ifstream in(nameOrFile);
  if (!in) {
    std::string names;
    for (const std::string &n : builtins())
      names += (names.empty() ? "" : ", ") + n;
    throw Error("name map '" + nameOrFile + "' is neither a built-in map (" +
                names + ") nor a readable file");
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), nameOrFile);
}

std::vector<std::string> NameMap::builtins() {
  std::vector<std::string> names;
  for (const auto &kv : builtinTexts())
    names.push_back(kv.first);
  return names;
}

bool NameMap::skipped(const std::string &theirs) const {
  for (const std::string &pat : skipped_) {
    Captures caps;
    if (match(pat, 0, theirs, 0, caps))
      return true;
  }
  return false;
}

NameMap::Target NameMap::theirs(const std::string &ours) const {
  for (const Rule &r : rules_) {
    Captures caps;
    if (match(r.ours, 0, ours, 0, caps))
      return {substitute(r.theirs, caps), r.transpose};
  }
  return {ours, false};
}

} // namespace s2s::rt
