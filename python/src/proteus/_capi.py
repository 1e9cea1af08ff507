"""The ctypes mirror of the Proteus runtime's C API (runtime/include/proteus_rt/proteus_rt.h): the
one Python binding of libproteus_rt, used by the package (proteus.compile, proteus.Layer) and by
the benchmark harness (benchmarks/). Standard library only.

The structures below are written as C field lists, in header order, with the header's C types.
`check_header(path)` parses the header and compares every mirrored structure field by field (the
test python/tests/test_capi.py runs it), and `Runtime` also checks, on every call that fills a
structure, that the library wrote nothing past the size this module thinks the structure has. A
header change therefore stops with the field that differs instead of silently corrupting a call.
When the header changes, edit the field list here to match (the check says what to change).

Pointers are passed as integers (c_void_p): host addresses for CPU plans, device addresses
(torch's tensor.data_ptr()) for GPU plans.

The library: $PROTEUS_RT_LIB when set, else the libproteus_rt.so.0 that `pip install ./python`
put beside this file (proteus/_lib/).
"""
import ctypes
import os
import re
import threading

# C type (as written in the header, `const` dropped) -> ctypes type.
_CTYPES = {
    "int64_t": ctypes.c_int64,
    "int32_t": ctypes.c_int32,
    "uint64_t": ctypes.c_uint64,
    "double": ctypes.c_double,
    "char*": ctypes.c_char_p,
    "prt_backend": ctypes.c_int,
    "prt_dtype": ctypes.c_int,
    "prt_stream": ctypes.c_void_p,
    "prt_top_a_mode": ctypes.c_int,
    "float": ctypes.c_float,
}


def _ctype(c_type):
    """The ctypes type of a C type string ("float*", "char[512]", "int64_t")."""
    m = re.fullmatch(r"(\w+)\[(\d+)\]", c_type)
    if m:
        element = ctypes.c_char if m.group(1) == "char" else _CTYPES[m.group(1)]
        return element * int(m.group(2))
    if c_type in _CTYPES:
        return _CTYPES[c_type]
    if c_type.endswith("*"):
        return ctypes.c_void_p  # every other pointer: an address
    raise KeyError(f"proteus/_capi.py has no ctypes type for C type '{c_type}'")


def _struct(name, fields):
    """A ctypes.Structure named `name` from [(field, C type), ...]; keeps the C types."""
    cls = type(name, (ctypes.Structure,), {"_fields_": [(f, _ctype(t)) for f, t in fields]})
    cls.c_fields = list(fields)
    return cls


# The mirrored structures, field for field as in proteus_rt.h.
prt_context_options = _struct("prt_context_options", [
    ("backend", "prt_backend"),
    ("device", "int32_t"),
    ("cuda_library", "char*"),
    ("cache_dir", "char*"),
    ("disable_disk_cache", "int32_t"),
    ("cpu_threads", "int32_t"),
])

prt_backend_info = _struct("prt_backend_info", [
    ("backend", "prt_backend"),
    ("reason", "char[512]"),
    ("device", "int32_t"),
    ("cc_major", "int32_t"),
    ("cc_minor", "int32_t"),
    ("arch", "char[16]"),
    ("device_name", "char[128]"),
    ("driver_version", "int32_t"),
])

prt_bundle_info = _struct("prt_bundle_info", [
    ("format_version", "int64_t"),
    ("num_settings", "int64_t"),
    ("d_model", "int64_t"),
    ("h_total", "int64_t"),
    ("d_head", "int64_t"),
    ("gates", "int64_t"),
    ("has_cpu_library", "int32_t"),
    ("num_ptx_archs", "int32_t"),
    ("budget_size", "int64_t"),
])

prt_plan_options = _struct("prt_plan_options", [
    ("B", "int64_t"),
    ("T", "int64_t"),
    ("T_max", "int64_t"),
    ("alpha", "double"),
    ("prev_alpha", "double"),
    ("density", "double"),
    ("update_prototypes", "int32_t"),
])

