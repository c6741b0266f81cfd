// RUN: s2s-opt %s --s2s-to-emitc="main=false" | FileCheck %s
// RUN: s2s-opt %s --s2s-to-emitc="main=false" | mlir-translate --mlir-to-cpp | FileCheck %s --check-prefix=CPP
// Each op becomes a call of its runtime kernel; attributes become literal
// C++ arguments in the order the op declares them, the dialect's enums as
// the runtime's C++ enums; the model comes first. Each model gets its
// parameter manifest; a batch clone whose C++ is its model's forwards to
// it; the sections become configure().

// CHECK: emitc.include "s2s/runtime/Runtime.h"

// The manifest: every learnable tensor with its shape, initialiser and
// sharding, in op order.
// CHECK: emitc.func @f_parameters(%[[MF:.*]]: !emitc.opaque<"s2s::rt::Manifest&">)
// CHECK-NEXT: call_opaque "s2s::rt::declare"(%[[MF]]) {args = [0 : index, #emitc.opaque<"\22fc.weight\22">, #emitc.opaque<"{32, 64}">, #emitc.opaque<"s2s::rt::Init{s2s::rt::InitKind::FanIn, 32.0, 0.0}">, #emitc.opaque<"s2s::rt::Sharding{s2s::rt::StateLayout::Replicated, s2s::rt::StateLayout::Replicated, s2s::rt::StateLayout::Replicated, s2s::rt::TensorLayout::Replicated, \22fc\22}">]}
// CHECK-NEXT: call_opaque "s2s::rt::declare"(%[[MF]]) {args = [0 : index, #emitc.opaque<"\22fc.bias\22">, #emitc.opaque<"{64}">, #emitc.opaque<"s2s::rt::Init{s2s::rt::InitKind::FanIn, 32.0, 0.0}">, #emitc.opaque<"s2s::rt::Sharding{s2s::rt::StateLayout::Replicated, s2s::rt::StateLayout::Replicated, s2s::rt::StateLayout::Replicated, s2s::rt::TensorLayout::Replicated, \22fc\22}">]}
// CHECK-NEXT: call_opaque "s2s::rt::declare"(%[[MF]]) {args = [0 : index, #emitc.opaque<"\22norm.weight\22">, #emitc.opaque<"{64}">, #emitc.opaque<"s2s::rt::Init{s2s::rt::InitKind::Ones, 0.0, 0.0}">, #emitc.opaque<"s2s::rt::Sharding{s2s::rt::StateLayout::Sharded, s2s::rt::StateLayout::Sharded, s2s::rt::StateLayout::Sharded, s2s::rt::TensorLayout::Replicated, \22norm\22}">]}
// CHECK-NEXT: call_opaque "s2s::rt::declare"(%[[MF]]) {args = [0 : index, #emitc.opaque<"\22norm.bias\22">, #emitc.opaque<"{64}">, #emitc.opaque<"s2s::rt::Init{s2s::rt::InitKind::Zeros, 0.0, 0.0}">
// CHECK-NEXT: call_opaque "s2s::rt::declare"(%[[MF]]) {args = [0 : index, #emitc.opaque<"\22pos\22">, #emitc.opaque<"{1, 16, 64}">, #emitc.opaque<"s2s::rt::Init{s2s::rt::InitKind::TruncNormal, 0.02, 0.0}">
// CHECK-NEXT: return

