//===- Passes.td - Proteus conversion passes ---------------*- tablegen -*-===//
//
// Lowerings out of the proteus dialect.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_CONVERSION_PASSES_TD
#define PROTEUS_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertProteusToSCFPass
    : InterfacePass<"convert-proteus-to-scf", "mlir::FunctionOpInterface"> {
  let summary = "Lower the proteus primitives to scalar scf/memref/arith/math loops";
  let description = [{
    The CPU reference path: every primitive becomes plain loops on memrefs with
    f64 accumulation of reductions and f32 storage, so the result is the most
    accurate reading of REFERENCE.md. Independent loops are `scf.parallel` over
    blocks; matrix products are register-tiled with `vector<4xf64>`
    accumulators, one output per lane, each in the scalar loops' order. Supports f32 operands; other element types
    are reported, not miscompiled. `proteus.layer` must be decomposed first.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
  let options = [
    Option<"protoPicksBySelect", "proto-picks-by-select", "bool", /*default=*/"false",
           "take the prototype piece's picks by the GPU layer kernel's exact "
           "top-c select (a radix select and an in-order walk per query, O(T) "
           "each) instead of one sort per batch item: the same picks, for "
           "testing that select on the CPU">
  ];
}

def ProteusOutlineParallelLoopsPass
    : Pass<"proteus-outline-parallel-loops", "mlir::ModuleOp"> {
  let summary = "Run the CPU path's scf.parallel loops on the runtime's threads";
  let description = [{
    Outlines the body of every outermost one-dimensional `scf.parallel` without
    reductions into a function `void(ptr ctx, i64 lo, i64 hi)` that runs
    iterations [lo, hi), its captured values packed into a stack struct `ctx`,
    and replaces the loop with a call of the library's parallel-loop hook
    (`proteus_rt::kCpuParallelForHook`, a global function pointer the runtime
    sets after loading the library), or of the body over the whole range on
    the calling thread while the hook is null. The library needs nothing but
    libc and libm on any machine; results do not depend on the thread count
    because the iterations are independent. Nested parallel loops stay as they
    are (serial in their outlined parent).
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect", "::mlir::func::FuncDialect",
                           "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect"];
}

def ConvertProteusToGPUPass : Pass<"convert-proteus-to-gpu", "mlir::ModuleOp"> {
  let summary = "Lower proteus attention ops to gpu.launch_func of specialized kernels";
  let description = [{
    Replaces `proteus.shortlist_attention` and `proteus.dense_attention` with
    launches of `gpu.func` kernels collected in `gpu.module @proteus_kernels`.
    Element type, head dim, anchor stride, candidate pieces and softmax scale are
    constants of each kernel; sequence length and budgets are kernel arguments.
    Anchored on the module because it creates the kernel module beside the host
    code.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect"];
}

#endif // PROTEUS_CONVERSION_PASSES_TD
