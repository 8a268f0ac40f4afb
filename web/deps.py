"""The web UI's dependencies: what a route needs, read from `app.state` (set once by `create_app`).

Routers declare them as parameters (`store: StoreDep`), FastAPI's "bigger applications" way, so a
route never closes over local variables of the factory. The CSRF check is an app-wide dependency
(`web.security.csrf_guard`); who is asking is decided by the guard middleware in `web.app` and read
here from `request.state`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from groundswell.config import Config
from groundswell.store.base import Store
from web.render import Pages
from web.security import LoginThrottle
from web.ui import Ui


async def get_config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def get_ui(request: Request) -> Ui:
    ui: Ui = request.app.state.ui
    return ui


async def get_pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


async def get_tokens(request: Request) -> dict[str, str]:
    """{secret: user name}; empty when the UI runs without login (loopback only)."""
    tokens: dict[str, str] = request.app.state.tokens
    return tokens


async def get_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.throttle
    return throttle


async def current_user(request: Request) -> str:
    """The logged-in user (or `local` without login); the guard middleware has refused anyone else."""
    user: str = request.state.user
    return user


ConfigDep = Annotated[Config, Depends(get_config)]
StoreDep = Annotated[Store, Depends(get_store)]
UiDep = Annotated[Ui, Depends(get_ui)]
PagesDep = Annotated[Pages, Depends(get_pages)]
TokensDep = Annotated[dict[str, str], Depends(get_tokens)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]
UserDep = Annotated[str, Depends(current_user)]
