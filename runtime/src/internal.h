//===- internal.h - proteus_rt internals -----------------------*- C++ -*-===//
//
// What the runtime's translation units share: the error type that carries a
// status to the C API boundary, file and checksum helpers, the manifest, the
// on-disk JIT cache, the CUDA driver loader and the objects behind the C
// handles. Unit tests include this header and link the static archive.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RT_SRC_INTERNAL_H
#define PROTEUS_RT_SRC_INTERNAL_H

#include "proteus_rt/contract.h"
#include "proteus_rt/proteus_rt.h"
#include "proteus_rt/schedule.h"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace proteus_rt {

/// A failure and the status the C API reports for it.
class Error : public std::runtime_error {
public:
  Error(prt_status status, const std::string &message)
      : std::runtime_error(message), status(status) {}
  prt_status status;
};

[[noreturn]] inline void fail(prt_status status, const std::string &message) {
  throw Error(status, message);
}

//===----------------------------------------------------------------------===//
// Files and checksums
//===----------------------------------------------------------------------===//

/// XXH3-64 (seed 0), the checksum of bundle files and cache entries.
uint64_t xxh3(const void *data, size_t size);
/// 16 lowercase hex digits.
std::string toHex16(uint64_t value);
/// Accepts exactly 16 lowercase hex digits.
bool parseHex16(const std::string &text, uint64_t &value);
/// The whole file; throws PRT_ERR_IO naming the path and the reason.
std::string readFile(const std::string &path);
bool isRegularFile(const std::string &path);

/// A file opened by openRegular: its descriptor (closed on destruction),
/// its size when opened and the path the descriptor resolves to.
struct OpenFile {
  OpenFile() = default;
  OpenFile(const OpenFile &) = delete;
  OpenFile &operator=(const OpenFile &) = delete;
  ~OpenFile();
  int fd = -1;
  int openErrno = 0; ///< errno of a failed open (ENOENT: no such file)
  int64_t size = 0;
  std::string resolved;
};
/// Opens `path` read-only without blocking and checks with fstat on that
/// descriptor that it is a regular file of at most `maxBytes` bytes; false
/// with `error` otherwise.
bool openRegular(const std::string &path, int64_t maxBytes, OpenFile &out,
                 std::string &error);
/// Reads the `file.size` bytes of an opened file (refusing one that shrank
/// or grew); false with `error` (naming `path`) otherwise.
bool readOpen(const OpenFile &file, const std::string &path, std::string &data,
              std::string &error);
/// "%.17g": a double that reads back exactly.
std::string formatDouble(double value);
/// Copies `src` into a fixed-size C string field, truncating.
void copyString(char *dst, size_t capacity, const std::string &src);

//===----------------------------------------------------------------------===//
// Manifest
//===----------------------------------------------------------------------===//

struct Setting {
  double alpha = 0.0;
  double density = 1.0;
};

struct Manifest {
  int64_t formatVersion = 0;
  Config config;
  std::string configJson; ///< canonical form (configToJson)
  std::vector<Setting> settings;
  struct File {
    uint64_t xxh3 = 0;
    int64_t bytes = 0;
  };
  std::map<std::string, File> files;    ///< relative path -> checksum, size
  std::string cpuTarget;                ///< "" when not given
  std::string cpuIsa = kCpuIsaBaseline; ///< manifest "cpu_isa"
  std::string gpuNote;                  ///< "" when not given
  bool gpuLayer = false;             ///< the PTX modules hold the layer kernels
  std::vector<std::string> ptxArchs; ///< archs with PTX for every setting
  /// Archs with a cubin for every setting (a bundle with SASS has PTX too).
  std::vector<std::string> sassArchs;
  bool hasCpuLibrary = false;
};

/// Parses manifest.json text; `dir` is used only to check the listed files
/// (pass "" to skip the file checks): each is read through readBundleFile.
/// Throws PRT_ERR_BUNDLE saying exactly what is wrong.
Manifest parseManifest(const std::string &text, const std::string &dir);
/// Reads <dir>/manifest.json (at most kMaxManifestBytes, a regular file
/// inside `dir`) and parses it with the file checks.
Manifest loadManifest(const std::string &dir);
/// The bytes of file `rel` listed by `m`, read once from one descriptor: it
/// must resolve inside the bundle folder `dir` (no symlink out), be a
/// regular file of exactly the size the manifest records (the read cap) and
/// have its checksum. Throws PRT_ERR_BUNDLE naming the file and the fault.
std::string readBundleFile(const std::string &dir, const Manifest &m,
                           const std::string &rel);
