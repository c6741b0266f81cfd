// s2s-infer-shapes: every ShapeInference op's result type is set from its
// operands and attributes, in order, and each function's result types follow
// its return. Shapes that do not fit are errors at the op.
//
// RUN: s2s-opt %s -split-input-file -s2s-infer-shapes -verify-diagnostics | FileCheck %s

// A field model: broadcasting, a strided convolution, normalisation,
// patches, tokens, the AFNO mixer and back to a field.
// CHECK-LABEL: func.func @field(
// CHECK-SAME: -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"}
// CHECK-NEXT: s2s.add {{.*}} -> tensor<8x3x32x64xf32>
// CHECK-NEXT: s2s.conv2d {{.*}} : tensor<8x3x32x64xf32> -> tensor<8x16x16x32xf32>
// CHECK-NEXT: s2s.conv2d {{.*}} : tensor<8x16x16x32xf32> -> tensor<8x4x14x30xf32>
// CHECK-NEXT: s2s.group_norm {{.*}} : tensor<8x16x16x32xf32> -> tensor<8x16x16x32xf32>
// CHECK-NEXT: s2s.patch_embed {{.*}} : tensor<8x16x16x32xf32> -> tensor<8x16x32xf32>
// CHECK-NEXT: s2s.layer_norm {{.*}} : tensor<8x16x32xf32> -> tensor<8x16x32xf32>
// CHECK-NEXT: s2s.attention {{.*}} : tensor<8x16x32xf32> -> tensor<8x16x32xf32>
// CHECK-NEXT: s2s.reshape {{.*}} {shape = array<i64: 8, 4, 4, -1>} : tensor<8x16x32xf32> -> tensor<8x4x4x32xf32>
// CHECK-NEXT: s2s.afno2d {{.*}} : tensor<8x4x4x32xf32> -> tensor<8x4x4x32xf32>
// CHECK-NEXT: s2s.flatten {{.*}} : tensor<8x4x4x32xf32> -> tensor<8x16x32xf32>
// CHECK-NEXT: s2s.linear {{.*}} : tensor<8x16x32xf32> -> tensor<8x16x384xf32>
// CHECK-NEXT: s2s.unpatch {{.*}} : tensor<8x16x384xf32> -> tensor<8x3x32x64xf32>
// CHECK-NEXT: return %{{.*}} : tensor<8x3x32x64xf32>
func.func @field(%x: tensor<8x3x32x64xf32>, %b: tensor<3x1x64xf32>) -> tensor<*xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.add %x, %b : tensor<8x3x32x64xf32>, tensor<3x1x64xf32> -> tensor<*xf32>
  // (32 + 2 - 3) / 2 + 1 = 16 and (64 + 2 - 3) / 2 + 1 = 32.
  %1 = s2s.conv2d %0 {out = 16 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<circular>, bias = true, name = "enc"} : tensor<*xf32> -> tensor<*xf32>
  // Unpadded 3x3: 16 - 2 = 14 and 32 - 2 = 30; an unused result is inferred too.
  %u = s2s.conv2d %1 {out = 4 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, pad_mode = #s2s.pad_mode<zeros>, bias = false, name = "side"} : tensor<*xf32> -> tensor<*xf32>
  %2 = s2s.group_norm %1 {groups = 4 : i64, eps = 1.0e-05 : f64, name = "gn"} : tensor<*xf32> -> tensor<*xf32>
  // (16 / 4) * (32 / 8) = 16 tokens.
  %3 = s2s.patch_embed %2 {patch = array<i64: 4, 8>, embed = 32 : i64, name = "embed"} : tensor<*xf32> -> tensor<*xf32>
  %4 = s2s.layer_norm %3 {eps = 1.0e-05 : f64, name = "norm"} : tensor<*xf32> -> tensor<*xf32>
  %5 = s2s.attention %4 {heads = 4 : i64, qkv_bias = true, dropout = 0.0 : f64, name = "attn"} : tensor<*xf32> -> tensor<*xf32>
  %6 = s2s.reshape %5 {shape = array<i64: 8, 4, 4, -1>} : tensor<*xf32> -> tensor<*xf32>
  %7 = s2s.afno2d %6 {blocks = 4 : i64, sparsity = 0.01 : f64, modes = 1.0 : f64, name = "filter"} : tensor<*xf32> -> tensor<*xf32>
  %8 = s2s.flatten %7 {start = 1 : i64, end = 2 : i64} : tensor<*xf32> -> tensor<*xf32>
  // 3 channels * 8 * 16 features for each of the (32 / 8) * (64 / 16) = 16 tokens.
  %9 = s2s.linear %8 {out = 384 : i64, bias = true, name = "head"} : tensor<*xf32> -> tensor<*xf32>
  %10 = s2s.unpatch %9 {patch = array<i64: 8, 16>, grid = array<i64: 32, 64>, channels = 3 : i64} : tensor<*xf32> -> tensor<*xf32>
  return %10 : tensor<*xf32>
}

