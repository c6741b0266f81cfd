//===- S2SInterfaces.td - Interfaces of s2s ops ------------*- tablegen -*-===//

#ifndef S2S_INTERFACES_TD
#define S2S_INTERFACES_TD

include "mlir/IR/OpBase.td"

def S2S_ShapeInferenceOpInterface : OpInterface<"ShapeInference"> {
  let cppNamespace = "::s2s";
  let description = [{
    An op whose result types follow from its operand types and attributes.
    `inferShapes` sets them; on operands that do not fit it emits an error
    at the op's location naming the shapes involved and fails. Operands of
    unknown rank leave the results as they are.
  }];
  let methods = [
    InterfaceMethod<"Infers and sets the result types.",
                    "::llvm::LogicalResult", "inferShapes">,
  ];
}

def S2S_ParameterizedOpInterface : OpInterface<"ParameterizedOp"> {
  let cppNamespace = "::s2s";
  let description = [{
    An op that owns learnable parameters. Their shapes are a function of
    the operand types and the op's attributes; the names are the op's
    `name` attribute (a dotted path such as `blocks.3.mlp.fc1`) followed by
    `.weight`, `.bias`, ...
  }];
  let methods = [
    InterfaceMethod<[{
        Appends (suffix, shape) of each learnable tensor; fails if the
        operand shapes are not yet known.
      }], "::llvm::LogicalResult", "getParameters",
      (ins "::llvm::SmallVectorImpl<::s2s::ParameterInfo> &":$params)>,
  ];
}

#endif // S2S_INTERFACES_TD
