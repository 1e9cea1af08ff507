// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Verifier messages of proteus.layer, part 1: x, the weights and their element
// types (part 2: invalid-layer-optional.mlir, part 3: invalid-layer-outs.mlir).

func.func @f(%x: memref<?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operand 'x' must have rank 3, got 2}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x32xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'x' dim 2 must be d_model (64), got 32}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x32xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operand 'w_qkv' must have rank 2, got 1}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<190x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'w_qkv' dim 0 must be 3 * d_model (192), got 190}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<190x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x32xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'w_qkv' dim 1 must be d_model (64), got 32}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x32xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operand 'w_proj' must have rank 2, got 1}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<32x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'w_proj' dim 0 must be d_model (64), got 32}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<32x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x32xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'w_proj' dim 1 must be d_model (64), got 32}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x32xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operand 'w_router' must have rank 2, got 1}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<6x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'w_router' dim 0 must be gates (8), got 6}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<6x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x32xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'w_router' dim 1 must be d_model (64), got 32}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x32xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf16>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'w_qkv' and 'x' must have the same element type}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf16>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf16>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'w_proj' and 'x' must have the same element type}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf16>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf16>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'w_router' and 'x' must have the same element type}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf16>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf16>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'y' and 'x' must have the same element type}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf16>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}
