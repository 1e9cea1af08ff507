// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Verifier messages of proteus.chunk_nucleus and proteus.shortlist_merge.

func.func @f(%i: memref<?x?xf32>, %p: memref<?xi64>, %s: memref<?xf32>, %c: memref<1xi64>,
             %tp: f32, %b: index) {
  // expected-error @+1 {{'proteus.chunk_nucleus' op operand 'importance' must have rank 1, got 2}}
  proteus.chunk_nucleus ins(%i : memref<?x?xf32>) params(%tp, %b, %b : f32, index, index)
      outs(%p, %s, %c : memref<?xi64>, memref<?xf32>, memref<1xi64>)
  return
}

// -----

func.func @f(%i: memref<?xf32>, %p: memref<?x2xi64>, %s: memref<?xf32>, %c: memref<1xi64>,
             %tp: f32, %b: index) {
  // expected-error @+1 {{'proteus.chunk_nucleus' op operand 'promoted' must have rank 1, got 2}}
  proteus.chunk_nucleus ins(%i : memref<?xf32>) params(%tp, %b, %b : f32, index, index)
      outs(%p, %s, %c : memref<?x2xi64>, memref<?xf32>, memref<1xi64>)
  return
}

// -----

func.func @f(%i: memref<?xf32>, %p: memref<?xi64>, %s: memref<?x1xf32>, %c: memref<1xi64>,
             %tp: f32, %b: index) {
  // expected-error @+1 {{'proteus.chunk_nucleus' op operand 'scores' must have rank 1, got 2}}
  proteus.chunk_nucleus ins(%i : memref<?xf32>) params(%tp, %b, %b : f32, index, index)
      outs(%p, %s, %c : memref<?xi64>, memref<?x1xf32>, memref<1xi64>)
  return
}

// -----

func.func @f(%i: memref<?xf32>, %p: memref<?xi64>, %s: memref<?xf32>, %c: memref<1x1xi64>,
             %tp: f32, %b: index) {
  // expected-error @+1 {{'proteus.chunk_nucleus' op operand 'count' must have rank 1, got 2}}
  proteus.chunk_nucleus ins(%i : memref<?xf32>) params(%tp, %b, %b : f32, index, index)
      outs(%p, %s, %c : memref<?xi64>, memref<?xf32>, memref<1x1xi64>)
  return
}

// -----

func.func @f(%i: memref<?xf32>, %p: memref<8xi64>, %s: memref<7xf32>, %c: memref<1xi64>,
             %tp: f32, %b: index) {
  // expected-error @+1 {{'proteus.chunk_nucleus' op 'scores' dim 0 (7) must equal 'promoted' dim 0 (8)}}
  proteus.chunk_nucleus ins(%i : memref<?xf32>) params(%tp, %b, %b : f32, index, index)
      outs(%p, %s, %c : memref<8xi64>, memref<7xf32>, memref<1xi64>)
  return
}

// -----

func.func @f(%i: memref<?xf32>, %p: memref<?xi64>, %s: memref<?xf32>, %c: memref<2xi64>,
             %tp: f32, %b: index) {
  // expected-error @+1 {{'proteus.chunk_nucleus' op 'count' dim 0 must be 1 (1), got 2}}
  proteus.chunk_nucleus ins(%i : memref<?xf32>) params(%tp, %b, %b : f32, index, index)
      outs(%p, %s, %c : memref<?xi64>, memref<?xf32>, memref<2xi64>)
  return
}

// -----

func.func @f(%i: memref<?xf32>, %m: memref<?x?xi8>, %p: memref<?xi64>, %s: memref<?xf32>,
             %c: memref<1xi64>, %tp: f32, %b: index) {
  // expected-error @+1 {{'proteus.chunk_nucleus' op operand 'token_mask' must have rank 1, got 2}}
  proteus.chunk_nucleus ins(%i, %m : memref<?xf32>, memref<?x?xi8>)
      params(%tp, %b, %b : f32, index, index)
      outs(%p, %s, %c : memref<?xi64>, memref<?xf32>, memref<1xi64>)
  return
}

// -----

func.func @f(%i: memref<16xf32>, %m: memref<15xi8>, %p: memref<?xi64>, %s: memref<?xf32>,
             %c: memref<1xi64>, %tp: f32, %b: index) {
  // expected-error @+1 {{'proteus.chunk_nucleus' op 'token_mask' dim 0 (15) must equal 'importance' dim 0 (16)}}
  proteus.chunk_nucleus ins(%i, %m : memref<16xf32>, memref<15xi8>)
      params(%tp, %b, %b : f32, index, index)
      outs(%p, %s, %c : memref<?xi64>, memref<?xf32>, memref<1xi64>)
  return
}

// -----

