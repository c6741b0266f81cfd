// s2s-fuse: an activation whose input is a linear or conv2d used only by it
// becomes that layer's `activation` attribute; the layer takes the
// activation's result type and its uses.
//
// RUN: s2s-opt %s -s2s-fuse | FileCheck %s

// CHECK-LABEL: func.func @mlp(
// CHECK-SAME:      %[[X:.*]]: tensor<8x32xf32>) -> tensor<8x16xf32>
// CHECK-NEXT:    %[[H:.*]] = s2s.linear %[[X]] {activation = #s2s<activation gelu>, bias = true, name = "fc1", out = 64 : i64} : tensor<8x32xf32> -> tensor<8x64xf32>
// CHECK-NEXT:    %[[Y:.*]] = s2s.linear %[[H]] {activation = #s2s<activation tanh>, bias = false, name = "fc2", out = 16 : i64} : tensor<8x64xf32> -> tensor<8x16xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<8x16xf32>
// CHECK-NOT:     s2s.activation
func.func @mlp(%x: tensor<8x32xf32>) -> tensor<8x16xf32> {
  %h = s2s.linear %x {out = 64 : i64, bias = true, name = "fc1"} : tensor<8x32xf32> -> tensor<8x64xf32>
  %a = s2s.activation gelu %h : tensor<8x64xf32> -> tensor<8x64xf32>
  %y = s2s.linear %a {out = 16 : i64, bias = false, name = "fc2"} : tensor<8x64xf32> -> tensor<8x16xf32>
  %b = s2s.activation tanh %y : tensor<8x16xf32> -> tensor<8x16xf32>
  return %b : tensor<8x16xf32>
}

// A conv2d, and the fused layer takes the activation's result type.
// CHECK-LABEL: func.func @conv(
// CHECK-NEXT:    %[[C:.*]] = s2s.conv2d %{{.*}} {activation = #s2s<activation relu>, bias = true, kernel = array<i64: 3, 3>, name = "enc", out = 4 : i64, pad_mode = #s2s.pad_mode<circular>, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : tensor<2x3x8x16xf32> -> tensor<2x4x8x16xf32>
// CHECK-NEXT:    return %[[C]] : tensor<2x4x8x16xf32>
func.func @conv(%x: tensor<2x3x8x16xf32>) -> tensor<2x4x8x16xf32> {
  %c = s2s.conv2d %x {out = 4 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<circular>, bias = true, name = "enc"} : tensor<2x3x8x16xf32> -> tensor<*xf32>
  %r = s2s.activation relu %c : tensor<*xf32> -> tensor<2x4x8x16xf32>
  return %r : tensor<2x4x8x16xf32>
}

// Not fused: the layer has another use (the residual), the layer already has
// an activation, the activation follows a layer without a fused kernel.
// CHECK-LABEL: func.func @unfused(
// CHECK-NEXT:    %[[L:.*]] = s2s.linear %{{.*}} {bias = true, name = "shared", out = 32 : i64}
// CHECK-NEXT:    %[[A:.*]] = s2s.activation silu %[[L]]
// CHECK-NEXT:    s2s.add %[[A]], %[[L]]
// CHECK-NEXT:    %[[F:.*]] = s2s.linear %{{.*}} {activation = #s2s<activation relu>, bias = true, name = "done", out = 32 : i64}
// CHECK-NEXT:    s2s.activation sigmoid %[[F]]
// CHECK-NEXT:    %[[N:.*]] = s2s.layer_norm
// CHECK-NEXT:    s2s.activation gelu %[[N]]
// CHECK-NEXT:    s2s.activation relu %{{.*}} : tensor<8x32xf32>
func.func @unfused(%x: tensor<8x32xf32>) -> (tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>) {
  %l = s2s.linear %x {out = 32 : i64, bias = true, name = "shared"} : tensor<8x32xf32> -> tensor<8x32xf32>
  %a = s2s.activation silu %l : tensor<8x32xf32> -> tensor<8x32xf32>
  %r = s2s.add %a, %l : tensor<8x32xf32>, tensor<8x32xf32> -> tensor<8x32xf32>
  %f = s2s.linear %x {out = 32 : i64, bias = true, name = "done", activation = #s2s<activation relu>} : tensor<8x32xf32> -> tensor<8x32xf32>
  %s = s2s.activation sigmoid %f : tensor<8x32xf32> -> tensor<8x32xf32>
  %n = s2s.layer_norm %x {eps = 1.0e-05 : f64, name = "ln"} : tensor<8x32xf32> -> tensor<8x32xf32>
  %g = s2s.activation gelu %n : tensor<8x32xf32> -> tensor<8x32xf32>
  %arg = s2s.activation relu %x : tensor<8x32xf32> -> tensor<8x32xf32>
  return %r, %s, %g, %arg : tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>
}

// Two activations in a row: only the first is folded into the layer.
// CHECK-LABEL: func.func @chain(
// CHECK-NEXT:    %[[L:.*]] = s2s.linear %{{.*}} {activation = #s2s<activation relu>, bias = true, name = "fc", out = 8 : i64}
// CHECK-NEXT:    %[[T:.*]] = s2s.activation tanh %[[L]]
// CHECK-NEXT:    return %[[T]]
func.func @chain(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %l = s2s.linear %x {out = 8 : i64, bias = true, name = "fc"} : tensor<4x8xf32> -> tensor<4x8xf32>
  %a = s2s.activation relu %l : tensor<4x8xf32> -> tensor<4x8xf32>
  %t = s2s.activation tanh %a : tensor<4x8xf32> -> tensor<4x8xf32>
  return %t : tensor<4x8xf32>
}

// A model forward is fused like any other function.
// CHECK-LABEL: func.func @net(
// CHECK-SAME:      attributes {s2s.model = "Net"}
// CHECK-NEXT:    s2s.linear %{{.*}} {activation = #s2s<activation silu>, bias = true, name = "fc", out = 8 : i64}
// CHECK-NEXT:    return
func.func @net(%x: tensor<4x8xf32>) -> tensor<4x8xf32> attributes {s2s.model = "Net"} {
  %l = s2s.linear %x {out = 8 : i64, bias = true, name = "fc"} : tensor<4x8xf32> -> tensor<4x8xf32>
  %a = s2s.activation silu %l : tensor<4x8xf32> -> tensor<4x8xf32>
  return %a : tensor<4x8xf32>
}
