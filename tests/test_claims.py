from __future__ import annotations

import json

import numpy as np
import pytest

from propgrad.claims import (
    FAILS_TITLE,
    GLUE_PREFIX,
    Claim,
    check_claims,
    claims_table,
    glue_values,
)
from propgrad.record import Results


def ratio_claim():
    return Claim(
        "fur_beats_background",
        condition=lambda r: r["fur"] > 2 * r["background"],
        holds="Fur moves the output {ratio:.1f} times as much as the background.",
        fails="Fur moves the output only {ratio:.1f} times as much (E = {fur:.3f}).",
        values=lambda r: {"ratio": r["fur"] / r["background"]},
    )


def test_holding_claim_gives_its_sentence_with_numbers():
    result = ratio_claim().evaluate({"fur": 0.3, "background": 0.1})
    assert result.holds is True
    assert result.text == "Fur moves the output 3.0 times as much as the background."
    assert result.markdown() == result.text
    assert result.values["ratio"] == pytest.approx(3.0)


def test_failing_claim_is_an_admonition_naming_the_numbers():
    result = ratio_claim().evaluate({"fur": 0.15, "background": 0.1})
    assert result.holds is False
    assert result.text == "Fur moves the output only 1.5 times as much (E = 0.150)."
    md = result.markdown()
    assert md.startswith("```{admonition} " + FAILS_TITLE)
    assert ":class: warning" in md and result.text in md


def test_numpy_values_and_conditions_work_with_format_specs():
    claim = Claim(
        "mean_positive",
        condition=lambda r: np.mean(r["x"]) > 0,
        holds="mean {m:.2f}",
        fails="mean {m:.2f} is not positive",
        values=lambda r: {"m": np.mean(r["x"])},
    )
    assert claim.evaluate({"x": [1.0, 2.0]}).text == "mean 1.50"
    assert claim.evaluate({"x": [-1.0, -2.0]}).text == "mean -1.50 is not positive"


def test_record_keys_can_be_used_in_sentences():
    claim = Claim(
        "table",
        condition=lambda r: r["table3"]["ResNet18"]["biased"] > 0,
        holds="E = {table3[ResNet18][biased]:.4f}",
        fails="no",
    )
    assert claim.evaluate({"table3": {"ResNet18": {"biased": 0.01234}}}).text == "E = 0.0123"


def test_missing_key_names_the_claim_and_key():
    with pytest.raises(KeyError, match="claim 'fur_beats_background' needs the results key 'fur'"):
        ratio_claim().evaluate({"background": 0.1})
    bad = Claim("typo", condition=lambda r: True, holds="{nope}", fails="x")
    with pytest.raises(KeyError, match="'nope', which is neither a value nor a results key"):
        bad.evaluate({})


@pytest.mark.parametrize("outcome", [float("nan"), None, np.array([True, False])])
def test_condition_must_be_a_truth_value(outcome):
    claim = Claim("odd", condition=lambda r: outcome, holds="a", fails="b")
    with pytest.raises(ValueError, match="claim 'odd'"):
        claim.evaluate({})


@pytest.mark.parametrize("bad_id", ["Fur", "1x", "fur-bias", "", "a b"])
def test_ids_are_lower_case_identifiers(bad_id):
    with pytest.raises(ValueError, match="lower-case identifier"):
        Claim(bad_id, condition=lambda r: True, holds="a", fails="b")


def test_empty_sentence_is_rejected():
    with pytest.raises(ValueError, match="'fails' sentence must not be empty"):
        Claim("x", condition=lambda r: True, holds="a", fails="  ")


def test_check_claims_records_outcomes_and_merges(tmp_path):
    path = tmp_path / "r.json"
    results = Results(path, fur=0.3, background=0.1)
    check_claims([ratio_claim()], results, glue=False)
    positive = Claim("positive", condition=lambda r: r["background"] > 0.5, holds="a", fails="b")
    evaluated = check_claims([positive], results, glue=False)
    assert list(evaluated) == ["positive"]
    assert json.loads(path.read_text())["claims"] == {
        "fur_beats_background": True,
        "positive": False,
    }


def test_check_claims_on_a_plain_mapping_records_nothing():
    record = {"fur": 0.3, "background": 0.1}
    evaluated = check_claims([ratio_claim()], record, glue=False)
    assert evaluated["fur_beats_background"].holds and "claims" not in record


def test_duplicate_ids_are_an_error():
    with pytest.raises(ValueError, match="two claims share the id 'fur_beats_background'"):
        check_claims([ratio_claim(), ratio_claim()], {"fur": 1, "background": 1}, glue=False)


def test_claims_table_lists_outcome_and_statement():
    evaluated = check_claims([ratio_claim()], {"fur": 0.1, "background": 0.1}, glue=False)
    table = claims_table(evaluated)
    assert table.index.tolist() == ["fur_beats_background"]
    assert table.loc["fur_beats_background", "holds"] == False  # noqa: E712
    assert "only 1.0 times" in table.loc["fur_beats_background", "statement"]


def test_glue_values_converts_numpy_and_rejects_nan():
    values = glue_values(glue=False, e=np.float64(0.25), n=np.int64(3), flag=True, name="x")
    assert values == {"e": 0.25, "n": 3, "flag": True, "name": "x"}
    assert type(values["e"]) is float and type(values["n"]) is int
    with pytest.raises(ValueError, match="glued value 'e' must be a finite number"):
        glue_values(glue=False, e=float("nan"))


def test_glued_objects_carry_markdown_and_plain_text(monkeypatch):
    glued = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda key, value, display: glued.update({key: value}))
    check_claims([ratio_claim()], {"fur": 0.15, "background": 0.1}, glue=True)
    pasted = glued[GLUE_PREFIX + "fur_beats_background"]
    assert pasted._repr_markdown_().startswith("```{admonition}")
    assert repr(pasted).startswith("(does not hold at these parameters) Fur moves")