prt_plan_info = _struct("prt_plan_info", [
    ("backend", "prt_backend"),
    ("backend_reason", "char[512]"),
    ("B", "int64_t"), ("T", "int64_t"), ("T_max", "int64_t"),
    ("setting_index", "int64_t"),
    ("alpha", "double"),
    ("alpha_schedule", "double"),
    ("alpha_state", "double"),
    ("density", "double"),
    ("token_sparse", "int32_t"),
    ("keep_ratio", "double"),
    ("fast_path", "int32_t"),
    ("prefer_dense", "int32_t"),
    ("no_dense", "int32_t"),
    ("update_prototypes", "int32_t"),
    ("k_dense", "int64_t"),
    ("top_k", "int64_t"),
    ("token_mode", "int64_t"),
    ("token_keep", "int64_t"),
    ("effective_L", "int64_t"), ("window", "int64_t"), ("local_cap", "int64_t"),
    ("anchor_cap", "int64_t"), ("proto_cap", "int64_t"),
    ("scratch_bytes", "int64_t"),
])

prt_layer_stats = _struct("prt_layer_stats", [
    ("mode", "int64_t"),
    ("mode_name", "char*"),
    ("dense_reason", "int64_t"),
    ("dense_reason_name", "char*"),
    ("top_k", "int64_t"),
    ("nucleus_k", "int64_t"),
    ("k_adapt", "int64_t"),
    ("max_active_rows", "int64_t"),
    ("active_rows", "int64_t"),
    ("packed", "int64_t"),
    ("setting_index", "int64_t"),
    ("alpha", "double"),
])

prt_layer_args = _struct("prt_layer_args", [
    ("B", "int64_t"),
    ("T", "int64_t"),
    ("x", "float*"),
    ("w_qkv", "float*"),
    ("b_qkv", "float*"),
    ("w_proj", "float*"),
    ("b_proj", "float*"),
    ("w_router", "float*"),
    ("prototypes", "float*"),
    ("usage", "float*"),
    ("confidence", "float*"),
    ("y", "float*"),
    ("token_mask", "int8_t*"),
    ("importance", "float*"),
    ("stats", "prt_layer_stats*"),
    ("stream", "prt_stream"),
    ("consensus", "float*"),
    ("consensus_all_positions", "int32_t"),
])

prt_top_a_args = _struct("prt_top_a_args", [
    ("B", "int64_t"),
    ("V", "int64_t"),
    ("C", "int64_t"),
    ("dtype", "prt_dtype"),
    ("logits", "void*"),
    ("consensus", "float*"),
    ("embedding", "void*"),
    ("uniform", "float*"),
    ("mode", "prt_top_a_mode"),
    ("top_p", "double"),
    ("lambda", "double"),
    ("tau", "double"),
    ("threshold", "double"),
    ("kept", "int64_t*"),
    ("probs", "float*"),
    ("counts", "int64_t*"),
    ("sample", "int64_t*"),
    ("stream", "prt_stream"),
])

MIRRORED = [prt_context_options, prt_backend_info, prt_bundle_info, prt_plan_options,
            prt_plan_info, prt_layer_stats, prt_layer_args, prt_top_a_args]

PRT_BACKEND_AUTO, PRT_BACKEND_CPU, PRT_BACKEND_GPU = 0, 1, 2
BACKEND_NAMES = {0: "auto", 1: "cpu", 2: "gpu"}
PRT_DTYPE = {"f32": 0, "bf16": 1, "f16": 2}
PRT_TOP_A_MODE = {"off": 0, "blend": 1, "filter": 2}


# ------------------------------------------------------------------------------------------------
# The header check
# ------------------------------------------------------------------------------------------------

