//===- streams.cpp - Streams and events of a GPU context ------------------===//
//
// The few driver calls a caller of the asynchronous prt_gpu_* entry points
// needs to wait for them and to time them, so that a program linked with
// proteus_rt alone can do both.
//
//===----------------------------------------------------------------------===//

#include "internal.h"

using namespace proteus_rt;

namespace {

cu::Event toEvent(prt_event e) { return reinterpret_cast<cu::Event>(e); }
cu::Stream toStream(prt_stream s) { return reinterpret_cast<cu::Stream>(s); }

} // namespace

extern "C" {

prt_status prt_stream_synchronize(prt_context *context, prt_stream stream) {
  return guardedCall([&] {
    ContextImpl &ctx = gpuContext(context);
    ScopedCuContext scope(ctx);
    ctx.check(ctx.cuda->streamSynchronize(toStream(stream)),
              "cuStreamSynchronize");
  });
}

prt_status prt_event_create(prt_context *context, prt_event *event) {
  return guardedCall([&] {
    need(event, "event");
    *event = nullptr;
    ContextImpl &ctx = gpuContext(context);
    ScopedCuContext scope(ctx);
    cu::Event e = nullptr;
    ctx.check(ctx.cuda->eventCreate(&e, cu::kEventDefault), "cuEventCreate");
    *event = reinterpret_cast<prt_event>(e);
  });
}

prt_status prt_event_destroy(prt_context *context, prt_event event) {
  return guardedCall([&] {
    ContextImpl &ctx = gpuContext(context);
    if (!event)
      return;
    ScopedCuContext scope(ctx);
    ctx.check(ctx.cuda->eventDestroy(toEvent(event)), "cuEventDestroy");
  });
}

prt_status prt_event_record(prt_context *context, prt_event event,
                            prt_stream stream) {
  return guardedCall([&] {
    ContextImpl &ctx = gpuContext(context);
    need(event, "event");
    ScopedCuContext scope(ctx);
    ctx.check(ctx.cuda->eventRecord(toEvent(event), toStream(stream)),
              "cuEventRecord");
  });
}

prt_status prt_event_elapsed_ms(prt_context *context, prt_event start,
                                prt_event end, float *ms) {
  return guardedCall([&] {
    ContextImpl &ctx = gpuContext(context);
    need(start, "start");
    need(end, "end");
    need(ms, "ms");
    ScopedCuContext scope(ctx);
    ctx.check(ctx.cuda->eventSynchronize(toEvent(end)), "cuEventSynchronize");
    ctx.check(ctx.cuda->eventElapsedTime(ms, toEvent(start), toEvent(end)),
              "cuEventElapsedTime");
  });
}

} // extern "C"
