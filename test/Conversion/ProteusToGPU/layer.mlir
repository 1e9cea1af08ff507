// RUN: proteus-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(proteus-specialize{alpha=1.0}),convert-proteus-to-gpu)' | FileCheck %s
// RUN: proteus-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(proteus-specialize{alpha=1.0}))' | proteus-opt --split-input-file -proteus-lower-to-nvvm | FileCheck %s --check-prefix=PTX
// A specialized proteus.layer becomes its setting's GPU layer kernels
// (contract.h): routing, gating, packing, projections and combination, plus
// the attention kernels that read N and the mode from the device stats
// vector. The runtime launches them, so the host function is left empty.

// CHECK-LABEL: func.func @plain
// CHECK-NEXT: return
// CHECK-LABEL: gpu.module @proteus_kernels
// CHECK-DAG: memref.global "private" constant @proteus_rope_inv_freq : memref<8xf32>
// CHECK-NOT: gpu.func @proteus_route_prep
// CHECK-NOT: gpu.func @proteus_select_tokens
// CHECK: gpu.func @proteus_route_logits({{.*}}) workgroup({{.*}}memref<1088xf64, #gpu.address_space<workgroup>>{{.*}}) kernel
// CHECK: gpu.func @proteus_route({{.*}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>, proteus.specialization = "route C=64 G=8 H=4 D=16"}
// CHECK: gpu.func @proteus_head_mass
// CHECK: gpu.barrier
// CHECK: gpu.func @proteus_gate({{.*}}) kernel attributes {known_block_size = array<i32: 1, 1, 1>
// A token's H head probabilities are ranked in registers (no loop over the
// heads for each head).
// CHECK: gpu.func @proteus_top_k
// CHECK-NOT: scf.for
// CHECK: gpu.func @proteus_pack_count
// CHECK: gpu.func @proteus_pack_scan
// CHECK: gpu.func @proteus_pack_write
// CHECK: gpu.func @proteus_project
// CHECK: memref.get_global @proteus_rope_inv_freq
// In shortlist mode the blocks of Q columns return; proteus_project_q
// projects Q for the packed pairs only: per row, a tiled GEMM of its pairs'
// gathered x rows, staged in shared memory, fp32 accumulators, then RoPE. At
// D = 16 the tile is tall, 256 pairs x 16 columns (K steps of 16, padded by
// 4: 16 x 260 and 16 x 20 elements).
// CHECK: gpu.func @proteus_project_q({{.*}}) workgroup(%{{.*}} : memref<4160xf32, #gpu.address_space<workgroup>>{{.*}}, %{{.*}} : memref<320xf32, #gpu.address_space<workgroup>>{{.*}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>, proteus.specialization = "project_q C=64 G=8 H=4 D=16"}
// CHECK-NOT: gpu.grid_dim
// CHECK: gpu.block_id x
// CHECK: memref.get_global @proteus_rope_inv_freq
// CHECK: arith.divsi
// CHECK: scf.for {{.*}} -> (f32, f32
// CHECK: gpu.barrier
// CHECK: gpu.func @proteus_combine
// The head consensus (prt_layer_args.consensus): one thread per element of
// the last Tc positions, zeros where the token mask drops the token.
// CHECK: gpu.func @proteus_consensus({{.*}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>, proteus.specialization = "consensus
// CHECK: arith.select
// CHECK-NOT: gpu.func @proteus_proto_update
// CHECK: gpu.func @proteus_fill_zero_f32
// CHECK: gpu.func @proteus_dense_attention_f32
// CHECK: gpu.func @proteus_layer_dense_attention_f32
// CHECK: gpu.func @proteus_layer_shortlist_attention_f32({{.*}}) kernel attributes {known_block_size = array<i32: 128, 1, 1>, proteus.specialization = "proteus_layer_shortlist_attention_f32 d=16 stride=256 local=1 anchors=1
// CHECK: gpu.grid_dim x
func.func @plain(%x: memref<1x64x64xf32>, %wqkv: memref<192x64xf32>, %wproj: memref<64x64xf32>,
                 %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<1x64x64xf32>,
                 %mask: memref<1x64xi8>, %imp: memref<1x64xf32>, %stats: memref<16xi64>) {
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<1x64x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<1x64x64xf32>, memref<1x64xi8>, memref<1x64xf32>,
           memref<16xi64>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, h_active_max = 4>}
  return
}

