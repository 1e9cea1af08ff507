//===- proteus_rt.hpp - Thin C++ wrapper of the C API -----------*- C++ -*-===//
//
// RAII handles over proteus_rt.h that throw prt::Error (status + the
// runtime's message) where the C API returns a status. Header-only; the
// library itself exports only the C API.
//
//   prt::Context ctx;                              // AUTO backend
//   prt::Bundle bundle(ctx, "/path/to/bundle");
//   prt_plan_options o = prt::Plan::defaults();
//   o.B = 1; o.T = 4096;
//   prt::Plan plan(bundle, o);
//   prt_layer_stats stats = plan.forward(args);    // args: prt_layer_args
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RT_PROTEUS_RT_HPP
#define PROTEUS_RT_PROTEUS_RT_HPP

#include "proteus_rt/proteus_rt.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace prt {

/// A failed call: its status and the runtime's message.
class Error : public std::runtime_error {
public:
  Error(prt_status status, const std::string &message)
      : std::runtime_error(std::string(prt_status_name(status)) + ": " +
                           message),
        status_(status) {}
  prt_status status() const noexcept { return status_; }

private:
  prt_status status_;
};

/// Throws Error unless `status` is PRT_OK.
inline void check(prt_status status) {
  if (status != PRT_OK)
    throw Error(status, prt_last_error());
}

namespace detail {
template <typename T, prt_status (*Release)(T *)> struct Releaser {
  void operator()(T *p) const noexcept { Release(p); }
};
} // namespace detail

class Context {
public:
  explicit Context(prt_backend backend = PRT_BACKEND_AUTO) {
    prt_context_options o;
    check(prt_context_options_init(&o));
    o.backend = backend;
    create(o);
  }
  explicit Context(const prt_context_options &options) { create(options); }

  prt_backend_info backend() const {
    prt_backend_info info;
    check(prt_context_backend(get(), &info));
    return info;
  }
  prt_context *get() const { return handle_.get(); }

private:
  void create(const prt_context_options &o) {
    prt_context *c = nullptr;
    check(prt_context_create(&c, &o));
    handle_.reset(c);
  }
  std::unique_ptr<prt_context,
                  detail::Releaser<prt_context, prt_context_destroy>>
      handle_;
};

class Bundle {
public:
  Bundle(const Context &context, const std::string &dir) {
    prt_bundle *b = nullptr;
    check(prt_bundle_open(context.get(), dir.c_str(), &b));
    handle_.reset(b);
  }

  prt_bundle_info info() const {
    prt_bundle_info i;
    check(prt_bundle_get_info(get(), &i));
    return i;
  }
  std::string configJson() const {
    const char *json = nullptr;
    check(prt_bundle_config_json(get(), &json));
    return json;
  }
  void shortlist(const prt_shortlist_args &args) const {
    check(prt_shortlist(get(), &args));
  }
  void shortlistAttention(const prt_shortlist_attention_args &args) const {
    check(prt_shortlist_attention(get(), &args));
  }
  void selectTokens(const prt_select_tokens_args &args) const {
    check(prt_select_tokens(get(), &args));
  }
  prt_bundle *get() const { return handle_.get(); }

private:
  std::unique_ptr<prt_bundle, detail::Releaser<prt_bundle, prt_bundle_close>>
      handle_;
};

class Plan {
public:
  /// Options with the runtime's defaults (B = 1, auto alpha, no history).
  static prt_plan_options defaults() {
    prt_plan_options o;
    check(prt_plan_options_init(&o));
    return o;
  }

  Plan(const Bundle &bundle, const prt_plan_options &options) {
    prt_plan *p = nullptr;
    check(prt_plan_create(bundle.get(), &options, &p));
    handle_.reset(p);
  }

  prt_plan_info info() const {
    prt_plan_info i;
    check(prt_plan_get_info(get(), &i));
    return i;
  }
  std::vector<int64_t> budget() const {
    int64_t size = 0;
    prt_plan_budget(get(), nullptr, 0, &size);
    std::vector<int64_t> b(static_cast<size_t>(size));
    check(prt_plan_budget(get(), b.data(), size, &size));
    return b;
  }
  /// Runs the layer; the statistics are returned (args.stats is ignored).
  prt_layer_stats forward(prt_layer_args args) const {
    prt_layer_stats stats{};
    args.stats = &stats;
    check(prt_layer_forward(get(), &args));
    return stats;
  }
  prt_plan *get() const { return handle_.get(); }

private:
  std::unique_ptr<prt_plan, detail::Releaser<prt_plan, prt_plan_destroy>>
      handle_;
};

} // namespace prt

#endif // PROTEUS_RT_PROTEUS_RT_HPP
