// s2s-plan-memory after s2s-unroll-rollout: the step's peak (above the
// state between steps) of an order-2 and an order-3 rollout, and of the
// order-3 one with recomputation. One process, Adam: fc's 20 parameters,
// 80 bytes of gradients, which it frees at the step's start.
//
// RUN: s2s-opt %s -split-input-file -s2s-unroll-rollout -s2s-plan-memory | FileCheck %s

// The model at batch b: fc's result and gelu's, 4b values each. It keeps
// fc's (gelu saves its input), 4b, and returns gelu's, 4b, its largest;
// its forward peaks at 8b. Batch 2, order 2, walking the unrolled rollout
// (values; each released after its last use unless saved; a concat's
// result is the rollout's own, a slice a view):
//   concat of the inputs 16; call at batch 4: 16 + 32        =  48
//   its result 16, kept 16; concat of the targets 16 (freed after its
//   loss); the mse loss keeps its prediction and has its squares in
//   flight (16): 48 + 16 + 1 + 16                            =  81 <- forward
//   call at batch 2: 33 + 16 + 16 = 65; its loss 41 + 24 + 9 =  74
// The backward starts from what the rollout keeps (the inputs' concat,
// the two predictions: 40) and goes through the calls:
//   at batch 4: 40 + 16 + 2 x 16 (working set)              =  88
//   at batch 2: 56 + 8 + 2 x 8 + 16 (the gradient of the batch-4 call's
//   result, which fed this call, filling)                   =  96 <- peak
// Step: 96 x 4 - 80 (the gradients freed first) = 304 bytes.
// CHECK-LABEL: func.func @net(
func.func @net(%x: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<2x4xf32> -> tensor<2x4xf32>
  %1 = s2s.activation gelu %0 : tensor<2x4xf32> -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}
// CHECK-SAME:      step = 304,

// -----

// Order 3 at batch 2: calls at batch 6, 4 and 2 (peaks 48, 32, 16; kept
// 24, 16, 8). The forward peaks at the second loss: the rollout's live
// values (inputs' concat 24, results 24 + 16, the second targets' concat
// 16, a loss: 81), what the calls keep (40) and the loss's squares and
// result (17): 138 values. The backward from 72 kept by the rollout:
//   at batch 6: 72 + 24 + 2 x 24 = 144;
//   at batch 4: 96 + 16 + 32 + 24 (batch 6's result gradient) = 168;
//   at batch 2: 112 + 8 + 16 + 16 = 152.
// Step: 168 x 4 - 80 = 592 bytes.
// CHECK-LABEL: func.func @net(
// CHECK-SAME:      step = 592,
func.func @net(%x: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<2x4xf32> -> tensor<2x4xf32>
  %1 = s2s.activation gelu %0 : tensor<2x4xf32> -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @net on @d {order = 3 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

// The same, recomputed: a call's forward keeps nothing but its input (a
// value of the rollout), so the forward peaks lower, at 98 values. In the
// backward each call runs its forward again, then its backward from its
// result's gradient: the larger of its peak (48, 32, 16) and kept + result
// + working set (+ the gradients filling), on top of the rollout's 72:
//   at batch 6: 72 + max(48, 24 + 24 + 48)      = 168 <- the peak
//   at batch 4: 72 + max(32, 16 + 16 + 32 + 24) = 160
//   at batch 2: 72 + max(16, 8 + 8 + 16 + 16)   = 120
// Step: 168 x 4 - 80 = 592 bytes: at this size recomputation saves nothing
// (it pays off when a call's layer outputs outweigh its output, as in the
// quickstart model: bench/rollout).
// CHECK-LABEL: func.func @net(
// CHECK-SAME:      step = 592,
func.func @net(%x: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<2x4xf32> -> tensor<2x4xf32>
  %1 = s2s.activation gelu %0 : tensor<2x4xf32> -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @net on @d {order = 3 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}
s2s.parallel {axes = ["data"], backend = #s2s.backend<gloo>, checkpoint_activations = true, sizes = array<i64: 1>, strategy = #s2s.strategy<ddp>}
