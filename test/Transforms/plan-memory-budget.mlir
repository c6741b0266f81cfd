// s2s-plan-memory with max-rank-bytes: a plan above the bound is an error at
// the model, with its figures; counts too large for 64 bits saturate
// instead of wrapping to a small plan.
//
// RUN: s2s-opt %s -split-input-file -s2s-plan-memory=max-rank-bytes=9984 -verify-diagnostics | FileCheck %s

// The plan of plan-memory.mlir's first case, 9984 bytes: at the bound,
// accepted.
// CHECK-LABEL: func.func @net(
// CHECK-SAME:      s2s.memory = #s2s.memory_plan<params = 2304, grads = 2304, optimizer = 4608, step = 768, total = 9984>
func.func @net(%x: tensor<8x16xf32>) -> tensor<8x32xf32> attributes {s2s.model = "Net"} {
  %p = s2s.param {name = "pos", init = #s2s.init<zeros>, init_args = array<f64>} : tensor<1x32xf32>
  %0 = s2s.linear %x {out = 32 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<8x32xf32>
  %1 = s2s.add %0, %p : tensor<8x32xf32>, tensor<1x32xf32> -> tensor<8x32xf32>
  return %1 : tensor<8x32xf32>
}

// -----

// The add's result squared: both factors (the add's result) kept, the
// backward 256 + 256 + 2 x 256 values, 4096 bytes, less the 2304 bytes of
// gradients one process frees first: 1792; 11008 in all, above the bound.
// expected-error @+1 {{the memory plan of 'net' needs 10.75 KiB per rank (parameters 2.25 KiB, gradients 2.25 KiB, optimizer state 4.50 KiB, the step 1.75 KiB), above the 9.75 KiB a rank may use (s2sc --max-rank-memory)}}
func.func @net(%x: tensor<8x16xf32>) -> tensor<8x32xf32> attributes {s2s.model = "Net"} {
  %p = s2s.param {name = "pos", init = #s2s.init<zeros>, init_args = array<f64>} : tensor<1x32xf32>
  %0 = s2s.linear %x {out = 32 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<8x32xf32>
  %1 = s2s.add %0, %p : tensor<8x32xf32>, tensor<1x32xf32> -> tensor<8x32xf32>
  %2 = s2s.mul %1, %1 : tensor<8x32xf32>, tensor<8x32xf32> -> tensor<8x32xf32>
  return %2 : tensor<8x32xf32>
}

// -----

// 2^32 x 2^32 values: 2^66 bytes, saturated at INT64_MAX, not wrapped.
// expected-error @+1 {{the memory plan of 'huge' needs more than 8.00 EiB per rank}}
func.func @huge(%x: tensor<4294967296x4294967296xf32>) -> tensor<4294967296x4294967296xf32> attributes {s2s.model = "Huge"} {
  %0 = s2s.neg %x : tensor<4294967296x4294967296xf32> -> tensor<4294967296x4294967296xf32>
  return %0 : tensor<4294967296x4294967296xf32>
}
