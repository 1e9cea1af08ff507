// REQUIRES: mlir-runner
// RUN: proteus-opt %s --pass-pipeline='builtin.module(func.func(convert-proteus-to-scf))' | proteus-opt --proteus-lower-to-cpu | %mlir_runner | FileCheck %s
// RUN: proteus-opt %s --pass-pipeline='builtin.module(func.func(convert-proteus-to-scf{proto-picks-by-select=1}))' | proteus-opt --proteus-lower-to-cpu | %mlir_runner | FileCheck %s
// The prototype piece's picks (REFERENCE.md 5.1 step 3: the top-c positions
// of 0..t by salience, ties to the lower index) from the CPU path's one sort
// per batch item and from the GPU layer kernel's per-query select (radix
// select of the c-th order key, then an in-order walk), run on the host: the
// same candidates. c = 3 with only t from the local window. Batch item 0 has
// ties at the c-th value (0.5 at 0, 2, 9; 0.9 at 1, 4, 7); batch item 1 is
// mostly -0 and +0, which are equal (so the lowest indices win, whatever
// their sign).

// CHECK: sizes = [24, 8]
// CHECK-NEXT: [0,   0,   0,   0,   0,   0,   0,   0],
// CHECK-NEXT: [0,   1,   1,   1,   1,   1,   1,   1],
// CHECK-NEXT: [0,   1,   2,   2,   2,   2,   2,   2],
// CHECK-NEXT: [0,   1,   2,   3,   3,   3,   3,   3],
// CHECK-NEXT: [0,   1,   4,   4,   4,   4,   4,   4],
// CHECK-NEXT: [0,   1,   4,   5,   5,   5,   5,   5],
// CHECK-NEXT: [1,   4,   6,   6,   6,   6,   6,   6],
// CHECK-NEXT: [1,   4,   7,   7,   7,   7,   7,   7],
// CHECK-NEXT: [1,   4,   7,   8,   8,   8,   8,   8],
// CHECK-NEXT: [1,   4,   7,   9,   9,   9,   9,   9],
// CHECK-NEXT: [1,   4,   7,   10,   10,   10,   10,   10],
// CHECK-NEXT: [1,   4,   11,   11,   11,   11,   11,   11],
// CHECK-NEXT: [0,   0,   0,   0,   0,   0,   0,   0],
// CHECK-NEXT: [0,   1,   1,   1,   1,   1,   1,   1],
// CHECK-NEXT: [0,   1,   2,   2,   2,   2,   2,   2],
// CHECK-NEXT: [0,   1,   3,   3,   3,   3,   3,   3],
// CHECK-NEXT: [0,   1,   3,   4,   4,   4,   4,   4],
// CHECK-NEXT: [0,   1,   3,   5,   5,   5,   5,   5],
// CHECK-NEXT: [0,   1,   3,   6,   6,   6,   6,   6],
// CHECK-NEXT: [0,   1,   3,   7,   7,   7,   7,   7],
// CHECK-NEXT: [0,   1,   8,   8,   8,   8,   8,   8],
// CHECK-NEXT: [0,   1,   8,   9,   9,   9,   9,   9],
// CHECK-NEXT: [0,   1,   8,   10,   10,   10,   10,   10],
// CHECK-NEXT: [0,   1,   8,   11,   11,   11,   11,   11]
// CHECK: sizes = [24]
// CHECK-NEXT: [1,  2,  3,  4,  3,  4,  3,  3,  4,  4,  4,  3,  1,  2,  3,  3,  4,  4,  4,  4,  3,  4,  4,  4]

memref.global "private" constant @salience : memref<2x12xf32> = dense<[
  [0.5, 0.9, 0.5, -0.0, 0.9, 0.0, 0.7, 0.9, 0.1, 0.5, 0.0, 0.95],
  [-0.0, 0.0, -1.0, 0.0, -0.0, -2.0, 0.0, -0.0, 3.0, -0.0, 0.0, -1.0]]>

func.func private @printMemrefI64(memref<*xi64>) attributes {llvm.emit_c_interface}

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  %c12 = arith.constant 12 : index
  %c24 = arith.constant 24 : index
  %g = memref.get_global @salience : memref<2x12xf32>
  %s = memref.cast %g : memref<2x12xf32> to memref<?x?xf32>
  %rows = memref.alloc(%c24) : memref<?xi64>
  %bid = memref.alloc(%c24) : memref<?xi64>
  scf.for %n = %c0 to %c24 step %c1 {
    %t = arith.remsi %n, %c12 : index
    %b = arith.divsi %n, %c12 : index
    %t64 = arith.index_cast %t : index to i64
    %b64 = arith.index_cast %b : index to i64
    memref.store %t64, %rows[%n] : memref<?xi64>
    memref.store %b64, %bid[%n] : memref<?xi64>
  }
  %cands = memref.alloc(%c24, %c8) : memref<?x?xi64>
  %lens = memref.alloc(%c24) : memref<?xi64>
  // budget(seq_len, L, window, local_cap, anchor_cap, proto_cap)
  proteus.shortlist ins(%rows : memref<?xi64>) scores(%s, %bid : memref<?x?xf32>, memref<?xi64>)
      budget(%c12, %c8, %c1, %c1, %c0, %c3) outs(%cands, %lens : memref<?x?xi64>, memref<?xi64>)
      {anchor_stride = 4 : i64, use_local, use_proto}
  %u = memref.cast %cands : memref<?x?xi64> to memref<*xi64>
  call @printMemrefI64(%u) : (memref<*xi64>) -> ()
  %ul = memref.cast %lens : memref<?xi64> to memref<*xi64>
  call @printMemrefI64(%ul) : (memref<*xi64>) -> ()
  memref.dealloc %rows : memref<?xi64>
  memref.dealloc %bid : memref<?xi64>
  memref.dealloc %cands : memref<?x?xi64>
  memref.dealloc %lens : memref<?xi64>
  return
}
