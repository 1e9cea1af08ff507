//===- cuda_driver.cpp - CUDA driver loader, backend choice, PTX JIT ------===//
//
// The driver is opened with dlopen so that the runtime starts, and falls
// back to the CPU, on machines without one (TOOLCHAIN.md section 6). PTX is
// compiled through cuLink* so that the cubin can be kept in the disk cache.
//
//===----------------------------------------------------------------------===//

#include "internal.h"
#include "raw_enum.h"

#include <cstring>
#include <dlfcn.h>
#include <type_traits>

namespace proteus_rt {
namespace {

/// Names of the errors the runtime reasons about, for drivers (the stub)
/// whose cuGetErrorName returns nothing.
const char *knownErrorName(cu::Result r) {
  switch (r) {
  case cu::kSuccess:
    return "CUDA_SUCCESS";
  case cu::kErrorStubLibrary:
    return "CUDA_ERROR_STUB_LIBRARY";
  case cu::kErrorInsufficientDriver:
    return "CUDA_ERROR_INSUFFICIENT_DRIVER";
  case cu::kErrorNoDevice:
    return "CUDA_ERROR_NO_DEVICE";
  default:
    return nullptr;
  }
}

/// The errors that mean "this machine has no usable GPU".
bool meansNoGpu(cu::Result r) {
  return r == cu::kErrorStubLibrary || r == cu::kErrorInsufficientDriver ||
         r == cu::kErrorNoDevice;
}

/// Trims a JIT log buffer to its text.
std::string logText(const std::vector<char> &buf) {
  return std::string(buf.data(), ::strnlen(buf.data(), buf.size()));
}

} // namespace

CudaDriver::~CudaDriver() {
  if (handle)
    ::dlclose(handle);
}

std::string CudaDriver::open(const char *library) {
  ::dlerror();
  handle = ::dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = ::dlerror();
    return std::string("dlopen(") + library +
           ") failed: " + (why ? why : "unknown");
  }
  std::string missing;
  auto sym = [&](auto &fn, const char *name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
        ::dlsym(handle, name));
    if (!fn)
      missing += missing.empty() ? name : std::string(", ") + name;
  };
  sym(init, "cuInit");
  sym(driverGetVersion, "cuDriverGetVersion");
  sym(deviceGetCount, "cuDeviceGetCount");
  sym(deviceGet, "cuDeviceGet");
  sym(deviceGetAttribute, "cuDeviceGetAttribute");
  sym(deviceGetName, "cuDeviceGetName");
  sym(primaryCtxRetain, "cuDevicePrimaryCtxRetain");
  sym(primaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
  sym(ctxPushCurrent, "cuCtxPushCurrent_v2");
  sym(ctxPopCurrent, "cuCtxPopCurrent_v2");
  sym(ctxSynchronize, "cuCtxSynchronize");
  sym(moduleLoadDataEx, "cuModuleLoadDataEx");
  sym(moduleUnload, "cuModuleUnload");
  sym(moduleGetFunction, "cuModuleGetFunction");
  sym(linkCreate, "cuLinkCreate_v2");
  sym(linkAddData, "cuLinkAddData_v2");
  sym(linkComplete, "cuLinkComplete");
  sym(linkDestroy, "cuLinkDestroy");
  sym(memAlloc, "cuMemAlloc_v2");
  sym(memFree, "cuMemFree_v2");
  sym(memAllocAsync, "cuMemAllocAsync"); // stream-ordered (CUDA 11.2)
  sym(memFreeAsync, "cuMemFreeAsync");
  sym(memcpyHtoD, "cuMemcpyHtoD_v2");
  sym(memcpyDtoH, "cuMemcpyDtoH_v2");
  sym(memcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
  sym(memsetD8Async, "cuMemsetD8Async");
  sym(launchKernel, "cuLaunchKernel");
  sym(streamSynchronize, "cuStreamSynchronize");
  sym(eventCreate, "cuEventCreate");
  sym(eventDestroy, "cuEventDestroy_v2");
  sym(eventRecord, "cuEventRecord");
  sym(eventSynchronize, "cuEventSynchronize");
  sym(pointerGetAttribute, "cuPointerGetAttribute");
  // CUDA 12.8 added the _v2 that cuda.h now maps the name to; older drivers
  // have only the original, which newer ones keep.
  sym(eventElapsedTime, ::dlsym(handle, "cuEventElapsedTime_v2")
                            ? "cuEventElapsedTime_v2"
                            : "cuEventElapsedTime");
  sym(getErrorName, "cuGetErrorName");
  sym(getErrorString, "cuGetErrorString");
  if (!missing.empty())
    return std::string(library) + " lacks " + missing;
  return "";
}

std::string CudaDriver::errorText(cu::Result r) const {
  const char *name = nullptr;
  const char *text = nullptr;
  if (getErrorName && getErrorName(r, &name) != cu::kSuccess)
    name = nullptr;
  if (getErrorString && getErrorString(r, &text) != cu::kSuccess)
    text = nullptr;
  if (!name)
    name = knownErrorName(r);
  std::string s = name ? name : "CUDA error";
  s += " (" + std::to_string(r) + ")";
  if (text)
    s += std::string(": ") + text;
  return s;
}

void ContextImpl::check(cu::Result r, const char *what) const {
  if (r != cu::kSuccess)
    fail(PRT_ERR_CUDA, std::string(what) + " failed: " + cuda->errorText(r));
}

ScopedCuContext::ScopedCuContext(const ContextImpl &ctx) : ctx_(ctx) {
  ctx_.check(ctx_.cuda->ctxPushCurrent(ctx_.cuContext), "cuCtxPushCurrent");
}

ScopedCuContext::~ScopedCuContext() {
  cu::Context popped = nullptr;
  ctx_.cuda->ctxPopCurrent(&popped);
}

LoadedModule::~LoadedModule() {
  if (module && owner && owner->cuda) {
    if (owner->cuda->ctxPushCurrent(owner->cuContext) == cu::kSuccess) {
      owner->cuda->moduleUnload(module);
      cu::Context popped = nullptr;
      owner->cuda->ctxPopCurrent(&popped);
    }
  }
}

ContextImpl::~ContextImpl() {
  modules.clear();
  if (cuda && cuContext)
    cuda->primaryCtxRelease(device);
}

std::shared_ptr<ContextImpl> createContext(const prt_context_options &opt) {
  const int backend = rawEnum(opt.backend);
  if (backend != PRT_BACKEND_AUTO && backend != PRT_BACKEND_CPU &&
      backend != PRT_BACKEND_GPU)
    fail(PRT_ERR_INVALID_ARGUMENT, "options.backend is " +
                                       std::to_string(backend) +
                                       ", not AUTO, CPU or GPU");
  if (opt.device < 0)
    fail(PRT_ERR_INVALID_ARGUMENT,
         "options.device is " + std::to_string(opt.device) + ", must be >= 0");
  if (opt.cpu_threads < 0)
    fail(PRT_ERR_INVALID_ARGUMENT,
         "options.cpu_threads is " + std::to_string(opt.cpu_threads) +
             ", must be >= 0 (0: the machine's cores)");
  auto ctx = std::make_shared<ContextImpl>();
  ctx->requested = opt.backend;
  ctx->cpuPool = std::make_unique<CpuPool>(
      opt.cpu_threads > 0 ? opt.cpu_threads : CpuPool::defaultThreads());
  ctx->cacheDir = resolveCacheDir(opt.cache_dir, opt.disable_disk_cache != 0,
                                  ctx->cacheWhy);
  prt_backend_info &info = ctx->info;
  info.backend = PRT_BACKEND_CPU;
  info.device = -1;
  if (opt.backend == PRT_BACKEND_CPU) {
    copyString(info.reason, sizeof(info.reason),
               "the CPU backend was requested");
    return ctx;
  }

  // Probe the GPU. `noGpu` is a machine without one; any other failure is
  // a driver error that an explicit GPU request reports as such.
  const char *library = opt.cuda_library ? opt.cuda_library : "libcuda.so.1";
  auto cuda = std::make_unique<CudaDriver>();
  std::string why;
  bool noGpu = true;
  int driverVersion = 0;
  int count = 0;
  cu::Device device = 0;
  cu::Context cuContext = nullptr;
  auto step = [&](cu::Result r, const char *what) {
    if (r == cu::kSuccess)
      return true;
    why = std::string(what) + " failed: " + cuda->errorText(r);
    noGpu = meansNoGpu(r);
    return false;
  };
  if (std::string err = cuda->open(library); !err.empty()) {
    why = err;
  } else if (step(cuda->init(0), "cuInit") &&
             step(cuda->driverGetVersion(&driverVersion),
                  "cuDriverGetVersion") &&
             step(cuda->deviceGetCount(&count), "cuDeviceGetCount")) {
    if (count == 0) {
      why = "the driver reports no CUDA device";
    } else if (opt.device >= count) {
      why = "device " + std::to_string(opt.device) +
            " requested, the driver has " + std::to_string(count);
      noGpu = false;
    } else if (step(cuda->deviceGet(&device, opt.device), "cuDeviceGet") &&
               step(cuda->deviceGetAttribute(&info.cc_major,
                                             cu::kAttrComputeCapabilityMajor,
                                             device),
                    "cuDeviceGetAttribute") &&
               step(cuda->deviceGetAttribute(&info.cc_minor,
                                             cu::kAttrComputeCapabilityMinor,
                                             device),
                    "cuDeviceGetAttribute") &&
               step(cuda->deviceGetName(
                        info.device_name,
                        static_cast<int>(sizeof(info.device_name)), device),
                    "cuDeviceGetName") &&
               step(cuda->primaryCtxRetain(&cuContext, device),
                    "cuDevicePrimaryCtxRetain")) {
      why.clear();
    }
  }
  if (!why.empty()) {
    info.cc_major = info.cc_minor = 0;
    info.device_name[0] = '\0';
    if (opt.backend == PRT_BACKEND_GPU)
      fail(noGpu ? PRT_ERR_UNSUPPORTED : PRT_ERR_CUDA,
           "the GPU backend was requested but no GPU is usable: " + why);
    copyString(info.reason, sizeof(info.reason), "no usable GPU: " + why);
    return ctx;
  }
  ctx->cuda = std::move(cuda);
  ctx->device = device;
  ctx->cuContext = cuContext;
  info.backend = PRT_BACKEND_GPU;
  info.device = opt.device;
  info.driver_version = driverVersion;
  copyString(info.arch, sizeof(info.arch),
             "sm_" + std::to_string(info.cc_major * 10 + info.cc_minor));
  copyString(info.reason, sizeof(info.reason),
             std::string(opt.backend == PRT_BACKEND_GPU
                             ? "the GPU backend was requested"
                             : "a GPU was found") +
                 ": device " + std::to_string(opt.device) + " " +
                 info.device_name + " (" + info.arch + "), driver " +
                 std::to_string(driverVersion));
  return ctx;
}

std::shared_ptr<LoadedModule> ContextImpl::loadPtx(std::string_view ptx,
                                                   const std::string &arch,
                                                   prt_module_info &out) {
  if (!gpu())
    fail(PRT_ERR_UNSUPPORTED,
         std::string("PTX needs a GPU context; this one uses the CPU (") +
             info.reason + ")");
  const int target = jitTargetOf(arch);
  if (target < 0)
    fail(PRT_ERR_INVALID_ARGUMENT,
         "arch '" + arch + "' is not an arch name (sm_XY or sm_XYa)");
  // The driver's PTX parser wants a NUL-terminated image.
  std::string image(ptx);
  if (image.empty() || image.back() != '\0')
    image.push_back('\0');

  const uint64_t key = DiskCache::key(ptx, arch, info.driver_version);
  out = prt_module_info{};
  out.key = key;
  copyString(out.arch, sizeof(out.arch), arch);
  std::string note;

  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = modules.find(key); it != modules.end()) {
    out.source = PRT_MODULE_MEMORY_CACHE;
    return it->second;
  }
  ScopedCuContext scope(*this);

  constexpr size_t kLogSize = 16384;
  std::vector<char> errorLog(kLogSize, '\0'), infoLog(kLogSize, '\0');
  auto moduleFrom = [&](const void *bytes) -> cu::Module {
    cu::JitOption opts[] = {cu::kJitErrorLogBuffer, cu::kJitErrorLogBufferSize};
    void *vals[] = {errorLog.data(), reinterpret_cast<void *>(kLogSize)};
    cu::Module m = nullptr;
    cu::Result r = cuda->moduleLoadDataEx(&m, bytes, 2, opts, vals);
    if (r != cu::kSuccess)
      fail(PRT_ERR_CUDA, "cuModuleLoadDataEx (" + arch +
                             ") failed: " + cuda->errorText(r) +
                             "\nJIT log:\n" + logText(errorLog));
    return m;
  };

  auto loaded = std::make_shared<LoadedModule>();
  loaded->owner = this;
  if (cacheDir.empty()) {
    loaded->module = moduleFrom(image.data());
    out.source = PRT_MODULE_JIT;
  } else {
    DiskCache disk(cacheDir);
    std::string cubin, detail;
    DiskCache::Lookup found = disk.load(key, cubin, detail);
    if (found == DiskCache::Lookup::Hit) {
      cu::JitOption opts[] = {cu::kJitErrorLogBuffer,
                              cu::kJitErrorLogBufferSize};
      void *vals[] = {errorLog.data(), reinterpret_cast<void *>(kLogSize)};
      cu::Result r =
          cuda->moduleLoadDataEx(&loaded->module, cubin.data(), 2, opts, vals);
      if (r == cu::kSuccess) {
        out.source = PRT_MODULE_DISK_CACHE;
      } else {
        note = "the cached cubin " + disk.entryPath(key) + " did not load (" +
               cuda->errorText(r) + "); rebuilt";
        loaded->module = nullptr;
      }
    } else if (found == DiskCache::Lookup::Corrupt) {
      note = detail + "; rebuilt";
    }
    if (!loaded->module) {
      // JIT through the linker, which hands back the cubin to keep.
      cu::JitOption opts[] = {
          cu::kJitErrorLogBuffer, cu::kJitErrorLogBufferSize,
          cu::kJitInfoLogBuffer,  cu::kJitInfoLogBufferSize,
          cu::kJitTarget,         cu::kJitLogVerbose};
      void *vals[] = {errorLog.data(),
                      reinterpret_cast<void *>(kLogSize),
                      infoLog.data(),
                      reinterpret_cast<void *>(kLogSize),
                      reinterpret_cast<void *>(static_cast<intptr_t>(target)),
                      reinterpret_cast<void *>(0)};
      cu::LinkState link = nullptr;
      check(cuda->linkCreate(6, opts, vals, &link), "cuLinkCreate");
      void *cubinPtr = nullptr;
      size_t cubinSize = 0;
      cu::Result r =
          cuda->linkAddData(link, cu::kJitInputPtx, image.data(), image.size(),
                            "proteus.ptx", 0, nullptr, nullptr);
      if (r == cu::kSuccess)
        r = cuda->linkComplete(link, &cubinPtr, &cubinSize);
      if (r != cu::kSuccess) {
        cuda->linkDestroy(link);
        fail(PRT_ERR_CUDA, "JIT of PTX for " + arch +
                               " failed: " + cuda->errorText(r) +
                               "\nJIT log:\n" + logText(errorLog));
      }
      cubin.assign(static_cast<const char *>(cubinPtr), cubinSize);
      cuda->linkDestroy(link);
      loaded->module = moduleFrom(cubin.data());
      out.source = PRT_MODULE_JIT;
      try {
        disk.store(key, cubin);
      } catch (const Error &e) {
        note +=
            (note.empty() ? "" : "; ") + std::string("not cached: ") + e.what();
      }
    }
  }
  copyString(out.cache_note, sizeof(out.cache_note), note);
  modules[key] = loaded;
  return loaded;
}

