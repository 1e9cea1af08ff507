// RUN: proteus-opt %s --convert-proteus-to-gpu | FileCheck %s
// An op's #proteus.tile lays its kernel out (AttentionTiles.cpp) and is part
// of the kernel's specialization; vector loads come with a scalar copy of the
// body for buffers not aligned for them.

// Warp per query: one lane per candidate, two candidates per lane and step,
// 16-byte loads of a lane's 16 contiguous dims.
// CHECK-LABEL: gpu.func @proteus_shortlist_attention_bf16
// CHECK-SAME: proteus.specialization = "proteus_shortlist_attention_bf16 d=16 stride=256 local=1 anchors=1 L=2048 window=512 local_cap=-1 anchor_cap=-1 tile=#proteus.tile<block_m = 4, unroll = 2, vector = 8>"
// CHECK: memref.extract_aligned_pointer_as_index
// CHECK: scf.if
// CHECK: vector.load {{.*}} {alignment = 16 : i64} : memref<?xbf16>, vector<8xbf16>
// CHECK: scf.for {{.*}} step %c64
// CHECK-COUNT-4: vector.load {{.*}}[{{.*}}] {alignment = 16 : i64} : memref<?xbf16>, vector<8xbf16>
// CHECK: } else {
// CHECK-NOT: vector.load
// CHECK: gpu.return

// Dense on tensor cores: 32 keys per stage, two stages (one barrier per key
// tile), 16-byte staging loads, 16-byte aligned shared memory.
// CHECK-LABEL: gpu.func @proteus_dense_attention_bf16
// CHECK-SAME: workgroup(%{{.*}} : memref<4608xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4608xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: proteus.specialization = "proteus_dense_attention_bf16 d=64 mma=m16n8k16 tile=#proteus.tile<block_n = 32, stages = 2, vector = 8, pad = 8>"
// CHECK: scf.if
// CHECK: vector.load {{.*}} {alignment = 16 : i64} : memref<?xbf16>, vector<8xbf16>
// CHECK: vector.store {{.*}} {alignment = 16 : i64} : memref<4608xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK: vector.load {{.*}} {alignment = 4 : i64} : memref<4608xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK: nvvm.mma.sync
// CHECK: vector.store {{.*}} : memref<4608xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK-NEXT: vector.store
// CHECK: gpu.barrier
// CHECK-NEXT: scf.yield

// Dense f32 on CUDA cores: a warp per query, 4 lanes per candidate.
// CHECK-LABEL: gpu.func @proteus_dense_attention_f32
// CHECK-SAME: proteus.specialization = "proteus_dense_attention_f32 d=64 tile=#proteus.tile<block_n = 16, lanes = 4, unroll = 2>"
// CHECK-COUNT-3: gpu.shuffle xor
func.func @tiles(%q: memref<?x?x16xbf16>, %pr: memref<?xi64>, %n: index, %lc: index,
                 %ac: index, %o: memref<?x?x16xbf16>, %d: memref<?x?x64xbf16>,
                 %f: memref<?x?x64xf32>) {
  %l = arith.constant 2048 : index
  %w = arith.constant 512 : index
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xbf16>, memref<?x?x16xbf16>, memref<?x?x16xbf16>)
      packed(%pr, %pr, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %w, %lc, %ac, %lc) outs(%o : memref<?x?x16xbf16>)
      {anchor_stride = 256 : i64, use_local, use_anchors,
       tile = #proteus.tile<block_m = 4, block_n = 64, lanes = 1, unroll = 2, vector = 8>}
  proteus.dense_attention ins(%d, %d, %d : memref<?x?x64xbf16>, memref<?x?x64xbf16>, memref<?x?x64xbf16>)
      outs(%d : memref<?x?x64xbf16>)
      {tile = #proteus.tile<block_n = 32, stages = 2, vector = 8, pad = 8>}
  proteus.dense_attention ins(%f, %f, %f : memref<?x?x64xf32>, memref<?x?x64xf32>, memref<?x?x64xf32>)
      outs(%f : memref<?x?x64xf32>)
      {tile = #proteus.tile<block_n = 16, lanes = 4, unroll = 2>}
  return
}
