//===- golden.cpp - proteus-run's golden-vector checker -------------------===//
//
// One function per case kind. Cases that need kernels compile the case's
// configuration with the compiler (a subprocess), cache the bundle in the
// work folder keyed by (config text, alpha), and run it through the runtime's
// C API with poisoned outputs: host buffers on a CPU plan, device buffers on
// a GPU plan (layer_buffers.h).
//
//===----------------------------------------------------------------------===//

#include "golden.h"
#include "golden_case.h"

#include "layer_buffers.h"

#include "proteus_rt/bundle_integrity.h"
#include "proteus_rt/config_json.h"
#include "proteus_rt/contract.h"
#include "proteus_rt/proteus_rt.h"
#include "proteus_rt/schedule.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <spawn.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

using nlohmann::json;
namespace fs = std::filesystem;
using namespace proteus_rt;

namespace proteus_run {
namespace golden {

std::string readAll(const std::string &path) {
  std::string data, error;
  if (!proteus_rt::readRegularFile(path, int64_t(4) << 30, data, error))
    throw CaseError(error);
  return data;
}

std::string fmt(const char *format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string repr(double v) { return fmt("%.17g", v); }

std::string hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, v);
  return buf;
}

void check(prt_status s, const char *what) {
  if (s != PRT_OK)
    throw CaseError(std::string(what) + ": " + prt_status_name(s) + ": " +
                    prt_last_error());
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

Tensors::Tensors(const std::string &dir, const json &doc) {
  if (!doc.contains("tensors"))
    return;
  for (auto it = doc["tensors"].begin(); it != doc["tensors"].end(); ++it) {
    const json &m = it.value();
    Tensor t;
    int64_t n = 1;
    for (const json &d : m.at("shape")) {
      t.shape.push_back(d.get<int64_t>());
      n *= t.shape.back();
    }
    const std::string dtype = m.at("dtype").get<std::string>();
    const std::string path = dir + "/" + m.at("file").get<std::string>();
    const std::string bytes = readAll(path);
    const size_t elem = dtype == "f32" ? 4 : dtype == "i64" ? 8 : 0;
    if (!elem)
      throw CaseError("tensor " + it.key() + " has dtype " + dtype +
                      ", expected f32 or i64");
    if (bytes.size() != static_cast<size_t>(n) * elem)
      throw CaseError("tensor " + it.key() + ": " + path + " has " +
                      std::to_string(bytes.size()) + " bytes, shape needs " +
                      std::to_string(static_cast<size_t>(n) * elem));
    if (elem == 4) {
      t.f.resize(static_cast<size_t>(n));
      std::memcpy(t.f.data(), bytes.data(), bytes.size());
    } else {
      t.i.resize(static_cast<size_t>(n));
      std::memcpy(t.i.data(), bytes.data(), bytes.size());
    }
    tensors_[it.key()] = std::move(t);
  }
}

const Tensor &Tensors::at(const std::string &name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end())
    throw CaseError("case.json lists no tensor '" + name + "'");
  return it->second;
}

double relL2(const std::vector<float> &a, const std::vector<float> &ref) {
  double num = 0, den = 0;
  for (size_t k = 0; k < ref.size(); ++k) {
    double d = static_cast<double>(a[k]) - ref[k];
    num += d * d;
    den += static_cast<double>(ref[k]) * ref[k];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

//===----------------------------------------------------------------------===//
// Compiling bundles
//===----------------------------------------------------------------------===//

/// Bundles compiled by the compiler, one per (config text, alpha, CPU-only),
/// kept in the work folder across runs when the folder is:
/// <work>/bundles/<key>, key = XXH3-64 of those, and <key>.compiler naming the
/// compiler that built it. With a compiler, a bundle built by another is
/// rebuilt; without one (a GPU machine that has only a work folder prepared
/// elsewhere) the bundles there are used as they are.
class BundleCache {
public:
  BundleCache(const GoldenOptions &o, std::string workDir)
      : compiler_(o.compiler), origin_(o.compilerOrigin),
        work_(std::move(workDir)), verbose_(o.verbose),
        cpuOnly_(o.backend == PRT_BACKEND_CPU) {
    struct stat st;
    if (!compiler_.empty() && ::stat(compiler_.c_str(), &st) == 0)
      identity_ = compiler_ + "\n" + std::to_string(st.st_size) + "\n" +
                  std::to_string(st.st_mtim.tv_sec) + "." +
                  std::to_string(st.st_mtim.tv_nsec);
  }

  /// The bundle folder for `config` at `alpha`; compiles it when needed.
  std::string get(const std::string &config, double alpha, std::string &note) {
    const std::string alphaText = repr(alpha);
    const std::string keyText =
        alphaText + (cpuOnly_ ? "\ncpu-only\n" : "\n") + config;
    const std::string key = hex16(XXH3_64bits(keyText.data(), keyText.size()));
    const std::string bundle = work_ + "/bundles/" + key;
    const std::string builtBy = bundle + ".compiler";
    if (fs::exists(bundle + "/" + kManifestFile)) {
      if (compiler_.empty()) {
        note = "bundle " + bundle + " (precompiled; no compiler to check)";
        return bundle;
      }
      std::string by;
      try {
        by = readAll(builtBy);
      } catch (const CaseError &) {
      }
      if (by == identity_) {
        note = "bundle " + bundle + " (cached)";
        return bundle;
      }
    }
    if (compiler_.empty())
      throw CaseError("compiler not found (" + origin_ + ") and no bundle " +
                      bundle +
                      " in the work folder; pass --compiler PATH or set "
                      "PROTEUS_COMPILE");
    fs::create_directories(work_ + "/bundles");
    fs::create_directories(work_ + "/configs");
    const std::string cfgPath = work_ + "/configs/" + key + ".json";
    std::ofstream(cfgPath) << config << "\n";
    const std::string tmp = bundle + ".tmp-" + std::to_string(::getpid());
    const std::string log = work_ + "/bundles/" + key + ".log";
    std::vector<std::string> argv = {compiler_, "--config", cfgPath, "--alpha",
                                     alphaText, "-o",       tmp};
    if (cpuOnly_)
      argv.insert(argv.end(), {"--arch", "none"});
    std::string command;
    for (const std::string &a : argv)
      command += (command.empty() ? "" : " ") + a;
    if (verbose_)
      note = "compile: " + command + "\n";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    const std::string outcome = run(argv, log);
    if (!outcome.empty() || !fs::exists(tmp + "/" + kManifestFile)) {
      fs::remove_all(tmp, ec);
      throw CaseError("compiling failed (" +
                      (outcome.empty() ? "no manifest.json written" : outcome) +
                      "): " + command + "; log " + log + ": " + tail(log));
    }
    fs::remove_all(bundle, ec);
    fs::rename(tmp, bundle);
    std::ofstream(builtBy, std::ios::binary) << identity_;
    note += "bundle " + bundle;
    return bundle;
  }

private:
  /// Runs argv with stdout and stderr to `log`; "" on exit code 0.
  static std::string run(const std::vector<std::string> &argv,
                         const std::string &log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char *> args;
    for (const std::string &a : argv)
      args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    int err =
        posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err != 0)
      return "cannot start " + argv[0] + ": " + std::strerror(err);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR)
        return std::string("waitpid: ") + std::strerror(errno);
    }
    if (WIFEXITED(status))
      return WEXITSTATUS(status) == 0
                 ? ""
                 : "exit code " + std::to_string(WEXITSTATUS(status));
    return "killed by signal " + std::to_string(WTERMSIG(status));
  }

