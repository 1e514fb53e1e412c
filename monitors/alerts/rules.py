"""Alert rules and channels: the YAML rule file, its validation, and applying it.

The rule file is a contract that users keep in git::

    channels:
      oncall:   {type: email, to: [ml-oncall@example.com]}
      ml-team:  {type: slack, webhook_url_env: DRIFTWARDEN_SLACK_WEBHOOK}
      retrain:  {type: webhook, url_env: RETRAIN_WEBHOOK_URL, secret_env: RETRAIN_WEBHOOK_SECRET}
    rules:
      - name: age-drift
        model: credit
        metric: drift_detected
        feature: age          # or "*"; omit for model-level metrics
        op: ">="
        threshold: 1
        for: 1
        repeat: 24h
        severity: warning
        channels: [oncall, ml-team]
        # require_significant: true   # breach only when the value's interval is past the threshold

Channels hold the *names* of environment variables, never secrets: they are resolved
when a message is sent.

:func:`apply_rules` makes the database match the file in one transaction: rules in the
file are created or updated (matched by name), rules that are no longer in the file are
**disabled** (kept, with their history; applying a file that names them again re-enables
them), channels not in the file are deleted.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitors.errors import AlertRuleError
from storage.models import AlertChannel, AlertRule

OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
SEVERITIES: Final = ("info", "warning", "critical")
WILDCARD: Final = "*"
DEFAULT_REPEAT_SECONDS: Final = 86_400
#: Where ``require_significant`` is kept in the stored rule: a reserved key of its JSON
#: ``labels`` (holding ``true``, where user labels hold strings), hidden from messages.
SIGNIFICANT_KEY: Final = "driftwarden:require_significant"

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")


def parse_duration(text: str | int | float) -> int:
    """Seconds in a duration such as ``90s``, ``15m``, ``24h``, ``7d`` or ``1w``.

    Plain numbers are seconds.

    Examples
    --------
    >>> parse_duration("24h")
    86400
    >>> parse_duration("1.5m")
    90
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a duration like '24h'; got {text!r}")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _DURATION.match(text)
        if match is None:
            raise ValueError(f"expected a duration like '90s', '15m', '24h' or '7d'; got {text!r}")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"expected a positive duration; got {text!r}")
    return round(seconds)


def _env_name(value: str, key: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"{key} must be the name of an environment variable; got {value!r}")
    return value


class EmailChannelConfig(BaseModel):
    """An email channel; SMTP settings come from ``DRIFTWARDEN_SMTP_*`` variables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["email"]
    to: list[str] = Field(min_length=1)
    """Recipients (at least one)."""
    cc: list[str] = Field(default_factory=list)
    """Copy recipients (default none)."""

    @field_validator("to", "cc")
    @classmethod
    def _addresses(cls, value: list[str], info: ValidationInfo) -> list[str]:
        for address in value:
            if not _EMAIL.match(address):
                raise ValueError(f"{info.field_name} must hold email addresses; got {address!r}")
        return value


class SlackChannelConfig(BaseModel):
    """A Slack incoming webhook; the URL is read from an environment variable at send time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["slack"]
    webhook_url_env: str
    """Name of the environment variable holding the webhook URL."""

    @field_validator("webhook_url_env")
    @classmethod
    def _env(cls, value: str) -> str:
        return _env_name(value, "webhook_url_env")


