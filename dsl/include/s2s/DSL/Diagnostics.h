//===- Diagnostics.h - The one diagnostic path of s2s ------------*- C++
//-*-===//
//
// Syntax, semantic and (later) IR errors all end here and print as
// `file:line:col: error: message`, the source line, and a caret under the
// offending range, with notes pointing at related places.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_DSL_DIAGNOSTICS_H
#define S2S_DSL_DIAGNOSTICS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/SMLoc.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace s2s {

class DiagnosticEngine {
public:
  DiagnosticEngine(llvm::SourceMgr &srcMgr, llvm::raw_ostream &os,
                   unsigned errorLimit = 20);

  /// An error at `range` (the caret goes under its start, `~` under the rest).
  void error(llvm::SMRange range, const llvm::Twine &msg);
  void warning(llvm::SMRange range, const llvm::Twine &msg);
  /// A note attached to the last error or warning; dropped if that one was.
  void note(llvm::SMRange range, const llvm::Twine &msg);
  /// An error that belongs to no place in a spec (a file that cannot be read).
  void errorNoLocation(const llvm::Twine &msg);

  unsigned getNumErrors() const { return numErrors; }
  unsigned getNumWarnings() const { return numWarnings; }
  bool hadError() const { return numErrors != 0; }
  /// True once the error limit was reached: callers may stop early.
  bool reachedLimit() const { return errorLimit && numErrors >= errorLimit; }

  /// `N errors generated.` as clang prints it; nothing when there were none.
  void printSummary();

  llvm::SourceMgr &getSourceMgr() { return srcMgr; }
  void setProgramName(llvm::StringRef name) { programName = name.str(); }
  void setShowColors(bool show) { showColors = show; }

  /// "did you mean 'x'?" helper: the closest of `candidates` to `name`
  /// within a small edit distance, or an empty string.
  static std::string closestMatch(llvm::StringRef name,
                                  llvm::ArrayRef<std::string> candidates);

private:
  void emit(llvm::SourceMgr::DiagKind kind, llvm::SMRange range,
            const llvm::Twine &msg);

  llvm::SourceMgr &srcMgr;
  llvm::raw_ostream &os;
  unsigned errorLimit;
  unsigned numErrors = 0;
  unsigned numWarnings = 0;
  bool lastSuppressed = false;
  bool limitNoted = false;
  bool showColors = false;
  std::string programName = "s2sc";
};

} // namespace s2s

#endif // S2S_DSL_DIAGNOSTICS_H
