"""Service standards: load a rubric (``kiosk/data/rubrics/*.toml``), validate it, and score interactions against it.

The shipped rubrics are package data, found through ``importlib.resources`` (:func:`load_store_rubric`), so an
installed wheel finds them wherever it is started; a store may also point ``store.rubric`` at its own file.

A rubric is a list of criteria. Each criterion scores one allowed measure of an
:class:`~kiosk.core.interaction.Interaction` with a :class:`Band`: 1.0 inside ``[good_min, good_max]``,
falling linearly to 0.0 at ``zero_min`` below and ``zero_max`` above. A side left out is open.

Which criteria an interaction is scored on (the absent-measure rule):

- a criterion whose measure is ``None`` for this interaction is left out, not scored 0: no rating (the
  customer may refuse, rubric X24), and no eye contact, distance or wait for a customer who left before
  service (their leaving is counted on its own, as ``abandoned``);
- except a customer who was never greeted: that is a real 0 on every ``greeting_s`` criterion, because
  not greeting is the worst greeting (rubric G4, X1), not a missing figure.

Example::

    rubric = load_rubric("kiosk/data/rubrics/default.toml", seeds_dir="../shared/seeds")
    scores = score_interaction(rubric, interaction)   # {"greeting_prompt": 1.0, "wait_time": 0.5, ...}
    overall_score(rubric, scores)                     # weighted mean over the scored criteria, 0..1
"""

from __future__ import annotations

import math
import os
import unicodedata
from importlib.resources import as_file, files
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kiosk.core.interaction import Interaction
from kiosk.settings.rubric_names import is_rubric_name, shipped_rubrics
from kiosk.settings.toml_file import read_toml

