//===- Diagnostics.cpp - Printing s2s diagnostics ------------------------===//

#include "s2s/DSL/Diagnostics.h"

#include "llvm/ADT/ArrayRef.h"

using namespace s2s;

DiagnosticEngine::DiagnosticEngine(llvm::SourceMgr &srcMgr,
                                   llvm::raw_ostream &os, unsigned errorLimit)
    : srcMgr(srcMgr), os(os), errorLimit(errorLimit) {}

void DiagnosticEngine::emit(llvm::SourceMgr::DiagKind kind, llvm::SMRange range,
                            const llvm::Twine &msg) {
  llvm::SMLoc loc = range.Start;
  llvm::SmallVector<llvm::SMRange, 1> ranges;
  // A one-character range is already shown by the caret.
  if (range.isValid() && range.End.getPointer() > loc.getPointer() + 1)
    ranges.push_back(range);
  if (!loc.isValid() || !srcMgr.FindBufferContainingLoc(loc)) {
    llvm::StringRef label = kind == llvm::SourceMgr::DK_Error     ? "error"
                            : kind == llvm::SourceMgr::DK_Warning ? "warning"
                                                                  : "note";
    os << programName << ": " << label << ": " << msg << "\n";
    return;
  }
  srcMgr.PrintMessage(os, loc, kind, msg, ranges, {}, showColors);
}

void DiagnosticEngine::error(llvm::SMRange range, const llvm::Twine &msg) {
  if (reachedLimit()) {
    lastSuppressed = true;
    if (!limitNoted) {
      limitNoted = true;
      os << programName << ": error: too many errors emitted, stopping now\n";
    }
    return;
  }
  ++numErrors;
  lastSuppressed = false;
  emit(llvm::SourceMgr::DK_Error, range, msg);
}

void DiagnosticEngine::warning(llvm::SMRange range, const llvm::Twine &msg) {
  if (reachedLimit()) {
    lastSuppressed = true;
    return;
  }
  ++numWarnings;
  lastSuppressed = false;
  emit(llvm::SourceMgr::DK_Warning, range, msg);
}

void DiagnosticEngine::note(llvm::SMRange range, const llvm::Twine &msg) {
  if (lastSuppressed)
    return;
  emit(llvm::SourceMgr::DK_Note, range, msg);
}

void DiagnosticEngine::errorNoLocation(const llvm::Twine &msg) {
  ++numErrors;
  lastSuppressed = false;
  os << programName << ": error: " << msg << "\n";
}

void DiagnosticEngine::printSummary() {
  // A caller that stopped at the limit has dropped what came after it.
  if (reachedLimit() && !limitNoted) {
    limitNoted = true;
    os << programName << ": error: too many errors emitted, stopping now\n";
  }
  if (numErrors == 0 && numWarnings == 0)
    return;
  if (numWarnings)
    os << numWarnings << (numWarnings == 1 ? " warning" : " warnings")
       << (numErrors ? " and " : " generated.\n");
  if (numErrors)
    os << numErrors << (numErrors == 1 ? " error" : " errors")
       << " generated.\n";
}

std::string
DiagnosticEngine::closestMatch(llvm::StringRef name,
                               llvm::ArrayRef<std::string> candidates) {
  // A difference of case alone is the likeliest slip (`6H` for `6h`).
  for (const std::string &c : candidates)
    if (c != name && name.equals_insensitive(c))
      return c;
  std::string best;
  unsigned bestDistance = ~0u;
  // Allow roughly one edit per three characters, at least one.
  unsigned limit = std::max<unsigned>(1, name.size() / 3);
  for (const std::string &c : candidates) {
    if (c == name)
      continue;
    unsigned d = name.edit_distance(c, /*AllowReplacements=*/true, limit);
    if (d <= limit && d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}
