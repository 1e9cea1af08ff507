//===- TuningDb.h - Tuning bundles, shape classes, the database -*- C++ -*-===//
//
// The files the autotuner's two steps exchange, and the shape classes they
// share. `proteus-tune generate` (compiler side) writes a tuning bundle;
// `proteus-tune-measure` (runtime side, on the GPU) times its variants and
// writes the tuning database, which proteus-compile reads. Plain C++ and
// nlohmann-json: the measuring side links no LLVM.
//
// Tuning bundle: a folder with tune.json (TuningBundle) and one small kernel
// bundle per variant (<kernel dir>/<variant id>/manifest.json + PTX of setting
// 0), which the runtime opens like any bundle.
// Database: one JSON object {"format_version": 1, "entries": [Entry...]}.
// Journal: JSON lines, one per measured variant, appended as measure goes, so
// that an interrupted run continues where it stopped.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_AUTOTUNE_TUNINGDB_H
#define PROTEUS_AUTOTUNE_TUNINGDB_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace proteus_tune {

inline constexpr int64_t kTuningFormatVersion = 1;
inline constexpr const char *kTuningBundleFile = "tune.json";
inline constexpr const char *kDatabaseFileName = "tuning.json";

//===----------------------------------------------------------------------===//
// Shape classes
//===----------------------------------------------------------------------===//

/// Sequence lengths and batch sizes that share one kernel configuration: the
/// PTX of a variant does not depend on T, so it is compiled once and measured
/// at one representative shape per class.
struct ShapeClass {
  std::string name;           ///< e.g. "t4k-32k.b1"
  int64_t tMin, tEnd;         ///< T in [tMin, tEnd); tEnd = 0: unbounded
  int64_t bMin, bEnd;         ///< B in [bMin, bEnd); bEnd = 0: unbounded
  int64_t measureT, measureB; ///< the shape measure runs
};

/// Every class, in order: T < 4K, 4K <= T < 32K, T >= 32K, each for B = 1 and
/// B >= 2.
const std::vector<ShapeClass> &shapeClasses();
/// The class of (T, B), T, B >= 1.
const ShapeClass &classifyShape(int64_t T, int64_t B);
/// The class named `name`, or null.
const ShapeClass *findShapeClass(const std::string &name);

//===----------------------------------------------------------------------===//
// Tiles and the tuning bundle
//===----------------------------------------------------------------------===//

/// The fields of #proteus.tile (ProteusAttrs.td), with its defaults.
struct Tile {
  int64_t block_m = 64, block_n = 64, warps = 4, stages = 1, lanes = 1,
          unroll = 1, vector = 1, pad = 0;
  bool operator==(const Tile &o) const;
  bool operator!=(const Tile &o) const { return !(*this == o); }
};
/// As the attribute prints: "#proteus.tile<block_m = 4, block_n = 16,
/// lanes = 2>" (the fields that differ from the defaults).
std::string toString(const Tile &tile);

/// One compiled variant: its tile, its kernel bundle folder (relative to the
/// tuning bundle) and what ptxas reported (-1: not run).
struct Variant {
  std::string id;
  Tile tile;
  std::string dir;
  int64_t registers = -1, spillBytes = -1, sharedBytes = -1;
};

/// A tile of the search space dropped before measurement, and why.
struct PrunedVariant {
  Tile tile;
  std::string why;
};

/// The variants of one kernel of one setting.
struct KernelVariants {
  std::string kernel;  ///< e.g. "proteus_shortlist_attention_bf16"
  std::string setting; ///< its specialization, e.g. "d=16 stride=256 ..."
  std::string role;    ///< "shortlist" (rule form) or "dense"
  std::string dtype;   ///< "f32", "bf16" or "f16"
  int64_t headDim = 0, heads = 0;
  double alpha = 1.0, density = 1.0;
  std::string defaultId; ///< the variant with the kernel's default tile
  std::vector<Variant> variants;
  std::vector<PrunedVariant> pruned;
  std::vector<std::string> classes; ///< shape classes to measure
};

