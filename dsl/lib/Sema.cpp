//===- Sema.cpp - Names, calls, types and sections of .s2s specs ---------===//
//
// Checks every loaded module: name resolution across imports (own file, then
// direct imports, then the prelude), call checking against `model`, `block`
// and `extern` definitions, expression types, and the keys and values of the
// `data`, `rollout`, `parallel` and `train` sections. It reports as many
// errors as it soundly can: an erroneous expression gets the error type,
// which fits everywhere, so one mistake is reported once.
//
//===----------------------------------------------------------------------===//

#include "s2s/DSL/AST.h"
#include "s2s/DSL/Diagnostics.h"
#include "s2s/DSL/Frontend.h"
#include "s2s/DSL/Types.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Casting.h"

using namespace s2s;
using namespace s2s::ast;
using llvm::cast;
using llvm::dyn_cast;
using llvm::isa;

namespace {

//===----------------------------------------------------------------------===//
// Section schemas
//===----------------------------------------------------------------------===//

struct SectionKey {
  const char *key;
  const char *type; ///< a type as written in .s2s: `int`, `list<name>`
  bool required;
  int64_t minimum; ///< for int keys given as literals; INT64_MIN if none
  const char *help;
};

constexpr int64_t noMin = INT64_MIN;

const SectionKey dataKeys[] = {
    {"source", "source", true, noMin, "where the samples are read from"},
    {"channels", "list<name>", true, noMin, "channel names, in model order"},
    {"step", "duration", false, noMin, "time between samples"},
    {"split", "record", false, noMin, "train/valid/test time ranges"},
    {"normalize", "normalizer", false, noMin, "per-channel normalisation"},
    {"memory", "memory", false, noMin, "how samples are held in memory"},
    {"grid", "list<int>", false, noMin,
     "[lat, lon] size, checked against the files"},
    {"history", "int", false, 1, "input time steps per sample"},
};

const SectionKey rolloutKeys[] = {
    {"model", "model", false, noMin, "the model instance to roll out"},
    {"data", "dataset", false, noMin, "the data set"},
    {"order", "int", true, 1, "depth of the autoregressive tableau"},
    {"loss", "loss", true, noMin, "loss against the truth"},
    {"align", "align", false, noMin, "pseudo-future alignment loss"},
    {"jacobian", "regularizer", false, noMin, "Jacobian regularisation"},
    {"patches", "patching", false, noMin, "patch-wise prediction"},
    {"weights", "list<float>", false, noMin, "loss weight per order"},
    {"leads", "list<int>", false, noMin,
     "lead times in data steps, one drawn per sample (lead-time training)"},
};

const SectionKey parallelKeys[] = {
    {"mesh", "record<int>", true, noMin, "device mesh axes and sizes"},
    {"strategy", "strategy", false, noMin, "data-parallel strategy"},
    {"backend", "backend", false, noMin, "collective backend"},
    {"checkpoint_activations", "bool", false, noMin, "recompute activations"},
    {"timeout", "int", false, 1,
     "seconds a collective may wait for the other processes"},
};

const SectionKey trainKeys[] = {
    {"model", "model", false, noMin, "the model instance to train"},
    {"data", "dataset", false, noMin, "the data set"},
    {"optimizer", "optimizer", true, noMin, "the optimizer"},
    {"schedule", "schedule", false, noMin, "learning-rate schedule"},
    {"epochs", "int", true, 1, "passes over the training split"},
    {"batch", "int", true, 1, "global batch size"},
    {"accumulate", "int", false, 1,
     "micro-batches per process and optimizer step"},
    {"precision", "precision", false, noMin, "arithmetic precision"},
    {"checkpoint", "checkpoint", false, noMin, "when and where to save"},
    {"seed", "int", false, 0, "random seed"},
    {"grad_clip", "float", false, noMin, "global gradient-norm clip"},
    {"metrics", "list<metric>", false, noMin, "validation metrics"},
};

//===----------------------------------------------------------------------===//
// Scopes
//===----------------------------------------------------------------------===//

struct Binding {
  const Type *type;
  llvm::SMRange declRange;
  NameTarget target;
  bool assignable;
  const char *what; ///< "parameter", "value", ...
};

struct Scope {
  Scope *parent = nullptr;
  llvm::StringMap<Binding> names;
  /// Inside a forward: layers and blocks may be called.
  bool inForward = false;

  const Binding *lookup(llvm::StringRef name) const {
    for (const Scope *s = this; s; s = s->parent) {
      auto it = s->names.find(name);
      if (it != s->names.end())
        return &it->second;
    }
    return nullptr;
  }
  void collectNames(std::vector<std::string> &out) const {
    for (const Scope *s = this; s; s = s->parent)
      for (auto &kv : s->names)
        out.push_back(kv.getKey().str());
  }
};

class Sema {
public:
  Sema(llvm::ArrayRef<std::unique_ptr<Module>> modules, TypeContext &types,
       DiagnosticEngine &diags)
      : modules(modules), types(types), diags(diags) {}

  bool run();

private:
  // Declarations.
  void collectSymbols(Module &m);
  void checkDecl(const Module &m, Decl &d);
  void checkParams(const Module &m, std::vector<Param> &params, Scope &scope,
                   llvm::StringRef owner);
  void checkModelDef(const Module &m, ModelDef &def);
  void checkModelBody(const Module &m, ModelDef &def);
  void checkExtern(const Module &m, ExternDecl &x);
  void checkEnum(EnumDecl &e);
  const Type *checkLet(LetDecl &let);
  void checkModelInstance(const Module &m, ModelInstanceDecl &inst);
  void checkEntries(const Module &m, std::vector<Entry> &entries,
                    llvm::ArrayRef<SectionKey> schema, llvm::StringRef section,
                    llvm::SMRange header);
  void checkDataSpecifics(DataDecl &data);
  void checkProgram();

  // Forward bodies.
  void checkBody(const Module &m, std::vector<StmtPtr> &body, Scope &scope,
                 const Type *&returned, bool topLevel, llvm::SMRange &retRange);
  void declareLocal(Scope &scope, const Ident &name, const Type *type,
                    bool assignable, const char *what = "value");

  // Expressions.
  const Type *check(const Module &m, Expr &e, Scope &scope,
                    const Type *expected);
  const Type *checkNode(const Module &m, Expr &e, Scope &scope,
                        const Type *expected);
  unsigned depthThrough(const Expr &e) const;
  const Type *checkAgainst(const Module &m, Expr &e, Scope &scope,
                           const Type *expected,
                           llvm::function_ref<std::string()> context);
  const Type *checkName(const Module &m, NameRef &ref, Scope &scope,
                        const Type *expected);
  const Type *checkCall(const Module &m, CallExpr &call, Scope &scope,
                        bool instance);
  const Type *checkBinary(const Module &m, BinaryExpr &e, Scope &scope);
  const Type *typeOfDecl(const Decl *d, llvm::SMRange use);
  const Type *resultOf(const Decl *callee);

  // Types.
  const Type *resolveType(const Module &m, TypeExpr &t, Scope &scope);
  const Type *sizedList(TypeExpr &t, const Type *elem, llvm::StringRef name);
  const Type *parseSchemaType(const Module &m, llvm::StringRef &spec);
  const Type *typeNamed(const Module &m, llvm::StringRef name);

  // Lookup.
  const Decl *lookupGlobal(const Module &m, llvm::StringRef name,
                           llvm::SMRange use, bool report);
  void globalNames(const Module &m, std::vector<std::string> &out);
  void unknownName(const Module &m, llvm::StringRef name, llvm::SMRange range,
                   const Scope *scope, llvm::StringRef what);

