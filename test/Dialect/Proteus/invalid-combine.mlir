// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Verifier messages of proteus.combine.

func.func @f(%o: memref<?x16xf32>, %w: memref<64x64xf32>, %y: memref<?x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op operand 'heads_out' must have rank 3, got 2}}
  proteus.combine ins(%o, %w : memref<?x16xf32>, memref<64x64xf32>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64xf32>, %y: memref<?x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op operand 'weight' must have rank 2, got 1}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64xf32>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf32>, %y: memref<?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op operand 'y' must have rank 3, got 2}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x64xf32>) outs(%y : memref<?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x?xf32>, %w: memref<64x64xf32>, %y: memref<?x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'y' model width and 'heads_out' head dim must be static}}
  proteus.combine ins(%o, %w : memref<?x?x?xf32>, memref<64x64xf32>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf32>, %y: memref<?x?x?xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'y' model width and 'heads_out' head dim must be static}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x64xf32>) outs(%y : memref<?x?x?xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x12xf32>, %w: memref<64x64xf32>, %y: memref<?x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op model width 64 must be a multiple of the head dim 12}}
  proteus.combine ins(%o, %w : memref<?x?x12xf32>, memref<64x64xf32>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<6x?x16xf32>, %w: memref<64x64xf32>, %y: memref<2x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'heads_out' dim 0 must be batch * heads (8), got 6}}
  proteus.combine ins(%o, %w : memref<6x?x16xf32>, memref<64x64xf32>) outs(%y : memref<2x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x5x16xf32>, %w: memref<64x64xf32>, %y: memref<?x7x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'heads_out' dim 1 (5) must equal 'y' dim 1 (7)}}
  proteus.combine ins(%o, %w : memref<?x5x16xf32>, memref<64x64xf32>) outs(%y : memref<?x7x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<32x64xf32>, %y: memref<?x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'weight' dim 0 must be d_model (64), got 32}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<32x64xf32>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x32xf32>, %y: memref<?x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'weight' dim 1 must be d_model (64), got 32}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x32xf32>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf16>, %w: memref<64x64xf32>, %y: memref<?x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'heads_out' and 'y' must have the same element type}}
  proteus.combine ins(%o, %w : memref<?x?x16xf16>, memref<64x64xf32>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf16>, %y: memref<?x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'weight' and 'y' must have the same element type}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x64xf16>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf32>, %b: memref<64x1xf32>, %y: memref<?x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op operand 'bias' must have rank 1, got 2}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x64xf32>) bias(%b : memref<64x1xf32>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf32>, %b: memref<32xf32>, %y: memref<?x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'bias' dim 0 must be d_model (64), got 32}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x64xf32>) bias(%b : memref<32xf32>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf32>, %tm: memref<?xi8>, %y: memref<?x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op operand 'token_mask' must have rank 2, got 1}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x64xf32>) token_mask(%tm : memref<?xi8>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf32>, %tm: memref<2x?xi8>, %y: memref<3x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'token_mask' dim 0 (2) must equal 'y' dim 0 (3)}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x64xf32>) token_mask(%tm : memref<2x?xi8>) outs(%y : memref<3x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf32>, %tm: memref<?x5xi8>, %y: memref<?x7x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'token_mask' dim 1 (5) must equal 'y' dim 1 (7)}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x64xf32>) token_mask(%tm : memref<?x5xi8>) outs(%y : memref<?x7x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf32>, %hm: memref<?xi8>, %y: memref<?x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op operand 'head_mask' must have rank 2, got 1}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x64xf32>) head_mask(%hm : memref<?xi8>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<8x?x16xf32>, %w: memref<64x64xf32>, %hm: memref<4x?xi8>, %y: memref<?x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'head_mask' dim 0 (4) must equal 'heads_out' dim 0 (8)}}
  proteus.combine ins(%o, %w : memref<8x?x16xf32>, memref<64x64xf32>) head_mask(%hm : memref<4x?xi8>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf32>, %hm: memref<?x5xi8>, %y: memref<?x7x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op 'head_mask' dim 1 (5) must equal 'y' dim 1 (7)}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x64xf32>) head_mask(%hm : memref<?x5xi8>) outs(%y : memref<?x7x64xf32>)
  return
}

// -----

func.func @f(%o: memref<?x?x16xf32>, %w: memref<64x64xf32>, %c: i1, %y: memref<?x?x64xf32>) {
  // expected-error @+1 {{'proteus.combine' op all_heads_if needs head_mask}}
  proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x64xf32>) all_heads_if(%c) outs(%y : memref<?x?x64xf32>)
  return
}
