// s2s-plan-memory: bytes per rank for parameters, gradients, optimizer state
// and the training step's peak above them (`step`) of each model forward, as
// `s2s.memory` on the function; with a rollout, the step of the unrolled
// rollout (plan-memory-rollout.mlir). The model (docs/plan.md): the
// generated code keeps every value of a function alive until it returns
// (views have no storage of their own); autograd keeps what the backward
// saves; the backward's working set is 2 x the largest value; one process
// drops its gradients at the step's start (set_to_none).
//
// RUN: s2s-opt %s -split-input-file -s2s-plan-memory -verify-diagnostics | FileCheck %s

// No s2s.train and no s2s.parallel: fp32 on one rank.
// Parameters: pos 1x32 = 32, fc 16x32 + 32 = 544; 576 in all.
// The values: fc's result and the add's, 256 each. The forward's peak at
// the return: 512 values. The backward keeps nothing (fc saves x, the
// input; the add saves nothing) but the result (256) and its working set,
// 2 x 256: 768 values. One process frees its 576 gradient values first.
//   params      576 * 4                 =  2304
//   grads       576 * 4                 =  2304
//   optimizer   576 * 8                 =  4608   (two fp32 moments)
//   step        max(512, 768) * 4 - 2304 =  768
//   total                               =  9984
// CHECK-LABEL: func.func @net(
// CHECK-SAME:      attributes {s2s.memory = #s2s.memory_plan<params = 2304, grads = 2304, optimizer = 4608, step = 768, total = 9984>, s2s.model = "Net"}
// Functions that are not model forwards are not planned.
// CHECK-LABEL: func.func @helper(
// CHECK-NOT:   s2s.memory
// CHECK-LABEL: func.func @net__batch16(
// CHECK-SAME:      attributes {s2s.variant_of = @net} {
func.func @net(%x: tensor<8x16xf32>) -> tensor<8x32xf32> attributes {s2s.model = "Net"} {
  %p = s2s.param {name = "pos", init = #s2s.init<zeros>, init_args = array<f64>} : tensor<1x32xf32>
  %0 = s2s.linear %x {out = 32 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<8x32xf32>
  %1 = s2s.add %0, %p : tensor<8x32xf32>, tensor<1x32xf32> -> tensor<8x32xf32>
  return %1 : tensor<8x32xf32>
}
func.func @helper(%x: tensor<8x16xf32>) -> tensor<8x32xf32> {
  %0 = s2s.linear %x {out = 32 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<8x32xf32>
  return %0 : tensor<8x32xf32>
}
func.func @net__batch16(%x: tensor<16x16xf32>) -> tensor<16x32xf32> attributes {s2s.variant_of = @net} {
  %0 = s2s.linear %x {out = 32 : i64, bias = true, name = "fc"} : tensor<16x16xf32> -> tensor<16x32xf32>
  return %0 : tensor<16x32xf32>
}

// -----

// bf16 under zero3 on a mesh of data 4 x tensor 2: autocast keeps fp32
// parameters (the master weights), gradients and moments, sharded over the
// data axis per unit. The tensor axis splits nothing here: fc is a lone
// linear, not the first of a Megatron pair (Analysis/TensorRoles.h), so
// every tensor rank holds pos and fc whole (s2sc -o refuses such a mesh;
// the plan still says what it would cost). Per rank: pos ceil(32 / 4) = 8,
// fc ceil(544 / 4) = 136; 144 values. The linear's output is bf16 (512
// bytes), the add of it and the fp32 parameter fp32 (type promotion, 1024
// bytes): forward 1536, backward 1024 + 2 x 1024 = 3072 bytes, over the 4
// data ranks 384 and 768, each plus a bf16 copy of the 576 parameter
// values (1152 bytes): 1536 and 1920. In flight: the largest unit
// gathered, fc's 544 values = 2176 bytes, twice in the forward (the
// resident and the next), three times in the backward (two resident, one's
// gradient): 1536 + 4352 = 5888 and 1920 + 6528 = 8448. zero3 frees its
// 576 bytes of gradient shard first.
//   params      144 * 4             =   576
//   grads       144 * 4             =   576
//   optimizer   144 * 8             =  1152
//   step        8448 - 576          =  7872
//   total                           = 10176
// CHECK-LABEL: func.func @net(
// CHECK-SAME:      attributes {s2s.memory = #s2s.memory_plan<params = 576, grads = 576, optimizer = 1152, step = 7872, total = 10176>, s2s.model = "Net"}
func.func @net(%x: tensor<8x16xf32>) -> tensor<8x32xf32> attributes {s2s.model = "Net"} {
  %p = s2s.param {name = "pos", init = #s2s.init<zeros>, init_args = array<f64>} : tensor<1x32xf32>
  %0 = s2s.linear %x {out = 32 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<8x32xf32>
  %1 = s2s.add %0, %p : tensor<8x32xf32>, tensor<1x32xf32> -> tensor<8x32xf32>
  return %1 : tensor<8x32xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.parallel {axes = ["data", "tensor"], sizes = array<i64: 4, 2>, strategy = #s2s.strategy<zero3>, backend = #s2s.backend<auto>, checkpoint_activations = false}
s2s.train @net on @d {epochs = 1 : i64, batch = 8 : i64, precision = #s2s.precision<bf16>, seed = 0 : i64, grad_clip = 0.0 : f64, optimizer = #s2s.optimizer<kind = adamw, lr = 1.0e-3, momentum = 0.0, nesterov = false, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8, weight_decay = 0.01>, schedule = #s2s.schedule<kind = constant, every = 0, gamma = 0.1, warmup = 0, min_lr = 0.0>, checkpoint = #s2s.checkpoint<epochs = 1, steps = 0, dir = "ckpt", keep = 3>, metrics = []}

// -----

// fp16 under zero1; every axis but `tensor` counts as data (2 x 2 = 4):
// only the optimizer state is sharded. Forward and backward 1536 and 3072
// bytes as above, over 4 ranks 384 and 768, each with a 2-byte copy of all
// 576 parameters: 1536 and 1920. After the backward, the all-gather of the
// updated parameters: its input (the shard repeated) and output, 2 x 576
// values, 4608 bytes, the step's peak.
//   params      576 * 4             = 2304
//   grads       576 * 4             = 2304
//   optimizer   576 * 8 / 4         = 1152
//   step        max(1920, 4608)     = 4608
//   total                           = 10368
// CHECK-LABEL: func.func @net(
// CHECK-SAME:      attributes {s2s.memory = #s2s.memory_plan<params = 2304, grads = 2304, optimizer = 1152, step = 4608, total = 10368>, s2s.model = "Net"}
func.func @net(%x: tensor<8x16xf32>) -> tensor<8x32xf32> attributes {s2s.model = "Net"} {
  %p = s2s.param {name = "pos", init = #s2s.init<zeros>, init_args = array<f64>} : tensor<1x32xf32>
  %0 = s2s.linear %x {out = 32 : i64, bias = true, name = "fc"} : tensor<8x16xf32> -> tensor<8x32xf32>
  %1 = s2s.add %0, %p : tensor<8x32xf32>, tensor<1x32xf32> -> tensor<8x32xf32>
  return %1 : tensor<8x32xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.parallel {axes = ["data", "pipe"], sizes = array<i64: 2, 2>, strategy = #s2s.strategy<zero1>, backend = #s2s.backend<auto>, checkpoint_activations = false}
s2s.train @net on @d {epochs = 1 : i64, batch = 8 : i64, precision = #s2s.precision<fp16>, seed = 0 : i64, grad_clip = 0.0 : f64, optimizer = #s2s.optimizer<kind = adamw, lr = 1.0e-3, momentum = 0.0, nesterov = false, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8, weight_decay = 0.01>, schedule = #s2s.schedule<kind = constant, every = 0, gamma = 0.1, warmup = 0, min_lr = 0.0>, checkpoint = #s2s.checkpoint<epochs = 1, steps = 0, dir = "ckpt", keep = 3>, metrics = []}

// -----

// zero2, fp32, data 8: gradients and optimizer state sharded, parameters not.
// A conv2d: 4 * 3 * 3 * 3 + 4 = 112 parameters; its result 2x4x8x8 = 512
// values (the conv saves its input, the batch): forward 512, backward the
// result and 2 x 512 of working set, 1536 values, 768 bytes on each of 8
// ranks; below the all-gather after the backward, 2 x 112 values.
//   params      112 * 4             =  448
//   grads       112 * 4 / 8         =   56
//   optimizer   112 * 8 / 8         =  112
//   step        max(768, 896)       =  896
//   total                           = 1512
// CHECK-LABEL: func.func @conv(
// CHECK-SAME:      attributes {s2s.memory = #s2s.memory_plan<params = 448, grads = 56, optimizer = 112, step = 896, total = 1512>, s2s.model = "Conv"}
func.func @conv(%x: tensor<2x3x8x8xf32>) -> tensor<2x4x8x8xf32> attributes {s2s.model = "Conv"} {
  %0 = s2s.conv2d %x {out = 4 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "c"} : tensor<2x3x8x8xf32> -> tensor<2x4x8x8xf32>
  return %0 : tensor<2x4x8x8xf32>
}
s2s.parallel {axes = ["data"], sizes = array<i64: 8>, strategy = #s2s.strategy<zero2>, backend = #s2s.backend<auto>, checkpoint_activations = false}

// -----

// Parameter shapes not known yet (a dynamic channel count): a warning and no
// plan; the pass does not fail.
// CHECK-LABEL: func.func @dynamic(
// CHECK-SAME:      -> tensor<8x4xf32> attributes {s2s.model = "Net"} {
// expected-warning @+1 {{no memory plan for 'dynamic': its parameter shapes depend on sizes known only at run time (give the data set a 'grid')}}
func.func @dynamic(%x: tensor<8x?xf32>) -> tensor<8x4xf32> attributes {s2s.model = "Net"} {
  %0 = s2s.linear %x {out = 4 : i64, bias = true, name = "fc"} : tensor<8x?xf32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// zero3 with SGD over data 3: 112 values do not divide by 3, so each rank
// holds the padded flat shard, ceil(112 / 3) = 38 values (what the runtime
// allocates), and SGD keeps one momentum buffer. The backward's 6144 bytes
// over 3 ranks, 2048, with three gathered units of 114 values in flight
// (1368 bytes), less the 152 bytes of gradient shard zero3 frees first.
//   params      38 * 4              =  152
//   grads       38 * 4              =  152
//   optimizer   38 * 4              =  152
//   step        2048 + 1368 - 152   = 3264
//   total                           = 3720
// CHECK-LABEL: func.func @conv(
// CHECK-SAME:      attributes {s2s.memory = #s2s.memory_plan<params = 152, grads = 152, optimizer = 152, step = 3264, total = 3720>, s2s.model = "Conv"}
func.func @conv(%x: tensor<2x3x8x8xf32>) -> tensor<2x4x8x8xf32> attributes {s2s.model = "Conv"} {
  %0 = s2s.conv2d %x {out = 4 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "c"} : tensor<2x3x8x8xf32> -> tensor<2x4x8x8xf32>
  return %0 : tensor<2x4x8x8xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.parallel {axes = ["data"], sizes = array<i64: 3>, strategy = #s2s.strategy<zero3>, backend = #s2s.backend<auto>, checkpoint_activations = false}
s2s.train @conv on @d {epochs = 1 : i64, batch = 6 : i64, precision = #s2s.precision<fp32>, seed = 0 : i64, grad_clip = 0.0 : f64, optimizer = #s2s.optimizer<kind = sgd, lr = 1.0e-3, momentum = 0.9, nesterov = false, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8, weight_decay = 0.0>, schedule = #s2s.schedule<kind = constant, every = 0, gamma = 0.1, warmup = 0, min_lr = 0.0>, checkpoint = #s2s.checkpoint<epochs = 1, steps = 0, dir = "ckpt", keep = 3>, metrics = []}

// -----

// zero1 with SGD over data 3: the parameters and their gradients are views
// of one flat buffer padded to 3 * ceil(112 / 3) = 114 values (what the
// runtime allocates); the momentum buffer is this rank's 38 values. The
// backward's 6144 bytes over 3 ranks, 2048, above the all-gather's 912.
//   params      114 * 4             =  456
//   grads       114 * 4             =  456
//   optimizer   38 * 4              =  152
//   step        max(2048, 912)      = 2048
//   total                           = 3112
// CHECK-LABEL: func.func @conv(
// CHECK-SAME:      attributes {s2s.memory = #s2s.memory_plan<params = 456, grads = 456, optimizer = 152, step = 2048, total = 3112>, s2s.model = "Conv"}
func.func @conv(%x: tensor<2x3x8x8xf32>) -> tensor<2x4x8x8xf32> attributes {s2s.model = "Conv"} {
  %0 = s2s.conv2d %x {out = 4 : i64, kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, pad_mode = #s2s.pad_mode<zeros>, bias = true, name = "c"} : tensor<2x3x8x8xf32> -> tensor<2x4x8x8xf32>
  return %0 : tensor<2x4x8x8xf32>
}
s2s.data @d {channels = ["u"], history = 1 : i64, source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "fields", address = "", name = "">, memory = #s2s.memory<mode = eager, shared = false, prefetch = 2, buffer = 0, refresh = 0.25>}
s2s.parallel {axes = ["data"], sizes = array<i64: 3>, strategy = #s2s.strategy<zero1>, backend = #s2s.backend<auto>, checkpoint_activations = false}
s2s.train @conv on @d {epochs = 1 : i64, batch = 6 : i64, precision = #s2s.precision<fp32>, seed = 0 : i64, grad_clip = 0.0 : f64, optimizer = #s2s.optimizer<kind = sgd, lr = 1.0e-3, momentum = 0.9, nesterov = false, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8, weight_decay = 0.0>, schedule = #s2s.schedule<kind = constant, every = 0, gamma = 0.1, warmup = 0, min_lr = 0.0>, checkpoint = #s2s.checkpoint<epochs = 1, steps = 0, dir = "ckpt", keep = 3>, metrics = []}
