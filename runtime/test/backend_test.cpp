//===- backend_test.cpp - Backend choice, and the GPU path where present --===//
//
// Without a GPU (this machine, CI): AUTO picks the CPU and says why, for a
// missing driver and for the CUDA stub library; an explicit GPU request
// fails. With a GPU: PTX JIT through the memory and disk caches, a damaged
// cache entry rebuilt, a kernel launched, and the plan's backend choice.
//
//===----------------------------------------------------------------------===//

#include "test_util.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

using namespace proteus_rt;
using namespace proteus_rt::test;

namespace {

bool driverPresent() {
  void *h = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h)
    ::dlclose(h);
  return h != nullptr;
}

std::string stubLibrary() {
  const char *home = std::getenv("CUDA_HOME");
  return std::string(home && *home ? home : "/usr/local/cuda") +
         "/lib64/stubs/libcuda.so";
}

prt_context_options optionsFor(prt_backend backend,
                               const char *library = nullptr) {
  prt_context_options o;
  prt_context_options_init(&o);
  o.backend = backend;
  o.cuda_library = library;
  return o;
}

/// A GPU context with its disk cache in `cacheDir`; nullptr without a GPU.
prt_context *gpuContext(const std::string &cacheDir) {
  prt_context_options o = optionsFor(PRT_BACKEND_GPU);
  o.cache_dir = cacheDir.c_str();
  prt_context *ctx = nullptr;
  if (prt_context_create(&ctx, &o) != PRT_OK)
    return nullptr;
  return ctx;
}

#define SKIP_WITHOUT_GPU(ctx)                                                  \
  if (!(ctx))                                                                  \
  GTEST_SKIP() << "no usable GPU: " << prt_last_error()

/// y = a + b over n floats; .target sm_50 so that any newer arch JITs it.
const char kVectorAddPtx[] = R"(.version 7.0
.target sm_50
.address_size 64

.visible .entry vector_add(.param .u64 pa, .param .u64 pb, .param .u64 pc,
                           .param .u32 pn)
{
  .reg .pred p;
  .reg .b32 r<6>;
  .reg .f32 f<4>;
  .reg .b64 rd<11>;
  ld.param.u64 rd1, [pa];
  ld.param.u64 rd2, [pb];
  ld.param.u64 rd3, [pc];
  ld.param.u32 r2, [pn];
  mov.u32 r3, %ctaid.x;
  mov.u32 r4, %ntid.x;
  mov.u32 r5, %tid.x;
  mad.lo.s32 r1, r3, r4, r5;
  setp.ge.u32 p, r1, r2;
  @p bra DONE;
  cvta.to.global.u64 rd4, rd1;
  cvta.to.global.u64 rd5, rd2;
  cvta.to.global.u64 rd6, rd3;
  mul.wide.u32 rd7, r1, 4;
  add.s64 rd8, rd4, rd7;
  add.s64 rd9, rd5, rd7;
  add.s64 rd10, rd6, rd7;
  ld.global.f32 f1, [rd8];
  ld.global.f32 f2, [rd9];
  add.f32 f3, f1, f2;
  st.global.f32 [rd10], f3;
DONE:
  ret;
}
)";

} // namespace

TEST(Backend, CpuWhenRequested) {
  prt_context_options o = optionsFor(PRT_BACKEND_CPU);
  prt_context *ctx = nullptr;
  ASSERT_EQ(prt_context_create(&ctx, &o), PRT_OK) << prt_last_error();
  prt_backend_info info;
  ASSERT_EQ(prt_context_backend(ctx, &info), PRT_OK);
  EXPECT_EQ(info.backend, PRT_BACKEND_CPU);
  EXPECT_STREQ(info.reason, "the CPU backend was requested");
  prt_context_destroy(ctx);
}

