// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Verifier messages of proteus.shortlist.

func.func @f(%r: memref<?x?xi64>, %t: index, %c: memref<?x?xi64>, %l: memref<?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op operand 'rows' must have rank 1, got 2}}
  proteus.shortlist ins(%r : memref<?x?xi64>) budget(%t, %t, %t, %t, %t, %t)
      outs(%c, %l : memref<?x?xi64>, memref<?xi64>) {anchor_stride = 4 : i64, use_local}
  return
}

// -----

func.func @f(%r: memref<?xi64>, %t: index, %c: memref<?xi64>, %l: memref<?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op operand 'candidates' must have rank 2, got 1}}
  proteus.shortlist ins(%r : memref<?xi64>) budget(%t, %t, %t, %t, %t, %t)
      outs(%c, %l : memref<?xi64>, memref<?xi64>) {anchor_stride = 4 : i64, use_local}
  return
}

// -----

func.func @f(%r: memref<?xi64>, %t: index, %c: memref<?x?xi64>, %l: memref<?x?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op operand 'lengths' must have rank 1, got 2}}
  proteus.shortlist ins(%r : memref<?xi64>) budget(%t, %t, %t, %t, %t, %t)
      outs(%c, %l : memref<?x?xi64>, memref<?x?xi64>) {anchor_stride = 4 : i64, use_local}
  return
}

// -----

func.func @f(%r: memref<8xi64>, %t: index, %c: memref<4x?xi64>, %l: memref<?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op 'candidates' dim 0 (4) must equal 'rows' dim 0 (8)}}
  proteus.shortlist ins(%r : memref<8xi64>) budget(%t, %t, %t, %t, %t, %t)
      outs(%c, %l : memref<4x?xi64>, memref<?xi64>) {anchor_stride = 4 : i64, use_local}
  return
}

// -----

func.func @f(%r: memref<8xi64>, %t: index, %c: memref<?x?xi64>, %l: memref<4xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op 'lengths' dim 0 (4) must equal 'rows' dim 0 (8)}}
  proteus.shortlist ins(%r : memref<8xi64>) budget(%t, %t, %t, %t, %t, %t)
      outs(%c, %l : memref<?x?xi64>, memref<4xi64>) {anchor_stride = 4 : i64, use_local}
  return
}

// -----

func.func @f(%r: memref<?xi64>, %t: index, %c: memref<?x?xi64>, %l: memref<?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op needs at least one candidate piece (use_local, use_anchors, use_proto)}}
  proteus.shortlist ins(%r : memref<?xi64>) budget(%t, %t, %t, %t, %t, %t)
      outs(%c, %l : memref<?x?xi64>, memref<?xi64>) {anchor_stride = 4 : i64}
  return
}

// -----

func.func @f(%r: memref<?xi64>, %t: index, %c: memref<?x?xi64>, %l: memref<?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op anchor_stride must be >= 0, got -4}}
  proteus.shortlist ins(%r : memref<?xi64>) budget(%t, %t, %t, %t, %t, %t)
      outs(%c, %l : memref<?x?xi64>, memref<?xi64>) {anchor_stride = -4 : i64, use_anchors}
  return
}

// -----

func.func @f(%r: memref<?xi64>, %t: index, %c: memref<?x?xi64>, %l: memref<?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op 'scores' must be given exactly when use_proto is set}}
  proteus.shortlist ins(%r : memref<?xi64>) budget(%t, %t, %t, %t, %t, %t)
      outs(%c, %l : memref<?x?xi64>, memref<?xi64>) {anchor_stride = 4 : i64, use_proto}
  return
}

// -----

func.func @f(%r: memref<?xi64>, %s: memref<?x?xf32>, %bi: memref<?xi64>, %t: index, %c: memref<?x?xi64>, %l: memref<?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op 'scores' must be given exactly when use_proto is set}}
  proteus.shortlist ins(%r : memref<?xi64>) scores(%s, %bi : memref<?x?xf32>, memref<?xi64>) budget(%t, %t, %t, %t, %t, %t)
      outs(%c, %l : memref<?x?xi64>, memref<?xi64>) {anchor_stride = 4 : i64, use_local}
  return
}

// -----

func.func @f(%r: memref<?xi64>, %s: memref<?xf32>, %bi: memref<?xi64>, %t: index, %c: memref<?x?xi64>, %l: memref<?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op operand 'scores' must have rank 2, got 1}}
  proteus.shortlist ins(%r : memref<?xi64>) scores(%s, %bi : memref<?xf32>, memref<?xi64>) budget(%t, %t, %t, %t, %t, %t)
      outs(%c, %l : memref<?x?xi64>, memref<?xi64>) {anchor_stride = 4 : i64, use_proto}
  return
}

// -----

func.func @f(%r: memref<?xi64>, %s: memref<?x?xf32>, %bi: memref<?x?xi64>, %t: index, %c: memref<?x?xi64>, %l: memref<?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op operand 'batch_ids' must have rank 1, got 2}}
  proteus.shortlist ins(%r : memref<?xi64>) scores(%s, %bi : memref<?x?xf32>, memref<?x?xi64>) budget(%t, %t, %t, %t, %t, %t)
      outs(%c, %l : memref<?x?xi64>, memref<?xi64>) {anchor_stride = 4 : i64, use_proto}
  return
}

// -----

func.func @f(%r: memref<8xi64>, %s: memref<?x?xf32>, %bi: memref<4xi64>, %t: index, %c: memref<?x?xi64>, %l: memref<?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op 'batch_ids' dim 0 (4) must equal 'rows' dim 0 (8)}}
  proteus.shortlist ins(%r : memref<8xi64>) scores(%s, %bi : memref<?x?xf32>, memref<4xi64>) budget(%t, %t, %t, %t, %t, %t)
      outs(%c, %l : memref<?x?xi64>, memref<?xi64>) {anchor_stride = 4 : i64, use_proto}
  return
}
