// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// The generic form can supply part of an optional operand group; the
// verifiers report it instead of reading the missing operand.

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>,
             %wr: memref<8x64xf32>, %bq: memref<192xf32>, %b: memref<?xi64>,
             %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operands 'b_qkv' and 'b_proj' must be given together}}
  "proteus.layer"(%x, %wq, %wp, %wr, %bq, %b, %y, %m, %i, %s) <{config = #proteus.config<d_model = 64, h_total = 4, gates = 8, bias = true>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0>}> : (memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>, memref<192xf32>, memref<?xi64>, memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) -> ()
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wq: memref<192x64xf32>, %wp: memref<64x64xf32>,
             %wr: memref<8x64xf32>, %p: memref<8x64xf32>, %b: memref<?xi64>,
             %y: memref<?x?x64xf32>, %m: memref<?x?xi8>, %i: memref<?x?xf32>, %s: memref<16xi64>) {
  // expected-error @+1 {{'proteus.layer' op operands 'prototypes', 'usage' and 'confidence' must be given together}}
  "proteus.layer"(%x, %wq, %wp, %wr, %p, %b, %y, %m, %i, %s) <{config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0>}> : (memref<?x?x64xf32>, memref<192x64xf32>, memref<64x64xf32>, memref<8x64xf32>, memref<8x64xf32>, memref<?xi64>, memref<?x?x64xf32>, memref<?x?xi8>, memref<?x?xf32>, memref<16xi64>) -> ()
  return
}

// -----

func.func @f(%x: memref<?x?x64xf32>, %wr: memref<8x64xf32>, %p: memref<8x64xf32>,
             %g: memref<?x?x8xf32>, %h: memref<?x?x4xf32>, %i: memref<?x?xf32>) {
  // expected-error @+1 {{'proteus.route' op operands 'prototypes', 'usage' and 'confidence' must be given together}}
  "proteus.route"(%x, %wr, %p, %g, %h, %i, %i) <{config = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_enabled = true>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 1, 1, 1, 1>}> : (memref<?x?x64xf32>, memref<8x64xf32>, memref<8x64xf32>, memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>, memref<?x?xf32>) -> ()
  return
}

// -----

func.func @f(%r: memref<?xi64>, %sc: memref<?x?xf32>, %t: index, %c: memref<?x?xi64>,
             %l: memref<?xi64>) {
  // expected-error @+1 {{'proteus.shortlist' op operands 'scores' and 'batch_ids' must be given together}}
  "proteus.shortlist"(%r, %sc, %t, %t, %t, %t, %t, %t, %c, %l) <{anchor_stride = 4 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1>, use_proto}> : (memref<?xi64>, memref<?x?xf32>, index, index, index, index, index, index, memref<?x?xi64>, memref<?xi64>) -> ()
  return
}

// -----

func.func @f(%q: memref<?x?x16xf32>, %p: memref<?xi64>, %n: index, %c: memref<?x?xi64>) {
  // expected-error @+1 {{'proteus.shortlist_attention' op operands 'candidates' and 'lengths' must be given together}}
  "proteus.shortlist_attention"(%q, %q, %q, %p, %p, %n, %c, %q) <{anchor_stride = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1>, percentile = 1.0 : f64}> : (memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?xi64>, memref<?xi64>, index, memref<?x?xi64>, memref<?x?x16xf32>) -> ()
  return
}
