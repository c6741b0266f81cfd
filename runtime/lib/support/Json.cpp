//===- Json.cpp - The small JSON reader and writer -----------------------===//

#include "support/Json.h"

#include "s2s/runtime/Error.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace s2s::rt {

const Json *Json::get(const std::string &key) const {
  for (const auto &kv : object)
    if (kv.first == key)
      return &kv.second;
  return nullptr;
}

namespace {

class JsonParser {
public:
  JsonParser(const std::string &text, const std::string &what)
      : s(text), what(what) {}

  Json parseDocument() {
    Json v = parseValue(0);
    skipSpace();
    if (pos != s.size())
      fail("unexpected text after the value");
    return v;
  }

private:
  const std::string &s;
  const std::string &what;
  size_t pos = 0;

  [[noreturn]] void fail(const std::string &msg) {
    throw Error(what + ": " + msg + " at offset " + std::to_string(pos));
  }
  void skipSpace() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' ||
                              s[pos] == '\n' || s[pos] == '\r'))
      ++pos;
  }
  bool consume(const char *word) {
    size_t n = std::strlen(word);
    if (s.compare(pos, n, word) == 0) {
      pos += n;
      return true;
    }
    return false;
  }
  static void appendUtf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }
  uint32_t hex4() {
    if (pos + 4 > s.size())
      fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s[pos++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= uint32_t(c - 'A' + 10);
      else
        fail("bad \\u escape");
    }
    return v;
  }
  std::string parseString() {
    // at '"'
    ++pos;
    std::string out;
    while (true) {
      if (pos >= s.size())
        fail("unterminated string");
      char c = s[pos++];
      if (c == '"')
        return out;
      if (static_cast<unsigned char>(c) < 0x20)
        fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos >= s.size())
        fail("unterminated string");
      char e = s[pos++];
      switch (e) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp = hex4();
        if (cp >= 0xD800 && cp < 0xDC00 && s.compare(pos, 2, "\\u") == 0) {
          pos += 2;
          uint32_t lo = hex4();
          if (lo < 0xDC00 || lo >= 0xE000)
            fail("bad surrogate pair");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        --pos;
        fail("bad escape");
      }
    }
  }
  Json parseValue(int depth) {
    if (depth > 64)
      fail("nesting too deep");
    skipSpace();
    if (pos >= s.size())
      fail("unexpected end");
    Json v;
    char c = s[pos];
    if (c == '{') {
      v.kind = Json::Object;
      ++pos;
      skipSpace();
      if (pos < s.size() && s[pos] == '}') {
        ++pos;
        return v;
      }
      while (true) {
        skipSpace();
        if (pos >= s.size() || s[pos] != '"')
          fail("expected a string key");
        std::string key = parseString();
        skipSpace();
        if (pos >= s.size() || s[pos] != ':')
          fail("expected ':'");
        ++pos;
        Json member = parseValue(depth + 1);
        v.object.emplace_back(std::move(key), std::move(member));
        skipSpace();
        if (pos < s.size() && s[pos] == ',') {
          ++pos;
          continue;
        }
        if (pos < s.size() && s[pos] == '}') {
          ++pos;
          return v;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.kind = Json::Array;
      ++pos;
      skipSpace();
      if (pos < s.size() && s[pos] == ']') {
        ++pos;
        return v;
      }
      while (true) {
        v.array.push_back(parseValue(depth + 1));
        skipSpace();
        if (pos < s.size() && s[pos] == ',') {
          ++pos;
          continue;
        }
        if (pos < s.size() && s[pos] == ']') {
          ++pos;
          return v;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      v.kind = Json::String;
      v.string = parseString();
      return v;
    }
    if (consume("true")) {
      v.kind = Json::Bool;
      v.boolean = true;
      return v;
    }
    if (consume("false")) {
      v.kind = Json::Bool;
      return v;
    }
    if (consume("null"))
      return v;
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t start = pos;
      if (s[pos] == '-')
        ++pos;
      bool integral = true;
      while (pos < s.size()) {
        char d = s[pos];
        if (d >= '0' && d <= '9') {
          ++pos;
        } else if (d == '.' || d == 'e' || d == 'E' || d == '+' || d == '-') {
          integral = false;
          ++pos;
        } else {
          break;
        }
      }
      std::string tok = s.substr(start, pos - start);
      v.kind = Json::Number;
      char *end = nullptr;
      errno = 0;
      v.number = std::strtod(tok.c_str(), &end);
      if (end != tok.c_str() + tok.size() || tok == "-")
        fail("bad number '" + tok + "'");
      if (integral) {
        errno = 0;
        long long i = std::strtoll(tok.c_str(), &end, 10);
        if (errno == 0) {
          v.isInteger = true;
          v.integer = i;
        }
      }
      return v;
    }
    fail(std::string("unexpected character '") + c + "'");
  }
};

} // namespace

Json Json::parse(const std::string &text, const std::string &what) {
  return JsonParser(text, what).parseDocument();
}

std::string jsonQuote(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
        out += buf;
      } else {
        out += c;
      }
    }
  }
  return out + "\"";
}

std::string jsonNumber(double v) {
  if (!std::isfinite(v))
    return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // Prefer the shortest form that reads back exactly.
  for (int prec = 6; prec < 17; ++prec) {
    char shortBuf[32];
    std::snprintf(shortBuf, sizeof shortBuf, "%.*g", prec, v);
    if (std::strtod(shortBuf, nullptr) == v)
      return shortBuf;
  }
  return buf;
}

} // namespace s2s::rt
