//===- TuningDb.cpp - Tuning bundles, shape classes, the database ---------===//

#include "proteus/Autotune/TuningDb.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <pwd.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using nlohmann::json;
/// What is written keeps its keys in the order given (easier to read).
using ordered = nlohmann::ordered_json;

namespace proteus_tune {

//===----------------------------------------------------------------------===//
// Shape classes
//===----------------------------------------------------------------------===//

const std::vector<ShapeClass> &shapeClasses() {
  // Measured at the middle of each T range (the long range at 128K), B = 1
  // or 4 (2 at long T).
  static const std::vector<ShapeClass> classes = {
      {"t0.b1", 1, 4096, 1, 2, 2048, 1},
      {"t4k.b1", 4096, 32768, 1, 2, 16384, 1},
      {"t32k.b1", 32768, 0, 1, 2, 131072, 1},
      {"t0.b2", 1, 4096, 2, 0, 2048, 4},
      {"t4k.b2", 4096, 32768, 2, 0, 16384, 4},
      {"t32k.b2", 32768, 0, 2, 0, 131072, 2},
  };
  return classes;
}

const ShapeClass &classifyShape(int64_t T, int64_t B) {
  for (const ShapeClass &c : shapeClasses())
    if (T >= c.tMin && (c.tEnd == 0 || T < c.tEnd) && B >= c.bMin &&
        (c.bEnd == 0 || B < c.bEnd))
      return c;
  return shapeClasses().front();
}

const ShapeClass *findShapeClass(const std::string &name) {
  for (const ShapeClass &c : shapeClasses())
    if (c.name == name)
      return &c;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

bool Tile::operator==(const Tile &o) const {
  return block_m == o.block_m && block_n == o.block_n && warps == o.warps &&
         stages == o.stages && lanes == o.lanes && unroll == o.unroll &&
         vector == o.vector && pad == o.pad;
}

std::string toString(const Tile &t) {
  // As the attribute prints: the fields that differ from the defaults.
  const Tile d;
  std::ostringstream os;
  const char *sep = "";
  auto field = [&](const char *name, int64_t v, int64_t dv) {
    if (v == dv)
      return;
    os << sep << name << " = " << v;
    sep = ", ";
  };
  os << "#proteus.tile<";
  field("block_m", t.block_m, d.block_m);
  field("block_n", t.block_n, d.block_n);
  field("warps", t.warps, d.warps);
  field("stages", t.stages, d.stages);
  field("lanes", t.lanes, d.lanes);
  field("unroll", t.unroll, d.unroll);
  field("vector", t.vector, d.vector);
  field("pad", t.pad, d.pad);
  os << ">";
  return os.str();
}

namespace {

/// Thrown by the readers below with the path of the bad value.
struct FormatError {
  std::string what;
};

[[noreturn]] void bad(const std::string &where, const std::string &what) {
  throw FormatError{where + ": " + what};
}

const json &member(const json &o, const char *key, const std::string &where) {
  if (!o.is_object())
    bad(where, "must be an object, found " + std::string(o.type_name()));
  auto it = o.find(key);
  if (it == o.end())
    bad(where, std::string("missing key '") + key + "'");
  return *it;
}

std::string getString(const json &o, const char *key,
                      const std::string &where) {
  const json &v = member(o, key, where);
  if (!v.is_string())
    bad(where + "." + key, "must be a string, found " + v.dump());
  return v.get<std::string>();
}

int64_t getInt(const json &o, const char *key, const std::string &where) {
  const json &v = member(o, key, where);
  if (!v.is_number_integer())
    bad(where + "." + key, "must be an integer, found " + v.dump());
  return v.get<int64_t>();
}

double getNumber(const json &o, const char *key, const std::string &where) {
  const json &v = member(o, key, where);
  if (!v.is_number())
    bad(where + "." + key, "must be a number, found " + v.dump());
  return v.get<double>();
}

const json &getArray(const json &o, const char *key, const std::string &where) {
  const json &v = member(o, key, where);
  if (!v.is_array())
    bad(where + "." + key, "must be an array, found " + v.dump());
  return v;
}

ordered tileJson(const Tile &t) {
  return {{"block_m", t.block_m}, {"block_n", t.block_n}, {"warps", t.warps},
          {"stages", t.stages},   {"lanes", t.lanes},     {"unroll", t.unroll},
          {"vector", t.vector},   {"pad", t.pad}};
}

Tile readTile(const json &o, const std::string &where) {
  Tile t;
  t.block_m = getInt(o, "block_m", where);
  t.block_n = getInt(o, "block_n", where);
  t.warps = getInt(o, "warps", where);
  t.stages = getInt(o, "stages", where);
  t.lanes = getInt(o, "lanes", where);
  t.unroll = getInt(o, "unroll", where);
  t.vector = getInt(o, "vector", where);
  t.pad = getInt(o, "pad", where);
  return t;
}

ordered measuredJson(const Measured &m) {
  return {{"tile", tileJson(m.tile)}, {"ms", m.ms}};
}

Measured readMeasured(const json &o, const std::string &where) {
  return {readTile(member(o, "tile", where), where + ".tile"),
          getNumber(o, "ms", where)};
}

void checkFormat(const json &doc, const std::string &where) {
  int64_t v = getInt(doc, "format_version", where);
  if (v != kTuningFormatVersion)
    bad(where, "format_version is " + std::to_string(v) + ", this reads " +
                   std::to_string(kTuningFormatVersion));
}

/// The largest tuning file read.
constexpr off_t kMaxTuningFileBytes = off_t(256) << 20;

/// A regular file of bounded size, opened without blocking and checked on
/// the same descriptor (a FIFO or a device is refused, never read).
bool readText(const std::string &path, std::string &text, std::string &error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st;
  std::string why;
  bool ok = ::fstat(fd, &st) == 0;
  if (!ok || !S_ISREG(st.st_mode))
    why = path + " is not a regular file";
  else if (st.st_size > kMaxTuningFileBytes)
    why = path + " is " + std::to_string(st.st_size) +
          " bytes, more than the " + std::to_string(kMaxTuningFileBytes) +
          " allowed";
  else {
    text.assign(static_cast<size_t>(st.st_size), '\0');
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::read(fd, &text[done], text.size() - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      done += static_cast<size_t>(n);
    }
    text.resize(done);
  }
  ::close(fd);
  if (!why.empty())
    error = why;
  return why.empty();
}

/// mkdir -p.
bool makeDirs(const std::string &dir, std::string &error) {
  std::string partial;
  std::stringstream ss(dir);
  std::string part;
  if (!dir.empty() && dir.front() == '/')
    partial = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty())
      continue;
    partial += part + "/";
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      error = "cannot create " + partial + ": " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

/// Writes `text` to `path` through a temporary file renamed over it.
bool writeAtomically(const std::string &path, const std::string &text,
                     std::string &error) {
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0 &&
      !makeDirs(path.substr(0, slash), error))
    return false;
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      error = "cannot write " + tmp + ": " + std::strerror(errno);
      std::remove(tmp.c_str());
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error =
        "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

/// Parses `text` as JSON and hands it to `read`, turning every failure into
/// `error` prefixed by `path`.
template <typename F>
bool parseWith(const std::string &path, const std::string &text,
               std::string &error, F read) {
  try {
    read(json::parse(text));
    return true;
  } catch (const json::exception &e) {
    error = path + ": not valid JSON: " + e.what();
  } catch (const FormatError &e) {
    error = path + ": " + e.what;
  }
  return false;
}

} // namespace

//===----------------------------------------------------------------------===//
// The tuning bundle
//===----------------------------------------------------------------------===//

bool TuningBundle::load(const std::string &dir, TuningBundle &bundle,
                        std::string &error) {
  const std::string path = dir + "/" + kTuningBundleFile;
  std::string text;
  if (!readText(path, text, error))
    return false;
  return parseWith(path, text, error, [&](const json &doc) {
    checkFormat(doc, "tune.json");
    bundle = TuningBundle();
    bundle.compiler = getString(doc, "compiler", "tune.json");
    bundle.arch = getString(doc, "arch", "tune.json");
    const json &config = member(doc, "config", "tune.json");
    if (!config.is_object())
      bad("tune.json.config", "must be an object");
    bundle.config = config.dump();
    const json &kernels = getArray(doc, "kernels", "tune.json");
    for (size_t i = 0; i < kernels.size(); ++i) {
      const std::string w = "kernels[" + std::to_string(i) + "]";
      const json &k = kernels[i];
      KernelVariants kv;
      kv.kernel = getString(k, "kernel", w);
      kv.setting = getString(k, "setting", w);
      kv.role = getString(k, "role", w);
      if (kv.role != "shortlist" && kv.role != "dense")
        bad(w + ".role",
            "must be \"shortlist\" or \"dense\", found \"" + kv.role + "\"");
      kv.dtype = getString(k, "dtype", w);
      kv.headDim = getInt(k, "head_dim", w);
      kv.heads = getInt(k, "heads", w);
      kv.alpha = getNumber(k, "alpha", w);
      kv.density = getNumber(k, "density", w);
      kv.defaultId = getString(k, "default", w);
      const json &vs = getArray(k, "variants", w);
      bool hasDefault = false;
      for (size_t j = 0; j < vs.size(); ++j) {
        const std::string wv = w + ".variants[" + std::to_string(j) + "]";
        Variant v;
        v.id = getString(vs[j], "id", wv);
        v.tile = readTile(member(vs[j], "tile", wv), wv + ".tile");
        v.dir = getString(vs[j], "dir", wv);
        v.registers = getInt(vs[j], "registers", wv);
        v.spillBytes = getInt(vs[j], "spill_bytes", wv);
        v.sharedBytes = getInt(vs[j], "shared_bytes", wv);
        hasDefault |= v.id == kv.defaultId;
        kv.variants.push_back(v);
      }
      if (!hasDefault)
        bad(w + ".default", "names no variant ('" + kv.defaultId + "')");
      const json &pruned = getArray(k, "pruned", w);
      for (size_t j = 0; j < pruned.size(); ++j) {
        const std::string wp = w + ".pruned[" + std::to_string(j) + "]";
        kv.pruned.push_back(
            {readTile(member(pruned[j], "tile", wp), wp + ".tile"),
             getString(pruned[j], "why", wp)});
      }
      const json &classes = getArray(k, "classes", w);
      for (const json &c : classes) {
        if (!c.is_string() || !findShapeClass(c.get<std::string>()))
          bad(w + ".classes", "names no shape class: " + c.dump());
        kv.classes.push_back(c.get<std::string>());
      }
      bundle.kernels.push_back(std::move(kv));
    }
  });
}

bool TuningBundle::save(const std::string &dir, std::string &error) const {
  ordered kernelsJson = ordered::array();
  for (const KernelVariants &k : kernels) {
    ordered vs = ordered::array(), pruned = ordered::array();
    for (const Variant &v : k.variants)
      vs.push_back({{"id", v.id},
                    {"tile", tileJson(v.tile)},
                    {"dir", v.dir},
                    {"registers", v.registers},
                    {"spill_bytes", v.spillBytes},
                    {"shared_bytes", v.sharedBytes}});
    for (const PrunedVariant &p : k.pruned)
      pruned.push_back({{"tile", tileJson(p.tile)}, {"why", p.why}});
    kernelsJson.push_back({{"kernel", k.kernel},
                           {"setting", k.setting},
                           {"role", k.role},
                           {"dtype", k.dtype},
                           {"head_dim", k.headDim},
                           {"heads", k.heads},
                           {"alpha", k.alpha},
                           {"density", k.density},
                           {"default", k.defaultId},
                           {"classes", k.classes},
                           {"variants", vs},
                           {"pruned", pruned}});
  }
  ordered config;
  try {
    config = ordered::parse(this->config.empty() ? "{}" : this->config);
  } catch (const json::exception &e) {
    error = std::string("the configuration is not JSON: ") + e.what();
    return false;
  }
  ordered doc = {{"format_version", kTuningFormatVersion},
                 {"generator", "proteus-tune generate"},
                 {"compiler", compiler},
                 {"arch", arch},
                 {"config", config},
                 {"kernels", kernelsJson}};
  return writeAtomically(dir + "/" + kTuningBundleFile, doc.dump(1) + "\n",
                         error);
}

//===----------------------------------------------------------------------===//
// The database
//===----------------------------------------------------------------------===//

bool Database::load(const std::string &path, Database &db, std::string &error) {
  std::string text;
  if (!readText(path, text, error))
    return false;
  return parseWith(path, text, error, [&](const json &doc) {
    checkFormat(doc, "the database");
    db = Database();
    const json &entries = getArray(doc, "entries", "the database");
    for (size_t i = 0; i < entries.size(); ++i) {
      const std::string w = "entries[" + std::to_string(i) + "]";
      const json &e = entries[i];
      Entry x;
      x.kernel = getString(e, "kernel", w);
      x.setting = getString(e, "setting", w);
      x.shapeClass = getString(e, "shape_class", w);
      x.arch = getString(e, "arch", w);
      x.compiler = getString(e, "compiler", w);
      x.device = getString(e, "device", w);
      x.driver = getInt(e, "driver", w);
      x.best = readMeasured(member(e, "best", w), w + ".best");
      const json &ru = member(e, "runner_up", w);
      if (!ru.is_null())
        x.runnerUp = readMeasured(ru, w + ".runner_up");
      x.defaults = readMeasured(member(e, "default", w), w + ".default");
      x.measured = getInt(e, "variants_measured", w);
      x.rejected = getInt(e, "variants_rejected", w);
      const json &shape = member(e, "shape", w);
      x.B = getInt(shape, "B", w + ".shape");
      x.T = getInt(shape, "T", w + ".shape");
      x.R = getInt(shape, "R", w + ".shape");
      x.N = getInt(shape, "N", w + ".shape");
      x.measuredAt = getString(e, "measured_at", w);
      db.entries.push_back(std::move(x));
    }
  });
}

bool Database::save(const std::string &path, std::string &error) const {
  ordered list = ordered::array();
  for (const Entry &e : entries)
    list.push_back(
        {{"kernel", e.kernel},
         {"setting", e.setting},
         {"shape_class", e.shapeClass},
         {"arch", e.arch},
         {"compiler", e.compiler},
         {"device", e.device},
         {"driver", e.driver},
         {"best", measuredJson(e.best)},
         {"runner_up", e.runnerUp ? measuredJson(*e.runnerUp) : ordered()},
         {"default", measuredJson(e.defaults)},
         {"variants_measured", e.measured},
         {"variants_rejected", e.rejected},
         {"shape", {{"B", e.B}, {"T", e.T}, {"R", e.R}, {"N", e.N}}},
         {"measured_at", e.measuredAt}});
  ordered doc = {{"format_version", kTuningFormatVersion},
                 {"generator", "proteus-tune measure"},
                 {"entries", list}};
  return writeAtomically(path, doc.dump(1) + "\n", error);
}

const Entry *Database::find(const std::string &kernel,
                            const std::string &setting,
                            const std::string &shapeClass,
                            const std::string &arch,
                            const std::string &compiler) const {
  const Entry *found = nullptr;
  for (const Entry &e : entries)
    if (e.kernel == kernel && e.setting == setting &&
        e.shapeClass == shapeClass && e.arch == arch && e.compiler == compiler)
      found = &e;
  return found;
}

std::string Database::explainMiss(const std::string &kernel,
                                  const std::string &setting,
                                  const std::string &shapeClass,
                                  const std::string &arch,
                                  const std::string &compiler) const {
  std::string other;
  for (const Entry &e : entries) {
    if (e.kernel != kernel || e.setting != setting)
      continue;
    std::string diff;
    if (e.shapeClass != shapeClass)
      diff += " class " + e.shapeClass;
    if (e.arch != arch)
      diff += " arch " + e.arch;
    if (e.compiler != compiler)
      diff += " compiler '" + e.compiler + "'";
    other += (other.empty() ? "" : ";") + diff;
  }
  std::string why = "no entry for class " + shapeClass + " on " + arch;
  if (!other.empty())
    why += " (entries of this kernel and setting have" + other + ")";
  return why;
}

void Database::put(const Entry &entry) {
  for (Entry &e : entries)
    if (e.kernel == entry.kernel && e.setting == entry.setting &&
        e.shapeClass == entry.shapeClass && e.arch == entry.arch &&
        e.compiler == entry.compiler && e.device == entry.device) {
      e = entry;
      return;
    }
  entries.push_back(entry);
}

std::string defaultDatabasePath(std::string &why) {
  auto env = [](const char *name) {
    const char *v = std::getenv(name);
    return std::string(v ? v : "");
  };
  if (std::string p = env("PROTEUS_TUNING_DB"); !p.empty())
    return p;
  if (std::string dir = env("PROTEUS_CACHE_DIR"); !dir.empty())
    return dir + "/" + kDatabaseFileName;
  if (std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty() && xdg[0] == '/')
    return xdg + "/proteus/" + kDatabaseFileName;
  std::string home = env("HOME");
  if (home.empty())
    if (const passwd *pw = ::getpwuid(::getuid()); pw && pw->pw_dir)
      home = pw->pw_dir;
  if (home.empty()) {
    why = "PROTEUS_TUNING_DB, PROTEUS_CACHE_DIR, XDG_CACHE_HOME and HOME are "
          "unset";
    return "";
  }
  return home + "/.cache/proteus/" + kDatabaseFileName;
}

//===----------------------------------------------------------------------===//
// The journal
//===----------------------------------------------------------------------===//

std::string groupKey(const std::string &kernel, const std::string &setting,
                     const std::string &shapeClass, const std::string &arch,
                     const std::string &compiler) {
  return kernel + " | " + setting + " | " + shapeClass + " | " + arch + " | " +
         compiler;
}

std::optional<JournalRecord> parseJournalLine(const std::string &line) {
  try {
    json j = json::parse(line);
    JournalRecord r;
    r.group = getString(j, "group", "");
    r.variant = getString(j, "variant", "");
    r.device = getString(j, "device", "");
    r.driver = getInt(j, "driver", "");
    r.status = getString(j, "status", "");
    r.ms = getNumber(j, "ms", "");
    r.minMs = getNumber(j, "min_ms", "");
    r.maxError = getNumber(j, "max_error", "");
    r.note = getString(j, "note", "");
    return r;
  } catch (const json::exception &) {
  } catch (const FormatError &) {
  }
  return std::nullopt;
}

std::string formatJournalLine(const JournalRecord &r) {
  ordered j = {
      {"group", r.group},   {"variant", r.variant},    {"device", r.device},
      {"driver", r.driver}, {"status", r.status},      {"ms", r.ms},
      {"min_ms", r.minMs},  {"max_error", r.maxError}, {"note", r.note}};
  return j.dump();
}

bool Journal::open(const std::string &path, std::string &error) {
  path_ = path;
  records_.clear();
  std::ifstream in(path);
  if (in) {
    std::string line;
    while (std::getline(in, line))
      if (std::optional<JournalRecord> r = parseJournalLine(line))
        records_.push_back(*r);
  }
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0 &&
      !makeDirs(path.substr(0, slash), error))
    return false;
  // A torn last line (no newline) must not glue onto the next record.
  std::FILE *f = std::fopen(path.c_str(), "a+");
  if (!f) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  bool torn = false;
  if (std::fseek(f, -1, SEEK_END) == 0)
    torn = std::fgetc(f) != '\n';
  if (torn)
    std::fputc('\n', f);
  std::fclose(f);
  return true;
}

const JournalRecord *Journal::find(const std::string &group,
                                   const std::string &variant,
                                   const std::string &device,
                                   int64_t driver) const {
  const JournalRecord *found = nullptr;
  for (const JournalRecord &r : records_)
    if (r.group == group && r.variant == variant && r.device == device &&
        r.driver == driver)
      found = &r;
  return found;
}

bool Journal::append(const JournalRecord &record, std::string &error) {
  std::FILE *f = std::fopen(path_.c_str(), "a");
  if (!f) {
    error = "cannot append to " + path_ + ": " + std::strerror(errno);
    return false;
  }
  const std::string line = formatJournalLine(record) + "\n";
  bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  ok &= std::fflush(f) == 0;
  ok &= ::fsync(::fileno(f)) == 0;
  ok &= std::fclose(f) == 0;
  if (!ok) {
    error = "cannot append to " + path_ + ": " + std::strerror(errno);
    return false;
  }
  records_.push_back(record);
  return true;
}

} // namespace proteus_tune
