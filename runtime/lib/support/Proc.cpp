//===- Proc.cpp - What /proc says of this process -------------------------===//

#include "support/Proc.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace {

long procFileKb(const char *path, const char *field) {
  std::ifstream f(path);
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(f, line))
    if (line.compare(0, n, field) == 0)
      return std::atol(line.c_str() + n + 1);
  return -1;
}

} // namespace

long s2s::rt::procStatusKb(const char *field) {
  return procFileKb("/proc/self/status", field);
}

long s2s::rt::procRollupKb(const char *field) {
  return procFileKb("/proc/self/smaps_rollup", field);
}
