//===- chunked_contract.h - The chunked pipeline's entry points -*- C++ -*-===//
//
// Part of the compiler/runtime contract (contract.h): the CPU library entry
// points of the chunked shortlist pipeline's primitives (REFERENCE.md 7),
// proteus.chunk_nucleus and proteus.shortlist_merge, in argument order.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RT_CHUNKED_CONTRACT_H
#define PROTEUS_RT_CHUNKED_CONTRACT_H

#include "proteus_rt/contract.h"

namespace proteus_rt {

/// `proteus_chunk_nucleus`: importance (f32, n), token_mask (i8, n; 1 kept),
/// top_p (f32), budget, offset (i64), promoted (i64, cap), scores (f32, cap),
/// count (i64, 1): one chunk's promoted tokens (global positions in score
/// order) and their scores, at most min(budget, n, cap) of them.
inline constexpr const char *kChunkNucleusEntry = "proteus_chunk_nucleus";
using ChunkNucleusFn = void (*)(MemRef<float, 1> *, MemRef<int8_t, 1> *, float,
                                int64_t, int64_t, MemRef<int64_t, 1> *,
                                MemRef<float, 1> *, MemRef<int64_t, 1> *);

/// `proteus_shortlist_merge`: indices (i64, N; < 0 is no candidate), scores
/// (f32, N), keep (i64, K), keep_scores (f32, K), count (i64, 1): the best K
/// candidates by score (ties to the lower index) in ascending index order.
inline constexpr const char *kShortlistMergeEntry = "proteus_shortlist_merge";
using ShortlistMergeFn = void (*)(MemRef<int64_t, 1> *, MemRef<float, 1> *,
                                  MemRef<int64_t, 1> *, MemRef<float, 1> *,
                                  MemRef<int64_t, 1> *);

} // namespace proteus_rt

#endif // PROTEUS_RT_CHUNKED_CONTRACT_H
