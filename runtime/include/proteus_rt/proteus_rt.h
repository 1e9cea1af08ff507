/*===- proteus_rt.h - The Proteus runtime C API -------------------*- C -*-===*\
|*                                                                            *|
|* Loads kernel bundles produced by proteus-compile and runs them: the whole  *|
|* attention layer (prt_layer_forward) on the CPU library of a bundle or on   *|
|* the GPU from its PTX, the primitives (prt_shortlist,                       *|
|* prt_shortlist_attention, prt_select_tokens, prt_dense_attention) on the    *|
|* CPU library, the attention primitives on the GPU (prt_gpu_*), and PTX      *|
|* modules through the CUDA driver (opened with dlopen at run time) with an   *|
|* in-memory and an on-disk cache of the JIT output.                          *|
|*                                                                            *|
|* Conventions:                                                               *|
|*  - every call returns a prt_status; on failure prt_last_error() says what  *|
|*    went wrong in words (which argument, which file, expected vs actual).   *|
|*  - sizes and counts are int64_t; tensors are dense row-major host buffers  *|
|*    owned by the caller (device addresses, as uint64_t, for prt_gpu_*);     *|
|*    shapes are given in the comments as (B,T,C).                            *|
|*  - handles are reference counted internally: destroying a context before  *|
|*    the bundles, plans and modules made from it is safe.                    *|
|*  - nothing is printed; the host process is never aborted.                  *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef PROTEUS_RT_PROTEUS_RT_H
#define PROTEUS_RT_PROTEUS_RT_H

#include <stdint.h>

#if defined(_WIN32)
#define PRT_API
#else
#define PRT_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*===----------------------------------------------------------------------===*\
|* Status and errors                                                          *|
\*===----------------------------------------------------------------------===*/

typedef enum prt_status {
  PRT_OK = 0,
  PRT_ERR_INVALID_ARGUMENT = 1, /**< a null pointer, a value out of range */
  PRT_ERR_BUNDLE = 2,           /**< the bundle is malformed or damaged */
  PRT_ERR_NOT_FOUND = 3,        /**< no such setting, library, symbol */
  PRT_ERR_UNSUPPORTED = 4,      /**< valid, but this runtime/device can't */
  PRT_ERR_CUDA = 5,             /**< a CUDA driver call failed */
  PRT_ERR_SHAPE = 6,            /**< tensor shapes disagree with the plan */
  PRT_ERR_IO = 7,               /**< reading or writing a file failed */
  PRT_ERR_KERNEL = 8,           /**< a kernel returned inconsistent output */
  PRT_ERR_OUT_OF_MEMORY = 9,
  PRT_ERR_INTERNAL = 10
} prt_status;

/** The runtime's version, "MAJOR.MINOR.PATCH" (the ProteusRuntime CMake
 *  project's VERSION); static, never null. Every Proteus tool's --version
 *  prints it (prt::versionLine in version.h). */
PRT_API const char *prt_version(void);

/** A static name for a status ("PRT_ERR_SHAPE"); never null. */
PRT_API const char *prt_status_name(prt_status status);

/** The message of the last call made by this thread that failed ("" after a
 *  call that succeeded). The text stays valid until this thread's next call. */
PRT_API const char *prt_last_error(void);

/*===----------------------------------------------------------------------===*\
|* Context: the backend (CPU or one CUDA device) and the caches               *|
\*===----------------------------------------------------------------------===*/

typedef struct prt_context prt_context;
typedef struct prt_bundle prt_bundle;
typedef struct prt_plan prt_plan;
typedef struct prt_module prt_module;
/** A kernel of a loaded module (a CUfunction). */
typedef struct prt_function_opaque *prt_function;

typedef enum prt_backend {
  PRT_BACKEND_AUTO = 0, /**< the GPU when a usable one is found, else the CPU */
  PRT_BACKEND_CPU = 1,
  PRT_BACKEND_GPU = 2
} prt_backend;

typedef struct prt_context_options {
  prt_backend backend;
  int32_t device; /**< CUDA device ordinal (default 0) */
  /** The driver library to dlopen; NULL: "libcuda.so.1". */
  const char *cuda_library;
  /** The JIT cache folder; NULL: $PROTEUS_CACHE_DIR, else
   *  $XDG_CACHE_HOME/proteus, else ~/.cache/proteus. */
  const char *cache_dir;
  /** Non-zero: no on-disk cache (as does PROTEUS_DISABLE_CACHE=1). */
  int32_t disable_disk_cache;
  /** Threads of the CPU path's parallel loops; 0: the machine's cores.
   *  Results are bit-identical for every thread count. */
  int32_t cpu_threads;
} prt_context_options;

