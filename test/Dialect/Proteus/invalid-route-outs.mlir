// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Verifier messages of proteus.route, part 2: the outputs (part 1: invalid-route.mlir).

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op operand 'gates' must have rank 3, got 2}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<3x?x64xf32>, %wr: memref<8x64xf32>, %g: memref<2x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'gates' dim 0 (2) must equal 'x' dim 0 (3)}}
  proteus.route ins(%x, %wr : memref<3x?x64xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<2x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x7x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x5x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'gates' dim 1 (5) must equal 'x' dim 1 (7)}}
  proteus.route ins(%x, %wr : memref<?x7x64xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<?x5x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x?x6xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'gates' dim 2 must be gates (8), got 6}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<?x?x6xf32>, memref<?x?x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x?x8xf32>, %h: memref<?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op operand 'head_probs' must have rank 3, got 2}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<3x?x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x?x8xf32>, %h: memref<2x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'head_probs' dim 0 (2) must equal 'x' dim 0 (3)}}
  proteus.route ins(%x, %wr : memref<3x?x64xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<2x?x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x7x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x?x8xf32>, %h: memref<?x5x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'head_probs' dim 1 (5) must equal 'x' dim 1 (7)}}
  proteus.route ins(%x, %wr : memref<?x7x64xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x5x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x3xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'head_probs' dim 2 must be h_total (4), got 3}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x3xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?xf32>) {
  // expected-error @+1 {{'proteus.route' op operand 'importance' must have rank 2, got 1}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<3x?x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<2x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'importance' dim 0 (2) must equal 'x' dim 0 (3)}}
  proteus.route ins(%x, %wr : memref<3x?x64xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<2x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x7x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x5xf32>) {
  // expected-error @+1 {{'proteus.route' op 'importance' dim 1 (5) must equal 'x' dim 1 (7)}}
  proteus.route ins(%x, %wr : memref<?x7x64xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x5xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>, %s: memref<?xf32>) {
  // expected-error @+1 {{'proteus.route' op operand 'similarity' must have rank 2, got 1}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) similarity(%s : memref<?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<3x?x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>, %s: memref<2x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'similarity' dim 0 (2) must equal 'x' dim 0 (3)}}
  proteus.route ins(%x, %wr : memref<3x?x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) similarity(%s : memref<2x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x7x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>, %s: memref<?x5xf32>) {
  // expected-error @+1 {{'proteus.route' op 'similarity' dim 1 (5) must equal 'x' dim 1 (7)}}
  proteus.route ins(%x, %wr : memref<?x7x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) similarity(%s : memref<?x5xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}
