// One case per error the s2s verifiers can emit: the op verifiers and their
// helpers (checkPositive, checkPair, checkOneOf, checkProbability,
// normaliseDim) in compiler/lib/Dialect/S2SOps.cpp, the section verifiers and
// the symbol-use verifiers of s2s.rollout and s2s.train, the parsers of the
// dialect's enums, the verifiers of the section-value attributes and of the
// discardable attributes (compiler/lib/Dialect/S2SAttrs.cpp).
//
// RUN: s2s-opt %s -split-input-file -verify-diagnostics -allow-unregistered-dialect

//===----------------------------------------------------------------------===//
// s2s.constant
//===----------------------------------------------------------------------===//

func.func @constant_ranked() {
  // expected-error @+1 {{'s2s.constant' op result must be a rank-0 tensor, got 'tensor<2xf32>'}}
  %0 = s2s.constant 1.0 : tensor<2xf32>
  return
}

// -----

func.func @constant_unranked() {
  // expected-error @+1 {{'s2s.constant' op result must be a rank-0 tensor, got 'tensor<*xf32>'}}
  %0 = s2s.constant 1.0 : tensor<*xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Pointwise
//===----------------------------------------------------------------------===//

func.func @activation_kind(%x: tensor<4xf32>) {
  // expected-error @+2 {{expected ::s2s::ActivationKind to be one of: gelu, relu, silu, tanh, sigmoid}}
  // expected-error @+1 {{failed to parse S2S_ActivationKindAttr parameter 'value' which is to be a `::s2s::ActivationKind`}}
  %0 = s2s.activation swish %x : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @softmax_dim(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{'s2s.softmax' op dimension 2 is out of range for rank 2}}
  %0 = s2s.softmax %x {dim = 2 : i64} : tensor<8x16xf32> -> tensor<8x16xf32>
  return
}

// -----

func.func @softmax_negative_dim(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{'s2s.softmax' op dimension -3 is out of range for rank 2}}
  %0 = s2s.softmax %x {dim = -3 : i64} : tensor<8x16xf32> -> tensor<8x16xf32>
  return
}

// -----