/** Fills the defaults: AUTO, device 0, everything else NULL/0. */
PRT_API prt_status prt_context_options_init(prt_context_options *options);

/** Creates a context. `options` may be NULL (the defaults). With AUTO the GPU
 *  is used when libcuda.so.1 opens, cuInit succeeds and the device exists;
 *  otherwise the CPU (a missing driver, CUDA_ERROR_STUB_LIBRARY,
 *  CUDA_ERROR_INSUFFICIENT_DRIVER and CUDA_ERROR_NO_DEVICE all mean "no
 *  GPU"). With GPU and no usable GPU: PRT_ERR_UNSUPPORTED (no GPU) or
 *  PRT_ERR_CUDA (a driver call failed). */
PRT_API prt_status prt_context_create(prt_context **context,
                                      const prt_context_options *options);
PRT_API prt_status prt_context_destroy(prt_context *context);

typedef struct prt_backend_info {
  prt_backend backend; /**< PRT_BACKEND_CPU or PRT_BACKEND_GPU */
  char reason[512];    /**< why this backend was chosen */
  int32_t device;      /**< GPU only, as are the fields below */
  int32_t cc_major;    /**< compute capability */
  int32_t cc_minor;
  char arch[16]; /**< "sm_90" */
  char device_name[128];
  int32_t driver_version; /**< cuDriverGetVersion, e.g. 13000 */
} prt_backend_info;

PRT_API prt_status prt_context_backend(const prt_context *context,
                                       prt_backend_info *info);

/** The on-disk JIT cache folder in use; "" when the disk cache is off, with
 *  the reason in `why` (may be NULL). The strings live as long as the
 *  context. */
PRT_API prt_status prt_context_cache_dir(const prt_context *context,
                                         const char **dir, const char **why);

/*===----------------------------------------------------------------------===*\
|* Bundles                                                                    *|
\*===----------------------------------------------------------------------===*/

/** Opens the bundle in folder `dir`: reads and validates manifest.json
 *  (format version, the configuration, the settings) and checks the XXH3-64
 *  checksum of every file it lists. PRT_ERR_BUNDLE names exactly what is
 *  wrong. */
PRT_API prt_status prt_bundle_open(prt_context *context, const char *dir,
                                   prt_bundle **bundle);
PRT_API prt_status prt_bundle_close(prt_bundle *bundle);

typedef struct prt_bundle_info {
  int64_t format_version;
  int64_t num_settings;
  int64_t d_model; /**< C */
  int64_t h_total; /**< H */
  int64_t d_head;  /**< D = C / H */
  int64_t gates;   /**< G */
  int32_t has_cpu_library;
  int32_t num_ptx_archs;
  int64_t budget_size; /**< length of the budget vector (kBudgetSize+H+1) */
} prt_bundle_info;

PRT_API prt_status prt_bundle_get_info(const prt_bundle *bundle,
                                       prt_bundle_info *info);
/** Setting `index` (manifest order): its alpha and density. */
PRT_API prt_status prt_bundle_get_setting(const prt_bundle *bundle,
                                          int64_t index, double *alpha,
                                          double *density);
/** The arch name ("sm_90") of PTX set `index` < num_ptx_archs. */
PRT_API prt_status prt_bundle_get_ptx_arch(const prt_bundle *bundle,
                                           int64_t index, const char **arch);
/** The bundle's configuration as JSON with the golden key names
 *  (golden/README.md); lives as long as the bundle. */
PRT_API prt_status prt_bundle_config_json(const prt_bundle *bundle,
                                          const char **json);

/*===----------------------------------------------------------------------===*\
|* Plans: one (B, T) shape and one compiled setting, reusable                 *|
\*===----------------------------------------------------------------------===*/

typedef struct prt_plan_options {
  int64_t B;     /**< batch size (default 1) */
  int64_t T;     /**< sequence length the schedule is made for (>= 1) */
  int64_t T_max; /**< the longest T a forward may pass; 0: T */
  /** < 0: auto, alpha(T) from the ramp with the prev_alpha history, rounded
   *  to the nearest compiled setting; >= 0: must equal a setting's alpha
   *  within 1e-12 (else PRT_ERR_NOT_FOUND naming the settings). */
  double alpha;
  /** The alpha the layer left after the previous call (prt_plan_info's
   *  alpha_state), for the hysteresis of the ramp; < 0: none. */
  double prev_alpha;
  /** > 0: only settings of this density; <= 0: any density. */
  double density;
  /** Non-zero: apply the prototype/usage/confidence EMA after the forward
   *  (updates the caller's buffers in place); off by default. */
  int32_t update_prototypes;
} prt_plan_options;

