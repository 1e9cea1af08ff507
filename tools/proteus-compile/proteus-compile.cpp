//===- proteus-compile.cpp - Build a Proteus kernel bundle ----------------===//
//
// Turns a layer configuration into a kernel bundle: one specialized layer
// entry point per (alpha, density) setting plus the primitive entry points,
// lowered through -proteus-lower-to-cpu to an x86-64 shared library, the GPU
// kernels of every setting as PTX, with their tiles from the tuning database
// where it has them, and a manifest the runtime validates
// (runtime/include/proteus_rt/contract.h).
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "proteus/Autotune/TuningDb.h"
#include "proteus/Conversion/AttentionTiles.h"
#include "proteus/Conversion/Passes.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"
#include "proteus/Pipelines/Pipelines.h"
#include "proteus/Registration/Registration.h"
#include "proteus/Support/Config.h"
#include "proteus/Support/GpuTarget.h"
#include "proteus/Support/Settings.h"
#include "proteus/Target/AttentionModule.h"
#include "proteus/Target/PrimitiveModule.h"
#include "proteus/Transforms/Passes.h"
#include "proteus_rt/bundle_integrity.h"
#include "proteus_rt/config_json.h"
#include "proteus_rt/contract.h"
#include "proteus_rt/version.h"

#include "StagedBundle.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

using namespace mlir;
using namespace mlir::proteus;
namespace cl = llvm::cl;

static cl::OptionCategory category("proteus-compile options");
static cl::opt<std::string> configPath(
    "config",
    cl::desc("layer configuration: JSON with the reference's attribute names "
             "(golden/README.md); omitted keys take the defaults"),
    cl::value_desc("file.json"), cl::cat(category));
static cl::opt<std::string>
    alphaList("alpha",
              cl::desc("comma-separated alpha settings in [0, 1] (one layer "
                       "entry point each)"),
              cl::init("0,0.25,0.5,0.75,1"), cl::cat(category));
static cl::opt<std::string>
    densityList("density",
                cl::desc("comma-separated density settings in (0, 1], one per "
                         "alpha or one for all "
                         "(default: the config's token_keep_ratio_base)"),
                cl::init(""), cl::cat(category));
static cl::opt<std::string> outDir("o", cl::desc("bundle directory to write"),
                                   cl::value_desc("dir"), cl::Required,
                                   cl::cat(category));
static cl::opt<std::string>
    dumpDir("dump-stages",
            cl::desc("write the IR of every stage here (0-proteus, 1-llvm, and "
                     "gpu-<arch>-s<i> for each setting's kernels)"),
            cl::value_desc("dir"), cl::init(""), cl::cat(category));
static cl::opt<std::string>
    gpuArch("arch",
            cl::desc("GPU targets of the attention kernels' PTX: a "
                     "comma-separated list of sm_80, sm_86, sm_89, sm_90 and "
                     "sm_90a, or 'none' for a CPU-only bundle"),
            cl::init("sm_90"), cl::cat(category));
static cl::opt<std::string> cpuIsa(
    "cpu",
    cl::desc("instruction set of the CPU library: x86-64-v3 (AVX2; Haswell, "
             "Zen and later) or x86-64 (any x86-64 CPU); both give the same "
             "bits, v3 in less time"),
    cl::init(proteus_rt::kCpuIsaV3), cl::cat(category));
static cl::opt<std::string> sassList(
    "sass",
    cl::desc("targets to assemble SASS (a cubin per setting) for with "
             "ptxas, each from the PTX of an --arch it can take: a "
             "comma-separated list, 'auto' (sm_90 and sm_90a where ptxas is "
             "found and the PTX fits) or 'none' (default: $PROTEUS_SASS, "
             "else auto)"),
    cl::init(""), cl::cat(category));
static cl::opt<std::string>
    ptxasPath("ptxas",
              cl::desc("ptxas for --sass (default: ptxas on PATH, else "
                       "/usr/local/cuda/bin/ptxas)"),
              cl::init(""), cl::cat(category));
static cl::opt<unsigned>
    jobCount("j",
             cl::desc("threads that compile settings at once (default: the "
                      "processors available)"),
             cl::init(0), cl::cat(category));
static cl::opt<bool>
    timeStages("time-stages",
               cl::desc("print the wall time of each stage (CPU library, "
                        "each setting's PTX and SASS)"),
               cl::init(false), cl::cat(category));