func.func @dropout_p(%x: tensor<4xf32>) {
  // expected-error @+1 {{'s2s.dropout' op 'p' must be in [0, 1), got 1.000000e+00}}
  %0 = s2s.dropout %x {p = 1.0 : f64} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @dropout_negative_p(%x: tensor<4xf32>) {
  // expected-error @+1 {{'s2s.dropout' op 'p' must be in [0, 1), got -5.000000e-01}}
  %0 = s2s.dropout %x {p = -0.5 : f64} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @drop_path_p(%x: tensor<4xf32>) {
  // expected-error @+1 {{'s2s.drop_path' op 'p' must be in [0, 1), got 1.500000e+00}}
  %0 = s2s.drop_path %x {p = 1.5 : f64} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// s2s.linear
//===----------------------------------------------------------------------===//

func.func @linear_out(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{'s2s.linear' op 'out' must be at least 1, got 0}}
  %0 = s2s.linear %x {out = 0 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<8x16xf32>
  return
}

// -----

func.func @linear_activation(%x: tensor<8x16xf32>) {
  // expected-error @+2 {{expected ::s2s::ActivationKind to be one of: gelu, relu, silu, tanh, sigmoid}}
  // expected-error @+1 {{failed to parse S2S_ActivationKindAttr parameter 'value' which is to be a `::s2s::ActivationKind`}}
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc", activation = #s2s<activation softmax>} : tensor<8x16xf32> -> tensor<8x4xf32>
  return
}

// -----

func.func @linear_missing_name(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{'s2s.linear' op requires attribute 'name'}}
  %0 = s2s.linear %x {out = 4 : i64, bias = true} : tensor<8x16xf32> -> tensor<8x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// s2s.conv2d
//===----------------------------------------------------------------------===//

func.func @conv2d_out(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+1 {{'s2s.conv2d' op 'out' must be at least 1, got -1}}
  %0 = s2s.conv2d %x {out = -1 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "c"} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @conv2d_kernel_size(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+1 {{'s2s.conv2d' op 'kernel' needs 2 values, got 3}}
  %0 = s2s.conv2d %x {out = 4 : i64, kernel = array<i64: 3, 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "c"} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @conv2d_kernel_value(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+1 {{'s2s.conv2d' op 'kernel' values must be at least 1, got [3, 0]}}
  %0 = s2s.conv2d %x {out = 4 : i64, kernel = array<i64: 3, 0>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "c"} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @conv2d_stride_size(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+1 {{'s2s.conv2d' op 'stride' needs 2 values, got 1}}
  %0 = s2s.conv2d %x {out = 4 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "c"} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @conv2d_stride_value(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+1 {{'s2s.conv2d' op 'stride' values must be at least 1, got [0, 1]}}
  %0 = s2s.conv2d %x {out = 4 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 0, 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "c"} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @conv2d_padding_size(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+1 {{'s2s.conv2d' op 'padding' needs 2 values, got 0}}
  %0 = s2s.conv2d %x {out = 4 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "c"} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @conv2d_padding_value(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+1 {{'s2s.conv2d' op 'padding' values must be at least 0, got [1, -1]}}
  %0 = s2s.conv2d %x {out = 4 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, -1>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "c"} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @conv2d_pad_mode(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+2 {{expected ::s2s::PadMode to be one of: zeros, circular, reflect, replicate}}
  // expected-error @+1 {{failed to parse S2S_PadModeAttr parameter 'value' which is to be a `::s2s::PadMode`}}
  %0 = s2s.conv2d %x {out = 4 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<wrap>, bias = true, name = "c"} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @conv2d_activation(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+2 {{expected ::s2s::ActivationKind to be one of: gelu, relu, silu, tanh, sigmoid}}
  // expected-error @+1 {{failed to parse S2S_ActivationKindAttr parameter 'value' which is to be a `::s2s::ActivationKind`}}
  %0 = s2s.conv2d %x {out = 4 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "c", activation = #s2s<activation elu>} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Normalisation and attention
//===----------------------------------------------------------------------===//

func.func @layer_norm_eps(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{'s2s.layer_norm' op 'eps' must be positive}}
  %0 = s2s.layer_norm %x {eps = 0.0 : f64, name = "ln"} : tensor<8x16xf32> -> tensor<8x16xf32>
  return
}

// -----

func.func @group_norm_groups(%x: tensor<8x32x4x4xf32>) {
  // expected-error @+1 {{'s2s.group_norm' op 'groups' must be at least 1, got 0}}
  %0 = s2s.group_norm %x {groups = 0 : i64, eps = 1.0e-05 : f64, name = "gn"} : tensor<8x32x4x4xf32> -> tensor<8x32x4x4xf32>
  return
}

// -----

func.func @attention_heads(%x: tensor<8x16x64xf32>) {
  // expected-error @+1 {{'s2s.attention' op 'heads' must be at least 1, got 0}}
  %0 = s2s.attention %x {heads = 0 : i64, qkv_bias = true, dropout = 0.0 : f64, name = "attn"} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  return
}

// -----

func.func @attention_dropout(%x: tensor<8x16x64xf32>) {
  // expected-error @+1 {{'s2s.attention' op 'dropout' must be in [0, 1), got 1.000000e+00}}
  %0 = s2s.attention %x {heads = 4 : i64, qkv_bias = true, dropout = 1.0 : f64, name = "attn"} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  return
}

// -----

func.func @cross_attention_heads(%x: tensor<8x16x64xf32>, %c: tensor<8x10x32xf32>) {
  // expected-error @+1 {{'s2s.cross_attention' op 'heads' must be at least 1, got -2}}
  %0 = s2s.cross_attention %x, %c {heads = -2 : i64, name = "xattn"} : tensor<8x16x64xf32>, tensor<8x10x32xf32> -> tensor<8x16x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Patches and the AFNO mixer
//===----------------------------------------------------------------------===//

func.func @patch_embed_patch_size(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+1 {{'s2s.patch_embed' op 'patch' needs 2 values, got 1}}
  %0 = s2s.patch_embed %x {patch = array<i64: 8>, embed = 16 : i64, name = "e"} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @patch_embed_patch_value(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+1 {{'s2s.patch_embed' op 'patch' values must be at least 1, got [0, 8]}}
  %0 = s2s.patch_embed %x {patch = array<i64: 0, 8>, embed = 16 : i64, name = "e"} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @patch_embed_embed(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+1 {{'s2s.patch_embed' op 'embed' must be at least 1, got 0}}
  %0 = s2s.patch_embed %x {patch = array<i64: 8, 8>, embed = 0 : i64, name = "e"} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @unpatch_patch(%t: tensor<8x32x48xf32>) {
  // expected-error @+1 {{'s2s.unpatch' op 'patch' values must be at least 1, got [4, -4]}}
  %0 = s2s.unpatch %t {patch = array<i64: 4, -4>, grid = array<i64: 16, 32>, channels = 3 : i64} : tensor<8x32x48xf32> -> tensor<*xf32>
  return
}

// -----

func.func @unpatch_grid(%t: tensor<8x32x48xf32>) {
  // expected-error @+1 {{'s2s.unpatch' op 'grid' needs 2 values, got 3}}
  %0 = s2s.unpatch %t {patch = array<i64: 4, 4>, grid = array<i64: 16, 32, 1>, channels = 3 : i64} : tensor<8x32x48xf32> -> tensor<*xf32>
  return
}

// -----

func.func @unpatch_channels(%t: tensor<8x32x48xf32>) {
  // expected-error @+1 {{'s2s.unpatch' op 'channels' must be at least 1, got 0}}
  %0 = s2s.unpatch %t {patch = array<i64: 4, 4>, grid = array<i64: 16, 32>, channels = 0 : i64} : tensor<8x32x48xf32> -> tensor<*xf32>
  return
}

// -----

func.func @unpatch_divide(%t: tensor<8x32x48xf32>) {
  // expected-error @+1 {{'s2s.unpatch' op patch [4, 5] does not divide grid [16, 32]}}
  %0 = s2s.unpatch %t {patch = array<i64: 4, 5>, grid = array<i64: 16, 32>, channels = 3 : i64} : tensor<8x32x48xf32> -> tensor<*xf32>
  return
}

// -----

func.func @afno2d_blocks(%x: tensor<8x4x8x16xf32>) {
  // expected-error @+1 {{'s2s.afno2d' op 'blocks' must be at least 1, got 0}}
  %0 = s2s.afno2d %x {blocks = 0 : i64, sparsity = 0.01 : f64, modes = 1.0 : f64, name = "f"} : tensor<8x4x8x16xf32> -> tensor<8x4x8x16xf32>
  return
}

// -----

func.func @afno2d_modes_zero(%x: tensor<8x4x8x16xf32>) {
  // expected-error @+1 {{'s2s.afno2d' op 'modes' must be in (0, 1], got 0.000000e+00}}
  %0 = s2s.afno2d %x {blocks = 4 : i64, sparsity = 0.01 : f64, modes = 0.0 : f64, name = "f"} : tensor<8x4x8x16xf32> -> tensor<8x4x8x16xf32>
  return
}

// -----

func.func @afno2d_modes_above_one(%x: tensor<8x4x8x16xf32>) {
  // expected-error @+1 {{'s2s.afno2d' op 'modes' must be in (0, 1], got 1.500000e+00}}
  %0 = s2s.afno2d %x {blocks = 4 : i64, sparsity = 0.01 : f64, modes = 1.5 : f64, name = "f"} : tensor<8x4x8x16xf32> -> tensor<8x4x8x16xf32>
  return
}

// -----

func.func @afno2d_sparsity(%x: tensor<8x4x8x16xf32>) {
  // expected-error @+1 {{'s2s.afno2d' op 'sparsity' must not be negative}}
  %0 = s2s.afno2d %x {blocks = 4 : i64, sparsity = -0.01 : f64, modes = 0.5 : f64, name = "f"} : tensor<8x4x8x16xf32> -> tensor<8x4x8x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Graphs
//===----------------------------------------------------------------------===//

func.func @graph_message_hidden(%n: tensor<2x42x8xf32>, %ef: tensor<2x240x4xf32>, %e: tensor<2x240xi64>) {
  // expected-error @+1 {{'s2s.graph_message' op 'hidden' must be at least 1, got 0}}
  %0 = s2s.graph_message %n, %ef, %e {hidden = 0 : i64, out = 8 : i64, name = "p"} : tensor<2x42x8xf32>, tensor<2x240x4xf32>, tensor<2x240xi64> -> tensor<2x42x8xf32>
  return
}

// -----

func.func @graph_message_out(%n: tensor<2x42x8xf32>, %ef: tensor<2x240x4xf32>, %e: tensor<2x240xi64>) {
  // expected-error @+1 {{'s2s.graph_message' op 'out' must be at least 1, got 0}}
  %0 = s2s.graph_message %n, %ef, %e {hidden = 8 : i64, out = 0 : i64, name = "p"} : tensor<2x42x8xf32>, tensor<2x240x4xf32>, tensor<2x240xi64> -> tensor<2x42x8xf32>
  return
}

// -----

func.func @graph_edges_refinement(%x: tensor<1x1x4x8xf32>) {
  // expected-error @+1 {{'s2s.graph_edges' op 'refinement' must be in 0..12, got 13}}
  %0 = s2s.graph_edges %x {graph = "multimesh", refinement = 13 : i64} : tensor<1x1x4x8xf32> -> tensor<2x?xi64>
  return
}

// -----

func.func @graph_edges_negative_refinement(%x: tensor<1x1x4x8xf32>) {
  // expected-error @+1 {{'s2s.graph_edges' op 'refinement' must be in 0..12, got -1}}
  %0 = s2s.graph_edges %x {graph = "multimesh", refinement = -1 : i64} : tensor<1x1x4x8xf32> -> tensor<2x?xi64>
  return
}

// -----

func.func @graph_edges_graph(%x: tensor<1x1x4x8xf32>) {
  // expected-error @+1 {{'s2s.graph_edges' op 'graph' must be one of multimesh, grid2mesh, mesh2grid, got 'knn'}}
  %0 = s2s.graph_edges %x {graph = "knn", refinement = 1 : i64} : tensor<1x1x4x8xf32> -> tensor<2x300xi64>
  return
}

// -----

func.func @graph_node_features_nodes(%x: tensor<1x1x4x8xf32>) {
  // expected-error @+1 {{'s2s.graph_node_features' op 'nodes' must be one of mesh, grid, got 'edges'}}
  %0 = s2s.graph_node_features %x {nodes = "edges", refinement = 1 : i64} : tensor<1x1x4x8xf32> -> tensor<1x42x3xf32>
  return
}

// -----

func.func @graph_edge_features_refinement(%x: tensor<1x1x4x8xf32>) {
  // expected-error @+1 {{'s2s.graph_edge_features' op 'refinement' must be in 0..12, got 13}}
  %0 = s2s.graph_edge_features %x {graph = "multimesh", refinement = 13 : i64} : tensor<1x1x4x8xf32> -> tensor<1x?x4xf32>
  return
}

// -----

func.func @graph_gather_end(%n: tensor<1x42x8xf32>, %e: tensor<2x300xi64>) {
  // expected-error @+1 {{'s2s.graph_gather' op 'end' must be one of sender, receiver, got 'middle'}}
  %0 = s2s.graph_gather %n, %e {end = "middle"} : tensor<1x42x8xf32>, tensor<2x300xi64> -> tensor<1x300x8xf32>
  return
}

// -----

func.func @call_times_blocks(%x: tensor<2x3x4x8xf32>) {
  // expected-error @+1 {{'s2s.call_times' op 'blocks' must be at least 1, got 0}}
  %0 = s2s.call_times %x {first = 0 : i64, blocks = 0 : i64, step_seconds = 0 : i64} : tensor<2x3x4x8xf32> -> tensor<2x3x4x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// s2s.param
//===----------------------------------------------------------------------===//

func.func @param_init() {
  // expected-error @+2 {{expected ::s2s::InitKind to be one of: normal, trunc_normal, uniform, zeros, ones, constant, fan_in}}
  // expected-error @+1 {{failed to parse S2S_InitKindAttr parameter 'value' which is to be a `::s2s::InitKind`}}
  %0 = s2s.param {name = "w", init = #s2s.init<xavier>, init_args = array<f64>} : tensor<4xf32>
  return
}

// -----

func.func @param_dynamic() {
  // expected-error @+1 {{'s2s.param' op result #0 must be statically shaped tensor of any type values, but got 'tensor<?x4xf32>'}}
  %0 = s2s.param {name = "w", init = #s2s.init<zeros>, init_args = array<f64>} : tensor<?x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Layout
//===----------------------------------------------------------------------===//

func.func @reshape_size(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{'s2s.reshape' op sizes must be positive or -1, got [8, 0, 2]}}
  %0 = s2s.reshape %x {shape = array<i64: 8, 0, 2>} : tensor<8x16xf32> -> tensor<*xf32>
  return
}

// -----

func.func @reshape_two_unknown(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{'s2s.reshape' op at most one size may be -1, got [-1, 4, -1]}}
  %0 = s2s.reshape %x {shape = array<i64: -1, 4, -1>} : tensor<8x16xf32> -> tensor<*xf32>
  return
}

// -----

func.func @permute_not_permutation(%x: tensor<8x3x32xf32>) {
  // expected-error @+1 {{'s2s.permute' op 'dims' must be a permutation of 0..2, got [0, 1, 1]}}
  %0 = s2s.permute %x {dims = array<i64: 0, 1, 1>} : tensor<8x3x32xf32> -> tensor<*xf32>
  return
}

// -----

func.func @permute_out_of_range(%x: tensor<8x3x32xf32>) {
  // expected-error @+1 {{'s2s.permute' op 'dims' must be a permutation of 0..2, got [0, 3, 1]}}
  %0 = s2s.permute %x {dims = array<i64: 0, 3, 1>} : tensor<8x3x32xf32> -> tensor<*xf32>
  return
}

// -----

func.func @permute_rank(%x: tensor<8x3x32xf32>) {
  // expected-error @+1 {{'s2s.permute' op permutes 2 dimensions of a rank-3 tensor}}
  %0 = s2s.permute %x {dims = array<i64: 1, 0>} : tensor<8x3x32xf32> -> tensor<*xf32>
  return
}

// -----

func.func @concat_empty() {
  // The custom form cannot spell an empty operand list; the generic one can.
  // expected-error @+1 {{'s2s.concat' op needs at least one input}}
  %0 = "s2s.concat"() {dim = 0 : i64} : () -> tensor<1xf32>
  return
}

// -----

func.func @slice_empty_range(%x: tensor<8x3xf32>) {
  // expected-error @+1 {{'s2s.slice' op needs 0 <= start < end, got 2..2}}
  %0 = s2s.slice %x {dim = 1 : i64, start = 2 : i64, end = 2 : i64} : tensor<8x3xf32> -> tensor<*xf32>
  return
}

// -----

func.func @slice_negative_start(%x: tensor<8x3xf32>) {
  // expected-error @+1 {{'s2s.slice' op needs 0 <= start < end, got -1..2}}
  %0 = s2s.slice %x {dim = 1 : i64, start = -1 : i64, end = 2 : i64} : tensor<8x3xf32> -> tensor<*xf32>
  return
}

// -----

// I64Attr getters are unsigned: a negative end must not pass as a huge one
// (it did, and s2s-infer-shapes then built tensor<8x-1xf32>).
func.func @slice_negative_end(%x: tensor<8x?xf32>) {
  // expected-error @+1 {{'s2s.slice' op needs 0 <= start < end, got 0..-1}}
  %0 = s2s.slice %x {dim = 1 : i64, start = 0 : i64, end = -1 : i64} : tensor<8x?xf32> -> tensor<*xf32>
  return
}

// -----

func.func @pad_odd(%x: tensor<8x3xf32>) {
  // expected-error @+1 {{'s2s.pad' op 'pad' lists (before, after) pairs, got 3 values}}
  %0 = s2s.pad %x {pad = array<i64: 1, 1, 1>, mode = #s2s.pad_mode<zeros>} : tensor<8x3xf32> -> tensor<*xf32>
  return
}

// -----

func.func @pad_negative(%x: tensor<8x3xf32>) {
  // expected-error @+1 {{'s2s.pad' op padding must not be negative}}
  %0 = s2s.pad %x {pad = array<i64: 1, -1>, mode = #s2s.pad_mode<zeros>} : tensor<8x3xf32> -> tensor<*xf32>
  return
}

// -----

func.func @pad_mode(%x: tensor<8x3xf32>) {
  // expected-error @+2 {{expected ::s2s::PadMode to be one of: zeros, circular, reflect, replicate}}
  // expected-error @+1 {{failed to parse S2S_PadModeAttr parameter 'value' which is to be a `::s2s::PadMode`}}
  %0 = s2s.pad %x {pad = array<i64: 1, 1>, mode = #s2s.pad_mode<constant>} : tensor<8x3xf32> -> tensor<*xf32>
  return
}

// -----

func.func @pad_sphere_size(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+1 {{'s2s.pad_sphere' op 'pad' needs 2 values, got 4}}
  %0 = s2s.pad_sphere %x {pad = array<i64: 1, 1, 1, 1>} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

func.func @pad_sphere_value(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+1 {{'s2s.pad_sphere' op 'pad' values must be at least 0, got [-1, 1]}}
  %0 = s2s.pad_sphere %x {pad = array<i64: -1, 1>} : tensor<8x3x32x64xf32> -> tensor<*xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// FFTs, runtime inputs and physics
//===----------------------------------------------------------------------===//

func.func @irfft2_size(%x: tensor<8x3x32x33xcomplex<f32>>) {
  // expected-error @+1 {{'s2s.irfft2' op 'size' needs 2 values, got 1}}
  %0 = s2s.irfft2 %x {size = array<i64: 64>} : tensor<8x3x32x33xcomplex<f32>> -> tensor<*xf32>
  return
}

// -----

func.func @irfft2_size_value(%x: tensor<8x3x32x33xcomplex<f32>>) {
  // expected-error @+1 {{'s2s.irfft2' op 'size' values must be at least 1, got [32, 0]}}
  %0 = s2s.irfft2 %x {size = array<i64: 32, 0>} : tensor<8x3x32x33xcomplex<f32>> -> tensor<*xf32>
  return
}

// -----

func.func @lead_embed_odd(%l: tensor<8xf32>) {
  // expected-error @+1 {{'s2s.lead_embed' op 'dim' must be even and at least 2, got 63}}
  %0 = s2s.lead_embed %l {dim = 63 : i64} : tensor<8xf32> -> tensor<8x63xf32>
  return
}

// -----

func.func @lead_embed_zero(%l: tensor<8xf32>) {
  // expected-error @+1 {{'s2s.lead_embed' op 'dim' must be even and at least 2, got 0}}
  %0 = s2s.lead_embed %l {dim = 0 : i64} : tensor<8xf32> -> tensor<*xf32>
  return
}

// -----

func.func @lead_embed_negative(%l: tensor<8xf32>) {
  // expected-error @+1 {{'s2s.lead_embed' op 'dim' must be even and at least 2, got -2}}
  %0 = s2s.lead_embed %l {dim = -2 : i64} : tensor<8xf32> -> tensor<*xf32>
  return
}

// -----

func.func @convective_adjust_tau(%x: tensor<8x5x32x64xf32>) {
  // expected-error @+1 {{'s2s.convective_adjust' op 'tau' must be positive, got 0}}
  %0 = s2s.convective_adjust %x, %x {tau = 0 : i64, threshold = 0.0 : f64, step = 3600 : i64, temperature = array<i64: 0, 1>, humidity = array<i64: 2, 3>, levels = array<i64: 500, 850>} : tensor<8x5x32x64xf32>, tensor<8x5x32x64xf32> -> tensor<8x5x32x64xf32>
  return
}

// -----

func.func @convective_adjust_negative_tau(%x: tensor<8x5x32x64xf32>) {
  // expected-error @+1 {{'s2s.convective_adjust' op 'tau' must be positive, got -3600}}
  %0 = s2s.convective_adjust %x, %x {tau = -3600 : i64, threshold = 0.0 : f64, step = 3600 : i64, temperature = array<i64: 0, 1>, humidity = array<i64: 2, 3>, levels = array<i64: 500, 850>} : tensor<8x5x32x64xf32>, tensor<8x5x32x64xf32> -> tensor<8x5x32x64xf32>
  return
}

// -----

func.func @convective_adjust_one_level(%x: tensor<8x5x32x64xf32>) {
  // expected-error @+1 {{'s2s.convective_adjust' op needs one temperature and one humidity channel at each of at least 2 levels, got 1 temperature, 1 humidity channels and 1 levels}}
  %0 = s2s.convective_adjust %x, %x {tau = 3600 : i64, threshold = 0.0 : f64, step = 3600 : i64, temperature = array<i64: 0>, humidity = array<i64: 2>, levels = array<i64: 500>} : tensor<8x5x32x64xf32>, tensor<8x5x32x64xf32> -> tensor<8x5x32x64xf32>
  return
}

// -----

func.func @convective_adjust_channel_twice(%x: tensor<8x5x32x64xf32>) {
  // expected-error @+1 {{'s2s.convective_adjust' op channel 1 is negative or used twice}}
  %0 = s2s.convective_adjust %x, %x {tau = 3600 : i64, threshold = 0.0 : f64, step = 3600 : i64, temperature = array<i64: 0, 1>, humidity = array<i64: 1, 3>, levels = array<i64: 500, 850>} : tensor<8x5x32x64xf32>, tensor<8x5x32x64xf32> -> tensor<8x5x32x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// s2s.loss
//===----------------------------------------------------------------------===//

func.func @loss_kind(%x: tensor<8x3xf32>) {
  // expected-error @+2 {{expected ::s2s::LossKind to be one of: mse, mae, huber}}
  // expected-error @+1 {{failed to parse S2S_LossKindAttr parameter 'value' which is to be a `::s2s::LossKind`}}
  %0 = s2s.loss crps %x, %x {delta = 1.000000e+00 : f64, weight = #s2s.weighting<uniform>} : tensor<8x3xf32>, tensor<8x3xf32> -> tensor<f32>
  return
}

// -----

func.func @loss_weight(%x: tensor<8x3xf32>) {
  // expected-error @+2 {{expected ::s2s::Weighting to be one of: uniform, latitude}}
  // expected-error @+1 {{failed to parse S2S_WeightingAttr parameter 'value' which is to be a `::s2s::Weighting`}}
  %0 = s2s.loss mse %x, %x {delta = 1.000000e+00 : f64, weight = #s2s.weighting<area>} : tensor<8x3xf32>, tensor<8x3xf32> -> tensor<f32>
  return
}

// -----

func.func @loss_shapes(%p: tensor<8x3xf32>, %t: tensor<8x4xf32>) {
  // expected-error @+1 {{'s2s.loss' op prediction [8, 3] and target [8, 4] differ}}
  %0 = s2s.loss mse %p, %t {delta = 1.000000e+00 : f64, weight = #s2s.weighting<uniform>} : tensor<8x3xf32>, tensor<8x4xf32> -> tensor<f32>
  return
}

// -----

func.func @loss_ranks(%p: tensor<8x3xf32>, %t: tensor<8x3x1xf32>) {
  // expected-error @+1 {{'s2s.loss' op prediction [8, 3] and target [8, 3, 1] differ}}
  %0 = s2s.loss mse %p, %t {delta = 1.000000e+00 : f64, weight = #s2s.weighting<uniform>} : tensor<8x3xf32>, tensor<8x3x1xf32> -> tensor<f32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// s2s.data
//===----------------------------------------------------------------------===//

// expected-error @+1 {{needs at least one channel}}
s2s.data @d {channels = [], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}

// -----

// expected-error @+1 {{channel 'u10' is listed twice}}
s2s.data @d {channels = ["u10", "v10", "u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}

// -----

// expected-error @+1 {{'grid' is [lat, lon], each from 1 to 1048576, got [721]}}
s2s.data @d {channels = ["u10"], grid = array<i64: 721>, history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}

// -----

// expected-error @+1 {{'grid' is [lat, lon], each from 1 to 1048576, got [0, 1440]}}
s2s.data @d {channels = ["u10"], grid = array<i64: 0, 1440>, history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}

// -----

// expected-error @+1 {{'step' must be positive, got 0}}
s2s.data @d {channels = ["u10"], step = 0 : i64, history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}

// -----

// expected-error @+1 {{'step' must be positive, got -21600}}
s2s.data @d {channels = ["u10"], step = -21600 : i64, history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}

// -----

//===----------------------------------------------------------------------===//
// s2s.rollout
//===----------------------------------------------------------------------===//

func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{'order' must be from 1 to 1000, got 0}}
s2s.rollout @net on @d {order = 0 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

// A negative order passed the verifier and crashed s2s-unroll-rollout.
func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{'order' must be from 1 to 1000, got -1}}
s2s.rollout @net on @d {order = -1 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{'weights' has 3 entries for order 2}}
s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>, weights = array<f64: 1.0, 1.0, 1.0>}

// -----

s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{'s2s.rollout' op 'missing' is not a model forward (a func.func with the s2s.model attribute)}}
s2s.rollout @missing on @d {order = 1 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

// A func.func without the s2s.model attribute is not a model forward.
func.func @helper(%x: tensor<8x3xf32>) -> tensor<8x3xf32> {
  return %x : tensor<8x3xf32>
}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{'s2s.rollout' op 'helper' is not a model forward (a func.func with the s2s.model attribute)}}
s2s.rollout @helper on @d {order = 1 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

// Model and data swapped.
func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{'s2s.rollout' op 'd' is not a model forward (a func.func with the s2s.model attribute)}}
s2s.rollout @d on @net {order = 1 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
// expected-error @+1 {{'s2s.rollout' op 'era5' is not an s2s.data}}
s2s.rollout @net on @era5 {order = 1 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
// expected-error @+1 {{'s2s.rollout' op 'net' is not an s2s.data}}
s2s.rollout @net on @net {order = 1 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>}

// -----

//===----------------------------------------------------------------------===//
// s2s.parallel
//===----------------------------------------------------------------------===//

// expected-error @+1 {{'s2s.parallel' op 2 axes but 1 sizes}}
s2s.parallel {axes = ["data", "tensor"], sizes = array<i64: 8>, strategy = #s2s.strategy<ddp>, backend = #s2s.backend<auto>, checkpoint_activations = false}

// -----

// expected-error @+1 {{mesh axis 'data' is listed twice}}
s2s.parallel {axes = ["data", "data"], sizes = array<i64: 2, 4>, strategy = #s2s.strategy<ddp>, backend = #s2s.backend<auto>, checkpoint_activations = false}

// -----

// expected-error @+1 {{mesh axis 'tensor' must have at least 1 device, got 0}}
s2s.parallel {axes = ["data", "tensor"], sizes = array<i64: 8, 0>, strategy = #s2s.strategy<ddp>, backend = #s2s.backend<auto>, checkpoint_activations = false}

// -----

  // expected-error @+2 {{expected ::s2s::Strategy to be one of: ddp, zero1, zero2, zero3, fsdp}}
  // expected-error @+1 {{failed to parse S2S_StrategyAttr parameter 'value' which is to be a `::s2s::Strategy`}}
s2s.parallel {axes = ["data"], sizes = array<i64: 8>, strategy = #s2s.strategy<zero4>, backend = #s2s.backend<auto>, checkpoint_activations = false}

// -----

//===----------------------------------------------------------------------===//
// s2s.train
//===----------------------------------------------------------------------===//

func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{'epochs' must be at least 1, got 0}}
s2s.train @net on @d {epochs = 0 : i64, batch = 8 : i64, precision = #s2s.precision<fp32>, seed = 0 : i64, grad_clip = 0.0 : f64, optimizer = #s2s.optimizer<kind = adamw, lr = 1.0e-3, momentum = 0.0, nesterov = false, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8, weight_decay = 0.01>, schedule = #s2s.schedule<kind = constant, every = 0, gamma = 0.1, warmup = 0, min_lr = 0.0>, checkpoint = #s2s.checkpoint<epochs = 1, steps = 0, dir = "ckpt", keep = 3>, metrics = []}

// -----

func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{'batch' must be at least 1, got -8}}
s2s.train @net on @d {epochs = 1 : i64, batch = -8 : i64, precision = #s2s.precision<fp32>, seed = 0 : i64, grad_clip = 0.0 : f64, optimizer = #s2s.optimizer<kind = adamw, lr = 1.0e-3, momentum = 0.0, nesterov = false, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8, weight_decay = 0.01>, schedule = #s2s.schedule<kind = constant, every = 0, gamma = 0.1, warmup = 0, min_lr = 0.0>, checkpoint = #s2s.checkpoint<epochs = 1, steps = 0, dir = "ckpt", keep = 3>, metrics = []}

// -----

func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
  // expected-error @+2 {{expected ::s2s::Precision to be one of: fp32, bf16, fp16}}
  // expected-error @+1 {{failed to parse S2S_PrecisionAttr parameter 'value' which is to be a `::s2s::Precision`}}
s2s.train @net on @d {epochs = 1 : i64, batch = 8 : i64, precision = #s2s.precision<fp8>, seed = 0 : i64, grad_clip = 0.0 : f64, optimizer = #s2s.optimizer<kind = adamw, lr = 1.0e-3, momentum = 0.0, nesterov = false, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8, weight_decay = 0.01>, schedule = #s2s.schedule<kind = constant, every = 0, gamma = 0.1, warmup = 0, min_lr = 0.0>, checkpoint = #s2s.checkpoint<epochs = 1, steps = 0, dir = "ckpt", keep = 3>, metrics = []}

// -----

s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{'s2s.train' op 'd' is not a model forward (a func.func with the s2s.model attribute)}}
s2s.train @d on @d {epochs = 1 : i64, batch = 8 : i64, precision = #s2s.precision<fp32>, seed = 0 : i64, grad_clip = 0.0 : f64, optimizer = #s2s.optimizer<kind = adamw, lr = 1.0e-3, momentum = 0.0, nesterov = false, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8, weight_decay = 0.01>, schedule = #s2s.schedule<kind = constant, every = 0, gamma = 0.1, warmup = 0, min_lr = 0.0>, checkpoint = #s2s.checkpoint<epochs = 1, steps = 0, dir = "ckpt", keep = 3>, metrics = []}

// -----

func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
// expected-error @+1 {{'s2s.train' op 'era5' is not an s2s.data}}
s2s.train @net on @era5 {epochs = 1 : i64, batch = 8 : i64, precision = #s2s.precision<fp32>, seed = 0 : i64, grad_clip = 0.0 : f64, optimizer = #s2s.optimizer<kind = adamw, lr = 1.0e-3, momentum = 0.0, nesterov = false, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8, weight_decay = 0.01>, schedule = #s2s.schedule<kind = constant, every = 0, gamma = 0.1, warmup = 0, min_lr = 0.0>, checkpoint = #s2s.checkpoint<epochs = 1, steps = 0, dir = "ckpt", keep = 3>, metrics = []}

// -----

//===----------------------------------------------------------------------===//
// Section values: the attribute verifiers (MLIRGen builds these with
// getChecked at the value's spec line)
//===----------------------------------------------------------------------===//

// expected-error @+1 {{shared = true and lazy = true cannot be combined: shared holds the whole split, loaded once per node; choose one}}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = lazy, shared = true, prefetch = 2, buffer = 0, refresh = 0.25>}

// -----

// expected-error @+1 {{stream's refresh is the fraction of the buffer replaced per pass over it: a number in (0, 1], got 0.000000e+00}}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = stream, shared = false, prefetch = 2, buffer = 8, refresh = 0.0>}

// -----

// expected-error @+1 {{stream's buffer must be at least 1, got 0}}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = stream, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}

// -----

// expected-error @+1 {{prefetch must be at least 0, got -1}}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = -1, buffer = 0, refresh = 0.25>}

// -----

// expected-error @+1 {{hdf5(pattern = ...) needs a file pattern}}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}

// -----

// expected-error @+1 {{split 'valid' runs from 2017 back to 2016; write the first year first}}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, split = #s2s.split<train = [2000, 2015], valid = [2017, 2016], test = [0, -1]>, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}

// -----

// expected-error @+1 {{'history' must be at least 1, got 0}}
s2s.data @d {channels = ["u10"], history = 0 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}

// -----

// expected-error @+1 {{huber's delta must be a finite number > 0, got 0.000000e+00}}
"test.loss"() {loss = #s2s.loss<kind = huber, weight = uniform, delta = 0.0>} : () -> ()

// -----

func.func @loss_delta(%x: tensor<8x3xf32>) {
  // expected-error @+1 {{'s2s.loss' op 'delta' must be positive, got -1}}
  %0 = s2s.loss huber %x, %x {delta = -1.0 : f64, weight = #s2s.weighting<uniform>} : tensor<8x3xf32>, tensor<8x3xf32> -> tensor<f32>
  return
}

// -----

// expected-error @+1 {{the alignment order must be at least 2, got 1}}
"test.align"() {align = #s2s.align<kind = mlse, order = 1, weight = 1.0, lag = 1, spatial = uniform, stop_gradient = true>} : () -> ()

// -----

func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{alignment of order 3 needs a rollout of at least that order, got 2}}
s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>, align = #s2s.align<kind = mase, order = 3, weight = 1.0, lag = 1, spatial = uniform, stop_gradient = true>}

// -----

// expected-error @+1 {{hutchinson's samples must be at least 1, got 0}}
"test.jacobian"() {j = #s2s.jacobian<kind = hutchinson, samples = 0, weight = 1.0, dist = rademacher, at = first>} : () -> ()

// -----

// expected-error @+1 {{a patch stride of 200 over patches of 180 with a halo of 0 leaves points in no patch's interior (the stride may be at most size - 2 * halo)}}
"test.patches"() {p = #s2s.patching<size = [180, 360], stride = [200, 300], halo = [0, 0]>} : () -> ()

// -----

// expected-error @+1 {{lr must be a finite number > 0, got 0.000000e+00}}
"test.optimizer"() {o = #s2s.optimizer<kind = adam, lr = 0.0, momentum = 0.0, nesterov = false, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8, weight_decay = 0.0>} : () -> ()

// -----

// expected-error @+1 {{betas[1] must be in [0, 1), got 1.000000e+00}}
"test.optimizer"() {o = #s2s.optimizer<kind = adamw, lr = 1.0e-3, momentum = 0.0, nesterov = false, beta1 = 0.9, beta2 = 1.0, eps = 1.0e-8, weight_decay = 0.0>} : () -> ()

// -----

// expected-error @+1 {{nesterov = true needs a momentum > 0}}
"test.optimizer"() {o = #s2s.optimizer<kind = sgd, lr = 1.0e-3, momentum = 0.0, nesterov = true, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8, weight_decay = 0.0>} : () -> ()

// -----

// expected-error @+1 {{step's every must be at least 1, got 0}}
"test.schedule"() {s = #s2s.schedule<kind = step, every = 0, gamma = 0.5, warmup = 0, min_lr = 0.0>} : () -> ()

// -----

// expected-error @+1 {{step's gamma must be in (0, 1], got 2.000000e+00}}
"test.schedule"() {s = #s2s.schedule<kind = step, every = 10, gamma = 2.0, warmup = 0, min_lr = 0.0>} : () -> ()

// -----

// expected-error @+1 {{every's keep must be at least 1, got 0}}
"test.checkpoint"() {c = #s2s.checkpoint<epochs = 1, steps = 0, dir = "ckpt", keep = 0>} : () -> ()

// -----

// expected-error @+1 {{the memory plan's total 10 is not the sum of its parts}}
"test.plan"() {p = #s2s.memory_plan<params = 1, grads = 2, optimizer = 3, step = 5, total = 10>} : () -> ()

// -----

func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{'grad_clip' must be a finite number >= 0 (0: no clipping), got -1}}
s2s.train @net on @d {epochs = 1 : i64, batch = 8 : i64, precision = #s2s.precision<fp32>, seed = 0 : i64, grad_clip = -1.0 : f64, optimizer = #s2s.optimizer<kind = adamw, lr = 1.0e-3, momentum = 0.0, nesterov = false, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8, weight_decay = 0.01>, schedule = #s2s.schedule<kind = constant, every = 0, gamma = 0.1, warmup = 0, min_lr = 0.0>, checkpoint = #s2s.checkpoint<epochs = 1, steps = 0, dir = "ckpt", keep = 3>, metrics = []}

// -----

func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{'seed' must not be negative, got -3}}
s2s.train @net on @d {epochs = 1 : i64, batch = 8 : i64, precision = #s2s.precision<fp32>, seed = -3 : i64, grad_clip = 0.0 : f64, optimizer = #s2s.optimizer<kind = adamw, lr = 1.0e-3, momentum = 0.0, nesterov = false, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8, weight_decay = 0.01>, schedule = #s2s.schedule<kind = constant, every = 0, gamma = 0.1, warmup = 0, min_lr = 0.0>, checkpoint = #s2s.checkpoint<epochs = 1, steps = 0, dir = "ckpt", keep = 3>, metrics = []}

// -----

func.func @param_fan_in() {
  // expected-error @+1 {{'s2s.param' op 'fan_in' is a layer's initialiser; a param takes normal, trunc_normal, uniform, zeros, ones or constant}}
  %0 = s2s.param {name = "w", init = #s2s.init<fan_in>, init_args = array<f64: 4.0>} : tensor<4xf32>
  return
}

// -----

func.func @param_args() {
  // expected-error @+1 {{'s2s.param' op initialiser 'constant' takes at most 1 numbers, got 2}}
  %0 = s2s.param {name = "w", init = #s2s.init<constant>, init_args = array<f64: 1.0, 2.0>} : tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// The discardable attributes the passes attach
//===----------------------------------------------------------------------===//

func.func @sharding_on_a_layer_without_parameters(%x: tensor<4xf32>) {
  // expected-error @+1 {{'s2s.activation' op 's2s.sharding' belongs on an op that owns parameters}}
  %0 = s2s.activation gelu %x {s2s.sharding = #s2s.sharding<params = sharded, grads = sharded, optimizer = sharded, tensor = replicated>} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @sharding_of_the_wrong_kind(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{'s2s.linear' op 's2s.sharding' must be a #s2s.sharding, got "sharded"}}
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc", s2s.sharding = "sharded"} : tensor<8x16xf32> -> tensor<8x4xf32>
  return
}

// -----

// expected-error @+1 {{'func.func' op 's2s.memory' must be a #s2s.memory_plan, got {total = 4 : i64}}}
func.func @net(%x: tensor<4xf32>) -> tensor<4xf32> attributes {s2s.model = "Net", s2s.memory = {total = 4 : i64}} {
  return %x : tensor<4xf32>
}

// -----

// expected-error @+1 {{'func.func' op unknown s2s attribute 's2s.modle'}}
func.func @net(%x: tensor<4xf32>) -> tensor<4xf32> attributes {s2s.modle = "Net"} {
  return %x : tensor<4xf32>
}

// -----

func.func @model_on_an_op(%x: tensor<4xf32>) {
  // expected-error @+1 {{'s2s.neg' op 's2s.model' belongs on a func.func}}
  %0 = s2s.neg %x {s2s.model = "Net"} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

// expected-error @+1 {{an alignment of order 3 and lag 3 pairs no orders (it pairs order j with j - lag for lag < j <= order)}}
"test.align"() {align = #s2s.align<kind = mlse, order = 3, weight = 1.0, lag = 3, spatial = uniform, stop_gradient = true>} : () -> ()

// -----

// expected-error @+1 {{a patch stride of 2 over patches of 8 with a halo of 4 leaves points in no patch's interior (the stride may be at most size - 2 * halo)}}
"test.patches"() {p = #s2s.patching<size = [8, 8], stride = [4, 2], halo = [0, 4]>} : () -> ()

// -----

func.func @lt(%x: tensor<8x3x32x64xf32>, %l: tensor<8xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{lead times are in data steps, from 1 to 1000, got 0}}
s2s.rollout @lt on @d {order = 1 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>, leads = array<i64: 0, 1>}

// -----

func.func @lt(%x: tensor<8x3x32x64xf32>, %l: tensor<8xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{lead time 2 is listed twice}}
s2s.rollout @lt on @d {order = 1 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>, leads = array<i64: 2, 1, 2>}

// -----

func.func @lt(%x: tensor<8x3x32x64xf32>, %l: tensor<8xf32>) -> tensor<8x3x32x64xf32> attributes {s2s.model = "Net"} {
  return %x : tensor<8x3x32x64xf32>
}
s2s.data @d {channels = ["u10"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
// expected-error @+1 {{'leads' needs at least one lead time}}
s2s.rollout @lt on @d {order = 1 : i64, loss = #s2s.loss<kind = mse, weight = uniform, delta = 1.0>, leads = array<i64>}

// -----

func.func @sample_leads_empty(%w: tensor<8x5x3x32x64xf32>) {
  // expected-error @+1 {{'leads' needs at least one lead time}}
  %l = s2s.sample_leads %w {leads = array<i64>} : tensor<8x5x3x32x64xf32> -> tensor<8xf32>
  return
}

// -----

func.func @context_lead_zero(%x: tensor<8x3x32x64xf32>) {
  // expected-error @+1 {{'s2s.context_lead' op 'default_seconds' must be at least 1, got 0}}
  %h = s2s.context_lead %x {default_seconds = 0 : i64} : tensor<8x3x32x64xf32> -> tensor<8xf32>
  return
}
