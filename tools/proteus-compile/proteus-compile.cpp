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
#include "proteus/Support/Settings.h"
#include "proteus/Target/AttentionModule.h"
#include "proteus/Target/TopAModule.h"
#include "proteus/Transforms/Passes.h"
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
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

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
static cl::opt<std::string> dumpDir(
    "dump-stages",
    cl::desc(
        "write the IR of every stage (proteus, decomposed, scf, llvm) here"),
    cl::value_desc("dir"), cl::init(""), cl::cat(category));
static cl::opt<std::string>
    gpuArch("arch",
            cl::desc("GPU target for the attention kernels' PTX ('none' for a "
                     "CPU-only bundle)"),
            cl::init("sm_90"), cl::cat(category));
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

/// Parses "a,b,c" into doubles.
MemRefType memref(ArrayRef<int64_t> shape, Type elem) {
  return MemRefType::get(shape, elem);
}

/// func.func @proteus_layer_s<i>: the CPU layer entry point, specialized for
/// (alpha, density).
BudgetAttr buildLayerEntry(OpBuilder &b, Location loc, ConfigAttr cfg,
                           int64_t index, double alpha, double density) {
  std::string name =
      std::string(proteus_rt::kLayerEntryPrefix) + std::to_string(index);
  func::FuncOp fn = buildLayerFunc(b, loc, cfg, name, BudgetAttr());
  fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  RewritePatternSet patterns(b.getContext());
  populateProteusSpecializePatterns(patterns, alpha, density);
  (void)applyPatternsGreedily(fn, std::move(patterns));
  BudgetAttr budget;
  fn.walk([&](LayerOp op) { budget = op.getBudgetAttr(); });
  return budget;
}

/// budget[slot] of the i64 budget vector, as an index.
Value budgetSlot(OpBuilder &b, Location loc, Value budget, int64_t slot) {
  Value i = arith::ConstantIndexOp::create(b, loc, slot);
  Value v = memref::LoadOp::create(b, loc, budget, ValueRange{i});
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}

