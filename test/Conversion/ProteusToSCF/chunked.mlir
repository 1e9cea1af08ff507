// REQUIRES: mlir-runner
// RUN: proteus-opt %s --pass-pipeline='builtin.module(func.func(convert-proteus-to-scf))' | FileCheck %s --check-prefix=LOOPS
// RUN: proteus-opt %s --pass-pipeline='builtin.module(func.func(convert-proteus-to-scf))' | proteus-opt --proteus-lower-to-cpu | %mlir_runner | FileCheck %s
// proteus.chunk_nucleus and proteus.shortlist_merge on the host, against
// hand-worked values.
// Nucleus: importance ln 4, ln 1, ln 3, ln 2, ln 4, 0.5 with token 5 masked
// out (key -1e9, probability 0): pi = 4, 1, 3, 2, 4, 0 over 14; in order
// 0, 4 (the tie to the lower index), 2, 3, 1, 5 with running sums 4/14,
// 8/14, 11/14, 13/14, 1, 1. Offset 100.
//  - top_p 0.75, budget 10: 2 sums below, plus one: 100, 104, 102.
//  - top_p 0.75, budget 2: the cap: 100, 104.
//  - top_p 1: the limit min(10, 6): the first 6, the masked one dropped.
//  - top_p 0.2: no sum below, plus one: 100.
// Merge: (7, .5), (3, .9), (9, .5), (-1, 2: not a candidate), (5, .1), (1, .9):
// by score 1, 3, 7, 9, 5 (ties to the lower index).
//  - K 3: 1, 3, 7 in index order; K 7: all five in index order, then -1.

// LOOPS-LABEL: func.func @nucleus
// LOOPS: math.exp %{{.*}} : f32
// LOOPS: scf.while
// LOOPS: arith.extf %{{.*}} : f32 to f64
// LOOPS: arith.truncf %{{.*}} : f64 to f32
// LOOPS: arith.cmpf olt
// LOOPS: memref.dealloc
// LOOPS-LABEL: func.func @merge
// LOOPS: scf.while
// LOOPS: memref.dealloc

// CHECK-LABEL: nucleus p=0.75 b=10
// CHECK: [100,  104,  102,  -1,  -1,  -1]
// CHECK: [1.38629,  1.38629,  1.09861,  0,  0,  0]
// CHECK: [3]
// CHECK-LABEL: nucleus p=0.75 b=2
// CHECK: [100,  104,  -1,  -1,  -1,  -1]
// CHECK: [1.38629,  1.38629,  0,  0,  0,  0]
// CHECK: [2]
// CHECK-LABEL: nucleus p=1 b=10
// CHECK: [100,  104,  102,  103,  101,  -1]
// CHECK: [1.38629,  1.38629,  1.09861,  0.693147,  0,  0]
// CHECK: [5]
// CHECK-LABEL: nucleus p=0.2 b=10
// CHECK: [100,  -1,  -1,  -1,  -1,  -1]
// CHECK: [1.38629,  0,  0,  0,  0,  0]
// CHECK: [1]
// CHECK-LABEL: merge K=3
// CHECK: [1,  3,  7]
// CHECK: [0.9,  0.9,  0.5]
// CHECK: [3]
// CHECK-LABEL: merge K=7
// CHECK: [1,  3,  5,  7,  9,  -1,  -1]
// CHECK: [0.9,  0.9,  0.1,  0.5,  0.5,  0,  0]
// CHECK: [5]

memref.global "private" constant @imp : memref<6xf32> = dense<[
  1.3862943649291992, 0.0, 1.0986123085021973, 0.6931471824645996, 1.3862943649291992, 0.5]>
memref.global "private" constant @mask : memref<6xi8> = dense<[1, 1, 1, 1, 1, 0]>
memref.global "private" constant @cidx : memref<6xi64> = dense<[7, 3, 9, -1, 5, 1]>
memref.global "private" constant @csc : memref<6xf32> = dense<[0.5, 0.9, 0.5, 2.0, 0.1, 0.9]>

