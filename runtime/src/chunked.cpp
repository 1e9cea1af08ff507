//===- chunked.cpp - The chunked shortlist pipeline -----------------------===//
//
// prt_chunked_run (REFERENCE.md 7; SPEC.md 3 for where we differ): the
// sequence is read chunk by chunk (host rows or a file of raw rows), each
// chunk runs the caller's chunk-pass plan, the bundle's proteus_chunk_nucleus
// entry promotes the nucleus of its token importance, and
// proteus_shortlist_merge folds the promoted tokens into a buffer of the best
// buffer_tokens (the best K of a union is the best K of the best K of its
// parts); then one final-pass call runs over the kept rows. Every buffer is
// sized by chunk_len, buffer_tokens, per_chunk_budget and C, never by T.
//
//===----------------------------------------------------------------------===//

#include "internal.h"
#include "proteus_rt/chunked_contract.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>

using namespace proteus_rt;

namespace {

std::string str(int64_t v) { return std::to_string(v); }

constexpr int64_t kMaxChunkLen = 65536; // the reference's MAX_SHORTLIST_CHUNK

int64_t chunkCount(const prt_chunked_args &a) {
  return (a.T + a.chunk_len - 1) / a.chunk_len;
}

void checkShapes(const prt_chunked_args &a) {
  if (a.T < 1 || a.C < 1)
    fail(PRT_ERR_SHAPE, "args.T and args.C must be >= 1 (are " + str(a.T) +
                            ", " + str(a.C) + ")");
  if (a.chunk_len < 1 || a.chunk_len > kMaxChunkLen)
    fail(PRT_ERR_INVALID_ARGUMENT,
         "args.chunk_len is " + str(a.chunk_len) + ", outside [1, 65536]");
  if (a.buffer_tokens < 1 || a.per_chunk_budget < 1)
    fail(PRT_ERR_INVALID_ARGUMENT,
         "args.buffer_tokens and args.per_chunk_budget must be >= 1 (are " +
             str(a.buffer_tokens) + ", " + str(a.per_chunk_budget) + ")");
  (void)elements({a.chunk_len, a.C}, "a chunk (chunk_len, C)");
  (void)elements({a.buffer_tokens, a.C}, "the buffer (buffer_tokens, C)");
  (void)elements({a.T, a.C}, "the sequence (T, C)");
}

/// The pipeline's own buffers, in elements (what prt_chunked_plan_info
/// reports in bytes).
struct Working {
  int64_t chunkRows, chunkY, importance, mask, promoted, merge, reduced, raw;
  int64_t bytes() const {
    return (chunkRows + chunkY + importance + reduced) * 4 + mask +
           promoted * 12 + merge * 12 + raw;
  }
};

Working working(const prt_chunked_args &a) {
  Working w;
  w.chunkRows = a.chunk_len * a.C;
  w.chunkY = a.chunk_len * a.C;
  w.importance = a.chunk_len;
  w.mask = a.chunk_len;
  w.promoted = std::min(a.per_chunk_budget, a.chunk_len);
  w.merge = 2 * (a.buffer_tokens + w.promoted);
  w.reduced = 2 * a.buffer_tokens * a.C; // the kept rows and the output
  w.raw = a.dtype == PRT_DTYPE_BF16 || a.path ? a.chunk_len * a.C * 4 : 0;
  return w;
}

/// Rows [start, end) of the sequence as f32, from host memory or the file.
class RowSource {
public:
  RowSource(const prt_chunked_args &a) : a_(a), elem_(prt_dtype_size(a.dtype)) {
    if (a.dtype != PRT_DTYPE_F32 && a.dtype != PRT_DTYPE_BF16)
      fail(PRT_ERR_INVALID_ARGUMENT,
           "args.dtype is " + std::string(prt_dtype_name(a.dtype)) +
               "; the rows are PRT_DTYPE_F32 or PRT_DTYPE_BF16");
    if (a.x)
      return;
    if (!a.path)
      fail(PRT_ERR_INVALID_ARGUMENT, "args.x and args.path are both NULL");
    fd_ = ::open(a.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd_ < 0 || ::fstat(fd_, &st) != 0)
      fail(PRT_ERR_IO,
           std::string("cannot open ") + a.path + ": " + std::strerror(errno));
    const int64_t want = a.T * a.C * elem_;
    if (!S_ISREG(st.st_mode) || st.st_size != want)
      fail(PRT_ERR_IO, std::string(a.path) + " holds " + str(st.st_size) +
                           " bytes, not the " + str(want) + " of (T " +
                           str(a.T) + ", C " + str(a.C) + ") " +
                           prt_dtype_name(a.dtype) + " rows");
  }
  ~RowSource() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  void read(int64_t start, int64_t end, float *out, std::vector<char> &raw) {
    const int64_t n = (end - start) * a_.C, bytes = n * elem_;
    const char *src;
    if (a_.x) {
      src = static_cast<const char *>(a_.x) + start * a_.C * elem_;
    } else {
      raw.resize(bytes);
      for (int64_t done = 0; done < bytes;) {
        ssize_t got = ::pread(fd_, raw.data() + done, bytes - done,
                              start * a_.C * elem_ + done);
        if (got <= 0)
          fail(PRT_ERR_IO, std::string("reading ") + a_.path + " failed: " +
                               (got < 0 ? std::strerror(errno) : "short file"));
        done += got;
      }
      src = raw.data();
    }
    if (a_.dtype == PRT_DTYPE_F32) {
      std::memcpy(out, src, bytes);
      return;
    }
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      const uint32_t bits = uint32_t(h) << 16;
      std::memcpy(out + i, &bits, 4);
    }
  }

private:
  const prt_chunked_args &a_;
  int64_t elem_;
  int fd_ = -1;
};