func.func @f(%i: memref<?xf32>, %p: memref<?xi64>, %s: memref<?xf32>, %c: memref<1xi64>,
             %b: index) {
  %tp = arith.constant 0.0 : f32
  // expected-error @+1 {{'proteus.chunk_nucleus' op top_p must be in (0, 1], got 0}}
  proteus.chunk_nucleus ins(%i : memref<?xf32>) params(%tp, %b, %b : f32, index, index)
      outs(%p, %s, %c : memref<?xi64>, memref<?xf32>, memref<1xi64>)
  return
}

// -----

func.func @f(%x: memref<?x?xi64>, %sc: memref<?xf32>, %k: memref<?xi64>, %ks: memref<?xf32>,
             %c: memref<1xi64>) {
  // expected-error @+1 {{'proteus.shortlist_merge' op operand 'indices' must have rank 1, got 2}}
  proteus.shortlist_merge ins(%x, %sc : memref<?x?xi64>, memref<?xf32>)
      outs(%k, %ks, %c : memref<?xi64>, memref<?xf32>, memref<1xi64>)
  return
}

// -----

func.func @f(%x: memref<?xi64>, %sc: memref<?x?xf32>, %k: memref<?xi64>, %ks: memref<?xf32>,
             %c: memref<1xi64>) {
  // expected-error @+1 {{'proteus.shortlist_merge' op operand 'scores' must have rank 1, got 2}}
  proteus.shortlist_merge ins(%x, %sc : memref<?xi64>, memref<?x?xf32>)
      outs(%k, %ks, %c : memref<?xi64>, memref<?xf32>, memref<1xi64>)
  return
}

// -----

func.func @f(%x: memref<?xi64>, %sc: memref<?xf32>, %k: memref<?x?xi64>, %ks: memref<?xf32>,
             %c: memref<1xi64>) {
  // expected-error @+1 {{'proteus.shortlist_merge' op operand 'keep' must have rank 1, got 2}}
  proteus.shortlist_merge ins(%x, %sc : memref<?xi64>, memref<?xf32>)
      outs(%k, %ks, %c : memref<?x?xi64>, memref<?xf32>, memref<1xi64>)
  return
}

// -----

func.func @f(%x: memref<?xi64>, %sc: memref<?xf32>, %k: memref<?xi64>, %ks: memref<?x?xf32>,
             %c: memref<1xi64>) {
  // expected-error @+1 {{'proteus.shortlist_merge' op operand 'keep_scores' must have rank 1, got 2}}
  proteus.shortlist_merge ins(%x, %sc : memref<?xi64>, memref<?xf32>)
      outs(%k, %ks, %c : memref<?xi64>, memref<?x?xf32>, memref<1xi64>)
  return
}

// -----

func.func @f(%x: memref<?xi64>, %sc: memref<?xf32>, %k: memref<?xi64>, %ks: memref<?xf32>,
             %c: memref<?x1xi64>) {
  // expected-error @+1 {{'proteus.shortlist_merge' op operand 'count' must have rank 1, got 2}}
  proteus.shortlist_merge ins(%x, %sc : memref<?xi64>, memref<?xf32>)
      outs(%k, %ks, %c : memref<?xi64>, memref<?xf32>, memref<?x1xi64>)
  return
}

// -----

func.func @f(%x: memref<5xi64>, %sc: memref<4xf32>, %k: memref<?xi64>, %ks: memref<?xf32>,
             %c: memref<1xi64>) {
  // expected-error @+1 {{'proteus.shortlist_merge' op 'scores' dim 0 (4) must equal 'indices' dim 0 (5)}}
  proteus.shortlist_merge ins(%x, %sc : memref<5xi64>, memref<4xf32>)
      outs(%k, %ks, %c : memref<?xi64>, memref<?xf32>, memref<1xi64>)
  return
}

// -----

func.func @f(%x: memref<?xi64>, %sc: memref<?xf32>, %k: memref<3xi64>, %ks: memref<2xf32>,
             %c: memref<1xi64>) {
  // expected-error @+1 {{'proteus.shortlist_merge' op 'keep_scores' dim 0 (2) must equal 'keep' dim 0 (3)}}
  proteus.shortlist_merge ins(%x, %sc : memref<?xi64>, memref<?xf32>)
      outs(%k, %ks, %c : memref<3xi64>, memref<2xf32>, memref<1xi64>)
  return
}

// -----

func.func @f(%x: memref<?xi64>, %sc: memref<?xf32>, %k: memref<?xi64>, %ks: memref<?xf32>,
             %c: memref<3xi64>) {
  // expected-error @+1 {{'proteus.shortlist_merge' op 'count' dim 0 must be 1 (1), got 3}}
  proteus.shortlist_merge ins(%x, %sc : memref<?xi64>, memref<?xf32>)
      outs(%k, %ks, %c : memref<?xi64>, memref<?xf32>, memref<3xi64>)
  return
}
