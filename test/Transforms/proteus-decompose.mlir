// RUN: proteus-opt %s --pass-pipeline='builtin.module(func.func(proteus-specialize{alpha=1.0},proteus-decompose,canonicalize))' | FileCheck %s --check-prefix=SHORT
// RUN: proteus-opt %s --pass-pipeline='builtin.module(func.func(proteus-specialize{alpha=0.0},proteus-decompose,canonicalize))' | FileCheck %s --check-prefix=DENSE
// RUN: proteus-opt %s --pass-pipeline='builtin.module(func.func(proteus-specialize{alpha=0.5},proteus-decompose,canonicalize))' | FileCheck %s --check-prefix=AUTO
// RUN: not proteus-opt %s --pass-pipeline='builtin.module(func.func(proteus-decompose))' 2>&1 | FileCheck %s --check-prefix=NOSPEC
// proteus.layer expands into the primitives; only the attention branch the
// specialized mode can take is emitted (static T = 64 rules out the fast path).
// The shortlist reads q only at the packed pairs (pack's row offsets and
// tokens) and the combination needs only the heads each token uses (top_k's
// row mask); an auto setting shares that projection and combination with its
// dense branch, which asks for q and the heads whole.

// SHORT-LABEL: func.func @layer
// SHORT: proteus.route
// SHORT: proteus.top_p
// SHORT: proteus.top_k ins({{.*}}) outs(%[[ROWMASK:[a-z_0-9]+]] : memref<?x?xi8>)
// SHORT: proteus.pack ins(%[[ROWMASK]] : memref<?x?xi8>) outs(%{{.*}}, %[[TOK:[a-z_0-9]+]], %[[OFF:[a-z_0-9]+]] : memref<?xi64>, memref<?xi64>, memref<?xi64>)
// SHORT: proteus.project ins({{.*}}) packed_q(%[[OFF]], %[[TOK]] : memref<?xi64>, memref<?xi64>)
// SHORT-NOT: proteus.dense_attention
// SHORT: proteus.shortlist_attention {{.*}} {anchor_stride = 256 : i64, use_anchors, use_local}
// SHORT: proteus.combine ins({{.*}}) head_mask(%[[ROWMASK]] : memref<?x?xi8>)
// AUTO-LABEL: func.func @layer
// AUTO: proteus.pack ins(%[[AMASK:[a-z_0-9]+]] : memref<?x?xi8>) outs(%{{.*}}, %[[ATOK:[a-z_0-9]+]], %[[AOFF:[a-z_0-9]+]] :
// AUTO: proteus.project ins({{[^)]*}}) packed_q(%[[AOFF]], %[[ATOK]] : memref<?xi64>, memref<?xi64>) whole_q_if(%[[COND:[0-9]+]])
// AUTO-NEXT: scf.if %[[COND]] {
// AUTO-NEXT: proteus.dense_attention
// AUTO-NEXT: } else {
// AUTO-NEXT: proteus.shortlist_attention
// AUTO-NEXT: {{^ *}}}
// AUTO-NEXT: proteus.combine ins({{[^)]*}}) head_mask(%[[AMASK]] : memref<?x?xi8>) all_heads_if(%[[COND]])
// DENSE-LABEL: func.func @layer
// DENSE: proteus.route
// DENSE: proteus.project ins({{[^)]*}}) outs(
// DENSE-NOT: proteus.shortlist_attention
// DENSE: proteus.dense_attention
// DENSE: proteus.combine ins({{[^)]*}}) outs(
// NOSPEC: error: 'proteus.layer' op has no #proteus.budget: run -proteus-specialize first
func.func @layer(%x: memref<1x64x64xf32>, %wqkv: memref<192x64xf32>, %wproj: memref<64x64xf32>,
                 %wr: memref<8x64xf32>, %b: memref<?xi64>, %y: memref<1x64x64xf32>,
                 %mask: memref<1x64xi8>, %imp: memref<1x64xf32>, %stats: memref<16xi64>) {
  proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<1x64x64xf32>, memref<192x64xf32>,
                    memref<64x64xf32>, memref<8x64xf32>)
      budget(%b : memref<?xi64>)
      outs(%y, %mask, %imp, %stats : memref<1x64x64xf32>, memref<1x64xi8>, memref<1x64xf32>,
           memref<16xi64>)
      {config = #proteus.config<d_model = 64, h_total = 4, gates = 8, h_active_max = 4>}
  return
}
