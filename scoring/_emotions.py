"""Emotion indices per step: conscious valence, latency-weighted implicit valence and their gap.

Conscious index: the self-reported valence v ∈ {−3 … +3} normalised to −1 … +1:

    conscious = v / 3

Implicit index: each speeded probe answers with a valence c ∈ {−1, 0, +1}; face probes map to
valence as happy +1, neutral 0, surprised 0 (surprise is arousal without a sign), sad −1, angry −1.
A probe is *valid* when it has a choice and anticipation_ms ≤ latency ≤ deadline_ms (default
anticipation bound 150 ms; the deadline is the one in force, sent with the probe, else the step's
probe definition, else 1500 ms). Faster than the bound is *anticipatory* (answered before the
stimulus could be processed), no choice or slower than the deadline is *timed out*; a choice that
is neither a valence nor a known face is *invalid*. Excluded probes are counted, never used.

Valid probes are weighted by speed relative to the shopper's own speed (the latency baseline):

    z_i = (ln L_i − μ) / σ           μ, σ: mean and sample SD of ln latency over the shopper's valid probes
    w_i = 1 / (1 + e^{z_i})          logistic: 0.5 at the shopper's typical speed, → 1 faster, → 0 slower
    implicit = Σ w_i c_i / Σ w_i     ∈ [−1, +1]

A weighted mean of values in [−1, 1] with positive weights stays in [−1, 1], and the sums are taken
exactly (``math.fsum``), so the order of the probes never changes the index.

The baseline needs at least 5 valid probes (``MIN_BASELINE_PROBES``); with fewer, σ is reported as
0, which means "no speed correction": every valid probe then weighs the same (w = 0.5), i.e. the
index is the plain mean of the valid choices. The API should compute the baseline over as many of
the shopper's probes as it has (this visit at least, ideally the shopper's history).

Gap: implicit − conscious ∈ [−2, +2]; positive when the gut reaction is warmer than the report.

Why this shape. Fast evaluative responses reveal more accessible, more automatic attitudes (Fazio,
Sanbonmatsu, Powell & Kardes 1986; Bassili 1996), so a fast answer is weighted above a slow,
deliberated one. Raw latencies are right-skewed and people differ in baseline speed, so latencies
are log-transformed and standardised within person before they are compared (Fazio 1990; Greenwald,
Nosek & Banaji 2003, whose IAT D-score likewise scales latency by each respondent's own SD).
Implausibly fast and timed-out trials are removed rather than trimmed to a bound (Ratcliff 1993).

- Bassili, J. N. (1996). Meta-judgmental versus operative indexes of psychological attributes:
  the case of measures of attitude strength. JPSP, 71(4), 637–653.
- Fazio, R. H. (1990). A practical guide to the use of response latency in social psychological
  research. In C. Hendrick & M. S. Clark (Eds.), Research Methods in Personality and Social
  Psychology (pp. 74–97). Sage.
- Fazio, R. H., Sanbonmatsu, D. M., Powell, M. C., & Kardes, F. R. (1986). On the automatic
  activation of attitudes. JPSP, 50(2), 229–238.
- Greenwald, A. G., Nosek, B. A., & Banaji, M. R. (2003). Understanding and using the Implicit
  Association Test: I. An improved scoring algorithm. JPSP, 85(2), 197–216.
- Ratcliff, R. (1993). Methods for dealing with reaction time outliers. Psychological Bulletin,
  114(3), 510–532.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from briefings import JourneyDefinition
from scoring._inputs import StepObservation, observations_by_step

ANTICIPATION_MS = 150
DEFAULT_DEADLINE_MS = 1500
MIN_BASELINE_PROBES = 5
FACE_VALENCE: Mapping[str, float] = {
    "happy": 1.0,
    "surprised": 0.0,
    "neutral": 0.0,
    "sad": -1.0,
    "angry": -1.0,
}

Probe = Mapping[str, Any]


class ProbeStatus(StrEnum):
    valid = "valid"
    anticipatory = "anticipatory"
    timed_out = "timed_out"
    invalid = "invalid"


class LatencyBaseline(NamedTuple):
    mean_ln: float
    """Mean of ln(latency in ms) over the shopper's valid probes."""
    sd_ln: float
    """Sample SD of ln latency; 0 means too few probes to correct for speed."""


