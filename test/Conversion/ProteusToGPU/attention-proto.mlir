// RUN: proteus-opt %s --convert-proteus-to-gpu | FileCheck %s
// The rule-form kernel with the prototype candidate piece: the launch passes
// the scores (B, T) flattened, the proto cap and the rows per batch item
// R / B; each query's warp builds its list in shared memory sized by the op's
// proteus.max_l (4 warps x L_max entries for the list and for the picks, a
// 256-bin histogram per warp, one count per warp).

// CHECK-LABEL: func.func @proto
// CHECK: %[[FLAT:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0, 1]] : memref<?x?xf32> into memref<?xf32>
// CHECK: %[[B:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x?xf32>
// CHECK: %[[R:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x?x16xf32>
// CHECK: %[[HEADS:.*]] = arith.divsi %[[R]], %[[B]]
// CHECK: gpu.launch_func @proteus_kernels::@proteus_shortlist_attention_f32 {{.*}} args({{.*}}, %[[FLAT]] : memref<?xf32>, %{{.*}} : index, %[[HEADS]] : index)
// CHECK: gpu.func @proteus_shortlist_attention_f32({{.*}}) workgroup(%{{.*}} : memref<384xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<384xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1024xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4xi32, #gpu.address_space<workgroup>>) kernel attributes {{{.*}}proteus.specialization = "proteus_shortlist_attention_f32 d=16 stride=32 local=1 anchors=1 L=-1 window=-1 local_cap=-1 anchor_cap=-1 proto_cap=-1 heads=R/B L_max=96
// CHECK: nvvm.bar.warp.sync
func.func @proto(%q: memref<?x?x16xf32>, %pr: memref<?xi64>, %pt: memref<?xi64>, %n: index,
                 %l: index, %w: index, %lc: index, %ac: index, %pc: index,
                 %s: memref<?x?xf32>, %o: memref<?x?x16xf32>) {
  proteus.shortlist_attention ins(%q, %q, %q : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
      packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
      budget(%l, %w, %lc, %ac, %pc) scores(%s : memref<?x?xf32>)
      outs(%o : memref<?x?x16xf32>)
      {anchor_stride = 32 : i64, use_local, use_anchors, use_proto, proteus.max_l = 96 : i64}
  return
}