// -----

// Token selection (radix select over the importance keys) and the prototype
// kernels appear with the configuration that needs them.
// CHECK-LABEL: gpu.module @proteus_kernels
// CHECK: gpu.func @proteus_route_prep
// CHECK: gpu.func @proteus_route_scale
// CHECK: gpu.func @proteus_route_logits
// CHECK: gpu.func @proteus_route(
// CHECK: gpu.func @proteus_select_tokens({{.*}}) workgroup({{.*}}) kernel attributes {known_block_size = array<i32: 512, 1, 1>
// CHECK: memref.atomic_rmw addi
// CHECK: gpu.func @proteus_proto_mass
// The EMA's sums as a split-T binary64 GEMM, then the update in chunk order.
// CHECK: gpu.func @proteus_proto_partial({{.*}}) workgroup({{.*}}memref<1088xf64, #gpu.address_space<workgroup>>
// CHECK: arith.mulf {{.*}} : f64
// CHECK: gpu.func @proteus_proto_update({{.*}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>
// Shared buffers are 16-byte aligned: the backend reads them with 16-byte
// vector loads (a 4-byte aligned row faulted on the H200).
// PTX: .shared .align 16 .b8 __wg_proteus_route_prep_0[256]
// PTX: .shared .align 16 .b8 __wg_proteus_proto_partial_0[8704]
func.func @routed(%x: memref<1x64x64xf32>, %wqkv: memref<192x64xf32>, %wproj: memref<64x64xf32>,
                  %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>,
                  %b: memref<?xi64>, %y: memref<1x64x64xf32>,
                  %mask: memref<1x64xi8>, %imp: memref<1x64xf32>, %stats: memref<16xi64>) {
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<1x64x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      prototypes(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<1x64x64xf32>, memref<1x64xi8>, memref<1x64xf32>,
           memref<16xi64>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, h_active_max = 4,
                                token_sparse = true, proto_enabled = true>}
  return
}

// -----

// INT8 (max mode): a scales kernel and a shortlist kernel that quantizes as it
// loads (its specialization says so).
// CHECK-LABEL: gpu.module @proteus_kernels
// The per-row scales need every q: no proteus_project_q.
// CHECK-NOT: gpu.func @proteus_project_q
// CHECK: gpu.func @proteus_int8_scales_f32
// CHECK: gpu.func @proteus_layer_shortlist_attention_f32({{.*}}proteus.specialization = "{{.*}} int8 tile=#proteus.tile<block_m = 4, block_n = 16, lanes = 2>"
func.func @int8(%x: memref<1x64x64xf32>, %wqkv: memref<192x64xf32>, %wproj: memref<64x64xf32>,
                %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<1x64x64xf32>,
                %mask: memref<1x64xi8>, %imp: memref<1x64xf32>, %stats: memref<16xi64>) {
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<1x64x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<1x64x64xf32>, memref<1x64xi8>, memref<1x64xf32>,
           memref<16xi64>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, h_active_max = 4,
                                quantize_int8 = true>}
  return
}

// -----

