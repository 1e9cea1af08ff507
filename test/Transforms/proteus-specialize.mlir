// RUN: proteus-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(proteus-specialize{alpha=1.0}))' | FileCheck %s --check-prefix=A1
// RUN: proteus-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(proteus-specialize{alpha=0.0}))' | FileCheck %s --check-prefix=A0
// RUN: proteus-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(proteus-specialize{alpha=0.3}))' | FileCheck %s --check-prefix=AMID
// RUN: proteus-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(proteus-specialize{alpha=0.95}))' | FileCheck %s --check-prefix=A95
// Mode decisions at the boundaries: alpha >= 0.95 cancels every dense reason,
// alpha <= dense_alpha_cutoff (0.3 here) prefers dense, a static T at
// small_seq_dense takes the fast path, one above it does not.

// A1-LABEL: func.func @dynamic_t
// A1: budget = #proteus.budget<mode = shortlist, effective_l = 512, window = 512, local_cap = 341, anchor_cap = 171, proto_cap = 0, topk = [0, 1, 2, 2, 2]>
// A0-LABEL: func.func @dynamic_t
// A0: budget = #proteus.budget<alpha = 0.0, mode = dense, topk = [0, 1, 2, 3, 4]>
// AMID-LABEL: func.func @dynamic_t
// AMID: budget = #proteus.budget<alpha = 0.3, mode = dense, topk = [0, 1, 2, 3, 3]>
// A95-LABEL: func.func @dynamic_t
// A95: budget = #proteus.budget<alpha = 0.95, mode = shortlist, topk = [0, 1, 2, 2, 2]>
func.func @dynamic_t(%x: memref<?x?x64xf32>, %wqkv: memref<192x64xf32>, %wproj: memref<64x64xf32>,
                     %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>,
                     %mask: memref<?x?xi8>, %imp: memref<?x?xf32>, %stats: memref<16xi64>) {
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<?x?x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>,
           memref<16xi64>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, h_active_max = 4,
                                dense_alpha_cutoff = 0.3>}
  return
}

// -----

// A1-LABEL: func.func @at_small_seq_dense
// A1: mode = fastpath, seq_len = 32
// A0-LABEL: func.func @at_small_seq_dense
// A0: mode = fastpath, seq_len = 32
func.func @at_small_seq_dense(%x: memref<1x32x64xf32>, %wqkv: memref<192x64xf32>,
                              %wproj: memref<64x64xf32>, %wr: memref<8x64xf32>,
                              %b: memref<?xi64>, %y: memref<1x32x64xf32>,
                              %mask: memref<1x32xi8>, %imp: memref<1x32xf32>,
                              %stats: memref<16xi64>) {
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<1x32x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<1x32x64xf32>, memref<1x32xi8>, memref<1x32xf32>,
           memref<16xi64>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, h_active_max = 4>}
  return
}

// -----

// A1-LABEL: func.func @above_small_seq_dense
// A1: mode = shortlist, seq_len = 33, k_dense = 4, token_keep = 0, effective_l = 512, window = 512, local_cap = 341, anchor_cap = 171
// A0-LABEL: func.func @above_small_seq_dense
// A0: #proteus.budget<alpha = 0.0, seq_len = 33, k_dense = 4, token_keep = 0, effective_l = 64, window = 33, local_cap = 33, anchor_cap = 7
func.func @above_small_seq_dense(%x: memref<1x33x64xf32>, %wqkv: memref<192x64xf32>,
                                 %wproj: memref<64x64xf32>, %wr: memref<8x64xf32>,
                                 %b: memref<?xi64>, %y: memref<1x33x64xf32>,
                                 %mask: memref<1x33xi8>, %imp: memref<1x33xf32>,
                                 %stats: memref<16xi64>) {
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<1x33x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<1x33x64xf32>, memref<1x33xi8>, memref<1x33xf32>,
           memref<16xi64>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, h_active_max = 4,
                                quantize_int8 = true>}
  return
}
