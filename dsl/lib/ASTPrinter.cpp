//===- ASTPrinter.cpp - The stable text form of `s2sc --emit=ast` --------===//
//
// One node per line, children indented by two spaces, each line ending in
// `@line:col` of the node in its file. Checked expressions carry their type
// after ` : `, names say what they resolved to. The form is meant to be read
// by people and matched by FileCheck, so it changes only deliberately.
//
//===----------------------------------------------------------------------===//

#include "s2s/DSL/AST.h"
#include "s2s/DSL/Frontend.h"
#include "s2s/DSL/Types.h"

#include "llvm/Support/Casting.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace s2s;
using namespace s2s::ast;
using llvm::cast;
using llvm::dyn_cast;

namespace {

class ASTPrinter {
public:
  ASTPrinter(llvm::SourceMgr &srcMgr, llvm::raw_ostream &os)
      : srcMgr(srcMgr), os(os) {}

  void print(const Module &m);

private:
  llvm::raw_ostream &line(unsigned indent) {
    os.indent(indent * 2);
    return os;
  }
  void at(llvm::SMRange r) {
    if (r.Start.isValid()) {
      auto [l, c] = srcMgr.getLineAndColumn(r.Start);
      os << " @" << l << ":" << c;
    }
    os << "\n";
  }
  static std::string typeSuffix(const Type *t) {
    return t ? " : " + t->str() : "";
  }
  static std::string quote(llvm::StringRef s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\')
        out += '\\';
      if (c == '\n')
        out += "\\n";
      else if (c == '\t')
        out += "\\t";
      else
        out += c;
    }
    return out + "\"";
  }
  static std::string typeText(const TypeExpr *t) {
    if (!t)
      return "";
    if (t->resolved)
      return t->resolved->str();
    return t->name.name;
  }

  void printDecl(const Decl &d, unsigned indent);
  void printParams(llvm::StringRef label, const std::vector<Param> &params,
                   unsigned indent);
  void printEntries(const std::vector<Entry> &entries, unsigned indent);
  void printTypeDims(const TypeExpr &t, unsigned indent);
  void printStmt(const Stmt &s, unsigned indent);
  void printExpr(const Expr &e, unsigned indent);

  llvm::SourceMgr &srcMgr;
  llvm::raw_ostream &os;
};

void ASTPrinter::print(const Module &m) {
  os << "module " << quote(m.path) << "\n";
  for (const ImportDecl &imp : m.imports) {
    line(1) << "import " << quote(imp.path);
    at(imp.range);
  }
  for (const DeclPtr &d : m.decls)
    printDecl(*d, 1);
}

void ASTPrinter::printParams(llvm::StringRef label,
                             const std::vector<Param> &params,
                             unsigned indent) {
  for (const Param &p : params) {
    line(indent) << label << " " << p.name.name << " : "
                 << typeText(p.type.get())
                 << (p.defaultValue ? " = default" : " (required)");
    at(p.range);
    printTypeDims(*p.type, indent + 1);
    if (p.defaultValue)
      printExpr(*p.defaultValue, indent + 1);
  }
}

void ASTPrinter::printTypeDims(const TypeExpr &t, unsigned indent) {
  if (!t.resolved || !t.resolved->is(Type::Kind::Tensor) || !t.hasDims)
    return;
  for (const DimExpr &d : t.dims) {
    if (!d.expr) {
      line(indent) << "dim ?";
      at(d.range);
      continue;
    }
    line(indent) << "dim";
    at(d.range);
    printExpr(*d.expr, indent + 1);
  }
}

void ASTPrinter::printEntries(const std::vector<Entry> &entries,
                              unsigned indent) {
  for (const Entry &e : entries) {
    line(indent) << "entry " << e.key.name;
    at(e.range);
    printExpr(*e.value, indent + 1);
  }
}