/// The PTX of `setting` for `arch`, read by readBundleFile, whose
/// fingerprint must be that of the manifest's config and settings.
std::string readBundlePtx(const std::string &dir, const Manifest &m,
                          const std::string &arch, int64_t setting);

/// The architecture component of the host's target triple ("x86_64").
const char *hostArch();
/// The features of `isa` (contract.h, kManifestCpuIsa) this CPU lacks, comma
/// separated; "" when it has them all.
std::string missingCpuFeatures(const std::string &isa);

/// The PTX arch to JIT for a device of compute capability major.minor:
/// "sm_XY" or "sm_XYa" when present, else the newest plain "sm_UV" with
/// UV < XY (PTX is forward compatible); "" when none fits.
std::string selectPtxArch(const std::vector<std::string> &available, int major,
                          int minor);

/// The SASS arch whose cubin a device of compute capability major.minor
/// loads as it is: "sm_XYa" when present (made for exactly this device),
/// else "sm_XY"; "" when neither is.
std::string selectSassArch(const std::vector<std::string> &available, int major,
                           int minor);

/// What the runtime reads from a cubin.
struct CubinImage {
  std::set<std::string> entries; ///< kernel names (global function symbols)
  bool hasFingerprint = false;   ///< it defines kFingerprintSymbol
  std::string fingerprint;       ///< that object's text, up to its NUL
};

/// Reads `cubin`'s symbols. Throws PRT_ERR_BUNDLE when it is not a 64-bit
/// little-endian ELF image or a symbol points outside it.
CubinImage parseCubin(std::string_view cubin);

//===----------------------------------------------------------------------===//
// On-disk JIT cache
//===----------------------------------------------------------------------===//

/// Compiled modules on disk, one file per key: <dir>/<key hex>.cubin with a
/// header (magic, format version, key, payload size, payload XXH3-64) so that
/// truncated or edited entries are detected. Entries are written to a
/// temporary file in the same folder and renamed into place, so a reader
/// sees a whole old entry, a whole new one, or none.
class DiskCache {
public:
  explicit DiskCache(std::string dir) : dir_(std::move(dir)) {}

  enum class Lookup { Hit, Miss, Corrupt };

  static constexpr char kMagic[8] = {'P', 'R', 'T', 'C', 'U', 'B', 'I', 'N'};
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kHeaderSize = 40;
  /// The largest entry read (a cubin is far smaller).
  static constexpr int64_t kMaxEntryBytes = int64_t(1) << 30;

  /// The key of a PTX module JIT-compiled for `arch` by driver `version`.
  static uint64_t key(std::string_view ptx, std::string_view arch,
                      int driverVersion);

  const std::string &dir() const { return dir_; }
  std::string entryPath(uint64_t key) const;

  /// Hit: `payload` holds the entry. Corrupt: `detail` says what is wrong.
  Lookup load(uint64_t key, std::string &payload, std::string &detail) const;
  /// Creates the folder when needed; throws PRT_ERR_IO.
  void store(uint64_t key, std::string_view payload) const;

private:
  std::string dir_;
};

/// The cache folder: `option` when non-null, else $PROTEUS_CACHE_DIR, else
/// $XDG_CACHE_HOME/proteus, else $HOME/.cache/proteus. "" when the cache is
/// off (`disabled`, PROTEUS_DISABLE_CACHE set to anything but "" or "0", or
/// no home), with the reason in `why`.
std::string resolveCacheDir(const char *option, bool disabled,
                            std::string &why);

//===----------------------------------------------------------------------===//
// CUDA driver (opened with dlopen; the few types it needs declared here)
//===----------------------------------------------------------------------===//

