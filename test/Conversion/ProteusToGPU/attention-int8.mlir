// RUN: proteus-opt %s --split-input-file --convert-proteus-to-gpu | FileCheck %s
// INT8 fake quantization (REFERENCE.md 6.4) in the primitive kernels: the
// per-row scales of q, k and v first (proteus_int8_scales_<t>, a block per
// (row, tensor), into device scratch of R * 3 f32), then the shortlist
// kernel, which takes the scales after `out` and quantizes as it loads.

// CHECK-LABEL: func.func @max
// CHECK: %[[R:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x?x16xf32>
// CHECK: %[[N3:.*]] = arith.muli %[[R]], %{{.*}} : index
// CHECK: %[[S:.*]] = gpu.alloc (%[[N3]]) : memref<?xf32>
// CHECK: gpu.launch_func @proteus_kernels::@proteus_int8_scales_f32 {{.*}} threads in (%{{.*}}, %{{.*}}, %{{.*}}) args(%{{.*}} : memref<?xf32>, %{{.*}} : memref<?xf32>, %{{.*}} : memref<?xf32>, %[[S]] : memref<?xf32>, %[[R]] : index, %{{.*}} : index)
// CHECK: gpu.launch_func @proteus_kernels::@proteus_shortlist_attention_f32 {{.*}} args({{.*}}, %{{.*}} : memref<?xf32>, %[[S]] : memref<?xf32>, %{{.*}} : index
// CHECK: gpu.dealloc %[[S]] : memref<?xf32>
// CHECK: gpu.func @proteus_shortlist_attention_f32({{.*}}) kernel attributes {{{.*}}proteus.specialization = "proteus_shortlist_attention_f32 d=16 stride=32 local=1 anchors=1 L=-1 window=-1 local_cap=-1 anchor_cap=-1 int8
// The quantization: clamp(x / s, +-127), rounded by the 1.5 * 2^23 trick.
// CHECK: arith.constant 1.270000e+02 : f32
// CHECK: arith.constant -1.270000e+02 : f32
// CHECK: arith.divf
// CHECK: arith.constant 0x4B400000 : f32
// Max mode: a max tree only (one workgroup buffer, no histogram).
// CHECK: gpu.func @proteus_int8_scales_f32(%{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: index, %{{.*}}: index) workgroup(%{{.*}} : memref<256xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel attributes {{{.*}}proteus.specialization = "int8_scales D=16 max"
func.func @max(%q: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index,
               %l: index, %w: index, %lc: index, %ac: index, %pc: index,
               %o: memref<?x?x16xf32>) {
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %w, %lc, %ac, %pc)
      outs(%o : memref<?x?x16xf32>)
      {anchor_stride = 32 : i64, use_local, use_anchors, quantize = #proteus.int8_mode<max>}
  return
}

// -----

// Percentile scales on bf16 inputs: torch.quantile's two order statistics by
// radix select (a 256-bin histogram in shared memory); loads widened to f32.
// CHECK-LABEL: func.func @percentile
// CHECK: gpu.launch_func @proteus_kernels::@proteus_int8_scales_bf16
// CHECK: gpu.launch_func @proteus_kernels::@proteus_shortlist_attention_listed_bf16
// CHECK: gpu.func @proteus_int8_scales_bf16(%{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xf32>, %{{.*}}: index, %{{.*}}: index) workgroup({{.*}}memref<256xi32, #gpu.address_space<workgroup>>{{.*}}) kernel attributes {{{.*}}proteus.specialization = "int8_scales D=32 percentile=0.99"
// CHECK: arith.extf %{{.*}} : bf16 to f32
func.func @percentile(%q: memref<?x?x32xbf16>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index,
                      %c: memref<?x?xi64>, %len: memref<?xi64>, %o: memref<?x?x32xbf16>) {
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x32xbf16>, memref<?x?x32xbf16>, memref<?x?x32xbf16>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
      candidates(%c, %len : memref<?x?xi64>, memref<?xi64>)
      outs(%o : memref<?x?x32xbf16>)
      {quantize = #proteus.int8_mode<percentile>, percentile = 0.99 : f64}
  return
}
