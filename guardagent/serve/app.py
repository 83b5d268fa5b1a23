"""The HTTP API (FastAPI): threads, messages (JSON or server-sent events), verifications,
screening, health and metrics. See docs/serve.md for the reference.
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.exceptions import HTTPException as StarletteHTTPException

from guardagent.persist import CheckpointError
from guardagent.serve.config import ServeConfig
from guardagent.serve.db import DatabaseBusy, DatabaseError
from guardagent.serve.metrics import Metrics
from guardagent.serve.service import Service, ServiceError, Turn, verification_json
from guardagent.serve.store import Principal

# -- request / response bodies ---------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ThreadCreate(_Body):
    metadata: dict[str, Any] = Field(default_factory=dict, description="free-form, returned with the thread")


class ThreadCreated(BaseModel):
    thread_id: str
    status: str
    created_at: float


class MessageIn(_Body):
    content: str = Field(min_length=1, description="the user's message")


class Resolution(_Body):
    approved: StrictBool
    note: str | None = Field(None, max_length=4000)


class ScreenItemIn(_Body):
    source: Literal["user", "action", "tool"]
    text: str
    tool_name: str | None = None
    tool_args: dict[str, Any] | None = None
    id: str | None = None


class ScreenRequest(_Body):
    items: list[ScreenItemIn] = Field(min_length=1)


class VerificationOut(BaseModel):
    id: str
    thread_id: str
    status: str
    created_at: float | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    note: str | None = None
    payload: dict[str, Any]


class RunResult(BaseModel):
    thread_id: str
    status: Literal["completed", "refused", "awaiting_verification", "failed", "idle"]
    messages: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    verification: VerificationOut | None = None


class ThreadView(BaseModel):
    thread_id: str
    owner: str
    status: str
    created_at: float
    metadata: dict[str, Any]
    messages: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    verifications: list[VerificationOut]


class ErrorBody(BaseModel):
    error: str
    message: str


ERRORS = {
    401: {"model": ErrorBody, "description": "missing or unknown API key"},
    403: {"model": ErrorBody, "description": "wrong role, or another user's thread"},
    404: {"model": ErrorBody, "description": "no such thread / verification"},
    409: {"model": ErrorBody, "description": "thread busy, awaiting verification, or already resolved"},
    413: {"model": ErrorBody, "description": "request body over the configured limit"},
    422: {"model": ErrorBody, "description": "malformed body; the message names the field"},
    503: {"model": ErrorBody, "description": "database locked or unreachable"},
}


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status, headers=headers)


# -- middleware --------------------------------------------------------------------------


class BodyLimit:
    """413 for bodies over ``limit`` bytes: by Content-Length up front, else while reading."""

    def __init__(self, app: Any, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    too_big = int(v) > self.limit
                except ValueError:
                    too_big = False
                if too_big:
                    return await self._reject(scope, receive, send)
        seen = 0
        started = False

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge(self.limit)
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(scope, receive, send)

    async def _reject(self, scope, receive, send):
        resp = _error(413, "payload_too_large", f"request body is larger than the limit of {self.limit} bytes")
        await resp(scope, receive, send)


class _TooLarge(StarletteHTTPException):
    """Raised while the body is read; FastAPI lets HTTPExceptions through to the handler."""

    def __init__(self, limit: int):
        super().__init__(413, f"request body is larger than the limit of {limit} bytes")


class MetricsMiddleware:
    def __init__(self, app: Any, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = {"code": 500}

        async def tracking_send(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "?")
            self.metrics.requests.labels(method=method, route=route, status=str(status["code"])).inc()
            self.metrics.request_latency.labels(method=method, route=route).observe(time.perf_counter() - t0)


# -- the app -------------------------------------------------------------------------------


def create_app(config: ServeConfig | None = None, *, service: Service | None = None,
               manage_lifespan: bool = True) -> FastAPI:
    """The ASGI app. Its lifespan opens the database, checkpointer and graph (``service.start``)
    unless ``manage_lifespan`` is False (the caller started ``service`` itself)."""
    config = config or (service.config if service else ServeConfig())
    svc = service or Service(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not manage_lifespan:
            yield
            return
        await svc.start()
        try:
            yield
        finally:
            await svc.stop()

    app = FastAPI(
        title="guardagent chatbot backend",
        version=_version(),
        description="A guarded LangGraph agent over HTTP: every user message, tool call and tool result is "
                    "screened; sensitive steps wait for a human approver. See docs/serve.md.",
        lifespan=lifespan,
    )
    app.state.service = svc

    # -- errors --
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, **{k: v for k, v in exc.extra.items() if v is not None})

    @app.exception_handler(DatabaseBusy)
    async def _db_busy(request: Request, exc: DatabaseBusy) -> JSONResponse:
        return _error(503, "database_locked", str(exc))

    @app.exception_handler(DatabaseError)
    async def _db_error(request: Request, exc: DatabaseError) -> JSONResponse:
        return _error(503, "database_unavailable", str(exc))

    @app.exception_handler(CheckpointError)
    async def _checkpoint_error(request: Request, exc: CheckpointError) -> JSONResponse:
        return _error(503, "database_locked" if "locked" in str(exc) else "database_unavailable", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()))
            msg = "unknown field" if err.get("type") == "extra_forbidden" else err.get("msg", "invalid")
            problems.append({"field": loc, "message": msg})
        text = "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "invalid request"
        return _error(422, "invalid_request", text, problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    # -- auth --
    bearer = HTTPBearer(auto_error=False, description="an API key printed by `guardagent keys create`")

    async def principal(request: Request, _scheme: Any = Depends(bearer)) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if not header:
            raise ServiceError(401, "unauthorized", "missing API key: send 'Authorization: Bearer KEY'")
        if scheme.lower() != "bearer" or not key.strip():
            raise ServiceError(401, "unauthorized", "malformed Authorization header: expected 'Bearer KEY'")
        p = await svc.store.authenticate(key.strip())
        if p is None:
            raise ServiceError(401, "unauthorized", "unknown or revoked API key")
        return p

    async def approver(p: Principal = Depends(principal)) -> Principal:
        if not p.can_approve:
            raise ServiceError(403, "forbidden", f"this needs the approver or admin role (your key has role {p.role!r})")
        return p

    def wants_stream(request: Request) -> bool:
        return "text/event-stream" in request.headers.get("accept", "")

    async def reply(turn: Turn, stream: bool) -> Response:
        if stream:
            return StreamingResponse(_sse(turn), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        svc.metrics.runs_in_flight.inc()
        try:
            result = await asyncio.shield(turn.task)  # a client that leaves does not cancel the run
        finally:
            svc.metrics.runs_in_flight.dec()
        return JSONResponse(result)

    async def _sse(turn: Turn) -> AsyncIterator[str]:
        assert turn.events is not None and turn.task is not None
        svc.metrics.runs_in_flight.inc()
        try:
            yield _event("start", {"thread_id": turn.thread_id})
            while True:
                item = await turn.events.get()
                if item is None:
                    break
                name, data = item
                if name == "error":
                    continue  # sent below with the partial result
                yield _event(name, data)
            try:
                result = await asyncio.shield(turn.task)
            except ServiceError as exc:
                yield _event("error", {"error": exc.code, "message": exc.message, "status": exc.status,
                                       "result": exc.extra.get("result")})
            except Exception as exc:  # pragma: no cover - unexpected
                yield _event("error", {"error": "internal", "message": str(exc), "status": 500})
            else:
                yield _event("end", result)
        finally:
            svc.metrics.runs_in_flight.dec()

    common = {"responses": ERRORS}

    # -- routes --
    @app.post("/v1/threads", response_model=ThreadCreated, status_code=201, tags=["threads"], **common)
    async def create_thread(body: ThreadCreate | None = None, p: Principal = Depends(principal)):
        row = await svc.store.create_thread(p.key_id, (body.metadata if body else None))
        return {"thread_id": row["thread_id"], "status": row["status"], "created_at": row["created_at"]}

    @app.get("/v1/threads", tags=["threads"], **common)
    async def list_threads(p: Principal = Depends(principal), limit: int = Query(100, ge=1, le=1000)):
        """Your threads (an admin sees everyone's)."""
        rows = await svc.store.list_threads(None if p.is_admin else p.key_id, limit)
        return {"threads": rows}

    @app.get("/v1/threads/{thread_id}", response_model=ThreadView, tags=["threads"], **common)
    async def get_thread(thread_id: str, p: Principal = Depends(principal)):
        return await svc.thread_view(p, thread_id)

    @app.post(
        "/v1/threads/{thread_id}/messages", response_model=RunResult, tags=["threads"],
        responses={**ERRORS, 200: {"content": {"application/json": {}, "text/event-stream": {}},
                                   "description": "the run's result, or its events with Accept: text/event-stream"}},
    )
    async def post_message(thread_id: str, body: MessageIn, request: Request, p: Principal = Depends(principal)):
        limit = svc.limits.max_message_chars
        if len(body.content) > limit:
            raise ServiceError(422, "invalid_request",
                               f"body.content: longer than the limit of {limit} characters ({len(body.content)})")
        stream = wants_stream(request)
        turn = await svc.start_message(p, thread_id, body.content, stream=stream)
        return await reply(turn, stream)

    @app.get("/v1/verifications", response_model=dict[str, list[VerificationOut]], tags=["verifications"], **common)
    async def list_verifications(
        status: Literal["pending", "approved", "denied", "stale", "all"] = Query("pending"),
        limit: int = Query(100, ge=1, le=1000),
        p: Principal = Depends(approver),
    ):
        rows = await svc.store.list_verifications(None if status == "all" else status, limit=limit)
        return {"verifications": [verification_json(r) for r in rows]}

    @app.get("/v1/verifications/{verification_id}", response_model=VerificationOut, tags=["verifications"], **common)
    async def get_verification(verification_id: str, p: Principal = Depends(approver)):
        row = await svc.store.get_verification(verification_id)
        if row is None:
            raise ServiceError(404, "not_found", f"no verification {verification_id!r}")
        return verification_json(row)

    @app.post(
        "/v1/verifications/{verification_id}", response_model=RunResult, tags=["verifications"],
        responses={**ERRORS, 200: {"content": {"application/json": {}, "text/event-stream": {}},
                                   "description": "the resumed run's result (or its events)"}},
    )
    async def resolve(verification_id: str, body: Resolution, request: Request, p: Principal = Depends(approver)):
        stream = wants_stream(request)
        turn = await svc.start_resume(p, verification_id, body.approved, body.note, stream=stream)
        return await reply(turn, stream)

    @app.post("/v1/screen", tags=["screening"], **common)
    async def screen(body: ScreenRequest, p: Principal = Depends(principal)):
        """Screen items without running the agent; each verdict has the ``guardagent scan`` shape."""
        if len(body.items) > svc.limits.max_screen_items:
            raise ServiceError(422, "invalid_request",
                               f"body.items: at most {svc.limits.max_screen_items} items per request ({len(body.items)})")
        records = await svc.screen([i.model_dump(exclude_none=True) for i in body.items])
        return {"verdicts": records}

    @app.get("/healthz", tags=["ops"])
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], responses={503: {"model": ErrorBody}})
    async def readyz():
        try:
            await asyncio.wait_for(svc.ready(), timeout=svc.limits.db_timeout_s + 1)
        except Exception as exc:
            return _error(503, "not_ready", f"database check failed: {exc}")
        return {"status": "ready", "database": svc.db.kind}

    @app.get("/metrics", tags=["ops"])
    async def metrics():
        return Response(svc.metrics.render(), media_type=svc.metrics.content_type)

    # outermost first: metrics see every request, including the 413s
    app.add_middleware(BodyLimit, limit=config.limits.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=svc.metrics)
    return app


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, default=str, ensure_ascii=False)}\n\n"


def _version() -> str:
    from guardagent import __version__

    return __version__
