"""proteus.compile: the compiler's discovery, the cache, the refusals."""
import json
import os
import subprocess

import pytest

import proteus
from proteus import _capi, _compile
from conftest import SMALL, SMALL_ALPHAS, have_compiler

needs_compiler = pytest.mark.skipif(not have_compiler(),
                                    reason="no proteus-compile on PATH or in $PROTEUS_COMPILE")


def test_fast_precision_is_not_implemented_yet():
    with pytest.raises(NotImplementedError, match="not implemented yet.*issue 19"):
        proteus.compile(SMALL, SMALL_ALPHAS, precision="fast")


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be one of 'exact'"):
        proteus.compile(SMALL, SMALL_ALPHAS, precision="fp8")


def test_a_missing_compiler_says_how_to_provide_one(monkeypatch):
    monkeypatch.delenv("PROTEUS_COMPILE", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(FileNotFoundError, match="PROTEUS_COMPILE"):
        proteus.compile(SMALL, SMALL_ALPHAS)


def test_a_bad_proteus_compile_variable_is_named(monkeypatch):
    monkeypatch.setenv("PROTEUS_COMPILE", "/nonexistent/proteus-compile")
    with pytest.raises(FileNotFoundError, match="PROTEUS_COMPILE=/nonexistent/proteus-compile"):
        proteus.compile(SMALL, SMALL_ALPHAS)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="config must be a dict"):
        proteus.compile([1, 2], SMALL_ALPHAS)
    with pytest.raises(TypeError, match="alphas must be a number or a sequence"):
        proteus.compile(SMALL, ["x"])
    with pytest.raises(ValueError, match="alphas is empty"):
        proteus.compile(SMALL, [])


def cache_root():
    folder, why = _capi.shared_context("cpu").cache_dir()
    assert folder, f"the tests need the runtime's disk cache ({why})"
    return os.path.join(folder, "bundles")


@needs_compiler
def test_a_bundle_is_cached_by_its_inputs(monkeypatch, tmp_path):
    first = proteus.compile(SMALL, SMALL_ALPHAS, arch=None)
    assert os.path.dirname(first.path) == cache_root()
    assert os.path.basename(first.path) == first.key
    assert [a for a, _ in first.settings] == SMALL_ALPHAS
    assert (first.d_model, first.h_total, first.d_head, first.gates) == (128, 8, 16, 8)

    def no_compiler(*args, **kwargs):
        raise AssertionError("proteus-compile ran for a cached bundle")
    monkeypatch.setattr(subprocess, "run", no_compiler)
    config_file = tmp_path / "layer.json"
    config_file.write_text(json.dumps(SMALL))
    again = proteus.compile(str(config_file), SMALL_ALPHAS, arch=None)  # same inputs, by path
    assert again.path == first.path
    monkeypatch.undo()

    other = proteus.compile(SMALL, [0.5], arch=None)
    assert other.path != first.path and [a for a, _ in other.settings] == [0.5]


@needs_compiler
def test_a_failed_compile_raises_its_message_and_leaves_nothing():
    before = set(os.listdir(cache_root())) if os.path.isdir(cache_root()) else set()
    with pytest.raises(proteus.CompileError, match="no_such_key"):
        proteus.compile({**SMALL, "no_such_key": 1}, SMALL_ALPHAS, arch=None)
    with pytest.raises(proteus.CompileError, match="proteus-compile failed"):
        proteus.compile(SMALL, [2.0], arch=None)
    assert set(os.listdir(cache_root())) == before


@needs_compiler
def test_a_damaged_cached_bundle_is_made_again():
    bundle = proteus.compile(SMALL, [0.25], arch=None)
    manifest = os.path.join(bundle.path, "manifest.json")
    library = [os.path.join(bundle.path, "cpu", f) for f in os.listdir(os.path.join(bundle.path, "cpu"))]
    with open(library[0], "ab") as f:
        f.write(b"damage")
    again = proteus.compile(SMALL, [0.25], arch=None)
    assert again.path == bundle.path and os.path.isfile(manifest)
    proteus.Bundle(again.path)  # the checksums hold again


def test_bundle_refuses_a_folder_that_is_not_one(tmp_path):
    with pytest.raises(_capi.PrtError, match="PRT_ERR"):
        proteus.Bundle(tmp_path)


def test_the_layer_dtypes_follow_the_precision():
    assert _compile.LAYER_DTYPES["exact"] == ("float32",)
