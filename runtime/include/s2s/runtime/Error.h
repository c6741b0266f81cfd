//===- Error.h - The runtime's one error type -------------------*- C++ -*-===//
//
// Every failure a user can cause (a missing file, an unknown channel, a grid
// that does not fit the model, NaN in the data, a bad command-line value)
// is thrown as s2s::rt::Error with a message that names the file, channel,
// index or flag and says what to do. The program's main catches it, prints
// "<program>: error: <message>" and exits with status 1.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_ERROR_H
#define S2S_RUNTIME_ERROR_H

#include <stdexcept>
#include <string>

namespace s2s::rt {

class Error : public std::runtime_error {
public:
  explicit Error(const std::string &message) : std::runtime_error(message) {}
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_ERROR_H