  /// The last few lines of a log, on one line.
  static std::string tail(const std::string &log) {
    std::string text;
    try {
      text = readAll(log);
    } catch (const CaseError &) {
      return "(no log)";
    }
    std::vector<std::string> lines;
    std::stringstream ss(text);
    for (std::string l; std::getline(ss, l);)
      if (!l.empty())
        lines.push_back(l);
    if (lines.empty())
      return "(empty)";
    std::string out;
    for (size_t k = lines.size() > 4 ? lines.size() - 4 : 0; k < lines.size();
         ++k)
      out += (out.empty() ? "" : " | ") + lines[k];
    return out;
  }

  std::string compiler_, origin_, work_, identity_;
  bool verbose_, cpuOnly_;
};

Config parseConfig(const json &cfg) {
  Config c;
  std::string error;
  if (!parseConfigJson(cfg.dump(), c, error))
    throw CaseError("config: " + error);
  return c;
}

void bindLayerState(LayerBuffers &io, const Tensors &t,
                    const proteus_rt::Config &c) {
  io.wQkv = t.at("state.qkv.weight").f;
  io.wProj = t.at("state.proj.weight").f;
  io.wRouter = t.at("state.head_router.linear.weight").f;
  if (c.bias) {
    io.bQkv = t.at("state.qkv.bias").f;
    io.bProj = t.at("state.proj.bias").f;
  }
  if (c.proto_enabled) {
    io.protos = t.at("state.routing_prototypes").f;
    io.usage = t.at("state.routing_usage_ema").f;
    io.conf = t.at("state.routing_confidence").f;
  }
}