PRT_API prt_status prt_plan_options_init(prt_plan_options *options);

/** Resolves alpha and the setting, computes the host schedule for T (the
 *  shared schedule.h math) and prepares the backend: on the CPU, the bundle's
 *  library is opened (once per bundle) and the setting's entry point
 *  resolved; on the GPU, the setting's PTX is loaded through the caches, its
 *  layer kernels resolved and the layer's device scratch allocated for
 *  (B, T_max) (prt_plan_info.scratch_bytes). A context created with AUTO
 *  runs the layer on the bundle's CPU library when the GPU cannot run it (no
 *  PTX for the device's arch; no "gpu_layer" in the manifest; a layer kernel
 *  the setting needs is missing, e.g. the prototype candidate piece) and
 *  says so in backend_reason; a context created with GPU never falls back
 *  (PRT_ERR_UNSUPPORTED without PTX for its arch; a plan whose layer cannot
 *  run on the GPU says why in backend_reason, and prt_layer_forward returns
 *  PRT_ERR_UNSUPPORTED with the same words). */
PRT_API prt_status prt_plan_create(prt_bundle *bundle,
                                   const prt_plan_options *options,
                                   prt_plan **plan);
PRT_API prt_status prt_plan_destroy(prt_plan *plan);

typedef struct prt_plan_info {
  prt_backend backend; /**< where prt_layer_forward runs */
  char backend_reason[512];
  int64_t B, T, T_max;
  int64_t setting_index;
  double alpha;          /**< the setting's alpha: what the kernels run with */
  double alpha_schedule; /**< alpha from the ramp (or the caller) */
  /** The alpha the layer leaves for the next call's hysteresis (the
   *  reference's stored alpha: unchanged on the dense fast path, 0 for a new
   *  layer). Pass it as the next plan's prev_alpha. */
  double alpha_state;
  double density;       /**< the setting's density (keep ratio at alpha 0) */
  int32_t token_sparse; /**< the configuration selects tokens */
  double keep_ratio;    /**< r(alpha, T) when token_sparse, else density */
  int32_t fast_path;    /**< T <= small_seq_dense: dense, all heads */
  int32_t prefer_dense; /**< alpha <= dense_alpha_cutoff (and not INT8) */
  int32_t no_dense;     /**< alpha >= 0.95 cancels every dense reason */
  int32_t update_prototypes;
  int64_t k_dense;    /**< k(T) */
  int64_t top_k;      /**< topk(alpha) for k_adapt = k_dense */
  int64_t token_mode; /**< 0: no mask, 1: keep all, 2: select */
  int64_t token_keep; /**< tokens kept per batch item when selecting */
  int64_t effective_L, window, local_cap, anchor_cap, proto_cap;
  /** GPU layer plans: device bytes of the plan's scratch (0 otherwise) */
  int64_t scratch_bytes;
} prt_plan_info;

PRT_API prt_status prt_plan_get_info(const prt_plan *plan, prt_plan_info *info);

/** Copies the plan's budget vector (contract.h BudgetSlot layout) into
 *  `budget` (capacity elements); `*size` receives its length. */
PRT_API prt_status prt_plan_budget(const prt_plan *plan, int64_t *budget,
                                   int64_t capacity, int64_t *size);

/*===----------------------------------------------------------------------===*\
|* The layer                                                                  *|
\*===----------------------------------------------------------------------===*/

typedef struct prt_layer_stats {
  int64_t mode;          /**< contract.h Mode */
  const char *mode_name; /**< "shortlist", "dense_fastpath", ... (static) */
  int64_t dense_reason;  /**< contract.h DenseReason */
  const char *dense_reason_name; /**< "none", "alpha", "density", "full" */
  int64_t top_k;
  int64_t nucleus_k; /**< -1 when the head nucleus is off */
  int64_t k_adapt;
  int64_t max_active_rows;
  int64_t active_rows; /**< (b, h) rows with an active token */
  int64_t packed;      /**< active (row, token) pairs */
  int64_t setting_index;
  double alpha;
} prt_layer_stats;

