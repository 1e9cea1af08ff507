// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Verifier messages of the gating primitives (top_p, top_k, select_tokens, pack)
// and proto_update. The other ops: invalid-<op>*.mlir; the attributes:
// invalid-attrs.mlir.

func.func @f(%h: memref<?x4xf32>, %k: index) {
  // expected-error @+1 {{'proteus.top_p' op operand 'head_probs' must have rank 3, got 2}}
  %a, %n = proteus.top_p %h, %k {top_p = 0.9 : f64, h_min = 1 : i64} : memref<?x4xf32>
  return
}

// -----

func.func @f(%h: memref<?x?x4xf32>, %k: index) {
  // expected-error @+1 {{'proteus.top_p' op top_p must be in (0, 1], got 0}}
  %a, %n = proteus.top_p %h, %k {top_p = 0.0 : f64, h_min = 1 : i64} : memref<?x?x4xf32>
  return
}

// -----

func.func @f(%h: memref<?x?x4xf32>, %k: index) {
  // expected-error @+1 {{'proteus.top_p' op top_p must be in (0, 1], got 1.5}}
  %a, %n = proteus.top_p %h, %k {top_p = 1.5 : f64, h_min = 1 : i64} : memref<?x?x4xf32>
  return
}

// -----

func.func @f(%h: memref<?x?x4xf32>, %k: index) {
  // expected-error @+1 {{'proteus.top_p' op h_min must be >= 1, got 0}}
  %a, %n = proteus.top_p %h, %k {top_p = 0.9 : f64, h_min = 0 : i64} : memref<?x?x4xf32>
  return
}

// -----

func.func @f(%h: memref<?x?x4xf32>, %k: index) {
  // expected-error @+1 {{'proteus.top_p' op h_min (5) must not exceed the head count (4)}}
  %a, %n = proteus.top_p %h, %k {top_p = 0.9 : f64, h_min = 5 : i64} : memref<?x?x4xf32>
  return
}

// -----

func.func @f(%h: memref<?x4xf32>, %k: index, %r: memref<?x?xi8>) {
  // expected-error @+1 {{'proteus.top_k' op operand 'head_probs' must have rank 3, got 2}}
  proteus.top_k ins(%h, %k : memref<?x4xf32>, index) outs(%r : memref<?x?xi8>)
  return
}

// -----

func.func @f(%h: memref<?x?x4xf32>, %k: index, %r: memref<?xi8>) {
  // expected-error @+1 {{'proteus.top_k' op operand 'row_mask' must have rank 2, got 1}}
  proteus.top_k ins(%h, %k : memref<?x?x4xf32>, index) outs(%r : memref<?xi8>)
  return
}

// -----

func.func @f(%h: memref<2x?x4xf32>, %k: index, %r: memref<6x?xi8>) {
  // expected-error @+1 {{'proteus.top_k' op 'row_mask' dim 0 must be batch * heads (8), got 6}}
  proteus.top_k ins(%h, %k : memref<2x?x4xf32>, index) outs(%r : memref<6x?xi8>)
  return
}

// -----

func.func @f(%h: memref<?x7x4xf32>, %k: index, %r: memref<?x5xi8>) {
  // expected-error @+1 {{'proteus.top_k' op 'row_mask' dim 1 (5) must equal 'head_probs' dim 1 (7)}}
  proteus.top_k ins(%h, %k : memref<?x7x4xf32>, index) outs(%r : memref<?x5xi8>)
  return
}

// -----

func.func @f(%h: memref<?x?x4xf32>, %k: index, %tm: memref<?xi8>, %r: memref<?x?xi8>) {
  // expected-error @+1 {{'proteus.top_k' op operand 'token_mask' must have rank 2, got 1}}
  proteus.top_k ins(%h, %k : memref<?x?x4xf32>, index) token_mask(%tm : memref<?xi8>) outs(%r : memref<?x?xi8>)
  return
}

// -----

func.func @f(%h: memref<3x?x4xf32>, %k: index, %tm: memref<2x?xi8>, %r: memref<?x?xi8>) {
  // expected-error @+1 {{'proteus.top_k' op 'token_mask' dim 0 (2) must equal 'head_probs' dim 0 (3)}}
  proteus.top_k ins(%h, %k : memref<3x?x4xf32>, index) token_mask(%tm : memref<2x?xi8>) outs(%r : memref<?x?xi8>)
  return
}

// -----

func.func @f(%h: memref<?x7x4xf32>, %k: index, %tm: memref<?x5xi8>, %r: memref<?x?xi8>) {
  // expected-error @+1 {{'proteus.top_k' op 'token_mask' dim 1 (5) must equal 'head_probs' dim 1 (7)}}
  proteus.top_k ins(%h, %k : memref<?x7x4xf32>, index) token_mask(%tm : memref<?x5xi8>) outs(%r : memref<?x?xi8>)
  return
}

// -----