prt_layer_args layerArgs(const prt_chunked_weights &w, int64_t T,
                         const float *x, float *y, int8_t *mask,
                         float *importance) {
  prt_layer_args l{};
  l.B = 1;
  l.T = T;
  l.x = x;
  l.w_qkv = w.w_qkv;
  l.b_qkv = w.b_qkv;
  l.w_proj = w.w_proj;
  l.b_proj = w.b_proj;
  l.w_router = w.w_router;
  l.prototypes = w.prototypes;
  l.usage = w.usage;
  l.confidence = w.confidence;
  l.y = y;
  l.token_mask = mask;
  l.importance = importance;
  return l;
}

void checkPlan(prt_plan *plan, const char *name, int64_t tokens,
               const char *what) {
  need(plan, name);
  prt_plan_info info;
  if (prt_status st = prt_plan_get_info(plan, &info); st != PRT_OK)
    fail(st, prt_last_error());
  if (info.backend != PRT_BACKEND_CPU)
    fail(PRT_ERR_UNSUPPORTED,
         std::string(name) + " is a GPU plan; this release runs the chunked "
                             "pipeline on CPU plans only");
  if (info.B != 1 || info.T_max < tokens)
    fail(PRT_ERR_SHAPE, std::string(name) + " has B " + str(info.B) +
                            " and T_max " + str(info.T_max) +
                            "; the pipeline needs B 1 and T_max >= " + what +
                            " (" + str(tokens) + ")");
}

/// The state of one run: the CPU entries and the merge buffer, which holds
/// the best K candidates so far followed by room for one chunk's promoted.
struct Pipeline {
  prt_chunked_args &a;
  ChunkNucleusFn nucleus;
  ShortlistMergeFn merge;
  std::vector<int64_t> candIdx, keepIdx;
  std::vector<float> candScore, keepScore;
  int64_t kept = 0;

  void mergeChunk(const int64_t *promoted, const float *scores, int64_t n) {
    const int64_t K = a.buffer_tokens;
    std::fill(candIdx.begin(), candIdx.end(), -1);
    std::copy(keepIdx.begin(), keepIdx.begin() + kept, candIdx.begin());
    std::copy(keepScore.begin(), keepScore.begin() + kept, candScore.begin());
    std::copy(promoted, promoted + n, candIdx.begin() + kept);
    std::copy(scores, scores + n, candScore.begin() + kept);
    const int64_t N = static_cast<int64_t>(candIdx.size());
    auto ci = makeMemRef<int64_t, 1>(candIdx.data(), {N});
    auto cs = makeMemRef<float, 1>(candScore.data(), {N});
    auto ki = makeMemRef<int64_t, 1>(keepIdx.data(), {K});
    auto ks = makeMemRef<float, 1>(keepScore.data(), {K});
    int64_t count = -1;
    auto cr = makeMemRef<int64_t, 1>(&count, {1});
    merge(&ci, &cs, &ki, &ks, &cr);
    if (count < 0 || count > K)
      fail(PRT_ERR_KERNEL, "proteus_shortlist_merge returned count " +
                               str(count) + " for K " + str(K));
    kept = count;
  }
};

