//===- main.cpp - A minimal host application of proteus_rt ----------------===//
//
// Opens a kernel bundle, plans one layer call at T tokens and runs it on
// zero-mean random input, through the C++ wrapper of the C API.
//
//   host_app BUNDLE_DIR [T]
//
//===----------------------------------------------------------------------===//

#include "proteus_rt/proteus_rt.hpp"

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

    prt_layer_args args{};
    args.B = 1;
    args.T = T;
    args.x = x.data();
    args.w_qkv = wQkv.data();
    args.b_qkv = bQkv.data();
    args.w_proj = wProj.data();
    args.b_proj = bProj.data();
    args.w_router = wRouter.data();
    args.prototypes = protos.data();
    args.usage = usage.data();
    args.confidence = confidence.data();
    args.y = y.data();
    const prt_layer_stats stats = plan.forward(args);

    const prt_plan_info pi = plan.info();
    std::printf("backend %s, alpha %g (setting %lld), mode %s, top_k %lld\n",
                pi.backend == PRT_BACKEND_GPU ? "gpu" : "cpu", pi.alpha,
                static_cast<long long>(pi.setting_index), stats.mode_name,
                static_cast<long long>(stats.top_k));
  } catch (const prt::Error &e) {
    std::fprintf(stderr, "host_app: %s\n", e.what());
    return 1;
  }
  return 0;
}