func.func @f(%i: memref<?xf32>, %k: index, %m: memref<?x?xi8>) {
  // expected-error @+1 {{'proteus.select_tokens' op operand 'importance' must have rank 2, got 1}}
  proteus.select_tokens ins(%i, %k, %k : memref<?xf32>, index, index) outs(%m : memref<?x?xi8>) {threshold = 0.0 : f64}
  return
}

// -----

func.func @f(%i: memref<?x?xf32>, %k: index, %m: memref<?xi8>) {
  // expected-error @+1 {{'proteus.select_tokens' op operand 'token_mask' must have rank 2, got 1}}
  proteus.select_tokens ins(%i, %k, %k : memref<?x?xf32>, index, index) outs(%m : memref<?xi8>) {threshold = 0.0 : f64}
  return
}

// -----

func.func @f(%i: memref<3x?xf32>, %k: index, %m: memref<2x?xi8>) {
  // expected-error @+1 {{'proteus.select_tokens' op 'token_mask' dim 0 (2) must equal 'importance' dim 0 (3)}}
  proteus.select_tokens ins(%i, %k, %k : memref<3x?xf32>, index, index) outs(%m : memref<2x?xi8>) {threshold = 0.0 : f64}
  return
}

// -----

func.func @f(%i: memref<?x7xf32>, %k: index, %m: memref<?x5xi8>) {
  // expected-error @+1 {{'proteus.select_tokens' op 'token_mask' dim 1 (5) must equal 'importance' dim 1 (7)}}
  proteus.select_tokens ins(%i, %k, %k : memref<?x7xf32>, index, index) outs(%m : memref<?x5xi8>) {threshold = 0.0 : f64}
  return
}

// -----

func.func @f(%i: memref<?x?xf32>, %k: index, %m: memref<?x?xi8>) {
  // expected-error @+1 {{'proteus.select_tokens' op threshold must be >= 0, got -1}}
  proteus.select_tokens ins(%i, %k, %k : memref<?x?xf32>, index, index) outs(%m : memref<?x?xi8>) {threshold = -1.0 : f64}
  return
}

// -----

func.func @f(%m: memref<?xi8>, %pr: memref<?xi64>, %pt: memref<?xi64>, %o: memref<?xi64>) {
  // expected-error @+1 {{'proteus.pack' op operand 'row_mask' must have rank 2, got 1}}
  %a:3 = proteus.pack ins(%m : memref<?xi8>) outs(%pr, %pt, %o : memref<?xi64>, memref<?xi64>, memref<?xi64>)
  return
}

// -----

func.func @f(%m: memref<?x?xi8>, %pr: memref<?x?xi64>, %pt: memref<?xi64>, %o: memref<?xi64>) {
  // expected-error @+1 {{'proteus.pack' op operand 'packed_row' must have rank 1, got 2}}
  %a:3 = proteus.pack ins(%m : memref<?x?xi8>) outs(%pr, %pt, %o : memref<?x?xi64>, memref<?xi64>, memref<?xi64>)
  return
}

// -----

func.func @f(%m: memref<?x?xi8>, %pr: memref<?xi64>, %pt: memref<?x?xi64>, %o: memref<?xi64>) {
  // expected-error @+1 {{'proteus.pack' op operand 'packed_token' must have rank 1, got 2}}
  %a:3 = proteus.pack ins(%m : memref<?x?xi8>) outs(%pr, %pt, %o : memref<?xi64>, memref<?x?xi64>, memref<?xi64>)
  return
}

// -----

func.func @f(%m: memref<?x?xi8>, %pr: memref<?xi64>, %pt: memref<?xi64>, %o: memref<?x?xi64>) {
  // expected-error @+1 {{'proteus.pack' op operand 'row_offsets' must have rank 1, got 2}}
  %a:3 = proteus.pack ins(%m : memref<?x?xi8>) outs(%pr, %pt, %o : memref<?xi64>, memref<?xi64>, memref<?x?xi64>)
  return
}

// -----

func.func @f(%m: memref<?x?xi8>, %pr: memref<16xi64>, %pt: memref<8xi64>, %o: memref<?xi64>) {
  // expected-error @+1 {{'proteus.pack' op 'packed_token' dim 0 (8) must equal 'packed_row' dim 0 (16)}}
  %a:3 = proteus.pack ins(%m : memref<?x?xi8>) outs(%pr, %pt, %o : memref<16xi64>, memref<8xi64>, memref<?xi64>)
  return
}

// -----

func.func @f(%m: memref<4x?xi8>, %pr: memref<?xi64>, %pt: memref<?xi64>, %o: memref<4xi64>) {
  // expected-error @+1 {{'proteus.pack' op 'row_offsets' dim 0 must be rows + 1 (5), got 4}}
  %a:3 = proteus.pack ins(%m : memref<4x?xi8>) outs(%pr, %pt, %o : memref<?xi64>, memref<?xi64>, memref<4xi64>)
  return
}

// -----

