//===- S2SDialect.td - The s2s dialect ---------------------*- tablegen -*-===//
//
// The dialect that .s2s specs lower to: tensor layers whose learnable
// parameters are implied by their attributes and input shapes, structure
// (model forwards are func.func with the `s2s.model` attribute), and the
// data, rollout, parallel and train sections as symbol ops.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_DIALECT_TD
#define S2S_DIALECT_TD

include "mlir/IR/OpBase.td"

def S2S_Dialect : Dialect {
  let name = "s2s";
  let cppNamespace = "::s2s";
  let summary = "Autoregressive sequence-to-sequence training programs";
  let description = [{
    The `s2s` dialect holds what a `.s2s` spec describes once its
    configuration is evaluated: each model instance's forward as a
    `func.func` over tensors of `s2s` layer ops, and the `data`, `rollout`,
    `parallel` and `train` sections as ops with typed attributes.

    Layer ops own their learnable parameters implicitly: `s2s.linear` with
    `out = 768` on an input whose last dimension is 384 owns a 384x768
    weight and a 768 bias. Their shapes follow from the operand types and
    the attributes (`ParameterizedOpInterface`), so parameter counting and
    memory planning are analyses of the IR, and shapes are inferred by the
    `s2s-infer-shapes` pass (`ShapeInferenceOpInterface`).
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
  let useDefaultAttributePrinterParser = 1;
  // The discardable attributes the passes attach (`s2s.sharding`,
  // `s2s.memory`, `s2s.variant_of`, ...) are checked by
  // verifyOperationAttribute.
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class S2S_Op<string mnemonic, list<Trait> traits = []>
    : Op<S2S_Dialect, mnemonic, traits>;

#endif // S2S_DIALECT_TD