static cl::opt<std::string>
    linker("linker",
           cl::desc("C compiler driver used to link the shared library"),
           cl::init("cc"), cl::cat(category));
static cl::opt<std::string> tuningDb(
    "tuning-db",
    cl::desc("tuning database from proteus-tune measure ('none': default "
             "tiles; default: $PROTEUS_TUNING_DB, else tuning.json in the "
             "runtime's cache folder, where present)"),
    cl::value_desc("file.json"), cl::init(""), cl::cat(category));
static cl::opt<int64_t> tuningSeqLen(
    "tuning-seq-len",
    cl::desc("sequence length the kernels are tuned for: picks the "
             "database's shape class (proteus-tune --help)"),
    cl::init(65536), cl::cat(category));
static cl::opt<int64_t>
    tuningBatch("tuning-batch",
                cl::desc("batch size the kernels are tuned for (shape class)"),
                cl::init(1), cl::cat(category));

namespace {
int fail(const llvm::Twine &msg) {
  llvm::errs() << "proteus-compile: error: " << msg << "\n";
  return 1;
}

/// func.func @proteus_layer_s<i>: the CPU layer entry point, specialized for
/// (alpha, density) (the budget the GPU kernels of the setting take too:
/// getSettingBudget).
void buildLayerEntry(OpBuilder &b, Location loc, ConfigAttr cfg, int64_t index,
                     double alpha, double density) {
  std::string name =
      std::string(proteus_rt::kLayerEntryPrefix) + std::to_string(index);
  func::FuncOp fn = buildLayerFunc(b, loc, cfg, name, BudgetAttr());
  fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  RewritePatternSet patterns(b.getContext());
  populateProteusSpecializePatterns(patterns, alpha, density);
  (void)applyPatternsGreedily(fn, std::move(patterns));
}

bool writeFile(const llvm::Twine &path, StringRef data, std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path.str(), ec);
  if (ec) {
    error = "cannot write " + path.str() + ": " + ec.message();
    return false;
  }
  os << data;
  return true;
}

/// The exported NUL-terminated constant kFingerprintSymbol holding
/// `fingerprint`, which the runtime checks against the manifest.
void addFingerprint(OpBuilder &b, Location loc, ModuleOp module,
                    const std::string &fingerprint) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  std::string bytes = fingerprint + '\0';
  auto type = LLVM::LLVMArrayType::get(b.getI8Type(), bytes.size());
  LLVM::GlobalOp::create(
      b, loc, type, /*isConstant=*/true, LLVM::Linkage::External,
      proteus_rt::kFingerprintSymbol, b.getStringAttr(bytes));
}

/// The tuning database the command line names (an error when it cannot be
/// read), or the default one where it exists and reads; `where` says which
/// (for the manifest and the note).
bool openTuningDb(std::optional<proteus_tune::Database> &db, std::string &where,
                  std::string &error) {
  std::string path = tuningDb;
  bool explicitPath = !path.empty();
  if (!explicitPath) {
    std::string why;
    path = proteus_tune::defaultDatabasePath(why);
    if (path.empty()) {
      where = "no tuning database (" + why + ")";
      return true;
    }
  }
  if (path == "none") {
    where = "no tuning database (none asked for)";
    return true;
  }
  if (!explicitPath && !llvm::sys::fs::exists(path)) {
    where = "no tuning database (" + path + " does not exist)";
    return true;
  }
  proteus_tune::Database loaded;
  if (!proteus_tune::Database::load(path, loaded, error)) {
    if (explicitPath)
      return false;
    // A damaged file in the cache folder does not stop a compile.
    llvm::errs() << "proteus-compile: warning: ignoring the tuning database: "
                 << error << "\n";
    where = "no tuning database (" + path + " is unreadable: " + error + ")";
    return true;
  }
  db = std::move(loaded);
  where = path;
  return true;
}
} // namespace

namespace {

/// Wall-clock seconds per stage, for --time-stages (stages run on several
/// threads).
class StageTimes {
public:
  using Clock = std::chrono::steady_clock;
  static double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  }
  void add(std::string stage, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    stages_.emplace_back(std::move(stage), seconds);
  }
  void print(llvm::raw_ostream &os) const {
    for (const auto &[stage, seconds] : stages_)
      os << "proteus-compile: time: " << stage << " "
         << llvm::format("%.3f", seconds) << " s\n";
  }

private:
  std::mutex mutex_;
  std::vector<std::pair<std::string, double>> stages_;
};

