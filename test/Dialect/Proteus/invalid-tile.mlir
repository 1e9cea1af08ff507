// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Every verifier message of #proteus.tile (the ranges any kernel accepts; what
// one kernel accepts is checked by its lowering: Conversion/ProteusToGPU/
// tiles.mlir).

// expected-error @+1 {{block_m must be a positive power of two, got 48}}
func.func private @f() attributes {a = #proteus.tile<block_m = 48>}

// -----

// expected-error @+1 {{block_m must be a positive power of two, got -9223372036854775808}}
func.func private @f() attributes {a = #proteus.tile<block_m = -9223372036854775808>}

// -----

// expected-error @+1 {{block_n must be a positive power of two, got 0}}
func.func private @f() attributes {a = #proteus.tile<block_n = 0>}

// -----

// expected-error @+1 {{block_n must be a positive power of two, got 96}}
func.func private @f() attributes {a = #proteus.tile<block_n = 96>}

// -----

// expected-error @+1 {{block_n must be a positive power of two, got -9223372036854775808}}
func.func private @f() attributes {a = #proteus.tile<block_n = -9223372036854775808>}

// -----

// expected-error @+1 {{warps must be 1, 2, 4, 8 or 16, got 3}}
func.func private @f() attributes {a = #proteus.tile<warps = 3>}

// -----

// expected-error @+1 {{warps must be 1, 2, 4, 8 or 16, got 32}}
func.func private @f() attributes {a = #proteus.tile<warps = 32>}

// -----

// expected-error @+1 {{warps must be 1, 2, 4, 8 or 16, got -9223372036854775808}}
func.func private @f() attributes {a = #proteus.tile<warps = -9223372036854775808>}

// -----

// expected-error @+1 {{stages must be positive, got 0}}
func.func private @f() attributes {a = #proteus.tile<stages = 0>}


// -----

// expected-error @+1 {{lanes must be 1, 2, 4, 8, 16 or 32, got 3}}
func.func private @f() attributes {a = #proteus.tile<lanes = 3>}

// -----

// expected-error @+1 {{lanes must be 1, 2, 4, 8, 16 or 32, got 64}}
func.func private @f() attributes {a = #proteus.tile<lanes = 64>}

// -----

// expected-error @+1 {{lanes must be 1, 2, 4, 8, 16 or 32, got 0}}
func.func private @f() attributes {a = #proteus.tile<lanes = 0>}

// -----

// expected-error @+1 {{unroll must be in [1, 8], got 0}}
func.func private @f() attributes {a = #proteus.tile<unroll = 0>}

// -----

// expected-error @+1 {{unroll must be in [1, 8], got 9}}
func.func private @f() attributes {a = #proteus.tile<unroll = 9>}

// -----

// expected-error @+1 {{vector must be 1, 2, 4 or 8 elements, got 3}}
func.func private @f() attributes {a = #proteus.tile<vector = 3>}

// -----

// expected-error @+1 {{vector must be 1, 2, 4 or 8 elements, got 16}}
func.func private @f() attributes {a = #proteus.tile<vector = 16>}

// -----

// expected-error @+1 {{vector must be 1, 2, 4 or 8 elements, got -9223372036854775808}}
func.func private @f() attributes {a = #proteus.tile<vector = -9223372036854775808>}

// -----

// expected-error @+1 {{pad must be in [0, 64], got -8}}
func.func private @f() attributes {a = #proteus.tile<pad = -8>}

// -----

// expected-error @+1 {{pad must be in [0, 64], got 72}}
func.func private @f() attributes {a = #proteus.tile<pad = 72>}
