// Round trip of every op of the s2s dialect: custom form -> custom form,
// generic form -> custom form, and bytecode -> custom form. The CHECK lines
// give each op's printed form with all its attributes (printed sorted by
// name) and types.
//
// RUN: s2s-opt %s | s2s-opt | FileCheck %s
// RUN: s2s-opt %s --mlir-print-op-generic | s2s-opt | FileCheck %s
// RUN: s2s-opt %s -emit-bytecode | s2s-opt | FileCheck %s

//===----------------------------------------------------------------------===//
// Scalars and elementwise arithmetic
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @constant()
// CHECK-NEXT: %{{.*}} = s2s.constant 5.000000e-01 : tensor<f32>
// CHECK-NEXT: %{{.*}} = s2s.constant -2.500000e+00 : tensor<f64>
func.func @constant() -> (tensor<f32>, tensor<f64>) {
  %half = s2s.constant 5.000000e-01 : tensor<f32>
  %neg = s2s.constant -2.5 : tensor<f64>
  return %half, %neg : tensor<f32>, tensor<f64>
}

// CHECK-LABEL: func.func @arith(
// CHECK-SAME: %[[X:[^:]+]]: tensor<8x3x32x64xf32>, %[[Y:[^:]+]]: tensor<1x3x1x1xf32>, %[[S:[^:]+]]: tensor<f32>
// CHECK-NEXT: %[[A:[^ ]+]] = s2s.add %[[X]], %[[Y]] : tensor<8x3x32x64xf32>, tensor<1x3x1x1xf32> -> tensor<8x3x32x64xf32>
// CHECK-NEXT: %[[B:[^ ]+]] = s2s.sub %[[A]], %[[X]] : tensor<8x3x32x64xf32>, tensor<8x3x32x64xf32> -> tensor<8x3x32x64xf32>
// CHECK-NEXT: %[[C:[^ ]+]] = s2s.mul %[[B]], %[[S]] : tensor<8x3x32x64xf32>, tensor<f32> -> tensor<8x3x32x64xf32>
// CHECK-NEXT: %[[D:[^ ]+]] = s2s.div %[[S]], %[[C]] : tensor<f32>, tensor<8x3x32x64xf32> -> tensor<8x3x32x64xf32>
// CHECK-NEXT: %[[E:[^ ]+]] = s2s.neg %[[D]] : tensor<8x3x32x64xf32> -> tensor<8x3x32x64xf32>
// CHECK-NEXT: %[[F:[^ ]+]] = s2s.add %[[E]], %[[S]] : tensor<8x3x32x64xf32>, tensor<f32> -> tensor<*xf32>
// CHECK-NEXT: return %[[F]] : tensor<*xf32>
func.func @arith(%x: tensor<8x3x32x64xf32>, %y: tensor<1x3x1x1xf32>, %s: tensor<f32>) -> tensor<*xf32> {
  %a = s2s.add %x, %y : tensor<8x3x32x64xf32>, tensor<1x3x1x1xf32> -> tensor<8x3x32x64xf32>
  %b = s2s.sub %a, %x : tensor<8x3x32x64xf32>, tensor<8x3x32x64xf32> -> tensor<8x3x32x64xf32>
  %c = s2s.mul %b, %s : tensor<8x3x32x64xf32>, tensor<f32> -> tensor<8x3x32x64xf32>
  %d = s2s.div %s, %c : tensor<f32>, tensor<8x3x32x64xf32> -> tensor<8x3x32x64xf32>
  %e = s2s.neg %d : tensor<8x3x32x64xf32> -> tensor<8x3x32x64xf32>
  // Results need not be inferred yet: an unranked result is valid.
  %f = s2s.add %e, %s : tensor<8x3x32x64xf32>, tensor<f32> -> tensor<*xf32>
  return %f : tensor<*xf32>
}

