//===- AtomicFile.cpp - A file that appears whole or not at all -----------===//

#include "support/AtomicFile.h"

#include "s2s/runtime/Error.h"
#include "support/Text.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace s2s::rt {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  const std::filesystem::path p(path_);
  temp_ = (p.parent_path() /
           ("." + p.filename().string() + ".tmp" + std::to_string(::getpid())))
              .string();
}

AtomicFile::~AtomicFile() {
  if (!done_)
    std::remove(temp_.c_str());
}

void AtomicFile::commit() {
  if (std::rename(temp_.c_str(), path_.c_str()) != 0)
    throw Error("cannot write " + inQuotes(path_) + ": renaming " +
                inQuotes(temp_) + " failed: " + std::strerror(errno));
  done_ = true;
}

} // namespace s2s::rt