void runChunks(Pipeline &p, RowSource &src) {
  prt_chunked_args &a = p.a;
  const int64_t L = a.chunk_len, C = a.C, chunks = chunkCount(a);
  const int64_t cap = std::min(a.per_chunk_budget, L);
  std::vector<float> x(L * C), y(L * C), importance(L), scores(cap);
  std::vector<int8_t> mask(L);
  std::vector<int64_t> promoted(cap);
  std::vector<char> raw;
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t s = c * L, e = std::min(a.T, s + L), n = e - s;
    src.read(s, e, x.data(), raw);
    prt_layer_args l = layerArgs(a.chunk_weights, n, x.data(), y.data(),
                                 mask.data(), importance.data());
    if (prt_status st = prt_layer_forward(a.chunk_plan, &l); st != PRT_OK)
      fail(st, "chunk " + str(c) + " [" + str(s) + ", " + str(e) +
                   "): " + prt_last_error());
    auto imp = makeMemRef<float, 1>(importance.data(), {n});
    auto mk = makeMemRef<int8_t, 1>(mask.data(), {n});
    auto pr = makeMemRef<int64_t, 1>(promoted.data(), {cap});
    auto sc = makeMemRef<float, 1>(scores.data(), {cap});
    int64_t count = -1;
    auto cr = makeMemRef<int64_t, 1>(&count, {1});
    p.nucleus(&imp, &mk, static_cast<float>(a.nucleus_top_p),
              a.per_chunk_budget, s, &pr, &sc, &cr);
    if (count < 0 || count > cap)
      fail(PRT_ERR_KERNEL, "proteus_chunk_nucleus returned count " +
                               str(count) + " for capacity " + str(cap));
    p.mergeChunk(promoted.data(), scores.data(), count);
    if (a.summaries) {
      prt_chunk_summary &m = a.summaries[c];
      m.start = s;
      m.end = e;
      m.masked_in = std::count(mask.begin(), mask.begin() + n, int8_t(1));
      m.promoted = count;
      m.max_score =
          count > 0 ? scores[0] : -std::numeric_limits<float>::infinity();
    }
    if (a.progress) {
      const prt_chunk_report r{c,
                               chunks,
                               s,
                               e,
                               importance.data(),
                               mask.data(),
                               count,
                               promoted.data(),
                               scores.data()};
      if (a.progress(&r, a.progress_user) != 0)
        fail(PRT_ERR_INVALID_ARGUMENT,
             "cancelled by the progress callback at chunk " + str(c));
    }
  }
}

/// x[keep] (K' rows), the final pass over them, and the results.
void runFinal(Pipeline &p, RowSource &src) {
  prt_chunked_args &a = p.a;
  const int64_t K = a.buffer_tokens, C = a.C, k = p.kept;
  std::vector<float> rows(K * C, 0.0f), out(K * C, 0.0f);
  std::vector<char> raw;
  for (int64_t j = 0; j < k; ++j)
    src.read(p.keepIdx[j], p.keepIdx[j] + 1, rows.data() + j * C, raw);
  if (k > 0) {
    prt_layer_args l = layerArgs(a.final_weights, k, rows.data(), out.data(),
                                 nullptr, nullptr);
    if (prt_status st = prt_layer_forward(a.final_plan, &l); st != PRT_OK)
      fail(st, std::string("the final pass: ") + prt_last_error());
  }
  std::copy(p.keepIdx.begin(), p.keepIdx.end(), a.keep_indices);
  std::copy(p.keepScore.begin(), p.keepScore.end(), a.keep_scores);
  std::copy(out.begin(), out.end(), a.final_output);
  if (a.reduced)
    std::copy(rows.begin(), rows.end(), a.reduced);
  a.keep_count = k;
}

} // namespace

extern "C" {

prt_status prt_chunked_plan_info(const prt_chunked_args *args,
                                 prt_chunked_info *info) {
  return guardedCall([&] {
    need(args, "args");
    need(info, "info");
    checkShapes(*args);
    info->chunks = chunkCount(*args);
    info->working_bytes = working(*args).bytes();
  });
}

prt_status prt_chunked_run(prt_chunked_args *args) {
  return guardedCall([&] {
    need(args, "args");
    prt_chunked_args &a = *args;
    checkShapes(a);
    if (!(a.nucleus_top_p > 0.0 && a.nucleus_top_p <= 1.0))
      fail(PRT_ERR_INVALID_ARGUMENT, "args.nucleus_top_p is " +
                                         formatDouble(a.nucleus_top_p) +
                                         ", outside (0, 1]");
    need(a.bundle, "args.bundle");
    need(a.keep_indices, "args.keep_indices");
    need(a.keep_scores, "args.keep_scores");
    need(a.final_output, "args.final_output");
    checkPlan(a.chunk_plan, "args.chunk_plan", a.chunk_len, "chunk_len");
    checkPlan(a.final_plan, "args.final_plan", a.buffer_tokens,
              "buffer_tokens");
    RowSource src(a);
    BundleImpl &b = *a.bundle->impl;
    Pipeline p{
        a,
        reinterpret_cast<ChunkNucleusFn>(b.cpuSymbol(kChunkNucleusEntry)),
        reinterpret_cast<ShortlistMergeFn>(b.cpuSymbol(kShortlistMergeEntry)),
        {},
        {},
        {},
        {},
        0};
    const int64_t merged =
        a.buffer_tokens + std::min(a.per_chunk_budget, a.chunk_len);
    p.candIdx.assign(merged, -1);
    p.candScore.assign(merged, 0.0f);
    p.keepIdx.assign(a.buffer_tokens, -1);
    p.keepScore.assign(a.buffer_tokens, 0.0f);
    a.keep_count = 0;
    ScopedCpuPool threads(b.context->cpuPool.get());
    runChunks(p, src);
    runFinal(p, src);
  });
}

} // extern "C"
