//===- ASTBuilder.cpp - ANTLR parse trees to the typed s2s AST -----------===//
//
// Runs the generated ANTLR lexer and parser over one source buffer, turns
// ANTLR's syntax errors into s2s diagnostics, and, when the file parsed
// cleanly, builds the AST by hand from the parse tree.
//
// The buffer reaches ANTLR byte for byte (each byte one "character"), so
// token indices are byte offsets into the SourceMgr's buffer: locations are
// exact for any input, valid UTF-8 or not, and no decoder can throw.
//
//===----------------------------------------------------------------------===//

#include "s2s/DSL/AST.h"
#include "s2s/DSL/Diagnostics.h"
#include "s2s/DSL/Frontend.h"

#include "S2SLexer.h"
#include "S2SParser.h"
#include "antlr4-runtime.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Casting.h"

#include <cmath>
#include <set>

using namespace s2s;
using namespace s2s::ast;
using s2s::grammar::S2SLexer;
using s2s::grammar::S2SParser;

namespace {

/// An input stream holding the buffer's bytes unchanged.
class ByteInputStream : public antlr4::ANTLRInputStream {
public:
  ByteInputStream(llvm::StringRef bytes, llvm::StringRef name) {
    _data.reserve(bytes.size());
    for (char c : bytes)
      _data.push_back(static_cast<unsigned char>(c));
    p = 0;
    this->name = name.str();
  }
};

//===----------------------------------------------------------------------===//
// Syntax errors
//===----------------------------------------------------------------------===//

class SyntaxErrorReporter : public antlr4::BaseErrorListener {
public:
  SyntaxErrorReporter(DiagnosticEngine &diags, llvm::StringRef buffer)
      : diags(diags), buffer(buffer) {}

  void syntaxError(antlr4::Recognizer *recognizer,
                   antlr4::Token *offendingSymbol, size_t line,
                   size_t charPositionInLine, const std::string &msg,
                   std::exception_ptr e) override {
    ++count;
    auto *parser = dynamic_cast<antlr4::Parser *>(recognizer);
    if (!parser || !offendingSymbol) {
      // The lexer has a catch-all rule, so this is not expected; report it
      // at the line and column ANTLR gives rather than lose it.
      diags.error(llvm::SMRange(), llvm::Twine("syntax error at line ") +
                                       llvm::Twine(line) + ":" +
                                       llvm::Twine(charPositionInLine + 1));
      return;
    }
    llvm::SMRange range = tokenRange(offendingSymbol);
    size_t type = offendingSymbol->getType();
    size_t at = offendingSymbol->getStartIndex();
    if (type != antlr4::Token::EOF && at + 1 < buffer.size() &&
        buffer[at] == '/' && buffer[at + 1] == '*') {
      diags.error(range, "unterminated /* comment");
      return;
    }
    if (type == S2SLexer::UNKNOWN_CHAR) {
      reportUnknownChar(offendingSymbol, range);
      return;
    }
    if (reportDetachedUnit(parser->getTokenStream(), offendingSymbol))
      return;
    antlr4::misc::IntervalSet expected;
    try {
      expected = parser->getExpectedTokens();
    } catch (...) {
      // The expected set cannot always be computed during recovery.
    }
    std::string what = describeExpected(expected, parser->getVocabulary());
    std::string got = type == antlr4::Token::EOF
                          ? std::string("end of file")
                          : "'" + tokenText(offendingSymbol) + "'";
    if (what.empty())
      diags.error(range, "unexpected " + got);
    else
      diags.error(range, "expected " + what + ", found " + got);
  }

  unsigned count = 0;

private:
  llvm::SMRange tokenRange(antlr4::Token *tok) {
    size_t start = tok->getStartIndex();
    if (tok->getType() == antlr4::Token::EOF || start > buffer.size()) {
      // Point just past the last line's text, not at an empty line.
      start = buffer.size();
      while (start > 0 &&
             (buffer[start - 1] == '\n' || buffer[start - 1] == '\r'))
        --start;
    }
    size_t stop = tok->getType() == antlr4::Token::EOF
                      ? start
                      : std::min(tok->getStopIndex() + 1, buffer.size());
    if (stop < start)
      stop = start;
    return {llvm::SMLoc::getFromPointer(buffer.data() + start),
            llvm::SMLoc::getFromPointer(buffer.data() + stop)};
  }