/// Compiles and opens the bundle for `config` at `alpha`.
void openBundle(Context &cx, const std::string &config, double alpha,
                BundleHandle &out, std::string &note) {
  const std::string dir = cx.bundles->get(config, alpha, note);
  check(prt_bundle_open(cx.ctx, dir.c_str(), &out.b), "prt_bundle_open");
}

} // namespace golden

using namespace golden;

namespace {

//===----------------------------------------------------------------------===//
// Kinds
//===----------------------------------------------------------------------===//

Verdict checkSchedule(const json &doc) {
  const Config c = parseConfig(doc.at("config"));
  int64_t total = 0, bad = 0;
  std::vector<std::string> first;
  auto cmp = [&](bool equal, const std::string &what) {
    ++total;
    if (!equal) {
      ++bad;
      if (first.size() < 3)
        first.push_back(what);
    }
  };
  for (const json &row : doc.at("rows")) {
    const int64_t T = row.at("T").get<int64_t>();
    const std::string at = "T=" + std::to_string(T);
    const double a = alphaRamp(c, T), r = keepRatioLin(c, T);
    const int64_t k = kDense(c, T);
    cmp(a == row.at("alpha_ramp").get<double>(),
        at + " alpha_ramp " + repr(a) + " (ref " + row["alpha_ramp"].dump() +
            ")");
    cmp(k == row.at("k_dense").get<int64_t>(),
        at + " k_dense " + std::to_string(k) + " (ref " +
            row["k_dense"].dump() + ")");
    cmp(r == row.at("keep_ratio_lin").get<double>(),
        at + " keep_ratio_lin " + repr(r) + " (ref " +
            row["keep_ratio_lin"].dump() + ")");
    for (const json &ba : row.at("by_alpha")) {
      const double alpha = ba.at("alpha").get<double>();
      const std::string where = at + " alpha=" + repr(alpha) + " ";
      const CandidateBudget b = candidateBudget(c, T, alpha);
      const std::pair<const char *, int64_t> fields[] = {
          {"effective_L", b.effective_L},
          {"window", b.window},
          {"local_cap", b.local_cap},
          {"anchor_cap", b.anchor_cap},
          {"proto_cap", b.proto_cap}};
      for (const auto &[name, mine] : fields)
        cmp(mine == ba.at(name).get<int64_t>(),
            where + name + " " + std::to_string(mine) + " (ref " +
                ba[name].dump() + ")");
      if (ba.contains("keep_ratio")) {
        const json &ref = ba["keep_ratio"];
        if (c.token_sparse) {
          const double kr = keepRatio(c, alpha, T);
          cmp(ref.is_number() && kr == ref.get<double>(),
              where + "keep_ratio " + repr(kr) + " (ref " + ref.dump() + ")");
        } else {
          cmp(ref.is_null(),
              where + "keep_ratio null (ref " + ref.dump() + ")");
        }
      }
    }
  }
  Verdict v;
  std::string text = std::to_string(total - bad) + "/" + std::to_string(total) +
                     " values exact";
  if (bad) {
    text += ", first mismatches:";
    for (const std::string &m : first)
      text += " [" + m + "]";
  }
  v.add(bad == 0 && total > 0, text);
  return v;
}

Verdict checkCandidates(Context &cx, const json &doc, const Tensors &t) {
  const json &p = doc.at("params");
  const int64_t T = p.at("T").get<int64_t>(), L = p.at("L").get<int64_t>();
  const bool local = p.at("local").get<bool>(),
             anchors = p.at("anchors").get<bool>(),
             proto = p.at("proto").get<bool>();
  // The proto piece ranks by prototype similarity, which exists only with
  // prototypes enabled.
  const json config = {{"linear_use_local", local},
                       {"linear_use_anchors", anchors},
                       {"linear_use_proto", proto},
                       {"proto_enabled", proto},
                       {"linear_anchor_stride", p.at("stride")}};
  Verdict v;
  BundleHandle bundle;
  openBundle(cx, config.dump(2), 1.0, bundle, v.note);

  int64_t size = 0;
  check(prt_bundle_budget_size(bundle.b, &size), "prt_bundle_budget_size");
  std::vector<int64_t> budget(static_cast<size_t>(size), 0);
  budget[kBudgetT] = T;
  budget[kBudgetEffectiveL] = L;
  budget[kBudgetWindow] = p.at("window").get<int64_t>();
  if (p.contains("caps") && !p["caps"].is_null()) {
    budget[kBudgetLocalCap] = p["caps"].at(0).get<int64_t>();
    budget[kBudgetAnchorCap] = p["caps"].at(1).get<int64_t>();
    budget[kBudgetProtoCap] = p["caps"].at(2).get<int64_t>();
  } else {
    budget[kBudgetLocalCap] = local ? L : 0;
    budget[kBudgetAnchorCap] = anchors ? L : 0;
    budget[kBudgetProtoCap] = proto ? L : 0;
  }
  const Tensor &rows = t.at("rows");
  const int64_t N = static_cast<int64_t>(rows.i.size());
  std::vector<float> zeros(static_cast<size_t>(T), 0.0f);
  const float *scores =
      t.has("proto_scores") ? t.at("proto_scores").f.data() : zeros.data();
  std::vector<int64_t> cand(static_cast<size_t>(N * L), -7),
      lens(static_cast<size_t>(N), -7);
  prt_shortlist_args a{};
  a.N = N;
  a.rows = rows.i.data();
  a.B = 1;
  a.T = T;
  a.proto_scores = scores;
  a.budget = budget.data();
  a.budget_size = size;
  a.L = L;
  a.candidates = cand.data();
  a.lengths = lens.data();
  check(prt_shortlist(bundle.b, &a), "prt_shortlist");

  const std::vector<int64_t> &refC = t.at("candidates").i,
                             &refL = t.at("lengths").i;
  if (refC.size() != cand.size() || refL.size() != lens.size())
    throw CaseError(
        "reference candidates/lengths do not have shape (N, L) / (N)");
  auto firstDiff = [](const std::vector<int64_t> &a,
                      const std::vector<int64_t> &b) {
    return static_cast<int64_t>(
        std::mismatch(a.begin(), a.end(), b.begin()).first - a.begin());
  };
  const int64_t dc = firstDiff(cand, refC), dl = firstDiff(lens, refL);
  const bool candOk = dc == static_cast<int64_t>(cand.size());
  const bool lensOk = dl == static_cast<int64_t>(lens.size());
  std::string c =
      std::string("candidates exact ") + (candOk ? "true" : "false");
  if (!candOk)
    c += " (first at [" + std::to_string(dc / L) + ", " +
         std::to_string(dc % L) +
         "]: " + std::to_string(cand[static_cast<size_t>(dc)]) + ", ref " +
         std::to_string(refC[static_cast<size_t>(dc)]) + ")";
  v.add(candOk, c);
  std::string l = std::string("lengths exact ") + (lensOk ? "true" : "false");
  if (!lensOk)
    l += " (first at [" + std::to_string(dl) +
         "]: " + std::to_string(lens[static_cast<size_t>(dl)]) + ", ref " +
         std::to_string(refL[static_cast<size_t>(dl)]) + ")";
  v.add(lensOk, l);
  return v;
}

Verdict checkAttention(Context &cx, const json &doc, const Tensors &t) {
  const json &p = doc.at("params");
  const int64_t R = p.at("R").get<int64_t>(), T = p.at("T").get<int64_t>(),
                D = p.at("D").get<int64_t>(), L = p.at("L").get<int64_t>();
  const double scale = p.at("scale").get<double>();
  Verdict v;
  const double expected = 1.0 / std::sqrt(static_cast<double>(D));
  if (std::fabs(scale - expected) > 1e-12 * expected) {
    v.add(false, "scale " + repr(scale) +
                     " is not 1/sqrt(D) = " + repr(expected) +
                     ", the only scale the entry point applies");
    return v;
  }
  // Defaults, with the head width the case uses.
  const Config defaults;
  const json config = {{"d_model", D * defaults.h_total},
                       {"h_total", defaults.h_total}};
  BundleHandle bundle;
  openBundle(cx, config.dump(2), 1.0, bundle, v.note);

  std::vector<float> out(static_cast<size_t>(R * T * D), NAN);
  const Tensor &prow = t.at("packed_row");
  prt_shortlist_attention_args a{};
  a.R = R;
  a.T = T;
  a.D = D;
  a.q = t.at("q").f.data();
  a.k = t.at("k").f.data();
  a.v = t.at("v").f.data();
  a.N = static_cast<int64_t>(prow.i.size());
  a.packed_row = prow.i.data();
  a.packed_token = t.at("packed_token").i.data();
  a.L = L;
  a.candidates = t.at("candidates").i.data();
  a.lengths = t.at("lengths").i.data();
  a.out = out.data();
  check(prt_shortlist_attention(bundle.b, &a), "prt_shortlist_attention");

  const std::vector<float> &ref = t.at("out").f;
  const std::vector<int64_t> &active = t.at("active").i;
  double maxErr = 0;
  bool within = ref.size() == out.size(), inactiveZero = true;
  for (size_t k = 0; k < ref.size() && k < out.size(); ++k) {
    const double err = std::fabs(static_cast<double>(out[k]) - ref[k]);
    if (!(err <= 1e-5 * (1.0 + std::fabs(ref[k]))))
      within = false;
    maxErr = std::isnan(err) ? NAN : std::max(maxErr, err);
    if (active[k / static_cast<size_t>(D)] == 0 && out[k] != 0.0f)
      inactiveZero = false;
  }
  v.add(within, "max abs err " + fmt("%.2e", maxErr) +
                    ", within 1e-5(1+|ref|) " + (within ? "true" : "false"));
  v.add(inactiveZero,
        std::string("inactive exactly 0 ") + (inactiveZero ? "true" : "false"));
  return v;
}

Verdict checkLayer(Context &cx, const json &doc, const Tensors &t) {
  const json &cfgJson = doc.at("config");
  const Config c = parseConfig(cfgJson);
  const Tensor &x = t.at("x");
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2);
  if (C != c.d_model)
    throw CaseError("x has C = " + std::to_string(C) + ", the config d_model " +
                    std::to_string(c.d_model));
  auto optDouble = [&](const char *key) {
    return doc.contains(key) && !doc[key].is_null() ? doc[key].get<double>()
                                                    : -1.0;
  };
  const double prev = optDouble("prev_alpha"),
               override = optDouble("alpha_override");
  const double alpha = alphaRamp(c, T, prev, override);

