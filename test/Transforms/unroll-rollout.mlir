// s2s-unroll-rollout: the tableau of a rollout of order K as K batched calls
// of the model (cloned per batch size), a loss per order, weighted and summed.
//
// RUN: s2s-opt %s -split-input-file -s2s-unroll-rollout -verify-diagnostics | FileCheck %s

// Order 3 on a model of batch 2: calls on 3*2, 2*2 and 1*2 samples.
func.func @net(%x: tensor<2x3x4x8xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 8 : i64, bias = true, name = "fc"} : tensor<2x3x4x8xf32> -> tensor<2x3x4x8xf32>
  return %0 : tensor<2x3x4x8xf32>
}
s2s.data @d {channels = ["u", "v", "t"], grid = array<i64: 4, 8>, history = 1 : i64, step = 21600 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @net on @d {order = 3 : i64, loss = #s2s.loss<kind = mae, weight = latitude, delta = 1.0>, weights = array<f64: 1.0, 0.5, 2.0>}

// The model is kept; clones for the other batch sizes follow it, shapes
// re-inferred, marked as variants and no longer as models.
// CHECK-LABEL: func.func @net(%{{.*}}: tensor<2x3x4x8xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.model = "Net"}
// CHECK:       func.func @net__batch4(%{{.*}}: tensor<4x3x4x8xf32>) -> tensor<4x3x4x8xf32> attributes {s2s.variant_of = @net} {
// CHECK-NEXT:    s2s.linear %{{.*}} {bias = true, name = "fc", out = 8 : i64} : tensor<4x3x4x8xf32> -> tensor<4x3x4x8xf32>
// CHECK:       func.func @net__batch6(%{{.*}}: tensor<6x3x4x8xf32>) -> tensor<6x3x4x8xf32> attributes {s2s.variant_of = @net} {
// CHECK-NEXT:    s2s.linear %{{.*}} {bias = true, name = "fc", out = 8 : i64} : tensor<6x3x4x8xf32> -> tensor<6x3x4x8xf32>
// CHECK-NOT:   func.func @net__batch2

// The rollout points at its unrolled function.
// CHECK:       s2s.rollout @net on @d {loss = #s2s.loss<kind = mae, weight = latitude, delta = 1.000000e+00>, order = 3 : i64, s2s.unrolled = @net_rollout, weights = array<f64: 1.000000e+00, 5.000000e-01, 2.000000e+00>}

// The window [batch, K+1, C, H, W] is cut into the truth frames x0..x3.
// CHECK-LABEL: func.func @net_rollout(
// CHECK-SAME:      %[[W:.*]]: tensor<2x4x3x4x8xf32>) -> tensor<f32> attributes {s2s.rollout_of = @net} {
// CHECK-NEXT:    %[[S0:.*]] = s2s.slice %[[W]] {dim = 1 : i64, end = 1 : i64, start = 0 : i64} : tensor<2x4x3x4x8xf32> -> tensor<2x1x3x4x8xf32>
// CHECK-NEXT:    %[[X0:.*]] = s2s.flatten %[[S0]] {end = 1 : i64, start = 0 : i64} : tensor<2x1x3x4x8xf32> -> tensor<2x3x4x8xf32>
// CHECK-NEXT:    %[[S1:.*]] = s2s.slice %[[W]] {dim = 1 : i64, end = 2 : i64, start = 1 : i64}
// CHECK-NEXT:    %[[X1:.*]] = s2s.flatten %[[S1]]
// CHECK-NEXT:    %[[S2:.*]] = s2s.slice %[[W]] {dim = 1 : i64, end = 3 : i64, start = 2 : i64}
// CHECK-NEXT:    %[[X2:.*]] = s2s.flatten %[[S2]]
// CHECK-NEXT:    %[[S3:.*]] = s2s.slice %[[W]] {dim = 1 : i64, end = 4 : i64, start = 3 : i64}
// CHECK-NEXT:    %[[X3:.*]] = s2s.flatten %[[S3]]
// Order 1: x0, x1, x2 stacked along the batch, one call, against x1, x2, x3.
// CHECK-NEXT:    %[[IN1:.*]] = s2s.concat %[[X0]], %[[X1]], %[[X2]] {dim = 0 : i64} : {{.*}} -> tensor<6x3x4x8xf32>
// Each call's input says when its start times are valid: block s of order
// j is s + j - 1 steps after x0.
// CHECK-NEXT:    %[[TI1:.*]] = s2s.call_times %[[IN1]] {blocks = 3 : i64, first = 0 : i64, step_seconds = 21600 : i64} : tensor<6x3x4x8xf32> -> tensor<6x3x4x8xf32>
// CHECK-NEXT:    %[[P1:.*]] = call @net__batch6(%[[TI1]]) : (tensor<6x3x4x8xf32>) -> tensor<6x3x4x8xf32>
// CHECK-NEXT:    %[[T1:.*]] = s2s.concat %[[X1]], %[[X2]], %[[X3]] {dim = 0 : i64} : {{.*}} -> tensor<6x3x4x8xf32>
// CHECK-NEXT:    %[[L1:.*]] = s2s.loss mae %[[P1]], %[[T1]] {delta = 1.000000e+00 : f64, weight = #s2s.weighting<latitude>} : tensor<6x3x4x8xf32>, tensor<6x3x4x8xf32> -> tensor<f32>
// Order 2: the first two start times of order 1, against x2, x3; weight 0.5.
// CHECK-NEXT:    %[[IN2:.*]] = s2s.slice %[[P1]] {dim = 0 : i64, end = 4 : i64, start = 0 : i64} : tensor<6x3x4x8xf32> -> tensor<4x3x4x8xf32>
// CHECK-NEXT:    %[[TI2:.*]] = s2s.call_times %[[IN2]] {blocks = 2 : i64, first = 1 : i64, step_seconds = 21600 : i64}
// CHECK-NEXT:    %[[P2:.*]] = call @net__batch4(%[[TI2]]) : (tensor<4x3x4x8xf32>) -> tensor<4x3x4x8xf32>
// CHECK-NEXT:    %[[T2:.*]] = s2s.concat %[[X2]], %[[X3]] {dim = 0 : i64} : {{.*}} -> tensor<4x3x4x8xf32>
// CHECK-NEXT:    %[[L2:.*]] = s2s.loss mae %[[P2]], %[[T2]] {delta = 1.000000e+00 : f64, weight = #s2s.weighting<latitude>} : tensor<4x3x4x8xf32>, tensor<4x3x4x8xf32> -> tensor<f32>
// CHECK-NEXT:    %[[H:.*]] = s2s.constant 5.000000e-01 : tensor<f32>
// CHECK-NEXT:    %[[WL2:.*]] = s2s.mul %[[L2]], %[[H]] : tensor<f32>, tensor<f32> -> tensor<f32>
// CHECK-NEXT:    %[[SUM2:.*]] = s2s.add %[[L1]], %[[WL2]] : tensor<f32>, tensor<f32> -> tensor<f32>
// Order 3: the model itself at its own batch, against x3 alone; an integer weight 2.
// CHECK-NEXT:    %[[IN3:.*]] = s2s.slice %[[P2]] {dim = 0 : i64, end = 2 : i64, start = 0 : i64} : tensor<4x3x4x8xf32> -> tensor<2x3x4x8xf32>
// CHECK-NEXT:    %[[TI3:.*]] = s2s.call_times %[[IN3]] {blocks = 1 : i64, first = 2 : i64, step_seconds = 21600 : i64}
// CHECK-NEXT:    %[[P3:.*]] = call @net(%[[TI3]]) : (tensor<2x3x4x8xf32>) -> tensor<2x3x4x8xf32>
// CHECK-NEXT:    %[[L3:.*]] = s2s.loss mae %[[P3]], %[[X3]] {delta = 1.000000e+00 : f64, weight = #s2s.weighting<latitude>}
// CHECK-NEXT:    %[[TWO:.*]] = s2s.constant 2.000000e+00 : tensor<f32>
// CHECK-NEXT:    %[[WL3:.*]] = s2s.mul %[[L3]], %[[TWO]]
// CHECK-NEXT:    %[[SUM3:.*]] = s2s.add %[[SUM2]], %[[WL3]]
// CHECK-NEXT:    return %[[SUM3]] : tensor<f32>

// -----

// Alignment of orders j and j - 2 (n = 3), a Hutchinson penalty at every
// step, patches; the batch of 4 samples is 8 patches.
func.func @net(%x: tensor<8x3x4x8xf32>) -> tensor<8x3x4x8xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 8 : i64, bias = true, name = "fc"} : tensor<8x3x4x8xf32> -> tensor<8x3x4x8xf32>
  return %0 : tensor<8x3x4x8xf32>
}
s2s.data @d {channels = ["u", "v", "t"], grid = array<i64: 4, 16>, history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @net on @d {order = 3 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>, align = #s2s.align<kind = mase, order = 3, weight = 0.5, lag = 2, spatial = latitude, stop_gradient = true>, jacobian = #s2s.jacobian<kind = hutchinson, samples = 1, weight = 0.01, dist = rademacher, at = all>, patches = #s2s.patching<size = [4, 8], stride = [4, 8], halo = [0, 0]>}

// CHECK-LABEL: func.func @net_rollout(
// Order 1: the penalty's input marked, patches out, one call, merged.
// CHECK:         %[[IN1:.*]] = s2s.concat %{{.*}} -> tensor<12x3x4x16xf32>
// CHECK-NEXT:    %[[TI1:.*]] = s2s.call_times %[[IN1]] {blocks = 3 : i64, first = 0 : i64, step_seconds = 0 : i64}
// CHECK-NEXT:    %[[J1:.*]] = s2s.jacobian_input %[[TI1]] : tensor<12x3x4x16xf32> -> tensor<12x3x4x16xf32>
// CHECK-NEXT:    %[[E1:.*]] = s2s.extract_patches %[[J1]] {size = array<i64: 4, 8>, stride = array<i64: 4, 8>} : tensor<12x3x4x16xf32> -> tensor<24x3x4x8xf32>
// CHECK-NEXT:    %[[C1:.*]] = call @net__batch24(%[[E1]])
// CHECK-NEXT:    %[[P1:.*]] = s2s.merge_patches %[[C1]] {grid = array<i64: 4, 16>, halo = array<i64: 0, 0>, size = array<i64: 4, 8>, stride = array<i64: 4, 8>} : tensor<24x3x4x8xf32> -> tensor<12x3x4x16xf32>
// CHECK:         s2s.jacobian_penalty %[[J1]], %[[P1]] {kind = #s2s.jacobian_kind<hutchinson>, probe = #s2s.probe<rademacher>, samples = 1 : i64, weight = 1.000000e-02 : f64}
// at = all: orders 2 and 3 are penalised too.
// CHECK:         s2s.jacobian_penalty
// CHECK:         %[[J3:.*]] = s2s.jacobian_input %{{.*}} : tensor<4x3x4x16xf32>
// CHECK:         %[[P3:.*]] = s2s.merge_patches %{{.*}} -> tensor<4x3x4x16xf32>
// CHECK:         s2s.jacobian_penalty %[[J3]], %[[P3]]
// Lag 2, n = 3: the one pair is order 3 against order 1 at the last time
// (order 1's third start time), stop-gradient, latitude-weighted MAE, w 0.5.
// CHECK:         %[[T:.*]] = s2s.slice %[[P1]] {dim = 0 : i64, end = 12 : i64, start = 8 : i64}
// CHECK-NEXT:    %[[SG:.*]] = s2s.stop_gradient %[[T]]
// CHECK-NEXT:    %[[A:.*]] = s2s.loss mae %[[P3]], %[[SG]] {delta = 1.000000e+00 : f64, weight = #s2s.weighting<latitude>}
// CHECK-NEXT:    %[[HALF:.*]] = s2s.constant 5.000000e-01
// CHECK-NEXT:    s2s.mul %[[A]], %[[HALF]]
// The whole-grid step the program validates with.
// CHECK-LABEL: func.func @net_step(
// CHECK-SAME:      tensor<4x3x4x16xf32>) -> tensor<4x3x4x16xf32> attributes {s2s.step_of = @net}
// CHECK-NEXT:    s2s.extract_patches
// CHECK-NEXT:    call @net(
// CHECK-NEXT:    s2s.merge_patches

// -----

// checkpoint_activations: every model call of the rollout is recomputed.
func.func @net(%x: tensor<2x3x4x8xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 8 : i64, bias = true, name = "fc"} : tensor<2x3x4x8xf32> -> tensor<2x3x4x8xf32>
  return %0 : tensor<2x3x4x8xf32>
}
s2s.data @d {channels = ["u", "v", "t"], grid = array<i64: 4, 8>, history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}
s2s.parallel {axes = ["data"], backend = #s2s.backend<gloo>, checkpoint_activations = true, sizes = array<i64: 1>, strategy = #s2s.strategy<ddp>}
// CHECK-LABEL: func.func @net_rollout(
// CHECK:         call @net__batch4(%{{.*}}) {s2s.recompute}
// CHECK:         call @net(%{{.*}}) {s2s.recompute}

// -----

// Order 1: one call of the model itself, no clone, no stacking; the loss
// weight defaults to uniform and an order weight of 1 adds no multiply.
func.func @step(%x: tensor<4x2x8x16xbf16>) -> tensor<4x2x8x16xbf16> attributes {s2s.model = "Step"} {
  return %x : tensor<4x2x8x16xbf16>
}
s2s.data @d {channels = ["a", "b"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @step on @d {order = 1 : i64, loss = #s2s.loss<kind = huber, weight = uniform, delta = 1.0>}

// CHECK-NOT:   __batch
// CHECK-LABEL: func.func @step_rollout(
// CHECK-SAME:      %[[W:.*]]: tensor<4x2x2x8x16xbf16>) -> tensor<bf16> attributes {s2s.rollout_of = @step} {
// CHECK-NEXT:    s2s.slice %[[W]] {dim = 1 : i64, end = 1 : i64, start = 0 : i64}
// CHECK-NEXT:    %[[X0:.*]] = s2s.flatten
// CHECK-NEXT:    s2s.slice %[[W]] {dim = 1 : i64, end = 2 : i64, start = 1 : i64}
// CHECK-NEXT:    %[[X1:.*]] = s2s.flatten
// CHECK-NEXT:    %[[TI:.*]] = s2s.call_times %[[X0]] {blocks = 1 : i64, first = 0 : i64, step_seconds = 0 : i64}
// CHECK-NEXT:    %[[P:.*]] = call @step(%[[TI]]) : (tensor<4x2x8x16xbf16>) -> tensor<4x2x8x16xbf16>
// CHECK-NEXT:    %[[L:.*]] = s2s.loss huber %[[P]], %[[X1]] {delta = 1.000000e+00 : f64, weight = #s2s.weighting<uniform>} : tensor<4x2x8x16xbf16>, tensor<4x2x8x16xbf16> -> tensor<bf16>
// CHECK-NEXT:    return %[[L]] : tensor<bf16>
// CHECK-NEXT:  }
// CHECK-NOT:   __batch

// -----

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

func.func @net(%x: tensor<2x3x4x8xf32>, %y: tensor<2x3x4x8xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<2x3x4x8xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{unrolling needs a model with one input and one output; 'net' has 2 inputs and 1 outputs}}
s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

func.func @net(%x: tensor<8xf32>) -> tensor<8xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{unrolling needs a model whose input has a known rank with the batch first; 'net' takes 'tensor<8xf32>'}}
s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

func.func @net(%x: tensor<*xf32>) -> tensor<*xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<*xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{unrolling needs a model whose input has a known rank with the batch first; 'net' takes 'tensor<*xf32>'}}
s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

func.func @net(%x: tensor<2x3x4x8xf32>) -> tensor<2x3x4x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<2x3x4x8xf32> -> tensor<2x3x4x4xf32>
  return %0 : tensor<2x3x4x4xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{a rolled-out model must map its input shape to itself; 'net' maps [2, 3, 4, 8] to [2, 3, 4, 4]}}
s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

func.func @net(%x: tensor<?x3x4x8xf32>) -> tensor<?x3x4x8xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<?x3x4x8xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{unrolling needs a known batch size; set 'batch' in the train section}}
s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

func.func @net(%x: tensor<2x3x4x8xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<2x3x4x8xf32>
}
func.func @net_rollout() {
  return
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{'net_rollout' already exists}}
s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

// Two rollouts of one model: the second finds the first one's function.
func.func @net(%x: tensor<2x3x4x8xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<2x3x4x8xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @net on @d {order = 1 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}
// expected-error @+1 {{'net_rollout' already exists}}
s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

// A model that hard-codes its batch cannot be cloned for another one: the
// error is at the layer that does not fit.
func.func @net(%x: tensor<2x3x4x8xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.model = "Net"} {
  // expected-error @+1 {{cannot reshape [4, 3, 4, 8] (384 elements) to [2, 3, 32]}}
  %0 = s2s.reshape %x {shape = array<i64: 2, 3, 32>} : tensor<2x3x4x8xf32> -> tensor<2x3x32xf32>
  %1 = s2s.reshape %0 {shape = array<i64: 2, 3, 4, 8>} : tensor<2x3x32xf32> -> tensor<2x3x4x8xf32>
  return %1 : tensor<2x3x4x8xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

// Lead-time training: one call of f(x0, hours) per window, each sample's
// lead drawn from {1, 2, 4} steps of 6 h, its target the frame at that
// lead; the window holds the largest lead + 1 frames. The one-step
// function the program validates with takes its lead from the context.
func.func @lt(%x: tensor<2x3x4x8xf32>, %lead: tensor<2xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.model = "LeadTimeNet"} {
  %e = s2s.lead_embed %lead {dim = 4 : i64} : tensor<2xf32> -> tensor<2x4xf32>
  %s = s2s.reshape %e {shape = array<i64: 2, 1, 1, 4>} : tensor<2x4xf32> -> tensor<2x1x1x4xf32>
  %y = s2s.mul %x, %s : tensor<2x3x4x8xf32>, tensor<2x1x1x4xf32> -> tensor<2x3x4x8xf32>
  return %y : tensor<2x3x4x8xf32>
}
s2s.data @d {channels = ["u", "v", "t"], grid = array<i64: 4, 8>, step = 21600 : i64, history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @lt on @d {order = 1 : i64, loss = #s2s.loss<kind = mse, weight = latitude, delta = 1.0>, leads = array<i64: 1, 2, 4>}

// CHECK-LABEL: func.func @lt(
// CHECK:       s2s.rollout @lt on @d {leads = array<i64: 1, 2, 4>, {{.*}}s2s.step = @lt_step, s2s.unrolled = @lt_rollout}
// CHECK-LABEL: func.func @lt_rollout(
// CHECK-SAME:      %[[W:.*]]: tensor<2x5x3x4x8xf32>) -> tensor<f32> attributes {s2s.rollout_of = @lt} {
// CHECK-NEXT:    %[[S0:.*]] = s2s.slice %[[W]] {dim = 1 : i64, end = 1 : i64, start = 0 : i64} : tensor<2x5x3x4x8xf32> -> tensor<2x1x3x4x8xf32>
// CHECK-NEXT:    %[[X0:.*]] = s2s.flatten %[[S0]] {end = 1 : i64, start = 0 : i64} : tensor<2x1x3x4x8xf32> -> tensor<2x3x4x8xf32>
// CHECK-NEXT:    %[[L:.*]] = s2s.sample_leads %[[W]] {leads = array<i64: 1, 2, 4>} : tensor<2x5x3x4x8xf32> -> tensor<2xf32>
// CHECK-NEXT:    %[[T:.*]] = s2s.select_lead %[[W]], %[[L]] : tensor<2x5x3x4x8xf32>, tensor<2xf32> -> tensor<2x3x4x8xf32>
// CHECK-NEXT:    %[[STEP:.*]] = s2s.constant 6.000000e+00 : tensor<f32>
// CHECK-NEXT:    %[[H:.*]] = s2s.mul %[[L]], %[[STEP]] : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
// CHECK-NEXT:    %[[P:.*]] = call @lt(%[[X0]], %[[H]]) : (tensor<2x3x4x8xf32>, tensor<2xf32>) -> tensor<2x3x4x8xf32>
// CHECK-NEXT:    %[[LOSS:.*]] = s2s.loss mse %[[P]], %[[T]] {delta = 1.000000e+00 : f64, weight = #s2s.weighting<latitude>} : tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32> -> tensor<f32>
// CHECK-NEXT:    return %[[LOSS]] : tensor<f32>
// CHECK-LABEL: func.func @lt_step(
// CHECK-SAME:      %[[X:.*]]: tensor<2x3x4x8xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.step_of = @lt} {
// CHECK-NEXT:    %[[CH:.*]] = s2s.context_lead %[[X]] {default_seconds = 21600 : i64} : tensor<2x3x4x8xf32> -> tensor<2xf32>
// CHECK-NEXT:    %[[Y:.*]] = call @lt(%[[X]], %[[CH]]) : (tensor<2x3x4x8xf32>, tensor<2xf32>) -> tensor<2x3x4x8xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<2x3x4x8xf32>

// -----

// A loss weight (order 1's) scales the lead-time loss.
func.func @lt(%x: tensor<2x3x4x8xf32>, %lead: tensor<2xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.model = "LeadTimeNet"} {
  return %x : tensor<2x3x4x8xf32>
}
s2s.data @d {channels = ["u", "v", "t"], step = 3600 : i64, history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.rollout @lt on @d {order = 1 : i64, loss = #s2s.loss<kind = mae, weight = uniform, delta = 1.0>, weights = array<f64: 0.5>, leads = array<i64: 3>}

// CHECK-LABEL: func.func @lt_rollout(
// CHECK-SAME:      tensor<2x4x3x4x8xf32>
// CHECK:         s2s.sample_leads %{{.*}} {leads = array<i64: 3>}
// CHECK:         s2s.constant 1.000000e+00 : tensor<f32>
// CHECK:         %[[LOSS:.*]] = s2s.loss mae
// CHECK-NEXT:    %[[HALF:.*]] = s2s.constant 5.000000e-01 : tensor<f32>
// CHECK-NEXT:    %[[WL:.*]] = s2s.mul %[[LOSS]], %[[HALF]]
// CHECK-NEXT:    return %[[WL]] : tensor<f32>
// CHECK-LABEL: func.func @lt_step(
// CHECK:         s2s.context_lead %{{.*}} {default_seconds = 3600 : i64}

// -----

func.func @net(%x: tensor<2x3x4x8xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<2x3x4x8xf32>
}
s2s.data @d {channels = ["u"], step = 21600 : i64, history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{lead-time training needs a model of two inputs (the fields and the lead time in hours, [batch]) and one output; 'net' has 1 inputs and 1 outputs}}
s2s.rollout @net on @d {order = 1 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>, leads = array<i64: 1, 2>}

// -----

func.func @lt(%x: tensor<2x3x4x8xf32>, %lead: tensor<2x1xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.model = "LeadTimeNet"} {
  return %x : tensor<2x3x4x8xf32>
}
s2s.data @d {channels = ["u"], step = 21600 : i64, history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{lead-time training needs a model whose second input is the lead time per sample, [batch]; 'lt' takes [2, 1]}}
s2s.rollout @lt on @d {order = 1 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>, leads = array<i64: 1, 2>}

// -----

// Composing lead-time calls (order > 1) is refused, not ignored.
func.func @lt(%x: tensor<2x3x4x8xf32>, %lead: tensor<2xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.model = "LeadTimeNet"} {
  return %x : tensor<2x3x4x8xf32>
}
s2s.data @d {channels = ["u"], step = 21600 : i64, history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{leads with order = 2 (composing lead-time calls) is not implemented yet; use order = 1: each sample is one call at its drawn lead}}
s2s.rollout @lt on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>, leads = array<i64: 1, 2>}

// -----

func.func @lt(%x: tensor<2x3x4x8xf32>, %lead: tensor<2xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.model = "LeadTimeNet"} {
  return %x : tensor<2x3x4x8xf32>
}
s2s.data @d {channels = ["u"], step = 21600 : i64, history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{leads with jacobian is not implemented yet; drop one of the two}}
s2s.rollout @lt on @d {order = 1 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>, leads = array<i64: 1, 2>, jacobian = #s2s.jacobian<kind = hutchinson, samples = 1, weight = 1.0e-3, dist = rademacher, at = first>}

// -----

func.func @lt(%x: tensor<2x3x4x8xf32>, %lead: tensor<2xf32>) -> tensor<2x3x4x8xf32> attributes {s2s.model = "LeadTimeNet"} {
  return %x : tensor<2x3x4x8xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{leads need the data's step (a lead of l steps is l * step hours); give the data section a step = 6h or similar}}
s2s.rollout @lt on @d {order = 1 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>, leads = array<i64: 2>}