class WebhookChannelConfig(BaseModel):
    """A generic JSON webhook, signed with HMAC-SHA256 when a secret is configured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["webhook"]
    url_env: str
    """Name of the environment variable holding the target URL."""
    secret_env: str | None = None
    """Name of the environment variable holding the signing secret (default: unsigned)."""

    @field_validator("url_env", "secret_env")
    @classmethod
    def _env(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _env_name(value, str(info.field_name))


ChannelConfig = Annotated[
    EmailChannelConfig | SlackChannelConfig | WebhookChannelConfig, Field(discriminator="type")
]


class RuleConfig(BaseModel):
    """One alert rule as written in the rule file."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, max_length=128)
    """Unique rule name."""
    model: str = Field(min_length=1, max_length=128)
    """Model name."""
    metric: str = Field(min_length=1, max_length=64)
    """Any stored metric name (``drift_detected``, ``psi``, ``accuracy`` …)."""
    feature: str | None = None
    """A feature (or fairness attribute), ``"*"`` for each, or omitted for model-level metrics.
    When ``group`` is given and ``feature`` is omitted, any feature matches."""
    group: str | None = None
    """A fairness group (``"sex=F"``), ``"*"`` for each, or omitted (no group)."""
    op: str
    """Comparison with the threshold: ``>``, ``>=``, ``<`` or ``<=``; breaching when true."""
    threshold: float
    """Threshold the metric value is compared with."""
    for_windows: int = Field(default=1, alias="for")
    """Consecutive breaching windows before the rule fires (default 1)."""
    repeat: int = DEFAULT_REPEAT_SECONDS
    """Repeat interval while firing, as a duration (default ``24h``)."""
    severity: str = "warning"
    """``info``, ``warning`` (default) or ``critical``."""
    channels: list[str] = Field(default_factory=list)
    """Names of channels defined in the same file (default none: state only)."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Free-form labels copied into every notification (default none)."""
    enabled: bool = True
    """Whether the rule is evaluated (default true)."""
    require_significant: bool = False
    """Breach only when the record's confidence interval (``details.ci_low`` /
    ``details.ci_high``) lies entirely past the threshold, not just its value (default
    false). A record without an interval then never breaches."""

    @field_validator("op", mode="before")
    @classmethod
    def _op(cls, value: Any) -> str:
        if value not in OPS:
            raise ValueError(f"op must be one of >, >=, <, <=; got {value!r}")
        return str(value)

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"threshold must be a number; got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"threshold must be finite; got {value!r}")
        return float(value)

    @field_validator("for_windows", mode="before")
    @classmethod
    def _for(cls, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"for must be a whole number of windows >= 1; got {value!r}")
        return value

    @field_validator("repeat", mode="before")
    @classmethod
    def _repeat(cls, value: Any) -> int:
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"repeat: {exc}") from exc

    @field_validator("require_significant", mode="before")
    @classmethod
    def _require_significant(cls, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"require_significant must be true or false; got {value!r}")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        if SIGNIFICANT_KEY in value:
            raise ValueError(f"labels: the key {SIGNIFICANT_KEY!r} is reserved")
        return value

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: Any) -> str:
        if value not in SEVERITIES:
            raise ValueError(f"severity must be one of info, warning, critical; got {value!r}")
        return str(value)


class RuleFile(BaseModel):
    """A whole rule file: named channels and rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    """Named channels."""
    rules: list[RuleConfig] = Field(default_factory=list)
    """Rules, unique by name."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A stored rule, as the pure engine sees it."""

    id: int
    name: str
    model: str
    metric: str
    feature: str | None
    group: str | None
    op: str
    threshold: float
    for_windows: int = 1
    repeat_seconds: int = DEFAULT_REPEAT_SECONDS
    severity: str = "warning"
    channels: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    require_significant: bool = False

    def breaching(
        self, value: float | None, *, ci_low: float | None = None, ci_high: float | None = None
    ) -> bool | None:
        """Whether ``value`` breaches the rule; ``None`` when there is no value.

        With ``require_significant`` the interval ``[ci_low, ci_high]`` must lie past the
        threshold too (``ci_low`` for ``>``/``>=``, ``ci_high`` for ``<``/``<=``); without
        that bound the window does not breach.

        Examples
        --------
        >>> rule = Rule(id=1, name="r", model="m", metric="demographic_parity_difference",
        ...             feature="sex", group=None, op=">", threshold=0.1,
        ...             require_significant=True)
        >>> rule.breaching(0.3, ci_low=0.05, ci_high=0.5), rule.breaching(0.3, ci_low=0.2)
        (False, True)
        """
        if value is None or not math.isfinite(value):
            return None
        breach = OPS[self.op](value, self.threshold)
        if not (breach and self.require_significant):
            return breach
        bound = ci_low if self.op in (">", ">=") else ci_high
        return bound is not None and math.isfinite(bound) and OPS[self.op](bound, self.threshold)

    @classmethod
    def from_row(cls, row: AlertRule) -> Rule:
        """Build from an ORM row."""
        stored = dict(row.labels)
        require_significant = stored.pop(SIGNIFICANT_KEY, False) is True
        return cls(
            id=row.id,
            name=row.name,
            model=row.model,
            metric=row.metric,
            feature=row.feature,
            group=row.group,
            op=row.op,
            threshold=row.threshold,
            for_windows=row.for_windows,
            repeat_seconds=row.repeat_seconds,
            severity=row.severity,
            channels=tuple(str(c) for c in row.channels),
            labels={str(k): str(v) for k, v in stored.items()},
            require_significant=require_significant,
        )


