// RUN: proteus-opt %s --split-input-file --convert-proteus-to-gpu -verify-diagnostics
// Every reason a tile does not fit its kernel (AttentionTiles.cpp checkTile),
// reported once on the op before anything is converted.

func.func @f(%q: memref<?x?x16xbf16>, %pr: memref<?xi64>, %n: index) {
  %l = arith.constant 2048 : index
  // expected-error @+1 {{does not fit kernel proteus_shortlist_attention_bf16: warps must be 4 (the runtime launches kGpuAttentionBlock = 128 threads), got 8}}
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xbf16>, memref<?x?x16xbf16>, memref<?x?x16xbf16>)
      packed(%pr, %pr, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %l, %l, %l, %l) outs(%q : memref<?x?x16xbf16>)
      {anchor_stride = 256 : i64, use_local, use_anchors, tile = #proteus.tile<block_m = 4, warps = 8>}
  return
}

// -----

func.func @f(%q: memref<?x?x16xbf16>, %pr: memref<?xi64>, %n: index) {
  %l = arith.constant 2048 : index
  // expected-error @+1 {{does not fit kernel proteus_shortlist_attention_bf16: block_m must be 4 (queries per block of the runtime's grid), got 64}}
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xbf16>, memref<?x?x16xbf16>, memref<?x?x16xbf16>)
      packed(%pr, %pr, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %l, %l, %l, %l) outs(%q : memref<?x?x16xbf16>)
      {anchor_stride = 256 : i64, use_local, use_anchors, tile = #proteus.tile<block_m = 64, block_n = 16, lanes = 2>}
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %pr: memref<?xi64>, %n: index) {
  %l = arith.constant 2048 : index
  // expected-error @+1 {{does not fit kernel proteus_shortlist_attention_f32: vector loads of 8 x 4 bytes exceed 16 bytes}}
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pr, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %l, %l, %l, %l) outs(%q : memref<?x?x16xf32>)
      {anchor_stride = 256 : i64, use_local, use_anchors, tile = #proteus.tile<block_m = 4, block_n = 32, lanes = 1, vector = 8>}
  return
}

// -----

func.func @f(%q: memref<?x?x16xbf16>, %pr: memref<?xi64>, %n: index) {
  %l = arith.constant 2048 : index
  // expected-error @+1 {{does not fit kernel proteus_shortlist_attention_bf16: stages and pad configure the tensor-core kernel's shared memory; a warp-per-query kernel takes 1 and 0}}
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xbf16>, memref<?x?x16xbf16>, memref<?x?x16xbf16>)
      packed(%pr, %pr, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %l, %l, %l, %l) outs(%q : memref<?x?x16xbf16>)
      {anchor_stride = 256 : i64, use_local, use_anchors, tile = #proteus.tile<block_m = 4, block_n = 16, lanes = 2, stages = 2>}
  return
}

// -----

func.func @f(%q: memref<?x?x16xbf16>, %pr: memref<?xi64>, %n: index) {
  %l = arith.constant 2048 : index
  // expected-error @+1 {{does not fit kernel proteus_shortlist_attention_bf16: lanes (32) must divide the head dim (16)}}
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xbf16>, memref<?x?x16xbf16>, memref<?x?x16xbf16>)
      packed(%pr, %pr, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %l, %l, %l, %l) outs(%q : memref<?x?x16xbf16>)
      {anchor_stride = 256 : i64, use_local, use_anchors, tile = #proteus.tile<block_m = 4, block_n = 1, lanes = 32>}
  return
}

// -----

func.func @f(%q: memref<?x?x16xbf16>, %pr: memref<?xi64>, %n: index) {
  %l = arith.constant 2048 : index
  // expected-error @+1 {{does not fit kernel proteus_shortlist_attention_bf16: block_n must be 32 / lanes * unroll = 16 (candidates per warp step), got 64}}
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xbf16>, memref<?x?x16xbf16>, memref<?x?x16xbf16>)
      packed(%pr, %pr, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %l, %l, %l, %l) outs(%q : memref<?x?x16xbf16>)
      {anchor_stride = 256 : i64, use_local, use_anchors, tile = #proteus.tile<block_m = 4, lanes = 2>}
  return
}

// -----

func.func @f(%q: memref<?x?x16xbf16>, %pr: memref<?xi64>, %n: index) {
  %l = arith.constant 2048 : index
  // expected-error @+1 {{does not fit kernel proteus_shortlist_attention_bf16: vector (8) must divide the 4 dims each lane holds (D / lanes)}}
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xbf16>, memref<?x?x16xbf16>, memref<?x?x16xbf16>)
      packed(%pr, %pr, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %l, %l, %l, %l) outs(%q : memref<?x?x16xbf16>)
      {anchor_stride = 256 : i64, use_local, use_anchors, tile = #proteus.tile<block_m = 4, block_n = 8, lanes = 4, vector = 8>}
  return
}