TEST(Backend, AutoWithoutDriverFallsBackToCpu) {
  if (driverPresent())
    GTEST_SKIP() << "libcuda.so.1 is installed here";
  prt_context *ctx = nullptr;
  ASSERT_EQ(prt_context_create(&ctx, nullptr), PRT_OK) << prt_last_error();
  prt_backend_info info;
  ASSERT_EQ(prt_context_backend(ctx, &info), PRT_OK);
  EXPECT_EQ(info.backend, PRT_BACKEND_CPU);
  EXPECT_NE(std::string(info.reason)
                .find("no usable GPU: dlopen(libcuda.so.1) failed"),
            std::string::npos)
      << info.reason;
  prt_context_destroy(ctx);

  prt_context_options o = optionsFor(PRT_BACKEND_GPU);
  EXPECT_EQ(prt_context_create(&ctx, &o), PRT_ERR_UNSUPPORTED);
  EXPECT_NE(
      std::string(prt_last_error())
          .find("the GPU backend was requested but no GPU is usable: dlopen"),
      std::string::npos)
      << prt_last_error();
  EXPECT_EQ(ctx, nullptr);
}

TEST(Backend, StubLibraryMeansNoGpu) {
  const std::string stub = stubLibrary();
  if (!fs::exists(stub))
    GTEST_SKIP() << "no CUDA stub library at " << stub;
  prt_context_options o = optionsFor(PRT_BACKEND_AUTO, stub.c_str());
  prt_context *ctx = nullptr;
  ASSERT_EQ(prt_context_create(&ctx, &o), PRT_OK) << prt_last_error();
  prt_backend_info info;
  prt_context_backend(ctx, &info);
  EXPECT_EQ(info.backend, PRT_BACKEND_CPU);
  EXPECT_NE(std::string(info.reason)
                .find("cuInit failed: CUDA_ERROR_STUB_LIBRARY (34)"),
            std::string::npos)
      << info.reason;
  prt_context_destroy(ctx);

  o.backend = PRT_BACKEND_GPU;
  EXPECT_EQ(prt_context_create(&ctx, &o), PRT_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(prt_last_error()).find("CUDA_ERROR_STUB_LIBRARY"),
            std::string::npos);
}

TEST(Backend, LibraryWithoutTheDriverApi) {
  prt_context_options o = optionsFor(PRT_BACKEND_AUTO, "libm.so.6");
  prt_context *ctx = nullptr;
  ASSERT_EQ(prt_context_create(&ctx, &o), PRT_OK) << prt_last_error();
  prt_backend_info info;
  prt_context_backend(ctx, &info);
  EXPECT_EQ(info.backend, PRT_BACKEND_CPU);
  EXPECT_NE(std::string(info.reason).find("libm.so.6 lacks cuInit"),
            std::string::npos)
      << info.reason;
  prt_context_destroy(ctx);
}

TEST(Backend, CacheFolderOptions) {
  prt_context_options o = optionsFor(PRT_BACKEND_CPU);
  o.cache_dir = "/somewhere/cache";
  prt_context *ctx = nullptr;
  ASSERT_EQ(prt_context_create(&ctx, &o), PRT_OK);
  const char *dir = nullptr, *why = nullptr;
  ASSERT_EQ(prt_context_cache_dir(ctx, &dir, &why), PRT_OK);
  if (std::getenv("PROTEUS_DISABLE_CACHE") == nullptr) {
    EXPECT_STREQ(dir, "/somewhere/cache");
  }
  prt_context_destroy(ctx);
  o.disable_disk_cache = 1;
  ASSERT_EQ(prt_context_create(&ctx, &o), PRT_OK);
  ASSERT_EQ(prt_context_cache_dir(ctx, &dir, &why), PRT_OK);
  EXPECT_STREQ(dir, "");
  EXPECT_NE(std::string(why).find("disabled"), std::string::npos);
  prt_context_destroy(ctx);
}

