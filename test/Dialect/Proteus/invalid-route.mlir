// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Verifier messages of proteus.route, part 1: x, w_router and the prototype state
// (part 2, the outputs: invalid-route-outs.mlir).

func.func @f(%x: memref<?x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op operand 'x' must have rank 3, got 2}}
  proteus.route ins(%x, %wr : memref<?x64xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x32xf32>, %wr: memref<8x64xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'x' dim 2 must be d_model (64), got 32}}
  proteus.route ins(%x, %wr : memref<?x?x32xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op operand 'w_router' must have rank 2, got 1}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<6x64xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'w_router' dim 0 must be gates (8), got 6}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<6x64xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x32xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'w_router' dim 1 must be d_model (64), got 32}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x32xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf16>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'w_router' and 'x' must have the same element type}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf16>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>, %s: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op prototype state must be given exactly when the config has proto_enabled = true}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) similarity(%s : memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>, %s: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'similarity' must be given exactly when prototypes are on}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) similarity(%s : memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'similarity' must be given exactly when prototypes are on}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %p: memref<512xf32>, %u: memref<8xf32>, %c: memref<8xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>, %s: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op operand 'prototypes' must have rank 2, got 1}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<512xf32>, memref<8xf32>, memref<8xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) similarity(%s : memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %p: memref<4x64xf32>, %u: memref<8xf32>, %c: memref<8xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>, %s: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'prototypes' dim 0 must be gates (8), got 4}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<4x64xf32>, memref<8xf32>, memref<8xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) similarity(%s : memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x32xf32>, %u: memref<8xf32>, %c: memref<8xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>, %s: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'prototypes' dim 1 must be d_model (64), got 32}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x32xf32>, memref<8xf32>, memref<8xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) similarity(%s : memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<8x1xf32>, %c: memref<8xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>, %s: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op operand 'usage' must have rank 1, got 2}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x64xf32>, memref<8x1xf32>, memref<8xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) similarity(%s : memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<6xf32>, %c: memref<8xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>, %s: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'usage' dim 0 must be gates (8), got 6}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x64xf32>, memref<6xf32>, memref<8xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) similarity(%s : memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<8x1xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>, %s: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op operand 'confidence' must have rank 1, got 2}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8x1xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) similarity(%s : memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %u: memref<8xf32>, %c: memref<6xf32>, %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>, %s: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op 'confidence' dim 0 must be gates (8), got 6}}
  proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>) prototypes(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<6xf32>)
      outs(%g, %h, %i : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>) similarity(%s : memref<?x?xf32>) {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>}
  return
}
