//===- AST.h - The typed AST of a .s2s spec ---------------------*- C++ -*-===//
//
// Every node carries the source range it was parsed from (an llvm::SMRange
// into the buffer owned by the SourceMgr), so every later message, including
// MLIR's, can point at the spec. Nodes use LLVM-style RTTI (`llvm::isa`,
// `llvm::dyn_cast`) through their kind.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_DSL_AST_H
#define S2S_DSL_AST_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace s2s {
class Type;
class Module;

namespace ast {

/// A name as written, with where it was written.
struct Ident {
  std::string name;
  llvm::SMRange range;
};

//===----------------------------------------------------------------------===//
// Types as written (`int`, `list<float>`, `tensor[B, C, H, W]`)
//===----------------------------------------------------------------------===//

class Expr;

/// One dimension of a written shape: an expression, or `?` (unknown).
struct DimExpr {
  std::unique_ptr<Expr> expr; // null for `?`
  llvm::SMRange range;
};

struct TypeExpr {
  Ident name;
  std::vector<std::unique_ptr<TypeExpr>> args; // `<...>`
  bool hasDims = false;                        // `[...]` written
  std::vector<DimExpr> dims;
  llvm::SMRange range;
  /// Filled in by Sema.
  const Type *resolved = nullptr;
};

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

class Decl;

class Expr {
public:
  enum class Kind {
    Int,
    Float,
    Quantity,
    String,
    Bool,
    None,
    Name,
    List,
    Record,
    Tuple,
    Neg,
    Binary,
    Range,
    Call,
    Index,
    Member
  };
  Kind getKind() const { return kind; }
  llvm::SMRange getRange() const { return range; }
  llvm::SMLoc getLoc() const { return range.Start; }
  virtual ~Expr() = default;

  /// The type Sema gave this expression; null before Sema or on error.
  const Type *type = nullptr;

protected:
  Expr(Kind kind, llvm::SMRange range) : kind(kind), range(range) {}

private:
  Kind kind;
  llvm::SMRange range;
};

using ExprPtr = std::unique_ptr<Expr>;

class IntLit : public Expr {
public:
  IntLit(int64_t value, llvm::SMRange r) : Expr(Kind::Int, r), value(value) {}
  int64_t value;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Int; }
};

class FloatLit : public Expr {
public:
  FloatLit(double value, llvm::SMRange r)
      : Expr(Kind::Float, r), value(value) {}
  double value;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Float; }
};

/// A number with a unit: `6h`, `512MiB`. `unit` is as written; Sema checks it
/// and sets `canonical` (seconds for durations, bytes for sizes).
class QuantityLit : public Expr {
public:
  QuantityLit(double value, std::string unit, llvm::SMRange unitRange,
              llvm::SMRange r)
      : Expr(Kind::Quantity, r), value(value), unit(std::move(unit)),
        unitRange(unitRange) {}
  double value;
  std::string unit;
  llvm::SMRange unitRange;
  double canonical = 0;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Quantity; }
};

class StringLit : public Expr {
public:
  StringLit(std::string value, llvm::SMRange r)
      : Expr(Kind::String, r), value(std::move(value)) {}
  std::string value;
  static bool classof(const Expr *e) { return e->getKind() == Kind::String; }
};

class BoolLit : public Expr {
public:
  BoolLit(bool value, llvm::SMRange r) : Expr(Kind::Bool, r), value(value) {}
  bool value;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Bool; }
};

class NoneLit : public Expr {
public:
  explicit NoneLit(llvm::SMRange r) : Expr(Kind::None, r) {}
  static bool classof(const Expr *e) { return e->getKind() == Kind::None; }
};

/// What a name refers to once Sema has resolved it.
enum class NameTarget {
  Unresolved,
  Decl,       ///< a top-level declaration (`decl`)
  Parameter,  ///< a parameter of the enclosing model/block/extern
  Local,      ///< a `let`, a forward input or a `repeat` variable
  EnumMember, ///< a member of enum `decl`
  Label,      ///< a free label, e.g. a channel name (type `name`)
};

