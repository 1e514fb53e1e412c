"""What-if for the backtest: choose rules from a rule file, ``--set`` fields, ``--sweep`` one.

Overrides are validated exactly like the rule file itself: the file with the new values
goes through :func:`monitors.alerts.rules.parse_rule_file` again, so a bad value reads as
in ``alerts apply`` (``Rule 'x': threshold must be a number; got 'high'.``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import yaml

from monitors.alerts.rules import (
    Rule,
    RuleConfig,
    RuleFile,
    _rule_values,
    parse_duration,
    parse_rule_file,
)
from monitors.errors import AlertRuleError
from storage.models import AlertRule

SWEEP_KEYS: Final = ("threshold", "for", "repeat")
"""Rule keys ``--sweep`` can vary (they change how a series is judged, not which one)."""
MAX_SWEEP_VALUES: Final = 1000
_ALIASES: Final = {"for_windows": "for"}


def as_rule(config: RuleConfig, *, rule_id: int = 0) -> Rule:
    """The rule the live engine would evaluate after ``alerts apply`` of ``config``.

    Goes through the same conversion as ``apply`` (stored columns) and the live pass
    (:meth:`Rule.from_row`) on a row that is never added to a session.
    """
    return Rule.from_row(AlertRule(id=rule_id, name=config.name, **_rule_values(config)))


def select_rules(rule_file: RuleFile, names: Sequence[str] | None) -> list[RuleConfig]:
    """The rules named (in file order), or every enabled rule of the file.

    Raises
    ------
    AlertRuleError
        If a name is not a rule of the file.
    """
    if not names:
        return [r for r in rule_file.rules if r.enabled]
    known = {r.name for r in rule_file.rules}
    for name in names:
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise AlertRuleError(f"--rule: no rule named {name!r} in the file (rules: {listed}).")
    return [r for r in rule_file.rules if r.name in set(names)]


def parse_settings(items: Sequence[str]) -> dict[str, Any]:
    """``["threshold=0.2", "for=3"]`` → ``{"threshold": 0.2, "for": 3}`` (values read as YAML).

    Examples
    --------
    >>> parse_settings(["threshold=0.2", "for=3", "channels=[oncall]", "repeat=12h"])
    {'threshold': 0.2, 'for': 3, 'channels': ['oncall'], 'repeat': '12h'}
    """
    settings: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise AlertRuleError(f"--set: expected KEY=VALUE; got {item!r}.")
        if key == "name":
            raise AlertRuleError(
                "--set: the rule's name cannot be changed (use --rule to pick it)."
            )
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise AlertRuleError(f"--set {key}: not a valid YAML value; got {text!r}.") from exc
        settings[_ALIASES.get(key, key)] = value
    return settings


def with_settings(rule_file: RuleFile, name: str, settings: Mapping[str, Any]) -> RuleFile:
    """``rule_file`` with fields of rule ``name`` replaced, validated as a rule file.

    Raises
    ------
    AlertRuleError
        If the new values make the rule invalid (the message names the rule and key).
    """
    if not settings:
        return rule_file
    raw = rule_file.model_dump(mode="json", by_alias=True)
    for rule in raw["rules"]:
        if rule["name"] == name:
            rule.update(settings)
    return parse_rule_file(yaml.safe_dump(raw, sort_keys=False), source=f"--set on {name!r}")


def target_rule(selected: Sequence[RuleConfig], option: str) -> RuleConfig:
    """The one rule ``--set``/``--sweep`` applies to.

    Raises
    ------
    AlertRuleError
        When no rule or more than one rule is selected.
    """
    if len(selected) != 1:
        names = ", ".join(r.name for r in selected) or "none"
        raise AlertRuleError(
            f"{option} applies to one rule: choose it with --rule NAME "
            f"({len(selected)} rules selected: {names})."
        )
    return selected[0]


@dataclass(frozen=True, slots=True)
class SweepSpec:
    """A parsed ``--sweep KEY=START:STOP:STEP``: the key and the values, stop included."""

    key: str
    values: tuple[float | int, ...]


def _sweep_number(key: str, text: str, spec: str) -> float:
    """One of START, STOP, STEP as a number (a duration for ``repeat``)."""
    try:
        if key == "repeat":
            return float(parse_duration(text.strip()))
        number = float(text)
    except ValueError as exc:
        raise AlertRuleError(
            f"--sweep: {text.strip()!r} in {spec!r} is not a "
            f"{'duration' if key == 'repeat' else 'number'}."
        ) from exc
    if not math.isfinite(number):
        raise AlertRuleError(f"--sweep: {text.strip()!r} in {spec!r} is not a finite number.")
    return number


def parse_sweep(spec: str) -> SweepSpec:
    """Parse ``KEY=START:STOP:STEP`` (``repeat`` takes durations: ``1h:24h:1h``).

    Examples
    --------
    >>> parse_sweep("threshold=0.1:0.3:0.05").values
    (0.1, 0.15, 0.2, 0.25, 0.3)
    >>> parse_sweep("for=1:3:1").values
    (1, 2, 3)
    >>> parse_sweep("repeat=6h:24h:6h").values
    (21600, 43200, 64800, 86400)
    """
    key, sep, rest = spec.partition("=")
    key = _ALIASES.get(key.strip(), key.strip())
    parts = rest.split(":")
    if not sep or len(parts) != 3:
        raise AlertRuleError(f"--sweep: expected KEY=START:STOP:STEP; got {spec!r}.")
    if key not in SWEEP_KEYS:
        raise AlertRuleError(f"--sweep: KEY must be one of {', '.join(SWEEP_KEYS)}; got {key!r}.")
    start, stop, step = (_sweep_number(key, p, spec) for p in parts)
    if step <= 0 or stop < start:
        raise AlertRuleError(f"--sweep: expected START <= STOP and STEP > 0; got {spec!r}.")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_SWEEP_VALUES:
        raise AlertRuleError(
            f"--sweep: {spec!r} gives {count} values; at most {MAX_SWEEP_VALUES} are allowed."
        )
    values = [start + i * step for i in range(count)]
    if key == "threshold":
        return SweepSpec(key, tuple(round(v, 12) for v in values))
    if any(v != round(v) for v in values):
        raise AlertRuleError(f"--sweep: {key} takes whole numbers; got {spec!r}.")
    return SweepSpec(key, tuple(round(v) for v in values))


def sweep_rules(rule_file: RuleFile, name: str, sweep: SweepSpec) -> list[Rule]:
    """One rule per sweep value (each validated as in a rule file)."""
    rules = []
    for value in sweep.values:
        variant = with_settings(rule_file, name, {sweep.key: value})
        rules.append(as_rule(next(r for r in variant.rules if r.name == name)))
    return rules
