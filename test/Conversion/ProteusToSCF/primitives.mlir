// RUN: proteus-opt %s --pass-pipeline='builtin.module(func.func(convert-proteus-to-scf))' | FileCheck %s
// The primitives become scalar loops; no proteus op survives.

// CHECK-LABEL: func.func @attention
// CHECK-NOT: proteus.
// CHECK: scf.for
// CHECK: math.exp
// CHECK: scf.while
func.func @attention(%q: memref<?x?x16xf32>, %pr: memref<?xi64>, %n: index, %l: index,
                     %o: memref<?x?x16xf32>) {
  proteus.dense_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      outs(%o : memref<?x?x16xf32>)
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pr, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %l, %l, %l, %l) outs(%o : memref<?x?x16xf32>) {anchor_stride = 256 : i64, use_local, use_anchors}
  return
}