/** A CUstream, e.g. from the driver or a framework
 *  (torch.cuda.current_stream().cuda_stream), of the context's device; NULL
 *  is the legacy default stream. */
typedef struct prt_stream_opaque *prt_stream;

/** One forward call. Pointers are buffers (f32 unless noted) of the shapes
 *  given, C = d_model, G = gates: host memory on a CPU plan, device memory
 *  of the context (cast the CUdeviceptr to the pointer type) on a GPU plan
 *  (prt_plan_info.backend). A GPU call is asynchronous on `stream` unless
 *  `stats` is given (the stats are then copied back, which waits for the
 *  call); it allocates nothing, and copies the budget vector to the device
 *  only when T differs from the previous call's: calls at one T without
 *  `stats` launch kernels and memsets only, so they can be captured in a
 *  CUDA graph (make one uncaptured call at that T first). Calls on
 *  one GPU plan share its device scratch: issue them on one stream (or order
 *  their streams). Arguments are checked before anything is launched, device
 *  pointers against the driver's allocations. */
typedef struct prt_layer_args {
  int64_t B;             /**< must equal the plan's B */
  int64_t T;             /**< 1 <= T <= T_max */
  const float *x;        /**< (B,T,C) */
  const float *w_qkv;    /**< (3C,C) */
  const float *b_qkv;    /**< (3C); required iff the config has bias */
  const float *w_proj;   /**< (C,C) */
  const float *b_proj;   /**< (C); required iff the config has bias */
  const float *w_router; /**< (G,C) */
  float *prototypes;     /**< (G,C); required iff prototypes are enabled */
  float *usage;          /**< (G) */
  float *confidence;     /**< (G) */
  float *y;              /**< (B,T,C) output */
  /** (B,T) int8 output: 1 kept, 0 dropped (all ones without token
   *  selection); NULL: not returned. */
  int8_t *token_mask;
  /** (B,T) output; 0 on the dense fast path; NULL: not returned. */
  float *importance;
  prt_layer_stats *stats; /**< output; may be NULL */
  prt_stream stream;      /**< GPU plans: the stream (NULL: default) */
  /** Output, NULL: not returned. The head consensus (REFERENCE.md 2.13):
   *  the concatenated head outputs before the output projection, 0 for the
   *  heads a token did not select and for tokens the mask drops; (B,C) at
   *  the last position of each batch item (Top-A's input, prt_top_a), or
   *  (B,T,C) at every position with consensus_all_positions. */
  float *consensus;
  int32_t consensus_all_positions;
} prt_layer_args;

/** Runs the layer. With T different from the plan's T the budgets are
 *  recomputed for T at the plan's alpha. A plan runs one call at a time
 *  (calls on one plan from several threads are serialised). */
PRT_API prt_status prt_layer_forward(prt_plan *plan,
                                     const prt_layer_args *args);

/*===----------------------------------------------------------------------===*\
|* Primitives (the bundle's CPU library, host buffers)                        *|
\*===----------------------------------------------------------------------===*/

/** Length of the budget vector the primitives take. */
PRT_API prt_status prt_bundle_budget_size(const prt_bundle *bundle,
                                          int64_t *size);

typedef struct prt_shortlist_args {
  int64_t N;           /**< query rows */
  const int64_t *rows; /**< (N) query positions in [0, T) */
  int64_t B, T;
  const float *proto_scores; /**< (B,T); NULL: zeros */
  const int64_t *batch_ids;  /**< (N) in [0, B); NULL: zeros */
  const int64_t *budget;     /**< budget_size values; [kBudgetT] == T */
  int64_t budget_size;
  int64_t L;           /**< == budget[kBudgetEffectiveL] */
  int64_t *candidates; /**< (N,L) output */
  int64_t *lengths;    /**< (N) output */
} prt_shortlist_args;

/** The candidate rule (REFERENCE.md 5.1), materialised. */
PRT_API prt_status prt_shortlist(prt_bundle *bundle,
                                 const prt_shortlist_args *args);

typedef struct prt_shortlist_attention_args {
  int64_t R, T, D;
  const float *q, *k, *v;      /**< (R,T,D) each */
  int64_t N;                   /**< packed (row, token) pairs */
  const int64_t *packed_row;   /**< (N) in [0, R) */
  const int64_t *packed_token; /**< (N) in [0, T) */
  int64_t L;
  const int64_t *candidates; /**< (N,L), the first lengths[n] in [0,T) */
  const int64_t *lengths;    /**< (N) in [1, L] */
  float *out;                /**< (R,T,D) output, 0 where not packed */
} prt_shortlist_attention_args;

