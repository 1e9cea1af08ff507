// RUN: proteus-opt %s --proteus-outline-parallel-loops | FileCheck %s
// An outermost 1-D scf.parallel becomes a call of the runtime's hook (or of
// the outlined body on this thread while the hook is null); its captured
// values travel in a stack frame, constants are cloned into the body.

// CHECK-LABEL: func.func @scale
// CHECK: %[[FRAME:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>, f32)>
// CHECK-NOT: scf.parallel
// CHECK: llvm.store
// CHECK: %[[HOOKADDR:.*]] = llvm.mlir.addressof @proteus_parallel_for
// CHECK: %[[HOOK:.*]] = llvm.load %[[HOOKADDR]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[NULL:.*]] = llvm.icmp "eq" %[[HOOK]]
// CHECK: scf.if %[[NULL]]
// CHECK: func.call @__proteus_parallel_scale_0(%[[FRAME]]
// CHECK: } else {
// CHECK: func.constant @__proteus_parallel_scale_0
// CHECK: llvm.call %[[HOOK]](
func.func @scale(%m: memref<?xf32>, %s: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %m[%i] : memref<?xf32>
    %w = arith.mulf %v, %s : f32
    memref.store %w, %m[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// CHECK: llvm.mlir.global external @proteus_parallel_for() {{.*}} : !llvm.ptr
// CHECK: llvm.mlir.zero : !llvm.ptr

// CHECK-LABEL: func.func private @__proteus_parallel_scale_0
// CHECK-SAME: (%[[CTX:.*]]: !llvm.ptr, %[[LO:.*]]: i64, %[[HI:.*]]: i64)
// CHECK: arith.constant 0 : index
// CHECK: llvm.getelementptr %[[CTX]][0, 0]
// CHECK: builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)> to memref<?xf32>
// CHECK: llvm.getelementptr %[[CTX]][0, 1]
// CHECK: scf.for
// CHECK: memref.load
// CHECK: arith.mulf
// CHECK: memref.store