class NameRef : public Expr {
public:
  NameRef(std::string name, llvm::SMRange r)
      : Expr(Kind::Name, r), name(std::move(name)) {}
  std::string name;
  NameTarget target = NameTarget::Unresolved;
  const Decl *decl = nullptr;
  llvm::SMRange targetRange; ///< where the name was declared, if anywhere
  static bool classof(const Expr *e) { return e->getKind() == Kind::Name; }
};

class ListLit : public Expr {
public:
  ListLit(std::vector<ExprPtr> elems, llvm::SMRange r)
      : Expr(Kind::List, r), elems(std::move(elems)) {}
  std::vector<ExprPtr> elems;
  static bool classof(const Expr *e) { return e->getKind() == Kind::List; }
};

struct RecordField {
  Ident key;
  ExprPtr value;
};

/// `{a: 1, b: 2}`, or with brackets `[data: 8, tensor: 4]`; order is kept.
class RecordLit : public Expr {
public:
  RecordLit(std::vector<RecordField> fields, bool bracketed, llvm::SMRange r)
      : Expr(Kind::Record, r), fields(std::move(fields)), bracketed(bracketed) {
  }
  std::vector<RecordField> fields;
  bool bracketed;
  const RecordField *find(llvm::StringRef key) const;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Record; }
};

class TupleLit : public Expr {
public:
  TupleLit(std::vector<ExprPtr> elems, llvm::SMRange r)
      : Expr(Kind::Tuple, r), elems(std::move(elems)) {}
  std::vector<ExprPtr> elems;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Tuple; }
};

class NegExpr : public Expr {
public:
  NegExpr(ExprPtr operand, llvm::SMRange r)
      : Expr(Kind::Neg, r), operand(std::move(operand)) {}
  ExprPtr operand;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Neg; }
};

class BinaryExpr : public Expr {
public:
  BinaryExpr(char op, llvm::SMRange opRange, ExprPtr lhs, ExprPtr rhs,
             llvm::SMRange r)
      : Expr(Kind::Binary, r), op(op), opRange(opRange), lhs(std::move(lhs)),
        rhs(std::move(rhs)) {}
  char op; ///< one of + - * / %
  llvm::SMRange opRange;
  ExprPtr lhs, rhs;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Binary; }
};

/// `lo..hi`, both ends included.
class RangeExpr : public Expr {
public:
  RangeExpr(ExprPtr lo, ExprPtr hi, llvm::SMRange r)
      : Expr(Kind::Range, r), lo(std::move(lo)), hi(std::move(hi)) {}
  ExprPtr lo, hi;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Range; }
};

struct Argument {
  std::optional<Ident> name; ///< set for `name = value`
  ExprPtr value;
  llvm::SMRange range;
};

class CallExpr : public Expr {
public:
  CallExpr(ExprPtr callee, std::vector<Argument> args, llvm::SMRange r)
      : Expr(Kind::Call, r), callee(std::move(callee)), args(std::move(args)) {}
  ExprPtr callee;
  std::vector<Argument> args;
  /// The called definition (ModelDef or ExternDecl), set by Sema.
  const Decl *target = nullptr;
  /// For each argument, the index of the parameter it binds (see
  /// Decl::signature); set by Sema. Size equals args.size() after Sema.
  std::vector<int> binding;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Call; }
};

class IndexExpr : public Expr {
public:
  IndexExpr(ExprPtr base, ExprPtr index, llvm::SMRange r)
      : Expr(Kind::Index, r), base(std::move(base)), index(std::move(index)) {}
  ExprPtr base, index;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Index; }
};

class MemberExpr : public Expr {
public:
  MemberExpr(ExprPtr base, Ident member, llvm::SMRange r)
      : Expr(Kind::Member, r), base(std::move(base)),
        member(std::move(member)) {}
  ExprPtr base;
  Ident member;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Member; }
};