  Verdict v;
  BundleHandle bundle;
  openBundle(cx, cfgJson.dump(2), alpha, bundle, v.note);
  const bool update = t.has("state_after.routing_prototypes");
  prt_plan_options o;
  prt_plan_options_init(&o);
  o.B = B;
  o.T = T;
  o.alpha = alpha;
  o.prev_alpha = prev;
  o.update_prototypes = update ? 1 : 0;
  PlanHandle plan;
  check(prt_plan_create(bundle.b, &o, &plan.p), "prt_plan_create");
  prt_plan_info info;
  check(prt_plan_get_info(plan.p, &info), "prt_plan_get_info");
  if (cx.verbose)
    v.note += std::string("\nbackend ") +
              (info.backend == PRT_BACKEND_GPU ? "gpu" : "cpu") + ": " +
              info.backend_reason;

  // Host buffers on a CPU plan, device copies on a GPU plan; outputs
  // poisoned.
  LayerBuffers io(cx.ctx, info.backend == PRT_BACKEND_GPU);
  io.x = x.f;
  bindLayerState(io, t, c);
  prt_layer_stats stats{};
  try {
    io.prepare(B, T, C);
    const prt_layer_args a = io.args(&stats);
    check(prt_layer_forward(plan.p, &a), "prt_layer_forward");
    io.fetch();
  } catch (const std::runtime_error &e) {
    throw CaseError(e.what());
  }
  const std::vector<float> &y = io.y, &importance = io.importance,
                           &protos = io.protos, &usage = io.usage,
                           &conf = io.conf;
  const std::vector<int8_t> &mask = io.mask;