# The allow-list: measure -> the range its values can take (seconds, ratio 0..1, metres, greeted 0/1, rating 1-4).
# Names are Interaction fields.
MEASURES = MappingProxyType({
    "greeting_s": (0.0, math.inf),
    "wait_s": (0.0, math.inf),
    "eye_contact_ratio": (0.0, 1.0),
    "distance_m_median": (0.0, math.inf),
    "greeted": (0.0, 1.0),
    "rating": (1.0, 4.0),
})
_NOT_SCORED = MappingProxyType({
    "service_s": "a short service is not a better one: the seeds ask to give the customer time to decide (W2-W4, 000:L67)",
    "distance_m_min": "one closest moment is tracking noise; score distance_m_median",
})
_NOT_SCORED_DEFAULT = (
    "a rubric scores how the customer is served, never the person: height, posture, appearance and emotion "
    "are out by design (RUBRIC-SOURCES D2, D3, §5.5; EU AI Act Art. 5(1)(f) bans emotion inference at work)"
)
# 002:L42 (rubric G12): an instant answer reads as idle or over-eager, so full greeting score must stay
# reachable without pouncing: a full-score band that ends before this would reward it.
MIN_GREETING_GOOD_MAX_S = 2.0
# A quote shorter than this could match almost any line, so it would not pin the citation.
MIN_QUOTE_CHARS = 12
_CITATION_KEYS = ("seed", "line", "rule", "quote")

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class RubricError(ValueError):
    """A rubric that cannot be used; the message names the file, the criterion, the key, the value and what is allowed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(_Strict):
    """Where a measure earns full score, in the measure's own unit (s, m, ratio 0..1, rating 1-4, greeted 1/0).

    Score 1.0 for ``good_min <= x <= good_max``; below ``good_min`` it falls linearly to 0.0 at ``zero_min``,
    above ``good_max`` to 0.0 at ``zero_max``. A closed side needs both edges (equal edges = a hard step);
    an open side has neither. A ``zero_*`` edge may lie outside the measure's range to make a gentle slope.
    """

    good_min: Number | None = None
    good_max: Number | None = None
    zero_min: Number | None = None
    zero_max: Number | None = None

    @model_validator(mode="after")
    def _closed_sides_are_ordered(self) -> "Band":
        for side in ("min", "max"):
            good, zero = getattr(self, f"good_{side}"), getattr(self, f"zero_{side}")
            if (good is None) != (zero is None):
                given, needed = (f"good_{side}", f"zero_{side}") if zero is None else (f"zero_{side}", f"good_{side}")
                raise ValueError(
                    f"{given} = {good if zero is None else zero} needs {needed}: a closed side names where full "
                    f"score ends and where 0 is reached (equal values make a hard edge); leave both out for an open side")
        if self.good_min is None and self.good_max is None:
            raise ValueError("band is open on both sides, so every value would score 1; close at least one side")
        edges = [(k, v) for k in ("zero_min", "good_min", "good_max", "zero_max") if (v := getattr(self, k)) is not None]
        for (ka, a), (kb, b) in zip(edges, edges[1:]):
            if a > b:
                raise ValueError(f"edges must be ordered zero_min <= good_min <= good_max <= zero_max, got {ka} = {a} > {kb} = {b}")
        return self

    def contains(self, value: float) -> bool:
        """True when ``value`` earns full score (inside ``[good_min, good_max]``, edges included)."""
        return (self.good_min is None or value >= self.good_min) and (self.good_max is None or value <= self.good_max)

    def score(self, value: float) -> float:
        """The score 0..1 of ``value`` (same unit as the band)."""
        if self.good_min is not None and value < self.good_min:
            return 0.0 if value <= self.zero_min else (value - self.zero_min) / (self.good_min - self.zero_min)
        if self.good_max is not None and value > self.good_max:
            return 0.0 if value >= self.zero_max else (self.zero_max - value) / (self.zero_max - self.good_max)
        return 1.0


class Source(_Strict):
    """Why a criterion exists and where its numbers come from.

    A seed citation (``seed``, ``line``, ``rule``, ``quote``) gives the rule it enforces. ``not_from_seeds =
    true`` with ``reference`` says the band's numbers come from that public source, not from the seeds; a
    criterion may carry both (the seed's why, the reference's numbers). A citation alone claims the seed
    line gives the numbers too.
    """

    seed: str | None = Field(None, pattern=r"^\d{3}$", description="3-digit prefix of the seed file, e.g. '000'.")
    line: int | None = Field(None, strict=True, ge=1, description="1-based line, as `cat -n` numbers it.")
    rule: str | None = Field(None, pattern=r"^[A-Z]+\d+$", description="Rule id in RUBRIC-SOURCES §2, e.g. 'D1'.")
    quote: str | None = Field(None, min_length=MIN_QUOTE_CHARS, description="Verbatim substring of that line.")
    not_from_seeds: bool = Field(False, strict=True, description="True when the band's numbers are not from the seeds.")
    reference: str | None = Field(None, min_length=1, description="Public source of the numbers.")

    @model_validator(mode="after")
    def _complete(self) -> "Source":
        missing = [k for k in _CITATION_KEYS if getattr(self, k) is None]
        if 0 < len(missing) < len(_CITATION_KEYS):
            raise ValueError(f"a seed citation needs seed, line, rule and quote; missing: {', '.join(missing)}")
        if self.not_from_seeds and self.reference is None:
            raise ValueError("not_from_seeds = true needs reference: the public source the numbers come from")
        if self.reference is not None and not self.not_from_seeds:
            raise ValueError("reference needs not_from_seeds = true, so a reader knows those numbers are not from the seeds")
        if len(missing) == len(_CITATION_KEYS) and not self.not_from_seeds:
            raise ValueError("source is empty: cite a seed (seed, line, rule, quote) or set not_from_seeds = true with reference")
        return self


class Criterion(_Strict):
    """One scored rule: a measure, its full-score band, its weight in the overall score and its source."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64, description="Stable id; aggregates count per id.")
    measure: str = Field(description="One of MEASURES.")
    weight: Number = Field(gt=0, description="Relative weight in overall_score.")
    band: Band
    source: Source
    description: str = ""

    @field_validator("measure")
    @classmethod
    def _allowed(cls, measure: str) -> str:
        if measure not in MEASURES:
            why = _NOT_SCORED.get(measure, _NOT_SCORED_DEFAULT)
            raise ValueError(f"not a measure a rubric may score; allowed: {', '.join(MEASURES)}. Why: {why}")
        return measure

    @model_validator(mode="after")
    def _band_fits_measure(self) -> "Criterion":
        lo, hi = MEASURES[self.measure]
        b = self.band
        if (b.good_min is not None and b.good_min > hi) or (b.good_max is not None and b.good_max < lo):
            raise ValueError(
                f"band [{b.good_min}, {b.good_max}] gives no reachable full score: {self.measure} lies within {lo}..{hi}")
        if self.measure == "greeting_s" and (b.good_max is None or b.good_max < MIN_GREETING_GOOD_MAX_S):
            raise ValueError(
                f"band.good_max = {b.good_max}: a greeting_s band must be closed above and keep full score reachable "
                f"until at least {MIN_GREETING_GOOD_MAX_S} s, or it rewards pouncing on the customer (002:L42, rule G12)")
        return self


