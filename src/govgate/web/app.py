"""`govgate serve`: the read-only dashboard for the owner / approver.

Read-only by construction:
- every page and JSON twin is one or more `govgate.api` read calls, each on a
  read-only connection (PostgreSQL `default_transaction_read_only`, SQLite
  `mode=ro`), and the app has no route that does anything else;
- `ReadOnlyMethods`, the outermost layer, answers 405 to every method other
  than GET and HEAD on every path, before any routing.

Offline: every asset is inline or served from the package under /static; the
Content-Security-Policy lets the browser fetch nothing from anywhere else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import api
from ..config import Settings
from ..errors import BadInput, EnvironmentFault, GovgateError, Refused
from ..render import document, error_document, to_jsonable
from . import health, views
from .fresh import Fresh
from .pages import environment

ALLOWED_METHODS = ("GET", "HEAD")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
NAV = (
    ("/", "Gate"),
    ("/approve", "What approving changes"),
    ("/report", "Last rollout"),
    ("/audit", "Audit trail"),
)
INDEX_TWINS = ("/status.json", "/gap.json", "/verify.json")
DEFAULT_AUDIT_LIMIT = 200
JSON_ERROR_STATUS = ((Refused, 404), (BadInput, 400), (EnvironmentFault, 503))
NOSCRIPT_REFRESH_SECONDS = 30

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self'; "
    "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class ReadOnlyMethods:
    """405 for every method but GET and HEAD, on every path, before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ALLOWED_METHODS:
            response = PlainTextResponse(
                "This dashboard is read-only: only GET and HEAD are allowed.\n",
                status_code=405,
                headers={"Allow": ", ".join(ALLOWED_METHODS)},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """No caching, no framing, and a CSP that allows nothing outside this server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in names
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    settings: Settings, *, poll_seconds: float = 5, allowed_hosts: Sequence[str] | None = None
) -> Starlette:
    """The dashboard for SETTINGS' database. ALLOWED_HOSTS: Host headers accepted (None: any)."""
    pages = _Pages(settings, poll_seconds)
    routes = [
        Route("/", pages.index, name="index"),
        Route("/status.json", pages.status_json, name="status_json"),
        Route("/gap.json", pages.gap_json, name="gap_json"),
        Route("/verify.json", pages.verify_json, name="verify_json"),
        Route("/approve", pages.approve, name="approve"),
        Route("/proposal.json", pages.proposal_json, name="proposal_json"),
        Route("/report", pages.report, name="report"),
        Route("/report.json", pages.report_json, name="report_json"),
        Route("/audit", pages.audit, name="audit"),
        Route("/audit.json", pages.audit_json, name="audit_json"),
        Route("/approval-payload.json", pages.approval_payload_json, name="approval_payload"),
        Route("/healthz", health.healthz(settings), name="healthz"),
        Mount("/static", StaticFiles(packages=[("govgate.web", "static")]), name="static"),
    ]
    middleware = [Middleware(ReadOnlyMethods), Middleware(SecurityHeaders)]
    if allowed_hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        pages.fresh.close()

    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: pages.http_error},
        lifespan=lifespan,
    )


def loopback_hosts(host: str) -> list[str] | None:
    """Host headers to accept when serving on HOST: only loopback names for a loopback bind.

    This keeps a web page elsewhere from reading the dashboard through DNS rebinding.
    """
    return list(LOOPBACK_HOSTS) if host in LOOPBACK_HOSTS else None


