// RUN: proteus-opt %s | FileCheck %s
// RUN: proteus-opt %s --mlir-print-op-generic | proteus-opt | FileCheck %s
// Every proteus op and attribute round-trips through the custom and the
// generic form.

// CHECK-LABEL: func.func @layer
func.func @layer(%x: memref<?x?x64xf32>, %wqkv: memref<192x64xf32>, %wproj: memref<64x64xf32>,
                 %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>,
                 %mask: memref<?x?xi8>, %imp: memref<?x?xf32>, %stats: memref<16xi64>) {
  // CHECK: proteus.layer ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%{{.*}} : memref<?xi64>) outs(
  // CHECK-SAME: config = #proteus.config<d_model = 64, h_total = 4, gates = 8>
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<?x?x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>,
           memref<16xi64>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// CHECK-LABEL: func.func @layer_full
func.func @layer_full(%x: memref<2x24x64xf32>, %wqkv: memref<192x64xf32>,
                      %bqkv: memref<192xf32>, %wproj: memref<64x64xf32>, %bproj: memref<64xf32>,
                      %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>,
                      %c: memref<8xf32>, %b: memref<?xi64>, %y: memref<2x24x64xf32>,
                      %mask: memref<2x24xi8>, %imp: memref<2x24xf32>, %stats: memref<16xi64>) {
  // CHECK: proteus.layer {{.*}} bias(%{{.*}}, %{{.*}} : memref<192xf32>, memref<64xf32>) prototypes(%{{.*}}, %{{.*}}, %{{.*}} : memref<8x64xf32>, memref<8xf32>, memref<8xf32>)
  // CHECK-SAME: budget = #proteus.budget<alpha = 0.5, density = 0.45, seq_len = 24, effective_l = 64, window = 24, topk = [0, 1, 2, 2, 3]>
  // CHECK-SAME: config = #proteus.config<d_model = 64, h_total = 4, gates = 8, L_schedule = sqrt, token_sparse = true, keep_ratio_base = 0.45, proto_enabled = true, bias = true, mode_setting = linear, quantize_int8 = true, int8_mode = percentile>
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<2x24x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      bias(%bqkv, %bproj : memref<192xf32>, memref<64xf32>)
      prototypes(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<2x24x64xf32>, memref<2x24xi8>, memref<2x24xf32>,
           memref<16xi64>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, L_schedule = sqrt,
                                token_sparse = true, keep_ratio_base = 0.45, proto_enabled = true,
                                bias = true, mode_setting = linear, quantize_int8 = true,
                                int8_mode = percentile>,
       budget = #proteus.budget<alpha = 0.5, density = 0.45, mode = auto, seq_len = 24,
                                effective_l = 64, window = 24, topk = [0, 1, 2, 2, 3]>}
  return
}

// CHECK-LABEL: func.func @route
func.func @route(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>,
                 %u: memref<8xf32>, %c: memref<8xf32>, %g: memref<?x?x8xf32>,
                 %h: memref<?x?x4xf32>, %imp: memref<?x?xf32>, %sim: memref<?x?xf32>) {
  // CHECK: proteus.route ins({{.*}}) prototypes({{.*}}) outs({{.*}}) similarity(%{{.*}} : memref<?x?xf32>)
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>)
      prototypes(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>)
      outs(%g, %h, %imp : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>)
      similarity(%sim : memref<?x?xf32>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// CHECK-LABEL: func.func @gating
func.func @gating(%h: memref<?x?x4xf32>, %kd: index, %imp: memref<?x?xf32>, %keep: index,
                  %tm: memref<?x?xi8>, %rows: memref<?x?xi8>, %pr: memref<?xi64>,
                  %pt: memref<?xi64>, %off: memref<?xi64>) -> (index, index, index) {
  // CHECK: %[[K:.*]], %[[NUC:.*]] = proteus.top_p %{{.*}}, %{{.*}} {h_min = 2 : i64, top_p = 9.000000e-01 : f64} : memref<?x?x4xf32>
  %k, %nuc = proteus.top_p %h, %kd {top_p = 0.9 : f64, h_min = 2 : i64} : memref<?x?x4xf32>
  // CHECK: proteus.select_tokens ins(%{{.*}}, %{{.*}}, %{{.*}} : memref<?x?xf32>, index, index) outs(%{{.*}} : memref<?x?xi8>) {threshold = 0.000000e+00 : f64}
  proteus.select_tokens ins(%imp, %keep, %kd : memref<?x?xf32>, index, index)
      outs(%tm : memref<?x?xi8>) {threshold = 0.0 : f64}
  // CHECK: proteus.top_k ins(%{{.*}}, %[[K]] : memref<?x?x4xf32>, index) token_mask(%{{.*}} : memref<?x?xi8>) outs(%{{.*}} : memref<?x?xi8>)
  proteus.top_k ins(%h, %k : memref<?x?x4xf32>, index) token_mask(%tm : memref<?x?xi8>)
      outs(%rows : memref<?x?xi8>)
  // CHECK: %{{.*}}, %{{.*}}, %{{.*}} = proteus.pack ins(%{{.*}} : memref<?x?xi8>) outs(%{{.*}}, %{{.*}}, %{{.*}} : memref<?xi64>, memref<?xi64>, memref<?xi64>)
  %n:3 = proteus.pack ins(%rows : memref<?x?xi8>) outs(%pr, %pt, %off : memref<?xi64>, memref<?xi64>, memref<?xi64>)
  return %n#0, %n#1, %nuc : index, index, index
}

// CHECK-LABEL: func.func @projections
func.func @projections(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %b: memref<192xf32>,
                       %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>,
                       %wp: memref<64x64xf32>, %bp: memref<64xf32>, %tm: memref<?x?xi8>,
                       %y: memref<?x?x64xf32>) {
  // CHECK: proteus.project ins({{.*}}) bias(%{{.*}} : memref<192xf32>) outs({{.*}}) {heads = 4 : i64, rope_base = 1.000000e+04 : f64}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>) bias(%b : memref<192xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      {heads = 4 : i64, rope_base = 10000.0 : f64}
  // CHECK: proteus.combine ins({{.*}}) bias(%{{.*}} : memref<64xf32>) token_mask(%{{.*}} : memref<?x?xi8>) outs(%{{.*}} : memref<?x?x64xf32>)
  proteus.combine ins(%q, %wp : memref<?x?x16xf32>, memref<64x64xf32>) bias(%bp : memref<64xf32>)
      token_mask(%tm : memref<?x?xi8>) outs(%y : memref<?x?x64xf32>)
  return
}

// CHECK-LABEL: func.func @packed_projections
func.func @packed_projections(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>,
                              %off: memref<?xi64>, %tok: memref<?xi64>,
                              %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>,
                              %wp: memref<64x64xf32>, %hm: memref<?x?xi8>,
                              %y: memref<?x?x64xf32>, %dense: i1) {
  // CHECK: proteus.project ins({{.*}}) packed_q(%{{.*}}, %{{.*}} : memref<?xi64>, memref<?xi64>) outs({{.*}}) {heads = 4 : i64}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      packed_q(%off, %tok : memref<?xi64>, memref<?xi64>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  // CHECK: proteus.combine ins({{.*}}) head_mask(%{{.*}} : memref<?x?xi8>) outs(%{{.*}} : memref<?x?x64xf32>)
  proteus.combine ins(%q, %wp : memref<?x?x16xf32>, memref<64x64xf32>)
      head_mask(%hm : memref<?x?xi8>) outs(%y : memref<?x?x64xf32>)
  // CHECK: proteus.project ins({{.*}}) packed_q({{.*}}) whole_q_if(%{{.*}}) outs({{.*}})
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      packed_q(%off, %tok : memref<?xi64>, memref<?xi64>) whole_q_if(%dense)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  // CHECK: proteus.combine ins({{.*}}) head_mask({{.*}}) all_heads_if(%{{.*}}) outs({{.*}})
  proteus.combine ins(%q, %wp : memref<?x?x16xf32>, memref<64x64xf32>)
      head_mask(%hm : memref<?x?xi8>) all_heads_if(%dense) outs(%y : memref<?x?x64xf32>)
  return
}

// CHECK-LABEL: func.func @attention
func.func @attention(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>,
                     %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index, %c: memref<?x?xi64>,
                     %len: memref<?xi64>, %s: memref<?x?xf32>, %o: memref<?x?x16xf32>,
                     %l: index, %w: index) {
  // CHECK: proteus.shortlist_attention ins({{.*}}) packed({{.*}}) candidates(%{{.*}}, %{{.*}} : memref<?x?xi64>, memref<?xi64>) outs(%{{.*}} : memref<?x?x16xf32>)
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
      candidates(%c, %len : memref<?x?xi64>, memref<?xi64>) outs(%o : memref<?x?x16xf32>)
  // CHECK: proteus.shortlist_attention {{.*}} budget(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) scores(%{{.*}} : memref<?x?xf32>) outs({{.*}}) {anchor_stride = 256 : i64, percentile = 0.99899999999999999 : f64, quantize = #proteus.int8_mode<percentile>, tile = #proteus.tile<block_m = 32, stages = 3>, use_anchors, use_local, use_proto}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %w, %w, %w, %w) scores(%s : memref<?x?xf32>) outs(%o : memref<?x?x16xf32>)
      {anchor_stride = 256 : i64, use_local, use_anchors, use_proto,
       quantize = #proteus.int8_mode<percentile>, percentile = 0.999 : f64,
       tile = #proteus.tile<block_m = 32, stages = 3>}
  // CHECK: proteus.dense_attention ins({{.*}}) outs(%{{.*}} : memref<?x?x16xf32>)
  proteus.dense_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      outs(%o : memref<?x?x16xf32>)
  // CHECK: proteus.dense_attention ins({{.*}}) outs(%{{.*}} : memref<?x?x16xf32>) {tile = #proteus.tile<block_n = 32, stages = 2, lanes = 2, unroll = 4, vector = 8, pad = 8>}
  proteus.dense_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      outs(%o : memref<?x?x16xf32>)
      {tile = #proteus.tile<block_m = 64, block_n = 32, warps = 4, stages = 2, lanes = 2, unroll = 4, vector = 8, pad = 8>}
  return
}

// CHECK-LABEL: func.func @shortlist
func.func @shortlist(%rows: memref<?xi64>, %s: memref<?x?xf32>, %bid: memref<?xi64>,
                     %t: index, %l: index, %c: memref<?x?xi64>, %len: memref<?xi64>) {
  // CHECK: proteus.shortlist ins(%{{.*}} : memref<?xi64>) scores(%{{.*}}, %{{.*}} : memref<?x?xf32>, memref<?xi64>) budget({{.*}}) outs({{.*}}) {anchor_stride = 4 : i64, use_anchors, use_local, use_proto}
  proteus.shortlist ins(%rows : memref<?xi64>) scores(%s, %bid : memref<?x?xf32>, memref<?xi64>)
      budget(%t, %l, %l, %l, %l, %l) outs(%c, %len : memref<?x?xi64>, memref<?xi64>)
      {anchor_stride = 4 : i64, use_local, use_anchors, use_proto}
  return
}

// CHECK-LABEL: func.func @state
func.func @state(%x: memref<?x?x64xf32>, %g: memref<?x?x8xf32>, %p: memref<8x64xf32>,
                 %u: memref<8xf32>, %c: memref<8xf32>) {
  // CHECK: proteus.proto_update ins({{.*}}) inouts({{.*}}) {decay = 0.96999999999999997 : f64}
  proteus.proto_update ins(%x, %g : memref<?x?x64xf32>, memref<?x?x8xf32>)
      inouts(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>) {decay = 0.97 : f64}
  return
}

// CHECK-LABEL: func.func @consensus
func.func @consensus(%x: memref<?x?x64xf32>, %wqkv: memref<192x64xf32>, %wproj: memref<64x64xf32>,
                     %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>,
                     %mask: memref<?x?xi8>, %imp: memref<?x?xf32>, %stats: memref<16xi64>,
                     %cons: memref<?x1x64xf32>, %o: memref<?x?x16xf32>) {
  // CHECK: proteus.layer {{.*}} outs({{.*}}) consensus(%{{.*}} : memref<?x1x64xf32>) {config
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<?x?x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>,
           memref<16xi64>)
      consensus(%cons : memref<?x1x64xf32>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  // CHECK: proteus.combine ins({{.*}}) token_mask(%{{.*}} : memref<?x?xi8>) outs(%{{.*}} : memref<?x?x64xf32>) consensus(%{{.*}} : memref<?x1x64xf32>)
  proteus.combine ins(%o, %wproj : memref<?x?x16xf32>, memref<64x64xf32>)
      token_mask(%mask : memref<?x?xi8>) outs(%y : memref<?x?x64xf32>)
      consensus(%cons : memref<?x1x64xf32>)
  return
}

// CHECK-LABEL: func.func @top_a
func.func @top_a(%l: memref<?x?xf32>, %c: memref<?x64xf32>, %e: memref<?x64xbf16>,
                 %u: memref<?xf32>, %kept: memref<?x?xi64>, %p: memref<?x?xf32>,
                 %n: memref<?x2xi64>, %s: memref<?xi64>, %tp: f32, %lam: f32, %tau: f32,
                 %th: f32) {
  // CHECK: proteus.top_a ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : memref<?x?xf32>, memref<?x64xf32>, memref<?x64xbf16>, memref<?xf32>) params(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32, f32) outs(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>) {mode = #proteus.top_a_mode<filter>}
  proteus.top_a ins(%l, %c, %e, %u : memref<?x?xf32>, memref<?x64xf32>, memref<?x64xbf16>,
                    memref<?xf32>)
      params(%tp, %lam, %tau, %th : f32, f32, f32, f32)
      outs(%kept, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<filter>}
  return
}