// CHECK-LABEL: func.func @pointwise(
// CHECK-SAME: %[[X:[^:]+]]: tensor<8x16xf32>
// CHECK-NEXT: %{{.+}} = s2s.activation gelu %[[X]] : tensor<8x16xf32> -> tensor<8x16xf32>
// CHECK-NEXT: %{{.+}} = s2s.activation relu %[[X]] : tensor<8x16xf32> -> tensor<8x16xf32>
// CHECK-NEXT: %{{.+}} = s2s.activation silu %[[X]] : tensor<8x16xf32> -> tensor<8x16xf32>
// CHECK-NEXT: %{{.+}} = s2s.activation tanh %[[X]] : tensor<8x16xf32> -> tensor<8x16xf32>
// CHECK-NEXT: %{{.+}} = s2s.activation sigmoid %[[X]] : tensor<8x16xf32> -> tensor<?x16xf32>
// CHECK-NEXT: %{{.+}} = s2s.softmax %[[X]] {dim = -1 : i64} : tensor<8x16xf32> -> tensor<8x16xf32>
// CHECK-NEXT: %{{.+}} = s2s.softmax %[[X]] {dim = 0 : i64} : tensor<8x16xf32> -> tensor<8x16xf32>
// CHECK-NEXT: %{{.+}} = s2s.dropout %[[X]] {p = 1.000000e-01 : f64} : tensor<8x16xf32> -> tensor<8x16xf32>
// CHECK-NEXT: %{{.+}} = s2s.dropout %[[X]] {p = 0.000000e+00 : f64} : tensor<8x16xf32> -> tensor<8x16xf32>
// CHECK-NEXT: %{{.+}} = s2s.drop_path %[[X]] {p = 2.500000e-01 : f64} : tensor<8x16xf32> -> tensor<8x16xf32>
func.func @pointwise(%x: tensor<8x16xf32>) {
  %0 = s2s.activation gelu %x : tensor<8x16xf32> -> tensor<8x16xf32>
  %1 = s2s.activation relu %x : tensor<8x16xf32> -> tensor<8x16xf32>
  %2 = s2s.activation silu %x : tensor<8x16xf32> -> tensor<8x16xf32>
  %3 = s2s.activation tanh %x : tensor<8x16xf32> -> tensor<8x16xf32>
  %4 = s2s.activation sigmoid %x : tensor<8x16xf32> -> tensor<?x16xf32>
  %5 = s2s.softmax %x {dim = -1 : i64} : tensor<8x16xf32> -> tensor<8x16xf32>
  %6 = s2s.softmax %x {dim = 0 : i64} : tensor<8x16xf32> -> tensor<8x16xf32>
  %7 = s2s.dropout %x {p = 0.1 : f64} : tensor<8x16xf32> -> tensor<8x16xf32>
  %8 = s2s.dropout %x {p = 0.0 : f64} : tensor<8x16xf32> -> tensor<8x16xf32>
  %9 = s2s.drop_path %x {p = 0.25 : f64} : tensor<8x16xf32> -> tensor<8x16xf32>
  return
}