def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def parse_header_structs(text):
    """{struct name: [(field, C type), ...]} for every `typedef struct N {...} N;` in `text`.

    C types are normalised: `const` dropped, pointers as "float*", arrays as "char[512]"; one
    declaration may declare several fields ("int64_t B, T, T_max;", "const float *q, *k, *v;").
    """
    structs = {}
    for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*(\w+)\s*;",
                         _strip_comments(text), flags=re.S):
        fields = []
        for decl in m.group(2).split(";"):
            decl = " ".join(decl.replace("const ", " ").split())
            if not decl:
                continue
            head = re.match(r"(\w+)\s*(.*)", decl)
            base, rest = head.group(1), head.group(2)
            for part in rest.split(","):
                d = re.fullmatch(r"\s*(\**)\s*(\w+)\s*(?:\[\s*(\d+)\s*\])?\s*", part)
                if not d:
                    raise ValueError(f"cannot parse the declaration '{decl}' in struct {m.group(1)}")
                c_type = base + d.group(1) + (f"[{d.group(3)}]" if d.group(3) else "")
                fields.append((d.group(2), c_type))
        structs[m.group(1)] = fields
    return structs


def header_mismatches(header_text):
    """Differences between the mirrored structures and the header, in words ([] when none)."""
    parsed = parse_header_structs(header_text)
    problems = []
    for cls in MIRRORED:
        name = cls.__name__
        if name not in parsed:
            problems.append(f"{name}: not in the header")
            continue
        ours, theirs = cls.c_fields, parsed[name]
        for i in range(max(len(ours), len(theirs))):
            a = ours[i] if i < len(ours) else None
            b = theirs[i] if i < len(theirs) else None
            if a != b:
                want = f"'{b[1]} {b[0]}'" if b else "nothing"
                have = f"'{a[1]} {a[0]}'" if a else "nothing"
                problems.append(f"{name} field {i}: the header has {want}, _capi.py has {have}")
                break
    return problems


def check_header(path):
    """Raises RuntimeError naming the first differing field of each structure that differs."""
    with open(path, encoding="utf-8") as f:
        problems = header_mismatches(f.read())
    if problems:
        raise RuntimeError("python/src/proteus/_capi.py does not mirror " + path + ": " + "; ".join(problems))


# ------------------------------------------------------------------------------------------------
# The library
# ------------------------------------------------------------------------------------------------

class PrtError(RuntimeError):
    """A call returned a status other than PRT_OK; the message is prt_last_error()."""

    def __init__(self, call, status, message):
        super().__init__(f"{call}: {status}: {message}")
        self.status = status


_GUARD = 64  # bytes past a structure that must stay untouched by the library


class _Padded:
    """A structure with _GUARD sentinel bytes after it, to catch a library whose struct is larger."""

    def __init__(self, cls):
        self.size = ctypes.sizeof(cls)
        self.buffer = ctypes.create_string_buffer(b"\xa5" * (self.size + _GUARD), self.size + _GUARD)
        ctypes.memset(self.buffer, 0, self.size)
        self.value = cls.from_buffer(self.buffer)

    def check(self, call):
        if self.buffer.raw[self.size:] != b"\xa5" * _GUARD:
            raise RuntimeError(f"{call} wrote past the {self.size} bytes of "
                               f"{type(self.value).__name__} that proteus/_capi.py mirrors: the library "
                               "was built from a different proteus_rt.h")


def _fields(struct):
    """A structure as a dict, bytes decoded."""
    out = {}
    for name, _ in struct._fields_:
        v = getattr(struct, name)
        if isinstance(v, bytes):
            v = v.decode(errors="replace")
        out[name] = v
    return out


LIBRARY_NAME = "libproteus_rt.so.0"
_PACKAGED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_lib", LIBRARY_NAME)


def library_path():
    """The libproteus_rt to load: $PROTEUS_RT_LIB, else the one installed with the package."""
    env = os.environ.get("PROTEUS_RT_LIB")
    if env:
        if not os.path.isfile(env):
            raise FileNotFoundError(f"PROTEUS_RT_LIB={env} is not a file (it must name "
                                    f"{LIBRARY_NAME}, e.g. build/lib/{LIBRARY_NAME})")
        return env
    if os.path.isfile(_PACKAGED):
        return _PACKAGED
    raise FileNotFoundError(f"no {LIBRARY_NAME}: install the package (pip install ./python) or "
                            f"set PROTEUS_RT_LIB to a built one (build/lib/{LIBRARY_NAME})")


