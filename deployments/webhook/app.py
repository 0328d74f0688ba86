"""The receiver's HTTP face (ASGI, Starlette): authenticate, limit, parse, then hand each push to ``Receiver``.

    POST /acr        an ACR trigger payload; token in ``?token=`` or ``X-Webhook-Token`` (ACR cannot sign)
    POST /registry   a distribution notification envelope; token in ``Authorization: Bearer <token>``
    GET  /health     200 when serving

Refusals emit no event: 405 wrong method, 401 no or wrong token (one answer for both), 413 a body over the
limit, 400 a body that is not the expected JSON. Requests are logged by path and outcome, never with their
query string or headers, which carry the token.
"""

from __future__ import annotations

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
    def answer(request: Request, outcome: Outcome, reason: str | None = None) -> Response:
        client = request.client.host if request.client else "-"
        level = logging.INFO if outcome.status == 202 else logging.WARNING
        what = reason or outcome.reason
        log.log(level, "%s %s %s -> %d %s", client, request.method, request.url.path, outcome.status, what)
        return JSONResponse(outcome.body, status_code=outcome.status)

    def endpoint(token_of, parse, what: str, take):
        """Admit (method, token, size), parse, then ``take`` the parsed body: (outcome, what to log)."""

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
            return answer(request, *await take(parsed))

        return handle

    async def take_acr(push: Push) -> tuple[Outcome, None]:
        return await run_in_threadpool(receiver.take, push), None

    async def take_envelope(events: list[tuple[str, Push | NotAPush]]) -> tuple[Outcome, str]:
        results = []
        for event_id, said in events:
            outcome = (
                ignored(said.reason) if isinstance(said, NotAPush) else await run_in_threadpool(receiver.take, said)
            )
            results.append((event_id, outcome))
        # The registry sends the envelope again until it gets a 2xx: only a refusal worth retrying is not one.
        status = max((outcome.status for _, outcome in results), key=lambda status: (status != 202, status))
        body = {"events": [{"id": event_id, **outcome.body} for event_id, outcome in results]}
        return Outcome(status, body), "; ".join(f"{event_id}: {outcome.reason}" for event_id, outcome in results)

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
