//===- proteus-tune.cpp - The autotuner's compiler side -------------------===//
//
// `proteus-tune generate` compiles, for every GPU attention kernel of a
// configuration's settings, each valid tile of the kernel's search space
// (AttentionTiles.h) into a tuning bundle that proteus-tune-measure times on
// the GPU; `measure` runs that program; `show` prints a tuning database.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "proteus/Autotune/Progress.h"
#include "proteus/Autotune/TuningDb.h"
#include "proteus/Conversion/AttentionTiles.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"
#include "proteus/Pipelines/Pipelines.h"
#include "proteus/Registration/Registration.h"
#include "proteus/Support/Config.h"
#include "proteus/Support/GpuTarget.h"
#include "proteus/Support/Settings.h"
#include "proteus/Target/AttentionModule.h"
#include "proteus_rt/bundle_integrity.h"
#include "proteus_rt/config_json.h"
#include "proteus_rt/contract.h"
#include "proteus_rt/version.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstring>
#include <set>
#include <unistd.h>

using namespace mlir;
using namespace mlir::proteus;
namespace cl = llvm::cl;
namespace tune = proteus_tune;

static const char *const kOverview =
    R"(proteus-tune: choose the GPU attention kernels' tiles (#proteus.tile) by
measurement, once per kernel, setting, shape class and card.

The compiler cannot run on the GPU machine (it has no LLVM) and this machine
has no GPU, so tuning takes two steps; a machine that has both runs them one
after the other.

  1. Here (the compiler):
       proteus-tune generate --config layer.json --alpha 1 -o tune/
     For every attention kernel of every setting and element type, each tile
     of the kernel's search space (declared beside its lowering,
     codegen/ProteusToGPU/AttentionTiles.cpp) that meets the kernel's
     constraints (launch geometry, divisibility by the head dim, loads of at
     most 16 bytes, shared memory, a register estimate) is compiled to PTX and
     checked with ptxas; variants that spill or exceed the kernel's register
     budget are dropped. Each survivor is a small kernel bundle in tune/;
     tune/tune.json lists them, the pruned tiles with the reason, and the
     shape classes to measure.

  2. On the GPU (runtime only: links proteus_rt, no LLVM):
       proteus-tune-measure --db tuning.json tune/ [tune2/ ...]
     (`proteus-tune measure ARGS` runs the proteus-tune-measure next to it.)
     Per kernel and shape class, every variant runs on the same random inputs
     as the default tile and must match its output (at the class's shape and
     at T = 777, which no tile divides) before it is timed: CUDA events,
     warm-up, median of repeated batches, inputs rotated over several buffers
     so that the L2 cache does not flatter. The database gets, per
     kernel, setting, shape class, arch and compiler version, the best tile
     with its time, the runner-up's and the default's, and the device and
     driver. Every measured variant is journaled (tuning.json.journal), so an
     interrupted run continues where it stopped; --time-limit ends a run
     cleanly (exit 3) for the next one to resume.

  3. Compile with the database:
       proteus-compile --config layer.json --tuning-db tuning.json -o bundle/
     Without --tuning-db: $PROTEUS_TUNING_DB, else tuning.json in the
     runtime's cache folder ($PROTEUS_CACHE_DIR, $XDG_CACHE_HOME/proteus or
     ~/.cache/proteus), where it exists. --tuning-seq-len and --tuning-batch
     pick the shape class; a kernel without an entry keeps its default tile,
     and the bundle manifest's "tuning" says which tile each kernel got and
     why.

Shape classes share one configuration, so a variant is compiled once and
measured at one shape per class (T: sequence length, B: batch):
  t0   T < 4096           (measured at T = 2048)
  t4k  4096 <= T < 32768  (T = 16384)
  t32k T >= 32768         (T = 131072; the dense kernel at 32768)
  b1   B = 1; b2 B >= 2   (B = 4, 2 at t32k)
e.g. t4k.b1. The shortlist kernel runs 0.4 B T packed queries (2 heads of
every token, 20% of tokens kept), like the benchmark.

Commands:
  generate [options]     write a tuning bundle (proteus-tune generate --help)
  measure [options] DIR  proteus-tune-measure (proteus-tune-measure --help)
  show DB                print a tuning database as a table

