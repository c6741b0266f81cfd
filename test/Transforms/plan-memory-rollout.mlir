// s2s-plan-memory after s2s-unroll-rollout: the step's peak (above the
// state between steps) of an order-2 and an order-3 rollout, and of the
// order-3 one with recomputation. One process, Adam: fc's 20 parameters,
// 80 bytes of gradients, which it frees at the step's start.
//
// RUN: s2s-opt %s -split-input-file -s2s-unroll-rollout -s2s-plan-memory | FileCheck %s

// The model at batch b: fc's result and gelu's, 4b values each, all 8b
// alive at its return; it keeps fc's (gelu saves its input), 4b, and
// returns gelu's, 4b, its largest. Batch 2, order 2, walking the unrolled
// rollout (values; a concat's result is the rollout's own, a slice a view):
//   concat of the inputs 16; call at batch 4: 16 + 32        =  48
//   its result 16, kept 16; concat of the targets 16; the mse loss keeps
//   its prediction and has its squares in flight (16): 49 + 16 + 16 = 81
//   call at batch 2: 49 + 16 + 16                            =  81
//   its result 8, kept 8; its loss: 58 + 24 + 8              =  90 <- forward
// The backward starts from what the rollout keeps (the inputs' concat,
// the predictions: 40) and goes back through the calls:
//   at batch 4: 40 + 16 + 2 x 16 (working set) = 88; at batch 2: 80.
// Step: 90 x 4 - 80 (the gradients freed first) = 280 bytes.
// CHECK-LABEL: func.func @net(
func.func @net(%x: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<2x4xf32> -> tensor<2x4xf32>
  %1 = s2s.activation gelu %0 : tensor<2x4xf32> -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}
// CHECK-SAME:      step = 280,

// -----

// Order 3 at batch 2: calls at batch 6, 4 and 2 (all 48, 32, 16; kept 24,
// 16, 8). The forward peaks at the last loss: the rollout's values so far
// (concats 24 + 24 + 16, results 24 + 16 + 8, 2 losses and a sum: 115,
// then the last loss, 116), what the calls keep (48) and the loss's
// squares (8): 172 values. The backward from 72 kept by the rollout:
//   at batch 6: 72 + 24 + 2 x 24 = 144; at batch 4: 96 + 16 + 32 = 144;
//   at batch 2: 112 + 8 + 16 = 136.
// Step: 172 x 4 - 80 = 608 bytes.
// CHECK-LABEL: func.func @net(
// CHECK-SAME:      step = 608,
func.func @net(%x: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<2x4xf32> -> tensor<2x4xf32>
  %1 = s2s.activation gelu %0 : tensor<2x4xf32> -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @net on @d {order = 3 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

// The same, recomputed: a call's forward keeps nothing but its input (a
// value of the rollout), so the forward peaks lower, at 124 values (the
// rollout's 116 and the last loss's 8). In the backward each call runs its
// forward again, then its backward from its result's gradient: the larger
// of its values (48, 32, 16) and kept + result + working set (24 + 24 +
// 48 = 96, 64, 32), on top of the rollout's 72:
//   at batch 6: 72 + 96 = 168 <- the peak; at batch 4: 136; at batch 2: 104.
// Step: 168 x 4 - 80 = 592 bytes: at this size recomputation costs memory
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
