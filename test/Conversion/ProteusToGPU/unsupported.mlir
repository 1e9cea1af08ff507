// RUN: not proteus-opt %s --split-input-file --convert-proteus-to-gpu 2>&1 | FileCheck %s
// Attention ops without a GPU kernel are reported with the reason, not
// miscompiled.

// CHECK: error: 'proteus.dense_attention' op has no GPU kernel: the GPU kernels need a static head dim dividing 32 or a multiple of 32
func.func @odd(%q: memref<?x?x24xf32>) {
  proteus.dense_attention ins(%q, %q, %q : memref<?x?x24xf32>, memref<?x?x24xf32>, memref<?x?x24xf32>)
      outs(%q : memref<?x?x24xf32>)
  return
}

// -----

// The prototype piece keeps each query's list in shared memory: it needs a
// bound on L.
// CHECK: error: 'proteus.shortlist_attention' op has no GPU kernel: the prototype candidate piece on the GPU needs a bound on L (a constant effective L or the op's proteus.max_l)
func.func @unbounded(%q: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>,
                     %n: index, %s: memref<?x?xf32>) {
  %c8 = arith.constant 8 : index
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%n, %c8, %n, %n, %n) scores(%s : memref<?x?xf32>)
      outs(%q : memref<?x?x16xf32>) {use_local, use_proto}
  return
}

// -----

// CHECK: error: 'proteus.shortlist_attention' op has no GPU kernel: the prototype candidate piece on the GPU keeps each query's list in shared memory, so L must be at most 1407, got 2048
func.func @too_long(%q: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>,
                    %n: index, %s: memref<?x?xf32>) {
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%n, %n, %n, %n, %n) scores(%s : memref<?x?xf32>)
      outs(%q : memref<?x?x16xf32>) {use_local, use_proto, proteus.max_l = 2048 : i64}
  return
}

// -----

// One kernel module has one INT8 scales kernel per element type: two scale
// rules on f32 cannot share it, nor two head dims.
// CHECK: error: 'proteus.shortlist_attention' op has no GPU kernel: its INT8 scales (int8_scales D=16 percentile=0.9) differ from those of another op on 'f32' (int8_scales D=16 max), and a kernel module has one proteus_int8_scales kernel per element type
// CHECK: note: the other op
func.func @int8_rules(%q: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index) {
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%n, %n, %n, %n, %n)
      outs(%q : memref<?x?x16xf32>) {use_local, quantize = #proteus.int8_mode<max>}
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%n, %n, %n, %n, %n)
      outs(%q : memref<?x?x16xf32>) {use_local, quantize = #proteus.int8_mode<percentile>, percentile = 0.9 : f64}
  return
}

// -----

// CHECK: error: 'proteus.shortlist_attention' op has no GPU kernel: its INT8 scales (int8_scales D=32 max) differ from those of another op on 'f32' (int8_scales D=16 max), and a kernel module has one proteus_int8_scales kernel per element type
// CHECK: note: the other op
func.func @int8_head_dims(%q: memref<?x?x16xf32>, %q32: memref<?x?x32xf32>, %pr: memref<?xi64>,
                          %pt: memref<?xi64>, %n: index) {
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%n, %n, %n, %n, %n)
      outs(%q : memref<?x?x16xf32>) {use_local, quantize = #proteus.int8_mode<max>}
  proteus.shortlist_attention ins(%q32, %q32, %q32 : memref<?x?x32xf32>, memref<?x?x32xf32>, memref<?x?x32xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%n, %n, %n, %n, %n)
      outs(%q32 : memref<?x?x32xf32>) {use_local, quantize = #proteus.int8_mode<max>}
  return
}
