// The chip of -proteus-lower-to-nvvm goes through the same check as
// proteus-compile --arch (lib/Support/GpuTarget.cpp): every supported target
// lowers, anything else is refused with the list before a pass runs (NVPTX
// would abort on it).
// RUN: proteus-opt %s --proteus-lower-to-nvvm="chip=sm_80" | FileCheck %s --check-prefix=SM80
// RUN: proteus-opt %s --proteus-lower-to-nvvm="chip=sm_90a" | FileCheck %s --check-prefix=SM90A
// RUN: not proteus-opt %s --proteus-lower-to-nvvm="chip=sm_75" 2>&1 | FileCheck %s --check-prefix=SM75
// RUN: not proteus-opt %s --proteus-lower-to-nvvm="chip=" 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not proteus-opt %s --proteus-lower-to-nvvm="chip=sm_90a,sm_80" 2>&1 | FileCheck %s --check-prefix=LIST
// RUN: not proteus-opt %s --proteus-lower-to-nvvm="chip=gfx90a" 2>&1 | FileCheck %s --check-prefix=AMD
// RUN: not proteus-opt %s --pass-pipeline="builtin.module(proteus-lower-to-nvvm{chip=sm_100})" 2>&1 | FileCheck %s --check-prefix=SM100
// RUN: not proteus-opt %s --proteus-lower-to-nvvm="chip=sm_90 features=+ptx60" 2>&1 | FileCheck %s --check-prefix=PTX60
// RUN: proteus-opt %s --proteus-lower-to-nvvm="chip=sm_80 features=+ptx70" | FileCheck %s --check-prefix=PTX70

// SM80: #nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">
// SM80-SAME: .target sm_80
// SM90A: #nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">
// SM90A-SAME: .target sm_90a
// SM75: error: proteus-lower-to-nvvm: chip: unsupported GPU target 'sm_75': accepted are sm_80, sm_86, sm_89, sm_90, sm_90a{{$}}
// EMPTY: proteus-lower-to-nvvm: chip: unsupported GPU target '': accepted are
// LIST: proteus-lower-to-nvvm: chip: unsupported GPU target 'sm_90a,sm_80'
// AMD: proteus-lower-to-nvvm: chip: unsupported GPU target 'gfx90a'
// SM100: proteus-lower-to-nvvm: chip: unsupported GPU target 'sm_100'
// PTX60: proteus-lower-to-nvvm: features: PTX ISA 6.0 ('+ptx60') is older than the 7.8 that sm_90 needs
// PTX70: .version 7.0
// PTX70-SAME: .target sm_80
func.func @dense(%q: memref<?x?x16xf32>, %o: memref<?x?x16xf32>) {
  proteus.dense_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      outs(%o : memref<?x?x16xf32>)
  return
}