  std::string tokenText(antlr4::Token *tok) {
    size_t start = tok->getStartIndex(), stop = tok->getStopIndex();
    if (start >= buffer.size() || stop < start)
      return "";
    llvm::StringRef text = buffer.slice(start, stop + 1);
    if (text.size() > 40)
      return (text.take_front(37) + "...").str();
    return text.str();
  }

  /// `step = 6 parsecs`: a number, blanks and a name on one line, where the
  /// parser wanted something else, is a unit written apart from its number.
  /// Reported at the name, not where the parser gave up (the next line).
  bool reportDetachedUnit(antlr4::TokenStream *tokens,
                          antlr4::Token *offending) {
    auto isName = [](antlr4::Token *t) {
      return t && t->getType() == S2SLexer::IDENT;
    };
    antlr4::Token *name = offending, *number = tokens->LT(-1);
    if (!isName(name)) {
      name = number;
      number = tokens->LT(-2);
    }
    if (!isName(name) || !number ||
        (number->getType() != S2SLexer::INT &&
         number->getType() != S2SLexer::FLOAT))
      return false;
    size_t gapStart = number->getStopIndex() + 1;
    size_t gapEnd = name->getStartIndex();
    if (gapEnd <= gapStart || gapEnd > buffer.size() ||
        buffer.slice(gapStart, gapEnd).find_first_not_of(" \t") !=
            llvm::StringRef::npos)
      return false;
    diags.error(tokenRange(name),
                "'" + tokenText(name) + "' is written apart from the number " +
                    tokenText(number) +
                    ": a unit follows its number with no space, as in 6h or "
                    "512MiB");
    return true;
  }

  void reportUnknownChar(antlr4::Token *tok, llvm::SMRange range) {
    size_t at = tok->getStartIndex();
    char c = at < buffer.size() ? buffer[at] : '\0';
    if (c == '"') {
      diags.error(range, "unterminated string literal");
      return;
    }
    if (c == '/' && at + 1 < buffer.size() && buffer[at + 1] == '*') {
      diags.error(range, "unterminated /* comment");
      return;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      diags.error(range, "unexpected byte 0x" + llvm::utohexstr(u, true, 2) +
                             "; names and operators are ASCII");
      return;
    }
    diags.error(range, llvm::Twine("unexpected character '") +
                           llvm::StringRef(&c, 1) + "'");
  }

