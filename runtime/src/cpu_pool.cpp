//===- cpu_pool.cpp - The CPU path's thread pool
//---------------------------===//
//
// The threads that run the CPU library's parallel loops. The library calls
// its hook (contract.h, kCpuParallelForHook), which the runtime points at
// cpuParallelFor: that runs the loop on the pool the calling thread entered
// with ScopedCpuPool, or serially when there is none. Every loop the compiler
// marks parallel has independent iterations, so results do not depend on the
// thread count or on how the range is split.
//
//===----------------------------------------------------------------------===//

#include "internal.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <thread>

namespace proteus_rt {

namespace {
/// The pool the calling thread runs the CPU library's loops on.
thread_local CpuPool *currentPool = nullptr;
/// Set on the pool's own threads: a loop nested in a parallel body runs
/// serially there.
thread_local bool onPoolThread = false;
} // namespace

/// One parallel loop in flight: [0, n) in `chunks` pieces handed out in
/// order by `next`.
struct CpuPool::Job {
  int64_t n = 0, chunks = 0;
  CpuParallelBody body = nullptr;
  void *ctx = nullptr;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};

  /// Runs pieces until none is left; true when this call ran the last one.
  bool work() {
    bool last = false;
    for (int64_t c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) {
      int64_t lo = n * c / chunks, hi = n * (c + 1) / chunks;
      if (lo < hi)
        body(ctx, lo, hi);
      last = done.fetch_add(1) + 1 == chunks;
    }
    return last;
  }
};

CpuPool::CpuPool(int threads) : threads_(std::max(1, threads)) {
  for (int i = 1; i < threads_; ++i)
    workers_.emplace_back([this] { workerLoop(); });
}

CpuPool::~CpuPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread &t : workers_)
    t.join();
}

int CpuPool::defaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void CpuPool::workerLoop() {
  onPoolThread = true;
  uint64_t seen = 0;
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_)
        return;
      seen = generation_;
      job = job_;
    }
    if (job && job->work()) {
      std::lock_guard<std::mutex> lock(mutex_);
      finished_.notify_all();
    }
  }
}

void CpuPool::run(int64_t n, CpuParallelBody body, void *ctx) {
  if (n <= 0)
    return;
  if (threads_ == 1 || n == 1 || onPoolThread) {
    body(ctx, 0, n);
    return;
  }
  // Loops of one parallel call at a time; other callers wait their turn.
  std::lock_guard<std::mutex> serial(runMutex_);
  auto job = std::make_shared<Job>();
  job->n = n;
  // Several pieces a thread, so that uneven iterations even out.
  job->chunks = std::min<int64_t>(n, 8 * static_cast<int64_t>(threads_));
  job->body = body;
  job->ctx = ctx;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = job;
    ++generation_;
  }
  wake_.notify_all();
  onPoolThread = true;
  job->work();
  onPoolThread = false;
  std::unique_lock<std::mutex> lock(mutex_);
  finished_.wait(lock, [&] { return job->done.load() == job->chunks; });
  job_.reset();
}

ScopedCpuPool::ScopedCpuPool(CpuPool *pool) : saved_(currentPool) {
  currentPool = pool;
}

ScopedCpuPool::~ScopedCpuPool() { currentPool = saved_; }

void cpuParallelFor(int64_t n, CpuParallelBody body, void *ctx) {
  if (currentPool)
    currentPool->run(n, body, ctx);
  else if (n > 0)
    body(ctx, 0, n);
}

} // namespace proteus_rt