/// Setting i's density (one for all settings, or one each).
double settingDensity(const ToolSettings &ts, size_t i) {
  return ts.densities.size() == 1 ? ts.densities[0] : ts.densities[i];
}

/// The settings as the bundle fingerprint lists them.
proteus_rt::SettingList settingList(const ToolSettings &ts) {
  proteus_rt::SettingList out;
  for (auto [i, alpha] : llvm::enumerate(ts.alphas))
    out.emplace_back(alpha, settingDensity(ts, i));
  return out;
}

/// The GPU half of a compile: PTX targets, and the SASS targets with the
/// PTX target each is assembled from.
struct GpuPlan {
  SmallVector<std::string> archs;
  SmallVector<std::pair<std::string, std::string>> sass; ///< (sass, ptx)
  std::string ptxas;
  std::string sassNote; ///< why `auto` found no SASS to make, or ""
};

/// Reads --arch, --sass and --ptxas; false with the option at fault.
bool planGpu(GpuPlan &plan, std::string &error) {
  std::string sassList = ::sassList;
  if (sassList.empty()) {
    const char *env = std::getenv("PROTEUS_SASS");
    sassList = env && *env ? env : "auto";
  }
  const bool autoSass = sassList == "auto", noSass = sassList == "none";
  if (gpuArch == "none") {
    if (!autoSass && !noSass) {
      error =
          "--sass " + sassList + " needs PTX to assemble, but --arch is none";
      return false;
    }
    return true;
  }
  if (!parseGpuArchList(gpuArch, plan.archs, error)) {
    error = "--arch: " + error + " (a comma-separated list, or 'none')";
    return false;
  }
  if (noSass)
    return true;
  SmallVector<std::string> wanted;
  if (autoSass) {
    for (StringRef a : sassGpuArchs())
      wanted.push_back(a.str());
  } else if (!parseGpuArchList(sassList, wanted, error)) {
    error = "--sass: " + error;
    return false;
  }
  for (const std::string &a : wanted) {
    std::string src = ptxSourceFor(a, plan.archs);
    if (!src.empty())
      plan.sass.emplace_back(a, src);
    else if (!autoSass) {
      error = "--sass: no --arch target (" + gpuArch + ") has PTX that " +
              "ptxas can assemble for " + a;
      return false;
    }
  }
  if (plan.sass.empty()) {
    plan.sassNote = "no SASS: no --arch target fits sm_90 or sm_90a";
    return true;
  }
  plan.ptxas = findPtxas(ptxasPath);
  if (plan.ptxas.empty()) {
    if (!autoSass) {
      error = "--sass: no ptxas (not on PATH nor at /usr/local/cuda/bin; "
              "set --ptxas)";
      return false;
    }
    plan.sass.clear();
    plan.sassNote = "no SASS: ptxas was not found (PATH, /usr/local/cuda/bin)";
  }
  return true;
}

/// One setting's kernels for one PTX target.
struct GpuJob {
  std::string arch;
  int64_t setting;
  double alpha, density;
  /// The bundle fingerprint of this setting, appended to its PTX.
  std::string fingerprint;
};

/// What a GpuJob made. The PTX and cubins are written into the bundle.
struct GpuResult {
  /// `ptx` as written; `kernels` is it without the setting's fingerprint.
  std::string ptx, kernels, skipped, error;
  llvm::json::Array tiles;
  int64_t tuned = 0;
  /// The job whose kernels are these (converted IR identical, e.g. two
  /// settings whose budgets the kernels read at run time): its PTX and
  /// cubins are copied. -1: lowered here.
  int64_t sameAs = -1;
};

/// XXH3-64 of `data` as 16 lowercase hex digits.
std::string xxh3Hex(StringRef data) {
  return llvm::utohexstr(XXH3_64bits(data.data(), data.size()),
                         /*LowerCase=*/true, 16);
}

/// The converted kernel modules of the jobs lowered so far, by content:
/// identical kernels are lowered and assembled once.
class KernelDedup {
public:
  /// The job that already lowers `ir` for `arch`, or -1 after recording
  /// `job` as the one that does.
  int64_t claim(StringRef arch, StringRef ir, int64_t job) {
    std::string key = (arch + "\n").str() + xxh3Hex(ir);
    std::lock_guard<std::mutex> lock(mutex_);
    auto [it, inserted] = owners_.try_emplace(key, job);
    return inserted ? -1 : it->second;
  }

private:
  std::mutex mutex_;
  std::map<std::string, int64_t> owners_;
};

