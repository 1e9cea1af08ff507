// RUN: not proteus-opt %s --pass-pipeline='builtin.module(func.func(convert-proteus-to-scf))' 2>&1 | FileCheck %s
// The CPU path supports f32 only: other element types are reported, not miscompiled.

// CHECK: failed to legalize operation 'proteus.dense_attention'
func.func @bf16(%q: memref<?x?x16xbf16>) {
  proteus.dense_attention ins(%q, %q, %q : memref<?x?x16xbf16>, memref<?x?x16xbf16>, memref<?x?x16xbf16>)
      outs(%q : memref<?x?x16xbf16>)
  return
}
