//===- TuningDbTest.cpp - Shape classes, tuning bundle, database, journal -===//

#include "proteus/Autotune/TuningDb.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>

using namespace proteus_tune;

namespace {

/// A fresh folder per test, removed afterwards.
class TempDir {
public:
  TempDir() {
    char tmpl[] = "/tmp/proteus-tune-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

std::string slurp(const std::string &path) {
  std::ifstream in(path);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

void spit(const std::string &path, const std::string &text) {
  std::ofstream(path) << text;
}

Tile tile(int64_t lanes, int64_t unroll, int64_t vector) {
  Tile t;
  t.block_m = 4;
  t.block_n = 32 / lanes * unroll;
  t.lanes = lanes;
  t.unroll = unroll;
  t.vector = vector;
  return t;
}

Entry entry(const std::string &cls, const std::string &device, double ms) {
  Entry e;
  e.kernel = "proteus_shortlist_attention_bf16";
  e.setting = "d=16 stride=256";
  e.shapeClass = cls;
  e.arch = "sm_90";
  e.compiler = "proteus-kernels-1 llvm-22";
  e.device = device;
  e.driver = 13000;
  e.best = {tile(1, 2, 8), ms};
  e.defaults = {tile(2, 1, 1), 2 * ms};
  e.measured = 40;
  e.rejected = 1;
  e.B = 1;
  e.T = 131072;
  e.R = 32;
  e.N = 52000;
  e.measuredAt = "2026-11-28T00:00:00Z";
  return e;
}

//===----------------------------------------------------------------------===//
// Shape classes
//===----------------------------------------------------------------------===//

TEST(ShapeClasses, SplitTAndBAtTheirBounds) {
  EXPECT_EQ(classifyShape(1, 1).name, "t0.b1");
  EXPECT_EQ(classifyShape(4095, 1).name, "t0.b1");
  EXPECT_EQ(classifyShape(4096, 1).name, "t4k.b1");
  EXPECT_EQ(classifyShape(32767, 1).name, "t4k.b1");
  EXPECT_EQ(classifyShape(32768, 1).name, "t32k.b1");
  EXPECT_EQ(classifyShape(int64_t(1) << 40, 1).name, "t32k.b1");
  EXPECT_EQ(classifyShape(2048, 2).name, "t0.b2");
  EXPECT_EQ(classifyShape(16384, 4).name, "t4k.b2");
  EXPECT_EQ(classifyShape(524288, 64).name, "t32k.b2");
}

TEST(ShapeClasses, EachMeasureShapeFallsInItsClass) {
  std::set<std::string> names;
  for (const ShapeClass &c : shapeClasses()) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_EQ(classifyShape(c.measureT, c.measureB).name, c.name);
    EXPECT_EQ(findShapeClass(c.name), &c);
  }
  EXPECT_EQ(names.size(), 6u);
  EXPECT_EQ(findShapeClass("t1k.b1"), nullptr);
}

TEST(Tile, PrintsLikeTheAttribute) {
  EXPECT_EQ(toString(Tile()), "#proteus.tile<>");
  EXPECT_EQ(toString(tile(2, 1, 1)),
            "#proteus.tile<block_m = 4, block_n = 16, lanes = 2>");
  Tile t;
  t.block_n = 32;
  t.stages = 2;
  t.vector = 8;
  t.pad = 8;
  EXPECT_EQ(toString(t),
            "#proteus.tile<block_n = 32, stages = 2, vector = 8, pad = 8>");
  EXPECT_NE(t, Tile());
  EXPECT_EQ(t, t);
}

//===----------------------------------------------------------------------===//
// The database
//===----------------------------------------------------------------------===//

TEST(Database, RoundTripsThroughAFileInANewFolder) {
  TempDir dir;
  Database db;
  db.put(entry("t32k.b1", "NVIDIA H100 80GB HBM3", 1.5));
  Entry second = entry("t4k.b1", "NVIDIA H100 80GB HBM3", 0.25);
  second.runnerUp = Measured{tile(2, 2, 8), 0.26};
  db.put(second);
  const std::string path = dir.path() + "/a/b/tuning.json";
  std::string error;
  ASSERT_TRUE(db.save(path, error)) << error;
  Database back;
  ASSERT_TRUE(Database::load(path, back, error)) << error;
  ASSERT_EQ(back.entries.size(), 2u);
  const Entry &e = back.entries[1];
  EXPECT_EQ(e.kernel, second.kernel);
  EXPECT_EQ(e.setting, second.setting);
  EXPECT_EQ(e.shapeClass, "t4k.b1");
  EXPECT_EQ(e.device, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(e.driver, 13000);
  EXPECT_EQ(e.best.tile, tile(1, 2, 8));
  EXPECT_DOUBLE_EQ(e.best.ms, 0.25);
  ASSERT_TRUE(e.runnerUp.has_value());
  EXPECT_EQ(e.runnerUp->tile, tile(2, 2, 8));
  EXPECT_DOUBLE_EQ(e.defaults.ms, 0.5);
  EXPECT_EQ(e.T, 131072);
  EXPECT_EQ(e.N, 52000);
  EXPECT_FALSE(back.entries[0].runnerUp.has_value());
  // No temporary file is left beside it.
  EXPECT_EQ(std::system(("test -z \"$(ls '" + dir.path() +
                         "/a/b' | grep -v '^tuning.json$')\"")
                            .c_str()),
            0);
}

TEST(Database, FindsTheLastEntryOfAKeyOnAnyDevice) {
  Database db;
  db.put(entry("t32k.b1", "NVIDIA H100 80GB HBM3", 1.5));
  db.put(entry("t32k.b1", "NVIDIA H200", 1.2));
  const Entry *e =
      db.find("proteus_shortlist_attention_bf16", "d=16 stride=256", "t32k.b1",
              "sm_90", "proteus-kernels-1 llvm-22");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->device, "NVIDIA H200");
  EXPECT_EQ(db.find("proteus_shortlist_attention_bf16", "d=16 stride=256",
                    "t4k.b1", "sm_90", "proteus-kernels-1 llvm-22"),
            nullptr);
  EXPECT_EQ(db.find("proteus_shortlist_attention_bf16", "d=16 stride=256",
                    "t32k.b1", "sm_90", "proteus-kernels-2 llvm-22"),
            nullptr);
  EXPECT_EQ(db.find("proteus_shortlist_attention_bf16", "d=16 stride=256",
                    "t32k.b1", "sm_100", "proteus-kernels-1 llvm-22"),
            nullptr);
}

TEST(Database, PutReplacesTheSameKeyAndDevice) {
  Database db;
  db.put(entry("t32k.b1", "NVIDIA H100 80GB HBM3", 1.5));
  db.put(entry("t32k.b1", "NVIDIA H100 80GB HBM3", 1.4));
  db.put(entry("t4k.b1", "NVIDIA H100 80GB HBM3", 0.3));
  ASSERT_EQ(db.entries.size(), 2u);
  EXPECT_DOUBLE_EQ(db.entries[0].best.ms, 1.4);
}

TEST(Database, ExplainsAMiss) {
  Database db;
  db.put(entry("t4k.b1", "NVIDIA H100 80GB HBM3", 0.3));
  Entry old = entry("t32k.b1", "NVIDIA H100 80GB HBM3", 1.0);
  old.compiler = "proteus-kernels-0 llvm-21";
  db.put(old);
  EXPECT_EQ(db.explainMiss("proteus_shortlist_attention_bf16",
                           "d=16 stride=256", "t32k.b1", "sm_90",
                           "proteus-kernels-1 llvm-22"),
            "no entry for class t32k.b1 on sm_90 (entries of this kernel and "
            "setting have class t4k.b1; compiler 'proteus-kernels-0 "
            "llvm-21')");
  EXPECT_EQ(db.explainMiss("proteus_dense_attention_bf16", "d=64", "t32k.b1",
                           "sm_90", "proteus-kernels-1 llvm-22"),
            "no entry for class t32k.b1 on sm_90");
}

TEST(Database, SaysWhatIsWrongWithAFile) {
  TempDir dir;
  const std::string path = dir.path() + "/db.json";
  Database db;
  std::string error;
  EXPECT_FALSE(Database::load(dir.path() + "/absent.json", db, error));
  EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
  spit(path, "{");
  EXPECT_FALSE(Database::load(path, db, error));
  EXPECT_NE(error.find("not valid JSON"), std::string::npos) << error;
  spit(path, R"({"format_version": 2, "entries": []})");
  EXPECT_FALSE(Database::load(path, db, error));
  EXPECT_NE(error.find("format_version is 2, this reads 1"), std::string::npos)
      << error;
  spit(path, R"({"format_version": 1, "entries": [{"kernel": 3}]})");
  EXPECT_FALSE(Database::load(path, db, error));
  EXPECT_NE(error.find("entries[0].kernel: must be a string, found 3"),
            std::string::npos)
      << error;
  spit(path, R"({"format_version": 1, "entries": []})");
  EXPECT_TRUE(Database::load(path, db, error)) << error;
  EXPECT_TRUE(db.entries.empty());
}

TEST(Database, DefaultPathFollowsTheRuntimesCacheFolder) {
  auto keep = [](const char *name) {
    const char *v = std::getenv(name);
    return std::make_pair(std::string(name),
                          v ? std::optional<std::string>(v) : std::nullopt);
  };
  auto saved = {keep("PROTEUS_TUNING_DB"), keep("PROTEUS_CACHE_DIR"),
                keep("XDG_CACHE_HOME"), keep("HOME")};
  std::string why;
  ::setenv("PROTEUS_TUNING_DB", "/x/db.json", 1);
  ::setenv("PROTEUS_CACHE_DIR", "/cache", 1);
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(defaultDatabasePath(why), "/x/db.json");
  ::unsetenv("PROTEUS_TUNING_DB");
  EXPECT_EQ(defaultDatabasePath(why), "/cache/tuning.json");
  ::unsetenv("PROTEUS_CACHE_DIR");
  EXPECT_EQ(defaultDatabasePath(why), "/xdg/proteus/tuning.json");
  ::setenv("XDG_CACHE_HOME", "relative", 1); // ignored, as XDG says
  EXPECT_EQ(defaultDatabasePath(why), "/home/u/.cache/proteus/tuning.json");
  for (const auto &[name, value] : saved) {
    if (value)
      ::setenv(name.c_str(), value->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
}

//===----------------------------------------------------------------------===//
// The tuning bundle
//===----------------------------------------------------------------------===//

TuningBundle bundle() {
  TuningBundle b;
  b.compiler = "proteus-kernels-1 llvm-22";
  b.arch = "sm_90";
  b.config = R"({"d_model": 512, "h_total": 32})";
  KernelVariants k;
  k.kernel = "proteus_shortlist_attention_bf16";
  k.setting = "d=16 stride=256";
  k.role = "shortlist";
  k.dtype = "bf16";
  k.headDim = 16;
  k.heads = 32;
  k.defaultId = "v0";
  k.variants = {{"v0", tile(2, 1, 1), "k0/v0", 40, 0, 0},
                {"v1", tile(1, 2, 8), "k0/v1", 60, 0, 0}};
  k.pruned = {{tile(32, 1, 1), "lanes (32) must divide the head dim (16)"}};
  k.classes = {"t4k.b1", "t32k.b1"};
  b.kernels.push_back(k);
  return b;
}

TEST(TuningBundle, RoundTrips) {
  TempDir dir;
  std::string error;
  ASSERT_TRUE(bundle().save(dir.path(), error)) << error;
  TuningBundle back;
  ASSERT_TRUE(TuningBundle::load(dir.path(), back, error)) << error;
  EXPECT_EQ(back.compiler, "proteus-kernels-1 llvm-22");
  EXPECT_EQ(back.arch, "sm_90");
  EXPECT_NE(back.config.find("\"h_total\":32"), std::string::npos)
      << back.config;
  ASSERT_EQ(back.kernels.size(), 1u);
  const KernelVariants &k = back.kernels[0];
  EXPECT_EQ(k.role, "shortlist");
  EXPECT_EQ(k.heads, 32);
  ASSERT_EQ(k.variants.size(), 2u);
  EXPECT_EQ(k.variants[1].tile, tile(1, 2, 8));
  EXPECT_EQ(k.variants[1].registers, 60);
  ASSERT_EQ(k.pruned.size(), 1u);
  EXPECT_EQ(k.pruned[0].why, "lanes (32) must divide the head dim (16)");
  EXPECT_EQ(k.classes, (std::vector<std::string>{"t4k.b1", "t32k.b1"}));
}

TEST(TuningBundle, RefusesWhatMeasureCannotRun) {
  TempDir dir;
  std::string error;
  auto refused = [&](TuningBundle b, const std::string &why) {
    ASSERT_TRUE(b.save(dir.path(), error)) << error;
    TuningBundle back;
    EXPECT_FALSE(TuningBundle::load(dir.path(), back, error));
    EXPECT_NE(error.find(why), std::string::npos) << error;
  };
  TuningBundle b = bundle();
  b.kernels[0].role = "listed";
  refused(b, "kernels[0].role: must be \"shortlist\" or \"dense\"");
  b = bundle();
  b.kernels[0].defaultId = "v9";
  refused(b, "kernels[0].default: names no variant ('v9')");
  b = bundle();
  b.kernels[0].classes = {"t1.b1"};
  refused(b, "kernels[0].classes: names no shape class: \"t1.b1\"");
  TuningBundle none;
  EXPECT_FALSE(TuningBundle::load(dir.path() + "/nothing", none, error));
  EXPECT_NE(error.find("tune.json"), std::string::npos) << error;
}

//===----------------------------------------------------------------------===//
// The journal
//===----------------------------------------------------------------------===//

JournalRecord record(const std::string &variant, double ms) {
  JournalRecord r;
  r.group = groupKey("k", "s", "t0.b1", "sm_90", "c");
  r.variant = variant;
  r.device = "NVIDIA H100 80GB HBM3";
  r.driver = 13000;
  r.status = "ok";
  r.ms = ms;
  r.minMs = ms * 0.9;
  r.note = "host 4.0 us/call";
  return r;
}

TEST(Journal, AppendsAndReadsBack) {
  TempDir dir;
  const std::string path = dir.path() + "/sub/db.json.journal";
  std::string error;
  {
    Journal j;
    ASSERT_TRUE(j.open(path, error)) << error;
    EXPECT_TRUE(j.records().empty());
    ASSERT_TRUE(j.append(record("v0", 1.0), error)) << error;
    ASSERT_TRUE(j.append(record("v1", 0.5), error)) << error;
  }
  Journal j;
  ASSERT_TRUE(j.open(path, error)) << error;
  ASSERT_EQ(j.records().size(), 2u);
  const JournalRecord *r =
      j.find(record("v1", 0).group, "v1", "NVIDIA H100 80GB HBM3", 13000);
  ASSERT_NE(r, nullptr);
  EXPECT_DOUBLE_EQ(r->ms, 0.5);
  EXPECT_EQ(r->note, "host 4.0 us/call");
  // Another device or driver measured nothing here.
  EXPECT_EQ(j.find(r->group, "v1", "NVIDIA H200", 13000), nullptr);
  EXPECT_EQ(j.find(r->group, "v1", "NVIDIA H100 80GB HBM3", 12080), nullptr);
}

TEST(Journal, DropsATornLastLineAndGoesOnBelowIt) {
  TempDir dir;
  const std::string path = dir.path() + "/j";
  spit(path,
       formatJournalLine(record("v0", 1.0)) + "\n" + "{\"group\": \"k | s");
  Journal j;
  std::string error;
  ASSERT_TRUE(j.open(path, error)) << error;
  EXPECT_EQ(j.records().size(), 1u);
  ASSERT_TRUE(j.append(record("v1", 0.5), error)) << error;
  Journal again;
  ASSERT_TRUE(again.open(path, error)) << error;
  ASSERT_EQ(again.records().size(), 2u);
  EXPECT_EQ(again.records()[1].variant, "v1");
  // The torn line stays, on a line of its own.
  EXPECT_NE(slurp(path).find("{\"group\": \"k | s\n{"), std::string::npos);
}

TEST(Journal, LinesRoundTrip) {
  JournalRecord r = record("v3", 0.125);
  r.status = "mismatch";
  r.maxError = 0.5;
  std::optional<JournalRecord> back = parseJournalLine(formatJournalLine(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->group, r.group);
  EXPECT_EQ(back->status, "mismatch");
  EXPECT_DOUBLE_EQ(back->maxError, 0.5);
  EXPECT_FALSE(parseJournalLine("").has_value());
  EXPECT_FALSE(parseJournalLine("{\"group\": 1}").has_value());
  EXPECT_EQ(groupKey("k", "s", "c", "a", "v"), "k | s | c | a | v");
}

} // namespace