/// Writes `data` to `dir`/`rel`, creating the folders on the way.
bool writeBundleFile(StringRef dir, StringRef rel, StringRef data,
                     std::string &error) {
  std::string full = (dir + "/" + rel).str();
  if (std::error_code ec = llvm::sys::fs::create_directories(
          llvm::sys::path::parent_path(full))) {
    error = "cannot create the folder of " + full + ": " + ec.message();
    return false;
  }
  return writeFile(full, data, error);
}

/// Builds, tunes and lowers the attention kernels of `job` in `ctx` (owned by
/// the calling thread), writes its PTX into `dir` and assembles the SASS
/// targets that take it.
void runGpuJob(MLIRContext &ctx, const proteus_rt::Config &config,
               const GpuJob &job, int64_t index, KernelDedup &dedup,
               const GpuPlan &plan, const proteus_tune::Database *db,
               StringRef shapeClass, StringRef dir, StageTimes &times,
               GpuResult &out) {
  auto started = StageTimes::Clock::now();
  ConfigAttr cfg = toConfigAttr(&ctx, config);
  BudgetAttr budget = getSettingBudget(&ctx, cfg, job.alpha, job.density);
  AttentionModuleOptions options;
  options.topA = job.setting == 0; // prt_gpu_top_a runs setting 0's kernels
  OwningOpRef<ModuleOp> gm =
      buildAttentionModule(&ctx, cfg, budget, options, out.skipped);
  for (const TileChoice &c :
       applyTuningDatabase(*gm, db, shapeClass, job.arch)) {
    std::string tile;
    llvm::raw_string_ostream os(tile);
    os << c.tile;
    out.tuned += c.tuned;
    out.tiles.push_back(
        llvm::json::Object{{"setting", job.setting},
                           {"arch", job.arch},
                           {"kernel", c.kernel},
                           {"specialization", c.setting},
                           {"tile", tile},
                           {"source", c.tuned ? "database" : "default"},
                           {"note", c.note}});
  }
  const std::string label = job.arch + " s" + std::to_string(job.setting);
  if (!dumpDir.empty()) {
    std::string text, ignored;
    llvm::raw_string_ostream os(text);
    gm->print(os);
    llvm::sys::fs::create_directories(dumpDir);
    writeFile(dumpDir + "/gpu-" + job.arch + "-s" +
                  std::to_string(job.setting) + ".mlir",
              text, ignored);
  }
  PassManager convert(&ctx);
  convert.addPass(createConvertProteusToGPUPass());
  if (failed(convert.run(*gm))) {
    out.error =
        "converting the attention kernels of " + label + " failed (see above)";
    return;
  }
  std::string ir;
  llvm::raw_string_ostream irStream(ir);
  gm->print(irStream);
  out.sameAs = dedup.claim(job.arch, ir, index);
  if (out.sameAs >= 0) {
    times.add("ptx " + label + " (the kernels of job " +
                  std::to_string(out.sameAs) + ")",
              StageTimes::since(started));
    return;
  }
  PassManager pm(&ctx);
  LowerToNVVMOptions nvvm;
  nvvm.chip = job.arch;
  nvvm.convert = false;
  buildLowerToNVVMPipeline(pm, nvvm);
  if (failed(pm.run(*gm))) {
    out.error = "lowering the attention kernels of " + label +
                " to PTX failed (see above)";
    return;
  }
  out.kernels = extractPTX(*gm);
  if (out.kernels.empty()) {
    out.error = "the NVVM pipeline produced no PTX for " + label;
    return;
  }
  out.ptx = out.kernels + proteus_rt::ptxFingerprintDirective(job.fingerprint);
  times.add("ptx " + label, StageTimes::since(started));
  const std::string rel = proteus_rt::ptxFile(job.arch, job.setting);
  if (!writeBundleFile(dir, rel, out.ptx, out.error))
    return;
  for (const auto &[sass, src] : plan.sass) {
    if (src != job.arch)
      continue;
    auto t0 = StageTimes::Clock::now();
    const std::string cubin = proteus_rt::cubinFile(sass, job.setting);
    std::string full = (dir + "/" + cubin).str();
    if (std::error_code ec = llvm::sys::fs::create_directories(
            llvm::sys::path::parent_path(full))) {
      out.error = "cannot create the folder of " + full + ": " + ec.message();
      return;
    }
    if (!assembleCubin(plan.ptxas, sass, (dir + "/" + rel).str(), full,
                       out.error))
      return;
    times.add("sass " + sass + " s" + std::to_string(job.setting),
              StageTimes::since(t0));
  }
}

