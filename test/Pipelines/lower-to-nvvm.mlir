// RUN: proteus-opt %s --proteus-lower-to-nvvm | FileCheck %s
// RUN: proteus-compile --alpha 0,0.25,0.5,0.75,1 -o %t.bundle | FileCheck %s --check-prefix=COMPILE
// RUN: not ls %t.bundle/sass
// RUN: sed '/proteus_bundle_fingerprint/,$d' %t.bundle/ptx/sm_90/s1.ptx > %t.s1.kernels
// RUN: sed '/proteus_bundle_fingerprint/,$d' %t.bundle/ptx/sm_90/s2.ptx | diff %t.s1.kernels -
// RUN: sed '/proteus_bundle_fingerprint/,$d' %t.bundle/ptx/sm_90/s3.ptx | diff %t.s1.kernels -
// RUN: %if ptxas %{ %ptxas -arch=sm_90 -v %t.bundle/ptx/sm_90/s0.ptx -o %t.s0.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: %if ptxas %{ %ptxas -arch=sm_90 -v %t.bundle/ptx/sm_90/s1.ptx -o %t.s1.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: %if ptxas %{ %ptxas -arch=sm_90 -v %t.bundle/ptx/sm_90/s4.ptx -o %t.s4.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// RUN: proteus-compile --config %S/Inputs/d128.json --alpha 1 -o %t.d128 | FileCheck %s --check-prefix=COMPILE1
// RUN: %if ptxas %{ %ptxas -arch=sm_90 -v %t.d128/ptx/sm_90/s0.ptx -o %t.d128.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}
// The kernel module goes all the way to PTX for sm_90; every kernel of a
// bundle assembles with ptxas without spills (registers reported).
// The compile takes the defaults (test/Tools/proteus-compile/arch.test relies
// on it): PTX for sm_90 only, and no SASS under the suite's PROTEUS_SASS=none.
// Settings 1-3 (alpha 0.25, 0.5, 0.75) of the default configuration compile
// to the same kernels (the compiler lowers them once; only the fingerprint
// global at the end of each PTX file differs): the sed/diff lines check that,
// so one ptxas run covers the three (a change that makes them differ fails
// here: then assemble each).

// CHECK: gpu.binary @proteus_kernels
// CHECK-SAME: #gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">
// CHECK-SAME: assembly = "
// CHECK-SAME: .visible .entry proteus_dense_attention_f16
// COMPILE: proteus-compile: wrote {{.*}} (5 setting(s), CPU library {{[0-9]+}} bytes, PTX for sm_90)
// COMPILE1: proteus-compile: wrote {{.*}} (1 setting(s), CPU library {{[0-9]+}} bytes, PTX for sm_90)
// PTXAS-NOT: error
// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill
// PTXAS: Compiling entry function 'proteus_dense_attention_f16' for 'sm_90'
// PTXAS-NEXT: Function properties for proteus_dense_attention_f16
// PTXAS-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS-NEXT: Used {{[0-9]+}} registers
func.func @dense(%q: memref<?x?x64xf16>, %o: memref<?x?x64xf16>) {
  proteus.dense_attention ins(%q, %q, %q : memref<?x?x64xf16>, memref<?x?x64xf16>, memref<?x?x64xf16>)
      outs(%o : memref<?x?x64xf16>)
  return
}