std::shared_ptr<LoadedModule> ContextImpl::loadCubin(std::string_view cubin,
                                                     const std::string &arch) {
  if (!gpu())
    fail(PRT_ERR_UNSUPPORTED,
         std::string("a cubin needs a GPU context; this one uses the CPU (") +
             info.reason + ")");
  // Its own key space: the hash of a PTX text never meets a cubin's.
  std::string keyed = std::string("proteus-sass") + '\0' + arch + '\0';
  keyed.append(cubin);
  const uint64_t key = xxh3(keyed.data(), keyed.size());

  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = modules.find(key); it != modules.end())
    return it->second;
  ScopedCuContext scope(*this);
  constexpr size_t kLogSize = 16384;
  std::vector<char> errorLog(kLogSize, '\0');
  cu::JitOption opts[] = {cu::kJitErrorLogBuffer, cu::kJitErrorLogBufferSize};
  void *vals[] = {errorLog.data(), reinterpret_cast<void *>(kLogSize)};
  auto loaded = std::make_shared<LoadedModule>();
  loaded->owner = this;
  cu::Result r =
      cuda->moduleLoadDataEx(&loaded->module, cubin.data(), 2, opts, vals);
  if (r != cu::kSuccess) {
    loaded->module = nullptr;
    fail(PRT_ERR_CUDA, "cuModuleLoadDataEx (" + arch + " cubin) failed: " +
                           cuda->errorText(r) + "\nlog:\n" + logText(errorLog));
  }
  modules[key] = loaded;
  return loaded;
}

} // namespace proteus_rt
