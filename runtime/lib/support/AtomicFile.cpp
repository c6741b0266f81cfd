//===- AtomicFile.cpp - A file that appears whole or not at all -----------===//

#include "support/AtomicFile.h"

#include "s2s/runtime/Error.h"
#include "support/Text.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

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

void writeFileAtomically(const std::string &path, const std::string &bytes,
                         const std::string &what) {
  AtomicFile file(path);
  {
    std::ofstream out(file.tempPath(), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.flush();
    if (!out)
      throw Error("cannot write " + what + " '" + path + "' (" +
                  std::to_string(bytes.size()) +
                  " bytes): is the disk full or the folder not writable?");
  }
  file.commit();
}

} // namespace s2s::rt
