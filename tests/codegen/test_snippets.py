"""Snippet parsing: names resolve, literals get the precision's suffix, errors name model, snippet and line."""
import pytest

from pynn_gpu.codegen.errors import ModelError
from pynn_gpu.codegen.snippets import render


def test_names_locals_and_literals():
    code, declared = render("scalar x = 1.5 * v;\nif (x > 2) v = exp(x);", {"v": "l_v"}, context="m sim_code",
                            single=True)
    assert code == "scalar u_x = 1.5f * l_v;\nif (u_x > 2) l_v = exp(u_x);"   # locals can't hide kernel names
    assert declared == {"x"}
    code, _ = render("v = 1e-3 + 2;", {"v": "l_v"}, context="m", single=False)
    assert code == "l_v = 1e-3 + 2;"


def test_unknown_name_reports_model_snippet_line_and_suggestion():
    with pytest.raises(ModelError) as err:
        render("v = v + 1.0;\nv = Vth;", {"v": "l_v", "v_thresh": "p_v_thresh"},
               context="neuron model 'lif' sim_code")
    msg = str(err.value)
    assert "neuron model 'lif' sim_code, line 2" in msg and "'Vth'" in msg


def test_unknown_function_and_bad_character():
    with pytest.raises(ModelError, match="unknown function 'foo'"):
        render("v = foo(v);", {"v": "l_v"}, context="m")
    with pytest.raises(ModelError, match="line 1.*unexpected character '@'"):
        render("v = @v;", {"v": "l_v"}, context="m")


def test_local_may_not_shadow_a_model_name():
    with pytest.raises(ModelError, match="shadows"):
        render("scalar v = 1.0;", {"v": "l_v"}, context="m")
