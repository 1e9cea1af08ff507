// RUN: proteus-opt %s --proteus-lower-to-cpu="alpha=1.0" | FileCheck %s
// The whole CPU pipeline ends in the LLVM dialect with the C interface.

// CHECK-LABEL: llvm.func @layer
// CHECK-NOT: proteus.
// CHECK: llvm.func @_mlir_ciface_layer
func.func @layer(%x: memref<?x?x64xf32>, %wqkv: memref<192x64xf32>, %wproj: memref<64x64xf32>,
                 %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>,
                 %mask: memref<?x?xi8>, %imp: memref<?x?xf32>, %stats: memref<16xi64>)
    attributes {llvm.emit_c_interface} {
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<?x?x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>,
           memref<16xi64>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, h_active_max = 4>}
  return
}
