//===- FrontendTest.cpp - Unit tests of the front-end API -----------------===//
//
// What lit cannot see from the command line: the AST and types a checked
// spec yields through the C++ API, type assignability, and "did you mean".
//
//===----------------------------------------------------------------------===//

#include "s2s/DSL/Frontend.h"
#include "s2s/DSL/AST.h"
#include "s2s/DSL/Diagnostics.h"
#include "s2s/DSL/Types.h"

#include "llvm/Support/Casting.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace s2s;
using namespace s2s::ast;
using llvm::cast;
using llvm::dyn_cast;

namespace {

/// Loads and checks one in-memory spec with the real prelude.
struct Checked {
  llvm::SourceMgr srcMgr;
  std::string messages;
  llvm::raw_string_ostream os{messages};
  DiagnosticEngine diags{srcMgr, os};
  std::unique_ptr<Frontend> frontend;
  Module *main = nullptr;
  bool ok = false;

  explicit Checked(llvm::StringRef text) {
    FrontendOptions options;
    options.stdlibDir = S2S_STDLIB_DIR;
    frontend = std::make_unique<Frontend>(diags, options);
    main = frontend->loadBuffer(
        llvm::MemoryBuffer::getMemBufferCopy(text, "spec.s2s"));
    ok = main && frontend->check();
  }

  const Decl *decl(llvm::StringRef name) const {
    for (const DeclPtr &d : main->decls)
      if (d->getName().name == name)
        return d.get();
    return nullptr;
  }
};

TEST(Frontend, ChecksAndTypesAModel) {
  Checked c(R"(
block Mlp(hidden: int, out: int) {
  forward(x: tensor[B, C, H, W]) {
    return linear(gelu(linear(x, out = hidden)), out = out)
  }
}
model Net(channels: int, embed: int = 32) {
  let hidden = 4 * embed
  param scale: tensor[1, channels, 1, 1] = ones()
  forward(x: tensor[B, C, H, W]) {
    let (a, b) = (x * scale, x)
    repeat 2 as i { a = Mlp(a, hidden = hidden, out = channels) }
    return a + b
  }
}
model net = Net(channels = 3)
)");
  ASSERT_TRUE(c.ok) << c.messages;
  auto *net = dyn_cast<ModelDef>(c.decl("Net"));
  ASSERT_NE(net, nullptr);
  EXPECT_FALSE(net->isBlock);
  ASSERT_EQ(net->params.size(), 2u);
  EXPECT_EQ(net->params[1].type->resolved->str(), "int");
  ASSERT_EQ(net->lets.size(), 1u);
  EXPECT_EQ(net->lets[0]->value->type->str(), "int");
  ASSERT_EQ(net->paramDecls.size(), 1u);
  EXPECT_EQ(net->paramDecls[0].type->resolved->getSize(), 4);
  ASSERT_TRUE(net->forward);
  auto *ret = dyn_cast<ReturnStmt>(net->forward->body.back().get());
  ASSERT_NE(ret, nullptr);
  EXPECT_TRUE(ret->value->type->is(Type::Kind::Tensor));

  auto *inst = dyn_cast<ModelInstanceDecl>(c.decl("net"));
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->call->target, net);
  ASSERT_EQ(inst->call->binding.size(), 1u);
  EXPECT_EQ(inst->call->binding[0], 0); // channels is parameter 0
}

TEST(Frontend, ResolvesSectionValues) {
  Checked c(R"(
model Id(channels: int) { forward(x: tensor) { return x } }
data d {
  source = hdf5("x.h5")
  channels = [u10, "2t"]
  step = 90min
}
model net = Id(channels = 2)
rollout { order = 2; loss = mse(weight = latitude) }
train { optimizer = adamw(lr = 1e-3); epochs = 1; batch = 4; precision = bf16 }
)");
  ASSERT_TRUE(c.ok) << c.messages;
  auto *data = cast<DataDecl>(c.decl("d"));
  auto *step = cast<QuantityLit>(data->find("step")->value.get());
  EXPECT_DOUBLE_EQ(step->canonical, 5400.0);
  auto *channels = cast<ListLit>(data->find("channels")->value.get());
  auto *u10 = cast<NameRef>(channels->elems[0].get());
  EXPECT_EQ(u10->target, NameTarget::Label);
  EXPECT_TRUE(channels->elems[1]->type->is(Type::Kind::Name));

  const SectionDecl *train = nullptr;
  for (const DeclPtr &d : c.main->decls)
    if (auto *s = dyn_cast<SectionDecl>(d.get()))
      if (s->sectionKind == SectionDecl::SectionKind::Train)
        train = s;
  ASSERT_NE(train, nullptr);
  auto *prec = cast<NameRef>(train->find("precision")->value.get());
  EXPECT_EQ(prec->target, NameTarget::EnumMember);
  EXPECT_EQ(prec->decl->getName().name, "precision");
  EXPECT_EQ(train->find("optimizer")->value->type->str(), "optimizer");
}

TEST(Frontend, ReportsErrorsWithLocations) {
  Checked c("train {\n  epochs = \"many\"\n}\n");
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.messages.find("spec.s2s:2:12: error: 'epochs' in train section "
                            "expects int, got string"),
            std::string::npos)
      << c.messages;
  EXPECT_GE(c.diags.getNumErrors(), 2u); // and missing keys
}

TEST(Frontend, SyntaxErrorStopsBeforeSema) {
  Checked c("model m(x: int { }\n");
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.main, nullptr);
  EXPECT_EQ(c.diags.getNumErrors(), 1u) << c.messages;
}

TEST(Types, Assignability) {
  TypeContext types;
  const Type *i = types.get(Type::Kind::Int);
  const Type *f = types.get(Type::Kind::Float);
  EXPECT_TRUE(TypeContext::isAssignable(i, f));
  EXPECT_FALSE(TypeContext::isAssignable(f, i));
  EXPECT_TRUE(
      TypeContext::isAssignable(types.getList(i, 2), types.getList(f, 2)));
  EXPECT_FALSE(
      TypeContext::isAssignable(types.getList(i, 3), types.getList(i, 2)));
  EXPECT_TRUE(TypeContext::isAssignable(types.getList(i, 3), types.getList(i)));
  EXPECT_TRUE(TypeContext::isAssignable(types.getTensor(4), types.getTensor()));
  EXPECT_FALSE(
      TypeContext::isAssignable(types.getTensor(3), types.getTensor(4)));
  EXPECT_FALSE(TypeContext::isAssignable(types.getObject("schedule"),
                                         types.getObject("optimizer")));
  EXPECT_TRUE(TypeContext::isAssignable(types.get(Type::Kind::None), i));
  EXPECT_EQ(types.getList(i, 2), types.getList(i, 2)); // interned
  EXPECT_EQ(types.getList(f, 2)->str(), "list<float>[2]");
}

TEST(Diagnostics, ClosestMatch) {
  std::vector<std::string> keys = {"optimizer", "schedule", "epochs", "batch"};
  EXPECT_EQ(DiagnosticEngine::closestMatch("optimiser", keys), "optimizer");
  EXPECT_EQ(DiagnosticEngine::closestMatch("epoch", keys), "epochs");
  EXPECT_EQ(DiagnosticEngine::closestMatch("zzz", keys), "");
}

} // namespace