/// The primitive entry points: materialised candidates, attention over them,
/// and token selection.
void buildPrimitiveEntries(OpBuilder &b, Location loc, ConfigAttr cfg) {
  int64_t dyn = ShapedType::kDynamic;
  Type f32 = b.getF32Type(), i64 = b.getI64Type(), i8 = b.getI8Type();
  auto entry = [&](StringRef name, ArrayRef<Type> args) {
    auto fn = func::FuncOp::create(b, loc, name, b.getFunctionType(args, {}));
    fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    return fn;
  };
  OpBuilder::InsertionGuard guard(b);
  {
    auto fn = entry(proteus_rt::kShortlistEntry,
                    {memref({dyn}, i64), memref({dyn, dyn}, f32),
                     memref({dyn}, i64), memref({dyn}, i64),
                     memref({dyn, dyn}, i64), memref({dyn}, i64)});
    b.setInsertionPointToStart(fn.addEntryBlock());
    auto a = fn.getArguments();
    auto slot = [&](int64_t s) { return budgetSlot(b, loc, a[3], s); };
    bool proto = cfg.getUseProto();
    ShortlistOp::create(
        b, loc, a[0], proto ? a[1] : Value(), proto ? a[2] : Value(),
        slot(proteus_rt::kBudgetT), slot(proteus_rt::kBudgetEffectiveL),
        slot(proteus_rt::kBudgetWindow), slot(proteus_rt::kBudgetLocalCap),
        slot(proteus_rt::kBudgetAnchorCap), slot(proteus_rt::kBudgetProtoCap),
        a[4], a[5], static_cast<uint64_t>(cfg.getAnchorStride()),
        cfg.getUseLocal(), cfg.getUseAnchors(), proto);
    func::ReturnOp::create(b, loc);
  }
  b.setInsertionPointAfter(b.getInsertionBlock()->getParentOp());
  {
    auto qkv = memref({dyn, dyn, dyn}, f32);
    auto fn = entry(proteus_rt::kDenseAttentionEntry, {qkv, qkv, qkv, qkv});
    b.setInsertionPointToStart(fn.addEntryBlock());
    auto a = fn.getArguments();
    DenseAttentionOp::create(b, loc, a[0], a[1], a[2], a[3], TileAttr());
    func::ReturnOp::create(b, loc);
  }
  b.setInsertionPointAfter(b.getInsertionBlock()->getParentOp());
  {
    auto qkv = memref({dyn, dyn, dyn}, f32);
    auto fn = entry(proteus_rt::kShortlistAttentionEntry,
                    {qkv, qkv, qkv, memref({dyn}, i64), memref({dyn}, i64),
                     memref({dyn, dyn}, i64), memref({dyn}, i64), qkv});
    b.setInsertionPointToStart(fn.addEntryBlock());
    auto a = fn.getArguments();
    Value count = memref::DimOp::create(b, loc, a[3], 0);
    ShortlistAttentionOp::create(
        b, loc, a[0], a[1], a[2], a[3], a[4], count, a[5], a[6], ValueRange{},
        Value(), a[7], uint64_t(0), false, false, false, Int8ModeAttr(),
        llvm::APFloat(1.0), TileAttr());
    func::ReturnOp::create(b, loc);
  }
  b.setInsertionPointAfter(b.getInsertionBlock()->getParentOp());
  {
    auto fn = entry(
        proteus_rt::kSelectTokensEntry,
        {memref({dyn, dyn}, f32), memref({dyn}, i64), memref({dyn, dyn}, i8)});
    b.setInsertionPointToStart(fn.addEntryBlock());
    auto a = fn.getArguments();
    SelectTokensOp::create(
        b, loc, a[0], budgetSlot(b, loc, a[1], proteus_rt::kBudgetTokenKeep),
        budgetSlot(b, loc, a[1], proteus_rt::kBudgetGuard), a[2],
        b.getF64FloatAttr(cfg.getKeepThreshold()));
    func::ReturnOp::create(b, loc);
  }
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

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
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
      "checksums) and\n"
      "cpu/libproteus_kernels.so with proteus_layer_s<i> for every setting i, "
      "plus the\n"
      "primitive entry points proteus_shortlist, proteus_shortlist_attention "
      "and\n"
      "proteus_select_tokens, and the Top-A sampler's "
      "proteus_top_a_<mode>_<elem>.\n"
      "Load it with the runtime (proteus_rt) or run it with proteus-run.\n");

  auto started = std::chrono::steady_clock::now();
  ToolSettings toolSettings;
  std::string settingsError;
  if (!loadToolSettings(configPath, alphaList, densityList, toolSettings,
                        settingsError))
    return fail(settingsError);
  const proteus_rt::Config &config = toolSettings.config;
  const SmallVector<double> &alphas = toolSettings.alphas,
                            &densities = toolSettings.densities;
  if (tuningSeqLen < 1 || tuningBatch < 1)
    return fail("--tuning-seq-len and --tuning-batch must be >= 1");
  const proteus_tune::ShapeClass &shapeClass =
      proteus_tune::classifyShape(tuningSeqLen, tuningBatch);
  std::optional<proteus_tune::Database> db;
  std::string dbWhere, dbError;
  if (gpuArch != "none" && !openTuningDb(db, dbWhere, dbError))
    return fail("--tuning-db: " + dbError);

  DialectRegistry registry;
  registerProteusDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  Location loc = UnknownLoc::get(&ctx);
  ConfigAttr cfg = toConfigAttr(&ctx, config);
  if (failed(verifyConfig(loc, cfg)))
    return 1;

  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  OpBuilder b(&ctx);
  b.setInsertionPointToEnd(module->getBody());
  llvm::json::Array settings;
  SmallVector<BudgetAttr> budgets;
  for (auto [i, alpha] : llvm::enumerate(alphas)) {
    double density = densities.size() == 1 ? densities[0] : densities[i];
    budgets.push_back(
        buildLayerEntry(b, loc, cfg, static_cast<int64_t>(i), alpha, density));
    settings.push_back(
        llvm::json::Object{{proteus_rt::kManifestSettingAlpha, alpha},
                           {proteus_rt::kManifestSettingDensity, density}});
  }
  buildPrimitiveEntries(b, loc, cfg);
  buildTopAFuncs(b, loc, /*cInterface=*/true);
  proteus_rt::SettingList settingList;
  for (auto [i, alpha] : llvm::enumerate(alphas))
    settingList.emplace_back(alpha, densities.size() == 1 ? densities[0]
                                                          : densities[i]);
  addFingerprint(b, loc, *module,
                 proteus_rt::bundleFingerprint(config, settingList, -1));
  if (failed(mlir::verify(*module)))
    return fail("the generated program does not verify");

  std::string error;
  if (std::error_code ec = llvm::sys::fs::create_directories(outDir + "/cpu"))
    return fail("cannot create " + outDir + "/cpu: " + ec.message());
  auto dump = [&](StringRef stage) {
    if (dumpDir.empty())
      return;
    llvm::sys::fs::create_directories(dumpDir);
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    writeFile(dumpDir + "/" + stage + ".mlir", text, error);
  };
  dump("0-proteus");

  PassManager pm(&ctx);
  LowerToCPUOptions options;
  buildLowerToCPUPipeline(pm, options);
  if (failed(pm.run(*module)))
    return fail(
        "lowering to the LLVM dialect failed (see the diagnostics above)");
  dump("1-llvm");

  SmallVector<char> object;
  if (!emitHostObject(*module, object, error))
    return fail("object emission failed: " + error);
  SmallString<128> objPath;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("proteus-kernels", "o", objPath))
    return fail("cannot create a temporary file: " + ec.message());
  if (!writeFile(objPath, StringRef(object.data(), object.size()), error))
    return fail(error);
  std::string libPath = outDir + "/" + proteus_rt::kCpuLibrary;
  auto cc = llvm::sys::findProgramByName(linker);
  if (!cc)
    return fail("cannot find the linker driver '" + linker +
                "' on PATH (set --linker)");
  std::string ccPath = *cc;
  SmallVector<StringRef> ccArgs = {ccPath,  "-shared", "-o",
                                   libPath, objPath,   "-lm"};
  std::string ccError;
  int rc = llvm::sys::ExecuteAndWait(ccPath, ccArgs, std::nullopt, {}, 0, 0,
                                     &ccError);
  llvm::sys::fs::remove(objPath);
  if (rc != 0)
    return fail("linking " + libPath + " failed (" + ccPath + " exit " +
                llvm::Twine(rc) + ") " + ccError);

  auto lib = llvm::MemoryBuffer::getFile(libPath);
  if (!lib)
    return fail("cannot read back " + libPath);
  // The paths written; finishManifest records their checksums and sizes.
  llvm::json::Object files{{proteus_rt::kCpuLibrary, nullptr}};

  // PTX of the attention kernels, one module per setting, with the tiles of
  // the tuning database where it has them.
  std::string gpuNote;
  llvm::json::Array tileChoices;
  int64_t tunedCount = 0;
  if (gpuArch != "none") {
    if (std::string why = gpuAttentionUnsupported(cfg); !why.empty()) {
      gpuNote = "no PTX: " + why;
    } else {
      for (auto [i, budget] : llvm::enumerate(budgets)) {
        std::string skipped;
        AttentionModuleOptions options;
        options.topA = i == 0; // prt_gpu_top_a runs setting 0's kernels
        OwningOpRef<ModuleOp> gm =
            buildAttentionModule(&ctx, cfg, budget, options, skipped);
        if (!skipped.empty())
          gpuNote = "the in-kernel candidate rule is CPU-only for " + skipped;
        for (const TileChoice &c : applyTuningDatabase(
                 *gm, db ? &*db : nullptr, shapeClass.name, gpuArch)) {
          std::string tile;
          llvm::raw_string_ostream os(tile);
          os << c.tile;
          tunedCount += c.tuned;
          tileChoices.push_back(
              llvm::json::Object{{"setting", static_cast<int64_t>(i)},
                                 {"kernel", c.kernel},
                                 {"specialization", c.setting},
                                 {"tile", tile},
                                 {"source", c.tuned ? "database" : "default"},
                                 {"note", c.note}});
        }
        if (!dumpDir.empty()) {
          std::string text;
          llvm::raw_string_ostream os(text);
          gm->print(os);
          llvm::sys::fs::create_directories(dumpDir);
          writeFile(dumpDir + "/gpu-s" + llvm::Twine(i) + ".mlir", text, error);
        }
        PassManager gpm(&ctx);
        LowerToNVVMOptions nvvm;
        nvvm.chip = gpuArch;
        buildLowerToNVVMPipeline(gpm, nvvm);
        if (failed(gpm.run(*gm)))
          return fail(
              "lowering the attention kernels to PTX failed (see above)");
        std::string ptx = extractPTX(*gm);
        if (ptx.empty())
          return fail("the NVVM pipeline produced no PTX");
        ptx +=
            proteus_rt::ptxFingerprintDirective(proteus_rt::bundleFingerprint(
                config, settingList, static_cast<int64_t>(i)));
        std::string rel = proteus_rt::ptxFile(gpuArch, static_cast<int64_t>(i));
        llvm::sys::fs::create_directories(
            llvm::sys::path::parent_path(outDir + "/" + rel));
        if (!writeFile(outDir + "/" + rel, ptx, error))
          return fail(error);
        files[rel] = nullptr;
      }
    }
  }
  auto configJson = llvm::json::parse(proteus_rt::configToJson(config));
  if (!configJson)
    return fail("internal error: the configuration does not serialise");
  llvm::json::Object manifest{
      {proteus_rt::kManifestFormatVersion, proteus_rt::kBundleFormatVersion},
      {"generator", "proteus-compile"},
      {proteus_rt::kManifestConfig, std::move(*configJson)},
      {proteus_rt::kManifestSettings, std::move(settings)},
      {proteus_rt::kManifestFiles, std::move(files)},
      {proteus_rt::kManifestCpuTarget, "x86_64-unknown-linux-gnu"}};
  if (!gpuNote.empty())
    manifest[proteus_rt::kManifestGpuNote] = gpuNote;
  if (gpuArch != "none")
    manifest[proteus_rt::kManifestGpuLayer] =
        gpuAttentionUnsupported(cfg).empty() &&
        gpuLayerUnsupported(cfg).empty();
  // Informational (the runtime ignores it): where each kernel's tile came
  // from, and why the others took the default.
  std::string tuningNote;
  if (gpuArch != "none" && !tileChoices.empty()) {
    int64_t total = static_cast<int64_t>(tileChoices.size());
    if (!db)
      tuningNote = dbWhere + ": the " + std::to_string(total) +
                   " attention kernels take their default tiles";
    else
      tuningNote =
          std::to_string(tunedCount) + " of " + std::to_string(total) +
          " attention kernels tuned from " + dbWhere + " (shape class " +
          shapeClass.name + ")" +
          (tunedCount < total ? "; the others take their default tiles "
                                "(kernels[].note says why)"
                              : "");
    manifest["tuning"] =
        llvm::json::Object{{"database", db ? llvm::json::Value(dbWhere)
                                           : llvm::json::Value(nullptr)},
                           {"shape_class", shapeClass.name},
                           {"compiler", getTuningCompilerVersion()},
                           {"note", tuningNote},
                           {"kernels", std::move(tileChoices)}};
  }
  std::string manifestText;
  llvm::raw_string_ostream ms(manifestText);
  ms << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest))) << "\n";
  if (!proteus_rt::finishManifest(outDir, manifestText, error))
    return fail(error);
  if (!writeFile(outDir + "/" + proteus_rt::kManifestFile, manifestText, error))
    return fail(error);
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  llvm::outs() << "proteus-compile: wrote " << outDir << " (" << alphas.size()
               << " setting(s), CPU library " << (*lib)->getBufferSize()
               << " bytes"
               << (gpuArch != "none" && gpuNote.rfind("no PTX", 0) != 0
                       ? ", PTX for " + gpuArch.getValue()
                       : std::string())
               << ") in " << llvm::format("%.2f", secs) << " s\n";
  if (!gpuNote.empty())
    llvm::outs() << "proteus-compile: note: " << gpuNote << "\n";
  if (!tuningNote.empty())
    llvm::outs() << "proteus-compile: tuning: " << tuningNote << "\n";
  return 0;
}