//===----------------------------------------------------------------------===//
// Statements (inside `forward`)
//===----------------------------------------------------------------------===//

class Stmt {
public:
  enum class Kind { Let, Assign, Repeat, Return };
  Kind getKind() const { return kind; }
  llvm::SMRange getRange() const { return range; }
  virtual ~Stmt() = default;

protected:
  Stmt(Kind kind, llvm::SMRange range) : kind(kind), range(range) {}

private:
  Kind kind;
  llvm::SMRange range;
};

using StmtPtr = std::unique_ptr<Stmt>;

/// `let h = ...` or `let (a, b) = ...`.
class LetStmt : public Stmt {
public:
  LetStmt(std::vector<Ident> names, bool tuple, ExprPtr value, llvm::SMRange r)
      : Stmt(Kind::Let, r), names(std::move(names)), tuple(tuple),
        value(std::move(value)) {}
  std::vector<Ident> names;
  bool tuple;
  ExprPtr value;
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Let; }
};

class AssignStmt : public Stmt {
public:
  AssignStmt(Ident name, ExprPtr value, llvm::SMRange r)
      : Stmt(Kind::Assign, r), name(std::move(name)), value(std::move(value)) {}
  Ident name;
  ExprPtr value;
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Assign; }
};

class RepeatStmt : public Stmt {
public:
  RepeatStmt(ExprPtr count, std::optional<Ident> var, std::vector<StmtPtr> body,
             llvm::SMRange r)
      : Stmt(Kind::Repeat, r), count(std::move(count)), var(std::move(var)),
        body(std::move(body)) {}
  ExprPtr count;
  std::optional<Ident> var;
  std::vector<StmtPtr> body;
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Repeat; }
};

class ReturnStmt : public Stmt {
public:
  ReturnStmt(ExprPtr value, llvm::SMRange r)
      : Stmt(Kind::Return, r), value(std::move(value)) {}
  ExprPtr value;
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Return; }
};

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

/// A typed, optionally defaulted parameter: `embed: int = 768`.
struct Param {
  Ident name;
  std::unique_ptr<TypeExpr> type;
  ExprPtr defaultValue; // may be null: the parameter is required
  llvm::SMRange range;
};

/// `key = value` inside a `data`, `rollout`, `parallel` or `train` section.
struct Entry {
  Ident key;
  ExprPtr value;
  llvm::SMRange range;
};

class Decl {
public:
  enum class Kind { Data, ModelInstance, ModelDef, Extern, Enum, Section, Let };
  Kind getKind() const { return kind; }
  llvm::SMRange getRange() const { return range; }
  /// The declared name; empty for sections.
  const Ident &getName() const { return name; }
  /// The module that declares it.
  const Module *module = nullptr;
  virtual ~Decl() = default;

protected:
  Decl(Kind kind, Ident name, llvm::SMRange range)
      : kind(kind), range(range), name(std::move(name)) {}

private:
  Kind kind;
  llvm::SMRange range;
  Ident name;
};

using DeclPtr = std::unique_ptr<Decl>;

class DataDecl : public Decl {
public:
  DataDecl(Ident name, std::vector<Entry> entries, llvm::SMRange r)
      : Decl(Kind::Data, std::move(name), r), entries(std::move(entries)) {}
  std::vector<Entry> entries;
  const Entry *find(llvm::StringRef key) const;
  static bool classof(const Decl *d) { return d->getKind() == Kind::Data; }
};

/// `model net = AFNONet(channels = 7)`.
class ModelInstanceDecl : public Decl {
public:
  ModelInstanceDecl(Ident name, std::unique_ptr<CallExpr> call, llvm::SMRange r)
      : Decl(Kind::ModelInstance, std::move(name), r), call(std::move(call)) {}
  std::unique_ptr<CallExpr> call;
  static bool classof(const Decl *d) {
    return d->getKind() == Kind::ModelInstance;
  }
};