void ASTPrinter::printDecl(const Decl &d, unsigned indent) {
  switch (d.getKind()) {
  case Decl::Kind::Data: {
    auto &data = cast<DataDecl>(d);
    line(indent) << "data " << data.getName().name;
    at(d.getRange());
    printEntries(data.entries, indent + 1);
    break;
  }
  case Decl::Kind::ModelInstance: {
    auto &inst = cast<ModelInstanceDecl>(d);
    line(indent) << "model-instance " << inst.getName().name;
    at(d.getRange());
    printExpr(*inst.call, indent + 1);
    break;
  }
  case Decl::Kind::ModelDef: {
    auto &def = cast<ModelDef>(d);
    line(indent) << (def.isBlock ? "block " : "model ") << def.getName().name;
    at(d.getRange());
    printParams("param", def.params, indent + 1);
    size_t li = 0, pi = 0;
    for (char item : def.itemOrder) {
      if (item == 'l') {
        printDecl(*def.lets[li++], indent + 1);
      } else if (item == 'p') {
        const ParamDecl &p = def.paramDecls[pi++];
        line(indent + 1) << "learnable " << p.name.name << " : "
                         << typeText(p.type.get());
        at(p.range);
        printTypeDims(*p.type, indent + 2);
        if (p.init)
          printExpr(*p.init, indent + 2);
      } else if (item == 'f' && def.forward) {
        const ForwardDef &f = *def.forward;
        line(indent + 1) << "forward";
        if (f.resultType)
          os << " -> " << typeText(f.resultType.get());
        at(f.range);
        printParams("input", f.inputs, indent + 2);
        for (const StmtPtr &s : f.body)
          printStmt(*s, indent + 2);
      }
    }
    break;
  }
  case Decl::Kind::Extern: {
    auto &x = cast<ExternDecl>(d);
    line(indent) << "extern " << x.externKind.name << " " << x.getName().name;
    if (x.resultType)
      os << " -> " << typeText(x.resultType.get());
    at(d.getRange());
    printParams("param", x.params, indent + 1);
    break;
  }
  case Decl::Kind::Enum: {
    auto &e = cast<EnumDecl>(d);
    line(indent) << "enum " << e.getName().name << " {";
    for (size_t i = 0; i < e.members.size(); ++i)
      os << (i ? ", " : " ") << e.members[i].name;
    os << " }";
    at(d.getRange());
    break;
  }
  case Decl::Kind::Section: {
    auto &s = cast<SectionDecl>(d);
    line(indent) << "section " << SectionDecl::kindName(s.sectionKind);
    at(d.getRange());
    printEntries(s.entries, indent + 1);
    break;
  }
  case Decl::Kind::Let: {
    auto &let = cast<LetDecl>(d);
    line(indent) << "let " << let.getName().name;
    if (let.type)
      os << " : " << typeText(let.type.get());
    at(d.getRange());
    printExpr(*let.value, indent + 1);
    break;
  }
  }
}

void ASTPrinter::printStmt(const Stmt &s, unsigned indent) {
  switch (s.getKind()) {
  case Stmt::Kind::Let: {
    auto &let = cast<LetStmt>(s);
    line(indent) << "let ";
    if (let.tuple)
      os << "(";
    for (size_t i = 0; i < let.names.size(); ++i)
      os << (i ? ", " : "") << let.names[i].name;
    if (let.tuple)
      os << ")";
    at(s.getRange());
    printExpr(*let.value, indent + 1);
    break;
  }
  case Stmt::Kind::Assign: {
    auto &as = cast<AssignStmt>(s);
    line(indent) << "assign " << as.name.name;
    at(s.getRange());
    printExpr(*as.value, indent + 1);
    break;
  }
  case Stmt::Kind::Repeat: {
    auto &rep = cast<RepeatStmt>(s);
    line(indent) << "repeat";
    if (rep.var)
      os << " as " << rep.var->name;
    at(s.getRange());
    printExpr(*rep.count, indent + 1);
    for (const StmtPtr &b : rep.body)
      printStmt(*b, indent + 1);
    break;
  }
  case Stmt::Kind::Return:
    line(indent) << "return";
    at(s.getRange());
    printExpr(*cast<ReturnStmt>(s).value, indent + 1);
    break;
  }
}

static const char *targetName(NameTarget t) {
  switch (t) {
  case NameTarget::Unresolved:
    return "unresolved";
  case NameTarget::Decl:
    return "decl";
  case NameTarget::Parameter:
    return "parameter";
  case NameTarget::Local:
    return "local";
  case NameTarget::EnumMember:
    return "enum member";
  case NameTarget::Label:
    return "label";
  }
  return "?";
}