// CHECK: emitc.func @f(%[[M:.*]]: !emitc.opaque<"s2s::rt::Model&">, %[[X:.*]]: !emitc.opaque<"torch::Tensor">) -> !emitc.opaque<"torch::Tensor">
func.func @f(%x: tensor<8x16x32xf32>) -> tensor<8x16x64xf32> attributes {s2s.model = "F"} {
  // CHECK: %[[L:.*]] = call_opaque "s2s::rt::linear"(%[[M]], %[[X]]) {args = [0 : index, #emitc.opaque<"\22fc\22">, 1 : index, #emitc.opaque<"64">, #emitc.opaque<"true">, #emitc.opaque<"s2s::rt::Activation::Gelu">]}
  %0 = s2s.linear %x {out = 64 : i64, bias = true, name = "fc", activation = #s2s<activation gelu>} : tensor<8x16x32xf32> -> tensor<8x16x64xf32>
  // CHECK: %[[N:.*]] = call_opaque "s2s::rt::layer_norm"(%[[M]], %[[L]]) {args = [0 : index, #emitc.opaque<"\22norm\22">, 1 : index, #emitc.opaque<"1e-05">]}
  %1 = s2s.layer_norm %0 {eps = 1.0e-05 : f64, name = "norm", s2s.sharding = #s2s.sharding<params = sharded, grads = sharded, optimizer = sharded, tensor = replicated>} : tensor<8x16x64xf32> -> tensor<8x16x64xf32>
  // A reshape that keeps the forward's batch takes it at run time.
  // CHECK: %[[R:.*]] = call_opaque "s2s::rt::reshape_keep_batch"(%[[N]]) {args = [0 : index, #emitc.opaque<"{-1, 4, 4, 64}">]}
  %2 = s2s.reshape %1 {shape = array<i64: 8, 4, 4, 64>} : tensor<8x16x64xf32> -> tensor<8x4x4x64xf32>
  // CHECK: call_opaque "s2s::rt::permute"(%[[R]]) {args = [0 : index, #emitc.opaque<"{0, 3, 1, 2}">]}
  %3 = s2s.permute %2 {dims = array<i64: 0, 3, 1, 2>} : tensor<8x4x4x64xf32> -> tensor<8x64x4x4xf32>
  // A reshape that changes the batch keeps its literal shape.
  // CHECK: call_opaque "s2s::rt::reshape"(%{{.*}}) {args = [0 : index, #emitc.opaque<"{4, 2, 16, 64}">]}
  %4 = s2s.reshape %1 {shape = array<i64: 4, 2, 16, 64>} : tensor<8x16x64xf32> -> tensor<4x2x16x64xf32>
  // CHECK: call_opaque "s2s::rt::concat_n"(%[[N]], %[[N]]) {args = [#emitc.opaque<"1">, 0 : index, 1 : index]}
  %5 = s2s.concat %1, %1 {dim = 1 : i64} : tensor<8x16x64xf32>, tensor<8x16x64xf32> -> tensor<8x32x64xf32>
  // A param is looked up by path; the manifest has its initialiser.
  // CHECK: call_opaque "s2s::rt::param"(%[[M]]) {args = [0 : index, #emitc.opaque<"\22pos\22">, #emitc.opaque<"{1, 16, 64}">]}
  %6 = s2s.param {name = "pos", init = #s2s.init<trunc_normal>, init_args = array<f64: 0.02>} : tensor<1x16x64xf32>
  // CHECK: call_opaque "s2s::rt::constant"(%[[M]]) {args = [0 : index, #emitc.opaque<"0.5">]}
  %7 = s2s.constant 5.000000e-01 : tensor<f32>
  %8 = s2s.mul %1, %7 : tensor<8x16x64xf32>, tensor<f32> -> tensor<8x16x64xf32>
  // CHECK: call_opaque "s2s::rt::pad"(%{{.*}}) {args = [0 : index, #emitc.opaque<"{1, 1}">, #emitc.opaque<"s2s::rt::PadMode::Circular">]}
  %9 = s2s.pad %1 {pad = array<i64: 1, 1>, mode = #s2s.pad_mode<circular>} : tensor<8x16x64xf32> -> tensor<8x16x66xf32>
  // CHECK: call_opaque "s2s::rt::loss"(%[[M]], %[[L]], %[[L]]) {args = [0 : index, #emitc.opaque<"s2s::rt::LossKind::Huber">, 1 : index, 2 : index, #emitc.opaque<"s2s::rt::Weighting::Latitude">, #emitc.opaque<"0.25">]}
  %10 = s2s.loss huber %0, %0 {delta = 0.25 : f64, weight = #s2s.weighting<latitude>} : tensor<8x16x64xf32>, tensor<8x16x64xf32> -> tensor<f32>
  // CHECK: return
  return %0 : tensor<8x16x64xf32>
}

// A clone for batch 16 whose calls are f's forwards to f.
// CHECK: emitc.func @f__batch16(%[[M3:.*]]: !emitc.opaque<"s2s::rt::Model&">, %[[X3:.*]]: !emitc.opaque<"torch::Tensor">)
// CHECK-NEXT: %[[C3:.*]] = call @f(%[[M3]], %[[X3]])
// CHECK-NEXT: return %[[C3]]
func.func @f__batch16(%x: tensor<16x16x32xf32>) -> tensor<16x16x64xf32> attributes {s2s.variant_of = @f} {
  %0 = s2s.linear %x {out = 64 : i64, bias = true, name = "fc", activation = #s2s<activation gelu>} : tensor<16x16x32xf32> -> tensor<16x16x64xf32>
  %1 = s2s.layer_norm %0 {eps = 1.0e-05 : f64, name = "norm", s2s.sharding = #s2s.sharding<params = sharded, grads = sharded, optimizer = sharded, tensor = replicated>} : tensor<16x16x64xf32> -> tensor<16x16x64xf32>
  %2 = s2s.reshape %1 {shape = array<i64: 16, 4, 4, 64>} : tensor<16x16x64xf32> -> tensor<16x4x4x64xf32>
  %3 = s2s.permute %2 {dims = array<i64: 0, 3, 1, 2>} : tensor<16x4x4x64xf32> -> tensor<16x64x4x4xf32>
  %4 = s2s.reshape %1 {shape = array<i64: 4, 2, 16, 64>} : tensor<16x16x64xf32> -> tensor<4x2x16x64xf32>
  %5 = s2s.concat %1, %1 {dim = 1 : i64} : tensor<16x16x64xf32>, tensor<16x16x64xf32> -> tensor<16x32x64xf32>
  %6 = s2s.param {name = "pos", init = #s2s.init<trunc_normal>, init_args = array<f64: 0.02>} : tensor<1x16x64xf32>
  %7 = s2s.constant 5.000000e-01 : tensor<f32>
  %8 = s2s.mul %1, %7 : tensor<16x16x64xf32>, tensor<f32> -> tensor<16x16x64xf32>
  %9 = s2s.pad %1 {pad = array<i64: 1, 1>, mode = #s2s.pad_mode<circular>} : tensor<16x16x64xf32> -> tensor<16x16x66xf32>
  %10 = s2s.loss huber %0, %0 {delta = 0.25 : f64, weight = #s2s.weighting<latitude>} : tensor<16x16x64xf32>, tensor<16x16x64xf32> -> tensor<f32>
  return %0 : tensor<16x16x64xf32>
}

// A clone whose C++ differs (a reshape that is not the batch's) keeps its
// body.
// CHECK: emitc.func @f__batch4(
// CHECK-NEXT: call_opaque "s2s::rt::reshape"(%{{.*}}) {args = [0 : index, #emitc.opaque<"{2, 2, 16, 32}">]}
func.func @f__batch4(%x: tensor<4x16x32xf32>) -> tensor<2x2x16x32xf32> attributes {s2s.variant_of = @f} {
  %0 = s2s.reshape %x {shape = array<i64: 2, 2, 16, 32>} : tensor<4x16x32xf32> -> tensor<2x2x16x32xf32>
  return %0 : tensor<2x2x16x32xf32>
}

// Calls between functions pass the model along.
// CHECK: emitc.func @g(%[[M2:.*]]: !emitc.opaque<"s2s::rt::Model&">, %[[X2:.*]]: !emitc.opaque<"torch::Tensor">)
// CHECK: call @f(%[[M2]], %[[X2]])
func.func @g(%x: tensor<8x16x32xf32>) -> tensor<8x16x64xf32> {
  %0 = call @f(%x) : (tensor<8x16x32xf32>) -> tensor<8x16x64xf32>
  return %0 : tensor<8x16x64xf32>
}

// The sections: one assignment per value to the runtime's typed Spec.
s2s.data @d {channels = ["u", "v"], grid = array<i64: 16, 32>, step = 3600 : i64, history = 1 : i64,
             source = #s2s.source<kind = hdf5, pattern = "d/*.h5", field = "x", address = "", name = "">,
             split = #s2s.split<train = [2000, 2007], valid = [2008, 2008], test = [0, -1]>,
             normalize = #s2s.normalize<kind = minmax, stats = "d/stats.h5">,
             memory = #s2s.memory<mode = stream, shared = false, prefetch = 3, buffer = 64, refresh = 0.5>}
s2s.rollout @f on @d {order = 2 : i64, loss = #s2s.loss<kind = huber, weight = uniform, delta = 0.5>}
s2s.parallel {axes = ["data"], sizes = array<i64: 1>, strategy = #s2s.strategy<zero2>, backend = #s2s.backend<gloo>, checkpoint_activations = false}
s2s.train @f on @d {epochs = 3 : i64, batch = 4 : i64, precision = #s2s.precision<fp32>, seed = 5 : i64, grad_clip = 2.0 : f64,
                    optimizer = #s2s.optimizer<kind = sgd, lr = 0.1, momentum = 0.9, nesterov = true, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8, weight_decay = 1.0e-4>,
                    schedule = #s2s.schedule<kind = step, every = 10, gamma = 0.5, warmup = 100, min_lr = 0.0>,
                    checkpoint = #s2s.checkpoint<epochs = 2, steps = 50, dir = "ck", keep = 4>,
                    metrics = [#s2s.metric<kind = acc, weight = uniform>]}

// CPP-LABEL: s2s::rt::Spec configure() {
// CPP-NEXT:   s2s::rt::Spec [[S:v[0-9]+]];
// CPP-NEXT:   [[S]].name = "s2s_program";
// CPP-NEXT:   [[S]].specFile = "";
// CPP-NEXT:   [[S]].data.name = "d";
// CPP-NEXT:   [[S]].data.channels = {"u", "v"};
// CPP-NEXT:   [[S]].data.grid = {16, 32};
// CPP-NEXT:   [[S]].data.stepSeconds = 3600;
// CPP-NEXT:   [[S]].data.history = 1;
// CPP-NEXT:   [[S]].data.pattern = "d/*.h5";
// CPP-NEXT:   [[S]].data.field = "x";
// CPP-NEXT:   [[S]].data.train = s2s::rt::YearRange{2000, 2007};
// CPP-NEXT:   [[S]].data.valid = s2s::rt::YearRange{2008, 2008};
// CPP-NEXT:   [[S]].data.test = s2s::rt::YearRange{0, -1};
// CPP-NEXT:   [[S]].data.normalize = s2s::rt::Normalizer::Minmax;
// CPP-NEXT:   [[S]].data.stats = "d/stats.h5";
// CPP-NEXT:   [[S]].data.memory.mode = s2s::rt::MemoryMode::Stream;
// CPP-NEXT:   [[S]].data.memory.shared = false;
// CPP-NEXT:   [[S]].data.memory.prefetch = 3;
// CPP-NEXT:   [[S]].data.memory.buffer = 64;
// CPP-NEXT:   [[S]].data.memory.refresh = 0.5;
// CPP-NEXT:   [[S]].modelName = "f";
// CPP-NEXT:   [[S]].rollout.order = 2;
// CPP-NEXT:   [[S]].rollout.loss.kind = s2s::rt::LossKind::Huber;
// CPP-NEXT:   [[S]].rollout.loss.weight = s2s::rt::Weighting::Uniform;
// CPP-NEXT:   [[S]].rollout.loss.delta = 0.5;
// CPP-NEXT:   [[S]].rollout.leads = {};
// CPP-NEXT:   [[S]].parallel.axes = {"data"};
// CPP-NEXT:   [[S]].parallel.sizes = {1};
// CPP-NEXT:   [[S]].parallel.strategy = s2s::rt::StrategyKind::Zero2;
// CPP-NEXT:   [[S]].parallel.backend = s2s::rt::Backend::Gloo;
// CPP-NEXT:   [[S]].parallel.timeoutSeconds = 600;
// CPP-NEXT:   [[S]].train.epochs = 3;
// CPP-NEXT:   [[S]].train.batch = 4;
// CPP-NEXT:   [[S]].train.accumulate = 1;
// CPP-NEXT:   [[S]].train.precision = s2s::rt::Precision::Fp32;
// CPP-NEXT:   [[S]].train.seed = 5;
// CPP-NEXT:   [[S]].train.gradClip = 2.0;
// CPP-NEXT:   [[S]].train.optimizer.kind = s2s::rt::OptimizerKind::Sgd;
// CPP-NEXT:   [[S]].train.optimizer.lr = 0.1;
// CPP-NEXT:   [[S]].train.optimizer.momentum = 0.9;
// CPP-NEXT:   [[S]].train.optimizer.nesterov = true;
// CPP-NEXT:   [[S]].train.optimizer.beta1 = 0.9;
// CPP-NEXT:   [[S]].train.optimizer.beta2 = 0.999;
// CPP-NEXT:   [[S]].train.optimizer.eps = 1e-08;
// CPP-NEXT:   [[S]].train.optimizer.weightDecay = 0.0001;
// CPP-NEXT:   [[S]].train.schedule.kind = s2s::rt::ScheduleKind::Step;
// CPP-NEXT:   [[S]].train.schedule.every = 10;
// CPP-NEXT:   [[S]].train.schedule.gamma = 0.5;
// CPP-NEXT:   [[S]].train.schedule.warmup = 100;
// CPP-NEXT:   [[S]].train.schedule.minLr = 0.0;
// CPP-NEXT:   [[S]].train.checkpoint.everyEpochs = 2;
// CPP-NEXT:   [[S]].train.checkpoint.everySteps = 50;
// CPP-NEXT:   [[S]].train.checkpoint.dir = "ck";
// CPP-NEXT:   [[S]].train.checkpoint.keep = 4;
// CPP-NEXT:   [[S]].train.metrics = {s2s::rt::MetricConfig{s2s::rt::MetricKind::Acc, s2s::rt::Weighting::Uniform}};
// CPP:        return
