// REQUIRES: mlir-runner
// RUN: proteus-opt %s --pass-pipeline='builtin.module(func.func(convert-proteus-to-scf))' | FileCheck %s --check-prefix=LOOPS
// RUN: proteus-opt %s --pass-pipeline='builtin.module(func.func(convert-proteus-to-scf))' | proteus-opt --proteus-lower-to-cpu | %mlir_runner | FileCheck %s
// proteus.top_a on the host, against hand-worked values. Logits ln 1, ln 2,
// ln 3, ln 4: p = 0.1, 0.2, 0.3, 0.4; in probability order 3, 2, 1, 0 with
// running sums 0.4, 0.7, 0.9, 1.0.
//  - off, top_p 0.75: the nucleus {3, 2}, probs 4/7, 3/7; u 0.5 draws 3, u 0.6
//    draws 2 (0.571 <= 0.6).
//  - off, top_p 1: every token (the binary32 running sum reaches 1 exactly).
//  - off, top_p 0: max(top_p, 1e-6) keeps the first token only.
//  - blend, lambda 1, tau 0.5, consensus (1, 0), embedding rows 3 = (1, 1)
//    and 2 = (-1, 0): a_3 = cos 45 deg / 0.5 = 1.41421, a_2 = -2; softmax of
//    (ln 4 + 1.41421, ln 3 - 2) = 0.975918, 0.0240824; u 0.99 draws 2.
//  - filter, threshold 0: token 2 fails, kept {3} with probability 1.
//  - filter, threshold 5: no token passes, so all are kept (as blend).

// The CPU loops: a binary64 running sum rounded to binary32 and compared with
// top_p; the embedding norms' square roots in binary64; the scratch freed.
// LOOPS-LABEL: func.func @run_off
// LOOPS-NOT: math.sqrt
// LOOPS-LABEL: func.func @run_blend
// LOOPS: scf.while
// LOOPS: arith.truncf %{{.*}} : f64 to f32
// LOOPS: arith.cmpf ole
// LOOPS: math.sqrt %{{.*}} : f64
// LOOPS: math.exp %{{.*}} : f32
// LOOPS: memref.dealloc
// LOOPS-LABEL: func.func @main

// CHECK-LABEL: off p=0.75
// CHECK: [3,   2,   -1,   -1],
// CHECK-NEXT: [3,   2,   -1,   -1]]
// CHECK: [0.571429,   0.428571,   0,   0],
// CHECK-NEXT: [0.571429,   0.428571,   0,   0]]
// CHECK: {{\[}}[2,   2],
// CHECK-NEXT: [2,   2]]
// CHECK: [3,  2]
// CHECK-LABEL: off p=1
// CHECK: [3,   2,   1,   0],
// CHECK: [0.4,   0.3,   0.2,   0.1],
// CHECK: {{\[}}[4,   4],
// CHECK-LABEL: off p=0
// CHECK: [3,   -1,   -1,   -1],
// CHECK: [1,   0,   0,   0],
// CHECK: {{\[}}[1,   1],
// CHECK-LABEL: blend
// CHECK: [3,   2,   -1,   -1],
// CHECK: [0.975918,   0.0240824,   0,   0],
// CHECK: {{\[}}[2,   2],
// CHECK: [3,  2]
// CHECK-LABEL: filter thr=0
// CHECK: [3,   -1,   -1,   -1],
// CHECK: [1,   0,   0,   0],
// CHECK: {{\[}}[2,   1],
// CHECK: [3,  3]
// CHECK-LABEL: filter thr=5
// CHECK: [3,   2,   -1,   -1],
// CHECK: [0.975918,   0.0240824,   0,   0],
// CHECK: {{\[}}[2,   2],

memref.global "private" constant @logits : memref<2x4xf32> = dense<[
  [0.0, 0.6931471824645996, 1.0986123085021973, 1.3862943649291992],
  [0.0, 0.6931471824645996, 1.0986123085021973, 1.3862943649291992]]>
memref.global "private" constant @emb : memref<4x2xf32> = dense<[
  [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [1.0, 1.0]]>
memref.global "private" constant @cons : memref<2x2xf32> = dense<[[1.0, 0.0], [1.0, 0.0]]>

func.func private @printMemrefI64(memref<*xi64>) attributes {llvm.emit_c_interface}
func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}
func.func private @printString(!llvm.ptr) -> ()
llvm.mlir.global internal constant @s_off("off p=0.75\0A\00") {addr_space = 0 : i32} : !llvm.array<12 x i8>
llvm.mlir.global internal constant @s_off1("off p=1\0A\00") {addr_space = 0 : i32} : !llvm.array<9 x i8>
llvm.mlir.global internal constant @s_off0("off p=0\0A\00") {addr_space = 0 : i32} : !llvm.array<9 x i8>
llvm.mlir.global internal constant @s_blend("blend\0A\00") {addr_space = 0 : i32} : !llvm.array<7 x i8>
llvm.mlir.global internal constant @s_f0("filter thr=0\0A\00") {addr_space = 0 : i32} : !llvm.array<14 x i8>
llvm.mlir.global internal constant @s_f5("filter thr=5\0A\00") {addr_space = 0 : i32} : !llvm.array<14 x i8>

func.func @print(%k: memref<?x?xi64>, %p: memref<?x?xf32>, %n: memref<?x2xi64>, %s: memref<?xi64>) {
  %uk = memref.cast %k : memref<?x?xi64> to memref<*xi64>
  call @printMemrefI64(%uk) : (memref<*xi64>) -> ()
  %up = memref.cast %p : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%up) : (memref<*xf32>) -> ()
  %un = memref.cast %n : memref<?x2xi64> to memref<*xi64>
  call @printMemrefI64(%un) : (memref<*xi64>) -> ()
  %us = memref.cast %s : memref<?xi64> to memref<*xi64>
  call @printMemrefI64(%us) : (memref<*xi64>) -> ()
  return
}

