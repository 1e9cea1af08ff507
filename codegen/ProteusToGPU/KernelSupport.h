//===- KernelSupport.h - Building GPU kernels with LoopBuilder --*- C++ -*-===//
//
// What the kernel builders of ProteusToGPU share: a gpu.func under
// construction, workgroup buffers, barriers and block-wide reductions, the
// kernel module the pass creates and the flattening of operands to the 1-D
// kernel ABI of contract.h. Private to codegen/.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_CODEGEN_PROTEUSTOGPU_KERNELSUPPORT_H
#define PROTEUS_CODEGEN_PROTEUSTOGPU_KERNELSUPPORT_H

#include "../ProteusToSCF/LoopBuilder.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir::proteus {

/// A kernel under construction: its function, argument list, thread and
/// block ids.
struct Kernel {
  gpu::GPUFuncOp fn;
  Value tid, bid;
  Value arg(unsigned i) { return fn.getArgument(i); }
};

/// Creates the kernel `name` with `args` and `block` threads, builds its body
/// with `body` (a LoopBuilder with the device math), unless the module has
/// it already; `spec` is its proteus.specialization.
void defineKernel(OpBuilder &b, gpu::GPUModuleOp module, StringRef name,
                  ArrayRef<Type> args, int64_t block, StringRef spec,
                  function_ref<void(LoopBuilder &, Kernel &)> body);

/// A workgroup buffer of n elements, 16-byte aligned: the backend vectorizes
/// loops over it into 16-byte loads and must not find it at a 4-byte offset.
Value shared(OpBuilder &b, Kernel &k, Type elem, int64_t n);

/// gpu.barrier.
void barrier(LoopBuilder &lb);

/// The block-wide reduction of `v` by `combine` as a tree of fixed shape
/// (deterministic) over smem[0 .. block); every thread gets the result.
Value blockReduce(LoopBuilder &lb, Value smem, Value tid, Value v,
                  int64_t block, function_ref<Value(Value, Value)> combine);

/// The gpu.module @proteus_kernels the pass creates before converting.
gpu::GPUModuleOp getOrCreateKernelModule(Operation *op);

/// Collapses a contiguous memref to 1-D for the kernel ABI.
Value flatten(OpBuilder &b, Location loc, Value mem);

} // namespace mlir::proteus

#endif // PROTEUS_CODEGEN_PROTEUSTOGPU_KERNELSUPPORT_H