class _Pages:
    """The endpoints. Each calls the library, then renders; none writes."""

    def __init__(self, settings: Settings, poll_seconds: float):
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.fresh = Fresh(settings)  # the polled answers, recomputed once per change

    def _status(self):  # kept until the next commit; the agent's liveness as of now
        return health.status(self.settings, self.fresh)

    def _gap(self):
        return self.fresh.get("gap", lambda: api.gap(self.settings))

    def _verify(self):
        return self.fresh.get("verify", lambda: api.verify(self.settings))

    # -- HTML pages ------------------------------------------------------------

    def index(self, request: Request) -> Response:
        def page():
            verdict = self._status()
            gap = self._gap()
            verify = self._verify() if verdict.rollout_id else None
            return self._html(
                request,
                "status.html",
                verdict,
                twins=INDEX_TWINS,
                verdict=verdict,
                gap=gap,
                verify=verify,
                headline=views.headline(verdict),
            )

        return self._page(request, page)

    def approve(self, request: Request) -> Response:
        def page():
            verdict = self._status()
            view = views.proposal_view(views.current_proposal(self.settings), verdict)
            return self._html(
                request, "approve.html", verdict, twins=("/proposal.json",), view=view
            )

        return self._page(request, page)

    def report(self, request: Request) -> Response:
        def page():
            verdict = self._status()
            try:
                result = api.report(self.settings)
            except Refused:
                return self._html(
                    request, "no_report.html", verdict, twins=("/report.json",), status_code=404
                )
            return self._html(
                request,
                "report.html",
                verdict,
                twins=("/report.json",),
                report=result.data,
                sentences=views.report_sentences(result),
            )

        return self._page(request, page)

    def audit(self, request: Request) -> Response:
        def page():
            limit = _limit(request)
            verdict = self._status()
            view = self._audit_view(limit)
            return self._html(
                request,
                "audit.html",
                verdict,
                twins=("/audit.json",),
                view=view,
                extra_watch=self._audit_watch(view),
            )

        return self._page(request, page)

    # -- JSON twins --------------------------------------------------------------

    def status_json(self, request: Request) -> Response:
        return self._json(self._status)

    def gap_json(self, request: Request) -> Response:
        return self._json(self._gap)

    def verify_json(self, request: Request) -> Response:
        return self._json(self._verify)

    def proposal_json(self, request: Request) -> Response:
        return self._json(
            lambda: views.proposal_view(views.current_proposal(self.settings), self._status())
        )

    def approval_payload_json(self, request: Request) -> Response:
        """What the Directus extension has a person sign with a passkey (nothing is written)."""
        query = request.query_params
        return self._json(
            lambda: api.approval_payload(
                self.settings, _required(query, "approval_id"), _required(query, "approver")
            )
        )

    def report_json(self, request: Request) -> Response:
        return self._json(lambda: api.report(self.settings))

    def audit_json(self, request: Request) -> Response:
        return self._json(lambda: self._audit_view(_limit(request)))

    # -- shared ----------------------------------------------------------------

    def _audit_view(self, limit: int | None) -> views.AuditView:
        events = api.audit_trail(self.settings, limit)
        chain = api.audit_verify(self.settings)
        return views.audit_view(chain, events, limit, views.people(self.settings, events))

    def _audit_watch(self, view: views.AuditView) -> dict:
        data = to_jsonable(view)
        return {
            "url": "/audit.json?limit=1",
            "fields": views.WATCHED_AUDIT_FIELDS,
            "value": views.watch_value(data, views.WATCHED_AUDIT_FIELDS),
        }

    def _context(self, request: Request, *, watches: list[dict], twins: tuple[str, ...]) -> dict:
        root = request.scope.get("root_path", "")
        for watch in watches:
            watch["url"] = root + watch["url"]
        return {
            "root": root,
            "nav": NAV,
            "current": request.url.path[len(root) :] or "/",
            "watches": watches,
            "twins": twins,
            "poll_seconds": self.poll_seconds,
            "noscript_refresh_seconds": NOSCRIPT_REFRESH_SECONDS,
            "checked_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }

    def _html(
        self,
        request: Request,
        template: str,
        gate,
        *,
        twins: tuple[str, ...],
        status_code: int = 200,
        extra_watch: dict | None = None,
        **values,
    ) -> HTMLResponse:
        status_watch = {
            "url": "/status.json",
            "fields": views.WATCHED_STATUS_FIELDS,
            "value": views.watch_value(to_jsonable(gate), views.WATCHED_STATUS_FIELDS),
        }
        watches = [status_watch] + ([extra_watch] if extra_watch else [])
        context = self._context(request, watches=watches, twins=twins)
        html = environment().get_template(template).render(**context, **values)
        return HTMLResponse(html, status_code=status_code)

    def _page(self, request: Request, build: Callable[[], Response]) -> Response:
        try:
            return build()
        except BadInput as exc:
            return self._error_page(
                request, 400, "That request is not valid", exc.message, exc.hint
            )
        except EnvironmentFault as exc:
            message, hint = exc.message, exc.hint
            return self._error_page(
                request, 503, "The database cannot be read right now", message, hint, retry=True
            )
        except GovgateError as exc:
            return self._error_page(request, 500, "Something is wrong", exc.message, exc.hint)

    def _error_page(
        self,
        request: Request,
        status_code: int,
        heading: str,
        message: str,
        hint: str | None,
        *,
        retry: bool = False,
    ) -> HTMLResponse:
        # RETRY: the refresh script reloads as soon as /status.json answers again.
        watches = (
            [{"url": "/status.json", "fields": views.WATCHED_STATUS_FIELDS, "value": "unavailable"}]
            if retry
            else []
        )
        context = self._context(request, watches=watches, twins=())
        html = (
            environment()
            .get_template("error.html")
            .render(**context, heading=heading, message=message, hint=hint, retry=retry)
        )
        return HTMLResponse(html, status_code=status_code)

    def _json(self, build: Callable[[], object]) -> Response:
        """A JSON twin: the result's document, or an error document (docs/JSON.md)."""
        try:
            return JSONResponse(document(build()))
        except GovgateError as exc:
            code = next((c for kind, c in JSON_ERROR_STATUS if isinstance(exc, kind)), 500)
            return JSONResponse(error_document(exc), status_code=code)

    async def http_error(self, request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404 and not request.url.path.endswith(".json"):
            return self._error_page(
                request,
                404,
                "No such page",
                f"There is no page at {request.url.path}.",
                "use the links above",
            )
        return JSONResponse(
            error_document(kind="HTTPException", message=exc.detail),
            status_code=exc.status_code,
            headers=exc.headers,
        )


def _required(query, name: str) -> str:
    value = query.get(name, "")
    if not value or len(value) > 255:
        raise BadInput(f"the query parameter {name} is required (at most 255 characters)")
    return value


def _limit(request: Request) -> int | None:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_AUDIT_LIMIT
    if raw == "all":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or not 1 <= int(raw) <= 100_000:
        raise BadInput(f"limit must be a whole number from 1 to 100000, or 'all', not '{raw}'")
    return int(raw)
