//===- Json.h - The small JSON reader and writer ----------------*- C++ -*-===//
//
// What state.json, the safetensors header and metrics.jsonl need: a parser
// into a plain value tree (objects keep their members in file order) and
// the two writers, quoting and numbers that read back to the same double.
// Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SUPPORT_JSON_H
#define S2S_RUNTIME_SUPPORT_JSON_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace s2s::rt {

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Null;
  bool boolean = false;
  double number = 0.0;
  int64_t integer = 0;    ///< exact value when isInteger
  bool isInteger = false; ///< a number written without fraction/exponent
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object; ///< in file order

  /// The member `key` of an object, or nullptr.
  const Json *get(const std::string &key) const;

  /// Parses one JSON value (surrounding whitespace allowed). Throws
  /// s2s::rt::Error "<what>: <problem> at offset N".
  static Json parse(const std::string &text, const std::string &what = "JSON");
};

/// `s` as a JSON string literal, quotes included.
std::string jsonQuote(const std::string &s);
/// `v` as a JSON number that reads back to the same double ("null" when
/// not finite, which JSON cannot represent).
std::string jsonNumber(double v);

} // namespace s2s::rt

#endif // S2S_RUNTIME_SUPPORT_JSON_H