//===----------------------------------------------------------------------===//
// Layers with learnable parameters
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @linear(
// CHECK-SAME: %[[X:[^:]+]]: tensor<8x256x384xf32>, %[[D:[^:]+]]: tensor<?x?x384xf32>
// CHECK-NEXT: %[[H:[^ ]+]] = s2s.linear %[[X]] {bias = true, name = "head", out = 768 : i64} : tensor<8x256x384xf32> -> tensor<8x256x768xf32>
// CHECK-NEXT: %{{.+}} = s2s.linear %[[H]] {activation = #s2s<activation gelu>, bias = false, name = "blocks.3.mlp.fc1", out = 16 : i64} : tensor<8x256x768xf32> -> tensor<8x256x16xf32>
// CHECK-NEXT: %{{.+}} = s2s.linear %[[D]] {bias = true, name = "dyn", out = 1 : i64} : tensor<?x?x384xf32> -> tensor<*xf32>
func.func @linear(%x: tensor<8x256x384xf32>, %d: tensor<?x?x384xf32>) {
  %h = s2s.linear %x {out = 768 : i64, bias = true, name = "head"}
      : tensor<8x256x384xf32> -> tensor<8x256x768xf32>
  %f = s2s.linear %h {out = 16 : i64, bias = false, name = "blocks.3.mlp.fc1", activation = #s2s<activation gelu>}
      : tensor<8x256x768xf32> -> tensor<8x256x16xf32>
  %g = s2s.linear %d {out = 1 : i64, bias = true, name = "dyn"} : tensor<?x?x384xf32> -> tensor<*xf32>
  return
}

// CHECK-LABEL: func.func @conv_and_norms(
// CHECK-SAME: %[[X:[^:]+]]: tensor<8x3x32x64xf32>
// CHECK-NEXT: %[[C:[^ ]+]] = s2s.conv2d %[[X]] {bias = true, kernel = array<i64: 3, 3>, name = "enc", out = 32 : i64, pad_mode = #s2s.pad_mode<circular>, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<8x3x32x64xf32> -> tensor<8x32x32x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.conv2d %[[X]] {activation = #s2s<activation relu>, bias = false, kernel = array<i64: 4, 2>, name = "down", out = 8 : i64, pad_mode = #s2s.pad_mode<zeros>, padding = array<i64: 0, 0>, stride = array<i64: 2, 2>} : tensor<8x3x32x64xf32> -> tensor<8x8x15x32xf32>
// CHECK-NEXT: %{{.+}} = s2s.layer_norm %[[C]] {eps = 1.000000e-05 : f64, name = "norm1"} : tensor<8x32x32x64xf32> -> tensor<8x32x32x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.group_norm %[[C]] {eps = 1.000000e-05 : f64, groups = 8 : i64, name = "gn"} : tensor<8x32x32x64xf32> -> tensor<8x32x32x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.instance_norm %[[C]] {eps = 1.000000e-05 : f64} : tensor<8x32x32x64xf32> -> tensor<8x32x32x64xf32>
func.func @conv_and_norms(%x: tensor<8x3x32x64xf32>) {
  %c = s2s.conv2d %x {out = 32 : i64, kernel = array<i64: 3, 3>,
                      stride = array<i64: 1, 1>, padding = array<i64: 1, 1>,
                      pad_mode = #s2s.pad_mode<circular>, bias = true, name = "enc"}
      : tensor<8x3x32x64xf32> -> tensor<8x32x32x64xf32>
  %d = s2s.conv2d %x {out = 8 : i64, kernel = array<i64: 4, 2>,
                      stride = array<i64: 2, 2>, padding = array<i64: 0, 0>,
                      pad_mode = #s2s.pad_mode<zeros>, bias = false, name = "down", activation = #s2s<activation relu>}
      : tensor<8x3x32x64xf32> -> tensor<8x8x15x32xf32>
  %ln = s2s.layer_norm %c {eps = 1.0e-05 : f64, name = "norm1"}
      : tensor<8x32x32x64xf32> -> tensor<8x32x32x64xf32>
  %gn = s2s.group_norm %c {groups = 8 : i64, eps = 1.0e-05 : f64, name = "gn"}
      : tensor<8x32x32x64xf32> -> tensor<8x32x32x64xf32>
  %in = s2s.instance_norm %c {eps = 1.0e-05 : f64} : tensor<8x32x32x64xf32> -> tensor<8x32x32x64xf32>
  return
}

// CHECK-LABEL: func.func @attention(
// CHECK-SAME: %[[X:[^:]+]]: tensor<8x256x768xf32>, %[[C:[^:]+]]: tensor<8x100x128xf32>
// CHECK-NEXT: %[[A:[^ ]+]] = s2s.attention %[[X]] {dropout = 0.000000e+00 : f64, heads = 12 : i64, name = "attn", qkv_bias = true} : tensor<8x256x768xf32> -> tensor<8x256x768xf32>
// CHECK-NEXT: %{{.+}} = s2s.attention %[[A]] {dropout = 1.000000e-01 : f64, heads = 1 : i64, name = "blocks.0.attn", qkv_bias = false} : tensor<8x256x768xf32> -> tensor<8x256x768xf32>
// CHECK-NEXT: %{{.+}} = s2s.cross_attention %[[A]], %[[C]] {heads = 8 : i64, name = "xattn"} : tensor<8x256x768xf32>, tensor<8x100x128xf32> -> tensor<8x256x768xf32>
func.func @attention(%x: tensor<8x256x768xf32>, %c: tensor<8x100x128xf32>) {
  %a = s2s.attention %x {heads = 12 : i64, qkv_bias = true, dropout = 0.0 : f64, name = "attn"}
      : tensor<8x256x768xf32> -> tensor<8x256x768xf32>
  %b = s2s.attention %a {heads = 1 : i64, qkv_bias = false, dropout = 0.1 : f64, name = "blocks.0.attn"}
      : tensor<8x256x768xf32> -> tensor<8x256x768xf32>
  %y = s2s.cross_attention %a, %c {heads = 8 : i64, name = "xattn"}
      : tensor<8x256x768xf32>, tensor<8x100x128xf32> -> tensor<8x256x768xf32>
  return
}

// CHECK-LABEL: func.func @patches(
// CHECK-SAME: %[[X:[^:]+]]: tensor<8x7x720x1440xf32>
// CHECK-NEXT: %[[T:[^ ]+]] = s2s.patch_embed %[[X]] {embed = 768 : i64, name = "embed", patch = array<i64: 8, 8>} : tensor<8x7x720x1440xf32> -> tensor<8x16200x768xf32>
// CHECK-NEXT: %[[R:[^ ]+]] = s2s.reshape %[[T]] {shape = array<i64: 8, 90, 180, -1>} : tensor<8x16200x768xf32> -> tensor<8x90x180x768xf32>
// CHECK-NEXT: %[[F:[^ ]+]] = s2s.afno2d %[[R]] {blocks = 8 : i64, modes = 1.000000e+00 : f64, name = "filter", sparsity = 1.000000e-02 : f64} : tensor<8x90x180x768xf32> -> tensor<8x90x180x768xf32>
// CHECK-NEXT: %[[B:[^ ]+]] = s2s.reshape %[[F]] {shape = array<i64: 8, 16200, 768>} : tensor<8x90x180x768xf32> -> tensor<8x16200x768xf32>
// CHECK-NEXT: %[[H:[^ ]+]] = s2s.linear %[[B]] {bias = false, name = "head", out = 448 : i64} : tensor<8x16200x768xf32> -> tensor<8x16200x448xf32>
// CHECK-NEXT: %[[U:[^ ]+]] = s2s.unpatch %[[H]] {channels = 7 : i64, grid = array<i64: 720, 1440>, patch = array<i64: 8, 8>} : tensor<8x16200x448xf32> -> tensor<8x7x720x1440xf32>
// CHECK-NEXT: return %[[U]] : tensor<8x7x720x1440xf32>
func.func @patches(%x: tensor<8x7x720x1440xf32>) -> tensor<8x7x720x1440xf32> {
  %t = s2s.patch_embed %x {patch = array<i64: 8, 8>, embed = 768 : i64, name = "embed"}
      : tensor<8x7x720x1440xf32> -> tensor<8x16200x768xf32>
  %r = s2s.reshape %t {shape = array<i64: 8, 90, 180, -1>}
      : tensor<8x16200x768xf32> -> tensor<8x90x180x768xf32>
  %f = s2s.afno2d %r {blocks = 8 : i64, sparsity = 0.01 : f64, modes = 1.0 : f64, name = "filter"}
      : tensor<8x90x180x768xf32> -> tensor<8x90x180x768xf32>
  %b = s2s.reshape %f {shape = array<i64: 8, 16200, 768>}
      : tensor<8x90x180x768xf32> -> tensor<8x16200x768xf32>
  %h = s2s.linear %b {out = 448 : i64, bias = false, name = "head"}
      : tensor<8x16200x768xf32> -> tensor<8x16200x448xf32>
  %u = s2s.unpatch %h {patch = array<i64: 8, 8>, grid = array<i64: 720, 1440>, channels = 7 : i64}
      : tensor<8x16200x448xf32> -> tensor<8x7x720x1440xf32>
  return %u : tensor<8x7x720x1440xf32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[N:[^:]+]]: tensor<2x42x64xf32>, %[[EF:[^:]+]]: tensor<2x300x4xf32>, %[[X:[^:]+]]: tensor<2x3x16x32xf32>
// CHECK-NEXT: %[[E:[^ ]+]] = s2s.graph_edges %[[X]] {graph = "multimesh", refinement = 1 : i64} : tensor<2x3x16x32xf32> -> tensor<2x300xi64>
// CHECK-NEXT: %{{.+}} = s2s.graph_message %[[N]], %[[EF]], %[[E]] {hidden = 64 : i64, name = "proc0", out = 32 : i64} : tensor<2x42x64xf32>, tensor<2x300x4xf32>, tensor<2x300xi64> -> tensor<2x42x32xf32>
// CHECK-NEXT: %{{.+}} = s2s.graph_edges %[[X]] {graph = "grid2mesh", refinement = 0 : i64} : tensor<2x3x16x32xf32> -> tensor<2x?xi64>
// CHECK-NEXT: %{{.+}} = s2s.graph_edges %[[X]] {graph = "mesh2grid", refinement = 12 : i64} : tensor<2x3x16x32xf32> -> tensor<2x1536xi64>
// CHECK-NEXT: %{{.+}} = s2s.graph_edge_features %[[X]] {graph = "multimesh", refinement = 1 : i64} : tensor<2x3x16x32xf32> -> tensor<1x300x4xf32>
// CHECK-NEXT: %[[NM:[^ ]+]] = s2s.graph_node_features %[[X]] {nodes = "mesh", refinement = 1 : i64} : tensor<2x3x16x32xf32> -> tensor<1x42x3xf32>
// CHECK-NEXT: %{{.+}} = s2s.graph_gather %[[N]], %[[E]] {end = "receiver"} : tensor<2x42x64xf32>, tensor<2x300xi64> -> tensor<2x300x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.graph_scatter_sum %[[EF]], %[[E]], %[[NM]] : tensor<2x300x4xf32>, tensor<2x300xi64>, tensor<1x42x3xf32> -> tensor<2x42x4xf32>
// CHECK-NEXT: %{{.+}} = s2s.call_times %[[X]] {blocks = 2 : i64, first = 1 : i64, step_seconds = 21600 : i64} : tensor<2x3x16x32xf32> -> tensor<2x3x16x32xf32>
func.func @graph(%n: tensor<2x42x64xf32>, %ef: tensor<2x300x4xf32>, %x: tensor<2x3x16x32xf32>) {
  %e = s2s.graph_edges %x {graph = "multimesh", refinement = 1 : i64} : tensor<2x3x16x32xf32> -> tensor<2x300xi64>
  %h = s2s.graph_message %n, %ef, %e {hidden = 64 : i64, out = 32 : i64, name = "proc0"}
      : tensor<2x42x64xf32>, tensor<2x300x4xf32>, tensor<2x300xi64> -> tensor<2x42x32xf32>
  %g = s2s.graph_edges %x {graph = "grid2mesh", refinement = 0 : i64} : tensor<2x3x16x32xf32> -> tensor<2x?xi64>
  %m = s2s.graph_edges %x {graph = "mesh2grid", refinement = 12 : i64} : tensor<2x3x16x32xf32> -> tensor<2x1536xi64>
  %f = s2s.graph_edge_features %x {graph = "multimesh", refinement = 1 : i64} : tensor<2x3x16x32xf32> -> tensor<1x300x4xf32>
  %nm = s2s.graph_node_features %x {nodes = "mesh", refinement = 1 : i64} : tensor<2x3x16x32xf32> -> tensor<1x42x3xf32>
  %ga = s2s.graph_gather %n, %e {end = "receiver"} : tensor<2x42x64xf32>, tensor<2x300xi64> -> tensor<2x300x64xf32>
  %sc = s2s.graph_scatter_sum %ef, %e, %nm : tensor<2x300x4xf32>, tensor<2x300xi64>, tensor<1x42x3xf32> -> tensor<2x42x4xf32>
  %ct = s2s.call_times %x {first = 1 : i64, blocks = 2 : i64, step_seconds = 21600 : i64} : tensor<2x3x16x32xf32> -> tensor<2x3x16x32xf32>
  return
}

// CHECK-LABEL: func.func @param()
// CHECK-NEXT: %{{.+}} = s2s.param {init = #s2s.init<trunc_normal>, init_args = array<f64: 2.000000e-02>, name = "pos"} : tensor<1x16200x768xf32>
// CHECK-NEXT: %{{.+}} = s2s.param {init = #s2s.init<uniform>, init_args = array<f64: -1.000000e+00, 1.000000e+00>, name = "blocks.1.scale"} : tensor<768xf32>
// CHECK-NEXT: %{{.+}} = s2s.param {init = #s2s.init<zeros>, init_args = array<f64>, name = "cls"} : tensor<1x1x768xbf16>
// CHECK-NEXT: %{{.+}} = s2s.param {init = #s2s.init<ones>, init_args = array<f64>, name = "g"} : tensor<f32>
// CHECK-NEXT: %{{.+}} = s2s.param {init = #s2s.init<normal>, init_args = array<f64: 0.000000e+00, 1.000000e+00>, name = "n"} : tensor<4xf32>
// CHECK-NEXT: %{{.+}} = s2s.param {init = #s2s.init<constant>, init_args = array<f64: 3.000000e+00>, name = "c"} : tensor<4xf32>
func.func @param() {
  %pos = s2s.param {name = "pos", init = #s2s.init<trunc_normal>, init_args = array<f64: 0.02>}
      : tensor<1x16200x768xf32>
  %s = s2s.param {name = "blocks.1.scale", init = #s2s.init<uniform>, init_args = array<f64: -1.0, 1.0>} : tensor<768xf32>
  %z = s2s.param {name = "cls", init = #s2s.init<zeros>, init_args = array<f64>} : tensor<1x1x768xbf16>
  %o = s2s.param {name = "g", init = #s2s.init<ones>, init_args = array<f64>} : tensor<f32>
  %n = s2s.param {name = "n", init = #s2s.init<normal>, init_args = array<f64: 0.0, 1.0>} : tensor<4xf32>
  %c = s2s.param {name = "c", init = #s2s.init<constant>, init_args = array<f64: 3.0>} : tensor<4xf32>
  return
}

//===----------------------------------------------------------------------===//
// Layout
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @layout(
// CHECK-SAME: %[[X:[^:]+]]: tensor<8x3x32x64xf32>, %[[Y:[^:]+]]: tensor<8x4x32x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.permute %[[X]] {dims = array<i64: 0, 2, 3, 1>} : tensor<8x3x32x64xf32> -> tensor<8x32x64x3xf32>
// CHECK-NEXT: %{{.+}} = s2s.flatten %[[X]] {end = -1 : i64, start = 2 : i64} : tensor<8x3x32x64xf32> -> tensor<8x3x2048xf32>
// CHECK-NEXT: %[[C:[^ ]+]] = s2s.concat %[[X]], %[[Y]] {dim = 1 : i64} : tensor<8x3x32x64xf32>, tensor<8x4x32x64xf32> -> tensor<8x7x32x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.concat %[[X]], %[[Y]], %[[C]] {dim = -3 : i64} : tensor<8x3x32x64xf32>, tensor<8x4x32x64xf32>, tensor<8x7x32x64xf32> -> tensor<8x14x32x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.concat %[[X]] {dim = 0 : i64} : tensor<8x3x32x64xf32> -> tensor<8x3x32x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.slice %[[X]] {dim = 1 : i64, end = 2 : i64, start = 0 : i64} : tensor<8x3x32x64xf32> -> tensor<8x2x32x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.mean %[[X]] {dim = 1 : i64, keep = false} : tensor<8x3x32x64xf32> -> tensor<8x32x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.mean %[[X]] {dim = -1 : i64, keep = true} : tensor<8x3x32x64xf32> -> tensor<8x3x32x1xf32>
// CHECK-NEXT: %{{.+}} = s2s.pad %[[X]] {mode = #s2s.pad_mode<circular>, pad = array<i64: 1, 1, 2, 2>} : tensor<8x3x32x64xf32> -> tensor<8x3x36x66xf32>
// CHECK-NEXT: %{{.+}} = s2s.pad %[[X]] {mode = #s2s.pad_mode<reflect>, pad = array<i64>} : tensor<8x3x32x64xf32> -> tensor<8x3x32x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.pad %[[X]] {mode = #s2s.pad_mode<replicate>, pad = array<i64: 0, 3>} : tensor<8x3x32x64xf32> -> tensor<8x3x32x67xf32>
// CHECK-NEXT: %{{.+}} = s2s.pad_sphere %[[X]] {pad = array<i64: 1, 2>} : tensor<8x3x32x64xf32> -> tensor<8x3x34x68xf32>
func.func @layout(%x: tensor<8x3x32x64xf32>, %y: tensor<8x4x32x64xf32>) {
  %0 = s2s.permute %x {dims = array<i64: 0, 2, 3, 1>}
      : tensor<8x3x32x64xf32> -> tensor<8x32x64x3xf32>
  %1 = s2s.flatten %x {start = 2 : i64, end = -1 : i64}
      : tensor<8x3x32x64xf32> -> tensor<8x3x2048xf32>
  %2 = s2s.concat %x, %y {dim = 1 : i64}
      : tensor<8x3x32x64xf32>, tensor<8x4x32x64xf32> -> tensor<8x7x32x64xf32>
  %3 = s2s.concat %x, %y, %2 {dim = -3 : i64}
      : tensor<8x3x32x64xf32>, tensor<8x4x32x64xf32>, tensor<8x7x32x64xf32> -> tensor<8x14x32x64xf32>
  %4 = s2s.concat %x {dim = 0 : i64} : tensor<8x3x32x64xf32> -> tensor<8x3x32x64xf32>
  %5 = s2s.slice %x {dim = 1 : i64, start = 0 : i64, end = 2 : i64}
      : tensor<8x3x32x64xf32> -> tensor<8x2x32x64xf32>
  %6 = s2s.mean %x {dim = 1 : i64, keep = false} : tensor<8x3x32x64xf32> -> tensor<8x32x64xf32>
  %7 = s2s.mean %x {dim = -1 : i64, keep = true} : tensor<8x3x32x64xf32> -> tensor<8x3x32x1xf32>
  %8 = s2s.pad %x {pad = array<i64: 1, 1, 2, 2>, mode = #s2s.pad_mode<circular>}
      : tensor<8x3x32x64xf32> -> tensor<8x3x36x66xf32>
  %9 = s2s.pad %x {pad = array<i64>, mode = #s2s.pad_mode<reflect>} : tensor<8x3x32x64xf32> -> tensor<8x3x32x64xf32>
  %10 = s2s.pad %x {pad = array<i64: 0, 3>, mode = #s2s.pad_mode<replicate>} : tensor<8x3x32x64xf32> -> tensor<8x3x32x67xf32>
  %11 = s2s.pad_sphere %x {pad = array<i64: 1, 2>} : tensor<8x3x32x64xf32> -> tensor<8x3x34x68xf32>
  return
}

//===----------------------------------------------------------------------===//
// Fourier transforms
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @fft(
// CHECK-SAME: %[[X:[^:]+]]: tensor<8x3x32x64xf32>
// CHECK-NEXT: %[[R:[^ ]+]] = s2s.rfft2 %[[X]] : tensor<8x3x32x64xf32> -> tensor<8x3x32x33xcomplex<f32>>
// CHECK-NEXT: %{{.+}} = s2s.irfft2 %[[R]] {size = array<i64: 32, 64>} : tensor<8x3x32x33xcomplex<f32>> -> tensor<8x3x32x64xf32>
// CHECK-NEXT: %[[C:[^ ]+]] = s2s.fft2 %[[X]] : tensor<8x3x32x64xf32> -> tensor<8x3x32x64xcomplex<f32>>
// CHECK-NEXT: %{{.+}} = s2s.ifft2 %[[C]] : tensor<8x3x32x64xcomplex<f32>> -> tensor<8x3x32x64xcomplex<f32>>
func.func @fft(%x: tensor<8x3x32x64xf32>) {
  %r = s2s.rfft2 %x : tensor<8x3x32x64xf32> -> tensor<8x3x32x33xcomplex<f32>>
  %i = s2s.irfft2 %r {size = array<i64: 32, 64>}
      : tensor<8x3x32x33xcomplex<f32>> -> tensor<8x3x32x64xf32>
  %c = s2s.fft2 %x : tensor<8x3x32x64xf32> -> tensor<8x3x32x64xcomplex<f32>>
  %d = s2s.ifft2 %c : tensor<8x3x32x64xcomplex<f32>> -> tensor<8x3x32x64xcomplex<f32>>
  return
}

//===----------------------------------------------------------------------===//
// Runtime inputs, physics and losses
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @physics(
// CHECK-SAME: %[[X:[^:]+]]: tensor<8x3x32x64xf32>, %[[L:[^:]+]]: tensor<8xf32>, %[[L1:[^:]+]]: tensor<8x1xf32>
// CHECK-NEXT: %{{.+}} = s2s.grid_coords %[[X]] : tensor<8x3x32x64xf32> -> tensor<8x4x32x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.time_features %[[X]] {lead = 0 : i64} : tensor<8x3x32x64xf32> -> tensor<8x4x32x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.time_features %[[X]] {lead = 21600 : i64} : tensor<8x3x32x64xf32> -> tensor<8x4x32x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.lead_embed %[[L]] {dim = 64 : i64} : tensor<8xf32> -> tensor<8x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.lead_embed %[[L1]] {dim = 2 : i64} : tensor<8x1xf32> -> tensor<8x2xf32>
// CHECK-NEXT: %{{.+}} = s2s.loss mse %[[X]], %[[X]] {delta = 1.000000e+00 : f64, weight = #s2s.weighting<latitude>} : tensor<8x3x32x64xf32>, tensor<8x3x32x64xf32> -> tensor<f32>
// CHECK-NEXT: %{{.+}} = s2s.loss mae %[[X]], %[[X]] {delta = 1.000000e+00 : f64, weight = #s2s.weighting<uniform>} : tensor<8x3x32x64xf32>, tensor<8x3x32x64xf32> -> tensor<f32>
// CHECK-NEXT: %{{.+}} = s2s.loss huber %[[L]], %[[L]] {delta = 1.000000e+00 : f64, weight = #s2s.weighting<uniform>} : tensor<8xf32>, tensor<8xf32> -> tensor<f32>
func.func @physics(%x: tensor<8x3x32x64xf32>, %lead: tensor<8xf32>, %lead1: tensor<8x1xf32>) {
  %g = s2s.grid_coords %x : tensor<8x3x32x64xf32> -> tensor<8x4x32x64xf32>
  %t = s2s.time_features %x {lead = 0 : i64} : tensor<8x3x32x64xf32> -> tensor<8x4x32x64xf32>
  %t6 = s2s.time_features %x {lead = 21600 : i64} : tensor<8x3x32x64xf32> -> tensor<8x4x32x64xf32>
  %e = s2s.lead_embed %lead {dim = 64 : i64} : tensor<8xf32> -> tensor<8x64xf32>
  %e1 = s2s.lead_embed %lead1 {dim = 2 : i64} : tensor<8x1xf32> -> tensor<8x2xf32>
  %l = s2s.loss mse %x, %x {delta = 1.000000e+00 : f64, weight = #s2s.weighting<latitude>}
      : tensor<8x3x32x64xf32>, tensor<8x3x32x64xf32> -> tensor<f32>
  %m = s2s.loss mae %x, %x {delta = 1.000000e+00 : f64, weight = #s2s.weighting<uniform>}
      : tensor<8x3x32x64xf32>, tensor<8x3x32x64xf32> -> tensor<f32>
  %h = s2s.loss huber %lead, %lead {delta = 1.000000e+00 : f64, weight = #s2s.weighting<uniform>} : tensor<8xf32>, tensor<8xf32> -> tensor<f32>
  return
}

// CHECK-LABEL: func.func @convective_adjust(
// CHECK-SAME: %[[X:[^:]+]]: tensor<8x5x32x64xf32>, %[[B:[^:]+]]: tensor<8x5x32x64xf32>
// CHECK-NEXT: s2s.convective_adjust %[[X]], %[[B]] {humidity = array<i64: 2, 3>, levels = array<i64: 500, 850>, step = 3600 : i64, tau = 7200 : i64, temperature = array<i64: 0, 1>, threshold = 5.000000e-01 : f64} : tensor<8x5x32x64xf32>, tensor<8x5x32x64xf32> -> tensor<8x5x32x64xf32>
func.func @convective_adjust(%x: tensor<8x5x32x64xf32>, %b: tensor<8x5x32x64xf32>) {
  %a = s2s.convective_adjust %x, %b {tau = 7200 : i64, threshold = 0.5 : f64, step = 3600 : i64,
      temperature = array<i64: 0, 1>, humidity = array<i64: 2, 3>, levels = array<i64: 500, 850>}
      : tensor<8x5x32x64xf32>, tensor<8x5x32x64xf32> -> tensor<8x5x32x64xf32>
  return
}

// CHECK-LABEL: func.func @lead_time(
// CHECK-SAME: %[[W:[^:]+]]: tensor<8x5x3x32x64xf32>, %[[X:[^:]+]]: tensor<8x3x32x64xf32>
// CHECK-NEXT: %[[L:[^ ]+]] = s2s.sample_leads %[[W]] {leads = array<i64: 1, 2, 4>} : tensor<8x5x3x32x64xf32> -> tensor<8xf32>
// CHECK-NEXT: %{{.+}} = s2s.select_lead %[[W]], %[[L]] : tensor<8x5x3x32x64xf32>, tensor<8xf32> -> tensor<8x3x32x64xf32>
// CHECK-NEXT: %{{.+}} = s2s.context_lead %[[X]] {default_seconds = 21600 : i64} : tensor<8x3x32x64xf32> -> tensor<8xf32>
func.func @lead_time(%w: tensor<8x5x3x32x64xf32>, %x: tensor<8x3x32x64xf32>) {
  %l = s2s.sample_leads %w {leads = array<i64: 1, 2, 4>} : tensor<8x5x3x32x64xf32> -> tensor<8xf32>
  %t = s2s.select_lead %w, %l : tensor<8x5x3x32x64xf32>, tensor<8xf32> -> tensor<8x3x32x64xf32>
  %h = s2s.context_lead %x {default_seconds = 21600 : i64} : tensor<8x3x32x64xf32> -> tensor<8xf32>
  return
}

//===----------------------------------------------------------------------===//
// Sections
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @net(
// CHECK-SAME: -> tensor<8x2x32x64xf32> attributes {s2s.model = "Net"}
func.func @net(%x: tensor<8x2x32x64xf32>) -> tensor<8x2x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x2x32x64xf32>
}

// CHECK: s2s.data @era5 {channels = ["u10", "v10"], grid = array<i64: 32, 64>, history = 1 : i64, memory = #s2s.memory<mode = lazy, shared = false, prefetch = 4, buffer = 0, refresh = 2.500000e-01>, normalize = #s2s.normalize<kind = zscore, stats = "data/stats.h5">, source = #s2s.source<kind = hdf5, pattern = "data/*.h5", field = "fields", address = "", name = "">, split = #s2s.split<train = [1979, 2015], valid = [2016, 2017], test = [0, -1]>, step = 21600 : i64}
s2s.data @era5 {channels = ["u10", "v10"], grid = array<i64: 32, 64>,
                step = 21600 : i64, history = 1 : i64,
                source = #s2s.source<kind = hdf5, pattern = "data/*.h5", field = "fields", address = "", name = "">,
                split = #s2s.split<train = [1979, 2015], valid = [2016, 2017], test = [0, -1]>,
                normalize = #s2s.normalize<kind = zscore, stats = "data/stats.h5">,
                memory = #s2s.memory<mode = lazy, shared = false, prefetch = 4, buffer = 0, refresh = 0.25>}

// The optional grid, step, split and normalisation left out.
// CHECK-NEXT: s2s.data @stream {channels = ["t2m"], history = 2 : i64, memory = #s2s.memory<mode = stream, shared = false, prefetch = 2, buffer = 512, refresh = 5.000000e-01>, source = #s2s.source<kind = server, pattern = "", field = "", address = "redis://h:6379", name = "era5">}
s2s.data @stream {channels = ["t2m"], history = 2 : i64,
                  source = #s2s.source<kind = server, pattern = "", field = "", address = "redis://h:6379", name = "era5">,
                  memory = #s2s.memory<mode = stream, shared = false, prefetch = 2, buffer = 512, refresh = 0.5>}

// CHECK-NEXT: s2s.rollout @net on @era5 {loss = #s2s.loss<kind = mse, weight = latitude, delta = 1.000000e+00>, order = 4 : i64}
s2s.rollout @net on @era5 {order = 4 : i64, loss = #s2s.loss<kind = mse, weight = latitude, delta = 1.0>}

// Every optional entry of a rollout.
// CHECK-NEXT: s2s.rollout @net on @stream {align = #s2s.align<kind = mase, order = 2, weight = 5.000000e-01, lag = 1, spatial = latitude, stop_gradient = false>, jacobian = #s2s.jacobian<kind = hutchinson, samples = 2, weight = 1.000000e-03, dist = gaussian, at = all>, loss = #s2s.loss<kind = huber, weight = uniform, delta = 2.500000e-01>, order = 2 : i64, patches = #s2s.patching<size = [16, 32], stride = [12, 24], halo = [1, 2]>, weights = array<f64: 1.000000e+00, 5.000000e-01>}
s2s.rollout @net on @stream {order = 2 : i64, loss = #s2s.loss<kind = huber, weight = uniform, delta = 0.25>,
                             weights = array<f64: 1.0, 0.5>,
                             align = #s2s.align<kind = mase, order = 2, weight = 0.5, lag = 1, spatial = latitude, stop_gradient = false>,
                             jacobian = #s2s.jacobian<kind = hutchinson, samples = 2, weight = 1.0e-3, dist = gaussian, at = all>,
                             patches = #s2s.patching<size = [16, 32], stride = [12, 24], halo = [1, 2]>}

// CHECK-NEXT: s2s.parallel {axes = ["data", "tensor"], backend = #s2s.backend<nccl>, checkpoint_activations = true, sizes = array<i64: 8, 4>, strategy = #s2s.strategy<zero3>}
s2s.parallel {axes = ["data", "tensor"], sizes = array<i64: 8, 4>, strategy = #s2s.strategy<zero3>,
              backend = #s2s.backend<nccl>, checkpoint_activations = true}

// CHECK-NEXT: s2s.train @net on @era5 {batch = 64 : i64, checkpoint = #s2s.checkpoint<epochs = 1, steps = 2000, dir = "ckpt", keep = 5>, epochs = 80 : i64, grad_clip = 1.000000e+00 : f64, metrics = [#s2s.metric<kind = rmse, weight = latitude>, #s2s.metric<kind = acc, weight = uniform>], optimizer = #s2s.optimizer<kind = adamw, lr = 5.000000e-04, momentum = 0.000000e+00, nesterov = false, beta1 = 9.000000e-01, beta2 = 0.94999999999999996, eps = 1.000000e-08, weight_decay = 5.000000e-02>, precision = #s2s.precision<bf16>, schedule = #s2s.schedule<kind = cosine, every = 0, gamma = 1.000000e-01, warmup = 1000, min_lr = 9.9999999999999995E-7>, seed = 7 : i64}
s2s.train @net on @era5 {epochs = 80 : i64, batch = 64 : i64, precision = #s2s.precision<bf16>,
                         seed = 7 : i64, grad_clip = 1.0 : f64,
                         optimizer = #s2s.optimizer<kind = adamw, lr = 5.0e-04, momentum = 0.0, nesterov = false, beta1 = 0.9, beta2 = 0.95, eps = 1.0e-8, weight_decay = 0.05>,
                         schedule = #s2s.schedule<kind = cosine, every = 0, gamma = 0.1, warmup = 1000, min_lr = 1.0e-6>,
                         checkpoint = #s2s.checkpoint<epochs = 1, steps = 2000, dir = "ckpt", keep = 5>,
                         metrics = [#s2s.metric<kind = rmse, weight = latitude>, #s2s.metric<kind = acc, weight = uniform>]}

// afno2d's cutoff: fourcastnet when absent (FourCastNet's own mode rule),
// lowpass by name.
// CHECK-LABEL: func.func @afno_cutoff(
// CHECK-NEXT: s2s.afno2d %{{.*}} {blocks = 4 : i64, cutoff = #s2s.afno_cutoff<lowpass>, modes = 5.000000e-01 : f64, name = "f", sparsity = 0.000000e+00 : f64}
func.func @afno_cutoff(%x: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  %y = s2s.afno2d %x {blocks = 4 : i64, sparsity = 0.0 : f64, modes = 0.5 : f64, cutoff = #s2s.afno_cutoff<lowpass>, name = "f"}
      : tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}
