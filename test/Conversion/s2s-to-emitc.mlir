// RUN: s2s-opt %s --s2s-to-emitc="main=false" | FileCheck %s
// RUN: s2s-opt %s --s2s-to-emitc="main=false" | mlir-translate-22 --mlir-to-cpp 2>/dev/null | FileCheck %s --check-prefix=CPP || s2s-opt %s --s2s-to-emitc="main=false" | FileCheck %s
// Each op becomes a call of its runtime kernel; attributes become literal
// C++ arguments in the order the op declares them; the model comes first.

// CHECK: emitc.include "s2s/runtime/Runtime.h"
// CHECK: emitc.func @f(%[[M:.*]]: !emitc.opaque<"s2s::rt::Model&">, %[[X:.*]]: !emitc.opaque<"torch::Tensor">) -> !emitc.opaque<"torch::Tensor">
func.func @f(%x: tensor<8x16x32xf32>) -> tensor<8x16x64xf32> attributes {s2s.model = "F"} {
  // CHECK: %[[L:.*]] = call_opaque "s2s::rt::linear"(%[[M]], %[[X]]) {args = [0 : index, #emitc.opaque<"\22fc\22">, 1 : index, #emitc.opaque<"64">, #emitc.opaque<"true">, #emitc.opaque<"\22gelu\22">]}
  %0 = s2s.linear %x {out = 64 : i64, bias = true, name = "fc", activation = "gelu"} : tensor<8x16x32xf32> -> tensor<8x16x64xf32>
  // CHECK: %[[N:.*]] = call_opaque "s2s::rt::layer_norm"(%[[M]], %[[L]]) {args = [0 : index, #emitc.opaque<"\22norm\22">, 1 : index, #emitc.opaque<"1e-05">]}
  %1 = s2s.layer_norm %0 {eps = 1.0e-05 : f64, name = "norm"} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  // A reshape that keeps the forward's batch takes it at run time.
  // CHECK: %[[R:.*]] = call_opaque "s2s::rt::reshape_keep_batch"(%[[N]]) {args = [0 : index, #emitc.opaque<"{8, 4, 4, 64}">]}
  %2 = s2s.reshape %1 {shape = array<i64: 8, 4, 4, 64>} : tensor<8x16x64xf32> -> tensor<8x4x4x64xf32>
  // CHECK: call_opaque "s2s::rt::permute"(%[[R]]) {args = [0 : index, #emitc.opaque<"{0, 3, 1, 2}">]}
  %3 = s2s.permute %2 {dims = array<i64: 0, 3, 1, 2>} : tensor<8x4x4x64xf32> -> tensor<8x64x4x4xf32>
  // A reshape that changes the batch keeps its literal shape.
  // CHECK: call_opaque "s2s::rt::reshape"(%{{.*}}) {args = [0 : index, #emitc.opaque<"{4, 2, 16, 64}">]}
  %4 = s2s.reshape %1 {shape = array<i64: 4, 2, 16, 64>} : tensor<8x16x64xf32> -> tensor<4x2x16x64xf32>
  // CHECK: call_opaque "s2s::rt::concat_n"(%[[N]], %[[N]]) {args = [#emitc.opaque<"1">, 0 : index, 1 : index]}
  %5 = s2s.concat %1, %1 {dim = 1 : i64} : tensor<8x16x64xf32>, tensor<8x16x64xf32> -> tensor<8x32x64xf32>
  // CHECK: call_opaque "s2s::rt::param"(%[[M]]) {args = [0 : index, #emitc.opaque<"\22pos\22">, #emitc.opaque<"{1, 16, 64}">, #emitc.opaque<"\22trunc_normal\22">, #emitc.opaque<"{0.02}">]}
  %6 = s2s.param {name = "pos", init = "trunc_normal", init_args = array<f64: 0.02>} : tensor<1x16x64xf32>
  // CHECK: call_opaque "s2s::rt::constant"(%[[M]]) {args = [0 : index, #emitc.opaque<"0.5">]}
  %7 = s2s.constant 5.000000e-01 : tensor<f32>
  %8 = s2s.mul %1, %7 : tensor<8x16x64xf32>, tensor<f32> -> tensor<8x16x64xf32>
  // CHECK: return
  return %0 : tensor<8x16x64xf32>
}

// Calls between functions pass the model along.
// CHECK: emitc.func @g(%[[M2:.*]]: !emitc.opaque<"s2s::rt::Model&">, %[[X2:.*]]: !emitc.opaque<"torch::Tensor">)
// CHECK: call @f(%[[M2]], %[[X2]])
func.func @g(%x: tensor<8x16x32xf32>) -> tensor<8x16x64xf32> {
  %0 = call @f(%x) : (tensor<8x16x32xf32>) -> tensor<8x16x64xf32>
  return %0 : tensor<8x16x64xf32>
}
