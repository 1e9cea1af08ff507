// RUN: not proteus-opt %s --convert-proteus-to-gpu 2>&1 | FileCheck %s
// A head dim the warp layout cannot split is reported, not miscompiled.

// CHECK: failed to legalize operation 'proteus.dense_attention'
func.func @odd(%q: memref<?x?x24xf32>) {
  proteus.dense_attention ins(%q, %q, %q : memref<?x?x24xf32>, memref<?x?x24xf32>, memref<?x?x24xf32>)
      outs(%q : memref<?x?x24xf32>)
  return
}