func.func @outs() -> (memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>) {
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %k = memref.alloc(%c2, %c4) : memref<?x?xi64>
  %p = memref.alloc(%c2, %c4) : memref<?x?xf32>
  %n = memref.alloc(%c2) : memref<?x2xi64>
  %s = memref.alloc(%c2) : memref<?xi64>
  return %k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>
}

func.func @ins(%u0: f32, %u1: f32) -> (memref<?x?xf32>, memref<?x2xf32>, memref<?x2xf32>, memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %gl = memref.get_global @logits : memref<2x4xf32>
  %l = memref.cast %gl : memref<2x4xf32> to memref<?x?xf32>
  %gc = memref.get_global @cons : memref<2x2xf32>
  %c = memref.cast %gc : memref<2x2xf32> to memref<?x2xf32>
  %ge = memref.get_global @emb : memref<4x2xf32>
  %e = memref.cast %ge : memref<4x2xf32> to memref<?x2xf32>
  %u = memref.alloc(%c2) : memref<?xf32>
  memref.store %u0, %u[%c0] : memref<?xf32>
  memref.store %u1, %u[%c1] : memref<?xf32>
  return %l, %c, %e, %u : memref<?x?xf32>, memref<?x2xf32>, memref<?x2xf32>, memref<?xf32>
}

func.func @run_off(%tp: f32, %u0: f32, %u1: f32) {
  %l, %c, %e, %u = call @ins(%u0, %u1) : (f32, f32) -> (memref<?x?xf32>, memref<?x2xf32>, memref<?x2xf32>, memref<?xf32>)
  %k, %p, %n, %s = call @outs() : () -> (memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
  %x = arith.constant 0.0 : f32
  %tau = arith.constant 0.5 : f32
  proteus.top_a ins(%l, %c, %e, %u : memref<?x?xf32>, memref<?x2xf32>, memref<?x2xf32>, memref<?xf32>)
      params(%tp, %x, %tau, %x : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<off>}
  call @print(%k, %p, %n, %s) : (memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>) -> ()
  return
}

func.func @run_blend(%tp: f32, %u0: f32, %u1: f32) {
  %l, %c, %e, %u = call @ins(%u0, %u1) : (f32, f32) -> (memref<?x?xf32>, memref<?x2xf32>, memref<?x2xf32>, memref<?xf32>)
  %k, %p, %n, %s = call @outs() : () -> (memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
  %lam = arith.constant 1.0 : f32
  %tau = arith.constant 0.5 : f32
  %x = arith.constant 0.0 : f32
  proteus.top_a ins(%l, %c, %e, %u : memref<?x?xf32>, memref<?x2xf32>, memref<?x2xf32>, memref<?xf32>)
      params(%tp, %lam, %tau, %x : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<blend>}
  call @print(%k, %p, %n, %s) : (memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>) -> ()
  return
}

func.func @run_filter(%tp: f32, %thr: f32, %u0: f32, %u1: f32) {
  %l, %c, %e, %u = call @ins(%u0, %u1) : (f32, f32) -> (memref<?x?xf32>, memref<?x2xf32>, memref<?x2xf32>, memref<?xf32>)
  %k, %p, %n, %s = call @outs() : () -> (memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
  %lam = arith.constant 1.0 : f32
  %tau = arith.constant 0.5 : f32
  proteus.top_a ins(%l, %c, %e, %u : memref<?x?xf32>, memref<?x2xf32>, memref<?x2xf32>, memref<?xf32>)
      params(%tp, %lam, %tau, %thr : f32, f32, f32, f32)
      outs(%k, %p, %n, %s : memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>)
      {mode = #proteus.top_a_mode<filter>}
  call @print(%k, %p, %n, %s) : (memref<?x?xi64>, memref<?x?xf32>, memref<?x2xi64>, memref<?xi64>) -> ()
  return
}

func.func @main() {
  %p75 = arith.constant 0.75 : f32
  %p1 = arith.constant 1.0 : f32
  %p0 = arith.constant 0.0 : f32
  %u5 = arith.constant 0.5 : f32
  %u6 = arith.constant 0.6 : f32
  %u99 = arith.constant 0.99 : f32
  %t5 = arith.constant 5.0 : f32
  %a = llvm.mlir.addressof @s_off : !llvm.ptr
  call @printString(%a) : (!llvm.ptr) -> ()
  call @run_off(%p75, %u5, %u6) : (f32, f32, f32) -> ()
  %b = llvm.mlir.addressof @s_off1 : !llvm.ptr
  call @printString(%b) : (!llvm.ptr) -> ()
  call @run_off(%p1, %u5, %u6) : (f32, f32, f32) -> ()
  %c = llvm.mlir.addressof @s_off0 : !llvm.ptr
  call @printString(%c) : (!llvm.ptr) -> ()
  call @run_off(%p0, %u5, %u6) : (f32, f32, f32) -> ()
  %d = llvm.mlir.addressof @s_blend : !llvm.ptr
  call @printString(%d) : (!llvm.ptr) -> ()
  call @run_blend(%p75, %u5, %u99) : (f32, f32, f32) -> ()
  %e = llvm.mlir.addressof @s_f0 : !llvm.ptr
  call @printString(%e) : (!llvm.ptr) -> ()
  call @run_filter(%p75, %p0, %u5, %u99) : (f32, f32, f32, f32) -> ()
  %f = llvm.mlir.addressof @s_f5 : !llvm.ptr
  call @printString(%f) : (!llvm.ptr) -> ()
  call @run_filter(%p75, %t5, %u5, %u99) : (f32, f32, f32, f32) -> ()
  return
}
