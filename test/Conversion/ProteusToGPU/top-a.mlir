// RUN: proteus-opt %s --convert-proteus-to-gpu | FileCheck %s
// RUN: proteus-opt %s -proteus-lower-to-nvvm | FileCheck %s --check-prefix=PTX
// proteus.top_a becomes one kernel per (mode, element type), launched with
// one block of 1024 threads per batch row (contract.h, kGpuTopABlock): the
// softmax, a radix select by mass over a 256-bin histogram of counts and
// binary64 masses (shared-memory atomics), the candidates (at most 2048) as
// 64-bit keys bitonic-sorted in shared memory, block scans, and one warp per
// nucleus token for the agreement.

// CHECK-LABEL: func.func @blend_bf16
// CHECK: %[[B:.*]] = memref.dim %{{.*}}, %c0 : memref<?x?xbf16>
// CHECK: gpu.launch_func @proteus_kernels::@proteus_top_a_blend_bf16 blocks in (%[[B]], %{{.*}}, %{{.*}}) threads in (%[[T:.*]], %{{.*}}, %{{.*}})
// CHECK-LABEL: func.func @off_f32
// CHECK: gpu.launch_func @proteus_kernels::@proteus_top_a_off_f32
// CHECK-LABEL: gpu.module @proteus_kernels
// CHECK: gpu.func @proteus_top_a_blend_bf16(%{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xf32>, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: memref<?xi64>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xi64>, %{{.*}}: memref<?xi64>, %{{.*}}: index, %{{.*}}: index)
// CHECK-SAME: workgroup({{.*}}memref<1024xf64, #gpu.address_space<workgroup>>{{.*}}memref<32xf64, {{.*}}memref<256xi32, {{.*}}memref<256xf64, {{.*}}memref<2048xi64, {{.*}}memref<2048xf32, {{.*}}memref<4xi32, {{.*}})
// CHECK-SAME: kernel attributes {known_block_size = array<i32: 1024, 1, 1>
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: gpu.barrier
// CHECK: memref.atomic_rmw addi
// CHECK: memref.atomic_rmw addf {{.*}} (f64, memref<256xf64, #gpu.address_space<workgroup>>) -> f64
// CHECK: arith.cmpi uge
// CHECK: arith.xori
// CHECK: arith.cmpi ult
// CHECK: memref.atomic_rmw mins
// CHECK: gpu.func @proteus_top_a_off_f32
// The mode off reads no embedding: no square root in its kernel.
// CHECK-NOT: llvm.nvvm.sqrt
// CHECK: gpu.return
// PTX: .visible .entry proteus_top_a_blend_bf16
// PTX: .maxntid 1024, 1, 1
// PTX: .shared .align 16 .b8 __wg_proteus_top_a_blend_bf16_4[16384]
// PTX: bar.sync
// PTX: atom.shared.add.f64
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