/// Lowers `module` (every setting's layer entry and the primitives) to the
/// CPU library in `dir`.
bool buildCpuLibrary(ModuleOp module, StringRef dir,
                     const std::function<void(StringRef)> &dump,
                     StageTimes &times, std::string &error) {
  auto t0 = StageTimes::Clock::now();
  PassManager pm(module.getContext());
  LowerToCPUOptions options;
  buildLowerToCPUPipeline(pm, options);
  if (failed(pm.run(module))) {
    error = "lowering to the LLVM dialect failed (see the diagnostics above)";
    return false;
  }
  dump("1-llvm");
  times.add("cpu lowering", StageTimes::since(t0));
  t0 = StageTimes::Clock::now();
  SmallVector<char> object;
  if (!emitHostObject(module, cpuIsa, object, error)) {
    error = "object emission failed: " + error;
    return false;
  }
  times.add("cpu object", StageTimes::since(t0));
  t0 = StageTimes::Clock::now();
  std::string objPath = (dir + "/cpu/proteus-kernels.o").str();
  if (!writeBundleFile(dir, "cpu/proteus-kernels.o",
                       StringRef(object.data(), object.size()), error))
    return false;
  std::string libPath = (dir + "/" + proteus_rt::kCpuLibrary).str();
  auto cc = llvm::sys::findProgramByName(linker);
  if (!cc) {
    error =
        "cannot find the linker driver '" + linker + "' on PATH (set --linker)";
    return false;
  }
  std::string ccPath = *cc, ccError;
  SmallVector<StringRef> ccArgs = {ccPath,  "-shared", "-o",
                                   libPath, objPath,   "-lm"};
  int rc = llvm::sys::ExecuteAndWait(ccPath, ccArgs, std::nullopt, {}, 0, 0,
                                     &ccError);
  llvm::sys::fs::remove(objPath);
  if (rc != 0) {
    error = "linking " + libPath + " failed (" + ccPath + " exit " +
            std::to_string(rc) + ") " + ccError;
    return false;
  }
  times.add("cpu link", StageTimes::since(t0));
  return true;
}

