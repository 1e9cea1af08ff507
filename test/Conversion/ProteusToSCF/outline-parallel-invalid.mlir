// RUN: proteus-opt %s --proteus-outline-parallel-loops -split-input-file -verify-diagnostics -allow-unregistered-dialect
// Loops the runtime's threads cannot run are reported.

func.func @two_dims(%m: memref<?x?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{only 1-D scf.parallel loops without reductions can run on the runtime's threads}}
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %n) step (%c1, %c1) {
    %v = memref.load %m[%i, %j] : memref<?x?xf32>
    memref.store %v, %m[%j, %i] : memref<?x?xf32>
    scf.reduce
  }
  return
}

// -----

func.func @tensor_capture(%t: tensor<4xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{a parallel loop captures a value of type}}
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    "test.use"(%t, %i) : (tensor<4xf32>, index) -> ()
    scf.reduce
  }
  return
}
