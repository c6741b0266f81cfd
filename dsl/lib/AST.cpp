//===- AST.cpp - Small lookups on AST nodes -------------------------------===//

#include "s2s/DSL/AST.h"

using namespace s2s::ast;

template <typename T>
static const Entry *findEntry(const std::vector<Entry> &entries, T key) {
  for (const Entry &e : entries)
    if (e.key.name == key)
      return &e;
  return nullptr;
}

const RecordField *RecordLit::find(llvm::StringRef key) const {
  for (const RecordField &f : fields)
    if (f.key.name == key)
      return &f;
  return nullptr;
}

const Entry *DataDecl::find(llvm::StringRef key) const {
  return findEntry(entries, key);
}

const Entry *SectionDecl::find(llvm::StringRef key) const {
  return findEntry(entries, key);
}

const Ident *EnumDecl::find(llvm::StringRef member) const {
  for (const Ident &m : members)
    if (m.name == member)
      return &m;
  return nullptr;
}

llvm::StringRef SectionDecl::kindName(SectionKind k) {
  switch (k) {
  case SectionKind::Rollout:
    return "rollout";
  case SectionKind::Parallel:
    return "parallel";
  case SectionKind::Train:
    return "train";
  }
  return "section";
}
