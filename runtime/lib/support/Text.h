//===- Text.h - Words, lists and numbers in messages ------------*- C++ -*-===//
//
// The runtime's one copy of the small text helpers its messages use: lists,
// "did you mean" suggestions, thousands separators, numbers. Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SUPPORT_TEXT_H
#define S2S_RUNTIME_SUPPORT_TEXT_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace s2s::rt {

/// `names` joined by `sep`: "u, v, t".
std::string join(const std::vector<std::string> &names, const char *sep = ", ");

/// `s` in single quotes, as messages name files and channels: 'x'.
std::string inQuotes(const std::string &s);

/// `s` with every character but [A-Za-z0-9._-] replaced by '_' (a name
/// that is safe in a file name).
std::string sanitizeName(const std::string &s);

/// Whether `s` ends with `tail`.
bool endsWith(const std::string &s, const std::string &tail);

/// `s` in lower case (ASCII).
std::string lower(std::string s);

enum class Case { Sensitive, Ignore };

/// Levenshtein distance: insertions, deletions and substitutions of single
/// characters, optionally ignoring ASCII case.
size_t editDistance(const std::string &a, const std::string &b,
                    Case c = Case::Sensitive);

/// The candidate nearest `name` by editDistance (the first of equals) and
/// its distance; {nullptr, SIZE_MAX} when there are no candidates.
struct Nearest {
  const std::string *name = nullptr;
  size_t distance = SIZE_MAX;
};
Nearest nearest(const std::string &name,
                const std::vector<std::string> &candidates,
                Case c = Case::Sensitive);

/// How far a misspelt name of `length` characters may be from a suggestion:
/// half its length, at least 1 and at most 3.
size_t suggestionDistance(size_t length);

/// " (did you mean 'x'?)" for the candidate nearest `name` ignoring case,
/// when it is at most `maxDistance` edits away and not a whole replacement
/// of `name`; "" otherwise.
std::string didYouMean(const std::string &name,
                       const std::vector<std::string> &candidates,
                       size_t maxDistance);
/// The same within suggestionDistance(name.size()).
std::string didYouMean(const std::string &name,
                       const std::vector<std::string> &candidates);

/// 1234567 -> "1,234,567".
std::string withCommas(int64_t v);

/// `v` as printf's %g writes it (6 significant digits): 0.001, 1e-05, 3.
std::string formatNumber(double v);

/// "123 bytes", "12345678 bytes, 11.8 MiB", "... GiB".
std::string describeBytes(uint64_t n);

/// The first `n` lines of `s`, empty ones left out, joined by spaces (the
/// gist of a LibTorch message, whose later lines are a backtrace).
std::string firstLines(const std::string &s, int n = 3);

} // namespace s2s::rt

#endif // S2S_RUNTIME_SUPPORT_TEXT_H
