//===- Types.cpp - Semantic types of .s2s values -------------------------===//

#include "s2s/DSL/Types.h"
#include "s2s/DSL/AST.h"

#include "llvm/Support/raw_ostream.h"

using namespace s2s;

static llvm::StringRef simpleName(Type::Kind kind) {
  switch (kind) {
  case Type::Kind::Error:
    return "<error>";
  case Type::Kind::Any:
    return "any";
  case Type::Kind::Int:
    return "int";
  case Type::Kind::Float:
    return "float";
  case Type::Kind::Bool:
    return "bool";
  case Type::Kind::String:
    return "string";
  case Type::Kind::Duration:
    return "duration";
  case Type::Kind::Bytes:
    return "bytes";
  case Type::Kind::Range:
    return "range";
  case Type::Kind::Name:
    return "name";
  case Type::Kind::None:
    return "none";
  case Type::Kind::List:
    return "list";
  case Type::Kind::Record:
    return "record";
  case Type::Kind::Tuple:
    return "tuple";
  case Type::Kind::Tensor:
    return "tensor";
  case Type::Kind::Enum:
    return "enum";
  case Type::Kind::Object:
    return "object";
  case Type::Kind::Dataset:
    return "dataset";
  case Type::Kind::Model:
    return "model";
  }
  return "?";
}

std::string Type::str() const {
  std::string s;
  llvm::raw_string_ostream os(s);
  switch (kind) {
  case Kind::List:
    os << "list<" << element->str() << ">";
    if (size >= 0)
      os << "[" << size << "]";
    break;
  case Kind::Record:
    os << "record";
    if (element && !element->is(Kind::Any))
      os << "<" << element->str() << ">";
    break;
  case Kind::Tuple: {
    os << "(";
    for (size_t i = 0; i < elements.size(); ++i)
      os << (i ? ", " : "") << elements[i]->str();
    os << ")";
    break;
  }
  case Kind::Tensor:
    os << "tensor";
    if (size >= 0)
      os << " of rank " << size;
    break;
  case Kind::Enum:
    os << enumDecl->getName().name;
    break;
  case Kind::Object:
    os << objectKind;
    break;
  default:
    os << simpleName(kind);
  }
  return s;
}

TypeContext::TypeContext() = default;

const Type *TypeContext::intern(Type type, const std::string &key) {
  auto &slot = types[key];
  if (!slot)
    slot.reset(new Type(std::move(type)));
  return slot.get();
}

const Type *TypeContext::get(Type::Kind kind) {
  return intern(Type(kind), simpleName(kind).str());
}

const Type *TypeContext::getList(const Type *element, int64_t size) {
  Type t(Type::Kind::List);
  t.element = element;
  t.size = size;
  std::string key =
      "list:" + std::to_string(reinterpret_cast<uintptr_t>(element)) + ":" +
      std::to_string(size);
  return intern(std::move(t), key);
}

const Type *TypeContext::getRecord(const Type *element) {
  Type t(Type::Kind::Record);
  t.element = element;
  return intern(std::move(t),
                "record:" +
                    std::to_string(reinterpret_cast<uintptr_t>(element)));
}

const Type *TypeContext::getTuple(llvm::ArrayRef<const Type *> elements) {
  Type t(Type::Kind::Tuple);
  t.elements.assign(elements.begin(), elements.end());
  std::string key = "tuple";
  for (const Type *e : elements)
    key += ":" + std::to_string(reinterpret_cast<uintptr_t>(e));
  return intern(std::move(t), key);
}

const Type *TypeContext::getTensor(int64_t rank) {
  Type t(Type::Kind::Tensor);
  t.size = rank < 0 ? -1 : rank;
  return intern(std::move(t), "tensor:" + std::to_string(t.size));
}

const Type *TypeContext::getEnum(const ast::EnumDecl *decl) {
  Type t(Type::Kind::Enum);
  t.enumDecl = decl;
  return intern(std::move(t),
                "enum:" + std::to_string(reinterpret_cast<uintptr_t>(decl)));
}

const Type *TypeContext::getObject(llvm::StringRef kind) {
  Type t(Type::Kind::Object);
  t.objectKind = kind.str();
  return intern(std::move(t), "object:" + kind.str());
}

bool TypeContext::isAssignable(const Type *from, const Type *to) {
  using K = Type::Kind;
  if (from == to)
    return true;
  if (from->is(K::Error) || to->is(K::Error) || to->is(K::Any) ||
      from->is(K::Any) || from->is(K::None))
    return true;
  switch (to->getKind()) {
  case K::Float:
    return from->is(K::Int);
  case K::List:
    if (!from->is(K::List))
      return false;
    if (to->getSize() >= 0 && from->getSize() != to->getSize())
      return false;
    return isAssignable(from->getElement(), to->getElement());
  case K::Record:
    return from->is(K::Record) &&
           isAssignable(from->getElement(), to->getElement());
  case K::Tensor:
    return from->is(K::Tensor) && (to->getSize() < 0 || from->getSize() < 0 ||
                                   to->getSize() == from->getSize());
  case K::Tuple: {
    if (!from->is(K::Tuple) ||
        from->getElements().size() != to->getElements().size())
      return false;
    for (size_t i = 0; i < to->getElements().size(); ++i)
      if (!isAssignable(from->getElements()[i], to->getElements()[i]))
        return false;
    return true;
  }
  default:
    return false;
  }
}

llvm::ArrayRef<QuantityUnit> s2s::timeUnits() {
  static const QuantityUnit units[] = {
      {"s", 1}, {"min", 60}, {"h", 3600}, {"d", 86400}, {"w", 604800}};
  return units;
}

llvm::ArrayRef<QuantityUnit> s2s::byteUnits() {
  static const QuantityUnit units[] = {
      {"B", 1},           {"KB", 1e3},           {"MB", 1e6},
      {"GB", 1e9},        {"TB", 1e12},          {"KiB", 1024.0},
      {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};
  return units;
}
