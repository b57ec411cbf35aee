"""Rubrics: the shipped files load and cite the seeds verbatim; every bad rubric is refused with a useful
message; scoring follows the band, the not-greeted rule and the absent-measure rule."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from kiosk.core.rubrics import MEASURES, Band, Rubric, RubricError, load_rubric, overall_score, score_interaction, within_target
from kiosk.core.interaction import Interaction

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "kiosk" / "data" / "rubrics").glob("*.toml"))
SEEDS = REPO.parent / "shared" / "seeds"
DIGEST = REPO.parent / "shared" / "RUBRIC-SOURCES.md"
ALLOWED = {"greeting_s", "wait_s", "eye_contact_ratio", "distance_m_median", "greeted", "rating"}
DROP = object()

needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed articles not found at {SEEDS}")


# --- plain-data builders --------------------------------------------------------------------------------

def criterion(**changes: object) -> dict:
    c = {
        "id": "greeting_prompt",
        "measure": "greeting_s",
        "weight": 3.0,
        "band": {"good_max": 10.0, "zero_max": 30.0},
        "source": {"seed": "000", "line": 2, "rule": "G1", "quote": "first impression matters most"},
    }
    for key, value in changes.items():
        if value is DROP:
            del c[key]
        else:
            c[key] = value
    return c


def rubric_doc(*criteria: dict, **changes: object) -> dict:
    doc = {"name": "test", "description": "a test rubric", "version": 1, "criterion": list(criteria) or [criterion()]}
    for key, value in changes.items():
        if value is DROP:
            del doc[key]
        else:
            doc[key] = value
    return doc


def to_toml(doc: dict) -> str:
    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return repr(v)

    lines = [f"{k} = {value(v)}" for k, v in doc.items() if k != "criterion"]
    for c in doc.get("criterion", []):
        lines += ["[[criterion]]"] + [f"{k} = {value(v)}" for k, v in c.items()]
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, doc: dict | str, name: str = "store.toml") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else to_toml(doc), encoding="utf-8")
    return path


def fake_seeds(tmp_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "000_0123456789abcdef.txt").write_text(
        "line one\nfirst impression matters most\nline three\n", encoding="utf-8")
    return seeds


def interaction(**changes: object) -> Interaction:
    base = dict(arrived_at=0.0, greeted_at=4.0, service_started_at=30.0, left_at=150.0, greeting_s=4.0,
                wait_s=30.0, service_s=120.0, eye_contact_ratio=0.6, distance_m_median=1.0, distance_m_min=0.8,
                greeted=True, abandoned=False, rating=4)
    base.update(changes)
    return Interaction(**base)


NOT_GREETED = dict(greeted_at=None, greeting_s=None, greeted=False)
ABANDONED = dict(service_started_at=None, wait_s=None, service_s=None, eye_contact_ratio=None,
                 distance_m_median=None, distance_m_min=None, abandoned=True, rating=None)

REF = {"not_from_seeds": True, "reference": "a public source"}
SCORING = Rubric.model_validate(rubric_doc(
    criterion(id="greeting_prompt", weight=3.0, source=REF),
    criterion(id="greeting_coverage", measure="greeted", weight=2.0, band={"good_min": 1.0, "zero_min": 0.0}, source=REF),
    criterion(id="wait_time", measure="wait_s", weight=2.0, band={"good_max": 120.0, "zero_max": 600.0}, source=REF),
    criterion(id="mutual_facing", measure="eye_contact_ratio", weight=2.0,
              band={"zero_min": 0.2, "good_min": 0.5, "good_max": 0.8, "zero_max": 1.3}, source=REF),
    criterion(id="personal_distance", measure="distance_m_median", weight=1.0,
              band={"zero_min": 0.45, "good_min": 0.8, "good_max": 1.5, "zero_max": 2.5}, source=REF),
    criterion(id="customer_rating", measure="rating", weight=3.0, band={"good_min": 3.0, "zero_min": 1.0}, source=REF),
))


# --- shipped rubrics --------------------------------------------------------------------------------------

def shipped_criteria() -> list[tuple[str, dict]]:
    rows = []
    for path in SHIPPED:
        for c in tomllib.loads(path.read_text(encoding="utf-8"))["criterion"]:
            rows.append(pytest.param(path.name, c, id=f"{path.stem}:{c['id']}"))
    return rows


def test_three_rubrics_are_shipped():
    assert {p.stem for p in SHIPPED} >= {"default", "bank_branch", "retail_shop"}


@needs_seeds
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_rubric_loads_with_seed_quotes_checked(path):
    rubric = load_rubric(path, seeds_dir=SEEDS)
    assert rubric.criteria


@needs_seeds
@pytest.mark.parametrize("name, c", [p for p in shipped_criteria() if "seed" in p.values[1]["source"]])
def test_shipped_quote_is_verbatim_on_its_cited_line(name, c):
    source = c["source"]
    (seed_file,) = SEEDS.glob(f"{source['seed']}_*.txt")
    line = seed_file.read_text(encoding="utf-8").split("\n")[source["line"] - 1]
    assert source["quote"] in line


@pytest.mark.skipif(not DIGEST.is_file(), reason=f"seed digest not found at {DIGEST}")
@pytest.mark.parametrize("name, c", [p for p in shipped_criteria() if "seed" in p.values[1]["source"]])
def test_shipped_rule_id_is_the_digest_rule_for_that_line(name, c):
    source = c["source"]
    row = next(r for r in DIGEST.read_text(encoding="utf-8").splitlines() if r.startswith(f"| {source['rule']} |"))
    seed_cell = row.split("|")[3]
    assert f"{source['seed']}:L" in seed_cell and re.search(rf"\bL{source['line']}\b", seed_cell)


@pytest.mark.parametrize("name, c", shipped_criteria())
def test_no_shipped_criterion_measures_outside_the_allow_list(name, c):
    assert c["measure"] in ALLOWED


@pytest.mark.parametrize("name, c", [p for p in shipped_criteria() if p.values[1]["measure"] != "greeted"])
def test_shipped_band_numbers_are_marked_not_from_seeds(name, c):
    # The seeds give no seconds, ratios or rating cut-offs, and only an approximate 1 m (RUBRIC-SOURCES §0).
    assert c["source"].get("not_from_seeds") is True and c["source"].get("reference")


def test_shipped_variants_keep_the_default_criterion_ids():
    ids = {p.stem: [c["id"] for c in tomllib.loads(p.read_text(encoding="utf-8"))["criterion"]] for p in SHIPPED}
    assert all(v == ids["default"] for v in ids.values())


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_greeting_band_does_not_reward_pouncing(path):
    rubric = load_rubric(path)
    for c in (c for c in rubric.criteria if c.measure == "greeting_s"):
        assert c.band.score(0.5) == c.band.score(2.0) == 1.0


def test_allow_list_is_exactly_the_scorable_interaction_fields():
    assert set(MEASURES) == ALLOWED
    assert ALLOWED <= {f.name for f in fields(Interaction)}


# --- validation ---------------------------------------------------------------------------------------------

INVALID = [
    ("bad TOML", "name = \n", ["store.toml", "not valid TOML"]),
    ("missing name", rubric_doc(name=DROP), ["store.toml", "key 'name' is missing"]),
    ("no criteria", rubric_doc(criterion=[]), ["key 'criterion' is missing"]),
    ("missing id", rubric_doc(criterion(id=DROP)), ["criterion #1", "key 'id' is missing"]),
    ("missing measure", rubric_doc(criterion(measure=DROP)), ["criterion 'greeting_prompt'", "key 'measure' is missing"]),
    ("missing source", rubric_doc(criterion(source=DROP)), ["criterion 'greeting_prompt'", "key 'source' is missing"]),
    ("misspelt key", rubric_doc(criterion(wieght=1.0)), ["key 'wieght' is not allowed", "allowed keys: id, measure, weight"]),
    ("misspelt band key", rubric_doc(criterion(band={"good_max": 10.0, "zero": 30.0})), ["key 'band.zero' is not allowed", "zero_max"]),
    ("height measure", rubric_doc(criterion(id="tall", measure="height_m")),
     ["criterion 'tall'", "measure = 'height_m'", "allowed: greeting_s, wait_s", "never the person"]),
    ("emotion measure", rubric_doc(criterion(measure="smile_ratio")), ["measure = 'smile_ratio'", "emotion"]),
    ("service duration measure", rubric_doc(criterion(measure="service_s")), ["measure = 'service_s'", "time to decide"]),
    ("band not ordered", rubric_doc(criterion(band={"good_max": 30.0, "zero_max": 10.0})),
     ["criterion 'greeting_prompt'", "band", "got good_max = 30.0 > zero_max = 10.0"]),
    ("good edge past zero edge below", rubric_doc(criterion(measure="rating", band={"good_min": 1.0, "zero_min": 3.0})),
     ["got zero_min = 3.0 > good_min = 1.0"]),
    ("closed side without zero edge", rubric_doc(criterion(band={"good_max": 10.0})), ["good_max = 10.0 needs zero_max"]),
    ("band open on both sides", rubric_doc(criterion(band={})), ["open on both sides"]),
    ("full score out of range", rubric_doc(criterion(measure="rating", band={"good_min": 5.0, "zero_min": 1.0})),
     ["no reachable full score", "rating lies within 1.0..4.0"]),
    ("greeting band rewards pouncing", rubric_doc(criterion(band={"good_max": 1.0, "zero_max": 5.0})),
     ["band.good_max = 1.0", "rewards pouncing"]),
    ("weight zero", rubric_doc(criterion(weight=0)), ["criterion 'greeting_prompt'", "weight = 0", "greater than 0"]),
    ("weight negative", rubric_doc(criterion(weight=-1.5)), ["weight = -1.5", "greater than 0"]),
    ("weight as text", rubric_doc(criterion(weight="3")), ["weight = '3'", "valid number"]),
    ("duplicate ids", rubric_doc(criterion(), criterion()), ["'greeting_prompt' appears more than once"]),
    ("partial seed citation", rubric_doc(criterion(source={"seed": "000", "line": 2})), ["source", "missing: rule, quote"]),
    ("empty source", rubric_doc(criterion(source={})), ["source is empty"]),
    ("not_from_seeds without reference", rubric_doc(criterion(source={"not_from_seeds": True})), ["needs reference"]),
    ("reference without not_from_seeds", rubric_doc(criterion(source={"reference": "Hall 1966"})),
     ["reference needs not_from_seeds = true"]),
    ("quote too short to pin a line", rubric_doc(criterion(source={"seed": "000", "line": 2, "rule": "G1", "quote": "first"})),
     ["source.quote = 'first'", "at least 12 characters"]),
    ("seed not a 3-digit prefix", rubric_doc(criterion(source={"seed": "0", "line": 2, "rule": "G1", "quote": "first impression"})),
     ["source.seed = '0'", "pattern"]),
]


@pytest.mark.parametrize("case, doc, fragments", INVALID, ids=[row[0] for row in INVALID])
def test_invalid_rubric_is_refused_with_a_message_naming_the_problem(tmp_path, case, doc, fragments):
    path = write(tmp_path, doc)
    with pytest.raises(RubricError) as caught:
        load_rubric(path)
    for fragment in fragments:
        assert fragment in str(caught.value)


SEED_INVALID = [
    ("seed file does not exist", {"seed": "009", "line": 2, "rule": "G1", "quote": "first impression matters most"},
     ["criterion 'greeting_prompt'", "source.seed = '009'", "no seed file 009_*.txt", "allowed: one of 000"]),
    ("quote not on the cited line", {"seed": "000", "line": 3, "rule": "G1", "quote": "first impression matters most"},
     ["criterion 'greeting_prompt'", "source.quote = 'first impression matters most'", "not found on line 3 of 000_"]),
    ("line past the end", {"seed": "000", "line": 99, "rule": "G1", "quote": "first impression matters most"},
     ["source.line = 99", "has only 3 lines"]),
]


@pytest.mark.parametrize("case, source, fragments", SEED_INVALID, ids=[row[0] for row in SEED_INVALID])
def test_bad_seed_citation_is_refused_when_seeds_are_given(tmp_path, case, source, fragments):
    path = write(tmp_path, rubric_doc(criterion(source=source)))
    with pytest.raises(RubricError) as caught:
        load_rubric(path, seeds_dir=fake_seeds(tmp_path))
    assert "store.toml" in str(caught.value)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_missing_seeds_directory_is_refused(tmp_path):
    with pytest.raises(RubricError, match="seeds directory .* does not exist"):
        load_rubric(write(tmp_path, rubric_doc()), seeds_dir=tmp_path / "nowhere")


def test_missing_rubric_file_is_refused_naming_it(tmp_path):
    with pytest.raises(RubricError, match="rubric file .*absent.toml does not exist"):
        load_rubric(tmp_path / "absent.toml")


def test_seed_check_is_skipped_without_seeds_dir(tmp_path):
    doc = rubric_doc(criterion(source={"seed": "009", "line": 2, "rule": "G1", "quote": "not on any device"}))
    assert load_rubric(write(tmp_path, doc)).criteria[0].source.seed == "009"


def test_valid_citation_passes_the_seed_check(tmp_path):
    assert load_rubric(write(tmp_path, rubric_doc()), seeds_dir=fake_seeds(tmp_path)).name == "test"


def test_every_problem_is_reported_at_once(tmp_path):
    doc = rubric_doc(criterion(id="a", weight=0), criterion(id="b", measure="posture"))
    with pytest.raises(RubricError) as caught:
        load_rubric(write(tmp_path, doc))
    assert "criterion 'a': weight = 0" in str(caught.value) and "criterion 'b': measure = 'posture'" in str(caught.value)


def test_error_is_a_value_error():
    assert issubclass(RubricError, ValueError)


# --- scoring --------------------------------------------------------------------------------------------

TWO_SIDED = {"zero_min": 0.2, "good_min": 0.5, "good_max": 0.8, "zero_max": 1.3}
BAND_SCORES = [
    ("inside", TWO_SIDED, 0.65, 1.0),
    ("at good_min", TWO_SIDED, 0.5, 1.0),
    ("at good_max", TWO_SIDED, 0.8, 1.0),
    ("halfway down below", TWO_SIDED, 0.35, 0.5),
    ("halfway down above", TWO_SIDED, 1.05, 0.5),
    ("at zero_min", TWO_SIDED, 0.2, 0.0),
    ("below zero_min", TWO_SIDED, 0.0, 0.0),
    ("at zero_max", TWO_SIDED, 1.3, 0.0),
    ("open below: far below", {"good_max": 10.0, "zero_max": 30.0}, 0.0, 1.0),
    ("open below: a quarter down", {"good_max": 10.0, "zero_max": 30.0}, 15.0, 0.75),
    ("open above: far above", {"good_min": 3.0, "zero_min": 1.0}, 4.0, 1.0),
    ("hard step: below", {"good_min": 1.0, "zero_min": 1.0}, 0.0, 0.0),
    ("hard step: at edge", {"good_min": 1.0, "zero_min": 1.0}, 1.0, 1.0),
]


@pytest.mark.parametrize("case, band, value, expected", BAND_SCORES, ids=[row[0] for row in BAND_SCORES])
def test_band_score_falls_linearly_outside_the_full_score_band(case, band, value, expected):
    assert Band(**band).score(value) == pytest.approx(expected)


def test_interaction_is_scored_per_criterion():
    scores = score_interaction(SCORING, interaction(greeting_s=20.0, greeted_at=20.0, wait_s=360.0, rating=2))
    assert scores == pytest.approx({"greeting_prompt": 0.5, "greeting_coverage": 1.0, "wait_time": 0.5,
                                    "mutual_facing": 1.0, "personal_distance": 1.0, "customer_rating": 0.5})


def test_not_greeted_scores_zero_on_greeting_criteria():
    scores = score_interaction(SCORING, interaction(**NOT_GREETED))
    assert scores["greeting_prompt"] == 0.0 and scores["greeting_coverage"] == 0.0


def test_absent_measures_are_left_out_not_scored_zero():
    scores = score_interaction(SCORING, interaction(**ABANDONED))
    assert set(scores) == {"greeting_prompt", "greeting_coverage"}


def test_no_rating_is_left_out():
    assert "customer_rating" not in score_interaction(SCORING, interaction(rating=None))


def test_within_target_is_the_full_score_band():
    hits = within_target(SCORING, interaction(wait_s=121.0, eye_contact_ratio=0.8, rating=3))
    assert hits == {"greeting_prompt": True, "greeting_coverage": True, "wait_time": False,
                    "mutual_facing": True, "personal_distance": True, "customer_rating": True}


def test_within_target_counts_not_greeted_as_a_miss_and_leaves_out_absent_measures():
    assert within_target(SCORING, interaction(**NOT_GREETED, **ABANDONED)) == {
        "greeting_prompt": False, "greeting_coverage": False}


def test_overall_score_is_the_weighted_mean_of_present_criteria():
    # weights: greeting_prompt 3, wait_time 2, customer_rating 3
    scores = {"greeting_prompt": 1.0, "wait_time": 0.5, "customer_rating": 0.0}
    assert overall_score(SCORING, scores) == pytest.approx((3 * 1.0 + 2 * 0.5 + 3 * 0.0) / 8)


def test_overall_score_ignores_the_weight_of_absent_criteria():
    assert overall_score(SCORING, {"personal_distance": 0.4}) == pytest.approx(0.4)


def test_overall_score_of_nothing_scored_is_none():
    assert overall_score(SCORING, {}) is None


def test_overall_score_refuses_scores_from_another_rubric():
    with pytest.raises(RubricError, match="does not have: posture"):
        overall_score(SCORING, {"posture": 1.0})


def test_scores_fit_an_interaction_record():
    record = interaction(**NOT_GREETED)
    assert record.with_scores(score_interaction(SCORING, record)).rubric_scores["greeting_prompt"] == 0.0


def test_rubric_is_immutable():
    with pytest.raises(Exception):
        SCORING.criteria[0].weight = 10.0  # type: ignore[misc]