/** Softmax attention of the packed queries over their candidates, scale
 *  1/sqrt(D) (REFERENCE.md 5.2). Indices are checked before the call. */
PRT_API prt_status prt_shortlist_attention(
    prt_bundle *bundle, const prt_shortlist_attention_args *args);

typedef struct prt_select_tokens_args {
  int64_t B, T;
  const float *importance; /**< (B,T) */
  /** budget_size values; reads [kBudgetTokenKeep] (>= 0) and [kBudgetGuard]
   *  (in [0, T]); [kBudgetT] == T */
  const int64_t *budget;
  int64_t budget_size;
  int8_t *token_mask; /**< (B,T) output: 1 kept, 0 dropped */
} prt_select_tokens_args;

/** Token selection (REFERENCE.md 3.2) per batch item: the kBudgetTokenKeep
 *  most important tokens (ties to the lower index), every token at or above
 *  the configuration's token_keep_threshold when it is positive, and the
 *  first kBudgetGuard tokens. */
PRT_API prt_status prt_select_tokens(prt_bundle *bundle,
                                     const prt_select_tokens_args *args);

typedef struct prt_dense_attention_args {
  int64_t R, T, D;
  const float *q, *k, *v; /**< (R,T,D) each */
  float *out;             /**< (R,T,D) output */
} prt_dense_attention_args;

/** Causal softmax attention of every query over keys 0..t, scale 1/sqrt(D)
 *  (the dense mode's kernel, REFERENCE.md 2.11). */
PRT_API prt_status prt_dense_attention(prt_bundle *bundle,
                                       const prt_dense_attention_args *args);

/*===----------------------------------------------------------------------===*\
|* PTX modules and raw launches (GPU contexts)                                *|
\*===----------------------------------------------------------------------===*/

typedef enum prt_module_source {
  PRT_MODULE_JIT = 0,          /**< compiled from PTX by this call */
  PRT_MODULE_MEMORY_CACHE = 1, /**< already loaded in this context */
  PRT_MODULE_DISK_CACHE = 2    /**< cubin read from the on-disk cache */
} prt_module_source;

typedef struct prt_module_info {
  prt_module_source source;
  uint64_t key; /**< XXH3-64 of (PTX, arch, driver version) */
  char arch[16];
  /** What happened to the disk cache entry when it was not a clean hit or
   *  miss (a damaged entry rebuilt, a failed store); "" otherwise. */
  char cache_note[512];
} prt_module_info;

/** JIT-loads `size` bytes of PTX (NUL-terminated or not) for `arch`
 *  ("sm_90"; NULL: the device's). Modules are cached per context by content
 *  and, unless disabled, the cubin on disk keyed by XXH3 of PTX, arch and
 *  driver version. A JIT failure returns PRT_ERR_CUDA with the JIT log. */
PRT_API prt_status prt_module_load_ptx(prt_context *context, const char *ptx,
                                       int64_t size, const char *arch,
                                       prt_module **module);
PRT_API prt_status prt_module_unload(prt_module *module);
PRT_API prt_status prt_module_get_info(const prt_module *module,
                                       prt_module_info *info);
PRT_API prt_status prt_module_get_function(prt_module *module, const char *name,
                                           prt_function *function);

PRT_API prt_status prt_device_alloc(prt_context *context, int64_t bytes,
                                    uint64_t *device_ptr);
PRT_API prt_status prt_device_free(prt_context *context, uint64_t device_ptr);
PRT_API prt_status prt_memcpy_htod(prt_context *context, uint64_t dst,
                                   const void *src, int64_t bytes);
PRT_API prt_status prt_memcpy_dtoh(prt_context *context, void *dst,
                                   uint64_t src, int64_t bytes);
/** Launches `function` and waits for it; `params` as for cuLaunchKernel. */
PRT_API prt_status prt_launch(prt_context *context, prt_function function,
                              const int64_t grid[3], const int64_t block[3],
                              int64_t shared_bytes, void **params);

/*===----------------------------------------------------------------------===*\
|* Streams and events (GPU contexts)                                          *|
\*===----------------------------------------------------------------------===*/

/** A CUevent made by prt_event_create. */
typedef struct prt_event_opaque *prt_event;

PRT_API prt_status prt_stream_synchronize(prt_context *context,
                                          prt_stream stream);
