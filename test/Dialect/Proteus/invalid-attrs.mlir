// RUN: proteus-opt %s -split-input-file -verify-diagnostics
// Every verifier message of #proteus.config and #proteus.budget, and the parse
// error of their boolean parameters (#proteus.tile: invalid-tile.mlir).

// expected-error @+1 {{d_model must be positive, got 0}}
func.func private @f() attributes {a = #proteus.config<d_model = 0, h_total = 4>}

// -----

// expected-error @+1 {{h_total must be positive, got -4}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = -4>}

// -----

// expected-error @+1 {{h_total must be positive, got 0}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 0>}

// -----

// expected-error @+1 {{d_model (64) must be divisible by h_total (5)}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 5, gates = 10>}

// -----

// expected-error @+1 {{gates (2) must be >= h_total (4)}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 2>}

// -----

// expected-error @+1 {{h_active_max must be >= 1, got 0}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, h_active_max = 0, h_active_min = 1>}

// -----

// expected-error @+1 {{h_active_min must be in [1, h_active_max = 2], got 3}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, h_active_max = 2, h_active_min = 3>}

// -----

// expected-error @+1 {{h_active_min must be in [1, h_active_max = 8], got 0}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, h_active_min = 0>}

// -----

// expected-error @+1 {{need 1 <= seq_low <= seq_high, got seq_low = 100, seq_high = 50}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, seq_low = 100, seq_high = 50>}

// -----

// expected-error @+1 {{need 1 <= seq_low <= seq_high, got seq_low = 0, seq_high = 256}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, seq_low = 0>}

// -----

// expected-error @+1 {{small_seq_dense must be >= 0, got -1}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, small_seq_dense = -1>}

// -----

// expected-error @+1 {{dense_alpha_cutoff must be in [0, 0.95], got 9.900000e-01}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, dense_alpha_cutoff = 0.99>}

// -----

// expected-error @+1 {{dense_alpha_cutoff must be in [0, 0.95], got -5.000000e-01}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, dense_alpha_cutoff = -0.5>}

// -----

// expected-error @+1 {{dense_threshold must be in (0, 1] (or -1 for unset), got 1.5}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, dense_threshold = 1.5>}

// -----

// expected-error @+1 {{dense_threshold must be in (0, 1] (or -1 for unset), got 0}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, dense_threshold = 0.0>}

// -----

// expected-error @+1 {{router_top_p must be in [0, 1], got 2}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, router_top_p = 2.0>}

// -----

// expected-error @+1 {{router_top_p must be in [0, 1], got -5.000000e-01}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, router_top_p = -0.5>}

// -----

// expected-error @+1 {{linear_head_k must be >= 1, got 0}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, linear_head_k = 0>}

// -----

// expected-error @+1 {{linear_switch_ctx must be >= 0, got -5}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, linear_switch_ctx = -5>}

// -----

// expected-error @+1 {{window_base must be positive, got 0}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, window_base = 0>}

// -----

// expected-error @+1 {{anchor_stride must be >= 0, got -1}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, anchor_stride = -1>}

// -----

// expected-error @+1 {{at least one candidate piece (local, anchors, proto) must be on}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, use_local = false, use_anchors = false>}

// -----

// expected-error @+1 {{piece_local_frac must be in [0, 1], got 1.5}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, piece_local_frac = 1.5>}

// -----

// expected-error @+1 {{piece_local_frac must be in [0, 1], got -5.000000e-01}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, piece_local_frac = -0.5>}

// -----

// expected-error @+1 {{piece_anchor_frac must be in [0, 1], got -5.000000e-01}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, piece_anchor_frac = -0.5>}

// -----

// expected-error @+1 {{piece_anchor_frac must be in [0, 1], got 1.5}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, piece_anchor_frac = 1.5>}

// -----

// expected-error @+1 {{piece_proto_frac must be in [0, 1], got 2}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, piece_proto_frac = 2.0>}

// -----

// expected-error @+1 {{piece_proto_frac must be in [0, 1], got -5.000000e-01}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, piece_proto_frac = -0.5>}

// -----

// expected-error @+1 {{need L_base >= 1 and 1 <= L_min <= L_max, got L_base = 512, L_min = 600, L_max = 512}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, L_min = 600>}

// -----

// expected-error @+1 {{need L_base >= 1 and 1 <= L_min <= L_max, got L_base = 0, L_min = 64, L_max = 512}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, L_base = 0>}

// -----

// expected-error @+1 {{need L_base >= 1 and 1 <= L_min <= L_max, got L_base = 512, L_min = 0, L_max = 512}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, L_min = 0>}

// -----

// expected-error @+1 {{L_scale must be in (0, inf), got 0}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, L_scale = 0.0>}

// -----

// expected-error @+1 {{keep_ratio_base (density) must be in (0, 1], got 0}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, keep_ratio_base = 0.0>}

// -----

// expected-error @+1 {{keep_ratio_base (density) must be in (0, 1], got 1.5}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, keep_ratio_base = 1.5>}

// -----

// expected-error @+1 {{keep_ratio_min must be in [0, 1], got 1.5}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, keep_ratio_min = 1.5>}

// -----

// expected-error @+1 {{keep_ratio_min must be in [0, 1], got -5.000000e-01}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, keep_ratio_min = -0.5>}

// -----

// expected-error @+1 {{keep_threshold must be in [0, inf), got -1}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, keep_threshold = -1.0>}

// -----

// expected-error @+1 {{keep_ratio_ref must be positive, got 0}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, keep_ratio_ref = 0>}

// -----

// expected-error @+1 {{keep_guard and keep_min must be >= 0, got -1 and 0}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, keep_guard = -1>}

// -----

// expected-error @+1 {{keep_guard and keep_min must be >= 0, got 1 and -1}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, keep_min = -1>}

// -----

// expected-error @+1 {{proto_decay must be in [0, 1], got 1.5}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_decay = 1.5>}

// -----

// expected-error @+1 {{proto_decay must be in [0, 1], got -5.000000e-01}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_decay = -0.5>}

// -----

// expected-error @+1 {{proto_temp must be in (0, inf), got 0}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, proto_temp = 0.0>}

// -----

// expected-error @+1 {{int8_percentile must be in (0, 1], got 0}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, int8_percentile = 0.0>}

// -----

// expected-error @+1 {{int8_percentile must be in (0, 1], got 1.5}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, int8_percentile = 1.5>}

// -----

// expected-error @+1 {{the proto candidate piece needs proto_enabled = true}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, use_proto = true>}

// -----

// expected-error @+1 {{use_rope needs an even head dim, got 3}}
func.func private @f() attributes {a = #proteus.config<d_model = 12, h_total = 4, gates = 8>}

// -----

// expected-error @+2 {{expected 'true' or 'false'}}
// expected-error @+1 {{failed to parse Proteus_ConfigAttr parameter 'bias' which is to be a `bool`}}
func.func private @f() attributes {a = #proteus.config<d_model = 64, h_total = 4, gates = 8, bias = 1>}

// -----

// expected-error @+1 {{alpha must be in [0, 1], got 1.5}}
func.func private @f() attributes {a = #proteus.budget<alpha = 1.5>}

// -----

// expected-error @+1 {{alpha must be in [0, 1], got -5.000000e-01}}
func.func private @f() attributes {a = #proteus.budget<alpha = -0.5>}

// -----

// expected-error @+1 {{density must be in (0, 1], got 0}}
func.func private @f() attributes {a = #proteus.budget<density = 0.0>}

// -----

// expected-error @+1 {{density must be in (0, 1], got 1.5}}
func.func private @f() attributes {a = #proteus.budget<density = 1.5>}

// -----

// expected-error @+1 {{seq_len must be positive (or -1 for dynamic), got 0}}
func.func private @f() attributes {a = #proteus.budget<seq_len = 0>}

// -----

// expected-error @+1 {{k_dense must be positive (or -1 for dynamic), got 0}}
func.func private @f() attributes {a = #proteus.budget<k_dense = 0>}

// -----

// expected-error @+1 {{effective_l must be positive (or -1 for dynamic), got 0}}
func.func private @f() attributes {a = #proteus.budget<effective_l = 0>}

// -----

// expected-error @+1 {{window must be positive (or -1 for dynamic), got 0}}
func.func private @f() attributes {a = #proteus.budget<window = 0>}

// -----

// expected-error @+1 {{token_keep must be >= 0 (or -1 for dynamic), got -2}}
func.func private @f() attributes {a = #proteus.budget<token_keep = -2>}

// -----

// expected-error @+1 {{local_cap must be >= 0 (or -1 for dynamic), got -2}}
func.func private @f() attributes {a = #proteus.budget<local_cap = -2>}

// -----

// expected-error @+1 {{anchor_cap must be >= 0 (or -1 for dynamic), got -2}}
func.func private @f() attributes {a = #proteus.budget<anchor_cap = -2>}

// -----

// expected-error @+1 {{proto_cap must be >= 0 (or -1 for dynamic), got -2}}
func.func private @f() attributes {a = #proteus.budget<proto_cap = -2>}

// -----

// expected-error @+1 {{window (128) must not exceed effective_l (64)}}
func.func private @f() attributes {a = #proteus.budget<effective_l = 64, window = 128>}

// -----

// expected-error @+1 {{topk entries must be >= 0, got -1}}
func.func private @f() attributes {a = #proteus.budget<topk = [0, -1]>}
