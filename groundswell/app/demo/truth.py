"""The truth that comes with a generated demo market: which scenarios were planted, when, and how big."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Scenario(BaseModel):
    """One planted pattern. `kind` says what the trend detector should call it: a real shift or a blip."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["shift", "blip"]
    ticket_type: Literal["product", "competitor", "opinion_leader"] | None = Field(
        description="the ticket a correct pipeline opens for it; None: it must not open one"
    )
    entity: str = Field(
        description="configured entity id (brand/product/competitor/opinion leader) or author"
    )
    metric: Literal["volume", "negative_share", "mean_sentiment", "complaint_share", "safety_count"]
    start: datetime
    end: datetime | None = None
    description: str
    items: int = Field(default=0, description="how many items the scenario planted")
    authors: list[str] = Field(default_factory=list, description="distinct authors who carried it")
    sources: list[str] = Field(default_factory=list, description="demo channels it appears on")


class NearDuplicates(BaseModel):
    """Items planted as copies of each other: a correct deduplicator collapses each group into one."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["syndication", "cross_post", "bot_spam"]
    paths: list[str] = Field(
        description="URL paths of the copies on the demo site (join with the served base URL)"
    )


class MarketTruth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int
    start: date
    end: date
    brands: list[str]
    competitors: list[str]
    opinion_leaders: list[str]
    scenarios: list[Scenario]
    items: dict[str, int] = Field(
        description="items per channel: forum, review, news, blog, reddit, mastodon"
    )
    total_items: int
    authors: int = Field(description="distinct authors in the whole market")
    near_duplicates: list[NearDuplicates] = Field(default_factory=list)

    def scenario(self, name: str) -> Scenario:
        for s in self.scenarios:
            if s.name == name:
                return s
        raise KeyError(f"unknown scenario '{name}'; planted: {', '.join(s.name for s in self.scenarios)}")
