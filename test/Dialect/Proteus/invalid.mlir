// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Every verifier message of the proteus ops.

func.func @f(%x: memref<?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>, %bb: memref<192xf32>, %bp: memref<64xf32>) {
  // expected-error @+1 {{'proteus.layer' op operand 'x' must have rank 3, got 2}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x32xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x32xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>, %bb: memref<192xf32>, %bp: memref<64xf32>) {
  // expected-error @+1 {{'proteus.layer' op 'x' dim 2 must be d_model (64), got 32}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x32xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x32xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<190x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>, %bb: memref<192xf32>, %bp: memref<64xf32>) {
  // expected-error @+1 {{'proteus.layer' op 'w_qkv' dim 0 must be 3 * d_model (192), got 190}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<190x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<6x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>, %bb: memref<192xf32>, %bp: memref<64xf32>) {
  // expected-error @+1 {{'proteus.layer' op 'w_router' dim 0 must be gates (8), got 6}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<6x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf16>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>, %bb: memref<192xf32>, %bp: memref<64xf32>) {
  // expected-error @+1 {{'proteus.layer' op 'w_proj' and 'x' must have the same element type}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf16>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<3x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<2x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>, %bb: memref<192xf32>, %bp: memref<64xf32>) {
  // expected-error @+1 {{'proteus.layer' op 'y' dim 0 (2) must equal 'x' dim 0 (3)}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<3x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<2x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<8xi64>, %bb: memref<192xf32>, %bp: memref<64xf32>) {
  // expected-error @+1 {{'proteus.layer' op 'stats' needs at least 16 elements, got 8}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<8xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>, %bb: memref<192xf32>, %bp: memref<64xf32>) {
  // expected-error @+1 {{'proteus.layer' op bias operands must be given exactly when the config has bias = true}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) bias(%bb, %bp : memref<192xf32>, memref<64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>, %bb: memref<192xf32>, %bp: memref<64xf32>) {
  // expected-error @+1 {{'proteus.layer' op prototype state must be given exactly when the config has proto_enabled = true}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>, %bb: memref<192xf32>, %bp: memref<64xf32>) {
  // expected-error @+1 {{'proteus.layer' op budget topk must list h_total + 1 = 5 entries, got 2}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>, budget = #proteus.budget<topk = [0, 1]>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'similarity' must be given exactly when prototypes are on}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>) outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) similarity(%i : memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op prototype state must be given exactly when the config has proto_enabled = true}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>) outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%h: memref<?x?x4xf32>, %k: index) {
  // expected-error @+1 {{'proteus.top_p' op top_p must be in (0, 1], got 0}}
  proteus.top_p %h, %k {top_p = 0.0 : f64, h_min = 1 : i64} : memref<?x?x4xf32>
  return
}

// -----

func.func @f(%h: memref<?x?x4xf32>, %k: index) {
  // expected-error @+1 {{'proteus.top_p' op h_min must be >= 1, got 0}}
  proteus.top_p %h, %k {top_p = 0.9 : f64, h_min = 0 : i64} : memref<?x?x4xf32>
  return
}

// -----

func.func @f(%h: memref<?x?x4xf32>, %k: index) {
  // expected-error @+1 {{'proteus.top_p' op h_min (5) must not exceed the head count (4)}}
  proteus.top_p %h, %k {top_p = 0.9 : f64, h_min = 5 : i64} : memref<?x?x4xf32>
  return
}

// -----

func.func @f(%h: memref<2x?x4xf32>, %k: index, %r: memref<6x?xi8>) {
  // expected-error @+1 {{'proteus.top_k' op 'row_mask' dim 0 must be batch * heads (8), got 6}}
  proteus.top_k ins(%h, %k : memref<2x?x4xf32>, index) outs(%r : memref<6x?xi8>)
  return
}

// -----

func.func @f(%i: memref<?x?xf32>, %k: index, %m: memref<?x?xi8>) {
  // expected-error @+1 {{'proteus.select_tokens' op threshold must be >= 0, got -1}}
  proteus.select_tokens ins(%i, %k, %k : memref<?x?xf32>, index, index) outs(%m : memref<?x?xi8>) {threshold = -1.0 : f64}
  return
}

// -----