  /// Turns ANTLR's expected-token set into words a person reads.
  static std::string describeExpected(const antlr4::misc::IntervalSet &set,
                                      const antlr4::dfa::Vocabulary &vocab) {
    if (set.isEmpty())
      return "";
    std::set<ssize_t> tokens;
    for (ssize_t t : set.toList())
      tokens.insert(t);
    auto has = [&](ssize_t t) { return tokens.count(t) != 0; };
    std::vector<std::string> parts;
    auto eraseSoftKeywords = [&] {
      // Soft keywords may stand as names: do not list them one by one.
      for (ssize_t t : {S2SLexer::IDENT, S2SLexer::DATA, S2SLexer::MODEL,
                        S2SLexer::BLOCK, S2SLexer::EXTERN, S2SLexer::ENUM,
                        S2SLexer::ROLLOUT, S2SLexer::PARALLEL, S2SLexer::TRAIN,
                        S2SLexer::PARAM, S2SLexer::FORWARD, S2SLexer::AS})
        tokens.erase(t);
    };
    if (has(S2SLexer::DATA) && has(S2SLexer::ROLLOUT) && has(S2SLexer::TRAIN) &&
        !has(S2SLexer::IDENT))
      return "a declaration (import, data, model, block, extern, enum, let, "
             "rollout, parallel or train)";
    if (has(S2SLexer::INT) && has(S2SLexer::STRING) && has(S2SLexer::IDENT)) {
      parts.push_back("an expression");
      eraseSoftKeywords();
      for (ssize_t t : {S2SLexer::INT, S2SLexer::FLOAT, S2SLexer::QUANTITY,
                        S2SLexer::STRING, S2SLexer::IDENT, S2SLexer::TRUE,
                        S2SLexer::FALSE, S2SLexer::NONE})
        tokens.erase(t);
      for (const char *lit : {"'['", "'('", "'{'", "'-'"})
        for (ssize_t t : std::set<ssize_t>(tokens))
          if (vocab.getLiteralName(t) == lit)
            tokens.erase(t);
    }
    if (has(S2SLexer::IDENT)) {
      parts.push_back("a name");
      eraseSoftKeywords();
    }
    for (ssize_t t : tokens) {
      if (t == static_cast<ssize_t>(antlr4::Token::EOF)) {
        parts.push_back("end of file");
        continue;
      }
      std::string lit = vocab.getLiteralName(t);
      if (!lit.empty()) {
        parts.push_back(lit);
        continue;
      }
      switch (t) {
      case S2SLexer::STRING:
        parts.push_back("a string");
        break;
      case S2SLexer::INT:
        parts.push_back("an integer");
        break;
      default:
        parts.push_back(vocab.getDisplayName(t));
        break;
      }
    }
    // Keep messages short: a long list helps nobody.
    if (parts.size() > 5) {
      parts.resize(5);
      parts.push_back("...");
    }
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i)
        out += i + 1 == parts.size() ? " or " : ", ";
      out += parts[i];
    }
    return out;
  }

  DiagnosticEngine &diags;
  llvm::StringRef buffer;
};

