// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Verifier messages of proteus.project.

func.func @f(%x: memref<?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op operand 'x' must have rank 3, got 2}}
  proteus.project ins(%x, %w : memref<?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op operand 'weight' must have rank 2, got 1}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op heads must be >= 1, got -4}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = -4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op heads must be >= 1, got 0}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 0 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x?xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'x' needs a static model width (dim 2)}}
  proteus.project ins(%x, %w : memref<?x?x?xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op model width 64 must be divisible by heads (5)}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 5 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<64x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'weight' dim 0 must be 3 * d_model (192), got 64}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<64x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x32xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'weight' dim 1 must be d_model (64), got 32}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x32xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf16>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'weight' and 'x' must have the same element type}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf16>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %b: memref<192x1xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op operand 'bias' must have rank 1, got 2}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>) bias(%b : memref<192x1xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %b: memref<64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'bias' dim 0 must be 3 * d_model (192), got 64}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>) bias(%b : memref<64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op operand 'q' must have rank 3, got 2}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x8xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'q' dim 2 must be head dim (16), got 8}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x8xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x7x64xf32>, %w: memref<192x64xf32>, %q: memref<?x5x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'q' dim 1 (5) must equal 'x' dim 1 (7)}}
  proteus.project ins(%x, %w : memref<?x7x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x5x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf16>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'q' and 'x' must have the same element type}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf16>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<2x?x64xf32>, %w: memref<192x64xf32>, %q: memref<6x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'q' dim 0 must be batch * heads (8), got 6}}
  proteus.project ins(%x, %w : memref<2x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<6x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op operand 'k' must have rank 3, got 2}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x8xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'k' dim 2 must be head dim (16), got 8}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x8xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x7x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x5x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'k' dim 1 (5) must equal 'x' dim 1 (7)}}
  proteus.project ins(%x, %w : memref<?x7x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x5x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf16>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'k' and 'x' must have the same element type}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf16>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<2x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<6x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'k' dim 0 must be batch * heads (8), got 6}}
  proteus.project ins(%x, %w : memref<2x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<6x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op operand 'v' must have rank 3, got 2}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x8xf32>) {
  // expected-error @+1 {{'proteus.project' op 'v' dim 2 must be head dim (16), got 8}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x8xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x7x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x5x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'v' dim 1 (5) must equal 'x' dim 1 (7)}}
  proteus.project ins(%x, %w : memref<?x7x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x5x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf16>) {
  // expected-error @+1 {{'proteus.project' op 'v' and 'x' must have the same element type}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf16>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<2x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<6x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'v' dim 0 must be batch * heads (8), got 6}}
  proteus.project ins(%x, %w : memref<2x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<6x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x12xf32>, %w: memref<36x12xf32>, %q: memref<?x?x3xf32>, %k: memref<?x?x3xf32>, %v: memref<?x?x3xf32>) {
  // expected-error @+1 {{'proteus.project' op RoPE needs an even head dim, got 3}}
  proteus.project ins(%x, %w : memref<?x?x12xf32>, memref<36x12xf32>)
      outs(%q, %k, %v : memref<?x?x3xf32>, memref<?x?x3xf32>, memref<?x?x3xf32>) {heads = 4 : i64, rope_base = 10000.0 : f64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op rope_base must be positive, got 0}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64, rope_base = 0.0 : f64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %off: memref<?xi64>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op packed_q needs both 'q_offsets' and 'q_tokens'}}
  "proteus.project"(%x, %w, %off, %q, %k, %v) <{heads = 4 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 1, 0, 0, 1, 1, 1>}>
      : (memref<?x?x64xf32>, memref<192x64xf32>, memref<?xi64>, memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) -> ()
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %off: memref<?x?xi64>, %tok: memref<?xi64>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op operand 'q_offsets' must have rank 1, got 2}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      packed_q(%off, %tok : memref<?x?xi64>, memref<?xi64>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %off: memref<?xi64>, %tok: memref<?x?xi64>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op operand 'q_tokens' must have rank 1, got 2}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
      packed_q(%off, %tok : memref<?xi64>, memref<?x?xi64>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<2x?x64xf32>, %w: memref<192x64xf32>, %off: memref<8xi64>, %tok: memref<?xi64>, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op 'q_offsets' dim 0 must be batch * heads + 1 (9), got 8}}
  proteus.project ins(%x, %w : memref<2x?x64xf32>, memref<192x64xf32>)
      packed_q(%off, %tok : memref<8xi64>, memref<?xi64>)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %w: memref<192x64xf32>, %c: i1, %q: memref<?x?x16xf32>, %k: memref<?x?x16xf32>, %v: memref<?x?x16xf32>) {
  // expected-error @+1 {{'proteus.project' op whole_q_if needs packed_q}}
  proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>) whole_q_if(%c)
      outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>) {heads = 4 : i64}
  return
}
