//===- main.cpp - A minimal host application of proteus_rt ----------------===//
//
// Opens a kernel bundle, plans one layer call at T tokens and runs it on
// zero-mean random input, through the C++ wrapper of the C API. A GPU plan
// takes device buffers: the app copies its inputs there and y back.
//
//   host_app BUNDLE_DIR [T]
//
//===----------------------------------------------------------------------===//

#include "proteus_rt/proteus_rt.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BUNDLE_DIR [T]\n", argv[0]);
    return 2;
  }
  const int64_t T = argc > 2 ? std::atoll(argv[2]) : 256;
  try {
    prt::Context context; // AUTO: the GPU when usable, else the CPU
    prt::Bundle bundle(context, argv[1]);
    const prt_bundle_info info = bundle.info();

    prt_plan_options options = prt::Plan::defaults();
    options.B = 1;
    options.T = T;
    prt::Plan plan(bundle, options);

    const int64_t C = info.d_model, G = info.gates;
    std::mt19937 rng(0);
    std::normal_distribution<float> normal(0.0f, 0.1f);
    auto random = [&](int64_t n) {
      std::vector<float> v(static_cast<size_t>(n));
      for (float &f : v)
        f = normal(rng);
      return v;
    };
    std::vector<float> x = random(T * C), wQkv = random(3 * C * C),
                       bQkv = random(3 * C), wProj = random(C * C),
                       bProj = random(C), wRouter = random(G * C),
                       protos = random(G * C);
    std::vector<float> usage(static_cast<size_t>(G), 0.0f),
        confidence(static_cast<size_t>(G), 1.0f), y(static_cast<size_t>(T * C));

    const prt_plan_info pi = plan.info();
    const bool gpu = pi.backend == PRT_BACKEND_GPU;
    std::vector<uint64_t> device;
    // The buffer the call reads or writes: the host vector itself, or its
    // device copy on a GPU plan.
    auto place = [&](std::vector<float> &v) -> float * {
      if (!gpu)
        return v.data();
      uint64_t d = 0;
      const int64_t bytes = static_cast<int64_t>(v.size() * sizeof(float));
      prt::check(prt_device_alloc(context.get(), bytes, &d));
      device.push_back(d);
      prt::check(prt_memcpy_htod(context.get(), d, v.data(), bytes));
      return reinterpret_cast<float *>(d);
    };
    prt_layer_args args{};
    args.B = 1;
    args.T = T;
    args.x = place(x);
    args.w_qkv = place(wQkv);
    args.b_qkv = place(bQkv);
    args.w_proj = place(wProj);
    args.b_proj = place(bProj);
    args.w_router = place(wRouter);
    args.prototypes = place(protos);
    args.usage = place(usage);
    args.confidence = place(confidence);
    args.y = place(y);
    const prt_layer_stats stats = plan.forward(args);
    if (gpu) {
      prt::check(prt_memcpy_dtoh(context.get(), y.data(),
                                 reinterpret_cast<uint64_t>(args.y),
                                 static_cast<int64_t>(y.size() * 4)));
      for (uint64_t d : device)
        prt_device_free(context.get(), d);
    }
    double sum = 0;
    for (float v : y)
      sum += static_cast<double>(v) * v;

    std::printf("backend %s, alpha %g (setting %lld), mode %s, top_k %lld, "
                "|y| %.6g\n",
                gpu ? "gpu" : "cpu", pi.alpha,
                static_cast<long long>(pi.setting_index), stats.mode_name,
                static_cast<long long>(stats.top_k), std::sqrt(sum));
  } catch (const prt::Error &e) {
    std::fprintf(stderr, "host_app: %s\n", e.what());
    return 1;
  }
  return 0;
}
