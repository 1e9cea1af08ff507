"""proteus.compile and proteus.Bundle: kernel bundles made by the proteus-compile tool.

A bundle is a folder (manifest.json, the CPU library, PTX per arch) that proteus-compile writes
and the runtime opens. proteus.compile keeps each bundle it makes in the runtime's cache folder
(the one prt_context_cache_dir reports: $PROTEUS_CACHE_DIR, else $XDG_CACHE_HOME/proteus, else
~/.cache/proteus), under bundles/<key>, where the key is a SHA-256 of everything the bundle is
made from: the configuration, the settings, the precision, the arch, the compiler binary and the
tuning database it reads. A second call with the same inputs opens the cached bundle.
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

from . import _capi

# What the layer of a bundle of each precision takes (prt_layer_args is f32 today). bf16/f16
# arrive with precision "fast" (issue 19); the argument checks quote this table.
LAYER_DTYPES = {"exact": ("float32",)}
PRECISIONS = tuple(LAYER_DTYPES)
DEFAULT_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)


class CompileError(RuntimeError):
    """proteus-compile failed; the message holds its command line and what it printed."""


def _file_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def find_compiler(compiler=None):
    """The proteus-compile to run: `compiler`, else $PROTEUS_COMPILE, else proteus-compile on
    PATH. Raises FileNotFoundError saying how to provide one."""
    for where, path in (("compiler=", compiler), ("PROTEUS_COMPILE=", os.environ.get("PROTEUS_COMPILE"))):
        if path:
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                raise FileNotFoundError(f"{where}{path} is not an executable proteus-compile")
            return os.path.abspath(path)
    found = shutil.which("proteus-compile")
    if not found:
        raise FileNotFoundError(
            "proteus.compile needs the proteus-compile tool, which is neither on PATH nor named "
            "by $PROTEUS_COMPILE: install the tools (cmake --install build --prefix PREFIX, then "
            "put PREFIX/bin on PATH) or set PROTEUS_COMPILE=/path/to/proteus-compile")
    return found


def _config_dict(config):
    if isinstance(config, (str, os.PathLike)):
        with open(config, encoding="utf-8") as f:
            config = json.load(f)
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict of the reference's attribute names or a path to "
                        f"such a JSON file, not {type(config).__name__}")
    return config


def _number_list(name, values):
    if isinstance(values, (int, float)):
        values = [values]
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or a sequence of numbers, not {values!r}") from None
    if not out:
        raise ValueError(f"{name} is empty: give at least one setting")
    return out


def _check_precision(precision):
    if precision == "fast":
        raise NotImplementedError(
            "precision='fast' (bf16/f16 layers) is not implemented yet: proteus-compile has no "
            "--precision option (issue 19); use precision='exact' (f32)")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(map(repr, PRECISIONS))} "
                         f"(or 'fast', not implemented yet), not {precision!r}")


def _tuning_db(tuning_db, cache_dir):
    """The tuning database proteus-compile is told to read: `tuning_db`, else
    $PROTEUS_TUNING_DB, else tuning.json in the cache folder where it exists, else 'none'."""
    if tuning_db is None:
        tuning_db = os.environ.get("PROTEUS_TUNING_DB") or ""
        if not tuning_db and cache_dir and os.path.isfile(os.path.join(cache_dir, "tuning.json")):
            tuning_db = os.path.join(cache_dir, "tuning.json")
    return os.path.abspath(tuning_db) if tuning_db and tuning_db != "none" else "none"


def compile(config, alphas=DEFAULT_ALPHAS, *, precision="exact", arch="sm_90", densities=None,
            tuning_db=None, compiler=None):
    """Compiles a layer configuration into a bundle (or opens the one cached for these inputs).

    config     dict with the reference's attribute names (d_model, h_total, ...; omitted keys take
               the reference's defaults), or the path of such a JSON file
    alphas     the alpha settings in [0, 1], one specialised layer each
    precision  "exact" (f32); "fast" raises NotImplementedError until it exists
    arch       GPU target of the PTX ("sm_90"), a list of them, or None for a CPU-only bundle
    densities  one density in (0, 1] per alpha (proteus-compile --density), or None
    tuning_db  tuning database path, "none", or None for proteus-compile's default
    compiler   the proteus-compile to run (default: $PROTEUS_COMPILE, else PATH)
    """
    _check_precision(precision)
    config = _config_dict(config)
    alphas = _number_list("alphas", alphas)
    densities = None if densities is None else _number_list("densities", densities)
    if arch is None:
        arch = "none"
    elif not isinstance(arch, str):
        arch = ",".join(arch)
    tool = find_compiler(compiler)
    cache_dir, why = _capi.shared_context("cpu").cache_dir()
    db = _tuning_db(tuning_db, cache_dir)

    inputs = {"config": config, "alphas": [repr(a) for a in alphas],
              "densities": None if densities is None else [repr(d) for d in densities],
              "precision": precision, "arch": arch, "compiler": _file_hash(tool),
              "tuning_db": _file_hash(db) if db != "none" else "none"}
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:32]
    if cache_dir:
        final = os.path.join(cache_dir, "bundles", key)
        if os.path.isfile(os.path.join(final, "manifest.json")):
            try:
                return Bundle(final, precision=precision, key=key)
            except _capi.PrtError:
                shutil.rmtree(final, ignore_errors=True)  # damaged: made again below
        os.makedirs(os.path.dirname(final), exist_ok=True)
        work = tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=os.path.dirname(final))
    else:
        final = None  # no disk cache: the bundle stays in a folder of its own
        work = tempfile.mkdtemp(prefix=f"proteus-bundle-{key}-")

    try:
        config_path = os.path.join(work, "config.json")
        with open(config_path, "w", encoding="utf-8") as f:
            json.dump(config, f)
        out = os.path.join(work, "bundle")
        cmd = [tool, "--config", config_path, "--alpha", ",".join(repr(a) for a in alphas),
               "--arch", arch, "--tuning-db", db, "-o", out]
        if densities is not None:
            cmd += ["--density", ",".join(repr(d) for d in densities)]
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise CompileError(f"proteus-compile failed (exit {done.returncode}): "
                               f"{' '.join(cmd)}\n{done.stderr.strip() or done.stdout.strip()}")
        if final is None:
            return Bundle(out, precision=precision, key=key, cache_note=why)
        try:
            os.rename(out, final)
        except OSError:
            if not os.path.isfile(os.path.join(final, "manifest.json")):
                raise  # not a concurrent compile of the same bundle
        return Bundle(final, precision=precision, key=key)
    finally:
        if final is not None:
            shutil.rmtree(work, ignore_errors=True)


class Bundle:
    """A bundle folder, opened and checked by the runtime (manifest, checksums).

    Attributes: path, d_model, h_total, d_head, gates, settings [(alpha, density), ...], config
    (dict, golden key names), precision, layer_dtypes (what proteus.Layer accepts), key (the
    cache key, or None for a bundle opened by path), cache_note (why it is not cached, or "").
    """

    def __init__(self, path, *, precision="exact", key=None, cache_note=""):
        _check_precision(precision)
        self.path = os.path.abspath(os.fspath(path))
        handle = _capi.shared_context("cpu").open_bundle(self.path)
        try:
            info = handle.info()
            self.settings = handle.settings()
            self.config = json.loads(handle.config_json())
        finally:
            handle.close()
        self.d_model, self.h_total = info["d_model"], info["h_total"]
        self.d_head, self.gates = info["d_head"], info["gates"]
        self.has_cpu_library = bool(info["has_cpu_library"])
        self.precision, self.key, self.cache_note = precision, key, cache_note
        self.layer_dtypes = LAYER_DTYPES[precision]

    def __fspath__(self):
        return self.path

    def __repr__(self):
        alphas = ", ".join(f"{a:g}" for a, _ in self.settings)
        return (f"proteus.Bundle('{self.path}', C={self.d_model}, H={self.h_total}, "
                f"G={self.gates}, alphas=[{alphas}], precision='{self.precision}')")
