// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Verifier messages of proteus.shortlist_attention other than its q/k/v/out
// checks (those: invalid-attention-qkv.mlir).

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<?x?xi64>, %pt: memref<?xi64>, %n: index, %c: memref<?x?xi64>, %l: memref<?xi64>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op operand 'packed_row' must have rank 1, got 2}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?x?xi64>, memref<?xi64>, index) candidates(%c, %l : memref<?x?xi64>, memref<?xi64>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?x?xi64>, %n: index, %c: memref<?x?xi64>, %l: memref<?xi64>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op operand 'packed_token' must have rank 1, got 2}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?x?xi64>, index) candidates(%c, %l : memref<?x?xi64>, memref<?xi64>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<16xi64>, %pt: memref<8xi64>, %n: index, %c: memref<?x?xi64>, %l: memref<?xi64>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op 'packed_token' dim 0 (8) must equal 'packed_row' dim 0 (16)}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<16xi64>, memref<8xi64>, index) candidates(%c, %l : memref<?x?xi64>, memref<?xi64>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op needs exactly one candidate source: 'candidates' or 'budget'}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index, %c: memref<?x?xi64>, %l: memref<?xi64>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op needs exactly one candidate source: 'candidates' or 'budget'}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index) candidates(%c, %l : memref<?x?xi64>, memref<?xi64>) budget(%n, %n, %n, %n, %n) outs(%o : memref<?x?x16xf32>) {use_local}
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index, %c: memref<?xi64>, %l: memref<?xi64>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op operand 'candidates' must have rank 2, got 1}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index) candidates(%c, %l : memref<?xi64>, memref<?xi64>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index, %c: memref<?x?xi64>, %l: memref<?x?xi64>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op operand 'lengths' must have rank 1, got 2}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index) candidates(%c, %l : memref<?x?xi64>, memref<?x?xi64>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<8xi64>, %pt: memref<8xi64>, %n: index, %c: memref<4x?xi64>, %l: memref<?xi64>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op 'candidates' dim 0 (4) must equal 'packed_row' dim 0 (8)}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<8xi64>, memref<8xi64>, index) candidates(%c, %l : memref<4x?xi64>, memref<?xi64>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<8xi64>, %pt: memref<8xi64>, %n: index, %c: memref<?x?xi64>, %l: memref<4xi64>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op 'lengths' dim 0 (4) must equal 'packed_row' dim 0 (8)}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<8xi64>, memref<8xi64>, index) candidates(%c, %l : memref<?x?xi64>, memref<4xi64>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index, %c: memref<?x?xi64>, %l: memref<?xi64>, %s: memref<?x?xf32>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op 'scores' only feed the in-kernel candidate rule ('budget')}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index) candidates(%c, %l : memref<?x?xi64>, memref<?xi64>) scores(%s : memref<?x?xf32>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op 'budget' lists (effective_l, window, local_cap, anchor_cap, proto_cap), got 2 values}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index) budget(%n, %n) outs(%o : memref<?x?x16xf32>) {use_local}
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op needs at least one candidate piece (use_local, use_anchors, use_proto)}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index) budget(%n, %n, %n, %n, %n) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op anchor_stride must be >= 0, got -1}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index) budget(%n, %n, %n, %n, %n) outs(%o : memref<?x?x16xf32>) {anchor_stride = -1 : i64, use_local}
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op 'scores' must be given exactly when use_proto is set}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index) budget(%n, %n, %n, %n, %n) outs(%o : memref<?x?x16xf32>) {use_proto}
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index, %s: memref<?xf32>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op operand 'scores' must have rank 2, got 1}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index) budget(%n, %n, %n, %n, %n) scores(%s : memref<?xf32>) outs(%o : memref<?x?x16xf32>) {use_proto}
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index, %c: memref<?x?xi64>, %l: memref<?xi64>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op percentile must be in (0, 1], got 0}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index) candidates(%c, %l : memref<?x?xi64>, memref<?xi64>) outs(%o : memref<?x?x16xf32>) {percentile = 0.0 : f64}
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index, %c: memref<?x?xi64>, %l: memref<?xi64>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op percentile must be in (0, 1], got 1.5}}
  proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index) candidates(%c, %l : memref<?x?xi64>, memref<?xi64>) outs(%o : memref<?x?x16xf32>) {percentile = 1.5 : f64}
  return
}
