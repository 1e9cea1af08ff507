//===- chunked_test.cpp - prt_chunked_run's argument checks ---------------===//
//
// The chunked pipeline refuses every bad argument with its status and a
// message before anything runs, and reports memory fixed by chunk_len,
// buffer_tokens and C whatever T is (the pipeline itself is checked against
// the golden `chunked` cases by proteus-run --golden).
//
//===----------------------------------------------------------------------===//

#include "proteus_rt/proteus_rt.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

prt_chunked_args validArgs(const std::vector<float> &x) {
  prt_chunked_args a{};
  a.T = 64;
  a.C = 4;
  a.chunk_len = 16;
  a.buffer_tokens = 8;
  a.per_chunk_budget = 4;
  a.nucleus_top_p = 0.9;
  a.x = x.data();
  a.dtype = PRT_DTYPE_F32;
  return a;
}

TEST(Chunked, RefusesBadArguments) {
  std::vector<float> x(64 * 4);
  EXPECT_STATUS(prt_chunked_run(nullptr), PRT_ERR_INVALID_ARGUMENT,
                "args is NULL");
  prt_chunked_args a = validArgs(x);
  a.T = 0;
  EXPECT_STATUS(prt_chunked_run(&a), PRT_ERR_SHAPE, "args.T and args.C");
  a = validArgs(x);
  a.chunk_len = 65537;
  EXPECT_STATUS(prt_chunked_run(&a), PRT_ERR_INVALID_ARGUMENT,
                "args.chunk_len is 65537, outside [1, 65536]");
  a = validArgs(x);
  a.per_chunk_budget = 0;
  EXPECT_STATUS(prt_chunked_run(&a), PRT_ERR_INVALID_ARGUMENT,
                "args.per_chunk_budget must be >= 1");
  a = validArgs(x);
  a.nucleus_top_p = 0.0;
  EXPECT_STATUS(prt_chunked_run(&a), PRT_ERR_INVALID_ARGUMENT,
                "args.nucleus_top_p is 0, outside (0, 1]");
  a = validArgs(x);
  EXPECT_STATUS(prt_chunked_run(&a), PRT_ERR_INVALID_ARGUMENT,
                "args.bundle is NULL");
}

TEST(Chunked, MemoryIsFixedWhateverT) {
  std::vector<float> x(1);
  prt_chunked_args a = validArgs(x);
  prt_chunked_info small{}, large{};
  ASSERT_EQ(prt_chunked_plan_info(&a, &small), PRT_OK) << prt_last_error();
  a.T = int64_t(1) << 34;
  ASSERT_EQ(prt_chunked_plan_info(&a, &large), PRT_OK) << prt_last_error();
  EXPECT_EQ(small.chunks, 4);
  EXPECT_EQ(large.chunks, (int64_t(1) << 34) / 16);
  EXPECT_EQ(small.working_bytes, large.working_bytes);
  EXPECT_GT(small.working_bytes, 0);
}

} // namespace
