// RUN: proteus-opt %s --split-input-file --convert-proteus-to-gpu | FileCheck %s
// The rule form in bf16/f16 (head dim a multiple of 16, no INT8, no
// prototype piece): one warp per packed query as every shortlist kernel
// (ceil(N / 4) blocks of 4 warps), but where the 16 queries of a warp's group
// are consecutive tokens of one row, the group's first warp scores their
// local band on tensor cores and the other 15 return.

// CHECK-LABEL: func.func @band
// CHECK: %[[N:.*]] = arith.addi %{{.*}}, %c3 : index
// CHECK: %[[B:.*]] = arith.divsi %[[N]], %c4 : index
// CHECK: gpu.launch_func @proteus_kernels::@proteus_shortlist_attention_f16 blocks in (%[[B]], %{{.*}}, %{{.*}}) threads in (%c128
// CHECK-LABEL: gpu.func @proteus_shortlist_attention_f16
// CHECK-SAME: nvvm.maxnreg = 128 : i32
// The group's 16 queries: consecutive tokens of one row (an AND by shuffles).
// CHECK: arith.remsi %{{.*}}, %c16 : index
// CHECK: gpu.shuffle xor
// CHECK: scf.if
// The group's first warp: the anchors on CUDA cores, then the band,
// S = Q K^T and O += P V.
// CHECK: scf.if
// CHECK: scf.for
// CHECK: scf.for
// CHECK: nvvm.mma.sync {{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK: } else {
// One query per warp.
// CHECK: scf.for
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return
func.func @band(%q: memref<?x?x32xf16>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index,
                %l: index, %w: index, %lc: index, %ac: index, %pc: index,
                %o: memref<?x?x32xf16>) {
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x32xf16>, memref<?x?x32xf16>, memref<?x?x32xf16>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %w, %lc, %ac, %pc) outs(%o : memref<?x?x32xf16>)
      {anchor_stride = 32 : i64, use_local, use_anchors}
  return
}

// -----

// f32 has no band (tf32 would miss the 1e-4 tolerance).
// CHECK-LABEL: func.func @f32
// CHECK-LABEL: gpu.func @proteus_shortlist_attention_f32
// CHECK-NOT: nvvm.maxnreg
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return
func.func @f32(%q: memref<?x?x32xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index,
               %l: index, %w: index, %lc: index, %ac: index, %pc: index,
               %o: memref<?x?x32xf32>) {
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x32xf32>, memref<?x?x32xf32>, memref<?x?x32xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %w, %lc, %ac, %pc) outs(%o : memref<?x?x32xf32>)
      {anchor_stride = 32 : i64, use_local, use_anchors}
  return
}

// -----

// Nor has INT8, which quantizes each element as it loads it.
// CHECK-LABEL: func.func @int8
// CHECK-LABEL: gpu.func @proteus_shortlist_attention_bf16
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return
func.func @int8(%q: memref<?x?x32xbf16>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index,
                %l: index, %w: index, %lc: index, %ac: index, %pc: index,
                %o: memref<?x?x32xbf16>) {
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x32xbf16>, memref<?x?x32xbf16>, memref<?x?x32xbf16>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %w, %lc, %ac, %pc) outs(%o : memref<?x?x32xbf16>)
      {anchor_stride = 32 : i64, use_local, use_anchors, quantize = #proteus.int8_mode<max>}
  return
}