PRT_API prt_status prt_event_create(prt_context *context, prt_event *event);
PRT_API prt_status prt_event_destroy(prt_context *context, prt_event event);
PRT_API prt_status prt_event_record(prt_context *context, prt_event event,
                                    prt_stream stream);
/** Waits for `end`, then gives the milliseconds between the two records. */
PRT_API prt_status prt_event_elapsed_ms(prt_context *context, prt_event start,
                                        prt_event end, float *ms);

/*===----------------------------------------------------------------------===*\
|* Attention on the GPU (device buffers, a setting's PTX)                     *|
|*                                                                            *|
|* The kernels of setting `setting` come from the bundle's PTX for the        *|
|* context's device, JIT-loaded through the caches on the first call and     *|
|* kept by the bundle. Calls are asynchronous: they enqueue on `stream` and   *|
|* return; a fault inside a kernel surfaces at the next synchronising call    *|
|* (prt_stream_synchronize, prt_memcpy_dtoh). Shapes, dtype, the setting,     *|
|* the budget and every device pointer (alignment, overlap of out with the    *|
|* inputs, and that each allocation holds the whole tensor) are checked       *|
|* before anything is launched; index contents only with check_indices.      *|
\*===----------------------------------------------------------------------===*/

/** Element type of q, k, v and out (accumulation is always fp32). */
typedef enum prt_dtype {
  PRT_DTYPE_F32 = 0,
  PRT_DTYPE_BF16 = 1,
  PRT_DTYPE_F16 = 2
} prt_dtype;

/** "f32", "bf16", "f16"; "unknown" for any other value. Never null. */
PRT_API const char *prt_dtype_name(prt_dtype dtype);
/** Bytes per element: 4, 2, 2; 0 for any other value. */
PRT_API int64_t prt_dtype_size(prt_dtype dtype);

typedef struct prt_gpu_shortlist_attention_args {
  int64_t setting; /**< manifest index: whose PTX module runs */
  prt_dtype dtype;
  int64_t R, T, D;       /**< D must be the bundle's head dim */
  uint64_t q, k, v;      /**< device (R,T,D) each */
  uint64_t out;          /**< device (R,T,D) output, 0 where not packed */
  int64_t N;             /**< packed (row, token) queries */
  uint64_t packed_row;   /**< device int64 (N) in [0, R) */
  uint64_t packed_token; /**< device int64 (N) in [0, T) */
  /** Listed form (candidates != 0): query n attends to the first
   *  lengths[n] entries of candidates[n, :]. */
  int64_t L;           /**< width of candidates */
  uint64_t candidates; /**< device int64 (N,L) in [0, T); 0: rule form */
  uint64_t lengths;    /**< device int64 (N) in [1, L] */
  /** Rule form (candidates == 0): the candidate rule (REFERENCE.md 5.1)
   *  evaluated in the kernel with this host budget vector, which must be the
   *  setting's at T (prt_plan_budget of a plan on this setting, or
   *  makeBudget); the kernel has no rule with the prototype piece above
   *  L_max kGpuProtoPieceMaxL (PRT_ERR_UNSUPPORTED quoting the manifest's
   *  gpu_note). With INT8 (quantize_sparse_int8) the rule form quantizes q,
   *  k and v per row as the layer does (REFERENCE.md 6.4), with scales in
   *  stream-ordered scratch (cuMemAllocAsync, R * 3 floats); the listed form
   *  never quantizes. */
  const int64_t *budget;
  int64_t budget_size;
  prt_stream stream;
  /** Non-zero: copy the index arrays to the host and check their values
   *  before launching (synchronises; for debugging). */
  int32_t check_indices;
  /** Rule form, where the configuration uses the prototype piece: the
   *  device f32 (B,T) scores it picks from (as prt_shortlist's
   *  proto_scores), B dividing R (row r is batch item r / (R / B)).
   *  Otherwise 0 and 0. */
  uint64_t proto_scores;
  int64_t B;
} prt_gpu_shortlist_attention_args;

/** Shortlist attention of the packed queries (REFERENCE.md 5.2): zero-fills
 *  out, then one warp per query. */
PRT_API prt_status prt_gpu_shortlist_attention(
    prt_bundle *bundle, const prt_gpu_shortlist_attention_args *args);

typedef struct prt_gpu_dense_attention_args {
  int64_t setting; /**< manifest index: whose PTX module runs */
  prt_dtype dtype;
  int64_t R, T, D;  /**< D must be the bundle's head dim */
  uint64_t q, k, v; /**< device (R,T,D) each */
  uint64_t out;     /**< device (R,T,D) output */
  prt_stream stream;
} prt_gpu_dense_attention_args;