On the project's GPU machine: scripts/tune.sh (benchmarks/README.md).
)";

//===----------------------------------------------------------------------===//
// generate
//===----------------------------------------------------------------------===//

static cl::OptionCategory category("proteus-tune generate options");
static cl::opt<std::string>
    configPath("config",
               cl::desc("layer configuration JSON (as proteus-compile takes; "
                        "omitted keys take the defaults)"),
               cl::value_desc("file.json"), cl::cat(category));
static cl::opt<std::string>
    alphaList("alpha", cl::desc("comma-separated alpha settings in [0, 1]"),
              cl::init("1"), cl::cat(category));
static cl::opt<std::string> densityList(
    "density",
    cl::desc("comma-separated densities, one per alpha or one for all "
             "(default: the config's token_keep_ratio_base)"),
    cl::init(""), cl::cat(category));
static cl::opt<std::string>
    kernelList("kernels",
               cl::desc("kernels to tune: shortlist (in-kernel candidate "
                        "rule), dense (causal)"),
               cl::init("shortlist,dense"), cl::cat(category));
static cl::opt<std::string> dtypeList("dtypes",
                                      cl::desc("element types: bf16, f16, f32"),
                                      cl::init("bf16"), cl::cat(category));
static cl::opt<std::string>
    classList("classes",
              cl::desc("shape classes to measure (default: all six)"),
              cl::init(""), cl::cat(category));
static cl::opt<std::string> arch("arch", cl::desc("GPU target of the PTX"),
                                 cl::init("sm_90"), cl::cat(category));
static cl::opt<std::string> ptxasPath(
    "ptxas",
    cl::desc("ptxas for the register and spill check ('none': skip; "
             "default: ptxas on PATH, else /usr/local/cuda/bin/ptxas)"),
    cl::init(""), cl::cat(category));
static cl::opt<int64_t>
    maxRegisters("max-registers",
                 cl::desc("register budget per thread (default: the kernel's, "
                          "AttentionTiles.cpp)"),
                 cl::init(0), cl::cat(category));
static cl::opt<int64_t>
    maxVariants("max-variants",
                cl::desc("keep at most this many valid tiles per kernel, the "
                         "default first (0: all)"),
                cl::init(0), cl::cat(category));
static cl::opt<std::string> outDir("o",
                                   cl::desc("tuning bundle folder to write"),
                                   cl::value_desc("dir"), cl::cat(category));

namespace {

int fail(const llvm::Twine &msg) {
  llvm::errs() << "proteus-tune: error: " << msg << "\n";
  return 1;
}

SmallVector<std::string> splitList(StringRef text) {
  SmallVector<StringRef> parts;
  text.split(parts, ',', -1, false);
  SmallVector<std::string> out;
  for (StringRef p : parts)
    out.push_back(p.trim().str());
  return out;
}

std::string print(Attribute a) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << a;
  return s;
}

/// What ptxas reported for one kernel.
struct PtxasReport {
  int64_t registers = -1, spillBytes = -1, sharedBytes = 0;
};