/// The module of every setting's CPU layer entry and the primitive entry
/// points.
OwningOpRef<ModuleOp> buildCpuModule(MLIRContext &ctx, ConfigAttr cfg,
                                     const ToolSettings &ts) {
  Location loc = UnknownLoc::get(&ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  OpBuilder b(&ctx);
  b.setInsertionPointToEnd(module->getBody());
  for (auto [i, alpha] : llvm::enumerate(ts.alphas))
    buildLayerEntry(b, loc, cfg, static_cast<int64_t>(i), alpha,
                    settingDensity(ts, i));
  buildPrimitiveFuncs(b, loc, cfg);
  addFingerprint(b, loc, *module,
                 proteus_rt::bundleFingerprint(ts.config, settingList(ts), -1));
  return module;
}

/// Gives job `to` the PTX and cubins of job `from`, whose kernels are its.
bool copyKernels(const GpuJob &from, const GpuResult &made, const GpuJob &to,
                 const GpuPlan &plan, StringRef dir, GpuResult &out,
                 std::string &error) {
  out.kernels = made.kernels;
  out.ptx = made.kernels + proteus_rt::ptxFingerprintDirective(to.fingerprint);
  if (!writeBundleFile(dir, proteus_rt::ptxFile(to.arch, to.setting), out.ptx,
                       error))
    return false;
  for (const auto &[sass, src] : plan.sass) {
    if (src != to.arch)
      continue;
    auto cubin = llvm::MemoryBuffer::getFile(
        dir + "/" + proteus_rt::cubinFile(sass, from.setting));
    if (!cubin) {
      error = "cannot read back the cubin of setting " +
              std::to_string(from.setting) + ": " + cubin.getError().message();
      return false;
    }
    if (!writeBundleFile(dir, proteus_rt::cubinFile(sass, to.setting),
                         (*cubin)->getBuffer(), error))
      return false;
  }
  return true;
}

/// Runs every job of `jobs` on `threads` threads (each with its own
/// MLIRContext) while the calling thread builds the CPU library in
/// `module`'s context, then takes GPU jobs itself.
bool compileAll(ModuleOp module, const DialectRegistry &registry,
                const proteus_rt::Config &config, const GpuPlan &plan,
                ArrayRef<GpuJob> jobs, MutableArrayRef<GpuResult> results,
                const proteus_tune::Database *db, StringRef shapeClass,
                StringRef dir, const std::function<void(StringRef)> &dump,
                StageTimes &times, std::string &error) {
  unsigned threads = jobCount
                         ? jobCount.getValue()
                         : llvm::hardware_concurrency().compute_thread_count();
  threads = std::max(1u, std::min<unsigned>(threads, jobs.size() + 1));
  std::vector<std::unique_ptr<MLIRContext>> contexts;
  for (unsigned t = 1; t < threads; ++t) {
    contexts.push_back(std::make_unique<MLIRContext>(
        registry, MLIRContext::Threading::DISABLED));
    contexts.back()->loadAllAvailableDialects();
  }
  std::atomic<size_t> next{0};
  KernelDedup dedup;
  auto work = [&](MLIRContext &ctx) {
    for (size_t k; (k = next++) < jobs.size();)
      runGpuJob(ctx, config, jobs[k], static_cast<int64_t>(k), dedup, plan, db,
                shapeClass, dir, times, results[k]);
  };
  std::vector<std::thread> pool;
  for (auto &ctx : contexts)
    pool.emplace_back([&work, c = ctx.get()] { work(*c); });
  bool cpuOk = buildCpuLibrary(module, dir, dump, times, error);
  work(*module.getContext());
  for (std::thread &t : pool)
    t.join();
  if (!cpuOk)
    return false;
  for (const GpuResult &r : results)
    if (!r.error.empty()) {
      error = r.error;
      return false;
    }
  for (auto [job, r] : llvm::zip(jobs, results))
    if (r.sameAs >= 0 && !copyKernels(jobs[r.sameAs], results[r.sameAs], job,
                                      plan, dir, r, error))
      return false;
  return true;
}

/// The manifest's informational "tuning" object (the runtime ignores it):
/// where each kernel's tile came from; its note in `note`.
llvm::json::Object tuningRecord(MutableArrayRef<GpuResult> results,
                                const std::optional<proteus_tune::Database> &db,
                                const std::string &dbWhere,
                                StringRef shapeClass, std::string &note) {
  llvm::json::Array kernels;
  int64_t tuned = 0;
  for (GpuResult &r : results) {
    tuned += r.tuned;
    for (llvm::json::Value &v : r.tiles)
      kernels.push_back(std::move(v));
  }
  const int64_t total = static_cast<int64_t>(kernels.size());
  if (!db)
    note = dbWhere + ": the " + std::to_string(total) +
           " attention kernels take their default tiles";
  else
    note = std::to_string(tuned) + " of " + std::to_string(total) +
           " attention kernels tuned from " + dbWhere + " (shape class " +
           shapeClass.str() + ")" +
           (tuned < total ? "; the others take their default tiles "
                            "(kernels[].note says why)"
                          : "");
  return llvm::json::Object{{"database", db ? llvm::json::Value(dbWhere)
                                            : llvm::json::Value(nullptr)},
                            {"shape_class", shapeClass},
                            {"compiler", getTuningCompilerVersion()},
                            {"note", note},
                            {"kernels", std::move(kernels)}};
}

/// The manifest's "files": the path of every file of the bundle (their
/// checksums and sizes are read back by proteus_rt::finishManifest).
llvm::json::Object listFiles(ArrayRef<GpuJob> jobs, const GpuPlan &plan,
                             size_t settings) {
  llvm::json::Object files{{proteus_rt::kCpuLibrary, nullptr}};
  for (const GpuJob &job : jobs)
    files[proteus_rt::ptxFile(job.arch, job.setting)] = nullptr;
  for (const auto &[sass, src] : plan.sass)
    for (size_t i = 0; i < settings; ++i)
      files[proteus_rt::cubinFile(sass, static_cast<int64_t>(i))] = nullptr;
  return files;
}

/// What proteus-compile says once the bundle is in place.
void printSummary(const ToolSettings &ts, const GpuPlan &plan, bool gpu,
                  StringRef gpuNote, StringRef tuningNote, double seconds) {
  std::string targets;
  if (gpu)
    targets = ", PTX for " + llvm::join(plan.archs, ",");
  if (!plan.sass.empty()) {
    targets += ", SASS for ";
    for (auto [k, p] : llvm::enumerate(plan.sass))
      targets += (k ? "," : "") + p.first;
  }
  uint64_t libSize = 0;
  (void)llvm::sys::fs::file_size(outDir + "/" + proteus_rt::kCpuLibrary,
                                 libSize);
  llvm::outs() << "proteus-compile: wrote " << outDir << " ("
               << ts.alphas.size() << " setting(s), CPU library " << libSize
               << " bytes" << targets << ") in "
               << llvm::format("%.2f", seconds) << " s\n";
  if (!gpuNote.empty())
    llvm::outs() << "proteus-compile: note: " << gpuNote << "\n";
  if (!plan.sassNote.empty() && gpu)
    llvm::outs() << "proteus-compile: note: " << plan.sassNote << "\n";
  if (!tuningNote.empty())
    llvm::outs() << "proteus-compile: tuning: " << tuningNote << "\n";
}

/// Writes `module`'s IR to <--dump-stages>/<stage>.mlir where asked.
void dumpStage(ModuleOp module, StringRef stage) {
  if (dumpDir.empty())
    return;
  llvm::sys::fs::create_directories(dumpDir);
  std::string text, ignored;
  llvm::raw_string_ostream os(text);
  module->print(os);
  writeFile(dumpDir + "/" + stage + ".mlir", text, ignored);
}

/// The text of manifest.json ("" when the configuration does not
/// serialise).
std::string manifestText(const ToolSettings &ts, ConfigAttr cfg, bool gpu,
                         llvm::json::Object files, StringRef gpuNote,
                         std::optional<llvm::json::Object> tuning) {
  llvm::json::Array settings;
  for (auto [i, alpha] : llvm::enumerate(ts.alphas))
    settings.push_back(llvm::json::Object{
        {proteus_rt::kManifestSettingAlpha, alpha},
        {proteus_rt::kManifestSettingDensity, settingDensity(ts, i)}});
  auto configJson = llvm::json::parse(proteus_rt::configToJson(ts.config));
  if (!configJson) {
    llvm::consumeError(configJson.takeError());
    return "";
  }
  llvm::json::Object manifest{
      {proteus_rt::kManifestFormatVersion, proteus_rt::kBundleFormatVersion},
      {"generator", "proteus-compile"},
      {proteus_rt::kManifestConfig, std::move(*configJson)},
      {proteus_rt::kManifestSettings, std::move(settings)},
      {proteus_rt::kManifestFiles, std::move(files)},
      {proteus_rt::kManifestCpuTarget, "x86_64-unknown-linux-gnu"},
      {proteus_rt::kManifestCpuIsa, std::string(cpuIsa)}};
  if (!gpuNote.empty())
    manifest[proteus_rt::kManifestGpuNote] = gpuNote;
  if (gpu)
    manifest[proteus_rt::kManifestGpuLayer] =
        gpuAttentionUnsupported(cfg).empty() &&
        gpuLayerUnsupported(cfg).empty();
  // Informational (the runtime ignores it): where each kernel's tile came
  // from, and why the others took the default.
  if (tuning)
    manifest["tuning"] = std::move(*tuning);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest))) << "\n";
  return text;
}

