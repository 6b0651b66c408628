"""Tests as data people write them: ``.equals``, ``(a == b).all()``, ``.shape``, and top-level
``np.testing`` / ``pd.testing`` calls, end to end through the real pool; a failing frame says
where it differs in pandas' own words."""

from __future__ import annotations

import pytest

from jupyter_codesearch import Spec
from jupyter_codesearch._exceptions import SpecWarning
from jupyter_codesearch.execute import verify

SPEC = '''
import numpy as np
import pandas as pd

def top_customers(df: pd.DataFrame, n: int) -> pd.DataFrame:
    """The n customers with the largest total amount: columns customer, total; largest first."""

df = pd.DataFrame({"customer": ["a", "b", "a", "c", "b", "a"], "amount": [10, 5, 7, 30, 1, 2]})
expected = pd.DataFrame({"customer": ["c", "a"], "total": [30, 19]})
assert top_customers(df, 2).to_dict("list") == {"customer": ["c", "a"], "total": [30, 19]}
assert top_customers(df, 2).equals(expected)
pd.testing.assert_frame_equal(top_customers(df, 2), expected)
assert (top_customers(df, 2)["total"].to_numpy() == np.array([30, 19])).all()
np.testing.assert_allclose(top_customers(df, 2)["total"].to_numpy(), [30, 19])
assert top_customers(df, 2).shape == (2, 2)
'''
GOOD = '''
def top_customers(df, n):
    out = df.groupby("customer", as_index=False)["amount"].sum().rename(columns={"amount": "total"})
    return out.sort_values("total", ascending=False).head(n).reset_index(drop=True)
'''
INDEX_NOT_RESET = GOOD.replace(".reset_index(drop=True)", "")
FLOAT_TOTALS = GOOD.replace('["amount"].sum()', '["amount"].sum().astype({"amount": float})')
WRONG_ORDER = GOOD.replace("ascending=False", "ascending=True")


def test_top_level_assert_calls_are_tests_and_other_calls_setup() -> None:
    spec = Spec.parse(SPEC)
    kinds = [(i.kind, i.source.split("(")[0]) for i in spec.items]
    assert ("test", "pd.testing.assert_frame_equal") in kinds and ("test", "np.testing.assert_allclose") in kinds
    assert [k for k, _ in kinds].count("test") == 6
    assert [k for k, _ in kinds].count("setup") == 2  # df = ..., expected = ...


@pytest.fixture(scope="module")
def verdicts() -> dict[str, object]:
    found = verify(SPEC, [GOOD, INDEX_NOT_RESET, FLOAT_TOTALS, WRONG_ORDER], timeout=10)
    return dict(zip(["good", "index", "float", "order"], found, strict=True))


def test_a_correct_pandas_candidate_passes_every_idiom(verdicts: dict[str, object]) -> None:
    good = verdicts["good"]
    assert good.status == "passed", (good.status, good.error)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "fails", "says"),
    [
        ("index", [True, False, False, True, True, True], "DataFrame.index are different"),
        ("float", [True, False, False, True, True, True], 'Attribute "dtype" are different'),
        ("order", [False, False, False, False, False, True], "values are different"),
    ],
)
def test_subtly_wrong_frames_fail_where_pandas_says_they_differ(
    verdicts: dict[str, object], name: str, fails: list[bool], says: str
) -> None:
    v = verdicts[name]
    assert v.status == "failed" and not v.passed  # type: ignore[attr-defined]
    assert [t.passed for t in v.tests] == fails, [(t.line, t.passed) for t in v.tests]  # type: ignore[attr-defined]
    equals, assert_frame = v.tests[1], v.tests[2]  # type: ignore[attr-defined]
    # .equals says only False; the verdict adds pandas' own message, and both sides with dtypes.
    assert says in (equals.error or "") and says in (assert_frame.error or ""), (equals.error, assert_frame.error)
    assert equals.got.startswith("DataFrame 2x2 (customer: str, total: ") and "customer" in equals.expected


def test_a_float_array_shows_its_dtype_beside_the_expected_one(verdicts: dict[str, object]) -> None:
    elementwise = verdicts["float"].tests[3]  # type: ignore[attr-defined]
    assert elementwise.passed  # 30.0 == 30: as in the user's kernel
    assert elementwise.got.startswith("array (2,) float64") and elementwise.expected.startswith("array (2,) int64")


def test_an_assert_call_that_never_calls_the_function_is_noted() -> None:
    with pytest.warns(SpecWarning, match="never calls"):
        test = 'np.testing.assert_allclose(top_customers(df, 2)["total"].to_numpy(), [30, 19])'
        spec = Spec.parse(SPEC.replace(test, "np.testing.assert_allclose([1], [1])"))
    assert any("never calls" in n for n in spec.warnings)


def test_a_call_shows_a_frame_argument_by_kind_and_shape(verdicts: dict[str, object]) -> None:
    calls = [c["call"] for t in verdicts["index"].tests for c in t.calls]  # type: ignore[attr-defined]
    assert calls and all(c == "top_customers(<DataFrame 6x2>, 2)" for c in calls), calls


def test_without_a_model_a_data_spec_says_the_synthesizer_does_not_handle_data() -> None:
    from jupyter_codesearch.generate._examples import examples_from_spec

    examples, why = examples_from_spec(Spec.parse(SPEC))
    assert examples == [] and why is not None and "does not handle data values" in why