class Rubric(_Strict):
    """A store's service standard: the criteria an interaction is scored on (``[[criterion]]`` in TOML)."""

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    version: int = Field(strict=True, ge=1, description="Raise on every change; staff are told before it applies (X31).")
    criteria: tuple[Criterion, ...] = Field(alias="criterion", min_length=1)

    @field_validator("criteria")
    @classmethod
    def _unique_ids(cls, criteria: tuple[Criterion, ...]) -> tuple[Criterion, ...]:
        ids = [c.id for c in criteria]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"criterion id {', '.join(map(repr, dupes))} appears more than once; ids must be unique "
                             "because aggregates count within_target per id")
        return criteria


def load_rubric(path: str | os.PathLike[str], seeds_dir: str | os.PathLike[str] | None = None) -> Rubric:
    """Read and validate one rubric file.

    Args:
        path: the TOML file.
        seeds_dir: the seed articles (``../shared/seeds`` from the repo root); when given, every seed citation
            must name an existing seed whose cited line holds the quote verbatim. ``None`` skips that check, so a
            device without the seeds can still load its rubric.
    Raises:
        RubricError: with every problem found, one per line.
    """
    path = Path(path)
    raw = read_toml(path, "rubric file", RubricError)
    try:
        rubric = Rubric.model_validate(raw)
    except ValidationError as e:
        raise RubricError(_describe(path, raw, e)) from None
    if seeds_dir is not None:
        problems = _seed_problems(rubric, Path(seeds_dir), path)
        if problems:
            raise RubricError("\n".join(problems))
    return rubric


def load_store_rubric(spec: str | os.PathLike[str], seeds_dir: str | os.PathLike[str] | None = None) -> Rubric:
    """The rubric ``store.rubric`` names: a shipped one by name (package data), else the TOML file at that path.

    Raises:
        RubricError: an unknown name (the message lists the shipped ones), or a file that cannot be used.
    """
    if isinstance(spec, str) and is_rubric_name(spec):
        if spec not in shipped_rubrics():
            raise RubricError(f"store.rubric = {spec!r} is not a shipped rubric ({', '.join(shipped_rubrics())}); "
                              "give one of those names or the path of a rubric TOML file")
        with as_file(files("kiosk") / "data" / "rubrics" / f"{spec}.toml") as path:
            return load_rubric(path, seeds_dir)
    return load_rubric(spec, seeds_dir)


def score_interaction(rubric: Rubric, interaction: Interaction) -> dict[str, float]:
    """Score one interaction: criterion id -> 0..1, leaving out criteria whose measure is absent (module docstring)."""
    return {c.id: 0.0 if value is None else c.band.score(value) for c, value in _measured(rubric, interaction)}


def within_target(rubric: Rubric, interaction: Interaction) -> dict[str, bool]:
    """For aggregates: criterion id -> whether the measure is inside the full-score band; same omissions as scoring."""
    return {c.id: value is not None and c.band.contains(value) for c, value in _measured(rubric, interaction)}


def overall_score(rubric: Rubric, scores: dict[str, float]) -> float | None:
    """Weighted mean (0..1) of the criteria present in ``scores``; ``None`` when none is present.

    Raises:
        RubricError: when ``scores`` names a criterion the rubric does not have (scored with another rubric).
    """
    weights = {c.id: c.weight for c in rubric.criteria}
    unknown = sorted(set(scores) - set(weights))
    if unknown:
        raise RubricError(f"scores name criteria that rubric {rubric.name!r} does not have: {', '.join(unknown)}; "
                          f"allowed: {', '.join(weights)}")
    if not scores:
        return None
    return sum(weights[k] * v for k, v in scores.items()) / sum(weights[k] for k in scores)