func.func @f(%m: memref<4x8xi8>, %p: memref<16xi64>, %o: memref<5xi64>) {
  // expected-error @+1 {{'proteus.pack' op 'packed_row' holds 16 pairs but the mask can activate 32}}
  %a:3 = proteus.pack ins(%m : memref<4x8xi8>) outs(%p, %p, %o : memref<16xi64>, memref<16xi64>, memref<5xi64>)
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %xd: memref<?x?x?xf32>, %x3: memref<?x?x12xf32>, %w3: memref<36x12xf32>, %q3: memref<?x?x3xf32>) {
  // expected-error @+1 {{'proteus.project' op heads must be >= 1, got 0}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>) outs(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 0 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %xd: memref<?x?x?xf32>, %x3: memref<?x?x12xf32>, %w3: memref<36x12xf32>, %q3: memref<?x?x3xf32>) {
  // expected-error @+1 {{'proteus.project' op 'x' needs a static model width (dim 2)}}
  proteus.project ins(%xd, %w : memref<?x?x?xf32>, memref<192x64xf32>) outs(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %xd: memref<?x?x?xf32>, %x3: memref<?x?x12xf32>, %w3: memref<36x12xf32>, %q3: memref<?x?x3xf32>) {
  // expected-error @+1 {{'proteus.project' op model width 64 must be divisible by heads (5)}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>) outs(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 5 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %xd: memref<?x?x?xf32>, %x3: memref<?x?x12xf32>, %w3: memref<36x12xf32>, %q3: memref<?x?x3xf32>) {
  // expected-error @+1 {{'proteus.project' op RoPE needs an even head dim, got 3}}
  proteus.project ins(%x3, %w3 : memref<?x?x12xf32>, memref<36x12xf32>) outs(%q3, %q3, %q3 : memref<?x?x3xf32>, memref<?x?x3xf32>, memref<?x?x3xf32>) {heads = 4 : i64, rope_base = 10000.0 : f64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %xd: memref<?x?x?xf32>, %x3: memref<?x?x12xf32>, %w3: memref<36x12xf32>, %q3: memref<?x?x3xf32>) {
  // expected-error @+1 {{'proteus.project' op rope_base must be positive, got 0}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>) outs(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64, rope_base = 0.0 : f64}
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf32>, %y: memref<?x?x64xf32>, %od: memref<?x?x?xf32>, %o12: memref<?x?x12xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'y' model width and 'heads_out' head dim must be static}}
  proteus.combine ins(%od, %w : memref<?x?x?xf32>, memref<64x64xf32>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf32>, %y: memref<?x?x64xf32>, %od: memref<?x?x?xf32>, %o12: memref<?x?x12xf32>) {
  // expected-error @+1 {{'proteus.combine' op model width 64 must be a multiple of the head dim 12}}
  proteus.combine ins(%o12, %w : memref<?x?x12xf32>, memref<64x64xf32>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%r: memref<?xi64>, %t: index, %c: memref<?x?xi64>, %l: memref<?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op needs at least one candidate piece (use_local, use_anchors, use_proto)}}
  proteus.shortlist ins(%r : memref<?xi64>) budget(%t, %t, %t, %t, %t, %t) outs(%c, %l : memref<?x?xi64>, memref<?xi64>) {anchor_stride = 4 : i64}
  return
}

// -----

func.func @f(%r: memref<?xi64>, %t: index, %c: memref<?x?xi64>, %l: memref<?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op anchor_stride must be >= 0, got -4}}
  proteus.shortlist ins(%r : memref<?xi64>) budget(%t, %t, %t, %t, %t, %t) outs(%c, %l : memref<?x?xi64>, memref<?xi64>) {anchor_stride = -4 : i64, use_anchors}
  return
}

// -----

func.func @f(%r: memref<?xi64>, %t: index, %c: memref<?x?xi64>, %l: memref<?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op 'scores' must be given exactly when use_proto is set}}
  proteus.shortlist ins(%r : memref<?xi64>) budget(%t, %t, %t, %t, %t, %t) outs(%c, %l : memref<?x?xi64>, memref<?xi64>) {anchor_stride = 4 : i64, use_proto}
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %qh: memref<?x?x16xf16>, %p: memref<?xi64>, %n: index, %c: memref<?x?xi64>, %l: memref<?xi64>, %s: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op needs exactly one candidate source: 'candidates' or 'budget'}}
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) packed(%p, %p, %n : memref<?xi64>, memref<?xi64>, index) outs(%q : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %qh: memref<?x?x16xf16>, %p: memref<?xi64>, %n: index, %c: memref<?x?xi64>, %l: memref<?xi64>, %s: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op 'scores' only feed the in-kernel candidate rule ('budget')}}
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) packed(%p, %p, %n : memref<?xi64>, memref<?xi64>, index) candidates(%c, %l : memref<?x?xi64>, memref<?xi64>) scores(%s : memref<?x?xf32>) outs(%q : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %qh: memref<?x?x16xf16>, %p: memref<?xi64>, %n: index, %c: memref<?x?xi64>, %l: memref<?xi64>, %s: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op 'budget' lists (effective_l, window, local_cap, anchor_cap, proto_cap), got 2 values}}
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) packed(%p, %p, %n : memref<?xi64>, memref<?xi64>, index) budget(%n, %n) outs(%q : memref<?x?x16xf32>) {use_local}
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %qh: memref<?x?x16xf16>, %p: memref<?xi64>, %n: index, %c: memref<?x?xi64>, %l: memref<?xi64>, %s: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op percentile must be in (0, 1], got 0}}
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) packed(%p, %p, %n : memref<?xi64>, memref<?xi64>, index) candidates(%c, %l : memref<?x?xi64>, memref<?xi64>) outs(%q : memref<?x?x16xf32>) {percentile = 0.0 : f64}
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %qh: memref<?x?x16xf16>, %p: memref<?xi64>, %n: index, %c: memref<?x?xi64>, %l: memref<?xi64>, %s: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op 'k' and 'q' must have the same element type}}
  proteus.dense_attention ins(%q, %qh, %q : memref<?x?x16xf32>, memref<?x?x16xf16>, memref<?x?x16xf32>) outs(%q : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %g: memref<?x?x8xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %u6: memref<6xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op decay must be in [0, 1], got 1.5}}
  proteus.proto_update ins(%x, %g : memref<?x?x64xf32>, memref<?x?x8xf32>) inouts(%p, %u, %u : memref<8x64xf32>, memref<8xf32>, memref<8xf32>) {decay = 1.5 : f64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %g: memref<?x?x8xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %u6: memref<6xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op 'usage' dim 0 must be gates (8), got 6}}
  proteus.proto_update ins(%x, %g : memref<?x?x64xf32>, memref<?x?x8xf32>) inouts(%p, %u6, %u : memref<8x64xf32>, memref<6xf32>, memref<8xf32>) {decay = 0.5 : f64}
  return
}