/** Causal attention of every query over keys 0..t (as prt_dense_attention). */
PRT_API prt_status prt_gpu_dense_attention(
    prt_bundle *bundle, const prt_gpu_dense_attention_args *args);

/*===----------------------------------------------------------------------===*\
|* Top-A sampling (REFERENCE.md 8)                                            *|
\*===----------------------------------------------------------------------===*/

typedef enum prt_top_a_mode {
  PRT_TOP_A_OFF = 0,   /**< the nucleus alone */
  PRT_TOP_A_BLEND = 1, /**< logits + lambda * agreement */
  PRT_TOP_A_FILTER = 2 /**< agreement >= threshold (all if none), then blend */
} prt_top_a_mode;

/** One Top-A step for B rows. On prt_top_a the pointers are host memory; on
 *  prt_gpu_top_a device memory of the bundle's context (CUdeviceptr cast to
 *  the pointer type). */
typedef struct prt_top_a_args {
  int64_t B, V, C;
  /** Element type of logits and embedding: PRT_DTYPE_F32 or PRT_DTYPE_BF16
   *  (bf16 as uint16_t bit patterns); arithmetic is fp32. */
  prt_dtype dtype;
  const void *logits;     /**< (B,V) */
  const float *consensus; /**< (B,C), e.g. prt_layer_args.consensus; NULL
                               only with PRT_TOP_A_OFF */
  const void *embedding;  /**< (V,C); NULL only with PRT_TOP_A_OFF; only the
                               nucleus tokens' rows are read */
  const float *uniform;   /**< (B) in [0, 1): the draw of each row */
  prt_top_a_mode mode;
  double top_p;      /**< in [0, 1]; below 1e-6 counts as 1e-6 */
  double lambda;     /**< finite */
  double tau;        /**< > 0, finite; below 1e-5 counts as 1e-5 */
  double threshold;  /**< PRT_TOP_A_FILTER: not NaN; otherwise unused */
  int64_t *kept;     /**< (B,V) output: kept token ids in nucleus order, then
                          -1 */
  float *probs;      /**< (B,V) output: their probabilities, then 0 */
  int64_t *counts;   /**< (B,2) output: nucleus size, kept count */
  int64_t *sample;   /**< (B) output: the kept token drawn by uniform[b] */
  prt_stream stream; /**< prt_gpu_top_a: the stream (NULL: default) */
} prt_top_a_args;

/** Top-A (REFERENCE.md 8, SPEC.md 1 item 13) on the bundle's CPU library:
 *  the binary32 softmax of each row's logits; the nucleus in descending
 *  probability order (ties to the lower id) while the running sum (binary64,
 *  rounded to binary32) is <= top_p, the first always; each nucleus token's
 *  agreement cos(consensus, embedding row) / tau; the filter or blend; the
 *  binary32 softmax over the kept tokens; and the inverse-CDF draw: the first
 *  kept token whose cumulative probability exceeds uniform[b] times their
 *  sum. Arguments are checked before the call. */
PRT_API prt_status prt_top_a(prt_bundle *bundle, const prt_top_a_args *args);

/** The same step on the GPU (the bundle's PTX for the context's device, the
 *  kernels of setting 0): the stages of contract.h's kTopAStages, spread
 *  over the GPU from V = 8192 on (up to six launches), asynchronous on
 *  args->stream.
 *  A row whose distribution is so flat that more than
 *  kGpuTopAMaxCandidates (contract.h, 2048) tokens are needed to reach
 *  top_p gets counts (-1, -1) and sample -1 (kept -1, probs 0): check
 *  counts, or use prt_top_a for such rows. The uniform numbers are not
 *  checked on the device (values outside [0, 1) draw the first or the last
 *  kept token). */
PRT_API prt_status prt_gpu_top_a(prt_bundle *bundle,
                                 const prt_top_a_args *args);


/*===----------------------------------------------------------------------===*\
|* The chunked shortlist pipeline (REFERENCE.md 7, SPEC.md 3)                 *|
|*                                                                            *|
|* A sequence longer than a layer call can take is streamed in chunks of      *|
|* chunk_len tokens through a chunk-pass layer (its output discarded); each   *|
|* chunk promotes the nucleus of its token importance (tokens outside its     *|
|* token mask excluded, at most per_chunk_budget), the best buffer_tokens     *|
|* promoted tokens of the whole sequence are kept in position order, and one  *|
|* final-pass layer call runs over those rows (positions renumbered 0..K-1). *|
|* Both passes use the caller's plans and weights; the chunk plan's           *|
|* prototype EMA (plan option update_prototypes) carries across chunks in     *|
|* order, in the caller's prototype buffers. Memory is fixed by chunk_len,    *|
|* buffer_tokens and C, whatever T is (prt_chunked_plan_info). This release  *|
|* runs it on CPU plans (host buffers); a GPU plan gets PRT_ERR_UNSUPPORTED.  *|
\*===----------------------------------------------------------------------===*/