namespace cu {
using Result = int;
using Device = int;
using Context = struct CUctx_st *;
using Module = struct CUmod_st *;
using Function = struct CUfunc_st *;
using LinkState = struct CUlinkState_st *;
using Stream = struct CUstream_st *;
using Event = struct CUevent_st *;
using DevicePtr = unsigned long long;
using JitOption = int;

inline constexpr Result kSuccess = 0;
inline constexpr Result kErrorInvalidValue = 1;
inline constexpr Result kErrorNotFound = 500;
inline constexpr Result kErrorStubLibrary = 34;
inline constexpr Result kErrorInsufficientDriver = 35;
inline constexpr Result kErrorNoDevice = 100;
inline constexpr int kAttrComputeCapabilityMajor = 75;
inline constexpr int kAttrComputeCapabilityMinor = 76;
inline constexpr JitOption kJitInfoLogBuffer = 3;
inline constexpr JitOption kJitInfoLogBufferSize = 4;
inline constexpr JitOption kJitErrorLogBuffer = 5;
inline constexpr JitOption kJitErrorLogBufferSize = 6;
inline constexpr JitOption kJitTarget = 9;
inline constexpr JitOption kJitLogVerbose = 12;
inline constexpr int kJitInputPtx = 1;
inline constexpr int kAcceleratedTargetBase = 0x10000;
inline constexpr int kPointerAttrRangeStartAddr = 11;
inline constexpr int kPointerAttrRangeSize = 12;
inline constexpr unsigned kEventDefault = 0;
} // namespace cu

/// The driver entry points the runtime uses.
struct CudaDriver {
  CudaDriver() = default;
  CudaDriver(const CudaDriver &) = delete;
  CudaDriver &operator=(const CudaDriver &) = delete;
  ~CudaDriver();

  /// dlopens `library` and resolves every entry point; "" or why not.
  std::string open(const char *library);
  /// "CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected".
  std::string errorText(cu::Result result) const;

  void *handle = nullptr;
  cu::Result (*init)(unsigned) = nullptr;
  cu::Result (*driverGetVersion)(int *) = nullptr;
  cu::Result (*deviceGetCount)(int *) = nullptr;
  cu::Result (*deviceGet)(cu::Device *, int) = nullptr;
  cu::Result (*deviceGetAttribute)(int *, int, cu::Device) = nullptr;
  cu::Result (*deviceGetName)(char *, int, cu::Device) = nullptr;
  cu::Result (*primaryCtxRetain)(cu::Context *, cu::Device) = nullptr;
  cu::Result (*primaryCtxRelease)(cu::Device) = nullptr;
  cu::Result (*ctxPushCurrent)(cu::Context) = nullptr;
  cu::Result (*ctxPopCurrent)(cu::Context *) = nullptr;
  cu::Result (*ctxSynchronize)() = nullptr;
  cu::Result (*moduleLoadDataEx)(cu::Module *, const void *, unsigned,
                                 cu::JitOption *, void **) = nullptr;
  cu::Result (*moduleUnload)(cu::Module) = nullptr;
  cu::Result (*moduleGetFunction)(cu::Function *, cu::Module,
                                  const char *) = nullptr;
  cu::Result (*linkCreate)(unsigned, cu::JitOption *, void **,
                           cu::LinkState *) = nullptr;
  cu::Result (*linkAddData)(cu::LinkState, int, void *, size_t, const char *,
                            unsigned, cu::JitOption *, void **) = nullptr;
  cu::Result (*linkComplete)(cu::LinkState, void **, size_t *) = nullptr;
  cu::Result (*linkDestroy)(cu::LinkState) = nullptr;
  cu::Result (*memAlloc)(cu::DevicePtr *, size_t) = nullptr;
  cu::Result (*memFree)(cu::DevicePtr) = nullptr;
  cu::Result (*memAllocAsync)(cu::DevicePtr *, size_t, cu::Stream) = nullptr;
  cu::Result (*memFreeAsync)(cu::DevicePtr, cu::Stream) = nullptr;
  cu::Result (*memcpyHtoD)(cu::DevicePtr, const void *, size_t) = nullptr;
  cu::Result (*memcpyDtoH)(void *, cu::DevicePtr, size_t) = nullptr;
  cu::Result (*memcpyHtoDAsync)(cu::DevicePtr, const void *, size_t,
                                cu::Stream) = nullptr;
  cu::Result (*memsetD8Async)(cu::DevicePtr, unsigned char, size_t,
                              cu::Stream) = nullptr;
  cu::Result (*launchKernel)(cu::Function, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, unsigned, cu::Stream,
                             void **, void **) = nullptr;
  cu::Result (*streamSynchronize)(cu::Stream) = nullptr;
  cu::Result (*eventCreate)(cu::Event *, unsigned) = nullptr;
  cu::Result (*eventDestroy)(cu::Event) = nullptr;
  cu::Result (*eventRecord)(cu::Event, cu::Stream) = nullptr;
  cu::Result (*eventSynchronize)(cu::Event) = nullptr;
  cu::Result (*eventElapsedTime)(float *, cu::Event, cu::Event) = nullptr;
  cu::Result (*pointerGetAttribute)(void *, int, cu::DevicePtr) = nullptr;
  cu::Result (*getErrorName)(cu::Result, const char **) = nullptr;
  cu::Result (*getErrorString)(cu::Result, const char **) = nullptr;
};