TEST(Gpu, PtxThroughMemoryAndDiskCaches) {
  TempDir cache;
  prt_context *ctx = gpuContext(cache.path());
  SKIP_WITHOUT_GPU(ctx);
  prt_backend_info info;
  ASSERT_EQ(prt_context_backend(ctx, &info), PRT_OK);
  const std::string ptx = kVectorAddPtx;
  const int64_t n = static_cast<int64_t>(ptx.size());

  prt_module *m1 = nullptr, *m2 = nullptr, *m3 = nullptr;
  prt_module_info mi;
  ASSERT_EQ(prt_module_load_ptx(ctx, ptx.data(), n, nullptr, &m1), PRT_OK)
      << prt_last_error();
  prt_module_get_info(m1, &mi);
  EXPECT_EQ(mi.source, PRT_MODULE_JIT);
  EXPECT_STREQ(mi.arch, info.arch);
  EXPECT_STREQ(mi.cache_note, "");
  const std::string entry = DiskCache(cache.path()).entryPath(mi.key);
  EXPECT_TRUE(fs::exists(entry)) << entry;

  ASSERT_EQ(prt_module_load_ptx(ctx, ptx.data(), n, nullptr, &m2), PRT_OK);
  prt_module_get_info(m2, &mi);
  EXPECT_EQ(mi.source, PRT_MODULE_MEMORY_CACHE);

  // A second context finds the cubin on disk.
  prt_context *ctx2 = gpuContext(cache.path());
  ASSERT_EQ(prt_module_load_ptx(ctx2, ptx.data(), n, nullptr, &m3), PRT_OK)
      << prt_last_error();
  prt_module_get_info(m3, &mi);
  EXPECT_EQ(mi.source, PRT_MODULE_DISK_CACHE);
  prt_module_unload(m3);
  prt_context_destroy(ctx2);

  // A damaged entry is reported and rebuilt.
  std::string bytes = readFile(entry);
  bytes[bytes.size() - 3] ^= 0x40;
  writeFile(entry, bytes);
  ctx2 = gpuContext(cache.path());
  ASSERT_EQ(prt_module_load_ptx(ctx2, ptx.data(), n, nullptr, &m3), PRT_OK)
      << prt_last_error();
  prt_module_get_info(m3, &mi);
  EXPECT_EQ(mi.source, PRT_MODULE_JIT);
  EXPECT_NE(std::string(mi.cache_note).find("payload checksum mismatch"),
            std::string::npos)
      << mi.cache_note;
  std::string payload, detail;
  EXPECT_EQ(DiskCache(cache.path()).load(mi.key, payload, detail),
            DiskCache::Lookup::Hit);
  prt_module_unload(m3);
  prt_context_destroy(ctx2);

  // Launch: c = a + b.
  prt_function fn = nullptr;
  ASSERT_EQ(prt_module_get_function(m1, "vector_add", &fn), PRT_OK)
      << prt_last_error();
  EXPECT_EQ(prt_module_get_function(m1, "missing_kernel", &fn),
            PRT_ERR_NOT_FOUND);
  ASSERT_EQ(prt_module_get_function(m1, "vector_add", &fn), PRT_OK);
  const uint32_t count = 1000;
  std::vector<float> a(count), b(count), c(count, 0.0f);
  for (uint32_t i = 0; i < count; ++i)
    a[i] = static_cast<float>(i), b[i] = 0.5f * static_cast<float>(i);
  uint64_t da = 0, db = 0, dc = 0;
  const int64_t bytesN = count * sizeof(float);
  ASSERT_EQ(prt_device_alloc(ctx, bytesN, &da), PRT_OK);
  ASSERT_EQ(prt_device_alloc(ctx, bytesN, &db), PRT_OK);
  ASSERT_EQ(prt_device_alloc(ctx, bytesN, &dc), PRT_OK);
  ASSERT_EQ(prt_memcpy_htod(ctx, da, a.data(), bytesN), PRT_OK);
  ASSERT_EQ(prt_memcpy_htod(ctx, db, b.data(), bytesN), PRT_OK);
  uint32_t nArg = count;
  void *params[] = {&da, &db, &dc, &nArg};
  const int64_t grid[3] = {(count + 255) / 256, 1, 1}, block[3] = {256, 1, 1};
  ASSERT_EQ(prt_launch(ctx, fn, grid, block, 0, params), PRT_OK)
      << prt_last_error();
  ASSERT_EQ(prt_memcpy_dtoh(ctx, c.data(), dc, bytesN), PRT_OK);
  for (uint32_t i = 0; i < count; ++i)
    ASSERT_EQ(c[i], 1.5f * static_cast<float>(i)) << i;
  prt_device_free(ctx, da);
  prt_device_free(ctx, db);
  prt_device_free(ctx, dc);
  prt_module_unload(m1);
  prt_module_unload(m2);
  prt_context_destroy(ctx);
}

