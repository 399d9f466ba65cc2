"""``POST /get_reward``: OpenRLHF's remote reward protocol over HTTP.

Request ``{"query": [...], "prompts": [...], "labels": [...]}`` (what
``openrlhf.utils.agent.SingleTurnAgentExecutor`` sends); each response is split off its
query by the prompt prefix, end-of-turn markers are stripped, the label is the
reference. Reply ``{"rewards": [...], "scores": [...], "extra_logs": {...}}`` with a float
for every item: unscored items get the app's ``on_error`` value (see
``rewardsmith.integrations.openrlhf``).
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from rewardsmith.core import Sample, Score
from rewardsmith.integrations.openrlhf import to_reply, to_samples
from rewardsmith.serve.schemas import BadRequest, RewardRequest, parse_body
from rewardsmith.serve.state import ServeState, json_response

__all__ = ["openrlhf_router"]

_BODY = {
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RewardRequest"}}}
}


def openrlhf_router(state: ServeState) -> APIRouter:
    """The ``/get_reward`` route of an app."""
    router = APIRouter()

    @router.post("/get_reward", openapi_extra={"requestBody": _BODY}, summary="OpenRLHF rewards")
    async def get_reward(request: Request) -> Response:
        body = await state.body(request)

        def parse() -> tuple[list[Sample], None]:
            req = parse_body(RewardRequest, body)
            try:
                return to_samples(req.query, req.prompts, req.labels, state.end_tokens), None
            except ValueError as exc:
                raise BadRequest(422, str(exc)) from None

        def respond(scores: list[Score]) -> Response:
            return json_response(to_reply(scores, state.on_error, state.parts.update(scores)))

        return await state.handle("get_reward", parse, respond, len(body))

    return router
