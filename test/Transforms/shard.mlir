// s2s-shard: every parameter-owning op in a model forward (or a rollout
// variant of one) gets `s2s.sharding = {grads, optimizer, params, tensor}`
// from the strategy and mesh of `s2s.parallel`.
//
// RUN: s2s-opt %s -split-input-file -s2s-shard -verify-diagnostics | FileCheck %s

// Without s2s.parallel (one device) nothing is annotated.
// CHECK-LABEL: func.func @single(
// CHECK-NOT:   s2s.sharding
// CHECK:       return
func.func @single(%x: tensor<8x16xf32>) -> tensor<8x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// ddp: everything replicated, on every kind of parameter-owning op and only
// on those; functions that are neither models nor variants are left alone.
// CHECK-LABEL: func.func @ddp(
// CHECK-NEXT:    s2s.param {init = #s2s.init<zeros>, init_args = array<f64>, name = "pos", s2s.sharding = #s2s.sharding<params = replicated, grads = replicated, optimizer = replicated, tensor = replicated>}
// CHECK-NEXT:    s2s.add
// CHECK-NOT:     s2s.sharding
// CHECK-NEXT:    s2s.conv2d {{.*}}name = "enc", out = 4 : i64, pad_mode = #s2s.pad_mode<zeros>, padding = array<i64: 1, 1>, s2s.sharding = #s2s.sharding<params = replicated, grads = replicated, optimizer = replicated, tensor = replicated>, stride
// CHECK-NEXT:    s2s.group_norm {{.*}}s2s.sharding = #s2s.sharding<params = replicated, grads = replicated, optimizer = replicated, tensor = replicated>}
// CHECK-NEXT:    s2s.activation relu
// CHECK-NOT:     s2s.sharding
// CHECK-NEXT:    s2s.patch_embed {{.*}}s2s.sharding = #s2s.sharding<params = replicated, grads = replicated, optimizer = replicated, tensor = replicated>}
// CHECK-NEXT:    s2s.layer_norm {{.*}}s2s.sharding = #s2s.sharding<params = replicated, grads = replicated, optimizer = replicated, tensor = replicated>}
// CHECK-NEXT:    s2s.attention {{.*}}s2s.sharding = #s2s.sharding<params = replicated, grads = replicated, optimizer = replicated, tensor = replicated>}
// CHECK-NEXT:    s2s.cross_attention {{.*}}s2s.sharding = #s2s.sharding<params = replicated, grads = replicated, optimizer = replicated, tensor = replicated>}
// CHECK-NEXT:    s2s.linear {{.*}}s2s.sharding = #s2s.sharding<params = replicated, grads = replicated, optimizer = replicated, tensor = replicated>}
// CHECK-NEXT:    s2s.linear {{.*}}s2s.sharding = #s2s.sharding<params = replicated, grads = replicated, optimizer = replicated, tensor = replicated>}
// CHECK-NEXT:    return
// CHECK-LABEL: func.func @helper(
// CHECK-NOT:   s2s.sharding
// CHECK-LABEL: func.func @ddp__batch16(
// CHECK-SAME:      attributes {s2s.variant_of = @ddp}
// CHECK-NEXT:    s2s.param {{.*}}s2s.sharding = #s2s.sharding<params = replicated, grads = replicated, optimizer = replicated, tensor = replicated>}
func.func @ddp(%x: tensor<8x3x16x16xf32>, %c: tensor<8x10x8xf32>) -> tensor<8x4x8xf32> attributes {s2s.model = "Net"} {
  %p = s2s.param {name = "pos", init = #s2s.init<zeros>, init_args = array<f64>} : tensor<1x3x1x1xf32>
  %0 = s2s.add %x, %p : tensor<8x3x16x16xf32>, tensor<1x3x1x1xf32> -> tensor<8x3x16x16xf32>
  %1 = s2s.conv2d %0 {out = 4 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "enc"} : tensor<8x3x16x16xf32> -> tensor<8x4x16x16xf32>
  %2 = s2s.group_norm %1 {groups = 2 : i64, eps = 1.0e-05 : f64, name = "gn"} : tensor<8x4x16x16xf32> -> tensor<8x4x16x16xf32>
  %3 = s2s.activation relu %2 : tensor<8x4x16x16xf32> -> tensor<8x4x16x16xf32>
  %4 = s2s.patch_embed %3 {patch = array<i64: 4, 4>, embed = 8 : i64, name = "embed"} : tensor<8x4x16x16xf32> -> tensor<8x16x8xf32>
  %5 = s2s.layer_norm %4 {eps = 1.0e-05 : f64, name = "ln"} : tensor<8x16x8xf32> -> tensor<8x16x8xf32>
  %6 = s2s.attention %5 {heads = 2 : i64, qkv_bias = true, dropout = 0.0 : f64, name = "attn"} : tensor<8x16x8xf32> -> tensor<8x16x8xf32>
  %7 = s2s.cross_attention %6, %c {heads = 2 : i64, name = "x"} : tensor<8x16x8xf32>, tensor<8x10x8xf32> -> tensor<8x16x8xf32>
  // A pair of linears, but there is no tensor axis.
  %8 = s2s.linear %7 {out = 8 : i64, bias = true, name = "fc1"} : tensor<8x16x8xf32> -> tensor<8x16x8xf32>
  %9 = s2s.linear %8 {out = 8 : i64, bias = true, name = "fc2"} : tensor<8x16x8xf32> -> tensor<8x4x8xf32>
  return %9 : tensor<8x4x8xf32>
}
func.func @helper(%x: tensor<8x16xf32>) -> tensor<8x4xf32> {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}
func.func @ddp__batch16(%x: tensor<16x3xf32>) -> tensor<1x3xf32> attributes {s2s.variant_of = @ddp} {
  %p = s2s.param {name = "pos", init = #s2s.init<zeros>, init_args = array<f64>} : tensor<1x3xf32>
  return %p : tensor<1x3xf32>
}
s2s.parallel {axes = ["data"], sizes = array<i64: 8>, strategy = #s2s.strategy<ddp>, backend = #s2s.backend<auto>, checkpoint_activations = false}

// -----

// ZeRO stages: optimizer state (zero1), and gradients (zero2), and
// parameters (zero3, fsdp) sharded over the data axis.
// CHECK-LABEL: func.func @zero1(
// CHECK-NEXT:    s2s.linear {{.*}}s2s.sharding = #s2s.sharding<params = replicated, grads = replicated, optimizer = sharded, tensor = replicated>}
func.func @zero1(%x: tensor<8x16xf32>) -> tensor<8x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}
s2s.parallel {axes = ["data"], sizes = array<i64: 8>, strategy = #s2s.strategy<zero1>, backend = #s2s.backend<auto>, checkpoint_activations = false}

// -----

// CHECK-LABEL: func.func @zero2(
// CHECK-NEXT:    s2s.linear {{.*}}s2s.sharding = #s2s.sharding<params = replicated, grads = sharded, optimizer = sharded, tensor = replicated>}
func.func @zero2(%x: tensor<8x16xf32>) -> tensor<8x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}
s2s.parallel {axes = ["data"], sizes = array<i64: 8>, strategy = #s2s.strategy<zero2>, backend = #s2s.backend<auto>, checkpoint_activations = false}

// -----

// CHECK-LABEL: func.func @zero3(
// CHECK-NEXT:    s2s.linear {{.*}}s2s.sharding = #s2s.sharding<params = sharded, grads = sharded, optimizer = sharded, tensor = replicated>}
func.func @zero3(%x: tensor<8x16xf32>) -> tensor<8x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}
s2s.parallel {axes = ["data"], sizes = array<i64: 8>, strategy = #s2s.strategy<zero3>, backend = #s2s.backend<auto>, checkpoint_activations = false}

// -----

// CHECK-LABEL: func.func @fsdp(
// CHECK-NEXT:    s2s.linear {{.*}}s2s.sharding = #s2s.sharding<params = sharded, grads = sharded, optimizer = sharded, tensor = replicated>}
func.func @fsdp(%x: tensor<8x16xf32>) -> tensor<8x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}
s2s.parallel {axes = ["data"], sizes = array<i64: 8>, strategy = #s2s.strategy<fsdp>, backend = #s2s.backend<auto>, checkpoint_activations = false}

// -----

// A tensor axis of 2: Megatron layouts. Attention is column; a linear that
// reaches another through pointwise ops only (activation, dropout) is column
// and that one row; the third of a chain starts no pair; a layer norm breaks
// a pair; a linear with two uses pairs with nothing.
// The collectives around them: f (tp_copy) on each column layer's input,
// g (tp_all_reduce) on each row layer's and attention's output, holding
// the bias (and activation) of the layer, added once after the sum.
// CHECK-LABEL: func.func @megatron(
// CHECK-NEXT:    %[[F0:.*]] = s2s.tp_copy %{{.*}} {size = 2 : i64}
// CHECK-NEXT:    %[[A:.*]] = s2s.attention %[[F0]] {{.*}}name = "attn", qkv_bias = true, s2s.sharding = #s2s.sharding<params = replicated, grads = sharded, optimizer = sharded, tensor = column>, s2s.tensor_parts = 2 : i64}
// CHECK-NEXT:    %[[G0:.*]] = s2s.tp_all_reduce %[[A]] {bias_of = "attn.proj", size = 2 : i64}
// CHECK-NEXT:    %[[F1:.*]] = s2s.tp_copy %[[G0]] {size = 2 : i64}
// CHECK-NEXT:    s2s.linear %[[F1]] {{.*}}name = "mlp.fc1", out = 256 : i64, s2s.sharding = {{.*}}tensor = column>, s2s.tensor_parts = 2 : i64}
// CHECK-NEXT:    s2s.activation gelu
// CHECK-NEXT:    s2s.dropout
// CHECK-NEXT:    %[[R:.*]] = s2s.linear {{.*}}name = "mlp.fc2", out = 64 : i64, s2s.sharding = {{.*}}tensor = row>, s2s.tensor_parts = 2 : i64}
// CHECK-NEXT:    %[[G1:.*]] = s2s.tp_all_reduce %[[R]] {bias_of = "mlp.fc2", size = 2 : i64}
// CHECK-NEXT:    s2s.tp_copy %[[G1]]
// CHECK-NEXT:    s2s.linear {{.*}}name = "a", out = 64 : i64, s2s.sharding = {{.*}}tensor = column>, s2s.tensor_parts = 2 : i64}
// CHECK-NEXT:    s2s.linear {{.*}}name = "b", out = 64 : i64, s2s.sharding = {{.*}}tensor = row>, s2s.tensor_parts = 2 : i64}
// CHECK-NEXT:    s2s.tp_all_reduce {{.*}}bias_of = "b"
// CHECK-NEXT:    s2s.linear {{.*}}name = "c", out = 64 : i64, s2s.sharding = {{.*}}tensor = replicated>}
// CHECK-NEXT:    s2s.add
// CHECK-NEXT:    s2s.linear {{.*}}name = "d", out = 64 : i64, s2s.sharding = {{.*}}tensor = replicated>}
// CHECK-NEXT:    s2s.layer_norm {{.*}}s2s.sharding = {{.*}}tensor = replicated>}
// CHECK-NEXT:    s2s.linear {{.*}}name = "e", out = 64 : i64, s2s.sharding = {{.*}}tensor = replicated>}
// CHECK-NEXT:    s2s.add
// CHECK-NEXT:    s2s.linear {{.*}}name = "f", out = 64 : i64, s2s.sharding = {{.*}}tensor = replicated>}
// CHECK-NEXT:    s2s.linear {{.*}}name = "g", out = 64 : i64, s2s.sharding = {{.*}}tensor = replicated>}
// CHECK-NEXT:    s2s.add
func.func @megatron(%x: tensor<8x16x64xf32>) -> tensor<8x16x64xf32> attributes {s2s.model = "Net"} {
  %a = s2s.attention %x {heads = 4 : i64, qkv_bias = true, dropout = 0.0 : f64, name = "attn"} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  %1 = s2s.linear %a {out = 256 : i64, bias = true, name = "mlp.fc1"} : tensor<8x16x64xf32> -> tensor<8x16x256xf32>
  %2 = s2s.activation gelu %1 : tensor<8x16x256xf32> -> tensor<8x16x256xf32>
  %3 = s2s.dropout %2 {p = 0.1 : f64} : tensor<8x16x256xf32> -> tensor<8x16x256xf32>
  %4 = s2s.linear %3 {out = 64 : i64, bias = true, name = "mlp.fc2"} : tensor<8x16x256xf32> -> tensor<8x16x64xf32>
  // A chain of three: a-b pair, c alone (its only user is an add).
  %5 = s2s.linear %4 {out = 64 : i64, bias = true, name = "a"} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  %6 = s2s.linear %5 {out = 64 : i64, bias = true, name = "b"} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  %7 = s2s.linear %6 {out = 64 : i64, bias = true, name = "c"} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  %r1 = s2s.add %7, %4 : tensor<8x16x64xf32>, tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  // d -> layer_norm -> e: no pair.
  %8 = s2s.linear %r1 {out = 64 : i64, bias = true, name = "d"} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  %9 = s2s.layer_norm %8 {eps = 1.0e-05 : f64, name = "ln"} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  %10 = s2s.linear %9 {out = 64 : i64, bias = true, name = "e"} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  %r2 = s2s.add %10, %r1 : tensor<8x16x64xf32>, tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  // f feeds g and the residual add: no pair.
  %11 = s2s.linear %r2 {out = 64 : i64, bias = true, name = "f"} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  %12 = s2s.linear %11 {out = 64 : i64, bias = true, name = "g"} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  %13 = s2s.add %11, %12 : tensor<8x16x64xf32>, tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  return %13 : tensor<8x16x64xf32>
}
s2s.parallel {axes = ["data", "tensor"], sizes = array<i64: 4, 2>, strategy = #s2s.strategy<zero2>, backend = #s2s.backend<auto>, checkpoint_activations = false}

// -----

// A row linear's activation (fused by s2s-fuse) and bias move to the
// all-reduce; a row linear without a bias gives it no bias_of.
// CHECK-LABEL: func.func @row_activation(
// CHECK-NEXT:    s2s.tp_copy
// CHECK-NEXT:    s2s.linear {{.*}}name = "fc1"
// CHECK-NEXT:    %[[R:.*]] = s2s.linear %{{.*}} {bias = true, name = "fc2", out = 4 : i64, s2s.sharding
// CHECK-NEXT:    %[[G:.*]] = s2s.tp_all_reduce %[[R]] {activation = #s2s<activation gelu>, bias_of = "fc2", size = 4 : i64}
// CHECK-NEXT:    s2s.tp_copy %[[G]]
// CHECK-NEXT:    s2s.linear {{.*}}name = "fc3"
// CHECK-NEXT:    %[[R2:.*]] = s2s.linear {{.*}}bias = false, name = "fc4"
// CHECK-NEXT:    s2s.tp_all_reduce %[[R2]] {size = 4 : i64}
// CHECK-NEXT:    return
func.func @row_activation(%x: tensor<8x16xf32>) -> tensor<8x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 8 : i64, bias = true, name = "fc1"} : tensor<8x16xf32> -> tensor<8x8xf32>
  %1 = s2s.linear %0 {out = 4 : i64, bias = true, name = "fc2", activation = #s2s<activation gelu>} : tensor<8x8xf32> -> tensor<8x4xf32>
  %2 = s2s.linear %1 {out = 8 : i64, bias = true, name = "fc3"} : tensor<8x4xf32> -> tensor<8x8xf32>
  %3 = s2s.linear %2 {out = 4 : i64, bias = false, name = "fc4"} : tensor<8x8xf32> -> tensor<8x4xf32>
  return %3 : tensor<8x4xf32>
}
s2s.parallel {axes = ["data", "tensor"], sizes = array<i64: 1, 4>, strategy = #s2s.strategy<ddp>, backend = #s2s.backend<auto>, checkpoint_activations = false}

// -----

// A tensor axis of size 1 is no tensor parallelism.
// CHECK-LABEL: func.func @tensor_one(
// CHECK-NEXT:    s2s.linear {{.*}}s2s.sharding = #s2s.sharding<params = replicated, grads = replicated, optimizer = replicated, tensor = replicated>}
// CHECK-NEXT:    s2s.linear {{.*}}s2s.sharding = #s2s.sharding<params = replicated, grads = replicated, optimizer = replicated, tensor = replicated>}
func.func @tensor_one(%x: tensor<8x16xf32>) -> tensor<8x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 3 : i64, bias = true, name = "fc1"} : tensor<8x16xf32> -> tensor<8x3xf32>
  %1 = s2s.linear %0 {out = 4 : i64, bias = true, name = "fc2"} : tensor<8x3xf32> -> tensor<8x4xf32>
  return %1 : tensor<8x4xf32>
}
s2s.parallel {axes = ["data", "tensor"], sizes = array<i64: 8, 1>, strategy = #s2s.strategy<ddp>, backend = #s2s.backend<auto>, checkpoint_activations = false}

// -----

// Column layouts that do not divide over the tensor axis; both are reported.
func.func @indivisible(%x: tensor<8x16x12xf32>) -> tensor<8x16x4xf32> attributes {s2s.model = "Net"} {
  // expected-error @+1 {{cannot split 3 attention heads over a tensor axis of 2}}
  %a = s2s.attention %x {heads = 3 : i64, qkv_bias = true, dropout = 0.0 : f64, name = "attn"} : tensor<8x16x12xf32> -> tensor<8x16x12xf32>
  // expected-error @+1 {{cannot split the 5 outputs of this linear over a tensor axis of 2}}
  %1 = s2s.linear %a {out = 5 : i64, bias = true, name = "fc1"} : tensor<8x16x12xf32> -> tensor<8x16x5xf32>
  %2 = s2s.linear %1 {out = 4 : i64, bias = true, name = "fc2"} : tensor<8x16x5xf32> -> tensor<8x16x4xf32>
  return %2 : tensor<8x16x4xf32>
}
s2s.parallel {axes = ["data", "tensor"], sizes = array<i64: 2, 2>, strategy = #s2s.strategy<ddp>, backend = #s2s.backend<auto>, checkpoint_activations = false}