func.func private @printMemrefI64(memref<*xi64>) attributes {llvm.emit_c_interface}
func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}
func.func private @printString(!llvm.ptr) -> ()
llvm.mlir.global internal constant @s_a("nucleus p=0.75 b=10\0A\00") {addr_space = 0 : i32} : !llvm.array<21 x i8>
llvm.mlir.global internal constant @s_b("nucleus p=0.75 b=2\0A\00") {addr_space = 0 : i32} : !llvm.array<20 x i8>
llvm.mlir.global internal constant @s_c("nucleus p=1 b=10\0A\00") {addr_space = 0 : i32} : !llvm.array<18 x i8>
llvm.mlir.global internal constant @s_d("nucleus p=0.2 b=10\0A\00") {addr_space = 0 : i32} : !llvm.array<20 x i8>
llvm.mlir.global internal constant @s_m3("merge K=3\0A\00") {addr_space = 0 : i32} : !llvm.array<11 x i8>
llvm.mlir.global internal constant @s_m7("merge K=7\0A\00") {addr_space = 0 : i32} : !llvm.array<11 x i8>

func.func @print(%p: memref<?xi64>, %s: memref<?xf32>, %c: memref<1xi64>) {
  %up = memref.cast %p : memref<?xi64> to memref<*xi64>
  call @printMemrefI64(%up) : (memref<*xi64>) -> ()
  %us = memref.cast %s : memref<?xf32> to memref<*xf32>
  call @printMemrefF32(%us) : (memref<*xf32>) -> ()
  %uc = memref.cast %c : memref<1xi64> to memref<*xi64>
  call @printMemrefI64(%uc) : (memref<*xi64>) -> ()
  return
}

func.func @nucleus(%tp: f32, %budget: index) {
  %gi = memref.get_global @imp : memref<6xf32>
  %i = memref.cast %gi : memref<6xf32> to memref<?xf32>
  %gm = memref.get_global @mask : memref<6xi8>
  %m = memref.cast %gm : memref<6xi8> to memref<?xi8>
  %c6 = arith.constant 6 : index
  %off = arith.constant 100 : index
  %p = memref.alloc(%c6) : memref<?xi64>
  %s = memref.alloc(%c6) : memref<?xf32>
  %c = memref.alloc() : memref<1xi64>
  proteus.chunk_nucleus ins(%i, %m : memref<?xf32>, memref<?xi8>)
      params(%tp, %budget, %off : f32, index, index)
      outs(%p, %s, %c : memref<?xi64>, memref<?xf32>, memref<1xi64>)
  call @print(%p, %s, %c) : (memref<?xi64>, memref<?xf32>, memref<1xi64>) -> ()
  return
}

func.func @merge(%k: index) {
  %gi = memref.get_global @cidx : memref<6xi64>
  %i = memref.cast %gi : memref<6xi64> to memref<?xi64>
  %gs = memref.get_global @csc : memref<6xf32>
  %s = memref.cast %gs : memref<6xf32> to memref<?xf32>
  %keep = memref.alloc(%k) : memref<?xi64>
  %ks = memref.alloc(%k) : memref<?xf32>
  %c = memref.alloc() : memref<1xi64>
  proteus.shortlist_merge ins(%i, %s : memref<?xi64>, memref<?xf32>)
      outs(%keep, %ks, %c : memref<?xi64>, memref<?xf32>, memref<1xi64>)
  call @print(%keep, %ks, %c) : (memref<?xi64>, memref<?xf32>, memref<1xi64>) -> ()
  return
}

func.func @main() {
  %p075 = arith.constant 0.75 : f32
  %p1 = arith.constant 1.0 : f32
  %p02 = arith.constant 0.2 : f32
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c7 = arith.constant 7 : index
  %c10 = arith.constant 10 : index
  %a = llvm.mlir.addressof @s_a : !llvm.ptr
  call @printString(%a) : (!llvm.ptr) -> ()
  call @nucleus(%p075, %c10) : (f32, index) -> ()
  %b = llvm.mlir.addressof @s_b : !llvm.ptr
  call @printString(%b) : (!llvm.ptr) -> ()
  call @nucleus(%p075, %c2) : (f32, index) -> ()
  %c = llvm.mlir.addressof @s_c : !llvm.ptr
  call @printString(%c) : (!llvm.ptr) -> ()
  call @nucleus(%p1, %c10) : (f32, index) -> ()
  %d = llvm.mlir.addressof @s_d : !llvm.ptr
  call @printString(%d) : (!llvm.ptr) -> ()
  call @nucleus(%p02, %c10) : (f32, index) -> ()
  %m3 = llvm.mlir.addressof @s_m3 : !llvm.ptr
  call @printString(%m3) : (!llvm.ptr) -> ()
  call @merge(%c3) : (index) -> ()
  %m7 = llvm.mlir.addressof @s_m7 : !llvm.ptr
  call @printString(%m7) : (!llvm.ptr) -> ()
  call @merge(%c7) : (index) -> ()
  return
}