// -----

// Layout ops, FFTs and the runtime inputs.
// CHECK-LABEL: func.func @layout(
// CHECK-SAME: -> (tensor<8x32x64x3xf32>, tensor<8x3x2048xf32>, tensor<8x9x32x64xf32>, tensor<8x2x32x64xf32>, tensor<8x32x64xf32>, tensor<8x3x32x1xf32>, tensor<8x3x36x66xf32>, tensor<8x3x34x70xf32>)
// CHECK-NEXT: s2s.permute {{.*}} -> tensor<8x32x64x3xf32>
// CHECK-NEXT: s2s.flatten {{.*}} -> tensor<8x3x2048xf32>
// CHECK-NEXT: s2s.concat {{.*}} -> tensor<8x9x32x64xf32>
// CHECK-NEXT: s2s.slice {{.*}} -> tensor<8x2x32x64xf32>
// CHECK-NEXT: s2s.mean {{.*}} -> tensor<8x32x64xf32>
// CHECK-NEXT: s2s.mean {{.*}} -> tensor<8x3x32x1xf32>
// CHECK-NEXT: s2s.pad {{.*}} -> tensor<8x3x36x66xf32>
// CHECK-NEXT: s2s.pad_sphere {{.*}} -> tensor<8x3x34x70xf32>
func.func @layout(%x: tensor<8x3x32x64xf32>, %y: tensor<8x6x32x64xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %0 = s2s.permute %x {dims = array<i64: 0, 2, 3, 1>} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  %1 = s2s.flatten %x {start = -2 : i64, end = -1 : i64} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  %2 = s2s.concat %x, %y {dim = 1 : i64} : tensor<8x3x32x64xf32>, tensor<8x6x32x64xf32> -> tensor<*xf32>
  %3 = s2s.slice %x {dim = -3 : i64, start = 1 : i64, end = 3 : i64} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  %4 = s2s.mean %x {dim = 1 : i64, keep = false} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  %5 = s2s.mean %x {dim = -1 : i64, keep = true} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  // Pairs from the last dimension backwards: lon + 1 + 1, lat + 2 + 2.
  %6 = s2s.pad %x {pad = array<i64: 1, 1, 2, 2>, mode = #s2s.pad_mode<circular>} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  // [lat, lon] cells on each side.
  %7 = s2s.pad_sphere %x {pad = array<i64: 1, 3>} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// CHECK-LABEL: func.func @fft(
// CHECK-NEXT: s2s.rfft2 {{.*}} : tensor<8x3x32x64xf32> -> tensor<8x3x32x33xcomplex<f32>>
// CHECK-NEXT: s2s.irfft2 {{.*}} : tensor<8x3x32x33xcomplex<f32>> -> tensor<8x3x32x64xf32>
// CHECK-NEXT: s2s.fft2 {{.*}} : tensor<8x3x32x64xf32> -> tensor<8x3x32x64xcomplex<f32>>
// CHECK-NEXT: s2s.ifft2 {{.*}} : tensor<8x3x32x64xcomplex<f32>> -> tensor<8x3x32x64xcomplex<f32>>
// CHECK-NEXT: s2s.rfft2 {{.*}} : tensor<4x7xf64> -> tensor<4x4xcomplex<f64>>
func.func @fft(%x: tensor<8x3x32x64xf32>, %z: tensor<4x7xf64>) {
  %0 = s2s.rfft2 %x : tensor<8x3x32x64xf32> -> tensor<*xf32>
  %1 = s2s.irfft2 %0 {size = array<i64: 32, 64>} : tensor<*xf32> -> tensor<*xf32>
  %2 = s2s.fft2 %x : tensor<8x3x32x64xf32> -> tensor<*xf32>
  %3 = s2s.ifft2 %2 : tensor<*xf32> -> tensor<*xf32>
  %4 = s2s.rfft2 %z : tensor<4x7xf64> -> tensor<*xf64>
  return
}

// CHECK-LABEL: func.func @inputs(
// CHECK-NEXT: s2s.graph_edges {{.*}}"multimesh", refinement = 0 : i64} : tensor<8x3x32x64xf32> -> tensor<2x60xi64>
// CHECK-NEXT: s2s.graph_edges {{.*}}"multimesh", refinement = 2 : i64} : tensor<8x3x32x64xf32> -> tensor<2x1260xi64>
// CHECK-NEXT: s2s.graph_message {{.*}} : tensor<2x42x16xf32>, tensor<2x1260x4xf32>, tensor<2x1260xi64> -> tensor<2x42x8xf32>
// CHECK-NEXT: s2s.graph_edges {{.*}}"mesh2grid", refinement = 2 : i64} : tensor<8x3x32x64xf32> -> tensor<2x6144xi64>
// CHECK-NEXT: s2s.graph_edges {{.*}}"grid2mesh", refinement = 2 : i64} : tensor<8x3x?x64xf32> -> tensor<2x?xi64>
// CHECK-NEXT: s2s.graph_edge_features {{.*}}"multimesh", refinement = 1 : i64} : tensor<8x3x32x64xf32> -> tensor<1x300x4xf32>
// CHECK-NEXT: s2s.graph_node_features {{.*}}"mesh", refinement = 2 : i64} : tensor<8x3x32x64xf32> -> tensor<1x162x3xf32>
// CHECK-NEXT: s2s.graph_node_features {{.*}}"grid", refinement = 2 : i64} : tensor<8x3x32x64xf32> -> tensor<1x2048x3xf32>
// CHECK-NEXT: s2s.graph_gather {{.*}} : tensor<2x42x16xf32>, tensor<2x1260xi64> -> tensor<2x1260x16xf32>
// CHECK-NEXT: s2s.graph_scatter_sum {{.*}} : tensor<2x1260x4xf32>, tensor<2x1260xi64>, tensor<1x162x3xf32> -> tensor<2x162x4xf32>
// CHECK-NEXT: s2s.call_times {{.*}} : tensor<8x3x32x64xf32> -> tensor<8x3x32x64xf32>
// CHECK-NEXT: s2s.grid_coords {{.*}} : tensor<8x3x32x64xf32> -> tensor<8x4x32x64xf32>
// CHECK-NEXT: s2s.time_features {{.*}} : tensor<8x3x32x64xf32> -> tensor<8x4x32x64xf32>
// CHECK-NEXT: s2s.lead_embed {{.*}} : tensor<8xf32> -> tensor<8x16xf32>
// CHECK-NEXT: s2s.lead_embed {{.*}} : tensor<8x1xf32> -> tensor<8x4xf32>
// CHECK-NEXT: s2s.loss mse {{.*}} : tensor<8x3x32x64xf32>, tensor<8x3x32x64xf32> -> tensor<f32>
// CHECK-NEXT: s2s.constant 2.000000e+00 : tensor<f32>
// CHECK-NEXT: s2s.mul {{.*}} : tensor<f32>, tensor<f32> -> tensor<f32>
func.func @inputs(%x: tensor<8x3x32x64xf32>, %xd: tensor<8x3x?x64xf32>, %n: tensor<2x42x16xf32>, %ef: tensor<2x1260x4xf32>, %l: tensor<8xf32>, %l1: tensor<8x1xf32>) {
  %e0 = s2s.graph_edges %x {graph = "multimesh", refinement = 0 : i64} : tensor<8x3x32x64xf32> -> tensor<*xi64>
  // Both ways, the edges of M0, M1, M2: 2 * (30 + 120 + 480) = 1260.
  %e2 = s2s.graph_edges %x {graph = "multimesh", refinement = 2 : i64} : tensor<8x3x32x64xf32> -> tensor<*xi64>
  %h = s2s.graph_message %n, %ef, %e2 {hidden = 32 : i64, out = 8 : i64, name = "proc"} : tensor<2x42x16xf32>, tensor<2x1260x4xf32>, tensor<*xi64> -> tensor<*xf32>
  // Three per grid point: 3 * 32 * 64.
  %m2g = s2s.graph_edges %x {graph = "mesh2grid", refinement = 2 : i64} : tensor<8x3x32x64xf32> -> tensor<*xi64>
  // Grid graphs of a grid not known yet.
  %g2m = s2s.graph_edges %xd {graph = "grid2mesh", refinement = 2 : i64} : tensor<8x3x?x64xf32> -> tensor<*xi64>
  %ef1 = s2s.graph_edge_features %x {graph = "multimesh", refinement = 1 : i64} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  %nm = s2s.graph_node_features %x {nodes = "mesh", refinement = 2 : i64} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  %ng = s2s.graph_node_features %x {nodes = "grid", refinement = 2 : i64} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  %ga = s2s.graph_gather %n, %e2 {end = "sender"} : tensor<2x42x16xf32>, tensor<*xi64> -> tensor<*xf32>
  %sc = s2s.graph_scatter_sum %ef, %e2, %nm : tensor<2x1260x4xf32>, tensor<*xi64>, tensor<*xf32> -> tensor<*xf32>
  %ct = s2s.call_times %x {first = 1 : i64, blocks = 2 : i64, step_seconds = 21600 : i64} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  %g = s2s.grid_coords %x : tensor<8x3x32x64xf32> -> tensor<*xf32>
  %t = s2s.time_features %x {lead = 0 : i64} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  %le = s2s.lead_embed %l {dim = 16 : i64} : tensor<8xf32> -> tensor<*xf32>
  %le1 = s2s.lead_embed %l1 {dim = 4 : i64} : tensor<8x1xf32> -> tensor<*xf32>
  %loss = s2s.loss mse %x, %x {delta = 1.000000e+00 : f64, weight = #s2s.weighting<latitude>} : tensor<8x3x32x64xf32>, tensor<8x3x32x64xf32> -> tensor<*xf32>
  %two = s2s.constant 2.0 : tensor<f32>
  %s = s2s.mul %loss, %two : tensor<*xf32>, tensor<f32> -> tensor<*xf32>
  return
}

// CHECK-LABEL: func.func @columns(
// CHECK-NEXT: s2s.convective_adjust {{.*}} : tensor<8x5x32x64xf32>, tensor<8x5x32x64xf32> -> tensor<8x5x32x64xf32>
func.func @columns(%x: tensor<8x5x32x64xf32>) {
  %c = s2s.convective_adjust %x, %x {tau = 3600 : i64, threshold = 0.0 : f64, step = 3600 : i64, temperature = array<i64: 0, 1>, humidity = array<i64: 2, 3>, levels = array<i64: 500, 850>} : tensor<8x5x32x64xf32>, tensor<8x5x32x64xf32> -> tensor<*xf32>
  return
}

// -----

// Dynamic sizes stay dynamic; unranked operands leave results alone; a
// reshape of a dynamic input keeps its rank, -1 becoming a dynamic size.
// CHECK-LABEL: func.func @dynamic(
// CHECK-SAME: -> (tensor<?x16x32x?xf32>, tensor<?x3x32x?xf32>, tensor<?x32xf32>, tensor<*xf32>, tensor<?x8xf32>)
// CHECK-NEXT: s2s.conv2d {{.*}} : tensor<?x3x32x?xf32> -> tensor<?x16x32x?xf32>
// CHECK-NEXT: s2s.add {{.*}} : tensor<?x3x32x?xf32>, tensor<1x3x1x1xf32> -> tensor<?x3x32x?xf32>
// CHECK-NEXT: s2s.reshape {{.*}} : tensor<?x3x32x?xf32> -> tensor<?x32xf32>
// CHECK-NEXT: s2s.linear {{.*}} : tensor<*xf32> -> tensor<*xf32>
// CHECK-NEXT: s2s.flatten {{.*}} : tensor<?x3x32x8xf32> -> tensor<?x8xf32>
func.func @dynamic(%x: tensor<?x3x32x?xf32>, %b: tensor<1x3x1x1xf32>, %u: tensor<*xf32>, %v: tensor<?x3x32x8xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %0 = s2s.conv2d %x {out = 16 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "c"} : tensor<?x3x32x?xf32> -> tensor<*xf32>
  %1 = s2s.add %x, %b : tensor<?x3x32x?xf32>, tensor<1x3x1x1xf32> -> tensor<*xf32>
  %2 = s2s.reshape %x {shape = array<i64: -1, 32>} : tensor<?x3x32x?xf32> -> tensor<*xf32>
  %3 = s2s.linear %u {out = 4 : i64, bias = true, name = "fc"} : tensor<*xf32> -> tensor<*xf32>
  %4 = s2s.flatten %v {start = 0 : i64, end = 2 : i64} : tensor<?x3x32x8xf32> -> tensor<*xf32>
  return %0, %1, %2, %3, %4 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// Shapes that may still agree at run time are not errors: a dynamic batch
// against a static one, lead times [batch, ?], edges [?, E].
// CHECK-LABEL: func.func @compatible(
// CHECK-NEXT: s2s.cross_attention {{.*}} : tensor<?x64x32xf32>, tensor<8x10x16xf32> -> tensor<?x64x32xf32>
// CHECK-NEXT: s2s.lead_embed {{.*}} : tensor<8x?xf32> -> tensor<8x6xf32>
// CHECK-NEXT: s2s.graph_message {{.*}} : tensor<2x42x16xf32>, tensor<2x240x4xf32>, tensor<?x240xi64> -> tensor<2x42x4xf32>
// CHECK-NEXT: s2s.loss mae {{.*}} : tensor<?x3xf32>, tensor<8x3xf32> -> tensor<f32>
func.func @compatible(%q: tensor<?x64x32xf32>, %c: tensor<8x10x16xf32>, %l: tensor<8x?xf32>, %n: tensor<2x42x16xf32>, %ef: tensor<2x240x4xf32>, %e: tensor<?x240xi64>, %p: tensor<?x3xf32>, %t: tensor<8x3xf32>) {
  %0 = s2s.cross_attention %q, %c {heads = 4 : i64, name = "x"} : tensor<?x64x32xf32>, tensor<8x10x16xf32> -> tensor<*xf32>
  %1 = s2s.lead_embed %l {dim = 6 : i64} : tensor<8x?xf32> -> tensor<*xf32>
  %2 = s2s.graph_message %n, %ef, %e {hidden = 8 : i64, out = 4 : i64, name = "g"} : tensor<2x42x16xf32>, tensor<2x240x4xf32>, tensor<?x240xi64> -> tensor<*xf32>
  %3 = s2s.loss mae %p, %t {delta = 1.000000e+00 : f64, weight = #s2s.weighting<uniform>} : tensor<?x3xf32>, tensor<8x3xf32> -> tensor<*xf32>
  return
}

// Every function body is inferred, not only model forwards; declarations are
// left alone.
// CHECK-LABEL: func.func private @external(tensor<4xf32>) -> tensor<*xf32>
// CHECK-LABEL: func.func @helper(
// CHECK-SAME: -> tensor<4x2xbf16>
// CHECK-NEXT: s2s.linear {{.*}} : tensor<4x8xbf16> -> tensor<4x2xbf16>
func.func private @external(tensor<4xf32>) -> tensor<*xf32>
func.func @helper(%x: tensor<4x8xbf16>) -> tensor<*xbf16> {
  %0 = s2s.linear %x {out = 2 : i64, bias = false, name = "fc"} : tensor<4x8xbf16> -> tensor<*xbf16>
  return %0 : tensor<*xbf16>
}

// -----

//===----------------------------------------------------------------------===//
// Errors: one per shape rule.
//===----------------------------------------------------------------------===//

func.func @convective_adjust_channel_range(%x: tensor<8x5x32x64xf32>) {
  // expected-error @+1 {{convective_adjust: channel 7 is beyond the 5 channels of [8, 5, 32, 64]}}
  %0 = s2s.convective_adjust %x, %x {tau = 3600 : i64, threshold = 0.0 : f64, step = 3600 : i64, temperature = array<i64: 0, 1>, humidity = array<i64: 2, 7>, levels = array<i64: 500, 850>} : tensor<8x5x32x64xf32>, tensor<8x5x32x64xf32> -> tensor<8x5x32x64xf32>
  return
}

// -----

func.func @broadcast(%x: tensor<8x3xf32>, %y: tensor<4x1xf32>) {
  // expected-error @+1 {{shapes [8, 3] and [4, 1] do not broadcast for 'sub'}}
  %0 = s2s.sub %x, %y : tensor<8x3xf32>, tensor<4x1xf32> -> tensor<*xf32>
  return
}

// -----

func.func @linear_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{linear needs at least one dimension, got a scalar}}
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<f32> -> tensor<*xf32>
  return
}

// -----

func.func @conv2d_rank(%x: tensor<8x32x64xf32>) {
  // expected-error @+1 {{conv2d expects [batch, channel, lat, lon], got [8, 32, 64]}}
  %0 = s2s.conv2d %x {out = 4 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "c"} : tensor<8x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @conv2d_kernel(%x: tensor<8x3x2x64xf32>) {
  // expected-error @+1 {{conv2d kernel [5, 5] is larger than the padded input [8, 3, 2, 64]}}
  %0 = s2s.conv2d %x {out = 4 : i64, kernel = array<i64: 5, 5>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "c"} : tensor<8x3x2x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @group_norm_rank(%x: tensor<8xf32>) {
  // expected-error @+1 {{group_norm needs [batch, channel, ...], got [8]}}
  %0 = s2s.group_norm %x {groups = 2 : i64, eps = 1.0e-05 : f64, name = "gn"} : tensor<8xf32> -> tensor<*xf32>
  return
}

// -----

func.func @group_norm_groups(%x: tensor<8x30x4x4xf32>) {
  // expected-error @+1 {{group_norm: 30 channels do not divide into 8 groups (input [8, 30, 4, 4])}}
  %0 = s2s.group_norm %x {groups = 8 : i64, eps = 1.0e-05 : f64, name = "gn"} : tensor<8x30x4x4xf32> -> tensor<*xf32>
  return
}

// -----

func.func @attention_rank(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{attention expects [batch, tokens, embed], got [8, 16]}}
  %0 = s2s.attention %x {heads = 4 : i64, qkv_bias = true, dropout = 0.0 : f64, name = "attn"} : tensor<8x16xf32> -> tensor<*xf32>
  return
}

// -----

func.func @attention_heads(%x: tensor<8x16x100xf32>) {
  // expected-error @+1 {{attention: embedding 100 does not divide into 12 heads (input [8, 16, 100])}}
  %0 = s2s.attention %x {heads = 12 : i64, qkv_bias = true, dropout = 0.0 : f64, name = "attn"} : tensor<8x16x100xf32> -> tensor<*xf32>
  return
}

// -----

func.func @cross_attention_context_rank(%x: tensor<8x16x64xf32>, %c: tensor<8x10xf32>) {
  // expected-error @+1 {{cross_attention expects a context [batch, tokens, embed], got [8, 10]}}
  %0 = s2s.cross_attention %x, %c {heads = 4 : i64, name = "x"} : tensor<8x16x64xf32>, tensor<8x10xf32> -> tensor<*xf32>
  return
}

// -----

func.func @cross_attention_batch(%x: tensor<8x16x64xf32>, %c: tensor<4x10x32xf32>) {
  // expected-error @+1 {{cross_attention: batch of [8, 16, 64] and context [4, 10, 32] differ}}
  %0 = s2s.cross_attention %x, %c {heads = 4 : i64, name = "x"} : tensor<8x16x64xf32>, tensor<4x10x32xf32> -> tensor<*xf32>
  return
}

// -----

func.func @cross_attention_heads(%x: tensor<8x16x64xf32>, %c: tensor<8x10x32xf32>) {
  // expected-error @+1 {{cross_attention: embedding 64 does not divide into 6 heads}}
  %0 = s2s.cross_attention %x, %c {heads = 6 : i64, name = "x"} : tensor<8x16x64xf32>, tensor<8x10x32xf32> -> tensor<*xf32>
  return
}

// -----

func.func @patch_embed_divide(%x: tensor<8x3x30x64xf32>) {
  // expected-error @+1 {{patch [8, 8] does not divide grid [30, 64] (input [8, 3, 30, 64])}}
  %0 = s2s.patch_embed %x {patch = array<i64: 8, 8>, embed = 16 : i64, name = "e"} : tensor<8x3x30x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @unpatch_tokens(%t: tensor<8x30x192xf32>) {
  // expected-error @+1 {{unpatch of grid [32, 64] by patch [8, 8] needs 32 tokens, got [8, 30, 192]}}
  %0 = s2s.unpatch %t {patch = array<i64: 8, 8>, grid = array<i64: 32, 64>, channels = 3 : i64} : tensor<8x30x192xf32> -> tensor<*xf32>
  return
}

// -----

func.func @unpatch_features(%t: tensor<8x32x64xf32>) {
  // expected-error @+1 {{unpatch to 3 channels by patch [8, 8] needs 192 features per token, got [8, 32, 64]}}
  %0 = s2s.unpatch %t {patch = array<i64: 8, 8>, grid = array<i64: 32, 64>, channels = 3 : i64} : tensor<8x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @afno2d_blocks(%x: tensor<8x4x8x30xf32>) {
  // expected-error @+1 {{afno2d: embedding 30 does not divide into 8 blocks (input [8, 4, 8, 30])}}
  %0 = s2s.afno2d %x {blocks = 8 : i64, sparsity = 0.01 : f64, modes = 1.0 : f64, name = "f"} : tensor<8x4x8x30xf32> -> tensor<*xf32>
  return
}

// -----

func.func @graph_message_edges(%n: tensor<2x42x16xf32>, %ef: tensor<2x240x4xf32>, %e: tensor<2x960xi64>) {
  // expected-error @+1 {{graph_message: edges [2, 960] and edge features [2, 240, 4] disagree (edges are [2, E], features [batch, E, dim])}}
  %0 = s2s.graph_message %n, %ef, %e {hidden = 8 : i64, out = 4 : i64, name = "g"} : tensor<2x42x16xf32>, tensor<2x240x4xf32>, tensor<2x960xi64> -> tensor<*xf32>
  return
}

// -----

func.func @graph_message_nodes(%n: tensor<42x16xf32>, %ef: tensor<2x240x4xf32>, %e: tensor<2x240xi64>) {
  // expected-error @+1 {{graph_message expects nodes [batch, nodes, dim], got [42, 16]}}
  %0 = s2s.graph_message %n, %ef, %e {hidden = 8 : i64, out = 4 : i64, name = "g"} : tensor<42x16xf32>, tensor<2x240x4xf32>, tensor<2x240xi64> -> tensor<*xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{cannot reshape [8, 16] (128 elements) to [8, 3, 8]}}
  %0 = s2s.reshape %x {shape = array<i64: 8, 3, 8>} : tensor<8x16xf32> -> tensor<*xf32>
  return
}

// -----

func.func @reshape_unknown(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{cannot reshape [8, 16] (128 elements) to [3, -1]}}
  %0 = s2s.reshape %x {shape = array<i64: 3, -1>} : tensor<8x16xf32> -> tensor<*xf32>
  return
}

// -----

// The verifier cannot check the rank of a permute whose operand is not yet
// inferred; the pass does.
func.func @permute_rank(%x: tensor<8x16xf32>) {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<*xf32>
  // expected-error @+1 {{permute [0, 2, 1] does not fit [8, 4]}}
  %1 = s2s.permute %0 {dims = array<i64: 0, 2, 1>} : tensor<*xf32> -> tensor<*xf32>
  return
}

// -----

func.func @flatten_dim(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{'s2s.flatten' op dimension 2 is out of range for rank 2}}
  %0 = s2s.flatten %x {start = 0 : i64, end = 2 : i64} : tensor<8x16xf32> -> tensor<*xf32>
  return
}

// -----

func.func @flatten_order(%x: tensor<8x16x4xf32>) {
  // expected-error @+1 {{flatten: start -1 is after end 0 for [8, 16, 4]}}
  %0 = s2s.flatten %x {start = -1 : i64, end = 0 : i64} : tensor<8x16x4xf32> -> tensor<*xf32>
  return
}

// -----

func.func @concat_fit(%x: tensor<8x3x32xf32>, %y: tensor<8x3x16xf32>) {
  // expected-error @+1 {{concat along dimension -2: [8, 3, 32] and [8, 3, 16] do not fit}}
  %0 = s2s.concat %x, %y {dim = -2 : i64} : tensor<8x3x32xf32>, tensor<8x3x16xf32> -> tensor<*xf32>
  return
}

// -----

func.func @concat_rank(%x: tensor<8x3xf32>, %y: tensor<8x3x1xf32>) {
  // expected-error @+1 {{concat along dimension 0: [8, 3] and [8, 3, 1] do not fit}}
  %0 = s2s.concat %x, %y {dim = 0 : i64} : tensor<8x3xf32>, tensor<8x3x1xf32> -> tensor<*xf32>
  return
}

// -----

func.func @concat_dim(%x: tensor<8x3xf32>) {
  // expected-error @+1 {{'s2s.concat' op dimension 2 is out of range for rank 2}}
  %0 = s2s.concat %x, %x {dim = 2 : i64} : tensor<8x3xf32>, tensor<8x3xf32> -> tensor<*xf32>
  return
}

// -----

func.func @slice_range(%x: tensor<8x3xf32>) {
  // expected-error @+1 {{slice 1..4 of dimension -1 is out of range for [8, 3]}}
  %0 = s2s.slice %x {dim = -1 : i64, start = 1 : i64, end = 4 : i64} : tensor<8x3xf32> -> tensor<*xf32>
  return
}

// -----

func.func @slice_dim(%x: tensor<8x3xf32>) {
  // expected-error @+1 {{'s2s.slice' op dimension -3 is out of range for rank 2}}
  %0 = s2s.slice %x {dim = -3 : i64, start = 0 : i64, end = 1 : i64} : tensor<8x3xf32> -> tensor<*xf32>
  return
}

// -----

func.func @mean_dim(%x: tensor<f32>) {
  // expected-error @+1 {{'s2s.mean' op dimension 0 is out of range for rank 0}}
  %0 = s2s.mean %x {dim = 0 : i64, keep = false} : tensor<f32> -> tensor<*xf32>
  return
}

// -----

func.func @pad_dims(%x: tensor<8xf32>) {
  // expected-error @+1 {{pad of 2 dimensions on [8]}}
  %0 = s2s.pad %x {pad = array<i64: 1, 1, 1, 1>, mode = #s2s.pad_mode<zeros>} : tensor<8xf32> -> tensor<*xf32>
  return
}

// -----

func.func @pad_sphere_rank(%x: tensor<32x64xf32>) {
  // expected-error @+1 {{pad_sphere expects [batch, channel, lat, lon], got [32, 64]}}
  %0 = s2s.pad_sphere %x {pad = array<i64: 1, 1>} : tensor<32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @rfft2_rank(%x: tensor<64xf32>) {
  // expected-error @+1 {{rfft2 transforms the last two dimensions, got [64]}}
  %0 = s2s.rfft2 %x : tensor<64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @ifft2_rank(%x: tensor<64xcomplex<f32>>) {
  // expected-error @+1 {{ifft2 transforms the last two dimensions, got [64]}}
  %0 = s2s.ifft2 %x : tensor<64xcomplex<f32>> -> tensor<*xf32>
  return
}

// -----

func.func @irfft2_width(%x: tensor<8x3x32x64xcomplex<f32>>) {
  // expected-error @+1 {{irfft2 to size [32, 64] needs a last dimension of 33, got [8, 3, 32, 64]}}
  %0 = s2s.irfft2 %x {size = array<i64: 32, 64>} : tensor<8x3x32x64xcomplex<f32>> -> tensor<*xf32>
  return
}

// -----

func.func @grid_coords_rank(%x: tensor<8x32x64xf32>) {
  // expected-error @+1 {{grid_coords expects [batch, channel, lat, lon], got [8, 32, 64]}}
  %0 = s2s.grid_coords %x : tensor<8x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @lead_embed_shape(%l: tensor<8x2xf32>) {
  // expected-error @+1 {{lead_embed expects lead times [batch] or [batch, 1], got [8, 2]}}
  %0 = s2s.lead_embed %l {dim = 4 : i64} : tensor<8x2xf32> -> tensor<*xf32>
  return
}

// -----

// The verifier cannot compare a loss's operands before they are inferred;
// the pass does.
func.func @loss_shapes(%x: tensor<8x16xf32>) {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<*xf32>
  // expected-error @+1 {{loss: prediction [8, 4] and target [8, 16] differ}}
  %1 = s2s.loss mse %0, %x {delta = 1.000000e+00 : f64, weight = #s2s.weighting<uniform>} : tensor<*xf32>, tensor<8x16xf32> -> tensor<*xf32>
  return
}

// -----

// An error does not stop the walk: every bad op in the module is reported.
func.func @two_errors(%x: tensor<8x30x4x4xf32>, %t: tensor<8x16x100xf32>) {
  // expected-error @+1 {{group_norm: 30 channels do not divide into 4 groups}}
  %0 = s2s.group_norm %x {groups = 4 : i64, eps = 1.0e-05 : f64, name = "gn"} : tensor<8x30x4x4xf32> -> tensor<*xf32>
  // expected-error @+1 {{attention: embedding 100 does not divide into 8 heads}}
  %1 = s2s.attention %t {heads = 8 : i64, qkv_bias = true, dropout = 0.0 : f64, name = "attn"} : tensor<8x16x100xf32> -> tensor<*xf32>
  return
}

// -----

// Patches: [n, c, 8, 16] in patches of 4x8 every 4x8 -> 2x2 patches per sample.
// CHECK-LABEL: func.func @patches
func.func @patches(%x: tensor<3x2x8x16xf32>) -> tensor<*xf32> {
  // CHECK: s2s.extract_patches %{{.*}} : tensor<3x2x8x16xf32> -> tensor<12x2x4x8xf32>
  %p = s2s.extract_patches %x {size = array<i64: 4, 8>, stride = array<i64: 4, 8>} : tensor<3x2x8x16xf32> -> tensor<*xf32>
  // CHECK: s2s.merge_patches %{{.*}} : tensor<12x2x4x8xf32> -> tensor<3x2x8x16xf32>
  %m = s2s.merge_patches %p {grid = array<i64: 8, 16>, size = array<i64: 4, 8>, stride = array<i64: 4, 8>, halo = array<i64: 0, 0>} : tensor<*xf32> -> tensor<*xf32>
  return %m : tensor<*xf32>
}

// -----

func.func @merge_wrong_patch(%x: tensor<4x3x8x16xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{merge_patches of patches [8, 8] got [4, 3, 8, 16]}}
  %0 = s2s.merge_patches %x {grid = array<i64: 8, 8>, size = array<i64: 8, 8>, stride = array<i64: 8, 8>, halo = array<i64: 0, 0>} : tensor<4x3x8x16xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @merge_not_a_multiple(%x: tensor<5x3x4x8xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{merge_patches: 5 patches are not a multiple of the 4 patches of a sample}}
  %0 = s2s.merge_patches %x {grid = array<i64: 8, 16>, size = array<i64: 4, 8>, stride = array<i64: 4, 8>, halo = array<i64: 0, 0>} : tensor<5x3x4x8xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @sample_leads_past_window(%w: tensor<8x3x3x32x64xf32>) {
  // expected-error @+1 {{sample_leads: a window of 3 frames has no frame at lead 4}}
  %l = s2s.sample_leads %w {leads = array<i64: 1, 4>} : tensor<8x3x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @select_lead_batch(%w: tensor<8x3x3x32x64xf32>, %l: tensor<4xf32>) {
  // expected-error @+1 {{select_lead expects one lead per sample, [8], got [4]}}
  %t = s2s.select_lead %w, %l : tensor<8x3x3x32x64xf32>, tensor<4xf32> -> tensor<*xf32>
  return
}

// -----

// CHECK-LABEL: func.func @lead_time_shapes(
func.func @lead_time_shapes(%w: tensor<8x5x3x32x64xf32>, %x: tensor<8x3x32x64xf32>) {
  // CHECK: s2s.sample_leads {{.*}} -> tensor<8xf32>
  %l = s2s.sample_leads %w {leads = array<i64: 1, 4>} : tensor<8x5x3x32x64xf32> -> tensor<*xf32>
  // CHECK: s2s.select_lead {{.*}} -> tensor<8x3x32x64xf32>
  %t = s2s.select_lead %w, %l : tensor<8x5x3x32x64xf32>, tensor<*xf32> -> tensor<*xf32>
  // CHECK: s2s.context_lead {{.*}} -> tensor<8xf32>
  %h = s2s.context_lead %x {default_seconds = 3600 : i64} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}
