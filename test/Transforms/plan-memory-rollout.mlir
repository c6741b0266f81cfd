// s2s-plan-memory after s2s-unroll-rollout: the activations of one
// training step of an order-2 rollout, and of the same with recomputation.
//
// RUN: s2s-opt %s -split-input-file -s2s-unroll-rollout -s2s-plan-memory | FileCheck %s

// The model at batch b keeps fc's result (gelu saves its input) and gelu's
// (returned): 8b values; its largest output is 4b. Batch 2, order 2: the
// order-1 call at batch 4 keeps 32, the order-2 call at batch 2 keeps 16.
// The backward meets the order-2 call first, with everything kept:
//   32 + 16 + 4 * 8 (its working set)              = 80
// then the order-1 call:  32 + 4 * 16               = 96   <- the peak
// The rollout's own tensors: the order-1 inputs and targets (2 concats of
// 4x4) and 4 scalars (2 losses, their sum, ...): see the IR below.
// CHECK-LABEL: func.func @net(
func.func @net(%x: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<2x4xf32> -> tensor<2x4xf32>
  %1 = s2s.activation gelu %0 : tensor<2x4xf32> -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}
// CHECK-SAME:      activations = 524,

// -----

// Order 3 at batch 2, without and with recomputation. The calls keep 48
// (batch 6), 32 (batch 4) and 16 (batch 2); their largest outputs are 24,
// 16 and 8. Without: the backward peaks at 48 + 32 + 16 + ... see below.
//   at the order-3 call: 48 + 32 + 16 + 4 * 8  = 128
//   at the order-2 call: 48 + 32 + 4 * 16      = 144
//   at the order-1 call: 48 + 4 * 24           = 144   peak 144
// The rollout's own tensors: concats of 24 (inputs), 24 and 16 (targets),
// 3 losses and 2 sums: 69 values. (144 + 69) * 4 = 852.
// CHECK-LABEL: func.func @net(
// CHECK-SAME:      activations = 852,
func.func @net(%x: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<2x4xf32> -> tensor<2x4xf32>
  %1 = s2s.activation gelu %0 : tensor<2x4xf32> -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @net on @d {order = 3 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

// The same, recomputed: each call keeps only its output (24, 16, 8) and its
// layer outputs only while its backward runs:
//   order 3: 16 + 4 * 8 = 48;  order 2: 32 + 4 * 16 = 96;
//   order 1: 48 + 4 * 24 = 144  peak 144
// own: 69 + 24 + 16 + 8 = 117 values; (144 + 117) * 4 = 1044: at this size
// the kept outputs cost more than the layers they replace (recomputation
// pays off when a call's layer outputs outweigh its output, as in the
// quickstart model: bench/rollout).
// CHECK-LABEL: func.func @net(
// CHECK-SAME:      activations = 1044,
func.func @net(%x: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<2x4xf32> -> tensor<2x4xf32>
  %1 = s2s.activation gelu %0 : tensor<2x4xf32> -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @net on @d {order = 3 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}
s2s.parallel {axes = ["data"], backend = #s2s.backend<gloo>, checkpoint_activations = true, sizes = array<i64: 1>, strategy = #s2s.strategy<ddp>}
