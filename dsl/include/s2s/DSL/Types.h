//===- Types.h - Semantic types of .s2s values -------------------*- C++
//-*-===//
//
// The types Sema gives expressions. They are interned in a TypeContext, so
// two equal types are the same pointer.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_DSL_TYPES_H
#define S2S_DSL_TYPES_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace s2s {
namespace ast {
class EnumDecl;
}

class Type {
public:
  enum class Kind {
    Error, ///< the type of an erroneous expression; fits everywhere
    Any,   ///< accepts every value
    Int,
    Float,
    Bool,
    String,
    Duration, ///< a time span: `6h`
    Bytes,    ///< a memory size: `512MiB`
    Range,    ///< `lo..hi`
    Name,     ///< a free label such as a channel name: `u10` or "2t"
    None,     ///< `none`: "absent", fits every type
    List,     ///< `list<T>` or `T[n]`
    Record,   ///< `record` or `record<T>`
    Tuple,    ///< what a forward returning `(a, b)` produces
    Tensor,   ///< `tensor`, `tensor[B, C, H, W]` (rank kept)
    Enum,     ///< a value of an `enum` declaration
    Object,   ///< the value of an `extern KIND f(...)` call, e.g. `optimizer`
    Dataset,  ///< a `data` declaration
    Model,    ///< a `model net = ...` instance
  };

  Kind getKind() const { return kind; }
  bool is(Kind k) const { return kind == k; }
  bool isNumeric() const { return kind == Kind::Int || kind == Kind::Float; }

  const Type *getElement() const { return element; } // List, Record
  int64_t getSize() const { return size; } // List length, Tensor rank; -1 = any
  llvm::ArrayRef<const Type *> getElements() const { return elements; } // Tuple
  const ast::EnumDecl *getEnum() const { return enumDecl; }
  llvm::StringRef getObjectKind() const { return objectKind; }

  /// The type as a user writes it: `list<int>`, `tensor[4]`, `optimizer`.
  std::string str() const;

private:
  friend class TypeContext;
  Type(Kind kind) : kind(kind) {}
  Kind kind;
  const Type *element = nullptr;
  int64_t size = -1;
  std::vector<const Type *> elements;
  const ast::EnumDecl *enumDecl = nullptr;
  std::string objectKind;
};

class TypeContext {
public:
  TypeContext();
  const Type *get(Type::Kind kind); // for kinds without arguments
  const Type *getError() { return get(Type::Kind::Error); }
  const Type *getAny() { return get(Type::Kind::Any); }
  const Type *getList(const Type *element, int64_t size = -1);
  const Type *getRecord(const Type *element);
  const Type *getTuple(llvm::ArrayRef<const Type *> elements);
  const Type *getTensor(int64_t rank = -1);
  const Type *getEnum(const ast::EnumDecl *decl);
  const Type *getObject(llvm::StringRef kind);

  /// Whether a value of type `from` may stand where `to` is expected.
  static bool isAssignable(const Type *from, const Type *to);

private:
  const Type *intern(Type type, const std::string &key);
  llvm::StringMap<std::unique_ptr<Type>> types;
};

/// A unit of a quantity and its size in the canonical unit (seconds or
/// bytes).
struct QuantityUnit {
  const char *name;
  double factor;
};
/// `s`, `min`, `h`, `d`, `w`.
llvm::ArrayRef<QuantityUnit> timeUnits();
/// `B`, `KB` .. `TB` (powers of 1000), `KiB` .. `TiB` (powers of 1024).
llvm::ArrayRef<QuantityUnit> byteUnits();

} // namespace s2s

#endif // S2S_DSL_TYPES_H