void ASTPrinter::printExpr(const Expr &e, unsigned indent) {
  std::string ty = typeSuffix(e.type);
  switch (e.getKind()) {
  case Expr::Kind::Int:
    line(indent) << "int " << cast<IntLit>(e).value << ty;
    break;
  case Expr::Kind::Float:
    line(indent) << "float " << llvm::format("%g", cast<FloatLit>(e).value)
                 << ty;
    break;
  case Expr::Kind::Quantity: {
    auto &q = cast<QuantityLit>(e);
    line(indent) << "quantity " << llvm::format("%g", q.value) << " " << q.unit
                 << " (" << llvm::format("%g", q.canonical)
                 << (e.type && e.type->is(Type::Kind::Bytes) ? " bytes" : " s")
                 << ")" << ty;
    break;
  }
  case Expr::Kind::String:
    line(indent) << "string " << quote(cast<StringLit>(e).value) << ty;
    break;
  case Expr::Kind::Bool:
    line(indent) << "bool " << (cast<BoolLit>(e).value ? "true" : "false")
                 << ty;
    break;
  case Expr::Kind::None:
    line(indent) << "none" << ty;
    break;
  case Expr::Kind::Name: {
    auto &n = cast<NameRef>(e);
    line(indent) << "name " << n.name << " (" << targetName(n.target);
    if (n.target == NameTarget::EnumMember && n.decl)
      os << " of " << n.decl->getName().name;
    os << ")" << ty;
    break;
  }
  case Expr::Kind::List:
    line(indent) << "list" << ty;
    at(e.getRange());
    for (const ExprPtr &el : cast<ListLit>(e).elems)
      printExpr(*el, indent + 1);
    return;
  case Expr::Kind::Record:
    line(indent) << "record" << ty;
    at(e.getRange());
    for (const RecordField &f : cast<RecordLit>(e).fields) {
      line(indent + 1) << "key " << f.key.name;
      at(f.key.range);
      printExpr(*f.value, indent + 2);
    }
    return;
  case Expr::Kind::Tuple:
    line(indent) << "tuple" << ty;
    at(e.getRange());
    for (const ExprPtr &el : cast<TupleLit>(e).elems)
      printExpr(*el, indent + 1);
    return;
  case Expr::Kind::Neg:
    line(indent) << "neg" << ty;
    at(e.getRange());
    printExpr(*cast<NegExpr>(e).operand, indent + 1);
    return;
  case Expr::Kind::Binary: {
    auto &b = cast<BinaryExpr>(e);
    line(indent) << "binary " << b.op << ty;
    at(e.getRange());
    printExpr(*b.lhs, indent + 1);
    printExpr(*b.rhs, indent + 1);
    return;
  }
  case Expr::Kind::Range: {
    auto &r = cast<RangeExpr>(e);
    line(indent) << "range" << ty;
    at(e.getRange());
    printExpr(*r.lo, indent + 1);
    printExpr(*r.hi, indent + 1);
    return;
  }
  case Expr::Kind::Call: {
    auto &c = cast<CallExpr>(e);
    line(indent) << "call ";
    if (auto *n = dyn_cast<NameRef>(c.callee.get()))
      os << n->name;
    else
      os << "<expression>";
    if (c.target) {
      if (auto *x = dyn_cast<ExternDecl>(c.target))
        os << " (extern " << x->externKind.name << ")";
      else if (auto *d = dyn_cast<ModelDef>(c.target))
        os << (d->isBlock ? " (block)" : " (model)");
    }
    os << ty;
    at(e.getRange());
    for (size_t i = 0; i < c.args.size(); ++i) {
      const Argument &a = c.args[i];
      line(indent + 1) << "arg ";
      if (a.name)
        os << a.name->name;
      else
        os << "#" << i;
      at(a.range);
      printExpr(*a.value, indent + 2);
    }
    return;
  }
  case Expr::Kind::Index: {
    auto &ix = cast<IndexExpr>(e);
    line(indent) << "index" << ty;
    at(e.getRange());
    printExpr(*ix.base, indent + 1);
    printExpr(*ix.index, indent + 1);
    return;
  }
  case Expr::Kind::Member: {
    auto &m = cast<MemberExpr>(e);
    line(indent) << "member " << m.member.name << ty;
    at(e.getRange());
    printExpr(*m.base, indent + 1);
    return;
  }
  }
  at(e.getRange());
}

} // namespace

void s2s::printAST(const Module &module, llvm::SourceMgr &srcMgr,
                   llvm::raw_ostream &os) {
  ASTPrinter(srcMgr, os).print(module);
}
