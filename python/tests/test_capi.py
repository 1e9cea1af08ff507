"""The ctypes mirror (proteus._capi) against proteus_rt.h and the library it loads."""
import ctypes
import os
import re

import pytest

from conftest import HEADER, REPO
from proteus import _capi


def header_text():
    with open(HEADER, encoding="utf-8") as f:
        return f.read()


def test_mirror_matches_the_header():
    assert _capi.header_mismatches(header_text()) == []


def test_parser_reads_every_declaration_form():
    text = """
    /* a comment { with braces } */
    typedef struct s {
      int64_t B, T;          /**< two fields */
      const float *q, *k;    // two pointers
      char name[16];
      prt_stream stream;
    } s;"""
    assert _capi.parse_header_structs(text)["s"] == [
        ("B", "int64_t"), ("T", "int64_t"), ("q", "float*"), ("k", "float*"),
        ("name", "char[16]"), ("stream", "prt_stream")]


def test_a_new_field_is_named():
    text = header_text()
    changed = text.replace("prt_stream stream;", "prt_stream stream;\n  int32_t dtype;", 1)
    assert changed != text
    problems = _capi.header_mismatches(changed)
    assert len(problems) == 1
    assert "'int32_t dtype'" in problems[0] and "prt_layer_args" in problems[0]


def test_a_changed_type_is_named():
    changed = header_text().replace("int32_t update_prototypes;", "int64_t update_prototypes;", 1)
    assert "'int64_t update_prototypes'" in " ".join(_capi.header_mismatches(changed))


def test_init_functions_stay_inside_the_mirrored_size():
    rt = _capi.Runtime(header_path=HEADER)
    for cls, fn in ((_capi.prt_context_options, "prt_context_options_init"),
                    (_capi.prt_plan_options, "prt_plan_options_init")):
        padded = _capi._Padded(cls)
        rt.call(fn, ctypes.byref(padded.value))
        padded.check(fn)
    ctx = rt.context(_capi.PRT_BACKEND_CPU)
    assert ctx.backend_info()["backend"] == _capi.PRT_BACKEND_CPU
    ctx.close()


def test_a_failed_call_raises_with_the_runtime_message():
    ctx = _capi.Runtime().context(_capi.PRT_BACKEND_CPU)
    with pytest.raises(_capi.PrtError, match="/nonexistent/bundle"):
        ctx.open_bundle("/nonexistent/bundle")
    ctx.close()


def test_version_is_the_runtime_projects():
    with open(os.path.join(REPO, "runtime", "CMakeLists.txt"), encoding="utf-8") as f:
        declared = re.search(r"project\(ProteusRuntime VERSION ([0-9.]+)", f.read()).group(1)
    import proteus
    assert proteus.version() == declared


def test_a_missing_library_is_named(monkeypatch):
    monkeypatch.setenv("PROTEUS_RT_LIB", "/nonexistent/libproteus_rt.so.0")
    with pytest.raises(FileNotFoundError, match="PROTEUS_RT_LIB=/nonexistent"):
        _capi.library_path()