@dataclass(frozen=True, slots=True)
class ImplicitIndex:
    value: float | None
    """Latency-weighted mean valence in −1…+1; None when no probe was valid."""
    valid: int
    anticipatory: int
    timed_out: int
    invalid: int

    @property
    def excluded(self) -> int:
        return self.anticipatory + self.timed_out + self.invalid


@dataclass(frozen=True, slots=True)
class StepEmotion:
    step_key: str
    conscious_valence: int | None
    conscious: float | None
    """conscious_index of the reported valence; None when not reported."""
    implicit: ImplicitIndex
    gap: float | None
    """implicit − conscious; None when either is missing."""


def conscious_index(valence: float) -> float:
    """Self-reported valence −3…+3 as −1…+1 (values beyond the scale are clamped)."""
    return max(-1.0, min(1.0, valence / 3))


def probe_valence(probe: Probe) -> float | None:
    """The valence a probe's choice expresses, or None for no or an unknown choice."""
    choice = probe.get("choice")
    if isinstance(choice, str):
        return FACE_VALENCE.get(choice)
    if isinstance(choice, int | float) and not isinstance(choice, bool) and choice in (-1, 0, 1):
        return float(choice)
    return None


def probe_status(
    probe: Probe,
    *,
    anticipation_ms: float = ANTICIPATION_MS,
    default_deadline_ms: float = DEFAULT_DEADLINE_MS,
) -> ProbeStatus:
    """Whether a probe counts, and if not why (see the module docstring)."""
    latency = _number(probe.get("latency_ms"))
    deadline = _number(probe.get("deadline_ms"))
    if deadline is None:
        deadline = default_deadline_ms
    if probe.get("choice") is None or latency is None or latency > deadline:
        return ProbeStatus.timed_out
    if latency < anticipation_ms:
        return ProbeStatus.anticipatory
    if probe_valence(probe) is None:
        return ProbeStatus.invalid
    return ProbeStatus.valid


def shopper_latency_baseline(
    probes: Iterable[Probe],
    *,
    anticipation_ms: float = ANTICIPATION_MS,
    min_probes: int = MIN_BASELINE_PROBES,
) -> LatencyBaseline:
    """Mean and sample SD of ln latency over the valid probes; SD 0 below ``min_probes``."""
    logs = [
        _log_latency(probe)
        for probe in probes
        if probe_status(probe, anticipation_ms=anticipation_ms) is ProbeStatus.valid
    ]
    if not logs:
        return LatencyBaseline(0.0, 0.0)
    mean = math.fsum(logs) / len(logs)
    if len(logs) < max(min_probes, 2):
        return LatencyBaseline(mean, 0.0)
    variance = math.fsum((value - mean) ** 2 for value in logs) / (len(logs) - 1)
    return LatencyBaseline(mean, math.sqrt(variance))


def probe_weight(latency_ms: float, mean_ln: float, sd_ln: float) -> float:
    """w = 1 / (1 + e^z), z = (ln L − μ) / σ; 0.5 when σ is 0 (no speed correction)."""
    if not (sd_ln > 0 and math.isfinite(sd_ln)):
        return 0.5
    z = (math.log(max(latency_ms, 1.0)) - mean_ln) / sd_ln
    if z >= 0:
        decay = math.exp(-z)
        return decay / (1.0 + decay)
    return 1.0 / (1.0 + math.exp(z))


