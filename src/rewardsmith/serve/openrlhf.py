"""``POST /get_reward``: OpenRLHF's remote reward protocol over HTTP.

Request ``{"query": [...], "prompts": [...], "labels": [...]}`` (what
``openrlhf.utils.agent.SingleTurnAgentExecutor`` sends); each response is split off its
query by the prompt prefix, end-of-turn markers are stripped, the label is the
reference. Reply ``{"rewards": [...], "scores": [...], "extra_logs": {...}}`` with a float
for every item: unscored items get the app's ``on_error`` value (see
``rewardsmith.integrations.openrlhf``; ``Scoring.run`` does the work).
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from rewardsmith.serve.state import ServeState

__all__ = ["openrlhf_router"]

_BODY = {
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RewardRequest"}}}
}


def openrlhf_router(state: ServeState) -> APIRouter:
    """The ``/get_reward`` route of an app."""
    router = APIRouter()

    @router.post("/get_reward", openapi_extra={"requestBody": _BODY}, summary="OpenRLHF rewards")
    async def get_reward(request: Request) -> Response:
        return await state.handle("get_reward", request)

    return router
