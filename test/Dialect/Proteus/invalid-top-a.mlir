// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Verifier messages of proteus.top_a and of the head consensus operand of
// proteus.layer and proteus.combine.

func.func @f(%l: memref<?xf32>, %c: memref<?x8xf32>, %e: memref<?x8xf32>, %u: memref<?xf32>,
             %k: memref<?x?xi64>, %p: memref<?x?xf32>, %n: memref<?x2xi64>, %s: memref<?xi64>,
             %x: f32) {
  // expected-error @+1 {{'proteus.top_a' op operand 'logits' must have rank 2, got 1}}
  proteus.top_a ins(%l, %c, %e, %u : memref<?xf32>, memref<?x8xf32>, memref<?x8xf32>, memref<?xf32>)
      params(%x, %x, %x, %x : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<blend>}
  return
}

// -----

func.func @f(%l: memref<2x100xf32>, %c: memref<3x8xf32>, %e: memref<?x8xf32>, %u: memref<?xf32>,
             %k: memref<?x?xi64>, %p: memref<?x?xf32>, %n: memref<?x2xi64>, %s: memref<?xi64>,
             %x: f32) {
  // expected-error @+1 {{'proteus.top_a' op 'consensus' dim 0 (3) must equal 'logits' dim 0 (2)}}
  proteus.top_a ins(%l, %c, %e, %u : memref<2x100xf32>, memref<3x8xf32>, memref<?x8xf32>, memref<?xf32>)
      params(%x, %x, %x, %x : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<blend>}
  return
}

// -----

func.func @f(%l: memref<?x100xf32>, %c: memref<?x8xf32>, %e: memref<99x8xf32>, %u: memref<?xf32>,
             %k: memref<?x?xi64>, %p: memref<?x?xf32>, %n: memref<?x2xi64>, %s: memref<?xi64>,
             %x: f32) {
  // expected-error @+1 {{'proteus.top_a' op 'embedding' dim 0 (99) must equal 'logits' dim 1 (100)}}
  proteus.top_a ins(%l, %c, %e, %u : memref<?x100xf32>, memref<?x8xf32>, memref<99x8xf32>, memref<?xf32>)
      params(%x, %x, %x, %x : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<blend>}
  return
}

// -----

func.func @f(%l: memref<?x?xf32>, %c: memref<?x8xf32>, %e: memref<?x16xbf16>, %u: memref<?xf32>,
             %k: memref<?x?xi64>, %p: memref<?x?xf32>, %n: memref<?x2xi64>, %s: memref<?xi64>,
             %x: f32) {
  // expected-error @+1 {{'proteus.top_a' op 'embedding' dim 1 (16) must equal 'consensus' dim 1 (8)}}
  proteus.top_a ins(%l, %c, %e, %u : memref<?x?xf32>, memref<?x8xf32>, memref<?x16xbf16>, memref<?xf32>)
      params(%x, %x, %x, %x : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<blend>}
  return
}

// -----

func.func @f(%l: memref<4x?xf32>, %c: memref<?x8xf32>, %e: memref<?x8xf32>, %u: memref<3xf32>,
             %k: memref<?x?xi64>, %p: memref<?x?xf32>, %n: memref<?x2xi64>, %s: memref<?xi64>,
             %x: f32) {
  // expected-error @+1 {{'proteus.top_a' op 'uniform' dim 0 (3) must equal 'logits' dim 0 (4)}}
  proteus.top_a ins(%l, %c, %e, %u : memref<4x?xf32>, memref<?x8xf32>, memref<?x8xf32>, memref<3xf32>)
      params(%x, %x, %x, %x : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<blend>}
  return
}

// -----

func.func @f(%l: memref<?x100xf32>, %c: memref<?x8xf32>, %e: memref<?x8xf32>, %u: memref<?xf32>,
             %k: memref<?x50xi64>, %p: memref<?x?xf32>, %n: memref<?x2xi64>, %s: memref<?xi64>,
             %x: f32) {
  // expected-error @+1 {{'proteus.top_a' op 'kept' dim 1 (50) must equal 'logits' dim 1 (100)}}
  proteus.top_a ins(%l, %c, %e, %u : memref<?x100xf32>, memref<?x8xf32>, memref<?x8xf32>, memref<?xf32>)
      params(%x, %x, %x, %x : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x50xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<blend>}
  return
}

// -----

func.func @f(%l: memref<?x100xf32>, %c: memref<?x8xf32>, %e: memref<?x8xf32>, %u: memref<?xf32>,
             %k: memref<?x?xi64>, %p: memref<?x99xf32>, %n: memref<?x2xi64>, %s: memref<?xi64>,
             %x: f32) {
  // expected-error @+1 {{'proteus.top_a' op 'probs' dim 1 (99) must equal 'logits' dim 1 (100)}}
  proteus.top_a ins(%l, %c, %e, %u : memref<?x100xf32>, memref<?x8xf32>, memref<?x8xf32>, memref<?xf32>)
      params(%x, %x, %x, %x : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x99xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<blend>}
  return
}

// -----

func.func @f(%l: memref<?x?xf32>, %c: memref<?x8xf32>, %e: memref<?x8xf32>, %u: memref<?xf32>,
             %k: memref<?x?xi64>, %p: memref<?x?xf32>, %n: memref<?x3xi64>, %s: memref<?xi64>,
             %x: f32) {
  // expected-error @+1 {{'proteus.top_a' op 'counts' dim 1 must be 2 (nucleus, kept) (2), got 3}}
  proteus.top_a ins(%l, %c, %e, %u : memref<?x?xf32>, memref<?x8xf32>, memref<?x8xf32>, memref<?xf32>)
      params(%x, %x, %x, %x : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x3xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<blend>}
  return
}