_shared = None
_shared_lock = threading.Lock()


def runtime():
    """The process's Runtime (library_path(), loaded once)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Runtime()
        return _shared


_contexts = {}


def shared_context(kind, device=0):
    """The process's context for `kind` "cpu" or "gpu" (CUDA device ordinal `device`), made once
    with the runtime's defaults (cache folder, disk cache) and kept."""
    key = (kind, device if kind == "gpu" else 0)
    rt = runtime()
    with _shared_lock:
        if key not in _contexts:
            backend = {"cpu": PRT_BACKEND_CPU, "gpu": PRT_BACKEND_GPU}[kind]
            _contexts[key] = rt.context(backend, device=key[1])
        return _contexts[key]


class Runtime:
    """libproteus_rt loaded with ctypes; every method raises PrtError on a failed call."""

    def __init__(self, lib_path=None, header_path=None):
        if header_path:
            check_header(header_path)
        lib_path = lib_path or library_path()
        self.lib = ctypes.CDLL(lib_path)
        self.path = lib_path
        lib = self.lib
        lib.prt_status_name.restype = ctypes.c_char_p
        lib.prt_status_name.argtypes = [ctypes.c_int]
        lib.prt_last_error.restype = ctypes.c_char_p
        lib.prt_last_error.argtypes = []
        lib.prt_version.restype = ctypes.c_char_p
        lib.prt_version.argtypes = []
        vp, i64, dbl = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double
        pvp = ctypes.POINTER(ctypes.c_void_p)
        for fn, args in [
            ("prt_context_options_init", [vp]),
            ("prt_context_create", [pvp, vp]),
            ("prt_context_destroy", [vp]),
            ("prt_context_backend", [vp, vp]),
            ("prt_context_cache_dir", [vp, ctypes.POINTER(ctypes.c_char_p),
                                       ctypes.POINTER(ctypes.c_char_p)]),
            ("prt_bundle_config_json", [vp, ctypes.POINTER(ctypes.c_char_p)]),
            ("prt_bundle_open", [vp, ctypes.c_char_p, pvp]),
            ("prt_bundle_close", [vp]),
            ("prt_bundle_get_info", [vp, vp]),
            ("prt_bundle_get_setting", [vp, i64, ctypes.POINTER(dbl), ctypes.POINTER(dbl)]),
            ("prt_plan_options_init", [vp]),
            ("prt_plan_create", [vp, vp, pvp]),
            ("prt_plan_destroy", [vp]),
            ("prt_plan_get_info", [vp, vp]),
            ("prt_layer_forward", [vp, vp]),
            ("prt_top_a", [vp, vp]),
            ("prt_gpu_top_a", [vp, vp]),
        ]:
            getattr(lib, fn).argtypes = args
            getattr(lib, fn).restype = ctypes.c_int

    def version(self):
        """prt_version(): "MAJOR.MINOR.PATCH"."""
        return self.lib.prt_version().decode()

    def call(self, name, *args):
        status = getattr(self.lib, name)(*args)
        if status != 0:
            raise PrtError(name, self.lib.prt_status_name(status).decode(),
                           self.lib.prt_last_error().decode(errors="replace"))

    def filled(self, cls, name, *args):
        """Calls `name(*args, &struct)` and returns the structure it filled, as a dict."""
        padded = _Padded(cls)
        self.call(name, *args, ctypes.byref(padded.value))
        padded.check(name)
        return _fields(padded.value)

    def context(self, backend=PRT_BACKEND_GPU, cache_dir=None, disable_disk_cache=False,
                device=0):
        opts = _Padded(prt_context_options)
        self.call("prt_context_options_init", ctypes.byref(opts.value))
        opts.check("prt_context_options_init")
        opts.value.backend = backend
        opts.value.device = device
        if cache_dir:
            opts.value.cache_dir = cache_dir.encode()
        opts.value.disable_disk_cache = 1 if disable_disk_cache else 0
        handle = ctypes.c_void_p()
        self.call("prt_context_create", ctypes.byref(handle), ctypes.byref(opts.value))
        return Context(self, handle)