/// Runs `ptxas -v` on `ptxFile` and reads the report of kernel `name`.
bool runPtxas(StringRef ptxas, StringRef ptxFile, StringRef name,
              PtxasReport &report, std::string &error) {
  SmallString<128> log;
  if (llvm::sys::fs::createTemporaryFile("proteus-tune-ptxas", "log", log)) {
    error = "cannot create a temporary file";
    return false;
  }
  std::string archArg = "-arch=" + arch.getValue();
  SmallVector<StringRef> args = {ptxas,   archArg, "-v",
                                 ptxFile, "-o",    "/dev/null"};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(log),
                                          StringRef(log)};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects, 0, 0,
                                     &execError);
  auto text = llvm::MemoryBuffer::getFile(log);
  llvm::sys::fs::remove(log);
  if (rc != 0) {
    error = "ptxas failed (exit " + std::to_string(rc) + ") " + execError +
            (text ? ": " + (*text)->getBuffer().take_front(2000).str() : "");
    return false;
  }
  if (!text) {
    error = "cannot read the ptxas log";
    return false;
  }
  // "Compiling entry function 'NAME'", then "N bytes spill stores, M bytes
  // spill loads" and "Used R registers, ..., S bytes smem".
  StringRef all = (*text)->getBuffer();
  size_t at = all.find(("'" + name + "'").str());
  if (at == StringRef::npos) {
    error = "ptxas reported nothing for " + name.str();
    return false;
  }
  StringRef rest = all.drop_front(at);
  size_t next = rest.find("Compiling entry function", 1);
  rest = rest.take_front(next);
  auto numberBefore = [&](StringRef key) -> int64_t {
    size_t k = rest.find(key);
    if (k == StringRef::npos)
      return -1;
    StringRef head = rest.take_front(k).rtrim();
    size_t sp = head.find_last_of(" \t");
    int64_t v = -1;
    if (head.drop_front(sp == StringRef::npos ? 0 : sp + 1).getAsInteger(10, v))
      return -1;
    return v;
  };
  int64_t stores = numberBefore("bytes spill stores");
  int64_t loads = numberBefore("bytes spill loads");
  report.registers = numberBefore("registers");
  report.spillBytes = stores < 0 || loads < 0 ? -1 : stores + loads;
  report.sharedBytes = std::max<int64_t>(0, numberBefore("bytes smem"));
  if (report.registers < 0 || report.spillBytes < 0) {
    error = "cannot read the register and spill counts of " + name.str() +
            " from ptxas";
    return false;
  }
  return true;
}

bool writeFile(const std::string &path, StringRef data, std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    error = "cannot write " + path + ": " + ec.message();
    return false;
  }
  os << data;
  return true;
}

/// One kernel group being generated: what builds its module.
struct Job {
  tune::KernelVariants group;
  BudgetAttr budget;
  Type elem;
  bool dense;
  TileTarget target;
  SmallVector<TileAttr> tiles; ///< valid tiles, the default first
};