/// Rejects nesting deeper than `limit` before the recursive-descent parser
/// sees it, so no input can exhaust the stack.
bool checkNesting(antlr4::CommonTokenStream &tokens, llvm::StringRef buffer,
                  unsigned limit, DiagnosticEngine &diags) {
  unsigned depth = 0, unaryRun = 0;
  for (antlr4::Token *tok : tokens.getTokens()) {
    llvm::StringRef text;
    size_t start = tok->getStartIndex();
    if (tok->getType() != antlr4::Token::EOF && start < buffer.size())
      text = buffer.slice(start, tok->getStopIndex() + 1);
    if (text == "(" || text == "[" || text == "{" || text == "<")
      ++depth;
    else if ((text == ")" || text == "]" || text == "}" || text == ">") &&
             depth)
      --depth;
    unaryRun = text == "-" ? unaryRun + 1 : 0;
    if (depth > limit || unaryRun > limit) {
      const char *p = buffer.data() + start;
      diags.error(llvm::SMRange(llvm::SMLoc::getFromPointer(p),
                                llvm::SMLoc::getFromPointer(p + 1)),
                  llvm::Twine("nesting is deeper than ") + llvm::Twine(limit) +
                      " levels; split this expression with 'let'");
      return false;
    }
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Parse tree to AST
//===----------------------------------------------------------------------===//

class ASTBuilder {
public:
  ASTBuilder(llvm::StringRef buffer, DiagnosticEngine &diags)
      : buffer(buffer), diags(diags) {}

  std::unique_ptr<Module> build(S2SParser::SpecContext *spec);
  /// Set when an expression nests too deeply to build; the module is dropped.
  bool failed = false;

private:
  llvm::SMLoc loc(size_t offset) const {
    return llvm::SMLoc::getFromPointer(buffer.data() +
                                       std::min(offset, buffer.size()));
  }
  llvm::SMRange range(antlr4::Token *start, antlr4::Token *stop) const {
    size_t end = stop->getStopIndex() + 1;
    if (end < start->getStartIndex())
      end = start->getStartIndex();
    return {loc(start->getStartIndex()), loc(end)};
  }
  llvm::SMRange range(antlr4::ParserRuleContext *ctx) const {
    return range(ctx->getStart(), ctx->getStop());
  }
  llvm::SMRange range(antlr4::tree::TerminalNode *node) const {
    return range(node->getSymbol(), node->getSymbol());
  }
  llvm::StringRef text(antlr4::Token *tok) const {
    return buffer.slice(tok->getStartIndex(), tok->getStopIndex() + 1);
  }
  llvm::StringRef text(antlr4::ParserRuleContext *ctx) const {
    return buffer.slice(ctx->getStart()->getStartIndex(),
                        ctx->getStop()->getStopIndex() + 1);
  }

  Ident ident(S2SParser::IdentContext *ctx) {
    return Ident{text(ctx).str(), range(ctx)};
  }

  std::unique_ptr<TypeExpr> type(S2SParser::TypeContext *ctx);
  std::vector<Param> params(S2SParser::ParamListContext *ctx);
  std::vector<Entry> entries(const std::vector<S2SParser::EntryContext *> &);
  DeclPtr topDecl(S2SParser::TopDeclContext *ctx);
  std::unique_ptr<LetDecl> letDecl(S2SParser::LetDeclContext *ctx);
  DeclPtr modelDef(S2SParser::ModelDefContext *ctx);
  std::unique_ptr<CallExpr> call(S2SParser::CallContext *ctx);
  std::vector<StmtPtr> block(S2SParser::BlockContext *ctx);
  StmtPtr stmt(S2SParser::StmtContext *ctx);
  ExprPtr expr(S2SParser::ExprContext *ctx);
  ExprPtr postfix(S2SParser::PostfixContext *ctx);
  ExprPtr primary(S2SParser::PrimaryContext *ctx);
  std::vector<Argument> args(S2SParser::ArgListContext *ctx);
  std::vector<RecordField>
  fields(const std::vector<S2SParser::RecordFieldContext *> &ctxs);
  std::string unescape(antlr4::Token *tok);
  bool deeper(llvm::SMRange at);
  ExprPtr number(antlr4::Token *tok, bool isFloat);
  ExprPtr quantity(antlr4::Token *tok);

  llvm::StringRef buffer;
  DiagnosticEngine &diags;
  /// Expression depth: left-nested operator chains and suffix chains
  /// (`x.a.b`, `f(1)(2)`) are not bounded by bracket nesting, so the builder
  /// bounds its own recursion and the depth of the trees it builds.
  unsigned depth = 0;
  static constexpr unsigned maxDepth = 1000;
};

std::unique_ptr<Module> ASTBuilder::build(S2SParser::SpecContext *spec) {
  auto module = std::make_unique<Module>();
  for (auto *imp : spec->importDecl()) {
    ImportDecl decl;
    decl.path = unescape(imp->STRING()->getSymbol());
    decl.range = range(imp->STRING());
    module->imports.push_back(std::move(decl));
  }
  for (auto *top : spec->topDecl()) {
    DeclPtr decl = topDecl(top);
    if (failed)
      return nullptr;
    if (decl) {
      decl->module = module.get();
      module->decls.push_back(std::move(decl));
    }
  }
  return module;
}

std::unique_ptr<TypeExpr> ASTBuilder::type(S2SParser::TypeContext *ctx) {
  auto t = std::make_unique<TypeExpr>();
  t->name = ident(ctx->name);
  t->range = range(ctx);
  for (auto *arg : ctx->type())
    t->args.push_back(type(arg));
  // `[` ... `]` were written iff the type ends in `]`.
  t->hasDims = text(ctx->getStop()) == "]";
  if (auto *dims = ctx->dimList()) {
    for (auto *d : dims->dim()) {
      DimExpr dim;
      dim.range = range(d);
      if (auto *e = dynamic_cast<S2SParser::ExprDimContext *>(d))
        dim.expr = expr(e->expr());
      t->dims.push_back(std::move(dim));
    }
  }
  return t;
}

std::vector<Param> ASTBuilder::params(S2SParser::ParamListContext *ctx) {
  std::vector<Param> out;
  if (!ctx)
    return out;
  for (auto *p : ctx->param()) {
    Param param;
    param.name = ident(p->name);
    param.type = type(p->type());
    if (p->expr())
      param.defaultValue = expr(p->expr());
    param.range = range(p);
    out.push_back(std::move(param));
  }
  return out;
}

std::vector<Entry>
ASTBuilder::entries(const std::vector<S2SParser::EntryContext *> &ctxs) {
  std::vector<Entry> out;
  for (auto *e : ctxs)
    out.push_back(Entry{ident(e->key), expr(e->expr()), range(e)});
  return out;
}

std::unique_ptr<LetDecl> ASTBuilder::letDecl(S2SParser::LetDeclContext *ctx) {
  return std::make_unique<LetDecl>(ident(ctx->name),
                                   ctx->type() ? type(ctx->type()) : nullptr,
                                   expr(ctx->expr()), range(ctx));
}

DeclPtr ASTBuilder::topDecl(S2SParser::TopDeclContext *ctx) {
  if (auto *d = ctx->dataDecl())
    return std::make_unique<DataDecl>(ident(d->name), entries(d->entry()),
                                      range(d));
  if (auto *m = ctx->modelInstance())
    return std::make_unique<ModelInstanceDecl>(ident(m->name), call(m->call()),
                                               range(m));
  if (auto *m = ctx->modelDef())
    return modelDef(m);
  if (auto *x = ctx->externDecl())
    return std::make_unique<ExternDecl>(
        ident(x->kind), ident(x->name), params(x->paramList()),
        x->type() ? type(x->type()) : nullptr, range(x));
  if (auto *e = ctx->enumDecl()) {
    std::vector<Ident> members;
    for (auto *m : e->ident())
      if (m != e->name)
        members.push_back(ident(m));
    return std::make_unique<EnumDecl>(ident(e->name), std::move(members),
                                      range(e));
  }
  if (auto *s = ctx->sectionDecl()) {
    SectionDecl::SectionKind kind = SectionDecl::SectionKind::Train;
    if (s->kind->getType() == S2SLexer::ROLLOUT)
      kind = SectionDecl::SectionKind::Rollout;
    else if (s->kind->getType() == S2SLexer::PARALLEL)
      kind = SectionDecl::SectionKind::Parallel;
    return std::make_unique<SectionDecl>(kind, range(s->kind, s->kind),
                                         entries(s->entry()), range(s));
  }
  if (auto *l = ctx->letDecl())
    return letDecl(l);
  return nullptr;
}

DeclPtr ASTBuilder::modelDef(S2SParser::ModelDefContext *ctx) {
  auto def = std::make_unique<ModelDef>(ctx->kind->getType() == S2SLexer::BLOCK,
                                        ident(ctx->name),
                                        params(ctx->paramList()), range(ctx));
  for (auto *item : ctx->modelItem()) {
    if (auto *l = item->letDecl()) {
      def->lets.push_back(letDecl(l));
      def->itemOrder += 'l';
    } else if (auto *p = item->paramDecl()) {
      ParamDecl pd;
      pd.name = ident(p->name);
      pd.type = type(p->type());
      if (p->expr())
        pd.init = expr(p->expr());
      pd.range = range(p);
      def->paramDecls.push_back(std::move(pd));
      def->itemOrder += 'p';
    } else if (auto *f = item->forwardDef()) {
      auto fwd = std::make_unique<ForwardDef>();
      fwd->inputs = params(f->paramList());
      if (f->type())
        fwd->resultType = type(f->type());
      fwd->body = block(f->block());
      fwd->range = range(f);
      if (def->forward) {
        diags.error(range(f->FORWARD()),
                    "'" + def->getName().name + "' has more than one forward");
        diags.note(def->forward->range, "the first forward is here");
        continue;
      }
      def->forward = std::move(fwd);
      def->itemOrder += 'f';
    }
  }
  return def;
}

std::unique_ptr<CallExpr> ASTBuilder::call(S2SParser::CallContext *ctx) {
  Ident callee = ident(ctx->callee);
  auto ref = std::make_unique<NameRef>(callee.name, callee.range);
  return std::make_unique<CallExpr>(std::move(ref), args(ctx->argList()),
                                    range(ctx));
}

std::vector<StmtPtr> ASTBuilder::block(S2SParser::BlockContext *ctx) {
  std::vector<StmtPtr> out;
  for (auto *s : ctx->stmt())
    out.push_back(stmt(s));
  return out;
}

StmtPtr ASTBuilder::stmt(S2SParser::StmtContext *ctx) {
  if (++depth > maxDepth) {
    if (!failed)
      diags.error(range(ctx), "statements are nested too deeply");
    failed = true;
  }
  llvm::scope_exit done([&] { --depth; });
  if (failed)
    return nullptr;
  if (auto *s = dynamic_cast<S2SParser::LetStmtContext *>(ctx)) {
    std::vector<Ident> names;
    for (auto *n : s->target()->ident())
      names.push_back(ident(n));
    bool tuple = text(s->target()->getStart()) == "(";
    return std::make_unique<LetStmt>(std::move(names), tuple, expr(s->expr()),
                                     range(ctx));
  }
  if (auto *s = dynamic_cast<S2SParser::AssignStmtContext *>(ctx))
    return std::make_unique<AssignStmt>(ident(s->name), expr(s->expr()),
                                        range(ctx));
  if (auto *s = dynamic_cast<S2SParser::RepeatStmtContext *>(ctx)) {
    std::optional<Ident> var;
    if (s->var)
      var = ident(s->var);
    ExprPtr count = expr(s->count);
    return std::make_unique<RepeatStmt>(std::move(count), std::move(var),
                                        block(s->block()), range(ctx));
  }
  auto *s = dynamic_cast<S2SParser::ReturnStmtContext *>(ctx);
  return std::make_unique<ReturnStmt>(expr(s->expr()), range(ctx));
}

/// Counts one more nested operation; past maxDepth, reports the expression
/// `at` (once) and fails the module.
bool ASTBuilder::deeper(llvm::SMRange at) {
  if (++depth <= maxDepth)
    return !failed;
  if (!failed)
    diags.error(at, llvm::Twine("expression is too deep (more than ") +
                        llvm::Twine(maxDepth) +
                        " nested operations); split it with 'let'");
  failed = true;
  return false;
}

ExprPtr ASTBuilder::expr(S2SParser::ExprContext *ctx) {
  bool ok = deeper(range(ctx));
  llvm::scope_exit done([&] { --depth; });
  if (!ok)
    return std::make_unique<NoneLit>(range(ctx));

  if (auto *e = dynamic_cast<S2SParser::PostfixExprContext *>(ctx))
    return postfix(e->postfix());
  if (auto *e = dynamic_cast<S2SParser::NegExprContext *>(ctx))
    return std::make_unique<NegExpr>(expr(e->expr()), range(ctx));
  if (auto *e = dynamic_cast<S2SParser::RangeExprContext *>(ctx))
    return std::make_unique<RangeExpr>(expr(e->lhs), expr(e->rhs), range(ctx));
  antlr4::Token *op = nullptr;
  S2SParser::ExprContext *lhs = nullptr, *rhs = nullptr;
  if (auto *e = dynamic_cast<S2SParser::MulExprContext *>(ctx)) {
    op = e->op;
    lhs = e->expr(0);
    rhs = e->expr(1);
  } else {
    auto *a = dynamic_cast<S2SParser::AddExprContext *>(ctx);
    op = a->op;
    lhs = a->expr(0);
    rhs = a->expr(1);
  }
  ExprPtr l = expr(lhs);
  ExprPtr r = expr(rhs);
  return std::make_unique<BinaryExpr>(text(op)[0], range(op, op), std::move(l),
                                      std::move(r), range(ctx));
}

ExprPtr ASTBuilder::postfix(S2SParser::PostfixContext *ctx) {
  ExprPtr e = primary(ctx->primary());
  antlr4::Token *start = ctx->getStart();
  // Each suffix nests the expression before it one level deeper.
  unsigned levels = 0;
  llvm::scope_exit done([&] { depth -= levels; });
  for (auto *s : ctx->suffix()) {
    llvm::SMRange r = range(start, s->getStop());
    ++levels;
    if (!deeper(r))
      return std::make_unique<NoneLit>(range(ctx));
    if (auto *c = dynamic_cast<S2SParser::CallSuffixContext *>(s))
      e = std::make_unique<CallExpr>(std::move(e), args(c->argList()), r);
    else if (auto *i = dynamic_cast<S2SParser::IndexSuffixContext *>(s))
      e = std::make_unique<IndexExpr>(std::move(e), expr(i->expr()), r);
    else if (auto *m = dynamic_cast<S2SParser::MemberSuffixContext *>(s))
      e = std::make_unique<MemberExpr>(std::move(e), ident(m->ident()), r);
  }
  return e;
}

std::vector<Argument> ASTBuilder::args(S2SParser::ArgListContext *ctx) {
  std::vector<Argument> out;
  if (!ctx)
    return out;
  for (auto *a : ctx->arg()) {
    Argument arg;
    if (a->name)
      arg.name = ident(a->name);
    arg.value = expr(a->expr());
    arg.range = range(a);
    out.push_back(std::move(arg));
  }
  return out;
}

std::vector<RecordField>
ASTBuilder::fields(const std::vector<S2SParser::RecordFieldContext *> &ctxs) {
  std::vector<RecordField> out;
  for (auto *f : ctxs)
    out.push_back(RecordField{ident(f->key), expr(f->expr())});
  return out;
}

ExprPtr ASTBuilder::primary(S2SParser::PrimaryContext *ctx) {
  llvm::SMRange r = range(ctx);
  if (auto *p = dynamic_cast<S2SParser::IntLitContext *>(ctx))
    return number(p->INT()->getSymbol(), /*isFloat=*/false);
  if (auto *p = dynamic_cast<S2SParser::FloatLitContext *>(ctx))
    return number(p->FLOAT()->getSymbol(), /*isFloat=*/true);
  if (auto *p = dynamic_cast<S2SParser::QuantityLitContext *>(ctx))
    return quantity(p->QUANTITY()->getSymbol());
  if (auto *p = dynamic_cast<S2SParser::StringLitContext *>(ctx))
    return std::make_unique<StringLit>(unescape(p->STRING()->getSymbol()), r);
  if (auto *p = dynamic_cast<S2SParser::BoolLitContext *>(ctx))
    return std::make_unique<BoolLit>(p->TRUE() != nullptr, r);
  if (dynamic_cast<S2SParser::NoneLitContext *>(ctx))
    return std::make_unique<NoneLit>(r);
  if (auto *p = dynamic_cast<S2SParser::NameRefContext *>(ctx))
    return std::make_unique<NameRef>(text(p->ident()).str(), r);
  if (auto *p = dynamic_cast<S2SParser::ListLitContext *>(ctx)) {
    std::vector<ExprPtr> elems;
    for (auto *e : p->expr())
      elems.push_back(expr(e));
    return std::make_unique<ListLit>(std::move(elems), r);
  }
  if (auto *p = dynamic_cast<S2SParser::KeyedListLitContext *>(ctx))
    return std::make_unique<RecordLit>(fields(p->recordField()),
                                       /*bracketed=*/true, r);
  if (auto *p = dynamic_cast<S2SParser::RecordLitContext *>(ctx))
    return std::make_unique<RecordLit>(fields(p->recordField()),
                                       /*bracketed=*/false, r);
  if (auto *p = dynamic_cast<S2SParser::TupleLitContext *>(ctx)) {
    std::vector<ExprPtr> elems;
    for (auto *e : p->expr())
      elems.push_back(expr(e));
    return std::make_unique<TupleLit>(std::move(elems), r);
  }
  auto *p = dynamic_cast<S2SParser::ParenExprContext *>(ctx);
  return expr(p->expr());
}

std::string ASTBuilder::unescape(antlr4::Token *tok) {
  llvm::StringRef raw = text(tok);
  llvm::StringRef body = raw.drop_front().drop_back(); // the quotes
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') {
      out += body[i];
      continue;
    }
    char c = body[++i]; // the lexer guarantees a character after '\'
    switch (c) {
    case 'n':
      out += '\n';
      break;
    case 't':
      out += '\t';
      break;
    case '\\':
      out += '\\';
      break;
    case '"':
      out += '"';
      break;
    default: {
      const char *p = body.data() + i - 1;
      diags.error(
          {llvm::SMLoc::getFromPointer(p), llvm::SMLoc::getFromPointer(p + 2)},
          llvm::Twine("unknown escape sequence '\\") + body.substr(i, 1) +
              "'; use \\n, \\t, \\\\ or \\\"");
      out += c;
    }
    }
  }
  return out;
}