/** The layer weights of one pass (as in prt_layer_args; host memory). */
typedef struct prt_chunked_weights {
  const float *w_qkv, *b_qkv, *w_proj, *b_proj, *w_router;
  float *prototypes, *usage, *confidence; /**< updated when the plan's EMA is on */
} prt_chunked_weights;

/** What the progress callback sees after each chunk; the pointers are valid
 *  during the call only. */
typedef struct prt_chunk_report {
  int64_t index, chunks;   /**< this chunk, of how many */
  int64_t start, end;      /**< its tokens [start, end) */
  const float *importance; /**< (end - start) the chunk model's importance */
  const int8_t *token_mask; /**< (end - start) its token mask */
  int64_t promoted_count;  /**< tokens promoted by the nucleus */
  const int64_t *promoted; /**< their global positions, in score order */
  const float *scores;     /**< their scores (importance) */
} prt_chunk_report;

/** Return 0 to go on, anything else to stop: prt_chunked_run then returns
 *  PRT_ERR_INVALID_ARGUMENT "cancelled by the progress callback at chunk i"
 *  with no final output. */
typedef int (*prt_chunked_progress)(const prt_chunk_report *report,
                                    void *user);

/** One summary per chunk (prt_chunked_args.summaries). */
typedef struct prt_chunk_summary {
  int64_t start, end;
  int64_t masked_in;      /**< tokens its token mask keeps */
  int64_t promoted;       /**< tokens promoted by its nucleus */
  float max_score;        /**< its best promoted score (-inf when none) */
} prt_chunk_summary;

typedef struct prt_chunked_args {
  int64_t T, C;             /**< tokens, d_model */
  int64_t chunk_len;        /**< 1 .. 65536 */
  int64_t buffer_tokens;    /**< K >= 1: the final pass's tokens at most */
  int64_t per_chunk_budget; /**< >= 1 */
  double nucleus_top_p;     /**< in (0, 1] */
  /** The sequence: `x` (T, C) rows in host memory, or NULL and `path`, a
   *  file of raw little-endian rows (T, C) read chunk by chunk. */
  const void *x;
  const char *path;
  prt_dtype dtype; /**< of the rows: PRT_DTYPE_F32 or PRT_DTYPE_BF16 */
  /** Any bundle of this release: its CPU library's primitives run the
   *  nucleus and the merge. */
  prt_bundle *bundle;
  prt_plan *chunk_plan; /**< B 1, T_max >= chunk_len */
  prt_plan *final_plan; /**< B 1, T_max >= buffer_tokens */
  prt_chunked_weights chunk_weights, final_weights;
  prt_chunked_progress progress; /**< NULL: none */
  void *progress_user;
  /* Results (outputs; NULL where noted: not returned). */
  int64_t *keep_indices; /**< (buffer_tokens) ascending; -1 after keep_count */
  float *keep_scores;    /**< (buffer_tokens); 0 after keep_count */
  int64_t keep_count;    /**< output: K' = min(K, tokens promoted) */
  float *reduced;        /**< (buffer_tokens, C) f32 x[keep]; NULL: not */
  float *final_output;   /**< (buffer_tokens, C); rows after K' are 0 */
  prt_chunk_summary *summaries; /**< (ceil(T / chunk_len)); NULL: not */
} prt_chunked_args;

typedef struct prt_chunked_info {
  int64_t chunks;         /**< ceil(T / chunk_len) */
  int64_t working_bytes;  /**< the pipeline's own buffers: fixed by
                               chunk_len, buffer_tokens, budget and C */
} prt_chunked_info;

/** The memory prt_chunked_run allocates for `args` (shapes only read). */
PRT_API prt_status prt_chunked_plan_info(const prt_chunked_args *args,
                                         prt_chunked_info *info);

/** Runs the pipeline; fills the results of `args`. */
PRT_API prt_status prt_chunked_run(prt_chunked_args *args);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PROTEUS_RT_PROTEUS_RT_H */
