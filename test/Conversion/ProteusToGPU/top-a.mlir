// RUN: proteus-opt %s --convert-proteus-to-gpu | FileCheck %s
// RUN: proteus-opt %s -proteus-lower-to-nvvm | FileCheck %s --check-prefix=PTX
// proteus.top_a becomes the launch schedule of contract.h's kTopAStages:
// max, hist and gather over tiles of 1024 tokens (one thread per token, only
// from V = 8192 on), select (one block of 1024 threads per row), agree (128
// blocks of 1024 per row, one per nucleus token; not in mode off) and the
// mode's own kernel. The stages shared by the modes are built once per element
// type. Reductions and scans are warp shuffles (64-bit values as two 32-bit
// halves) and one exchange of the warps' results in shared memory.

// CHECK-LABEL: func.func @blend_bf16
// CHECK: %[[V:.*]] = memref.dim %arg0, %c1{{.*}} : memref<?x?xbf16>
// CHECK: %[[MULTI:.*]] = arith.cmpi sge, %[[V]], %c8192
// CHECK: scf.if %[[MULTI]]
// CHECK: %[[TILES:.*]] = arith.divsi %{{.*}}, %c1024
// CHECK: %[[B:.*]] = memref.dim %arg0, %c0{{.*}} : memref<?x?xbf16>
// CHECK: %[[GRID:.*]] = arith.muli %[[B]], %[[TILES]]
// CHECK: gpu.launch_func  @proteus_kernels::@proteus_top_a_max_bf16 blocks in (%[[GRID]], %{{.*}}, %{{.*}}) threads in (%c1024
// CHECK: scf.if
// CHECK: gpu.launch_func  @proteus_kernels::@proteus_top_a_hist_bf16
// CHECK: scf.if
// CHECK: gpu.launch_func  @proteus_kernels::@proteus_top_a_gather_bf16
// CHECK: gpu.launch_func  @proteus_kernels::@proteus_top_a_select_bf16 {{.*}} threads in (%c1024
// CHECK: arith.muli %{{.*}}, %c128
// CHECK: gpu.launch_func  @proteus_kernels::@proteus_top_a_agree_bf16 {{.*}} threads in (%c1024
// CHECK: gpu.launch_func  @proteus_kernels::@proteus_top_a_blend_bf16 {{.*}} threads in (%c1024
// CHECK-LABEL: func.func @off_f32
// CHECK: gpu.launch_func  @proteus_kernels::@proteus_top_a_max_f32
// CHECK: gpu.launch_func  @proteus_kernels::@proteus_top_a_hist_f32
// CHECK: gpu.launch_func  @proteus_kernels::@proteus_top_a_gather_f32
// CHECK: gpu.launch_func  @proteus_kernels::@proteus_top_a_select_f32
// CHECK-NOT: agree
// CHECK: gpu.launch_func  @proteus_kernels::@proteus_top_a_off_f32

// CHECK-LABEL: gpu.module @proteus_kernels
// The max stage: a tile's maximum, block-wide: a butterfly of shuffles in each
// warp, the warps' results through shared memory, a butterfly over those.
// CHECK: gpu.func @proteus_top_a_max_bf16(%{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xf32>, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: memref<?xi64>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xi64>, %{{.*}}: memref<?xi64>, %{{.*}}: index, %{{.*}}: index)
// CHECK-SAME: workgroup({{.*}}memref<32xf64, #gpu.address_space<workgroup>>
// CHECK-SAME: known_block_size = array<i32: 1024, 1, 1>
// CHECK: gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32 : i32
// CHECK: arith.maximumf {{.*}} : f64
// CHECK: gpu.barrier
// CHECK: arith.bitcast {{.*}} : f64 to i64
// The hist stage: binary32 masses in shared-memory bins (bin 0 left out),
// then the row's in global memory; no counts.
// CHECK: gpu.func @proteus_top_a_hist_bf16
// CHECK-SAME: memref<256xf32, #gpu.address_space<workgroup>>
// CHECK: arith.shrui %{{.*}}, %c20
// CHECK: arith.cmpi sgt
// CHECK: memref.atomic_rmw addf {{.*}} (f32, memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK-NOT: memref.atomic_rmw addi
// CHECK: memref.atomic_rmw addf {{.*}} (f32, memref<?xf32>)
// The gather stage: a scan of the bins (shuffles up), then the candidates by a
// counter.
// CHECK: gpu.func @proteus_top_a_gather_bf16
// CHECK: gpu.shuffle  up
// CHECK: gpu.shuffle  idx
// CHECK: memref.atomic_rmw mins
// CHECK: memref.atomic_rmw addi {{.*}} (i64, memref<?xi64>)
// The select stage: one block per row, the candidate keys sorted.
// CHECK: gpu.func @proteus_top_a_select_bf16
// CHECK-SAME: memref<2048xi64, #gpu.address_space<workgroup>>
// CHECK-SAME: known_block_size = array<i32: 1024, 1, 1>
// CHECK-SAME: nvvm.minctasm = 1 : i32
// CHECK: arith.xori
// CHECK: arith.cmpi ult
// CHECK: gpu.func @proteus_top_a_agree_bf16
// CHECK: llvm.nvvm.sqrt
// CHECK: gpu.func @proteus_top_a_blend_bf16
// CHECK-SAME: memref<2048xi32, #gpu.address_space<workgroup>>{{.*}}memref<2048xf32, #gpu.address_space<workgroup>>
// CHECK: memref.atomic_rmw mins
// CHECK: gpu.func @proteus_top_a_off_f32
// The mode off has no agreements to keep.
// CHECK-NOT: memref<2048xf32
// CHECK: gpu.return
// PTX: .visible .entry proteus_top_a_max_bf16
// PTX: .maxntid 1024, 1, 1
// PTX: shfl.sync.bfly.b32
// PTX: .visible .entry proteus_top_a_hist_bf16
// PTX: atom.shared.add.f32
// PTX: atom.global.add.f32
// PTX: .visible .entry proteus_top_a_select_bf16
// PTX: .maxntid 1024, 1, 1
// PTX: .minnctapersm 1
// PTX: .shared .align 16 .b8 {{.*}}[16384]
// PTX: bar.sync
// PTX: .visible .entry proteus_top_a_off_f32

func.func @blend_bf16(%l: memref<?x?xbf16>, %c: memref<?x64xf32>, %e: memref<?x64xbf16>,
                      %u: memref<?xf32>, %kept: memref<?x?xi64>, %p: memref<?x?xf32>,
                      %n: memref<?x2xi64>, %s: memref<?xi64>, %tp: f32, %lam: f32, %tau: f32) {
  proteus.top_a ins(%l, %c, %e, %u : memref<?x?xbf16>, memref<?x64xf32>, memref<?x64xbf16>,
                    memref<?xf32>)
      params(%tp, %lam, %tau, %tau : f32, f32, f32, f32)
      outs(%kept, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<blend>}
  return
}

func.func @off_f32(%l: memref<?x?xf32>, %c: memref<?x64xf32>, %e: memref<?x64xf32>,
                   %u: memref<?xf32>, %kept: memref<?x?xi64>, %p: memref<?x?xf32>,
                   %n: memref<?x2xi64>, %s: memref<?xi64>, %tp: f32) {
  proteus.top_a ins(%l, %c, %e, %u : memref<?x?xf32>, memref<?x64xf32>, memref<?x64xf32>,
                    memref<?xf32>)
      params(%tp, %tp, %tp, %tp : f32, f32, f32, f32)
      outs(%kept, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<off>}
  return
}
