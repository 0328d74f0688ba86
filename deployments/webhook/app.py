"""The receiver's HTTP face (ASGI, Starlette): authenticate, limit, parse, then hand each push to ``Receiver``.

    POST /acr        an ACR trigger payload; token in ``?token=`` or ``X-Webhook-Token`` (ACR cannot sign)
    POST /registry   a distribution notification envelope; token in ``Authorization: Bearer <token>``
    GET  /health     200 when serving

Refusals emit no event: 405 wrong method, 401 no or wrong token (one answer for both), 413 a body over the
limit, 400 a body that is not the expected JSON. A registry envelope is answered 202 with each event's own
outcome inside (or 503 when trying again can help): the registry resends anything else forever. Requests are
logged by path and outcome, never with their query string or headers, which carry the token.
"""

from __future__ import annotations

import json
import logging

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from deployments.webhook.payloads import BadPayload, NotAPush, Push, parse_acr, parse_registry
from deployments.webhook.receiver import Outcome, Receiver, ignored
from deployments.webhook.tokens import Tokens

MAX_BODY_BYTES = 256 * 1024
log = logging.getLogger("eci_release.webhook")


class _TooLarge(Exception):
    pass


class _AsciiJSON(JSONResponse):
    # Anything a sender put in the body that comes back in an answer is escaped, lone surrogates included.
    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode()


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _acr_token(request: Request) -> str | None:
    return request.query_params.get("token") or request.headers.get("x-webhook-token")


def create_app(receiver: Receiver, tokens: Tokens, max_body_bytes: int = MAX_BODY_BYTES) -> Starlette:
    def answer(request: Request, outcome: Outcome) -> Response:
        client = request.client.host if request.client else "-"
        level = logging.INFO if outcome.status == 202 else logging.WARNING
        log.log(level, "%s %s %s -> %d %s", client, request.method, request.url.path, outcome.status, outcome.reason)
        return _AsciiJSON(outcome.body, status_code=outcome.status)

    def endpoint(token_of, parse, what: str, take):
        """Admit (method, token, size), parse, then ``take`` the parsed body."""

        async def handle(request: Request) -> Response:
            if request.method != "POST":
                return answer(
                    request, Outcome(405, {"error": f"{request.method} is not allowed here: POST the payload"})
                )
            if not tokens.accepts(token_of(request)):
                return answer(request, Outcome(401, {"error": "no or wrong webhook token"}))
            try:
                parsed = parse(await _read_body(request, max_body_bytes))
            except _TooLarge:
                return answer(request, Outcome(413, {"error": f"the body is over {max_body_bytes} bytes"}))
            except BadPayload as error:
                return answer(request, Outcome(400, {"error": f"not {what}: {error}"}))
            return answer(request, await take(parsed))

        return handle

    async def take_acr(push: Push) -> Outcome:
        return await run_in_threadpool(receiver.take, push)

    async def take_envelope(events: list[tuple[str, Push | NotAPush | BadPayload]]) -> Outcome:
        results = []
        for event_id, said in events:
            if isinstance(said, NotAPush):
                outcome = ignored(said.reason)
            elif isinstance(said, BadPayload):
                outcome = Outcome(400, {"error": f"not a registry event: {said}"})
            else:
                outcome = await run_in_threadpool(receiver.take, said)
            results.append((event_id, outcome))
        # The registry sends an envelope again, and holds back every later one, until it gets a 2xx: so the answer
        # is 503 only when trying again can help; each event's own refusal is told inside the 202.
        status = 503 if any(outcome.status == 503 for _, outcome in results) else 202
        return Outcome(
            status,
            {"events": [{"id": event_id, "status": outcome.status, **outcome.body} for event_id, outcome in results]},
            note="; ".join(f"{event_id}: {outcome.status} {outcome.reason}" for event_id, outcome in results),
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def disconnected(request: Request, error: Exception) -> Response:
        log.warning("%s %s: the sender went away before the body ended", request.method, request.url.path)
        return Response(status_code=400)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(
        routes=[
            Route("/acr", endpoint(_acr_token, parse_acr, "an ACR trigger payload", take_acr), methods=methods),
            Route(
                "/registry",
                endpoint(_bearer, parse_registry, "a registry notification", take_envelope),
                methods=methods,
            ),
            Route("/health", health, methods=["GET"]),
        ],
        exception_handlers={ClientDisconnect: disconnected},
    )