// -----

func.func @f(%l: memref<2x?xf32>, %c: memref<?x8xf32>, %e: memref<?x8xf32>, %u: memref<?xf32>,
             %k: memref<?x?xi64>, %p: memref<?x?xf32>, %n: memref<?x2xi64>, %s: memref<5xi64>,
             %x: f32) {
  // expected-error @+1 {{'proteus.top_a' op 'sample' dim 0 (5) must equal 'logits' dim 0 (2)}}
  proteus.top_a ins(%l, %c, %e, %u : memref<2x?xf32>, memref<?x8xf32>, memref<?x8xf32>, memref<?xf32>)
      params(%x, %x, %x, %x : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<5xi64>)
      {mode = #proteus.top_a_mode<blend>}
  return
}

// -----

func.func @f(%l: memref<?x?xf32>, %c: memref<?x8xf32>, %e: memref<?x8xf32>, %u: memref<?xf32>,
             %k: memref<?x?xi64>, %p: memref<?x?xf32>, %n: memref<?x2xi64>, %s: memref<?xi64>,
             %x: f32) {
  %tp = arith.constant 1.5 : f32
  // expected-error @+1 {{'proteus.top_a' op top_p must be in [0, 1], got 1.5}}
  proteus.top_a ins(%l, %c, %e, %u : memref<?x?xf32>, memref<?x8xf32>, memref<?x8xf32>, memref<?xf32>)
      params(%tp, %x, %x, %x : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<blend>}
  return
}

// -----

func.func @f(%l: memref<?x?xf32>, %c: memref<?x8xf32>, %e: memref<?x8xf32>, %u: memref<?xf32>,
             %k: memref<?x?xi64>, %p: memref<?x?xf32>, %n: memref<?x2xi64>, %s: memref<?xi64>,
             %x: f32) {
  %tau = arith.constant 0.0 : f32
  // expected-error @+1 {{'proteus.top_a' op tau must be positive and finite, got 0}}
  proteus.top_a ins(%l, %c, %e, %u : memref<?x?xf32>, memref<?x8xf32>, memref<?x8xf32>, memref<?xf32>)
      params(%x, %x, %tau, %x : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<blend>}
  return
}

// -----

func.func @f(%l: memref<?x?xf32>, %c: memref<?x8xf32>, %e: memref<?x8xf32>, %u: memref<?xf32>,
             %k: memref<?x?xi64>, %p: memref<?x?xf32>, %n: memref<?x2xi64>, %s: memref<?xi64>,
             %x: f32) {
  %lam = arith.constant 0x7F800000 : f32
  // expected-error @+1 {{'proteus.top_a' op lambda must be finite, got INF}}
  proteus.top_a ins(%l, %c, %e, %u : memref<?x?xf32>, memref<?x8xf32>, memref<?x8xf32>, memref<?xf32>)
      params(%x, %lam, %x, %x : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<blend>}
  return
}

// -----

func.func @f(%l: memref<?x?xf32>, %c: memref<?x8xf32>, %e: memref<?x8xf32>, %u: memref<?xf32>,
             %k: memref<?x?xi64>, %p: memref<?x?xf32>, %n: memref<?x2xi64>, %s: memref<?xi64>,
             %x: f32) {
  %th = arith.constant 0x7FC00000 : f32
  // expected-error @+1 {{'proteus.top_a' op threshold must not be NaN}}
  proteus.top_a ins(%l, %c, %e, %u : memref<?x?xf32>, memref<?x8xf32>, memref<?x8xf32>, memref<?xf32>)
      params(%x, %x, %x, %th : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<filter>}
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf32>, %y: memref<?x?x64xf32>,
             %cons: memref<?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op operand 'consensus' must have rank 3, got 2}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x64xf32>) outs(%y : memref<?x?x64xf32>)
      consensus(%cons : memref<?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf32>, %y: memref<?x?x64xf32>,
             %cons: memref<?x1x32xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'consensus' dim 2 (32) must equal 'y' dim 2 (64)}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x64xf32>) outs(%y : memref<?x?x64xf32>)
      consensus(%cons : memref<?x1x32xf32>)
  return
}

// -----

func.func @f(%o: memref<8x?x16xf32>, %w: memref<64x64xf32>, %y: memref<2x?x64xf32>,
             %cons: memref<3x1x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'consensus' dim 0 (3) must equal 'y' dim 0 (2)}}
  proteus.combine ins(%o, %w : memref<8x?x16xf32>, memref<64x64xf32>) outs(%y : memref<2x?x64xf32>)
      consensus(%cons : memref<3x1x64xf32>)
  return
}

// -----

func.func @f(%x: memref<1x4x64xf32>, %wqkv: memref<192x64xf32>, %wproj: memref<64x64xf32>,
             %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<1x4x64xf32>,
             %mask: memref<1x4xi8>, %imp: memref<1x4xf32>, %stats: memref<16xi64>,
             %cons: memref<1x5x64xf32>) {
  // expected-error @+1 {{'proteus.layer' op 'consensus' holds 5 positions, more than the 4 of 'x'}}
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<1x4x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<1x4x64xf32>, memref<1x4xi8>, memref<1x4xf32>,
           memref<16xi64>)
      consensus(%cons : memref<1x5x64xf32>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}