  // y: fp32 on both paths (the GPU layer takes f32 inputs; SPEC.md section 4
  // allows 1e-2 for bf16 on the GPU).
  const double tol = info.backend == PRT_BACKEND_GPU ? 1e-4 : 1e-5;
  const double rel = relL2(y, t.at("y").f);
  v.add(rel <= tol, "y relL2 " + fmt("%.2e", rel));

  const json &ss = doc.at("sparse_state");
  const std::string refMode = ss.at("mode").get<std::string>();
  const std::string mode = stats.mode_name;
  v.add(mode == refMode, "mode " + mode + " (ref " + refMode + ")");
  const std::string refReason =
      ss.contains("dense_reason") && !ss["dense_reason"].is_null()
          ? ss["dense_reason"].get<std::string>()
          : "";
  const std::string reason =
      stats.dense_reason != 0 ? stats.dense_reason_name : "";
  if (!refReason.empty() || !reason.empty())
    v.add(reason == refReason,
          "dense_reason " + (reason.empty() ? "None" : reason) + " (ref " +
              (refReason.empty() ? "None" : refReason) + ")");

  for (int8_t m : mask)
    if (m != 0 && m != 1) {
      v.add(false, "token_mask has unwritten entries");
      break;
    }
  if (t.has("token_mask")) {
    const std::vector<int64_t> &ref = t.at("token_mask").i;
    bool same = ref.size() == mask.size();
    int64_t kept = 0, refKept = 0;
    for (size_t k = 0; k < mask.size() && k < ref.size(); ++k) {
      same = same && mask[k] == ref[k];
      kept += mask[k] == 1;
      refKept += ref[k];
    }
    v.add(same, std::string("token_mask exact ") + (same ? "true" : "false") +
                    " (kept " + std::to_string(kept) + "/" +
                    std::to_string(refKept) + ")");
  } else if (std::count(mask.begin(), mask.end(), int8_t(0)) > 0) {
    v.add(false, "token_mask produced but none expected");
  }
  if (t.has("token_importance") && !info.fast_path) {
    const std::vector<float> &ref = t.at("token_importance").f;
    double e = 0;
    for (size_t k = 0; k < ref.size(); ++k)
      e = std::max(e, std::fabs(static_cast<double>(importance[k]) - ref[k]));
    v.add(true, "importance maxabs " + fmt("%.1e", e));
  }
  if (doc.contains("alpha_used")) {
    const double ref = doc["alpha_used"].get<double>();
    v.add(info.alpha_state == ref,
          "alpha " + repr(info.alpha_state) + " (ref " + repr(ref) + ")");
  }
  if (doc.contains("keep_ratio_runtime")) {
    const json &ref = doc["keep_ratio_runtime"];
    const bool mineNull = !info.token_sparse || info.fast_path;
    const bool same =
        mineNull ? ref.is_null()
                 : ref.is_number() && ref.get<double>() == info.keep_ratio;
    v.add(same,
          "keep_ratio " +
              (mineNull ? std::string("None") : repr(info.keep_ratio)) +
              " (ref " +
              (ref.is_null() ? std::string("None") : repr(ref.get<double>())) +
              ")");
  }
  const json &st = doc.at("stats");
  if (mode != "dense_fastpath") {
    const std::pair<const char *, int64_t> fields[] = {
        {"top_k", stats.top_k},
        {"nucleus_k", stats.nucleus_k},
        {"max_active_rows", stats.max_active_rows}};
    for (const auto &[name, mine] : fields) {
      const json ref = st.contains(name) ? st[name] : json();
      const bool same = ref.is_null() ? mine == -1 : ref.get<int64_t>() == mine;
      v.add(same, std::string(name) + " " + std::to_string(mine) + " (ref " +
                      (ref.is_null() ? "None" : ref.dump()) + ")");
    }
    if (mode == "shortlist") {
      const std::pair<const char *, int64_t> budgets[] = {
          {"linear_L", info.effective_L}, {"linear_window", info.window}};
      for (const auto &[name, mine] : budgets) {
        const json ref = st.contains(name) ? st[name] : json();
        v.add(ref.is_number_integer() && ref.get<int64_t>() == mine,
              std::string(name) + " " + std::to_string(mine) + " (ref " +
                  ref.dump() + ")");
      }
    }
  } else {
    v.add(true, "(fastpath stats top_k " + st.value("top_k", json()).dump() +
                    " nucleus_k " + st.value("nucleus_k", json()).dump() +
                    " not computed)");
  }
  if (update) {
    const std::tuple<const char *, const std::vector<float> *, const char *,
                     double>
        states[] = {{"P", &protos, "routing_prototypes", 1e-6},
                    {"conf", &conf, "routing_confidence", 1e-6},
                    {"usage", &usage, "routing_usage_ema", 2e-6}};
    std::string text;
    for (const auto &[label, mine, name, tol2] : states) {
      const std::vector<float> &ref =
          t.at(std::string("state_after.") + name).f;
      if (mine->size() != ref.size())
        throw CaseError(std::string("state_after.") + name +
                        " has another size");
      const double e = relL2(*mine, ref);
      v.ok = v.ok && e <= tol2;
      text += (text.empty() ? "" : ", ") + std::string(label) + " " +
              fmt("%.1e", e);
    }
    v.add(true, "state_after rel " + text);
  }
  return v;
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

/// Case folders: `dir` itself when it holds case.json, else its subfolders
/// that do, by name.
std::vector<std::string> findCases(const std::string &dir) {
  if (fs::exists(fs::path(dir) / "case.json"))
    return {dir};
  std::vector<std::string> out;
  for (const auto &e : fs::directory_iterator(dir))
    if (e.is_directory() && fs::exists(e.path() / "case.json"))
      out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

int runGolden(const GoldenOptions &o) {
  std::vector<std::string> cases;
  for (const std::string &dir : o.dirs) {
    if (!fs::is_directory(dir)) {
      std::cerr << "proteus-run: --golden: " << dir << " is not a folder\n";
      return 2;
    }
    std::vector<std::string> found = findCases(dir);
    if (found.empty())
      std::cerr << "proteus-run: no case.json in " << dir
                << " or its subfolders\n";
    cases.insert(cases.end(), found.begin(), found.end());
  }

  std::string work = o.workDir;
  bool temporary = false;
  if (work.empty()) {
    const char *base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base && *base ? base : "/tmp") + "/proteus-run-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) {
      std::cerr << "proteus-run: cannot create a work folder " << pattern
                << ": " << std::strerror(errno) << "\n";
      return 2;
    }
    work = buf.data();
    temporary = true;
  }
  work = fs::absolute(work).string();