int generate(int argc, char **argv) {
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "proteus-tune generate: compile the tile variants of a configuration's "
      "GPU attention kernels into a tuning bundle (step 1 of 2; see "
      "proteus-tune --help)\n");
  if (outDir.empty())
    return fail("-o DIR is required");

  ToolSettings toolSettings;
  std::string settingsError;
  if (!loadToolSettings(configPath, alphaList, densityList, toolSettings,
                        settingsError))
    return fail(settingsError);
  const proteus_rt::Config &config = toolSettings.config;
  const SmallVector<double> &alphas = toolSettings.alphas,
                            &densities = toolSettings.densities;
  bool wantShortlist = false, wantDense = false;
  for (const std::string &k : splitList(kernelList)) {
    if (k == "shortlist")
      wantShortlist = true;
    else if (k == "dense")
      wantDense = true;
    else
      return fail("--kernels takes shortlist and dense, not '" + k + "'");
  }
  if (std::string why = checkGpuArch(arch); !why.empty())
    return fail("--arch: " + why);
  std::vector<std::string> classes;
  for (const std::string &c : splitList(classList)) {
    if (!tune::findShapeClass(c))
      return fail("--classes: no shape class '" + c +
                  "' (proteus-tune --help lists them)");
    classes.push_back(c);
  }
  if (classes.empty())
    for (const tune::ShapeClass &c : tune::shapeClasses())
      classes.push_back(c.name);

  DialectRegistry registry;
  registerProteusDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  Location loc = UnknownLoc::get(&ctx);
  ConfigAttr cfg = toConfigAttr(&ctx, config);
  if (failed(verifyConfig(loc, cfg)))
    return 1;
  if (std::string why = gpuAttentionUnsupported(cfg); !why.empty())
    return fail("no GPU attention kernels for this configuration: " + why);
  SmallVector<Type> elems;
  for (const std::string &t : splitList(dtypeList)) {
    if (t == "bf16")
      elems.push_back(BFloat16Type::get(&ctx));
    else if (t == "f16")
      elems.push_back(Float16Type::get(&ctx));
    else if (t == "f32")
      elems.push_back(Float32Type::get(&ctx));
    else
      return fail("--dtypes takes bf16, f16 and f32, not '" + t + "'");
  }

  const std::string ptxas = findPtxas(ptxasPath);
  if (ptxas.empty())
    llvm::errs() << "proteus-tune: warning: no ptxas: registers and spills "
                    "are not checked before measurement\n";

  auto configJson = llvm::json::parse(proteus_rt::configToJson(config));
  if (!configJson)
    return fail("internal error: the configuration does not serialise");

  // A module with the one attention op of (setting, element type, kind).
  auto buildOne = [&](BudgetAttr budget, Type elem, bool dense,
                      std::string &skipped) {
    AttentionModuleOptions only;
    only.elementTypes = {elem};
    only.rule = !dense;
    only.listed = false;
    only.dense = dense;
    only.layer = false;
    return buildAttentionModule(&ctx, cfg, budget, only, skipped);
  };

  // The kernel groups: one per distinct (kernel, specialization).
  std::vector<Job> jobs;
  std::set<std::string> seen;
  std::string skippedNote;
  for (auto [i, alpha] : llvm::enumerate(alphas)) {
    double density = densities.size() == 1 ? densities[0] : densities[i];
    BudgetAttr budget = getSettingBudget(&ctx, cfg, alpha, density);
    for (Type elem : elems)
      for (bool dense : {false, true}) {
        if ((dense && !wantDense) || (!dense && !wantShortlist))
          continue;
        std::string skipped;
        OwningOpRef<ModuleOp> m = buildOne(budget, elem, dense, skipped);
        Operation *op = nullptr;
        m->walk([&](Operation *o) {
          if (isa<ShortlistAttentionOp, DenseAttentionOp>(o))
            op = o;
        });
        if (!op) {
          skippedNote = "the shortlist kernel's candidate rule has no GPU "
                        "form for this configuration (" +
                        skipped + ")";
          continue;
        }
        if (auto sl = dyn_cast<ShortlistAttentionOp>(op);
            sl && (sl.getUseProto() || sl.getQuantize())) {
          // proteus-tune-measure passes no prototype scores and no INT8
          // scales; with the piece, the kernel's per-query list build, not
          // its tile, sets its time.
          skippedNote = std::string("the shortlist kernel with ") +
                        (sl.getUseProto() ? "the prototype candidate piece"
                                          : "INT8 quantization") +
                        " is not tuned (it runs with its default tile)";
          continue;
        }
        std::string why;
        FailureOr<AttentionKernel> kernel = getAttentionKernel(op, why);
        if (failed(kernel))
          return fail("no GPU kernel: " + why);
        if (!seen.insert(kernel->name + "|" + kernel->setting).second)
          continue;
        Job job;
        job.budget = budget;
        job.elem = elem;
        job.dense = dense;
        job.target = kernel->target;
        tune::KernelVariants &g = job.group;
        g.kernel = kernel->name;
        g.setting = kernel->setting;
        g.role = dense ? "dense" : "shortlist";
        {
          llvm::raw_string_ostream os(g.dtype);
          os << elem;
        }
        g.headDim = cfg.getHeadDim();
        g.heads = cfg.getHTotal();
        g.alpha = alpha;
        g.density = density;
        g.classes = classes;
        for (TileAttr tile : getTileSearchSpace(&ctx, kernel->target)) {
          std::string reason = checkTile(kernel->target, tile);
          if (!reason.empty())
            g.pruned.push_back({toTile(tile), reason});
          else if (maxVariants > 0 &&
                   static_cast<int64_t>(job.tiles.size()) >= maxVariants)
            g.pruned.push_back({toTile(tile), "beyond --max-variants"});
          else
            job.tiles.push_back(tile);
        }
        jobs.push_back(std::move(job));
      }
  }
  if (jobs.empty())
    return fail("nothing to tune" +
                (skippedNote.empty() ? std::string() : ": " + skippedNote));

  if (std::error_code ec = llvm::sys::fs::create_directories(outDir))
    return fail("cannot create " + outDir + ": " + ec.message());
  int64_t total = 0;
  for (const Job &j : jobs)
    total += static_cast<int64_t>(j.tiles.size());
  tune::TuningBundle bundle;
  bundle.compiler = getTuningCompilerVersion();
  bundle.arch = arch;
  bundle.config = proteus_rt::configToJson(config);
  tune::Progress progress("generate", total);
  int64_t compiled = 0, pruned = 0;
  for (auto [k, job] : llvm::enumerate(jobs)) {
    tune::KernelVariants &g = job.group;
    const int64_t budgetRegs = maxRegisters > 0
                                   ? maxRegisters.getValue()
                                   : getRegisterBudget(job.target.kernel);
    for (auto [v, tile] : llvm::enumerate(job.tiles)) {
      const bool isDefault = v == 0;
      const std::string id = "v" + std::to_string(v);
      const std::string rel = "k" + std::to_string(k) + "/" + id;
      const std::string dir = outDir + "/" + rel;
      std::string label = g.kernel + " " + id + " " + print(tile);
      std::string skipped;
      OwningOpRef<ModuleOp> m =
          buildOne(job.budget, job.elem, job.dense, skipped);
      m->walk([&](Operation *o) {
        if (isa<ShortlistAttentionOp, DenseAttentionOp>(o))
          o->setAttr("tile", tile);
      });
      PassManager pm(&ctx);
      LowerToNVVMOptions nvvm;
      nvvm.chip = arch;
      buildLowerToNVVMPipeline(pm, nvvm);
      if (failed(pm.run(*m)))
        return fail("lowering " + label + " to PTX failed (see above)");
      std::string ptx = extractPTX(*m);
      if (ptx.empty())
        return fail("the NVVM pipeline produced no PTX for " + label);
      ptx += proteus_rt::ptxFingerprintDirective(
          proteus_rt::bundleFingerprint(config, {{g.alpha, g.density}}, 0));
      const std::string ptxRel = proteus_rt::ptxFile(arch, 0);
      std::string error;
      if (std::error_code ec = llvm::sys::fs::create_directories(
              llvm::sys::path::parent_path(dir + "/" + ptxRel)))
        return fail("cannot create " + dir + ": " + ec.message());
      if (!writeFile(dir + "/" + ptxRel, ptx, error))
        return fail(error);
      tune::Variant variant{id, toTile(tile), rel};
      std::string prunedWhy;
      if (!ptxas.empty()) {
        PtxasReport report;
        if (!runPtxas(ptxas, dir + "/" + ptxRel, g.kernel, report, error))
          return fail(label + ": " + error);
        variant.registers = report.registers;
        variant.spillBytes = report.spillBytes;
        variant.sharedBytes = report.sharedBytes;
        if (report.spillBytes > 0)
          prunedWhy = "ptxas: " + std::to_string(report.spillBytes) +
                      " bytes of spills";
        else if (report.registers > budgetRegs)
          prunedWhy = "ptxas: " + std::to_string(report.registers) +
                      " registers, over the budget of " +
                      std::to_string(budgetRegs);
      }
      if (!prunedWhy.empty() && !isDefault) {
        g.pruned.push_back({variant.tile, prunedWhy});
        llvm::sys::fs::remove_directories(dir);
        ++pruned;
        progress.step(label + ": pruned (" + prunedWhy + ")");
        continue;
      }
      // A kernel bundle of one setting with only this kernel (and the fill
      // kernel it needs), which the runtime opens like any other.
      llvm::json::Object manifest{
          {proteus_rt::kManifestFormatVersion,
           proteus_rt::kBundleFormatVersion},
          {"generator", "proteus-tune generate"},
          {proteus_rt::kManifestConfig, *configJson},
          {proteus_rt::kManifestSettings,
           llvm::json::Array{llvm::json::Object{
               {proteus_rt::kManifestSettingAlpha, g.alpha},
               {proteus_rt::kManifestSettingDensity, g.density}}}},
          {proteus_rt::kManifestFiles, llvm::json::Object{{ptxRel, nullptr}}},
          {"tile", print(tile)}};
      std::string text;
      llvm::raw_string_ostream os(text);
      os << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest)))
         << "\n";
      if (!proteus_rt::finishManifest(dir, text, error))
        return fail(error);
      if (!writeFile(dir + "/" + proteus_rt::kManifestFile, text, error))
        return fail(error);
      if (isDefault)
        g.defaultId = id;
      g.variants.push_back(variant);
      ++compiled;
      progress.step(
          label + (variant.registers >= 0
                       ? ": " + std::to_string(variant.registers) + " registers"
                       : std::string()));
    }
    bundle.kernels.push_back(g);
  }
  std::string error;
  if (!bundle.save(outDir, error))
    return fail(error);
  progress.finish(std::to_string(compiled) + " variants compiled, " +
                  std::to_string(pruned) + " pruned by ptxas");
  int64_t invalid = 0;
  for (const tune::KernelVariants &g : bundle.kernels) {
    int64_t byPtxas = 0;
    for (const tune::PrunedVariant &p : g.pruned)
      byPtxas += StringRef(p.why).starts_with("ptxas");
    invalid += static_cast<int64_t>(g.pruned.size()) - byPtxas;
    llvm::outs() << "proteus-tune: " << g.kernel << " [" << g.setting
                 << "]: " << g.variants.size() << " variants, "
                 << g.pruned.size() - byPtxas << " invalid tiles, " << byPtxas
                 << " pruned by ptxas; classes " << llvm::join(g.classes, ",")
                 << "\n";
  }
  llvm::outs() << "proteus-tune: wrote " << outDir << "/"
               << tune::kTuningBundleFile << " (" << bundle.kernels.size()
               << " kernels, " << compiled << " variants, " << invalid
               << " tiles invalid before compiling, " << pruned
               << " pruned by ptxas); next, on the GPU: proteus-tune-measure "
                  "--db tuning.json "
               << outDir << "\n";
  if (!skippedNote.empty())
    llvm::outs() << "proteus-tune: note: " << skippedNote << "\n";
  return 0;
}