/// Everything proteus-compile does after parsing its command line.
int compileBundle() {
  auto started = StageTimes::Clock::now();
  StageTimes times;
  ToolSettings ts;
  std::string error;
  if (!loadToolSettings(configPath, alphaList, densityList, ts, error))
    return fail(error);
  if (tuningSeqLen < 1 || tuningBatch < 1)
    return fail("--tuning-seq-len and --tuning-batch must be >= 1");
  if (cpuIsa != proteus_rt::kCpuIsaV3 && cpuIsa != proteus_rt::kCpuIsaBaseline)
    return fail("--cpu " + cpuIsa +
                " is not an instruction set proteus-compile "
                "targets: x86-64-v3 (AVX2) or x86-64 (any x86-64 CPU)");
  GpuPlan plan;
  if (!planGpu(plan, error))
    return fail(error);
  const proteus_tune::ShapeClass &shapeClass =
      proteus_tune::classifyShape(tuningSeqLen, tuningBatch);
  std::optional<proteus_tune::Database> db;
  std::string dbWhere;
  if (!plan.archs.empty() && !openTuningDb(db, dbWhere, error))
    return fail("--tuning-db: " + error);

  DialectRegistry registry;
  registerProteusDialects(registry);
  MLIRContext ctx(registry, MLIRContext::Threading::DISABLED);
  ctx.loadAllAvailableDialects();
  ConfigAttr cfg = toConfigAttr(&ctx, ts.config);
  if (failed(verifyConfig(UnknownLoc::get(&ctx), cfg)))
    return 1;
  OwningOpRef<ModuleOp> module = buildCpuModule(ctx, cfg, ts);
  if (failed(mlir::verify(*module)))
    return fail("the generated program does not verify");

  proteus_compile::StagedBundle staged;
  if (!staged.create(outDir, error))
    return fail("-o: " + error);
  auto dump = [&](StringRef stage) { dumpStage(*module, stage); };
  dump("0-proteus");

  std::string gpuNote;
  SmallVector<GpuJob> jobs;
  if (std::string why = gpuAttentionUnsupported(cfg);
      !plan.archs.empty() && !why.empty()) {
    gpuNote = "no PTX: " + why;
    plan.sass.clear();
  } else {
    for (const std::string &arch : plan.archs)
      for (auto [i, alpha] : llvm::enumerate(ts.alphas))
        jobs.push_back(
            {arch, static_cast<int64_t>(i), alpha, settingDensity(ts, i),
             proteus_rt::bundleFingerprint(ts.config, settingList(ts),
                                           static_cast<int64_t>(i))});
  }
  std::vector<GpuResult> results(jobs.size());
  initializeCodegenBackends(); // before the threads: LLVM's registry is not
                               // thread-safe
  if (!compileAll(*module, registry, ts.config, plan, jobs, results,
                  db ? &*db : nullptr, shapeClass.name, staged.dir(), dump,
                  times, error))
    return fail(error);

  llvm::json::Object files = listFiles(jobs, plan, ts.alphas.size());
  for (const GpuResult &r : results)
    if (!r.skipped.empty())
      gpuNote = "the in-kernel candidate rule is CPU-only for " + r.skipped;

  std::string tuningNote;
  std::optional<llvm::json::Object> tuning;
  if (!jobs.empty())
    tuning = tuningRecord(results, db, dbWhere, shapeClass.name, tuningNote);
  std::string manifest =
      manifestText(ts, cfg, !plan.archs.empty(), std::move(files), gpuNote,
                   std::move(tuning));
  if (manifest.empty())
    return fail("internal error: the configuration does not serialise");
  if (!proteus_rt::finishManifest(staged.dir().str(), manifest, error))
    return fail(error);
  if (!writeBundleFile(staged.dir(), proteus_rt::kManifestFile, manifest,
                       error) ||
      !staged.commit(error))
    return fail(error);

  printSummary(ts, plan, !jobs.empty(), gpuNote, tuningNote,
               StageTimes::since(started));
  if (timeStages)
    times.print(llvm::outs());
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  proteus_compile::exitOnOutOfMemory();
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << prt::versionLine("proteus-compile") << "\n";
  });
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "proteus-compile: compile a Proteus layer configuration into a kernel "
      "bundle\n\n"
      "  proteus-compile --config layer.json --alpha 0,0.5,1 -o bundle/\n\n"
      "The bundle holds manifest.json (format, config, settings, XXH3 "
      "checksums, integrity),\n"
      "cpu/libproteus_kernels.so with proteus_layer_s<i> for every setting i, "
      "plus the\n"
      "primitive entry points proteus_shortlist, proteus_shortlist_attention, "
      "\n"
      "proteus_select_tokens and the Top-A sampler's "
      "proteus_top_a_<mode>_<elem>,\n"
      "ptx/<arch>/s<i>.ptx for every --arch and "
      "sass/<arch>/s<i>.cubin\n"
      "for every --sass target. It is written beside -o and moved into place "
      "once complete.\n"
      "Load it with the runtime (proteus_rt) or run it with proteus-run.\n");
  return compileBundle();
}
