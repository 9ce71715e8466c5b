from __future__ import annotations

from fastapi import APIRouter, FastAPI

router = APIRouter()


def add_canned_routes(app: FastAPI) -> None:
    pass
