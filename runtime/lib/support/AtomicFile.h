//===- AtomicFile.h - A file that appears whole or not at all ---*- C++ -*-===//
//
// Torch-free. The data files s2s-data writes (synth, stats, import) are
// written under a hidden temporary name beside their final one and renamed
// over it when complete, so no reader ever sees half a file.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SUPPORT_ATOMICFILE_H
#define S2S_RUNTIME_SUPPORT_ATOMICFILE_H

#include <string>

namespace s2s::rt {

/// A hidden temporary name beside `path` (".<name>.tmp<pid>"), renamed over
/// `path` by commit(); removed if never committed.
class AtomicFile {
public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;

  const std::string &path() const { return path_; }
  const std::string &tempPath() const { return temp_; }
  /// Renames the temporary over path(); throws s2s::rt::Error "cannot write
  /// '<path>': renaming '<temp>' failed: <reason>".
  void commit();

private:
  std::string path_, temp_;
  bool done_ = false;
};

/// Writes `bytes` to `path` through an AtomicFile. Throws Error "cannot
/// write <what> '<path>' ..." when the bytes cannot all be written (a full
/// disk, a missing folder).
void writeFileAtomically(const std::string &path, const std::string &bytes,
                         const std::string &what);

} // namespace s2s::rt

#endif // S2S_RUNTIME_SUPPORT_ATOMICFILE_H