//===----------------------------------------------------------------------===//
// measure and show
//===----------------------------------------------------------------------===//

/// Runs proteus-tune-measure from this program's folder with `args`.
int measure(const char *argv0, int argc, char **argv) {
  std::string self = llvm::sys::fs::getMainExecutable(
      argv0, reinterpret_cast<void *>(&measure));
  SmallString<256> path(llvm::sys::path::parent_path(self));
  llvm::sys::path::append(path, "proteus-tune-measure");
  std::vector<char *> args = {path.data()};
  for (int i = 0; i < argc; ++i)
    args.push_back(argv[i]);
  args.push_back(nullptr);
  ::execv(path.c_str(), args.data());
  return fail("cannot run " + path + ": " + std::strerror(errno));
}

int show(int argc, char **argv) {
  if (argc != 1)
    return fail("usage: proteus-tune show DATABASE.json");
  tune::Database db;
  std::string error;
  if (!tune::Database::load(argv[0], db, error))
    return fail(error);
  // The setting comes last: one kernel and class has an entry per
  // specialization (head_dim, caps...), and rows without it look alike.
  llvm::outs() << llvm::format(
      "%-36s %-8s %-22s %6s %9s %9s %7s %9s  %s  [%s]\n", "kernel", "class",
      "device", "T", "default", "best", "speedup", "2nd", "best tile",
      "setting");
  for (const tune::Entry &e : db.entries) {
    std::string second =
        e.runnerUp ? llvm::formatv("{0:f4}", e.runnerUp->ms).str() : "-";
    llvm::outs() << llvm::format(
        "%-36s %-8s %-22s %6lld %9.4f %9.4f %6.2fx %9s  %s  [%s]\n",
        e.kernel.c_str(), e.shapeClass.c_str(), e.device.substr(0, 22).c_str(),
        static_cast<long long>(e.T), e.defaults.ms, e.best.ms,
        e.defaults.ms / e.best.ms, second.c_str(),
        tune::toString(e.best.tile).c_str(), e.setting.c_str());
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::SetVersionPrinter(
      [](raw_ostream &os) { os << prt::versionLine("proteus-tune") << "\n"; });
  StringRef command = argc > 1 ? StringRef(argv[1]) : StringRef();
  if (command == "generate") {
    std::string name = "proteus-tune generate";
    argv[1] = name.data();
    return generate(argc - 1, argv + 1);
  }
  if (command == "measure")
    return measure(argv[0], argc - 2, argv + 2);
  if (command == "show")
    return show(argc - 2, argv + 2);
  if (command == "--version") {
    llvm::outs() << prt::versionLine("proteus-tune") << "\n";
    return 0;
  }
  if (command == "--help" || command == "-help" || command == "-h" ||
      command == "help") {
    llvm::outs() << kOverview;
    return 0;
  }
  llvm::errs() << kOverview;
  if (!command.empty())
    llvm::errs() << "\nproteus-tune: error: unknown command '" << command
                 << "'\n";
  return 2;
}