// -----

func.func @f(%q: memref<?x?x128xf32>, %pr: memref<?xi64>, %n: index) {
  %l = arith.constant 2048 : index
  // expected-error @+1 {{does not fit kernel proteus_shortlist_attention_f32: needs about 544 registers per thread (limit 255)}}
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x128xf32>, memref<?x?x128xf32>, memref<?x?x128xf32>)
      packed(%pr, %pr, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %l, %l, %l, %l) outs(%q : memref<?x?x128xf32>)
      {anchor_stride = 256 : i64, use_local, use_anchors, tile = #proteus.tile<block_m = 4, block_n = 32, lanes = 1>}
  return
}

// -----

func.func @f(%q: memref<?x?x64xbf16>) {
  // expected-error @+1 {{does not fit kernel proteus_dense_attention_bf16: lanes and unroll configure the warp-per-query kernels; the tensor-core kernel takes 1}}
  proteus.dense_attention ins(%q, %q, %q : memref<?x?x64xbf16>, memref<?x?x64xbf16>, memref<?x?x64xbf16>) outs(%q : memref<?x?x64xbf16>)
      {tile = #proteus.tile<lanes = 2>}
  return
}

// -----

func.func @f(%q: memref<?x?x64xbf16>) {
  // expected-error @+1 {{does not fit kernel proteus_dense_attention_bf16: block_n must be a multiple of 16 (P V takes keys 16 at a time), got 8}}
  proteus.dense_attention ins(%q, %q, %q : memref<?x?x64xbf16>, memref<?x?x64xbf16>, memref<?x?x64xbf16>) outs(%q : memref<?x?x64xbf16>)
      {tile = #proteus.tile<block_n = 8>}
  return
}

// -----

func.func @f(%q: memref<?x?x64xbf16>) {
  // expected-error @+1 {{does not fit kernel proteus_dense_attention_bf16: stages must be 1 or 2, got 3}}
  proteus.dense_attention ins(%q, %q, %q : memref<?x?x64xbf16>, memref<?x?x64xbf16>, memref<?x?x64xbf16>) outs(%q : memref<?x?x64xbf16>)
      {tile = #proteus.tile<stages = 3>}
  return
}

// -----

func.func @f(%q: memref<?x?x64xbf16>) {
  // expected-error @+1 {{does not fit kernel proteus_dense_attention_bf16: the shared-memory row of D + pad = 68 elements must be a multiple of vector (8)}}
  proteus.dense_attention ins(%q, %q, %q : memref<?x?x64xbf16>, memref<?x?x64xbf16>, memref<?x?x64xbf16>) outs(%q : memref<?x?x64xbf16>)
      {tile = #proteus.tile<vector = 8, pad = 4>}
  return
}

// -----

func.func @f(%q: memref<?x?x16xbf16>) {
  // expected-error @+1 {{does not fit kernel proteus_dense_attention_bf16: stages = 2 prefetches block_n * D / vector = 32 loads per tensor, which must be a multiple of the block's 128 threads}}
  proteus.dense_attention ins(%q, %q, %q : memref<?x?x16xbf16>, memref<?x?x16xbf16>, memref<?x?x16xbf16>) outs(%q : memref<?x?x16xbf16>)
      {tile = #proteus.tile<block_n = 16, stages = 2, vector = 8>}
  return
}

// -----

func.func @f(%q: memref<?x?x128xbf16>) {
  // expected-error @+1 {{does not fit kernel proteus_dense_attention_bf16: needs 139264 bytes of shared memory (static limit 49152)}}
  proteus.dense_attention ins(%q, %q, %q : memref<?x?x128xbf16>, memref<?x?x128xbf16>, memref<?x?x128xbf16>) outs(%q : memref<?x?x128xbf16>)
      {tile = #proteus.tile<block_n = 128, stages = 2, pad = 8>}
  return
}

// -----

func.func @f(%q: memref<?x?x64xf32>) {
  // expected-error @+1 {{does not fit kernel proteus_dense_attention_f32: block_m must be 64 (queries per block of the runtime's grid), got 4}}
  proteus.dense_attention ins(%q, %q, %q : memref<?x?x64xf32>, memref<?x?x64xf32>, memref<?x?x64xf32>) outs(%q : memref<?x?x64xf32>)
      {tile = #proteus.tile<block_m = 4, block_n = 4, lanes = 8>}
  return
}