// INT8 in percentile mode: the scales kernel finds torch.quantile's two
// neighbouring order statistics of |x| by radix select (shared histogram,
// atomic adds), and the layer's shortlist kernel is the one of max mode.
// CHECK-LABEL: gpu.module @proteus_kernels
// CHECK: gpu.func @proteus_int8_scales_f32({{.*}}) workgroup({{.*}}memref<256xi32, #gpu.address_space<workgroup>>{{.*}}memref<2xi64, #gpu.address_space<workgroup>>{{.*}}) kernel
// CHECK: memref.atomic_rmw addi
// CHECK: gpu.func @proteus_layer_shortlist_attention_f32({{.*}}proteus.specialization = "{{.*}} int8 tile=#proteus.tile<block_m = 4, block_n = 16, lanes = 2>"
func.func @int8_percentile(%x: memref<1x64x64xf32>, %wqkv: memref<192x64xf32>,
                           %wproj: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>,
                           %y: memref<1x64x64xf32>, %mask: memref<1x64xi8>,
                           %imp: memref<1x64xf32>, %stats: memref<16xi64>) {
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<1x64x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<1x64x64xf32>, memref<1x64xi8>, memref<1x64xf32>,
           memref<16xi64>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, h_active_max = 4,
                                quantize_int8 = true, int8_mode = percentile,
                                int8_percentile = 0.999>}
  return
}

// -----

// The prototype candidate piece: each query's warp builds its candidate list
// in shared memory (per warp L_max entries of list and of picks, a 256-bin
// histogram and the length) from the salience, which the kernel takes last
// with proto_cap; lane 0 builds, bar.warp.sync publishes.
// CHECK-LABEL: gpu.module @proteus_kernels
// CHECK: gpu.func @proteus_layer_shortlist_attention_f32({{.*}}, %{{.*}}: memref<?xf32>, %{{.*}}: index) workgroup(%{{.*}}: memref<2048xi32, #gpu.address_space<workgroup>>, %{{.*}}: memref<2048xi32, #gpu.address_space<workgroup>>, %{{.*}}: memref<1024xi32, #gpu.address_space<workgroup>>, %{{.*}}: memref<4xi32, #gpu.address_space<workgroup>>) kernel attributes {{{.*}}proteus.specialization = "{{.*}} proto_cap={{-?[0-9]+}} heads=4 L_max=512 tile=
// CHECK: nvvm.bar.warp.sync
// CHECK: nvvm.bar.warp.sync
// PTX: __wg_proteus_layer_shortlist_attention_f32_0[8192]
// PTX: bar.warp.sync
func.func @proto_piece(%x: memref<1x64x64xf32>, %wqkv: memref<192x64xf32>,
                       %wproj: memref<64x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>,
                       %u: memref<8xf32>, %c: memref<8xf32>, %b: memref<?xi64>,
                       %y: memref<1x64x64xf32>, %mask: memref<1x64xi8>,
                       %imp: memref<1x64xf32>, %stats: memref<16xi64>) {
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<1x64x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      prototypes(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<1x64x64xf32>, memref<1x64xi8>, memref<1x64xf32>,
           memref<16xi64>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, h_active_max = 4,
                                use_proto = true, proto_enabled = true>}
  return
}

// -----

// Lists of L_max = 2048 do not fit the 48 KiB of static shared memory: the
// layer then has no shortlist kernel (the runtime names it and the CPU
// library runs the layer).
// CHECK-LABEL: gpu.module @proteus_kernels
// CHECK: gpu.func @proteus_layer_dense_attention_f32
// CHECK-NOT: gpu.func @proteus_layer_shortlist_attention_f32
func.func @proto_piece_too_long(%x: memref<1x64x64xf32>, %wqkv: memref<192x64xf32>,
                                %wproj: memref<64x64xf32>, %wr: memref<8x64xf32>,
                                %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>,
                                %b: memref<?xi64>, %y: memref<1x64x64xf32>,
                                %mask: memref<1x64xi8>, %imp: memref<1x64xf32>,
                                %stats: memref<16xi64>) {
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<1x64x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      prototypes(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<1x64x64xf32>, memref<1x64xi8>, memref<1x64xf32>,
           memref<16xi64>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, h_active_max = 4,
                                use_proto = true, proto_enabled = true, L_max = 2048>}
  return
}