TEST(Gpu, JitErrorsCarryTheLog) {
  TempDir cache;
  prt_context *ctx = gpuContext(cache.path());
  SKIP_WITHOUT_GPU(ctx);
  const std::string bad = ".version 7.0\n.target sm_50\n.address_size 64\n"
                          ".visible .entry k() { bogus.instruction; ret; }\n";
  prt_module *m = nullptr;
  EXPECT_EQ(prt_module_load_ptx(ctx, bad.data(),
                                static_cast<int64_t>(bad.size()), nullptr, &m),
            PRT_ERR_CUDA);
  EXPECT_NE(std::string(prt_last_error()).find("JIT log"), std::string::npos)
      << prt_last_error();
  EXPECT_EQ(m, nullptr);
  EXPECT_EQ(prt_module_load_ptx(ctx, bad.data(),
                                static_cast<int64_t>(bad.size()), "compute_90",
                                &m),
            PRT_ERR_INVALID_ARGUMENT);
  prt_context_destroy(ctx);
}

TEST(Gpu, PlansChooseTheirBackend) {
  TempDir tmp;
  prt_context *gpu = gpuContext(tmp / "cache");
  SKIP_WITHOUT_GPU(gpu);
  prt_backend_info info;
  prt_context_backend(gpu, &info);

  // PTX for the device's arch: an explicit GPU plan loads it; the forward
  // needs the layer kernels, which this bundle does not declare.
  std::string ptx = kVectorAddPtx;
  BundleSpec spec;
  spec.ptxArchs = {info.arch};
  makeBundle(tmp / "b", spec);
  writeFile(tmp / ("b/" + ptxFile(info.arch, 0)),
            ptx + ptxFingerprintDirective(fingerprintOf(spec, 0)));
  writeManifest(tmp / "b", manifestFor(tmp / "b", spec));
  prt_bundle *bundle = nullptr;
  ASSERT_EQ(prt_bundle_open(gpu, (tmp / "b").c_str(), &bundle), PRT_OK)
      << prt_last_error();
  prt_plan_options o;
  prt_plan_options_init(&o);
  o.T = 64;
  prt_plan *plan = nullptr;
  ASSERT_EQ(prt_plan_create(bundle, &o, &plan), PRT_OK) << prt_last_error();
  prt_plan_info pi;
  prt_plan_get_info(plan, &pi);
  EXPECT_EQ(pi.backend, PRT_BACKEND_GPU);
  prt_layer_args args{};
  EXPECT_EQ(prt_layer_forward(plan, &args), PRT_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(prt_last_error()).find("gpu_layer is absent or false"),
            std::string::npos)
      << prt_last_error();
  prt_plan_destroy(plan);
  prt_bundle_close(bundle);

  // PTX for another arch only: the explicit GPU context refuses.
  BundleSpec other;
  other.ptxArchs = {"sm_200"};
  makeBundle(tmp / "other", other);
  ASSERT_EQ(prt_bundle_open(gpu, (tmp / "other").c_str(), &bundle), PRT_OK);
  EXPECT_EQ(prt_plan_create(bundle, &o, &plan), PRT_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(prt_last_error())
                .find("has no PTX for " + std::string(info.arch)),
            std::string::npos)
      << prt_last_error();
  prt_bundle_close(bundle);
  prt_context_destroy(gpu);

  // An AUTO context falls back to the bundle's CPU library and says why.
  prt_context *autoCtx = nullptr;
  ASSERT_EQ(prt_context_create(&autoCtx, nullptr), PRT_OK);
  ASSERT_EQ(prt_bundle_open(autoCtx, (tmp / "other").c_str(), &bundle), PRT_OK);
  ASSERT_EQ(prt_plan_create(bundle, &o, &plan), PRT_OK) << prt_last_error();
  prt_plan_get_info(plan, &pi);
  EXPECT_EQ(pi.backend, PRT_BACKEND_CPU);
  EXPECT_NE(std::string(pi.backend_reason).find("has no PTX for"),
            std::string::npos)
      << pi.backend_reason;
  prt_plan_destroy(plan);
  prt_bundle_close(bundle);
  prt_context_destroy(autoCtx);
}
