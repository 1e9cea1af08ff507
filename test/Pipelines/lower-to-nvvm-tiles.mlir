// RUN: proteus-opt %s --proteus-lower-to-nvvm | FileCheck %s
// Tiles with vector loads reach the PTX as 16-byte loads and stores (each
// kernel also keeps a scalar copy for unaligned buffers); the shared memory
// of the tensor-core kernel is 16-byte aligned. (ptxas checks every tile the
// autotuner generates: test/Tools/proteus-tune/generate.test.)

// CHECK: gpu.binary @proteus_kernels
// CHECK-SAME: .visible .entry proteus_shortlist_attention_bf16
// CHECK-SAME: ld.global.v4.b32
// CHECK-SAME: .visible .entry proteus_dense_attention_f16
// CHECK-SAME: .shared .align 16 .b8 __wg_proteus_dense_attention_f16_0
// CHECK-SAME: ld.global.v4.b32
// CHECK-SAME: st.shared.v4.b32
// CHECK-SAME: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
func.func @tiles(%q: memref<?x?x16xbf16>, %pr: memref<?xi64>, %n: index, %lc: index,
                 %ac: index, %o: memref<?x?x16xbf16>, %d: memref<?x?x64xf16>) {
  %l = arith.constant 2048 : index
  %w = arith.constant 512 : index
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xbf16>, memref<?x?x16xbf16>, memref<?x?x16xbf16>)
      packed(%pr, %pr, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %w, %lc, %ac, %lc) outs(%o : memref<?x?x16xbf16>)
      {anchor_stride = 256 : i64, use_local, use_anchors,
       tile = #proteus.tile<block_m = 4, block_n = 16, lanes = 2, vector = 8>}
  proteus.dense_attention ins(%d, %d, %d : memref<?x?x64xf16>, memref<?x?x64xf16>, memref<?x?x64xf16>)
      outs(%d : memref<?x?x64xf16>)
      {tile = #proteus.tile<block_n = 64, stages = 2, vector = 8, pad = 8>}
  return
}