/// tune.json.
struct TuningBundle {
  std::string compiler; ///< getTuningCompilerVersion() of the generator
  std::string arch;     ///< e.g. "sm_90"
  std::string config;   ///< the layer configuration (golden key names)
  std::vector<KernelVariants> kernels;

  /// Reads <dir>/tune.json; false with the reason in `error`.
  static bool load(const std::string &dir, TuningBundle &bundle,
                   std::string &error);
  bool save(const std::string &dir, std::string &error) const;
};

//===----------------------------------------------------------------------===//
// The database
//===----------------------------------------------------------------------===//

struct Measured {
  Tile tile;
  double ms = 0.0; ///< median per call
};

/// The best configuration of one kernel, setting, shape class and machine.
struct Entry {
  // The key.
  std::string kernel, setting, shapeClass, arch, compiler;
  // The machine it was measured on.
  std::string device;
  int64_t driver = 0;
  // The result.
  Measured best;
  std::optional<Measured> runnerUp;
  Measured defaults;                  ///< the kernel's default tile, same run
  int64_t measured = 0, rejected = 0; ///< variants timed / failing checks
  // The shape it was measured at.
  int64_t B = 0, T = 0, R = 0, N = 0;
  std::string measuredAt; ///< UTC, ISO 8601
};

struct Database {
  std::vector<Entry> entries;

  /// Reads `path`; false with the reason in `error`.
  static bool load(const std::string &path, Database &db, std::string &error);
  /// Writes `path` atomically (a temporary file renamed over it), creating
  /// its folder.
  bool save(const std::string &path, std::string &error) const;

  /// The entry for the key, measured on any device (the last one added wins);
  /// null when there is none.
  const Entry *find(const std::string &kernel, const std::string &setting,
                    const std::string &shapeClass, const std::string &arch,
                    const std::string &compiler) const;
  /// Why find() has nothing: the entries of the kernel and setting that
  /// exist for other classes, archs or compilers, in words.
  std::string explainMiss(const std::string &kernel, const std::string &setting,
                          const std::string &shapeClass,
                          const std::string &arch,
                          const std::string &compiler) const;
  /// Adds `entry`, replacing one with the same key and device.
  void put(const Entry &entry);
};

/// Where proteus-compile looks when not told (the runtime's cache folder
/// convention): $PROTEUS_TUNING_DB, else $PROTEUS_CACHE_DIR/tuning.json, else
/// $XDG_CACHE_HOME/proteus/tuning.json, else ~/.cache/proteus/tuning.json;
/// "" with the reason in `why` when none applies.
std::string defaultDatabasePath(std::string &why);

//===----------------------------------------------------------------------===//
// The journal
//===----------------------------------------------------------------------===//

/// One measured variant of one group (kernel, setting, class, arch,
/// compiler).
struct JournalRecord {
  std::string group, variant, device;
  int64_t driver = 0;
  std::string status; ///< "ok", "mismatch" or "error"
  double ms = 0.0, minMs = 0.0, maxError = 0.0;
  std::string note;
};

/// The key of a group in the journal.
std::string groupKey(const std::string &kernel, const std::string &setting,
                     const std::string &shapeClass, const std::string &arch,
                     const std::string &compiler);

class Journal {
public:
  /// Reads the records of `path` (a torn last line, from a run that was
  /// killed, is dropped), then keeps it open for appending.
  bool open(const std::string &path, std::string &error);
  /// The record of `variant` in `group` on this device and driver, or null.
  const JournalRecord *find(const std::string &group,
                            const std::string &variant,
                            const std::string &device, int64_t driver) const;
  /// Appends one line and flushes it to the file.
  bool append(const JournalRecord &record, std::string &error);
  const std::vector<JournalRecord> &records() const { return records_; }

private:
  std::string path_;
  std::vector<JournalRecord> records_;
};

/// A record of `line`, or nullopt for a line that is not one.
std::optional<JournalRecord> parseJournalLine(const std::string &line);
std::string formatJournalLine(const JournalRecord &record);

} // namespace proteus_tune

#endif // PROTEUS_AUTOTUNE_TUNINGDB_H
