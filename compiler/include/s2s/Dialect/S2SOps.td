//===- S2SOps.td - Operations of the s2s dialect -----------*- tablegen -*-===//

#ifndef S2S_OPS_TD
#define S2S_OPS_TD

include "s2s/Dialect/S2SDialect.td"
include "s2s/Dialect/S2SAttrs.td"
include "s2s/Dialect/S2SInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Base classes
//===----------------------------------------------------------------------===//

defvar InferShapes = DeclareOpInterfaceMethods<S2S_ShapeInferenceOpInterface>;
defvar OwnsParams = DeclareOpInterfaceMethods<S2S_ParameterizedOpInterface>;

/// One tensor in, one tensor out.
class S2S_UnaryOp<string mnemonic, list<Trait> traits = []>
    : S2S_Op<mnemonic, !listconcat([Pure, InferShapes], traits)> {
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

/// Elementwise with numpy-style broadcasting; a rank-0 operand is a scalar.
class S2S_BroadcastOp<string mnemonic, string what>
    : S2S_Op<mnemonic, [Pure, InferShapes]> {
  let summary = "elementwise " # what # " with broadcasting";
  let description = [{
    Applies the operation elementwise after broadcasting both operands to
    a common shape, as numpy does: dimensions are matched from the right
    and each pair must be equal or one of them 1.

    ```mlir
    %z = s2s.}] # mnemonic # [{ %x, %y : tensor<8x3x32x64xf32>, tensor<1x3x1x1xf32> -> tensor<8x3x32x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$lhs, AnyTensor:$rhs);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Scalars and elementwise arithmetic
//===----------------------------------------------------------------------===//

def S2S_ConstantOp : S2S_Op<"constant", [Pure, ConstantLike]> {
  let summary = "a scalar constant as a rank-0 tensor";
  let description = [{
    A number from the spec used in tensor arithmetic, such as the `0.5` in
    `x * 0.5`. It broadcasts against any tensor.

    ```mlir
    %half = s2s.constant 5.000000e-01 : tensor<f32>
    ```
  }];
  let arguments = (ins F64Attr:$value);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$value attr-dict `:` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def S2S_AddOp : S2S_BroadcastOp<"add", "addition">;
def S2S_SubOp : S2S_BroadcastOp<"sub", "subtraction">;
def S2S_MulOp : S2S_BroadcastOp<"mul", "multiplication">;
def S2S_DivOp : S2S_BroadcastOp<"div", "division">;

def S2S_NegOp : S2S_UnaryOp<"neg"> {
  let summary = "elementwise negation";
  let description = [{
    ```mlir
    %y = s2s.neg %x : tensor<4x8xf32> -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input);
}

def S2S_ActivationOp : S2S_Op<"activation", [Pure, InferShapes]> {
  let summary = "a pointwise nonlinearity";
  let description = [{
    `kind` is one of `gelu`, `relu`, `silu`, `tanh`, `sigmoid`.

    ```mlir
    %y = s2s.activation gelu %x : tensor<8x256x768xf32> -> tensor<8x256x768xf32>
    ```
  }];
  let arguments = (ins S2S_ActivationKindAttr:$kind, AnyTensor:$input);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = [{
    $kind $input attr-dict `:` type($input) `->` type($result)
  }];
}

def S2S_SoftmaxOp : S2S_UnaryOp<"softmax"> {
  let summary = "softmax along one dimension";
  let description = [{
    `dim` may be negative (counted from the end).

    ```mlir
    %p = s2s.softmax %x {dim = -1 : i64} : tensor<8x16xf32> -> tensor<8x16xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, I64Attr:$dim);
  let hasVerifier = 1;
}

def S2S_DropoutOp : S2S_UnaryOp<"dropout"> {
  let summary = "dropout of elements during training";
  let description = [{
    Zeroes each element with probability `p` in training and scales the
    rest by 1/(1-p); the identity in evaluation. `0 <= p < 1`.

    ```mlir
    %y = s2s.dropout %x {p = 1.000000e-01 : f64} : tensor<8x16xf32> -> tensor<8x16xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, F64Attr:$p);
  let hasVerifier = 1;
}

def S2S_DropPathOp : S2S_UnaryOp<"drop_path"> {
  let summary = "stochastic depth: drops whole samples of a residual branch";
  let description = [{
    Zeroes a sample's branch with probability `p` in training.
    `0 <= p < 1`.

    ```mlir
    %y = s2s.drop_path %x {p = 1.000000e-01 : f64} : tensor<8x16xf32> -> tensor<8x16xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, F64Attr:$p);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Layers with learnable parameters
//===----------------------------------------------------------------------===//

def S2S_LinearOp : S2S_UnaryOp<"linear", [OwnsParams]> {
  let summary = "fully connected layer over the last dimension";
  let description = [{
    `[..., in] -> [..., out]`, owning `weight: [in, out]` and, when `bias`,
    `bias: [out]`. `activation`, set by `s2s-fuse`, applies a pointwise
    nonlinearity to the result in the same kernel.

    ```mlir
    %y = s2s.linear %x {out = 768 : i64, bias = true, name = "head"}
        : tensor<8x256x384xf32> -> tensor<8x256x768xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, I64Attr:$out, BoolAttr:$bias,
                       StrAttr:$name,
                       OptionalAttr<S2S_ActivationKindAttr>:$activation,
                       DefaultValuedAttr<S2S_LinearInitAttr,
                                         "::s2s::LinearInit::fan_in">:$weight_init);
  let hasVerifier = 1;
}

def S2S_Conv2dOp : S2S_UnaryOp<"conv2d", [OwnsParams]> {
  let summary = "2-d convolution over [batch, channel, lat, lon]";
  let description = [{
    Owns `weight: [out, in, kernel0, kernel1]` and `bias: [out]`.
    `pad_mode` is `zeros`, `circular`, `reflect` or `replicate`.

    ```mlir
    %y = s2s.conv2d %x {out = 32 : i64, kernel = array<i64: 3, 3>,
                        stride = array<i64: 1, 1>, padding = array<i64: 1, 1>,
                        pad_mode = #s2s.pad_mode<circular>, bias = true, name = "enc"}
        : tensor<8x3x32x64xf32> -> tensor<8x32x32x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, I64Attr:$out,
                       DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$stride,
                       DenseI64ArrayAttr:$padding, S2S_PadModeAttr:$pad_mode,
                       BoolAttr:$bias, StrAttr:$name,
                       OptionalAttr<S2S_ActivationKindAttr>:$activation);
  let hasVerifier = 1;
}

def S2S_LayerNormOp : S2S_UnaryOp<"layer_norm", [OwnsParams]> {
  let summary = "layer normalisation over the last dimension";
  let description = [{
    Owns `weight` and `bias` of the last dimension's size.

    ```mlir
    %y = s2s.layer_norm %x {eps = 1.000000e-05 : f64, name = "norm1"}
        : tensor<8x256x768xf32> -> tensor<8x256x768xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, F64Attr:$eps, StrAttr:$name);
  let hasVerifier = 1;
}

def S2S_GroupNormOp : S2S_UnaryOp<"group_norm", [OwnsParams]> {
  let summary = "group normalisation over the channel dimension (dim 1)";
  let description = [{
    The channels must divide into `groups`. Owns `weight` and `bias` of
    the channel count.

    ```mlir
    %y = s2s.group_norm %x {groups = 8 : i64, eps = 1.000000e-05 : f64, name = "gn"}
        : tensor<8x32x32x64xf32> -> tensor<8x32x32x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, I64Attr:$groups, F64Attr:$eps,
                       StrAttr:$name);
  let hasVerifier = 1;
}

def S2S_InstanceNormOp : S2S_UnaryOp<"instance_norm"> {
  let summary = "instance normalisation (no learnable parameters)";
  let description = [{
    ```mlir
    %y = s2s.instance_norm %x {eps = 1.000000e-05 : f64} : tensor<8x32x32x64xf32> -> tensor<8x32x32x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, F64Attr:$eps);
}

def S2S_AttentionOp : S2S_UnaryOp<"attention", [OwnsParams]> {
  let summary = "multi-head self-attention over [batch, tokens, embed]";
  let description = [{
    `embed` must divide into `heads`. Owns `qkv.weight: [embed, 3*embed]`,
    `qkv.bias: [3*embed]` (when `qkv_bias`), `proj.weight: [embed, embed]`
    and `proj.bias: [embed]`.

    ```mlir
    %y = s2s.attention %x {heads = 12 : i64, qkv_bias = true, dropout = 0.0 : f64, name = "attn"}
        : tensor<8x256x768xf32> -> tensor<8x256x768xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, I64Attr:$heads, BoolAttr:$qkv_bias,
                       F64Attr:$dropout, StrAttr:$name);
  let hasVerifier = 1;
}

def S2S_TpCopyOp : S2S_UnaryOp<"tp_copy"> {
  let summary = "Megatron's f: identity forward, all-reduce of the gradient";
  let description = [{
    Inserted by `s2s-shard` before a column-parallel linear or attention on
    a mesh with a `tensor` axis of `size` > 1: the forward passes its input
    (replicated on every tensor rank) unchanged; the backward sums the
    input's gradient over the tensor ranks (runtime
    `tp/TensorParallel.h`, `copyToTensorRanks`).

    ```mlir
    %a = s2s.tp_copy %x {size = 2 : i64} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, I64Attr:$size);
}

def S2S_TpAllReduceOp : S2S_UnaryOp<"tp_all_reduce"> {
  let summary = "Megatron's g: all-reduce forward, identity backward";
  let description = [{
    Inserted by `s2s-shard` after a row-parallel linear (and after
    attention, whose output projection is row-parallel) on a tensor axis of
    `size` > 1: sums each tensor rank's partial product (runtime
    `reduceFromTensorRanks`); the backward hands the gradient through.
    `bias_of` names the layer whose bias is added once, after the sum (the
    layer still owns it), and `activation` the nonlinearity moved here from
    that layer.

    ```mlir
    %y = s2s.tp_all_reduce %p {size = 2 : i64, bias_of = "mlp.fc2"} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, I64Attr:$size,
                       OptionalAttr<StrAttr>:$bias_of,
                       OptionalAttr<S2S_ActivationKindAttr>:$activation);
}

def S2S_CrossAttentionOp
    : S2S_Op<"cross_attention", [Pure, InferShapes, OwnsParams]> {
  let summary = "multi-head attention of queries over a context";
  let description = [{
    `input: [batch, tokens, embed]`, `context: [batch, ctx, ctx_embed]`.
    Owns `q` (`embed x embed`), `kv` (`ctx_embed x 2*embed`) and `proj`
    (`embed x embed`), each with a bias.

    ```mlir
    %y = s2s.cross_attention %x, %c {heads = 8 : i64, name = "xattn"}
        : tensor<8x64x256xf32>, tensor<8x100x128xf32> -> tensor<8x64x256xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, AnyTensor:$context, I64Attr:$heads,
                       StrAttr:$name);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = [{
    $input `,` $context attr-dict `:` type($input) `,` type($context) `->` type($result)
  }];
  let hasVerifier = 1;
}

def S2S_PatchEmbedOp : S2S_UnaryOp<"patch_embed", [OwnsParams]> {
  let summary = "cut a field into patches and embed each as a token";
  let description = [{
    `[batch, channel, lat, lon] -> [batch, (lat/p0)*(lon/p1), embed]`, a
    convolution with kernel and stride `patch`. The patch must divide the
    grid. Owns `weight: [embed, channel, p0, p1]` and `bias: [embed]`.

    ```mlir
    %t = s2s.patch_embed %x {patch = array<i64: 8, 8>, embed = 768 : i64, name = "embed"}
        : tensor<8x7x720x1440xf32> -> tensor<8x16200x768xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, DenseI64ArrayAttr:$patch,
                       I64Attr:$embed, StrAttr:$name);
  let hasVerifier = 1;
}

def S2S_UnpatchOp : S2S_UnaryOp<"unpatch"> {
  let summary = "tokens back to a field";
  let description = [{
    `[batch, (g0/p0)*(g1/p1), channels*p0*p1] -> [batch, channels, g0, g1]`.

    ```mlir
    %f = s2s.unpatch %t {patch = array<i64: 8, 8>, grid = array<i64: 720, 1440>, channels = 7 : i64}
        : tensor<8x16200x448xf32> -> tensor<8x7x720x1440xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, DenseI64ArrayAttr:$patch,
                       DenseI64ArrayAttr:$grid, I64Attr:$channels);
  let hasVerifier = 1;
}

def S2S_Afno2dOp : S2S_UnaryOp<"afno2d", [OwnsParams]> {
  let summary = "FourCastNet's adaptive Fourier neural operator mixer";
  let description = [{
    On `[batch, h, w, embed]`: a real FFT over (h, w), a two-layer
    block-diagonal complex MLP on the channels (`blocks` blocks of
    `embed/blocks`) on the kept frequencies (zero elsewhere), soft
    shrinkage by `sparsity`, and the inverse FFT; the result is that plus
    the input (FourCastNet's AFNO2D skip). Which frequencies are kept:
    `cutoff = fourcastnet` (the default) as FourCastNet's code, k = int((h/2
    + 1) * modes) with the same k on both axes: rows [h/2 + 1 - k, h/2 + 1 +
    k) of the unshifted FFT and the first k of the half axis (so even
    `modes = 1` keeps only h/2 + 1 of the w/2 + 1 columns); `cutoff =
    lowpass` the lowest fraction `modes` of each axis (|k_h| < int((h/2 +
    1) * modes), k_w < int((w/2 + 1) * modes)). `embed` must divide
    into `blocks`. Owns `w1, w2: [2, blocks, embed/blocks, embed/blocks]`
    and `b1, b2: [2, blocks, embed/blocks]` (real and imaginary parts).

    ```mlir
    %y = s2s.afno2d %x {blocks = 8 : i64, sparsity = 1.000000e-02 : f64, modes = 1.0 : f64, name = "filter"}
        : tensor<8x90x180x768xf32> -> tensor<8x90x180x768xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, I64Attr:$blocks, F64Attr:$sparsity,
                       F64Attr:$modes,
                       DefaultValuedAttr<S2S_AfnoCutoffAttr,
                                         "::s2s::AfnoCutoff::fourcastnet">:$cutoff,
                       StrAttr:$name);
  let hasVerifier = 1;
}

def S2S_GraphMessageOp
    : S2S_Op<"graph_message", [Pure, InferShapes, OwnsParams]> {
  let summary = "one round of message passing on a graph";
  let description = [{
    `nodes: [batch, N, D]`, `edge_features: [batch, E, De]`,
    `edges: [2, E]` (sender and receiver indices). A message MLP on
    (sender, receiver, edge) features, summed at receivers, and a node MLP
    on (node, aggregate) give `[batch, N, out]`. Owns the two MLPs:
    `msg.fc1: [2D+De, hidden]`, `msg.fc2: [hidden, out]`,
    `node.fc1: [D+out, hidden]`, `node.fc2: [hidden, out]`, with biases.

    ```mlir
    %h = s2s.graph_message %n, %ef, %e {hidden = 64 : i64, out = 64 : i64, name = "proc0"}
        : tensor<2x42x64xf32>, tensor<2x240x4xf32>, tensor<2x240xi64> -> tensor<2x42x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$nodes, AnyTensor:$edge_features,
                       AnyTensor:$edges, I64Attr:$hidden, I64Attr:$out,
                       StrAttr:$name);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = [{
    $nodes `,` $edge_features `,` $edges attr-dict `:` type($nodes) `,`
    type($edge_features) `,` type($edges) `->` type($result)
  }];
  let hasVerifier = 1;
}

def S2S_ParamOp : S2S_Op<"param", [Pure, OwnsParams]> {
  let summary = "a learnable tensor declared with `param` in a model";
  let description = [{
    Its type is written in the spec and must be static. `init` names the
    initialiser (`normal`, `trunc_normal`, `uniform`, `zeros`, `ones`,
    `constant`) and `init_args` its numbers.

    ```mlir
    %pos = s2s.param {name = "pos", init = #s2s.init<trunc_normal>, init_args = array<f64: 0.02>}
        : tensor<1x16200x768xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name, S2S_InitKindAttr:$init,
                       DenseF64ArrayAttr:$init_args);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Layout
//===----------------------------------------------------------------------===//

def S2S_ReshapeOp : S2S_UnaryOp<"reshape"> {
  let summary = "reshape to `shape`; one entry may be -1";
  let description = [{
    The element count must be kept.

    ```mlir
    %y = s2s.reshape %x {shape = array<i64: 8, 90, 180, -1>}
        : tensor<8x16200x768xf32> -> tensor<8x90x180x768xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, DenseI64ArrayAttr:$shape);
  let hasVerifier = 1;
}

def S2S_PermuteOp : S2S_UnaryOp<"permute"> {
  let summary = "permute dimensions";
  let description = [{
    `dims` is a permutation of `0..rank-1`.

    ```mlir
    %y = s2s.permute %x {dims = array<i64: 0, 2, 3, 1>}
        : tensor<8x3x32x64xf32> -> tensor<8x32x64x3xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, DenseI64ArrayAttr:$dims);
  let hasVerifier = 1;
}

def S2S_FlattenOp : S2S_UnaryOp<"flatten"> {
  let summary = "merge dimensions start..end (inclusive; negative from the end)";
  let description = [{
    ```mlir
    %y = s2s.flatten %x {start = 2 : i64, end = -1 : i64}
        : tensor<8x3x32x64xf32> -> tensor<8x3x2048xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, I64Attr:$start, I64Attr:$end);
}

def S2S_ConcatOp : S2S_Op<"concat", [Pure, InferShapes]> {
  let summary = "concatenate tensors along one dimension";
  let description = [{
    All inputs have one rank and agree on every other dimension.

    ```mlir
    %y = s2s.concat %a, %b {dim = 1 : i64}
        : tensor<8x3x32x64xf32>, tensor<8x4x32x64xf32> -> tensor<8x7x32x64xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyTensor>:$inputs, I64Attr:$dim);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = [{
    $inputs attr-dict `:` type($inputs) `->` type($result)
  }];
  let hasVerifier = 1;
}

def S2S_SliceOp : S2S_UnaryOp<"slice"> {
  let summary = "the range start..end (end excluded) of one dimension";
  let description = [{
    ```mlir
    %y = s2s.slice %x {dim = 1 : i64, start = 0 : i64, end = 2 : i64}
        : tensor<8x3x32x64xf32> -> tensor<8x2x32x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, I64Attr:$dim, I64Attr:$start,
                       I64Attr:$end);
  let hasVerifier = 1;
}

def S2S_MeanOp : S2S_UnaryOp<"mean"> {
  let summary = "mean over one dimension";
  let description = [{
    ```mlir
    %y = s2s.mean %x {dim = 1 : i64, keep = false} : tensor<8x256x768xf32> -> tensor<8x768xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, I64Attr:$dim, BoolAttr:$keep);
}

def S2S_PadOp : S2S_UnaryOp<"pad"> {
  let summary = "pad the last dimensions";
  let description = [{
    `pad` lists (before, after) pairs from the last dimension backwards,
    as torch's `pad` does. `mode` is `zeros`, `circular`, `reflect` or
    `replicate`.

    ```mlir
    %y = s2s.pad %x {pad = array<i64: 1, 1, 2, 2>, mode = #s2s.pad_mode<circular>}
        : tensor<8x3x32x64xf32> -> tensor<8x3x36x66xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, DenseI64ArrayAttr:$pad,
                       S2S_PadModeAttr:$mode);
  let hasVerifier = 1;
}

def S2S_PadSphereOp : S2S_UnaryOp<"pad_sphere"> {
  let summary = "pad a global field: periodic in longitude, reflected at the poles";
  let description = [{
    `pad = [lat, lon]` cells on each side.

    ```mlir
    %y = s2s.pad_sphere %x {pad = array<i64: 1, 1>} : tensor<8x3x32x64xf32> -> tensor<8x3x34x66xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, DenseI64ArrayAttr:$pad);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fourier transforms
//===----------------------------------------------------------------------===//

def S2S_Rfft2Op : S2S_UnaryOp<"rfft2"> {
  let summary = "real FFT over the last two dimensions";
  let description = [{
    `[..., h, w]` real -> `[..., h, w/2+1]` complex.

    ```mlir
    %y = s2s.rfft2 %x : tensor<8x3x32x64xf32> -> tensor<8x3x32x33xcomplex<f32>>
    ```
  }];
  let arguments = (ins AnyTensor:$input);
}

def S2S_Irfft2Op : S2S_UnaryOp<"irfft2"> {
  let summary = "inverse real FFT over the last two dimensions";
  let description = [{
    `[..., h, w/2+1]` complex -> `[..., size0, size1]` real.

    ```mlir
    %y = s2s.irfft2 %x {size = array<i64: 32, 64>}
        : tensor<8x3x32x33xcomplex<f32>> -> tensor<8x3x32x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, DenseI64ArrayAttr:$size);
  let hasVerifier = 1;
}

def S2S_Fft2Op : S2S_UnaryOp<"fft2"> {
  let summary = "complex FFT over the last two dimensions";
  let description = [{
    ```mlir
    %y = s2s.fft2 %x : tensor<8x3x32x64xf32> -> tensor<8x3x32x64xcomplex<f32>>
    ```
  }];
  let arguments = (ins AnyTensor:$input);
}

def S2S_Ifft2Op : S2S_UnaryOp<"ifft2"> {
  let summary = "inverse complex FFT over the last two dimensions";
  let description = [{
    ```mlir
    %y = s2s.ifft2 %x : tensor<8x3x32x64xcomplex<f32>> -> tensor<8x3x32x64xcomplex<f32>>
    ```
  }];
  let arguments = (ins AnyTensor:$input);
}

//===----------------------------------------------------------------------===//
// Inputs the runtime provides, and physics
//===----------------------------------------------------------------------===//

def S2S_GraphEdgesOp : S2S_Op<"graph_edges", [Pure, InferShapes]> {
  let summary = "the edges of one of GraphCast's graphs";
  let description = [{
    GraphCast's graphs (Lam et al. 2023) on the grid of `like`
    `[batch, c, lat, lon]` and the icosahedral mesh M_r, r = `refinement`,
    as `runtime/include/s2s/runtime/GraphGeometry.h` states them (one
    implementation, used here for the shapes and by the runtime's kernel):
    `multimesh`, both directions of the edges of M_0..M_r (`2 * sum_k 30 *
    4^k` of them); `grid2mesh`, every grid point within 0.6 x the longest
    M_r edge of a mesh node; `mesh2grid`, the three nodes of the M_r face
    containing each grid point (`3 * lat * lon`). `[2, E]` (sender,
    receiver) indices, each into its own node set: grid points row-major,
    mesh nodes. E is computed for the grid's default coordinates (equally
    spaced, from 90 north and 0 east); the runtime checks the data's.

    ```mlir
    %e = s2s.graph_edges %x {graph = "multimesh", refinement = 1 : i64} : tensor<8x3x16x32xf32> -> tensor<2x300xi64>
    ```
  }];
  let arguments = (ins AnyTensor:$like, StrAttr:$graph, I64Attr:$refinement);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$like attr-dict `:` type($like) `->` type($result)";
  let hasVerifier = 1;
}

def S2S_GraphEdgeFeaturesOp
    : S2S_Op<"graph_edge_features", [Pure, InferShapes]> {
  let summary = "the geometric features of a graph's edges";
  let description = [{
    `[1, E, 4]` for the edges of `s2s.graph_edges` with the same `like`,
    `graph` and `refinement`: each edge's length and the sender's position
    minus the receiver's in the receiver's local frame (radial, east,
    north), divided by the graph's longest edge.

    ```mlir
    %f = s2s.graph_edge_features %x {graph = "multimesh", refinement = 1 : i64} : tensor<8x3x16x32xf32> -> tensor<1x300x4xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$like, StrAttr:$graph, I64Attr:$refinement);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$like attr-dict `:` type($like) `->` type($result)";
  let hasVerifier = 1;
}

def S2S_GraphNodeFeaturesOp
    : S2S_Op<"graph_node_features", [Pure, InferShapes]> {
  let summary = "the geometric features of a graph's nodes";
  let description = [{
    `[1, N, 3]`: cos colatitude, cos and sin longitude of each node of
    `nodes`: `mesh` (the `10 * 4^refinement + 2` nodes of M_r) or `grid`
    (the `lat * lon` points of `like`'s grid).

    ```mlir
    %n = s2s.graph_node_features %x {nodes = "mesh", refinement = 1 : i64} : tensor<8x3x16x32xf32> -> tensor<1x42x3xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$like, StrAttr:$nodes, I64Attr:$refinement);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$like attr-dict `:` type($like) `->` type($result)";
  let hasVerifier = 1;
}

def S2S_GraphGatherOp : S2S_Op<"graph_gather", [Pure, InferShapes]> {
  let summary = "each edge's sender or receiver row";
  let description = [{
    `nodes: [batch, N, D]`, `edges: [2, E]` -> `[batch, E, D]`, the row of
    each edge's `end` (`sender` or `receiver`).

    ```mlir
    %s = s2s.graph_gather %n, %e {end = "sender"} : tensor<8x42x16xf32>, tensor<2x300xi64> -> tensor<8x300x16xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$nodes, AnyTensor:$edges, StrAttr:$end);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = [{
    $nodes `,` $edges attr-dict `:` type($nodes) `,` type($edges) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def S2S_GraphScatterSumOp : S2S_Op<"graph_scatter_sum", [Pure, InferShapes]> {
  let summary = "messages summed onto their receivers";
  let description = [{
    `messages: [batch, E, D]`, `edges: [2, E]`, `like: [b, N, d]` ->
    `[batch, N, D]`: each edge's message added onto its receiver; `like`
    gives the node count N only.

    ```mlir
    %a = s2s.graph_scatter_sum %m, %e, %n : tensor<8x300x16xf32>, tensor<2x300xi64>, tensor<8x42x16xf32> -> tensor<8x42x16xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$messages, AnyTensor:$edges, AnyTensor:$like);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = [{
    $messages `,` $edges `,` $like attr-dict `:` type($messages) `,`
    type($edges) `,` type($like) `->` type($result)
  }];
}

def S2S_GridCoordsOp : S2S_UnaryOp<"grid_coords"> {
  let summary = "sin/cos of latitude and longitude of each grid point";
  let description = [{
    `[batch, c, lat, lon] -> [batch, 4, lat, lon]`.

    ```mlir
    %g = s2s.grid_coords %x : tensor<8x3x32x64xf32> -> tensor<8x4x32x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input);
}

def S2S_TimeFeaturesOp : S2S_UnaryOp<"time_features"> {
  let summary = "sin/cos of day of year and time of day of each sample";
  let description = [{
    `[batch, c, lat, lon] -> [batch, 4, lat, lon]`, at the valid time plus
    `lead` seconds.

    ```mlir
    %t = s2s.time_features %x {lead = 0 : i64} : tensor<8x3x32x64xf32> -> tensor<8x4x32x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, I64Attr:$lead);
}

def S2S_LeadEmbedOp : S2S_UnaryOp<"lead_embed"> {
  let summary = "sinusoidal embedding of a lead time";
  let description = [{
    `[batch] or [batch, 1] -> [batch, dim]`; `dim` is even.

    ```mlir
    %e = s2s.lead_embed %lead {dim = 64 : i64} : tensor<8xf32> -> tensor<8x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, I64Attr:$dim);
  let hasVerifier = 1;
}

def S2S_ConvectiveAdjustOp
    : S2S_Op<"convective_adjust", [Pure, InferShapes]> {
  let summary = "Betts-Miller-like convective adjustment of t and q columns";
  let description = [{
    `input`, `before: [batch, channels, lat, lon]` in the data's normalised
    units. Channels `temperature[k]` (K) and `humidity[k]` (specific
    humidity, kg/kg) hold one variable each at pressure level `levels[k]`
    (hPa); s2sc fills these three from the data section's channel names
    (`t850`, `q850`). Other channels pass through unchanged. At run time the
    columns are de-normalised with the data's per-channel statistics.

    A column is unstable where the equivalent potential temperature
    `(T + L_v q / c_p) (p0 / p)^kappa` falls with height by more than
    `threshold` K between adjacent levels. Unstable columns relax at rate
    `min(1, dt / tau)` towards the neutral reference: uniform specific
    humidity (the column's pressure-weighted mean) and constant equivalent
    potential temperature, both with the column's own moist enthalpy
    `sum_k (c_p T_k + L_v q_k) dp_k / g`. A uniform temperature shift then
    gives each column the moist enthalpy of the same column of `before`
    exactly (computed in float64). `dt` is the call's lead time when the
    context has one, else `step`, the data's time step in seconds.

    ```mlir
    %y = s2s.convective_adjust %x, %x0 {tau = 3600 : i64, threshold = 0.0 : f64,
        step = 3600 : i64, temperature = array<i64: 0, 1>,
        humidity = array<i64: 2, 3>, levels = array<i64: 850, 500>}
        : tensor<8x5x32x64xf32>, tensor<8x5x32x64xf32> -> tensor<8x5x32x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, AnyTensor:$before, I64Attr:$tau,
                       F64Attr:$threshold, I64Attr:$step,
                       DenseI64ArrayAttr:$temperature,
                       DenseI64ArrayAttr:$humidity, DenseI64ArrayAttr:$levels);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = [{
    $input `,` $before attr-dict `:` type($input) `,` type($before) `->` type($result)
  }];
  let hasVerifier = 1;
}

def S2S_LossOp : S2S_Op<"loss", [Pure, InferShapes]> {
  let summary = "a scalar loss between a prediction and a target";
  let description = [{
    `kind` is `mse`, `mae` or `huber` (quadratic below `delta`, linear
    above it); `weight` is `uniform` or `latitude` (cos-latitude weights
    over dim -2, normalised to mean 1). Both operands have one shape.

    ```mlir
    %l = s2s.loss mse %pred, %truth {weight = #s2s.weighting<latitude>, delta = 1.0 : f64}
        : tensor<8x3x32x64xf32>, tensor<8x3x32x64xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins S2S_LossKindAttr:$kind, AnyTensor:$prediction,
                       AnyTensor:$target, S2S_WeightingAttr:$weight,
                       F64Attr:$delta);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = [{
    $kind $prediction `,` $target attr-dict `:` type($prediction) `,`
    type($target) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// The rollout's plugins
//===----------------------------------------------------------------------===//

def S2S_StopGradientOp : S2S_UnaryOp<"stop_gradient"> {
  let summary = "the value, with no gradient flowing back through it";
  let description = [{
    The pseudo-future target of an alignment loss: the lower-order
    prediction is compared with, not moved towards.

    ```mlir
    %t = s2s.stop_gradient %p : tensor<8x3x32x64xf32> -> tensor<8x3x32x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input);
}

def S2S_JacobianInputOp : S2S_UnaryOp<"jacobian_input"> {
  let summary = "the value, as an input the model's Jacobian is taken at";
  let description = [{
    Truth frames carry no gradient; this makes the value one the model's
    output can be differentiated by (a prediction already is one, and is
    returned as it is).

    ```mlir
    %x = s2s.jacobian_input %f : tensor<8x3x32x64xf32> -> tensor<8x3x32x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input);
}

def S2S_JacobianPenaltyOp
    : S2S_Op<"jacobian_penalty", [Pure, InferShapes]> {
  let summary = "Jacobian regularisation of one model step";
  let description = [{
    For `output` = f(`input`) over a batch, `weight` times the mean over the
    batch of ||J_f(x)||_F^2 / dim(x), dim(x) the elements of one sample:
    `exact` forms the squared Frobenius norm from one vector-Jacobian
    product per output element; `hutchinson` estimates it from `samples`
    random probes v (`probe`: rademacher or gaussian) as the mean of
    ||v^T J||^2. Both keep the graph, so the penalty's gradient reaches the
    parameters (double backward).

    ```mlir
    %j = s2s.jacobian_penalty %x, %y {kind = #s2s.jacobian_kind<hutchinson>,
        samples = 1 : i64, probe = #s2s.probe<rademacher>, weight = 1.0e-3 : f64}
        : tensor<8x3x32x64xf32>, tensor<8x3x32x64xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, AnyTensor:$output,
                       S2S_JacobianKindAttr:$kind, I64Attr:$samples,
                       S2S_ProbeAttr:$probe, F64Attr:$weight);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = [{
    $input `,` $output attr-dict `:` type($input) `,` type($output) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def S2S_ExtractPatchesOp : S2S_UnaryOp<"extract_patches"> {
  let summary = "overlapping patches of a [batch, channel, lat, lon] field";
  let description = [{
    Cuts each field into patches of `size` every `stride`: in longitude
    periodically (starts 0, stride, ... below the grid width, a patch
    wrapping round the globe), in latitude from the top with the last
    patch moved up to end at the last row. The patches of a sample follow
    each other along the batch: [batch * patches, channel, size0, size1]
    (runtime/include/s2s/runtime/PatchGeometry.h holds the rule).

    ```mlir
    %p = s2s.extract_patches %x {size = array<i64: 16, 32>, stride = array<i64: 12, 24>}
        : tensor<2x3x32x64xf32> -> tensor<12x3x16x32xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, DenseI64ArrayAttr:$size,
                       DenseI64ArrayAttr:$stride);
  let hasVerifier = 1;
}

def S2S_MergePatchesOp : S2S_UnaryOp<"merge_patches"> {
  let summary = "a field from overlapping patches, overlaps averaged";
  let description = [{
    The inverse of `s2s.extract_patches` for a field of `grid`: each point
    is the average of the patches that cover it, a patch's points within
    `halo` of one of its edges inside the grid counted with weight 0 (so a
    model whose receptive field is within the halo gives, in every point,
    what it gives on the whole grid).

    ```mlir
    %y = s2s.merge_patches %p {grid = array<i64: 32, 64>, size = array<i64: 16, 32>,
                               stride = array<i64: 12, 24>, halo = array<i64: 1, 1>}
        : tensor<12x3x16x32xf32> -> tensor<2x3x32x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, DenseI64ArrayAttr:$grid,
                       DenseI64ArrayAttr:$size, DenseI64ArrayAttr:$stride,
                       DenseI64ArrayAttr:$halo);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Lead-time (on-stamp) training
//===----------------------------------------------------------------------===//

def S2S_SampleLeadsOp : S2S_Op<"sample_leads", [InferShapes]> {
  let summary = "one lead time per sample, drawn from a set";
  let description = [{
    For a window [batch, frames, ...], a [batch] tensor whose sample n
    holds a lead time l_n (in data steps, as a float) drawn uniformly from
    `leads` with the model's generator, independently per sample. Not
    `Pure`: each op is its own draw.

    ```mlir
    %l = s2s.sample_leads %w {leads = array<i64: 1, 2, 4>}
        : tensor<8x5x3x32x64xf32> -> tensor<8xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$window, DenseI64ArrayAttr:$leads);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$window attr-dict `:` type($window) `->` type($result)";
  let hasVerifier = 1;
}

def S2S_SelectLeadOp : S2S_Op<"select_lead", [Pure, InferShapes]> {
  let summary = "the frame at each sample's lead time";
  let description = [{
    For a window [batch, frames, ...] and lead times [batch] (in data
    steps), the frames window[n, leads[n]]: [batch, ...].

    ```mlir
    %t = s2s.select_lead %w, %l
        : tensor<8x5x3x32x64xf32>, tensor<8xf32> -> tensor<8x3x32x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$window, AnyTensor:$leads);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = [{
    $window `,` $leads attr-dict `:` type($window) `,` type($leads) `->`
    type($result)
  }];
}

def S2S_CallTimesOp : S2S_Op<"call_times", [InferShapes]> {
  let summary = "when the input of a batched rollout call is valid";
  let description = [{
    Placed by `s2s-unroll-rollout` on the input of each batched model call:
    the call holds `blocks` start times of the batch stacked along the
    batch, block s valid `first + s` data steps (`step_seconds`) after the
    batch's times. The runtime records it for the call (what
    `time_features` reads) and returns the input unchanged. Not `Pure`: it
    sets the context for the call that uses its result.

    ```mlir
    %y = s2s.call_times %x {first = 1 : i64, blocks = 2 : i64, step_seconds = 21600 : i64} : tensor<16x3x32x64xf32> -> tensor<16x3x32x64xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$input, I64Attr:$first, I64Attr:$blocks,
                       I64Attr:$step_seconds);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def S2S_ContextLeadOp : S2S_Op<"context_lead", [InferShapes]> {
  let summary = "the lead time of this call in hours, per sample";
  let description = [{
    A [batch] tensor (batch from `like`) holding the lead time the caller
    set for this call (the runtime's `m.context().leadSeconds`), in hours;
    `default_seconds` when the caller set none. The one-step function a
    lead-time model is validated and forecast with takes its lead here.
    Not `Pure`: it reads the call's context.

    ```mlir
    %h = s2s.context_lead %x {default_seconds = 21600 : i64}
        : tensor<8x3x32x64xf32> -> tensor<8xf32>
    ```
  }];
  let arguments = (ins AnyTensor:$like, I64Attr:$default_seconds);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$like attr-dict `:` type($like) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Sections
//===----------------------------------------------------------------------===//

def S2S_DataOp : S2S_Op<"data", [Symbol]> {
  let summary = "a data set: [time, channel, lat, lon] samples";
  let description = [{
    The spec's `data NAME { ... }`. `channels` are the channel names in
    model order, `grid` the [lat, lon] size when given, `step` the time
    between samples in seconds when given, `history` the input time steps
    per sample. Every other entry has a typed attribute; an entry the spec
    leaves out holds the prelude's default (`memory = in_memory()`).

    The op's location fuses the section's with one `NameLoc` per entry
    written (`"memory"(file:line:col)`), so a later message about a value
    points at its own line.

    ```mlir
    s2s.data @era5 {channels = ["u10", "v10"], grid = array<i64: 721, 1440>,
                    step = 21600 : i64, history = 1 : i64,
                    source = #s2s.source<kind = hdf5, pattern = "data/*.h5", field = "fields", address = "", name = "">,
                    memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 2.500000e-01>}
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, StrArrayAttr:$channels,
                       OptionalAttr<DenseI64ArrayAttr>:$grid,
                       OptionalAttr<I64Attr>:$step, I64Attr:$history,
                       S2S_SourceAttr:$source,
                       OptionalAttr<S2S_SplitAttr>:$split,
                       OptionalAttr<S2S_NormalizeAttr>:$normalize,
                       S2S_MemoryAttr:$memory);
  let assemblyFormat = "$sym_name attr-dict";
  let hasVerifier = 1;
}

def S2S_RolloutOp
    : S2S_Op<"rollout", [DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "the autoregressive tableau and its losses";
  let description = [{
    Rolls model `model` out `order` steps on data `data`. `loss` is the
    loss against the truth, `weights` (when given) its weight per order;
    `align`, `jacobian` and `patches` are present when the spec gives them.
    `leads` (when given) makes it lead-time training: the model takes
    (x, lead hours [batch]) and each sample is trained at a lead time
    drawn from `leads` (in data steps, each at least 1, distinct).

    ```mlir
    s2s.rollout @net on @era5 {order = 4 : i64,
        loss = #s2s.loss<kind = mse, weight = latitude, delta = 1.000000e+00>}
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$model, FlatSymbolRefAttr:$data,
                       I64Attr:$order, S2S_LossAttr:$loss,
                       OptionalAttr<DenseF64ArrayAttr>:$weights,
                       OptionalAttr<S2S_AlignAttr>:$align,
                       OptionalAttr<S2S_JacobianAttr>:$jacobian,
                       OptionalAttr<S2S_PatchingAttr>:$patches,
                       OptionalAttr<DenseI64ArrayAttr>:$leads);
  let assemblyFormat = "$model `on` $data attr-dict";
  let hasVerifier = 1;
}

def S2S_ParallelOp : S2S_Op<"parallel"> {
  let summary = "the device mesh and the data-parallel strategy";
  let description = [{
    `axes` names the mesh axes in order and `sizes` their sizes. `timeout`
    is how many seconds a collective may wait for the other processes
    before the run fails (default 600).

    ```mlir
    s2s.parallel {axes = ["data", "tensor"], sizes = array<i64: 8, 4>,
                  strategy = #s2s.strategy<zero3>, backend = #s2s.backend<auto>,
                  checkpoint_activations = false}
    ```
  }];
  let arguments = (ins StrArrayAttr:$axes, DenseI64ArrayAttr:$sizes,
                       S2S_StrategyAttr:$strategy, S2S_BackendAttr:$backend,
                       BoolAttr:$checkpoint_activations,
                       DefaultValuedAttr<I64Attr, "600">:$timeout);
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The number of processes the mesh spans (the product of its sizes).
    int64_t getNumProcesses();
    /// The size of axis `name`, 1 if the mesh has no such axis.
    int64_t getAxisSize(::llvm::StringRef name);
  }];
}

def S2S_TrainOp
    : S2S_Op<"train", [DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "the training schedule";
  let description = [{
    Trains `model` on `data` for `epochs` with global batch `batch`, each
    process's share split into `accumulate` micro-batches whose gradients
    are summed before the one synchronisation and update of a step.
    `grad_clip` 0 means no clipping.

    ```mlir
    s2s.train @net on @era5 {epochs = 80 : i64, batch = 64 : i64,
        precision = #s2s.precision<fp32>, seed = 0 : i64, grad_clip = 0.0 : f64,
        optimizer = #s2s.optimizer<kind = adam, lr = 1.000000e-03, momentum = 0.000000e+00, nesterov = false, beta1 = 9.000000e-01, beta2 = 9.990000e-01, eps = 1.000000e-08, weight_decay = 0.000000e+00>,
        schedule = #s2s.schedule<kind = constant, every = 0, gamma = 1.000000e-01, warmup = 0, min_lr = 0.000000e+00>,
        checkpoint = #s2s.checkpoint<epochs = 1, steps = 0, dir = "checkpoints", keep = 3>,
        metrics = [#s2s.metric<kind = rmse, weight = latitude>]}
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$model, FlatSymbolRefAttr:$data,
                       I64Attr:$epochs, I64Attr:$batch,
                       DefaultValuedAttr<I64Attr, "1">:$accumulate,
                       S2S_PrecisionAttr:$precision, I64Attr:$seed,
                       F64Attr:$grad_clip, S2S_OptimizerAttr:$optimizer,
                       S2S_ScheduleAttr:$schedule,
                       S2S_CheckpointAttr:$checkpoint,
                       TypedArrayAttrBase<S2S_MetricAttr,
                                          "validation metrics">:$metrics);
  let assemblyFormat = "$model `on` $data attr-dict";
  let hasVerifier = 1;
}

#endif // S2S_OPS_TD