@dataclass(frozen=True, slots=True)
class ApplySummary:
    """What :func:`apply_rules` changed."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    disabled: tuple[str, ...]
    channels: tuple[str, ...]
    channels_removed: tuple[str, ...]


def _describe(error: Mapping[str, Any]) -> str:
    """One readable sentence for a pydantic error (without the location)."""
    loc = [str(p) for p in error["loc"]]
    inner = loc[2:] if len(loc) >= 2 and loc[0] in ("rules", "channels") else loc
    inner = [p for p in inner if p not in ("email", "slack", "webhook")]  # union tags
    key = ".".join(inner) if inner else "file"
    kind = error["type"]
    got = error.get("input")
    if kind == "missing":
        return f"{key} is required."
    if kind == "extra_forbidden":
        return f"unknown key {key!r}."
    if kind == "value_error":  # our validators' messages name their key
        msg = str(error["ctx"]["error"]) if "ctx" in error else str(error["msg"])
        return msg.rstrip(".") + "."
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag", got)
        return f"type must be one of email, slack, webhook; got {tag!r}."
    if kind == "union_tag_not_found":
        return "type is required (email, slack or webhook)."
    return f"{key}: {error['msg'].lower()}; got {got!r}."


def _where(error: Mapping[str, Any], raw: Any) -> str:
    """``Rule 'name'`` / ``Channel 'name'`` / ``Rule file`` for an error location."""
    loc = error["loc"]
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        name = None
        if isinstance(raw, dict) and isinstance(raw.get("rules"), list):
            items = raw["rules"]
            if loc[1] < len(items) and isinstance(items[loc[1]], dict):
                name = items[loc[1]].get("name")
        return f"Rule {name!r}" if isinstance(name, str) else f"Rule #{loc[1] + 1}"
    if len(loc) >= 2 and loc[0] == "channels":
        return f"Channel {loc[1]!r}"
    return "Rule file"


def parse_rule_file(text: str, *, source: str = "<rules>") -> RuleFile:
    """Parse and validate the YAML text of a rule file.

    Parameters
    ----------
    text : str
        YAML text.
    source : str
        Name used in error messages (the file path).

    Returns
    -------
    RuleFile

    Raises
    ------
    AlertRuleError
        On invalid YAML, an invalid rule or channel (the message names the rule and the
        key), duplicate rule names, or a rule that names an undefined channel.

    Examples
    --------
    >>> parse_rule_file("rules: [{name: r, model: m, metric: psi, op: '>', threshold: 0.2}]")
    ... # doctest: +ELLIPSIS
    RuleFile(channels={}, rules=[RuleConfig(name='r', ...)])
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise AlertRuleError(f"{source}: not valid YAML{where}.") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise AlertRuleError(
            f"{source}: expected a mapping with 'channels' and 'rules'; got {type(raw).__name__}."
        )
    try:
        parsed = RuleFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise AlertRuleError(f"{_where(first, raw)}: {_describe(first)}") from exc
    seen: set[str] = set()
    for rule in parsed.rules:
        if rule.name in seen:
            raise AlertRuleError(f"Rule {rule.name!r}: name is used by more than one rule.")
        seen.add(rule.name)
        for channel in rule.channels:
            if channel not in parsed.channels:
                defined = ", ".join(sorted(parsed.channels)) or "none"
                raise AlertRuleError(
                    f"Rule {rule.name!r}: channels names {channel!r}, which is not defined "
                    f"under 'channels' (defined: {defined})."
                )
    return parsed