/// The CU_JIT_TARGET value of "sm_XY" / "sm_XYa"; -1 when not an arch name.
int jitTargetOf(const std::string &arch);

//===----------------------------------------------------------------------===//
// The objects behind the C handles
//===----------------------------------------------------------------------===//

//===----------------------------------------------------------------------===//
// The CPU path's threads
//===----------------------------------------------------------------------===//

/// The threads that run the CPU library's parallel loops (cpu_pool.cpp):
/// `threads` - 1 workers plus the calling thread.
class CpuPool {
public:
  explicit CpuPool(int threads);
  CpuPool(const CpuPool &) = delete;
  CpuPool &operator=(const CpuPool &) = delete;
  ~CpuPool();

  /// The machine's cores (1 when unknown).
  static int defaultThreads();
  int threads() const { return threads_; }
  /// Runs body over [0, n) split across the threads; returns when done.
  void run(int64_t n, CpuParallelBody body, void *ctx);

private:
  struct Job;
  void workerLoop();

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex runMutex_; ///< one loop at a time
  std::mutex mutex_;    ///< guards job_, generation_, stop_
  std::condition_variable wake_, finished_;
  std::shared_ptr<Job> job_;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

/// Makes `pool` the one the CPU library's loops run on, on this thread, for
/// the scope (null: serially).
class ScopedCpuPool {
public:
  explicit ScopedCpuPool(CpuPool *pool);
  ~ScopedCpuPool();
  ScopedCpuPool(const ScopedCpuPool &) = delete;
  ScopedCpuPool &operator=(const ScopedCpuPool &) = delete;

private:
  CpuPool *saved_;
};

/// The dispatcher the runtime stores in a CPU library's kCpuParallelForHook.
void cpuParallelFor(int64_t n, CpuParallelBody body, void *ctx);

struct ContextImpl;

/// A module loaded in a context; unloaded when the last reference goes.
struct LoadedModule {
  ContextImpl *owner = nullptr;
  cu::Module module = nullptr;
  ~LoadedModule();
};

struct ContextImpl {
  ContextImpl() = default;
  ContextImpl(const ContextImpl &) = delete;
  ContextImpl &operator=(const ContextImpl &) = delete;
  ~ContextImpl();

  prt_backend requested = PRT_BACKEND_AUTO;
  prt_backend_info info{};
  std::unique_ptr<CudaDriver> cuda; ///< GPU contexts only
  cu::Device device = 0;
  cu::Context cuContext = nullptr;
  std::string cacheDir, cacheWhy;
  /// The CPU path's threads (options.cpu_threads).
  std::unique_ptr<CpuPool> cpuPool;

  std::mutex mutex; ///< guards `modules`
  std::map<uint64_t, std::shared_ptr<LoadedModule>> modules;

  bool gpu() const { return info.backend == PRT_BACKEND_GPU; }
  /// Throws PRT_ERR_CUDA with `what` and the driver's error name.
  void check(cu::Result result, const char *what) const;

  /// Loads PTX for `arch` through the memory and disk caches; `info` says
  /// where the module came from.
  std::shared_ptr<LoadedModule>
  loadPtx(std::string_view ptx, const std::string &arch, prt_module_info &info);

