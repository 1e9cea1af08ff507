// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Verifier messages of proteus.dense_attention: the q/k/v/out checks it shares
// with proteus.shortlist_attention (invalid-attention-qkv.mlir).

func.func @f(%q: memref<?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op operand 'q' must have rank 3, got 2}}
  proteus.dense_attention ins(%q, %k, %v : memref<?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x16xf32>, %v: memref<?x?x16xf32>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op operand 'k' must have rank 3, got 2}}
  proteus.dense_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x16xf32>, memref<?x?x16xf32>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x16xf32>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op operand 'v' must have rank 3, got 2}}
  proteus.dense_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x16xf32>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %o: memref<?x16xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op operand 'out' must have rank 3, got 2}}
  proteus.dense_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) outs(%o : memref<?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<4x?x16xf32>, %k: memref<2x?x16xf32>, %v: memref<?x?x16xf32>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op 'k' dim 0 (2) must equal 'q' dim 0 (4)}}
  proteus.dense_attention ins(%q, %k, %v : memref<4x?x16xf32>, memref<2x?x16xf32>, memref<?x?x16xf32>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x8x16xf32>, %k: memref<?x6x16xf32>, %v: memref<?x?x16xf32>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op 'k' dim 1 (6) must equal 'q' dim 1 (8)}}
  proteus.dense_attention ins(%q, %k, %v : memref<?x8x16xf32>, memref<?x6x16xf32>, memref<?x?x16xf32>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x8xf32>, %v: memref<?x?x16xf32>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op 'k' dim 2 (8) must equal 'q' dim 2 (16)}}
  proteus.dense_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x8xf32>, memref<?x?x16xf32>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<4x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<2x?x16xf32>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op 'v' dim 0 (2) must equal 'q' dim 0 (4)}}
  proteus.dense_attention ins(%q, %k, %v : memref<4x?x16xf32>, memref<?x?x16xf32>, memref<2x?x16xf32>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x8x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x6x16xf32>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op 'v' dim 1 (6) must equal 'q' dim 1 (8)}}
  proteus.dense_attention ins(%q, %k, %v : memref<?x8x16xf32>, memref<?x?x16xf32>, memref<?x6x16xf32>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x8xf32>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op 'v' dim 2 (8) must equal 'q' dim 2 (16)}}
  proteus.dense_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x8xf32>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<4x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %o: memref<2x?x16xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op 'out' dim 0 (2) must equal 'q' dim 0 (4)}}
  proteus.dense_attention ins(%q, %k, %v : memref<4x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) outs(%o : memref<2x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x8x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %o: memref<?x6x16xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op 'out' dim 1 (6) must equal 'q' dim 1 (8)}}
  proteus.dense_attention ins(%q, %k, %v : memref<?x8x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) outs(%o : memref<?x6x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %o: memref<?x?x8xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op 'out' dim 2 (8) must equal 'q' dim 2 (16)}}
  proteus.dense_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) outs(%o : memref<?x?x8xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf16>, %v: memref<?x?x16xf32>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op 'k' and 'q' must have the same element type}}
  proteus.dense_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf16>, memref<?x?x16xf32>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf16>, %o: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.dense_attention' op 'v' and 'q' must have the same element type}}
  proteus.dense_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf16>) outs(%o : memref<?x?x16xf32>)
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>, %o: memref<?x?x16xf16>) {
  // expected-error @+1 {{'proteus.dense_attention' op 'out' and 'q' must have the same element type}}
  proteus.dense_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) outs(%o : memref<?x?x16xf16>)
  return
}