  prt_context_options co;
  prt_context_options_init(&co);
  co.backend = o.backend;
  Context cx;
  cx.verbose = o.verbose;
  if (prt_context_create(&cx.ctx, &co) != PRT_OK) {
    std::cerr << "proteus-run: " << prt_last_error() << "\n";
    return 2;
  }
  BundleCache bundles(o, work);
  cx.bundles = &bundles;
  if (o.verbose) {
    prt_backend_info bi;
    prt_context_backend(cx.ctx, &bi);
    std::cout << "context: " << (bi.backend == PRT_BACKEND_GPU ? "gpu" : "cpu")
              << " (" << bi.reason
              << "); compiler: " << (o.compiler.empty() ? "none" : o.compiler)
              << " (" << o.compilerOrigin << "); work folder: " << work << "\n";
  }

  int passed = 0, failed = 0;
  for (const std::string &dir : cases) {
    const std::string name = fs::path(dir).filename().string();
    Verdict v;
    try {
      const json doc = json::parse(readAll(dir + "/case.json"));
      const std::string kind = doc.at("kind").get<std::string>();
      if (kind == "schedule") {
        v = checkSchedule(doc);
      } else {
        const Tensors t(dir, doc);
        if (kind == "candidates")
          v = checkCandidates(cx, doc, t);
        else if (kind == "shortlist_attention")
          v = checkAttention(cx, doc, t);
        else if (kind == "layer")
          v = checkLayer(cx, doc, t);
        else if (kind == "top_a")
          v = checkTopA(cx, doc, t);
        else if (kind == "chunked")
          v = checkChunked(cx, doc, t);
        else
          v.add(false, "unknown kind '" + kind + "'");
      }
    } catch (const CaseError &e) {
      v.add(false, e.what());
    } catch (const json::exception &e) {
      v.add(false, std::string("case.json: ") + e.what());
    } catch (const std::exception &e) {
      v.add(false, e.what());
    }
    (v.ok ? passed : failed)++;
    std::cout << (v.ok ? "PASS " : "FAIL ") << name << ": " << v.details
              << "\n";
    if (o.verbose && !v.note.empty()) {
      std::stringstream ss(v.note);
      for (std::string line; std::getline(ss, line);)
        std::cout << "    " << line << "\n";
    }
    std::cout.flush();
  }
  prt_context_destroy(cx.ctx);
  if (temporary) {
    std::error_code ec;
    fs::remove_all(work, ec);
  }
  std::cout << passed << " passed, " << failed << " failed\n";
  return failed > 0 || passed == 0 ? 1 : 0;
}

} // namespace proteus_run
