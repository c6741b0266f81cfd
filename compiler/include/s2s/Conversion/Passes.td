//===- Passes.td - Conversions out of the s2s dialect ------*- tablegen -*-===//
//
// Passes that lower s2s IR into another dialect (the MLIR/CIRCT convention
// keeps them apart from the transforms).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_CONVERSION_PASSES_TD
#define S2S_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def S2SToEmitC : Pass<"s2s-to-emitc", "::mlir::ModuleOp"> {
  let summary = "Lower models, the unrolled rollout and the sections to EmitC";
  let description = [{
    The last step before C++: every model forward and the unrolled
    rollout (`func.func` on tensors) become `emitc.func`s on
    `torch::Tensor` values (`!emitc.opaque<"torch::Tensor">`) that take
    the runtime model (`s2s::rt::Model &`) first; every s2s op becomes an
    `emitc.call_opaque` of the runtime kernel of the same name
    (`s2s::rt::conv2d`, ...) with its attributes as literal arguments in
    the order the op declares them, so the parameter paths of the spec
    (`"ResBlock.0.conv2d.0"`) stay in the code. The `data`, `rollout`,
    `parallel` and `train` sections become `configure()`, which returns
    the runtime's `s2s::rt::Spec` with each value assigned to its typed
    field (`p.train.epochs = 8;`, enums as C++ enums), so a compiler and a
    runtime that disagree fail when the program compiles. Each model gets
    a parameter manifest (`<model>_parameters`: path, shape, initialiser,
    sharding of every learnable tensor), from which the runtime creates
    the parameters. A batch clone whose C++ would repeat its model's
    calls forwards to the model instead. `main` hands all of it to
    `s2s::rt::run`. Section values the runtime does not implement yet are
    errors at their spec line.
    `mlir-translate`-style printing with MLIR's C++ emitter
    (`s2sc --emit=cpp`) gives the program's source.

    Before:
    ```mlir
    func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x16x32x64xf32> attributes {s2s.model = "Net"} {
      %y = s2s.conv2d %x {out = 16 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>,
                          padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<circular>, bias = true, name = "enc"}
          : tensor<8x3x32x64xf32> -> tensor<8x16x32x64xf32>
      return %y : tensor<8x16x32x64xf32>
    }
    ```
    After:
    ```mlir
    emitc.func @net(%m: !emitc.opaque<"s2s::rt::Model&">, %x: !emitc.opaque<"torch::Tensor">)
        -> !emitc.opaque<"torch::Tensor"> {
      %y = emitc.call_opaque "s2s::rt::conv2d"(%m, %x) {args = [0 : index, #emitc.opaque<"\"enc\"">,
          1 : index, #emitc.opaque<"16">, #emitc.opaque<"{3, 3}">, ...]} : ...
      emitc.return %y : !emitc.opaque<"torch::Tensor">
    }
    ```
  }];
  let options = [
    Option<"programName", "program-name", "std::string", /*default=*/"\"s2s_program\"",
           "Name of the program (the spec's file stem)">,
    Option<"specFile", "spec-file", "std::string", /*default=*/"\"\"",
           "The spec file, recorded in the program">,
    Option<"withMain", "main", "bool", /*default=*/"true",
           "Generate main() calling s2s::rt::run">,
  ];
  let dependentDialects = ["::mlir::emitc::EmitCDialect"];
}

#endif // S2S_CONVERSION_PASSES_TD