class LetDecl : public Decl {
public:
  LetDecl(Ident name, std::unique_ptr<TypeExpr> type, ExprPtr value,
          llvm::SMRange r)
      : Decl(Kind::Let, std::move(name), r), type(std::move(type)),
        value(std::move(value)) {}
  std::unique_ptr<TypeExpr> type; // may be null
  ExprPtr value;
  /// Sema's state for checking top-level lets on demand (cycles are errors).
  enum class State { Unchecked, Checking, Checked } state = State::Unchecked;
  static bool classof(const Decl *d) { return d->getKind() == Kind::Let; }
};

/// `param pos: tensor[1, tokens, embed] = normal(std = 0.02)`.
struct ParamDecl {
  Ident name;
  std::unique_ptr<TypeExpr> type;
  ExprPtr init; // may be null: the runtime default initialiser
  llvm::SMRange range;
};

struct ForwardDef {
  std::vector<Param> inputs;
  std::unique_ptr<TypeExpr> resultType; // may be null
  std::vector<StmtPtr> body;
  llvm::SMRange range;
};

/// `model Name(params) { ... }` or `block Name(params) { ... }`.
class ModelDef : public Decl {
public:
  ModelDef(bool isBlock, Ident name, std::vector<Param> params, llvm::SMRange r)
      : Decl(Kind::ModelDef, std::move(name), r), isBlock(isBlock),
        params(std::move(params)) {}
  bool isBlock;
  std::vector<Param> params;
  std::vector<std::unique_ptr<LetDecl>> lets;
  std::vector<ParamDecl> paramDecls;
  std::unique_ptr<ForwardDef> forward; // null if missing (an error)
  /// Items in source order, for printing: 'l' let, 'p' param, 'f' forward.
  std::string itemOrder;
  static bool classof(const Decl *d) { return d->getKind() == Kind::ModelDef; }
};

/// `extern layer linear(x: tensor, out: int, bias: bool = true) -> tensor`.
class ExternDecl : public Decl {
public:
  ExternDecl(Ident externKind, Ident name, std::vector<Param> params,
             std::unique_ptr<TypeExpr> resultType, llvm::SMRange r)
      : Decl(Kind::Extern, std::move(name), r),
        externKind(std::move(externKind)), params(std::move(params)),
        resultType(std::move(resultType)) {}
  Ident externKind;
  std::vector<Param> params;
  std::unique_ptr<TypeExpr> resultType; // may be null
  static bool classof(const Decl *d) { return d->getKind() == Kind::Extern; }
};

class EnumDecl : public Decl {
public:
  EnumDecl(Ident name, std::vector<Ident> members, llvm::SMRange r)
      : Decl(Kind::Enum, std::move(name), r), members(std::move(members)) {}
  std::vector<Ident> members;
  const Ident *find(llvm::StringRef member) const;
  static bool classof(const Decl *d) { return d->getKind() == Kind::Enum; }
};

/// `rollout { ... }`, `parallel { ... }`, `train { ... }`.
class SectionDecl : public Decl {
public:
  enum class SectionKind { Rollout, Parallel, Train };
  SectionDecl(SectionKind sectionKind, llvm::SMRange keywordRange,
              std::vector<Entry> entries, llvm::SMRange r)
      : Decl(Kind::Section, Ident{}, r), sectionKind(sectionKind),
        keywordRange(keywordRange), entries(std::move(entries)) {}
  SectionKind sectionKind;
  llvm::SMRange keywordRange;
  std::vector<Entry> entries;
  const Entry *find(llvm::StringRef key) const;
  static llvm::StringRef kindName(SectionKind k);
  static bool classof(const Decl *d) { return d->getKind() == Kind::Section; }
};

struct ImportDecl {
  std::string path; ///< as written
  llvm::SMRange range;
  const Module *resolved = nullptr;
};

} // namespace ast
} // namespace s2s

#endif // S2S_DSL_AST_H