  /// Loads a cubin assembled for `arch` as it is (no JIT, no disk cache),
  /// through the memory cache. Throws PRT_ERR_CUDA with the driver's log when
  /// the driver refuses it.
  std::shared_ptr<LoadedModule> loadCubin(std::string_view cubin,
                                          const std::string &arch);
};

/// Makes a context current on this thread for the scope.
class ScopedCuContext {
public:
  explicit ScopedCuContext(const ContextImpl &ctx);
  ~ScopedCuContext();

private:
  const ContextImpl &ctx_;
};

/// Creates the context (backend probe); throws on an explicit GPU request
/// that cannot be met.
std::shared_ptr<ContextImpl> createContext(const prt_context_options &options);

struct BundleImpl {
  BundleImpl() = default;
  BundleImpl(const BundleImpl &) = delete;
  BundleImpl &operator=(const BundleImpl &) = delete;
  ~BundleImpl();

  std::shared_ptr<ContextImpl> context;
  std::string dir;
  Manifest manifest;

  /// Resolves "_mlir_ciface_" + `entry` in the CPU library, opening it on
  /// first use (once per bundle); throws PRT_ERR_NOT_FOUND / _BUNDLE /
  /// _UNSUPPORTED.
  void *cpuSymbol(const std::string &entry);

  /// Kernel `name` of setting `setting`'s module for the context's device,
  /// loading the module on first use (gpuModule). Throws PRT_ERR_NOT_FOUND
  /// when the module lacks the kernel.
  cu::Function gpuKernel(int64_t setting, const std::string &name);

  /// Setting `setting`'s module for the context's device, loaded on first
  /// use (once per bundle and setting): the cubin of the device's exact
  /// target where the bundle has one, else the PTX through the context's
  /// JIT caches (also when the driver refuses the cubin). `origin` says
  /// which. Throws PRT_ERR_UNSUPPORTED when the bundle has no code the device
  /// can run, PRT_ERR_BUNDLE when a file changed since the bundle was opened.
  std::shared_ptr<LoadedModule> gpuModule(int64_t setting,
                                          std::string *origin = nullptr);

private:
  std::mutex cpuMutex_;
  void *cpuHandle_ = nullptr;
  /// The memfd the CPU library was loaded from, open while it is loaded:
  /// dlopen finds loaded objects by name, so "/proc/self/fd/N" must not be
  /// reused by another bundle's library meanwhile.
  int cpuFd_ = -1;

