// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Verifier messages of proteus.layer, part 3: the outputs, stats and the budget
// attribute (part 1: invalid-layer.mlir, part 2: invalid-layer-optional.mlir).

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operand 'y' must have rank 3, got 2}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<3x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<2x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'y' dim 0 (2) must equal 'x' dim 0 (3)}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<3x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<2x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x7x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x5x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'y' dim 1 (5) must equal 'x' dim 1 (7)}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x7x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x5x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x32xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'y' dim 2 (32) must equal 'x' dim 2 (64)}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x32xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operand 'token_mask' must have rank 2, got 1}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<3x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<2x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'token_mask' dim 0 (2) must equal 'x' dim 0 (3)}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<3x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<2x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x7x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x5xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'token_mask' dim 1 (5) must equal 'x' dim 1 (7)}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x7x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x5xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operand 'importance' must have rank 2, got 1}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<3x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<2x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'importance' dim 0 (2) must equal 'x' dim 0 (3)}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<3x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<2x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x7x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x5xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'importance' dim 1 (5) must equal 'x' dim 1 (7)}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x7x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x5xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?x?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operand 'budget_vec' must have rank 1, got 2}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?x?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16x1xi64>) {
  // expected-error @+1 {{'proteus.layer' op operand 'stats' must have rank 1, got 2}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16x1xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<8xi64>) {
  // expected-error @+1 {{'proteus.layer' op 'stats' needs at least 16 elements, got 8}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<8xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>, %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op budget topk must list h_total + 1 = 5 entries, got 2}}
  proteus.layer ins(%x, %wq, %wp, %wr : memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>) budget(%b : memref<?xi64>)
      outs(%y, %m, %i, %s : memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>, budget = #proteus.budget<topk = [0, 1]>}
  return
}
