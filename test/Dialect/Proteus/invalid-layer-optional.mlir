// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Verifier messages of proteus.layer, part 2: the bias operands and the prototype
// state (part 1: invalid-layer.mlir, part 3: invalid-layer-outs.mlir).

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %bq: memref<192xf32>, %bp: memref<64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op bias operands must be given exactly when the config has bias = true}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) bias(%bq, %bp : memref<192xf32>, memref<64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op bias operands must be given exactly when the config has bias = true}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, bias = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %bq: memref<192x1xf32>, %bp: memref<64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operand 'b_qkv' must have rank 1, got 2}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) bias(%bq, %bp : memref<192x1xf32>, memref<64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, bias = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %bq: memref<64xf32>, %bp: memref<64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'b_qkv' dim 0 must be 3 * d_model (192), got 64}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) bias(%bq, %bp : memref<64xf32>, memref<64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, bias = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %bq: memref<192xf32>, %bp: memref<64x1xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operand 'b_proj' must have rank 1, got 2}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) bias(%bq, %bp : memref<192xf32>, memref<64x1xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, bias = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %bq: memref<192xf32>, %bp: memref<192xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'b_proj' dim 0 must be d_model (64), got 192}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) bias(%bq, %bp : memref<192xf32>, memref<192xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, bias = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op prototype state must be given exactly when the config has proto_enabled = true}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op prototype state must be given exactly when the config has proto_enabled = true}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %p: memref<512xf32>, %u: memref<8xf32>, %c: memref<8xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operand 'prototypes' must have rank 2, got 1}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<512xf32>, memref<8xf32>, memref<8xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %p: memref<4x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'prototypes' dim 0 must be gates (8), got 4}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<4x64xf32>, memref<8xf32>, memref<8xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x32xf32>, %u: memref<8xf32>, %c: memref<8xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'prototypes' dim 1 must be d_model (64), got 32}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x32xf32>, memref<8xf32>, memref<8xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<8x1xf32>, %c: memref<8xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operand 'usage' must have rank 1, got 2}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x64xf32>, memref<8x1xf32>, memref<8xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<6xf32>, %c: memref<8xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'usage' dim 0 must be gates (8), got 6}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x64xf32>, memref<6xf32>, memref<8xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8x1xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operand 'confidence' must have rank 1, got 2}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8x1xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<6xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'confidence' dim 0 must be gates (8), got 6}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<6xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}