  /// One setting's loaded module and the kernels resolved from it.
  struct GpuModule {
    std::shared_ptr<LoadedModule> module;
    /// The names of the module's kernels: a kernel it lacks is reported
    /// from here, never by a failing cuModuleGetFunction (which
    /// compute-sanitizer counts as an error).
    std::set<std::string> entries;
    std::map<std::string, cu::Function> kernels;
    std::string origin; ///< "SASS for sm_90a", "PTX for sm_90 (JIT)", ...
  };
  /// Loads `gm` (gpuMutex_ held).
  void loadGpuModule(int64_t setting, GpuModule &gm);
  /// Loads the `sass` cubin of `setting` into `gm`; false, with `refused`
  /// saying why, when it is no ELF image or the driver refuses it (the
  /// caller takes the PTX). A fingerprint that is missing or does not match
  /// the manifest is an error (PRT_ERR_BUNDLE), as for the PTX.
  bool loadCubin(int64_t setting, const std::string &sass, GpuModule &gm,
                 std::string &refused);
  std::mutex gpuMutex_;
  std::map<int64_t, GpuModule> gpuModules_;
};

//===----------------------------------------------------------------------===//
// Kernel launches (attention.cpp), shared by the GPU attention primitives and
// the GPU layer (layer_gpu.cpp)
//===----------------------------------------------------------------------===//

/// A device tensor a launch reads or writes: its first byte and extent.
struct DeviceBuffer {
  const char *name;
  uint64_t ptr;
  int64_t bytes;
  int64_t align; ///< element size
  bool output;
};

/// The kernel parameters of contract.h: five per memref (allocated, aligned,
/// offset, size, stride) over the flattened buffer, one per index; all are
/// 8 bytes wide.
class KernelParams {
public:
  void memref(uint64_t ptr, int64_t count) {
    push(ptr);
    push(ptr);
    push(0);
    push(static_cast<uint64_t>(count));
    push(1);
  }
  void index(int64_t v) { push(static_cast<uint64_t>(v)); }
  void **pointers() {
    for (size_t i = 0; i < size_; ++i)
      pointers_[i] = &values_[i];
    return pointers_;
  }

private:
  static constexpr size_t kMax = 64; // proteus_route: 10 memrefs, 2 indices
  void push(uint64_t v) {
    if (size_ == kMax)
      fail(PRT_ERR_INTERNAL, "more kernel parameters than KernelParams holds");
    values_[size_++] = v;
  }
  uint64_t values_[kMax] = {};
  void *pointers_[kMax] = {};
  size_t size_ = 0;
};

/// Non-null, aligned, and no output overlapping another buffer.
void checkBuffers(const std::vector<DeviceBuffer> &buffers);
/// Every buffer lies inside one allocation the driver knows.
void checkAllocations(ContextImpl &ctx,
                      const std::vector<DeviceBuffer> &buffers);
/// Launches `fn` on `stream` (errors inside the kernel show at the next
/// synchronisation).
void launch(ContextImpl &ctx, cu::Function fn, int64_t blocks, int64_t threads,
            prt_stream stream, KernelParams &params, const std::string &name);

//===----------------------------------------------------------------------===//
// The layer on the GPU (layer_gpu.cpp)
//===----------------------------------------------------------------------===//

struct GpuLayer;
struct GpuLayerDeleter {
  void operator()(GpuLayer *layer) const;
};
using GpuLayerPtr = std::unique_ptr<GpuLayer, GpuLayerDeleter>;

/// Whether a layer call with this budget vector may take the shortlist
/// branch: unless alpha alone forces dense mode.
inline bool mayShortlist(const int64_t *budget) {
  return !(budget[kBudgetPreferDense] != 0 && budget[kBudgetNoDense] == 0);
}

/// The first layer kernel setting `setting`'s module lacks ("" when none);
/// `shortlist`: the call may take the shortlist branch.
std::string missingGpuLayerKernel(BundleImpl &bundle, int64_t setting,
                                  const Config &config, bool shortlist);
/// Allocates the layer's device scratch for (B, T_max).
GpuLayerPtr createGpuLayer(BundleImpl &bundle, int64_t setting,
                           const Config &config, int64_t B, int64_t Tmax);
/// Device bytes the plan's scratch holds.
int64_t gpuLayerScratchBytes(const GpuLayer &layer);
/// One call (arguments already validated against the plan): launches the
/// contract's sequence on args.stream; `stats` receives the kStats* vector
/// when `wantStats` (or on the fast path, where the host knows it).
void runGpuLayer(GpuLayer &layer, const prt_layer_args &args,
                 const std::vector<int64_t> &budget,
                 std::vector<int64_t> &stats, bool wantStats);

//===----------------------------------------------------------------------===//
// The C API boundary (api.cpp), shared by the files that implement entry
// points
//===----------------------------------------------------------------------===//

/// Runs the body of a C entry point: what it throws becomes the returned
/// status and the thread's prt_last_error() text.
prt_status guardedCall(const std::function<void()> &body);
/// Throws PRT_ERR_INVALID_ARGUMENT "<name> is NULL" when `p` is null.
void need(const void *p, const char *name);
/// The product of tensor dimensions; PRT_ERR_SHAPE for sizes no buffer can
/// have.
int64_t elements(std::initializer_list<int64_t> dims, const char *what);
/// Checks that every value of `v[0..n)` lies in [lo, hi), naming `name` and
/// the `bound` hi stands for.
void checkRange(const int64_t *v, int64_t n, int64_t lo, int64_t hi,
                const char *name, const char *bound);
/// The context, which must use the GPU (else PRT_ERR_UNSUPPORTED).
ContextImpl &gpuContext(prt_context *context);
/// A budget vector passed to a primitive: this bundle's length, made for T.
void checkBudget(const BundleImpl &b, const int64_t *budget, int64_t size,
                 int64_t T);

} // namespace proteus_rt

struct prt_context {
  std::shared_ptr<proteus_rt::ContextImpl> impl;
};
struct prt_bundle {
  std::shared_ptr<proteus_rt::BundleImpl> impl;
};
struct prt_module {
  std::shared_ptr<proteus_rt::ContextImpl> context;
  std::shared_ptr<proteus_rt::LoadedModule> module;
  prt_module_info info{};
};

#endif // PROTEUS_RT_SRC_INTERNAL_H