def implicit_index(
    probes: Iterable[Probe],
    shopper_log_latency_mean: float,
    shopper_log_latency_sd: float,
    anticipation_ms: float = ANTICIPATION_MS,
) -> ImplicitIndex:
    """Latency-weighted mean valence of the valid probes, with counts of the excluded ones."""
    counts = dict.fromkeys(ProbeStatus, 0)
    pairs: list[tuple[float, float]] = []
    for probe in probes:
        status = probe_status(probe, anticipation_ms=anticipation_ms)
        counts[status] += 1
        valence = probe_valence(probe)
        if status is ProbeStatus.valid and valence is not None:
            latency = _number(probe.get("latency_ms")) or 0.0
            weight = probe_weight(latency, shopper_log_latency_mean, shopper_log_latency_sd)
            pairs.append((weight, valence))
    value: float | None = None
    if pairs:
        total = math.fsum(weight for weight, _ in pairs)
        if total > 0:
            value = math.fsum(weight * valence for weight, valence in pairs) / total
        else:  # every weight underflowed: far slower than the baseline, so weigh them alike
            value = math.fsum(valence for _, valence in pairs) / len(pairs)
        value = max(-1.0, min(1.0, value))
    return ImplicitIndex(
        value=value,
        valid=counts[ProbeStatus.valid],
        anticipatory=counts[ProbeStatus.anticipatory],
        timed_out=counts[ProbeStatus.timed_out],
        invalid=counts[ProbeStatus.invalid],
    )


def emotion_gap(implicit: float | None, conscious: float | None) -> float | None:
    """implicit − conscious, or None when either is missing."""
    if implicit is None or conscious is None:
        return None
    return implicit - conscious


def visit_probes(
    journey: JourneyDefinition, observations: Sequence[StepObservation]
) -> list[dict[str, Any]]:
    """Every probe of the visit, with the step's declared deadline filled in where none was sent."""
    return [
        probe for observation in observations for probe in _with_deadlines(journey, observation)
    ]


def step_emotions(
    journey: JourneyDefinition,
    observations: Sequence[StepObservation],
    *,
    baseline: LatencyBaseline | None = None,
    anticipation_ms: float = ANTICIPATION_MS,
) -> list[StepEmotion]:
    """Conscious and implicit index and their gap for every step of the journey, in order.

    Without a ``baseline`` it is computed from this visit's probes.
    """
    if baseline is None:
        baseline = shopper_latency_baseline(
            visit_probes(journey, observations), anticipation_ms=anticipation_ms
        )
    by_step = observations_by_step(observations)
    result: list[StepEmotion] = []
    for _, step in journey.steps():
        observation = by_step.get(step.key, StepObservation(step.key))
        valence = _conscious_valence(observation.conscious)
        conscious = None if valence is None else conscious_index(valence)
        implicit = implicit_index(
            _with_deadlines(journey, observation),
            baseline.mean_ln,
            baseline.sd_ln,
            anticipation_ms,
        )
        result.append(
            StepEmotion(
                step_key=step.key,
                conscious_valence=valence,
                conscious=conscious,
                implicit=implicit,
                gap=emotion_gap(implicit.value, conscious),
            )
        )
    return result


def _with_deadlines(
    journey: JourneyDefinition, observation: StepObservation
) -> list[dict[str, Any]]:
    try:
        declared = {
            p.stimulus: p.deadline_ms for p in journey.step(observation.step_key).emotions.probes
        }
    except KeyError:
        declared = {}
    probes: list[dict[str, Any]] = []
    for probe in observation.probes:
        copy = dict(probe)
        if _number(copy.get("deadline_ms")) is None:
            copy["deadline_ms"] = declared.get(str(copy.get("stimulus")), DEFAULT_DEADLINE_MS)
        probes.append(copy)
    return probes


def _conscious_valence(conscious: Mapping[str, Any] | None) -> int | None:
    if conscious is None:
        return None
    valence = conscious.get("valence")
    if isinstance(valence, int) and not isinstance(valence, bool):
        return valence
    return None


def _log_latency(probe: Probe) -> float:
    return math.log(max(_number(probe.get("latency_ms")) or 0.0, 1.0))


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