class Context:
    def __init__(self, rt, handle):
        self.rt, self.handle = rt, handle

    def backend_info(self):
        return self.rt.filled(prt_backend_info, "prt_context_backend", self.handle)

    def cache_dir(self):
        """(folder, why): the runtime's on-disk cache folder, or ("", the reason it is off)."""
        folder, why = ctypes.c_char_p(), ctypes.c_char_p()
        self.rt.call("prt_context_cache_dir", self.handle, ctypes.byref(folder), ctypes.byref(why))
        return ((folder.value or b"").decode(), (why.value or b"").decode())

    def open_bundle(self, path):
        handle = ctypes.c_void_p()
        self.rt.call("prt_bundle_open", self.handle, str(path).encode(), ctypes.byref(handle))
        return Bundle(self.rt, handle)

    def close(self):
        if self.handle:
            self.rt.call("prt_context_destroy", self.handle)
            self.handle = None


class Bundle:
    def __init__(self, rt, handle):
        self.rt, self.handle = rt, handle

    def info(self):
        return self.rt.filled(prt_bundle_info, "prt_bundle_get_info", self.handle)

    def config_json(self):
        """The bundle's configuration as JSON text (golden key names)."""
        text = ctypes.c_char_p()
        self.rt.call("prt_bundle_config_json", self.handle, ctypes.byref(text))
        return text.value.decode()

    def settings(self):
        """[(alpha, density), ...] in manifest order."""
        out = []
        for i in range(self.info()["num_settings"]):
            a, d = ctypes.c_double(), ctypes.c_double()
            self.rt.call("prt_bundle_get_setting", self.handle, i, ctypes.byref(a), ctypes.byref(d))
            out.append((a.value, d.value))
        return out

    def plan(self, B, T, alpha=-1.0, update_prototypes=False, T_max=0, prev_alpha=-1.0):
        opts = _Padded(prt_plan_options)
        self.rt.call("prt_plan_options_init", ctypes.byref(opts.value))
        opts.check("prt_plan_options_init")
        opts.value.B, opts.value.T, opts.value.alpha = B, T, alpha
        opts.value.T_max, opts.value.prev_alpha = T_max, prev_alpha
        opts.value.update_prototypes = 1 if update_prototypes else 0
        handle = ctypes.c_void_p()
        self.rt.call("prt_plan_create", self.handle, ctypes.byref(opts.value), ctypes.byref(handle))
        return Plan(self.rt, handle)

    def top_a(self, args, gpu=True):
        """prt_gpu_top_a (device pointers) or prt_top_a (host pointers) with a filled
        prt_top_a_args."""
        self.rt.call("prt_gpu_top_a" if gpu else "prt_top_a", self.handle, ctypes.byref(args))

    def close(self):
        if self.handle:
            self.rt.call("prt_bundle_close", self.handle)
            self.handle = None


class Plan:
    def __init__(self, rt, handle):
        self.rt, self.handle = rt, handle

    def info(self):
        info = self.rt.filled(prt_plan_info, "prt_plan_get_info", self.handle)
        info["backend"] = BACKEND_NAMES.get(info["backend"], str(info["backend"]))
        return info

    def forward(self, args):
        """prt_layer_forward with a filled prt_layer_args."""
        self.rt.call("prt_layer_forward", self.handle, ctypes.byref(args))

    def close(self):
        if self.handle:
            self.rt.call("prt_plan_destroy", self.handle)
            self.handle = None


def stats_dict(stats):
    """A prt_layer_stats as a dict (names decoded)."""
    return _fields(stats)