  llvm::ArrayRef<std::unique_ptr<Module>> modules;
  TypeContext &types;
  DiagnosticEngine &diags;
  llvm::StringSet<> objectKinds;
  llvm::DenseMap<const ModelDef *, int> modelState; // 1 checking, 2 done
  llvm::DenseMap<const ModelDef *, const Type *> modelResult;
  llvm::DenseMap<const ModelDef *, const Module *> modelModule;
  /// Models and blocks being checked, outermost first (for recursion chains).
  std::vector<const ModelDef *> checking;
  const Module *current = nullptr;

  // Evaluation depth. MLIRGen evaluates an expression recursively, with a
  // constant's value where it is used and a block's body where it is
  // called; so does this checker, when a name is used before its
  // definition. Both stay within maxEvalDepth levels.
  /// check() calls on the stack now.
  unsigned activeChecks = 0;
  /// The depth of the deepest expression checked since it was last reset:
  /// a let or model definition resets it, and keeps it in declDepth.
  unsigned deepest = 0;
  /// How deep evaluating a top-level let, or calling a model or block, goes.
  llvm::DenseMap<const Decl *, unsigned> declDepth;
  bool reportedTooDeep = false;
  void measureDecl(const Decl *d, llvm::function_ref<void()> checkIt);
};

/// The value of an integer literal, possibly negated: `3`, `-1`, `-(2)`.
std::optional<int64_t> literalInt(const Expr *e) {
  if (auto *lit = dyn_cast<IntLit>(e))
    return lit->value;
  if (auto *neg = dyn_cast<NegExpr>(e))
    if (auto v = literalInt(neg->operand.get()))
      if (*v != INT64_MIN)
        return -*v;
  return std::nullopt;
}

bool isBuiltinTypeName(llvm::StringRef n) {
  return llvm::is_contained({"int", "float", "bool", "string", "duration",
                             "bytes", "range", "name", "record", "any",
                             "tensor", "list", "dataset", "model"},
                            n);
}

//===----------------------------------------------------------------------===//
// Lookup
//===----------------------------------------------------------------------===//

void Sema::collectSymbols(Module &m) {
  for (DeclPtr &d : m.decls) {
    if (auto *x = dyn_cast<ExternDecl>(d.get()))
      objectKinds.insert(x->externKind.name);
    const Ident &name = d->getName();
    if (name.name.empty())
      continue;
    if ((isa<EnumDecl>(d.get())) && isBuiltinTypeName(name.name)) {
      diags.error(name.range, "'" + name.name + "' is a built-in type name");
      continue;
    }
    auto [it, inserted] = m.symbols.try_emplace(name.name, d.get());
    if (!inserted) {
      diags.error(name.range, "redefinition of '" + name.name + "'");
      diags.note(it->second->getName().range, "previous definition is here");
    }
  }
}

const Decl *Sema::lookupGlobal(const Module &m, llvm::StringRef name,
                               llvm::SMRange use, bool report) {
  auto own = m.symbols.find(name);
  if (own != m.symbols.end())
    return own->second;
  const Decl *found = nullptr;
  for (const ImportDecl &imp : m.imports) {
    if (!imp.resolved)
      continue;
    auto it = imp.resolved->symbols.find(name);
    if (it == imp.resolved->symbols.end() || it->second == found)
      continue;
    if (found) {
      if (report) {
        diags.error(use, "'" + name + "' is ambiguous");
        diags.note(found->getName().range, "it may be this one");
        diags.note(it->second->getName().range, "or this one");
      }
      return found;
    }
    found = it->second;
  }
  if (found)
    return found;
  if (m.prelude) {
    auto it = m.prelude->symbols.find(name);
    if (it != m.prelude->symbols.end())
      return it->second;
  }
  return nullptr;
}

void Sema::globalNames(const Module &m, std::vector<std::string> &out) {
  for (auto &kv : m.symbols)
    out.push_back(kv.getKey().str());
  for (const ImportDecl &imp : m.imports)
    if (imp.resolved)
      for (auto &kv : imp.resolved->symbols)
        out.push_back(kv.getKey().str());
  if (m.prelude)
    for (auto &kv : m.prelude->symbols)
      out.push_back(kv.getKey().str());
}

void Sema::unknownName(const Module &m, llvm::StringRef name,
                       llvm::SMRange range, const Scope *scope,
                       llvm::StringRef what) {
  std::vector<std::string> candidates;
  if (scope)
    scope->collectNames(candidates);
  globalNames(m, candidates);
  // Enum members are not global names, but a misspelt one is a likely typo.
  auto members = [&](const Module *mm) {
    for (auto &kv : mm->symbols)
      if (auto *e = dyn_cast<EnumDecl>(kv.second))
        for (const Ident &mem : e->members)
          candidates.push_back(mem.name);
  };
  members(&m);
  for (const ImportDecl &imp : m.imports)
    if (imp.resolved)
      members(imp.resolved);
  if (m.prelude)
    members(m.prelude);
  std::string best = DiagnosticEngine::closestMatch(name, candidates);
  if (best.empty())
    diags.error(range, "unknown " + what + " '" + name + "'");
  else
    diags.error(range, "unknown " + what + " '" + name + "'; did you mean '" +
                           best + "'?");
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

const Type *Sema::typeNamed(const Module &m, llvm::StringRef name) {
  using K = Type::Kind;
  static const std::pair<const char *, K> simple[] = {
      {"int", K::Int},         {"float", K::Float},       {"bool", K::Bool},
      {"string", K::String},   {"duration", K::Duration}, {"bytes", K::Bytes},
      {"range", K::Range},     {"name", K::Name},         {"any", K::Any},
      {"dataset", K::Dataset}, {"model", K::Model}};
  for (auto &[n, k] : simple)
    if (name == n)
      return types.get(k);
  if (name == "tensor")
    return types.getTensor();
  if (name == "record")
    return types.getRecord(types.getAny());
  if (const Decl *d = lookupGlobal(m, name, {}, false))
    if (auto *e = dyn_cast<EnumDecl>(d))
      return types.getEnum(e);
  if (objectKinds.contains(name))
    return types.getObject(name);
  return nullptr;
}

const Type *Sema::parseSchemaType(const Module &m, llvm::StringRef &spec) {
  size_t end = spec.find_first_of("<>");
  llvm::StringRef name = spec.substr(0, end);
  spec = spec.drop_front(name.size());
  if (spec.consume_front("<")) {
    const Type *arg = parseSchemaType(m, spec);
    spec.consume_front(">");
    if (name == "list")
      return types.getList(arg);
    return types.getRecord(arg);
  }
  const Type *t = typeNamed(m, name);
  // A schema naming a kind no extern declares (no prelude) accepts anything.
  return t ? t : types.getAny();
}

const Type *Sema::resolveType(const Module &m, TypeExpr &t, Scope &scope) {
  auto done = [&](const Type *r) { return t.resolved = r; };
  llvm::StringRef name = t.name.name;
  if (name == "list" || name == "record") {
    if (t.args.size() > 1) {
      diags.error(t.range, "'" + name + "' takes one type argument");
      return done(types.getError());
    }
    const Type *elem =
        t.args.empty() ? types.getAny() : resolveType(m, *t.args[0], scope);
    if (name == "record") {
      if (t.hasDims)
        diags.error(t.range, "a record type takes no size");
      return done(types.getRecord(elem));
    }
    return done(sizedList(t, elem, name));
  }
  if (!t.args.empty()) {
    diags.error(t.args[0]->range,
                "type '" + name + "' takes no type arguments");
    return done(types.getError());
  }
  if (name == "tensor") {
    if (!t.hasDims)
      return done(types.getTensor());
    for (DimExpr &d : t.dims) {
      if (!d.expr)
        continue;
      // A bare unknown name is a symbolic dimension: bind it for the rest
      // of the enclosing definition.
      if (auto *ref = dyn_cast<NameRef>(d.expr.get())) {
        if (!scope.lookup(ref->name) &&
            !lookupGlobal(m, ref->name, {}, false)) {
          declareLocal(scope, Ident{ref->name, ref->getRange()},
                       types.get(Type::Kind::Int), false);
          check(m, *d.expr, scope, nullptr);
          continue;
        }
      }
      checkAgainst(m, *d.expr, scope, types.get(Type::Kind::Int),
                   [&] { return std::string("a tensor dimension"); });
    }
    return done(types.getTensor(t.dims.size()));
  }
  const Type *base = typeNamed(m, name);
  if (!base) {
    std::vector<std::string> candidates = {
        "int",  "float",  "bool", "string", "duration", "bytes",   "range",
        "name", "record", "any",  "tensor", "list",     "dataset", "model"};
    for (auto &k : objectKinds)
      candidates.push_back(k.getKey().str());
    for (const Module *mm = &m; mm; mm = mm->prelude)
      for (auto &kv : mm->symbols)
        if (isa<EnumDecl>(kv.second))
          candidates.push_back(kv.getKey().str());
    std::string best = DiagnosticEngine::closestMatch(name, candidates);
    if (best.empty())
      diags.error(t.name.range, "unknown type '" + name + "'");
    else
      diags.error(t.name.range,
                  "unknown type '" + name + "'; did you mean '" + best + "'?");
    return done(types.getError());
  }
  if (!t.hasDims)
    return done(base);
  return done(sizedList(t, base, name));
}

/// `T[n]` is a list of exactly n values, `T[]` of any number, and a list
/// type written without brackets takes any number too.
const Type *Sema::sizedList(TypeExpr &t, const Type *elem,
                            llvm::StringRef name) {
  if (!t.hasDims || t.dims.empty())
    return types.getList(elem);
  if (t.dims.size() > 1) {
    diags.error(t.range, "only 'tensor' takes several dimensions");
    return types.getError();
  }
  auto *n = llvm::dyn_cast_or_null<IntLit>(t.dims[0].expr.get());
  if (!n || n->value < 0) {
    diags.error(t.dims[0].range,
                "the length of a list type must be a non-negative integer");
    return types.getError();
  }
  return types.getList(elem, n->value);
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

const Type *Sema::checkAgainst(const Module &m, Expr &e, Scope &scope,
                               const Type *expected,
                               llvm::function_ref<std::string()> context) {
  const Type *t = check(m, e, scope, expected);
  if (!TypeContext::isAssignable(t, expected)) {
    diags.error(e.getRange(), context() + " expects " + expected->str() +
                                  ", got " + t->str());
    return types.getError();
  }
  return t;
}

const Type *Sema::typeOfDecl(const Decl *d, llvm::SMRange use) {
  switch (d->getKind()) {
  case Decl::Kind::Let:
    return checkLet(*const_cast<LetDecl *>(cast<LetDecl>(d)));
  case Decl::Kind::Data:
    return types.get(Type::Kind::Dataset);
  case Decl::Kind::ModelInstance:
    return types.get(Type::Kind::Model);
  case Decl::Kind::ModelDef: {
    auto *def = cast<ModelDef>(d);
    diags.error(use, llvm::Twine(def->isBlock ? "block" : "model") + " '" +
                         def->getName().name +
                         "' is a definition, not a value; call it");
    return types.getError();
  }
  case Decl::Kind::Extern:
    diags.error(use, "'" + d->getName().name +
                         "' is a definition, not a value; call it");
    return types.getError();
  case Decl::Kind::Enum:
    diags.error(use, "'" + d->getName().name +
                         "' is an enum type, not a value; use one of its "
                         "members");
    return types.getError();
  case Decl::Kind::Section:
    break;
  }
  return types.getError();
}

const Type *Sema::checkName(const Module &m, NameRef &ref, Scope &scope,
                            const Type *expected) {
  // A free label, e.g. a channel name: not resolved.
  if (expected && expected->is(Type::Kind::Name)) {
    ref.target = NameTarget::Label;
    return types.get(Type::Kind::Name);
  }
  if (const Binding *b = scope.lookup(ref.name)) {
    ref.target = b->target;
    ref.targetRange = b->declRange;
    return b->type;
  }
  if (expected && expected->is(Type::Kind::Enum)) {
    const EnumDecl *e = expected->getEnum();
    if (const Ident *member = e->find(ref.name)) {
      ref.target = NameTarget::EnumMember;
      ref.decl = e;
      ref.targetRange = member->range;
      return expected;
    }
  }
  if (const Decl *d = lookupGlobal(m, ref.name, ref.getRange(), true)) {
    ref.target = NameTarget::Decl;
    ref.decl = d;
    ref.targetRange = d->getName().range;
    return typeOfDecl(d, ref.getRange());
  }
  if (expected && expected->is(Type::Kind::Enum)) {
    const EnumDecl *e = expected->getEnum();
    std::vector<std::string> members;
    std::string list;
    for (const Ident &mem : e->members) {
      members.push_back(mem.name);
      list += (list.empty() ? "" : ", ") + mem.name;
    }
    std::string best = DiagnosticEngine::closestMatch(ref.name, members);
    diags.error(ref.getRange(),
                "'" + ref.name + "' is not a " + e->getName().name +
                    (best.empty() ? "; expected one of " + list
                                  : "; did you mean '" + best + "'?"));
    return types.getError();
  }
  // Without an expected enum, a member of exactly one visible enum will do.
  const EnumDecl *owner = nullptr, *other = nullptr;
  const Ident *member = nullptr;
  auto scan = [&](const Module *mm) {
    for (auto &kv : mm->symbols)
      if (auto *e = dyn_cast<EnumDecl>(kv.second))
        if (const Ident *mem = e->find(ref.name)) {
          if (owner && owner != e) {
            other = e;
            continue;
          }
          owner = e;
          member = mem;
        }
  };
  scan(&m);
  for (const ImportDecl &imp : m.imports)
    if (imp.resolved)
      scan(imp.resolved);
  if (m.prelude)
    scan(m.prelude);
  if (owner && other) {
    diags.error(ref.getRange(), "'" + ref.name + "' is a member of both '" +
                                    owner->getName().name + "' and '" +
                                    other->getName().name +
                                    "'; it can only be used where one of "
                                    "them is expected");
    return types.getError();
  }
  if (owner) {
    ref.target = NameTarget::EnumMember;
    ref.decl = owner;
    ref.targetRange = member->range;
    return types.getEnum(owner);
  }
  unknownName(m, ref.name, ref.getRange(), &scope, "name");
  return types.getError();
}

const Type *Sema::resultOf(const Decl *callee) {
  if (auto *x = dyn_cast<ExternDecl>(callee)) {
    if (x->resultType && x->resultType->resolved)
      return x->resultType->resolved;
    if (x->externKind.name == "layer")
      return types.getTensor();
    return types.getObject(x->externKind.name);
  }
  auto *def = cast<ModelDef>(callee);
  auto state = modelState.lookup(def);
  if (state == 1)
    return nullptr; // recursion; the caller reports it
  if (state == 0) {
    const Module *saved = current;
    checkModelDef(*modelModule.lookup(def), *const_cast<ModelDef *>(def));
    current = saved;
  }
  const Type *r = modelResult.lookup(def);
  return r ? r : types.getTensor();
}

const Type *Sema::checkCall(const Module &m, CallExpr &call, Scope &scope,
                            bool instance) {
  auto *calleeRef = dyn_cast<NameRef>(call.callee.get());
  if (!calleeRef) {
    diags.error(call.callee->getRange(),
                "only models, blocks and externs can be called");
    for (Argument &a : call.args)
      check(m, *a.value, scope, nullptr);
    return types.getError();
  }
  auto checkArgsLoosely = [&] {
    for (Argument &a : call.args)
      check(m, *a.value, scope, nullptr);
    return types.getError();
  };
  if (const Binding *b = scope.lookup(calleeRef->name)) {
    diags.error(calleeRef->getRange(), "'" + calleeRef->name + "' is a " +
                                           b->what + ", not something to call");
    diags.note(b->declRange, "declared here");
    return checkArgsLoosely();
  }
  const Decl *target =
      lookupGlobal(m, calleeRef->name, calleeRef->getRange(), true);
  if (!target) {
    unknownName(m, calleeRef->name, calleeRef->getRange(), nullptr, "function");
    return checkArgsLoosely();
  }
  calleeRef->target = NameTarget::Decl;
  calleeRef->decl = target;
  calleeRef->targetRange = target->getName().range;
  auto *def = dyn_cast<ModelDef>(target);
  auto *ext = dyn_cast<ExternDecl>(target);
  if (!def && !ext) {
    diags.error(calleeRef->getRange(),
                "'" + calleeRef->name + "' cannot be called");
    diags.note(target->getName().range, "declared here");
    return checkArgsLoosely();
  }
  call.target = target;
  llvm::StringRef calleeName = calleeRef->name;
  bool isLayerLike = def || (ext && ext->externKind.name == "layer");
  if (instance) {
    if (!def || def->isBlock) {
      diags.error(calleeRef->getRange(),
                  "'" + calleeName +
                      "' is not a model definition; a model "
                      "instance needs 'model Name(...) { }'");
      diags.note(target->getName().range, "declared here");
      return checkArgsLoosely();
    }
  } else if (isLayerLike && !scope.inForward) {
    diags.error(
        calleeRef->getRange(),
        llvm::Twine(def ? (def->isBlock ? "block" : "model") : "layer") + " '" +
            calleeName + "' can only be called inside a forward");
    return checkArgsLoosely();
  }

  // A model or block is checked before its call, so that its parameter
  // types are known; one still being checked calls itself.
  const Type *result =
      instance ? types.get(Type::Kind::Model) : resultOf(target);
  if (!result) {
    std::string chain;
    bool inCycle = false;
    for (const ModelDef *d : checking) {
      inCycle = inCycle || d == target;
      if (inCycle)
        chain += d->getName().name + " -> ";
    }
    chain += calleeName.str();
    diags.error(calleeRef->getRange(),
                "recursive use of '" + calleeName + "' (" + chain +
                    "); models and blocks cannot call themselves");
    diags.note(target->getName().range, "'" + calleeName + "' is defined here");
    checkArgsLoosely();
    return types.getError();
  }
  if (instance && def)
    resultOf(target);

  // The signature: config parameters, then (for models and blocks called in
  // a forward) the forward inputs, which positional arguments fill.
  std::vector<const Param *> sig;
  size_t firstPositional = 0;
  if (ext) {
    for (const Param &p : ext->params)
      sig.push_back(&p);
  } else {
    for (const Param &p : def->params)
      sig.push_back(&p);
    firstPositional = sig.size();
    if (!instance && def->forward)
      for (const Param &p : def->forward->inputs)
        sig.push_back(&p);
  }
  std::vector<int> given(sig.size(), -1);
  llvm::StringSet<> suggested;
  call.binding.assign(call.args.size(), -1);
  size_t nextPositional = firstPositional;
  bool sawNamed = false;
  for (size_t i = 0; i < call.args.size(); ++i) {
    Argument &a = call.args[i];
    int slot = -1;
    if (a.name) {
      sawNamed = true;
      for (size_t j = 0; j < sig.size(); ++j)
        if (sig[j]->name.name == a.name->name)
          slot = j;
      if (slot < 0) {
        std::vector<std::string> names;
        for (const Param *p : sig)
          names.push_back(p->name.name);
        std::string best = DiagnosticEngine::closestMatch(a.name->name, names);
        // The likely intended parameter is not reported missing as well.
        if (!best.empty())
          suggested.insert(best);
        diags.error(a.name->range,
                    "'" + calleeName + "' has no parameter '" + a.name->name +
                        "'" +
                        (best.empty() ? std::string()
                                      : "; did you mean '" + best + "'?"));
        diags.note(target->getName().range,
                   "'" + calleeName + "' is declared here");
        check(m, *a.value, scope, nullptr);
        continue;
      }
    } else {
      if (sawNamed) {
        diags.error(a.range, "positional argument after a named argument");
        check(m, *a.value, scope, nullptr);
        continue;
      }
      if (instance) {
        diags.error(a.range, "model parameters are given by name: write "
                             "'name = value'");
        check(m, *a.value, scope, nullptr);
        continue;
      }
      if (nextPositional >= sig.size()) {
        size_t n = sig.size() - firstPositional;
        diags.error(a.range, "too many positional arguments for '" +
                                 calleeName + "' (it takes " + llvm::Twine(n) +
                                 ")");
        diags.note(target->getName().range,
                   "'" + calleeName + "' is declared here");
        check(m, *a.value, scope, nullptr);
        continue;
      }
      slot = nextPositional++;
    }
    if (given[slot] >= 0) {
      diags.error(a.range,
                  "argument '" + sig[slot]->name.name + "' is given twice");
      diags.note(call.args[given[slot]].range, "first given here");
      check(m, *a.value, scope, nullptr);
      continue;
    }
    given[slot] = i;
    call.binding[i] = slot;
    const Type *want = sig[slot]->type->resolved;
    if (!want)
      want = types.getError();
    checkAgainst(m, *a.value, scope, want, [&] {
      return "argument '" + sig[slot]->name.name + "' of '" + calleeName.str() +
             "'";
    });
  }
  for (size_t j = 0; j < sig.size(); ++j) {
    if (given[j] >= 0 || sig[j]->defaultValue ||
        suggested.count(sig[j]->name.name))
      continue;
    diags.error(call.getRange(), "missing argument '" + sig[j]->name.name +
                                     "' for '" + calleeName + "'");
    diags.note(sig[j]->range, "parameter declared here");
  }
  return result;
}

const Type *Sema::checkBinary(const Module &m, BinaryExpr &e, Scope &scope) {
  using K = Type::Kind;
  const Type *l = check(m, *e.lhs, scope, nullptr);
  const Type *r = check(m, *e.rhs, scope, nullptr);
  if (l->is(K::Error) || r->is(K::Error))
    return types.getError();
  char op = e.op;
  auto invalid = [&] {
    diags.error(e.opRange, llvm::Twine("invalid operands to '") +
                               llvm::StringRef(&e.op, 1) + "': " + l->str() +
                               " and " + r->str());
    return types.getError();
  };
  if (l->is(K::Tensor) || r->is(K::Tensor)) {
    const Type *other = l->is(K::Tensor) ? r : l;
    if (op == '%' || !(other->is(K::Tensor) || other->isNumeric()))
      return invalid();
    int64_t rank = -1;
    if (l->is(K::Tensor) && r->is(K::Tensor))
      rank = l->getSize() == r->getSize() ? l->getSize() : -1;
    else
      rank = (l->is(K::Tensor) ? l : r)->getSize();
    return types.getTensor(rank);
  }
  if (l->isNumeric() && r->isNumeric()) {
    if (op == '%' && !(l->is(K::Int) && r->is(K::Int)))
      return invalid();
    return l->is(K::Int) && r->is(K::Int) ? types.get(K::Int)
                                          : types.get(K::Float);
  }
  for (K q : {K::Duration, K::Bytes}) {
    if (l->is(q) && r->is(q)) {
      if (op == '+' || op == '-')
        return l;
      if (op == '/')
        return types.get(K::Float);
      return invalid();
    }
    if ((l->is(q) && r->isNumeric() && (op == '*' || op == '/')) ||
        (l->isNumeric() && r->is(q) && op == '*'))
      return types.get(q);
  }
  if (l->is(K::String) && r->is(K::String) && op == '+')
    return l;
  if (l->is(K::Any) || r->is(K::Any))
    return types.getAny();
  return invalid();
}

static const Type *joinTypes(TypeContext &types, const Type *a, const Type *b) {
  if (!a)
    return b;
  if (a == b)
    return a;
  if (a->is(Type::Kind::Error) || b->is(Type::Kind::Error))
    return types.getError();
  if (a->isNumeric() && b->isNumeric())
    return types.get(Type::Kind::Float);
  if (a->is(Type::Kind::Tensor) && b->is(Type::Kind::Tensor))
    return types.getTensor();
  if (a->is(Type::Kind::None))
    return b;
  if (b->is(Type::Kind::None))
    return a;
  return types.getAny();
}

/// The depth a use adds beyond its own node: a constant's value or a called
/// block's body, evaluated where it is used.
unsigned Sema::depthThrough(const Expr &e) const {
  if (auto *ref = dyn_cast<NameRef>(&e))
    return ref->target == NameTarget::Decl && ref->decl
               ? declDepth.lookup(ref->decl)
               : 0;
  if (auto *call = dyn_cast<CallExpr>(&e))
    return call->target ? declDepth.lookup(call->target) : 0;
  return 0;
}

const Type *Sema::check(const Module &m, Expr &e, Scope &scope,
                        const Type *expected) {
  // One report: the rest of a too deep chain would repeat it.
  auto tooDeep = [&] {
    if (!std::exchange(reportedTooDeep, true))
      diags.error(e.getRange(),
                  "evaluating this nests more than " +
                      llvm::Twine(FrontendOptions::maxEvalDepth) +
                      " operations deep, counting the constants and blocks it "
                      "goes through; use fewer levels of constants defined "
                      "from constants, or of blocks calling blocks");
    return e.type = types.getError();
  };
  if (activeChecks >= FrontendOptions::maxEvalDepth)
    return tooDeep();
  ++activeChecks;
  unsigned outer = std::exchange(deepest, 0);
  const Type *t = checkNode(m, e, scope, expected);
  --activeChecks;
  unsigned depth = std::max(deepest, depthThrough(e)) + 1;
  if (depth > FrontendOptions::maxEvalDepth && !t->is(Type::Kind::Error)) {
    t = tooDeep();
    depth = 0;
  }
  deepest = std::max(outer, depth);
  return t;
}

/// Runs `checkIt` for `d` and records in declDepth how deep it evaluates.
void Sema::measureDecl(const Decl *d, llvm::function_ref<void()> checkIt) {
  unsigned outer = std::exchange(deepest, 0);
  checkIt();
  declDepth[d] = deepest;
  deepest = outer;
}

const Type *Sema::checkNode(const Module &m, Expr &e, Scope &scope,
                            const Type *expected) {
  using K = Type::Kind;
  const Type *t = types.getError();
  switch (e.getKind()) {
  case Expr::Kind::Int:
    t = types.get(K::Int);
    break;
  case Expr::Kind::Float:
    t = types.get(K::Float);
    break;
  case Expr::Kind::Bool:
    t = types.get(K::Bool);
    break;
  case Expr::Kind::None:
    t = types.get(K::None);
    break;
  case Expr::Kind::String:
    t = expected && expected->is(K::Name) ? types.get(K::Name)
                                          : types.get(K::String);
    break;
  case Expr::Kind::Quantity: {
    auto &q = cast<QuantityLit>(e);
    for (const QuantityUnit &u : timeUnits())
      if (q.unit == u.name) {
        q.canonical = q.value * u.factor;
        t = types.get(K::Duration);
      }
    for (const QuantityUnit &u : byteUnits())
      if (q.unit == u.name) {
        q.canonical = q.value * u.factor;
        t = types.get(K::Bytes);
      }
    if (t->is(K::Error)) {
      std::vector<std::string> all;
      for (const QuantityUnit &u : timeUnits())
        all.push_back(u.name);
      for (const QuantityUnit &u : byteUnits())
        all.push_back(u.name);
      std::string best = DiagnosticEngine::closestMatch(q.unit, all);
      diags.error(q.unitRange,
                  "unknown unit '" + q.unit + "'" +
                      (best.empty() ? std::string("; time units are s, min, "
                                                  "h, d, w and sizes B, KB, "
                                                  "MB, GB, TB, KiB, MiB, GiB, "
                                                  "TiB")
                                    : "; did you mean '" + best + "'?"));
    }
    break;
  }
  case Expr::Kind::Name:
    t = checkName(m, cast<NameRef>(e), scope, expected);
    break;
  case Expr::Kind::List: {
    auto &list = cast<ListLit>(e);
    const Type *want =
        expected && expected->is(K::List) ? expected->getElement() : nullptr;
    const Type *elem = nullptr;
    for (ExprPtr &el : list.elems) {
      const Type *et =
          want ? checkAgainst(m, *el, scope, want,
                              [] { return std::string("a list element"); })
               : check(m, *el, scope, nullptr);
      elem = joinTypes(types, elem, et);
    }
    if (want && !list.elems.empty() && !elem->is(K::Error))
      elem = want;
    t = types.getList(elem ? elem : types.getAny(), list.elems.size());
    break;
  }
  case Expr::Kind::Record: {
    auto &rec = cast<RecordLit>(e);
    const Type *want =
        expected && expected->is(K::Record) ? expected->getElement() : nullptr;
    if (want && want->is(K::Any))
      want = nullptr;
    const Type *elem = nullptr;
    llvm::StringMap<const RecordField *> seen;
    for (RecordField &f : rec.fields) {
      auto [it, inserted] = seen.try_emplace(f.key.name, &f);
      if (!inserted) {
        diags.error(f.key.range, "duplicate key '" + f.key.name + "'");
        diags.note(it->second->key.range, "first given here");
      }
      const Type *ft =
          want ? checkAgainst(m, *f.value, scope, want,
                              [&] { return "key '" + f.key.name + "'"; })
               : check(m, *f.value, scope, nullptr);
      elem = joinTypes(types, elem, ft);
    }
    t = types.getRecord(elem ? elem : types.getAny());
    break;
  }
  case Expr::Kind::Tuple: {
    std::vector<const Type *> elems;
    for (ExprPtr &el : cast<TupleLit>(e).elems)
      elems.push_back(check(m, *el, scope, nullptr));
    t = types.getTuple(elems);
    break;
  }
  case Expr::Kind::Neg: {
    const Type *o = check(m, *cast<NegExpr>(e).operand, scope, nullptr);
    if (o->isNumeric() || o->is(K::Tensor) || o->is(K::Duration) ||
        o->is(K::Error))
      t = o;
    else
      diags.error(e.getRange(), "cannot negate a value of type " + o->str());
    break;
  }
  case Expr::Kind::Binary:
    t = checkBinary(m, cast<BinaryExpr>(e), scope);
    break;
  case Expr::Kind::Range: {
    auto &r = cast<RangeExpr>(e);
    const Type *lo = checkAgainst(m, *r.lo, scope, types.get(K::Int),
                                  [] { return std::string("a range bound"); });
    const Type *hi = checkAgainst(m, *r.hi, scope, types.get(K::Int),
                                  [] { return std::string("a range bound"); });
    auto *l = dyn_cast<IntLit>(r.lo.get());
    auto *h = dyn_cast<IntLit>(r.hi.get());
    if (l && h && h->value < l->value)
      diags.error(e.getRange(), "empty range: " + llvm::Twine(l->value) + ".." +
                                    llvm::Twine(h->value) +
                                    " (both ends are included)");
    t = lo->is(K::Error) || hi->is(K::Error) ? types.getError()
                                             : types.get(K::Range);
    break;
  }
  case Expr::Kind::Call:
    t = checkCall(m, cast<CallExpr>(e), scope, /*instance=*/false);
    break;
  case Expr::Kind::Index: {
    auto &ix = cast<IndexExpr>(e);
    const Type *base = check(m, *ix.base, scope, nullptr);
    const Type *idx = checkAgainst(m, *ix.index, scope, types.get(K::Int),
                                   [] { return std::string("an index"); });
    auto *lit = dyn_cast<IntLit>(ix.index.get());
    if (base->is(K::Error) || idx->is(K::Error)) {
      t = types.getError();
    } else if (base->is(K::List)) {
      if (lit && base->getSize() >= 0 &&
          (lit->value < 0 || lit->value >= base->getSize()))
        diags.error(ix.index->getRange(), "index " + llvm::Twine(lit->value) +
                                              " is out of range for " +
                                              base->str());
      t = base->getElement();
    } else if (base->is(K::Tuple)) {
      if (!lit || lit->value < 0 ||
          lit->value >= static_cast<int64_t>(base->getElements().size()))
        diags.error(ix.index->getRange(),
                    "a tuple is indexed by a constant from 0 to " +
                        llvm::Twine(base->getElements().size() - 1));
      else
        t = base->getElements()[lit->value];
    } else if (base->is(K::Tensor)) {
      diags.error(ix.getRange(), "a tensor cannot be indexed; use "
                                 "slice(x, dim = ..., start = ..., end = ...)");
    } else if (base->is(K::Any)) {
      t = types.getAny();
    } else {
      diags.error(ix.base->getRange(),
                  "a value of type " + base->str() + " cannot be indexed");
    }
    break;
  }
  case Expr::Kind::Member: {
    auto &mem = cast<MemberExpr>(e);
    const Type *base = check(m, *mem.base, scope, nullptr);
    llvm::StringRef name = mem.member.name;
    if (base->is(K::Error)) {
      t = base;
    } else if (base->is(K::Tensor)) {
      if (name == "shape")
        t = types.getList(types.get(K::Int), base->getSize());
      else if (name == "rank")
        t = types.get(K::Int);
      else
        diags.error(mem.member.range, "a tensor has no member '" + name +
                                          "'; it has 'shape' and 'rank'");
    } else if (base->is(K::Record) || base->is(K::Any)) {
      // Look into a literal record through a let, when there is one.
      t = base->is(K::Record) ? base->getElement() : base;
      if (auto *ref = dyn_cast<NameRef>(mem.base.get()))
        if (auto *let = llvm::dyn_cast_or_null<LetDecl>(ref->decl))
          if (auto *rec = dyn_cast<RecordLit>(let->value.get())) {
            if (const RecordField *f = rec->find(name)) {
              t = f->value->type ? f->value->type : t;
            } else {
              diags.error(mem.member.range, "record '" + ref->name +
                                                "' has no key '" + name + "'");
              diags.note(rec->getRange(), "the record is here");
              t = types.getError();
            }
          }
    } else {
      diags.error(mem.member.range, "a value of type " + base->str() +
                                        " has no member '" + name + "'");
    }
    break;
  }
  }
  e.type = t;
  return t;
}

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

void Sema::declareLocal(Scope &scope, const Ident &name, const Type *type,
                        bool assignable, const char *what) {
  if (const Binding *prev = scope.lookup(name.name)) {
    diags.error(name.range, "redefinition of '" + name.name + "'");
    diags.note(prev->declRange, "previous definition is here");
    return;
  }
  scope.names[name.name] =
      Binding{type, name.range, NameTarget::Local, assignable, what};
}

void Sema::checkParams(const Module &m, std::vector<Param> &params,
                       Scope &scope, llvm::StringRef owner) {
  for (Param &p : params) {
    const Type *t = resolveType(m, *p.type, scope);
    if (p.defaultValue)
      checkAgainst(m, *p.defaultValue, scope, t,
                   [&] { return "the default of '" + p.name.name + "'"; });
    if (const Binding *prev = scope.lookup(p.name.name)) {
      diags.error(p.name.range, "'" + owner + "' has two parameters named '" +
                                    p.name.name + "'");
      diags.note(prev->declRange, "the first one is here");
      continue;
    }
    scope.names[p.name.name] =
        Binding{t, p.name.range, NameTarget::Parameter, false, "parameter"};
  }
}

void Sema::checkEnum(EnumDecl &e) {
  llvm::StringMap<const Ident *> seen;
  for (const Ident &mem : e.members) {
    auto [it, inserted] = seen.try_emplace(mem.name, &mem);
    if (!inserted) {
      diags.error(mem.range, "'" + mem.name + "' is listed twice in enum '" +
                                 e.getName().name + "'");
      diags.note(it->second->range, "first listed here");
    }
  }
}

void Sema::checkExtern(const Module &m, ExternDecl &x) {
  Scope scope;
  checkParams(m, x.params, scope, x.getName().name);
  if (x.resultType)
    resolveType(m, *x.resultType, scope);
}

const Type *Sema::checkLet(LetDecl &let) {
  if (let.state == LetDecl::State::Checked)
    return let.value->type ? let.value->type : types.getError();
  if (let.state == LetDecl::State::Checking) {
    diags.error(let.getName().range,
                "'" + let.getName().name + "' is defined in terms of itself");
    return types.getError();
  }
  let.state = LetDecl::State::Checking;
  const Module &m = *let.module;
  Scope scope;
  const Type *t;
  measureDecl(&let, [&] {
    if (!let.type) {
      t = check(m, *let.value, scope, nullptr);
      return;
    }
    const Type *want = resolveType(m, *let.type, scope);
    t = checkAgainst(m, *let.value, scope, want,
                     [&] { return "'" + let.getName().name + "'"; });
    if (!t->is(Type::Kind::Error))
      t = want;
  });
  let.value->type = t;
  let.state = LetDecl::State::Checked;
  return t;
}

void Sema::checkBody(const Module &m, std::vector<StmtPtr> &body, Scope &scope,
                     const Type *&returned, bool topLevel,
                     llvm::SMRange &retRange) {
  bool reportedDead = false;
  for (StmtPtr &s : body) {
    if (retRange.isValid() && !reportedDead) {
      diags.error(s->getRange(), "statement after 'return' is never reached");
      reportedDead = true;
    }
    switch (s->getKind()) {
    case Stmt::Kind::Let: {
      auto &let = cast<LetStmt>(*s);
      const Type *t = check(m, *let.value, scope, nullptr);
      if (!let.tuple) {
        declareLocal(scope, let.names[0], t, true);
        break;
      }
      size_t n = let.names.size();
      if (!t->is(Type::Kind::Error) &&
          !(t->is(Type::Kind::Tuple) && t->getElements().size() == n)) {
        diags.error(let.value->getRange(), "cannot unpack " + t->str() +
                                               " into " + llvm::Twine(n) +
                                               " names");
        t = types.getError();
      }
      for (size_t i = 0; i < n; ++i)
        declareLocal(scope, let.names[i],
                     t->is(Type::Kind::Tuple) ? t->getElements()[i] : t, true);
      break;
    }
    case Stmt::Kind::Assign: {
      auto &as = cast<AssignStmt>(*s);
      const Type *t = check(m, *as.value, scope, nullptr);
      const Binding *b = scope.lookup(as.name.name);
      if (!b) {
        diags.error(as.name.range, "assignment to undeclared '" + as.name.name +
                                       "'; declare it with "
                                       "'let " +
                                       as.name.name + " = ...'");
        break;
      }
      if (!b->assignable) {
        diags.error(as.name.range, llvm::Twine("cannot assign to ") + b->what +
                                       " '" + as.name.name + "'");
        diags.note(b->declRange, "declared here");
        break;
      }
      if (!TypeContext::isAssignable(t, b->type)) {
        diags.error(as.value->getRange(), "cannot assign " + t->str() +
                                              " to '" + as.name.name +
                                              "' of type " + b->type->str());
        diags.note(b->declRange, "declared here");
      }
      break;
    }
    case Stmt::Kind::Repeat: {
      auto &rep = cast<RepeatStmt>(*s);
      checkAgainst(m, *rep.count, scope, types.get(Type::Kind::Int),
                   [] { return std::string("'repeat'"); });
      if (auto v = literalInt(rep.count.get()))
        if (*v < 0)
          diags.error(rep.count->getRange(),
                      "'repeat' needs a count of at least 0");
      Scope inner;
      inner.parent = &scope;
      inner.inForward = true;
      if (rep.var)
        declareLocal(inner, *rep.var, types.get(Type::Kind::Int), false,
                     "repeat counter");
      const Type *innerReturn = nullptr;
      llvm::SMRange innerRet;
      checkBody(m, rep.body, inner, innerReturn, /*topLevel=*/false, innerRet);
      break;
    }
    case Stmt::Kind::Return: {
      auto &ret = cast<ReturnStmt>(*s);
      const Type *t = check(m, *ret.value, scope, nullptr);
      if (!topLevel) {
        diags.error(s->getRange(),
                    "'return' inside 'repeat'; return after the loop");
        break;
      }
      if (!retRange.isValid()) {
        returned = t;
        retRange = s->getRange();
      }
      break;
    }
    }
  }
}

void Sema::checkModelDef(const Module &m, ModelDef &def) {
  if (modelState.lookup(&def) != 0)
    return;
  measureDecl(&def, [&] { checkModelBody(m, def); });
}

void Sema::checkModelBody(const Module &m, ModelDef &def) {
  modelState[&def] = 1;
  checking.push_back(&def);
  llvm::scope_exit popChecking([&] { checking.pop_back(); });
  current = &m;
  llvm::StringRef name = def.getName().name;
  Scope scope;
  checkParams(m, def.params, scope, name);
  for (auto &let : def.lets) {
    const Type *t;
    if (let->type) {
      const Type *want = resolveType(m, *let->type, scope);
      t = checkAgainst(m, *let->value, scope, want,
                       [&] { return "'" + let->getName().name + "'"; });
    } else {
      t = check(m, *let->value, scope, nullptr);
    }
    let->value->type = t;
    let->state = LetDecl::State::Checked;
    if (const Binding *prev = scope.lookup(let->getName().name)) {
      diags.error(let->getName().range,
                  "redefinition of '" + let->getName().name + "'");
      diags.note(prev->declRange, "previous definition is here");
      continue;
    }
    scope.names[let->getName().name] =
        Binding{t, let->getName().range, NameTarget::Local, false, "constant"};
  }
  for (ParamDecl &p : def.paramDecls) {
    const Type *t = resolveType(m, *p.type, scope);
    if (!t->is(Type::Kind::Tensor) && !t->isNumeric() &&
        !t->is(Type::Kind::Error))
      diags.error(p.type->range, "a learnable parameter is a tensor or a "
                                 "float, not " +
                                     t->str());
    if (p.init) {
      const Type *it = check(m, *p.init, scope, nullptr);
      bool ok = it->is(Type::Kind::Error) || it->isNumeric() ||
                (it->is(Type::Kind::Object) && it->getObjectKind() == "init");
      if (!ok)
        diags.error(p.init->getRange(),
                    "the initialiser of '" + p.name.name +
                        "' must be a number or an init such as "
                        "normal(std = 0.02), not " +
                        it->str());
    }
    if (const Binding *prev = scope.lookup(p.name.name)) {
      diags.error(p.name.range, "redefinition of '" + p.name.name + "'");
      diags.note(prev->declRange, "previous definition is here");
      continue;
    }
    scope.names[p.name.name] = Binding{t, p.name.range, NameTarget::Parameter,
                                       false, "learnable parameter"};
  }
  if (!def.forward) {
    diags.error(def.getName().range,
                llvm::Twine(def.isBlock ? "block" : "model") + " '" + name +
                    "' has no forward");
    modelState[&def] = 2;
    return;
  }
  Scope fwd;
  fwd.parent = &scope;
  fwd.inForward = true;
  for (Param &in : def.forward->inputs) {
    const Type *t = resolveType(m, *in.type, fwd);
    if (in.defaultValue)
      checkAgainst(m, *in.defaultValue, fwd, t,
                   [&] { return "the default of '" + in.name.name + "'"; });
    if (const Binding *prev = fwd.lookup(in.name.name)) {
      diags.error(in.name.range, "forward input '" + in.name.name +
                                     "' has the name of a " + prev->what);
      diags.note(prev->declRange, "declared here");
      continue;
    }
    fwd.names[in.name.name] =
        Binding{t, in.name.range, NameTarget::Local, true, "forward input"};
  }
  const Type *declared = nullptr;
  if (def.forward->resultType)
    declared = resolveType(m, *def.forward->resultType, fwd);
  const Type *returned = nullptr;
  llvm::SMRange retRange;
  checkBody(m, def.forward->body, fwd, returned, /*topLevel=*/true, retRange);
  if (!retRange.isValid()) {
    diags.error(def.forward->range,
                "the forward of '" + name + "' does not return a value");
    returned = types.getError();
  } else if (declared && !TypeContext::isAssignable(returned, declared)) {
    diags.error(retRange, "the forward of '" + name + "' returns " +
                              returned->str() + " but declares " +
                              declared->str());
    diags.note(def.forward->resultType->range, "declared here");
  }
  modelResult[&def] = declared ? declared : returned;
  modelState[&def] = 2;
}

void Sema::checkModelInstance(const Module &m, ModelInstanceDecl &inst) {
  Scope scope;
  checkCall(m, *inst.call, scope, /*instance=*/true);
  inst.call->type = types.get(Type::Kind::Model);
}

void Sema::checkEntries(const Module &m, std::vector<Entry> &entries,
                        llvm::ArrayRef<SectionKey> schema,
                        llvm::StringRef section, llvm::SMRange header) {
  llvm::StringMap<const Entry *> seen;
  Scope scope;
  for (Entry &e : entries) {
    const SectionKey *key = nullptr;
    for (const SectionKey &k : schema)
      if (e.key.name == k.key)
        key = &k;
    if (!key) {
      std::vector<std::string> names;
      std::string list;
      for (const SectionKey &k : schema) {
        names.push_back(k.key);
        list += (list.empty() ? "" : ", ") + std::string(k.key);
      }
      std::string best = DiagnosticEngine::closestMatch(e.key.name, names);
      diags.error(e.key.range,
                  "unknown key '" + e.key.name + "' in " + section +
                      (best.empty() ? "; known keys are " + list
                                    : "; did you mean '" + best + "'?"));
      check(m, *e.value, scope, nullptr);
      continue;
    }
    auto [it, inserted] = seen.try_emplace(e.key.name, &e);
    if (!inserted) {
      diags.error(e.key.range,
                  "'" + e.key.name + "' is set twice in " + section);
      diags.note(it->second->key.range, "first set here");
      continue;
    }
    llvm::StringRef spec = key->type;
    const Type *want = parseSchemaType(m, spec);
    const Type *t = checkAgainst(m, *e.value, scope, want, [&] {
      return "'" + e.key.name + "' in " + section.str();
    });
    if (key->minimum != noMin && !t->is(Type::Kind::Error))
      if (auto v = literalInt(e.value.get()))
        if (*v < key->minimum)
          diags.error(e.value->getRange(), "'" + e.key.name +
                                               "' must be at least " +
                                               llvm::Twine(key->minimum) +
                                               ", got " + llvm::Twine(*v));
  }
  for (const SectionKey &k : schema)
    if (k.required && !seen.count(k.key)) {
      diags.error(header, llvm::Twine(section) + " is missing '" + k.key +
                              "' (" + k.help + ")");
    }
}

void Sema::checkDataSpecifics(DataDecl &data) {
  if (const Entry *ch = data.find("channels"))
    if (auto *list = dyn_cast<ListLit>(ch->value.get())) {
      if (list->elems.empty())
        diags.error(list->getRange(), "a data set needs at least one channel");
      llvm::StringMap<const Expr *> seen;
      for (ExprPtr &el : list->elems) {
        std::string name;
        if (auto *ref = dyn_cast<NameRef>(el.get()))
          name = ref->name;
        else if (auto *s = dyn_cast<StringLit>(el.get()))
          name = s->value;
        else
          continue;
        auto [it, inserted] = seen.try_emplace(name, el.get());
        if (!inserted) {
          diags.error(el->getRange(), "channel '" + name + "' is listed twice");
          diags.note(it->second->getRange(), "first listed here");
        }
      }
    }
  if (const Entry *split = data.find("split"))
    if (auto *rec = dyn_cast<RecordLit>(split->value.get()))
      for (RecordField &f : rec->fields) {
        if (!llvm::is_contained({"train", "valid", "test"}, f.key.name)) {
          std::string best = DiagnosticEngine::closestMatch(
              f.key.name, {"train", "valid", "test"});
          diags.error(f.key.range,
                      "unknown split '" + f.key.name + "'" +
                          (best.empty() ? "; the splits are train, valid "
                                          "and test"
                                        : "; did you mean '" + best + "'?"));
          continue;
        }
        const Type *t = f.value->type;
        if (t && !t->is(Type::Kind::Range) && !t->is(Type::Kind::Int) &&
            !t->is(Type::Kind::Error))
          diags.error(f.value->getRange(), "split '" + f.key.name +
                                               "' must be a range of years "
                                               "such as 2016..2017 or one "
                                               "year, not " +
                                               t->str());
      }
  if (const Entry *grid = data.find("grid"))
    if (auto *list = dyn_cast<ListLit>(grid->value.get()))
      if (list->elems.size() != 2)
        diags.error(list->getRange(), "'grid' is [lat, lon]: two sizes, got " +
                                          llvm::Twine(list->elems.size()));
}

void Sema::checkDecl(const Module &m, Decl &d) {
  current = &m;
  switch (d.getKind()) {
  case Decl::Kind::Enum:
    checkEnum(cast<EnumDecl>(d));
    break;
  case Decl::Kind::Extern:
    break; // checked first, since calls need their parameter types
  case Decl::Kind::ModelDef:
    checkModelDef(m, cast<ModelDef>(d));
    break;
  case Decl::Kind::Let:
    checkLet(cast<LetDecl>(d));
    break;
  case Decl::Kind::ModelInstance:
    checkModelInstance(m, cast<ModelInstanceDecl>(d));
    break;
  case Decl::Kind::Data: {
    auto &data = cast<DataDecl>(d);
    checkEntries(m, data.entries, dataKeys,
                 "data '" + data.getName().name + "'", data.getName().range);
    checkDataSpecifics(data);
    break;
  }
  case Decl::Kind::Section: {
    auto &sec = cast<SectionDecl>(d);
    llvm::ArrayRef<SectionKey> schema;
    switch (sec.sectionKind) {
    case SectionDecl::SectionKind::Rollout:
      schema = rolloutKeys;
      break;
    case SectionDecl::SectionKind::Parallel:
      schema = parallelKeys;
      break;
    case SectionDecl::SectionKind::Train:
      schema = trainKeys;
      break;
    }
    checkEntries(m, sec.entries, schema,
                 (SectionDecl::kindName(sec.sectionKind) + " section").str(),
                 sec.keywordRange);
    break;
  }
  }
}

/// Whole-program rules: one section of each kind, and sections that leave
/// out `model` or `data` need exactly one to choose from.
void Sema::checkProgram() {
  llvm::StringMap<const SectionDecl *> sections;
  for (const auto &m : modules)
    for (const DeclPtr &d : m->decls) {
      auto *sec = dyn_cast<SectionDecl>(d.get());
      if (!sec)
        continue;
      llvm::StringRef kind = SectionDecl::kindName(sec->sectionKind);
      auto [it, inserted] = sections.try_emplace(kind, sec);
      if (!inserted) {
        diags.error(sec->keywordRange,
                    "a spec has one " + kind + " section; this is the second");
        diags.note(it->second->keywordRange, "the first is here");
      }
    }
  for (const auto &m : modules) {
    std::vector<const Decl *> instances, datasets;
    for (const DeclPtr &d : m->decls) {
      if (isa<ModelInstanceDecl>(d.get()))
        instances.push_back(d.get());
      if (isa<DataDecl>(d.get()))
        datasets.push_back(d.get());
    }
    for (const DeclPtr &d : m->decls) {
      auto *sec = dyn_cast<SectionDecl>(d.get());
      if (!sec || sec->sectionKind == SectionDecl::SectionKind::Parallel)
        continue;
      llvm::StringRef kind = SectionDecl::kindName(sec->sectionKind);
      auto need = [&](const char *key, std::vector<const Decl *> &options,
                      const char *what) {
        if (sec->find(key) || options.size() == 1)
          return;
        if (options.empty())
          diags.error(sec->keywordRange, kind + " section needs a " + what +
                                             ", and this spec declares none");
        else
          diags.error(sec->keywordRange, kind + " section does not say which " +
                                             what + " to use; add '" + key +
                                             " = " +
                                             options[0]->getName().name + "'");
      };
      need("model", instances, "model instance");
      need("data", datasets, "data set");
    }
  }
}

bool Sema::run() {
  unsigned errorsBefore = diags.getNumErrors();
  for (const auto &m : modules)
    collectSymbols(*m);
  for (const auto &m : modules)
    for (DeclPtr &d : m->decls)
      if (auto *def = dyn_cast<ModelDef>(d.get()))
        modelModule[def] = m.get();
  // Externs and enums first: their parameter types are needed by every call.
  for (const auto &m : modules)
    for (DeclPtr &d : m->decls)
      if (auto *x = dyn_cast<ExternDecl>(d.get()))
        checkExtern(*m, *x);
  for (const auto &m : modules)
    for (DeclPtr &d : m->decls) {
      if (diags.reachedLimit())
        return false;
      checkDecl(*m, *d);
    }
  checkProgram();
  return diags.getNumErrors() == errorsBefore;
}

} // namespace

bool s2s::checkModules(llvm::ArrayRef<std::unique_ptr<Module>> modules,
                       TypeContext &types, DiagnosticEngine &diags) {
  Sema sema(modules, types, diags);
  return sema.run();
}