ExprPtr ASTBuilder::number(antlr4::Token *tok, bool isFloat) {
  llvm::SMRange r = range(tok, tok);
  std::string digits = text(tok).str();
  llvm::erase(digits, '_');
  if (!isFloat) {
    int64_t value = 0;
    if (llvm::StringRef(digits).getAsInteger(10, value)) {
      diags.error(r, "integer literal '" + text(tok) +
                         "' does not fit in 64 bits");
      value = 0;
    }
    return std::make_unique<IntLit>(value, r);
  }
  double value = std::strtod(digits.c_str(), nullptr);
  if (!std::isfinite(value)) {
    diags.error(r, "number '" + text(tok) + "' is out of range");
    value = 0;
  }
  return std::make_unique<FloatLit>(value, r);
}

ExprPtr ASTBuilder::quantity(antlr4::Token *tok) {
  llvm::SMRange r = range(tok, tok);
  llvm::StringRef all = text(tok);
  // The number is digits, an optional fraction and an optional exponent
  // (`1e3s`); the unit is the letters after it (`2e` is 2 of unit `e`).
  size_t unitStart = all.find_if([](char c) { return llvm::isAlpha(c); });
  if (unitStart + 1 < all.size() &&
      (all[unitStart] == 'e' || all[unitStart] == 'E')) {
    size_t i = unitStart + 1;
    if (i < all.size() && (all[i] == '+' || all[i] == '-'))
      ++i;
    size_t digits = i;
    while (i < all.size() && llvm::isDigit(all[i]))
      ++i;
    if (i > digits && i < all.size())
      unitStart = i;
  }
  std::string digits = all.take_front(unitStart).str();
  llvm::erase(digits, '_');
  double value = std::strtod(digits.c_str(), nullptr);
  if (!std::isfinite(value)) {
    diags.error(r, "number '" + all + "' is out of range");
    value = 0;
  }
  const char *u = all.data() + unitStart;
  llvm::SMRange unitRange(llvm::SMLoc::getFromPointer(u), r.End);
  return std::make_unique<QuantityLit>(value, all.drop_front(unitStart).str(),
                                       unitRange, r);
}

} // namespace

std::unique_ptr<Module> s2s::parseModule(llvm::SourceMgr &srcMgr,
                                         unsigned bufferId,
                                         DiagnosticEngine &diags,
                                         unsigned maxNesting) {
  const llvm::MemoryBuffer *mb = srcMgr.getMemoryBuffer(bufferId);
  llvm::StringRef buffer = mb->getBuffer();
  ByteInputStream input(buffer, mb->getBufferIdentifier());
  S2SLexer lexer(&input);
  lexer.removeErrorListeners();
  SyntaxErrorReporter reporter(diags, buffer);
  lexer.addErrorListener(&reporter);
  antlr4::CommonTokenStream tokens(&lexer);
  tokens.fill();
  if (!checkNesting(tokens, buffer, maxNesting, diags))
    return nullptr;

  S2SParser parser(&tokens);
  parser.removeErrorListeners();
  parser.addErrorListener(&reporter);
  S2SParser::SpecContext *tree = parser.spec();
  if (reporter.count)
    return nullptr;

  ASTBuilder builder(buffer, diags);
  std::unique_ptr<Module> module = builder.build(tree);
  if (builder.failed)
    return nullptr;
  module->bufferId = bufferId;
  module->path = mb->getBufferIdentifier().str();
  return module;
}
