// RUN: proteus-opt %s --convert-proteus-to-gpu | FileCheck %s
// Attention ops become launches of specialized kernels: static budgets are
// constants of the kernel, dynamic ones stay arguments; without a tile the
// kernel takes its default one (recorded with the specialization).

// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @shortlist
// CHECK: gpu.launch_func @proteus_kernels::@proteus_fill_zero_bf16
// CHECK: gpu.launch_func @proteus_kernels::@proteus_shortlist_attention_bf16
// CHECK-LABEL: func.func @dense
// CHECK: gpu.launch_func @proteus_kernels::@proteus_dense_attention_f32
// CHECK: gpu.module @proteus_kernels
// CHECK: gpu.func @proteus_shortlist_attention_bf16({{.*}}) kernel attributes {known_block_size = array<i32: 128, 1, 1>, nvvm.maxnreg = 128 : i32, proteus.specialization = "proteus_shortlist_attention_bf16 d=16 stride=256 local=1 anchors=1 L=2048 window=512 local_cap=-1 anchor_cap=-1 tile=#proteus.tile<block_m = 4, block_n = 16, lanes = 2>"}
// CHECK: gpu.shuffle xor
// CHECK: gpu.func @proteus_fill_zero_bf16
// CHECK: gpu.func @proteus_dense_attention_f32({{.*}}) kernel attributes {known_block_size = array<i32: 128, 1, 1>, proteus.specialization = "proteus_dense_attention_f32 d=64 tile=#proteus.tile<block_n = 4, lanes = 8>"}
func.func @shortlist(%q: memref<?x?x16xbf16>, %pr: memref<?xi64>, %n: index, %lc: index,
                     %ac: index, %o: memref<?x?x16xbf16>) {
  %l = arith.constant 2048 : index
  %w = arith.constant 512 : index
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xbf16>, memref<?x?x16xbf16>, memref<?x?x16xbf16>)
      packed(%pr, %pr, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %w, %lc, %ac, %lc) outs(%o : memref<?x?x16xbf16>)
      {anchor_stride = 256 : i64, use_local, use_anchors}
  return
}

func.func @dense(%q: memref<?x?x64xf32>, %o: memref<?x?x64xf32>) {
  proteus.dense_attention ins(%q, %q, %q : memref<?x?x64xf32>, memref<?x?x64xf32>, memref<?x?x64xf32>)
      outs(%o : memref<?x?x64xf32>)
  return
}