def _measured(rubric: Rubric, interaction: Interaction) -> list[tuple[Criterion, float | None]]:
    """The criteria this interaction is scored on, with their value; ``None`` marks a missed greeting (a real 0)."""
    out: list[tuple[Criterion, float | None]] = []
    for c in rubric.criteria:
        if c.measure == "greeting_s" and not interaction.greeted:
            out.append((c, None))
        elif (value := getattr(interaction, c.measure)) is not None:
            out.append((c, float(value)))  # greeted: True -> 1.0
    return out


def _describe(path: Path, raw: dict[str, Any], error: ValidationError) -> str:
    """Turn pydantic's errors into lines naming the file, the criterion id, the key, the value and what is allowed."""
    errors = error.errors()
    item_failed = any(len(e["loc"]) >= 2 and e["loc"][0] == "criterion" for e in errors)
    lines = []
    for e in errors:
        if item_failed and e["loc"] == ("criterion",) and e["type"] == "too_short":
            continue  # pydantic counts only the criteria that validated; the real errors are listed
        loc, where, models = e["loc"], "", {(): Rubric}
        if len(loc) >= 2 and loc[0] == "criterion" and isinstance(loc[1], int):
            where = f"criterion {_criterion_label(raw, loc[1])}: "
            loc, models = loc[2:], {(): Criterion, ("band",): Band, ("source",): Source}
        key = ".".join(str(p) for p in loc)
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            text = f"key {key!r} is missing (required)"
        elif e["type"] == "extra_forbidden":
            model = models.get(tuple(loc[:-1]))
            allowed = ", ".join(f.alias or n for n, f in model.model_fields.items()) if model else "see kiosk/data/rubrics/README.md"
            text = f"key {key!r} is not allowed; allowed keys: {allowed}"
        elif key and not isinstance(e.get("input"), (dict, list, tuple)):
            text = f"{key} = {e['input']!r}: {msg}"
        else:
            text = f"{key}: {msg}" if key else msg
        lines.append(f"{path}: {where}{text}")
    return "\n".join(lines)


def _criterion_label(raw: dict[str, Any], index: int) -> str:
    try:
        return repr(raw["criterion"][index]["id"])
    except (KeyError, IndexError, TypeError):
        return f"#{index + 1}"


def _seed_problems(rubric: Rubric, seeds_dir: Path, path: Path) -> list[str]:
    """Check every seed citation against the seed files; returns one message per problem."""
    if not seeds_dir.is_dir():
        return [f"{path}: seeds directory {seeds_dir} does not exist; pass seeds_dir=None to skip the quote check"]
    available = sorted(p.name[:3] for p in seeds_dir.glob("[0-9][0-9][0-9]_*.txt"))
    problems = []
    for c in rubric.criteria:
        s = c.source
        if s.seed is None:
            continue
        where = f"{path}: criterion {c.id!r}: source"
        files = sorted(seeds_dir.glob(f"{s.seed}_*.txt"))
        if len(files) != 1:
            found = "no seed file" if not files else f"{len(files)} seed files match"
            problems.append(f"{where}.seed = {s.seed!r}: {found} {s.seed}_*.txt in {seeds_dir}; "
                            f"allowed: one of {', '.join(available) or '(none)'}")
            continue
        # cat -n numbering: split on "\n" only (str.splitlines also splits on U+2028 and others).
        lines = files[0].read_text(encoding="utf-8").removesuffix("\n").split("\n")
        if s.line > len(lines):
            problems.append(f"{where}.line = {s.line}: seed {files[0].name} has only {len(lines)} lines")
        elif _nfc(s.quote) not in _nfc(lines[s.line - 1]):
            problems.append(f"{where}.quote = {s.quote!r}: not found on line {s.line} of {files[0].name}; "
                            "the quote must be a verbatim substring of that line (1-based, as cat -n numbers it)")
    return problems


def _nfc(text: str) -> str:
    # Persian and Russian text can reach the same glyphs by different code points; compare them composed.
    return unicodedata.normalize("NFC", text)