func.func @f(%m: memref<4x8xi8>, %pr: memref<16xi64>, %pt: memref<16xi64>, %o: memref<5xi64>) {
  // expected-error @+1 {{'proteus.pack' op 'packed_row' holds 16 pairs but the mask can activate 32}}
  %a:3 = proteus.pack ins(%m : memref<4x8xi8>) outs(%pr, %pt, %o : memref<16xi64>, memref<16xi64>, memref<5xi64>)
  return
}

// -----

func.func @f(%x: memref<?x64xf32>, %g: memref<?x?x8xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op operand 'x' must have rank 3, got 2}}
  proteus.proto_update ins(%x, %g : memref<?x64xf32>, memref<?x?x8xf32>)
      inouts(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>) {decay = 0.5 : f64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %g: memref<?x8xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op operand 'gates' must have rank 3, got 2}}
  proteus.proto_update ins(%x, %g : memref<?x?x64xf32>, memref<?x8xf32>)
      inouts(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>) {decay = 0.5 : f64}
  return
}

// -----

func.func @f(%x: memref<3x?x64xf32>, %g: memref<2x?x8xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op 'gates' dim 0 (2) must equal 'x' dim 0 (3)}}
  proteus.proto_update ins(%x, %g : memref<3x?x64xf32>, memref<2x?x8xf32>)
      inouts(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>) {decay = 0.5 : f64}
  return
}

// -----

func.func @f(%x: memref<?x7x64xf32>, %g: memref<?x5x8xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op 'gates' dim 1 (5) must equal 'x' dim 1 (7)}}
  proteus.proto_update ins(%x, %g : memref<?x7x64xf32>, memref<?x5x8xf32>)
      inouts(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>) {decay = 0.5 : f64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %g: memref<?x?x8xf32>, %p: memref<512xf32>, %u: memref<8xf32>, %c: memref<8xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op operand 'prototypes' must have rank 2, got 1}}
  proteus.proto_update ins(%x, %g : memref<?x?x64xf32>, memref<?x?x8xf32>)
      inouts(%p, %u, %c : memref<512xf32>, memref<8xf32>, memref<8xf32>) {decay = 0.5 : f64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %g: memref<?x?x8xf32>, %p: memref<4x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op 'prototypes' dim 0 must be gates (8), got 4}}
  proteus.proto_update ins(%x, %g : memref<?x?x64xf32>, memref<?x?x8xf32>)
      inouts(%p, %u, %c : memref<4x64xf32>, memref<8xf32>, memref<8xf32>) {decay = 0.5 : f64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %g: memref<?x?x8xf32>, %p: memref<8x32xf32>, %u: memref<8xf32>, %c: memref<8xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op 'prototypes' dim 1 must be d_model (64), got 32}}
  proteus.proto_update ins(%x, %g : memref<?x?x64xf32>, memref<?x?x8xf32>)
      inouts(%p, %u, %c : memref<8x32xf32>, memref<8xf32>, memref<8xf32>) {decay = 0.5 : f64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %g: memref<?x?x8xf32>, %p: memref<8x64xf32>, %u: memref<8x1xf32>, %c: memref<8xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op operand 'usage' must have rank 1, got 2}}
  proteus.proto_update ins(%x, %g : memref<?x?x64xf32>, memref<?x?x8xf32>)
      inouts(%p, %u, %c : memref<8x64xf32>, memref<8x1xf32>, memref<8xf32>) {decay = 0.5 : f64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %g: memref<?x?x8xf32>, %p: memref<8x64xf32>, %u: memref<6xf32>, %c: memref<8xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op 'usage' dim 0 must be gates (8), got 6}}
  proteus.proto_update ins(%x, %g : memref<?x?x64xf32>, memref<?x?x8xf32>)
      inouts(%p, %u, %c : memref<8x64xf32>, memref<6xf32>, memref<8xf32>) {decay = 0.5 : f64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %g: memref<?x?x8xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8x1xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op operand 'confidence' must have rank 1, got 2}}
  proteus.proto_update ins(%x, %g : memref<?x?x64xf32>, memref<?x?x8xf32>)
      inouts(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8x1xf32>) {decay = 0.5 : f64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %g: memref<?x?x8xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<6xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op 'confidence' dim 0 must be gates (8), got 6}}
  proteus.proto_update ins(%x, %g : memref<?x?x64xf32>, memref<?x?x8xf32>)
      inouts(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<6xf32>) {decay = 0.5 : f64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %g: memref<?x?x8xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op decay must be in [0, 1], got 1.5}}
  proteus.proto_update ins(%x, %g : memref<?x?x64xf32>, memref<?x?x8xf32>)
      inouts(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>) {decay = 1.5 : f64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %g: memref<?x?x8xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>) {
  // expected-error @+1 {{'proteus.proto_update' op decay must be in [0, 1], got -5.000000e-01}}
  proteus.proto_update ins(%x, %g : memref<?x?x64xf32>, memref<?x?x8xf32>)
      inouts(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>) {decay = -0.5 : f64}
  return
}