def load_rule_file(path: str | Path) -> RuleFile:
    """Read and validate a rule file (see :func:`parse_rule_file`).

    Raises
    ------
    AlertRuleError
        If the file cannot be read or is invalid.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AlertRuleError(f"{path}: cannot read the rule file ({exc.strerror}).") from exc
    return parse_rule_file(text, source=str(path))


def _rule_values(rule: RuleConfig) -> dict[str, Any]:
    return {
        "model": rule.model,
        "metric": rule.metric,
        "feature": rule.feature,
        "group": rule.group,
        "op": rule.op,
        "threshold": rule.threshold,
        "for_windows": rule.for_windows,
        "repeat_seconds": rule.repeat,
        "severity": rule.severity,
        "channels": list(rule.channels),
        "labels": {**rule.labels, **({SIGNIFICANT_KEY: True} if rule.require_significant else {})},
        "enabled": rule.enabled,
    }


def apply_rules(session: Session, rule_file: RuleFile) -> ApplySummary:
    """Make the stored rules and channels match ``rule_file``.

    Rules are matched by name: new ones are created, changed ones updated, rules not in
    the file are disabled (their history is kept). Channels not in the file are deleted.
    The caller owns the transaction, so a failure changes nothing.

    Parameters
    ----------
    session : Session
        A session inside a transaction.
    rule_file : RuleFile
        A validated rule file.

    Returns
    -------
    ApplySummary
    """
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    disabled: list[str] = []
    existing = {row.name: row for row in session.scalars(select(AlertRule))}
    for rule in rule_file.rules:
        values = _rule_values(rule)
        row = existing.pop(rule.name, None)
        if row is None:
            session.add(AlertRule(name=rule.name, **values))
            created.append(rule.name)
            continue
        if all(getattr(row, key) == value for key, value in values.items()):
            unchanged.append(rule.name)
            continue
        for key, value in values.items():
            setattr(row, key, value)
        updated.append(rule.name)
    for name, row in existing.items():
        if row.enabled:
            row.enabled = False
            disabled.append(name)
    channels = {row.name: row for row in session.scalars(select(AlertChannel))}
    for name, config in rule_file.channels.items():
        settings = config.model_dump(exclude={"type"})
        row_c = channels.pop(name, None)
        if row_c is None:
            session.add(AlertChannel(name=name, type=config.type, settings=settings))
        else:
            row_c.type = config.type
            row_c.settings = settings
    removed = sorted(channels)
    for row_c in channels.values():
        session.delete(row_c)
    session.flush()
    return ApplySummary(
        created=tuple(created),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        disabled=tuple(disabled),
        channels=tuple(rule_file.channels),
        channels_removed=tuple(removed),
    )


def channel_config(
    row: AlertChannel,
) -> EmailChannelConfig | SlackChannelConfig | WebhookChannelConfig:
    """The validated configuration of a stored channel."""
    data = {"type": row.type, **row.settings}
    if row.type == "email":
        return EmailChannelConfig.model_validate(data)
    if row.type == "slack":
        return SlackChannelConfig.model_validate(data)
    if row.type == "webhook":
        return WebhookChannelConfig.model_validate(data)
    raise AlertRuleError(
        f"Channel {row.name!r}: type must be one of email, slack, webhook; got {row.type!r}."
    )
