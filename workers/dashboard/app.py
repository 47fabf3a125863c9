"""The dashboard's web application (Starlette): the page, /api/figures, the ticket lists, /metrics, sign-in."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from automations.reporting.bonus import BonusBand
from automations.reporting.figures import Denominator, Figures, compute_figures, ledger_denominator
from automations.reporting.periods import Granularity
from workers.dashboard import auth, metrics
from workers.dashboard.settings import DashboardConfig
from workers.dashboard.view import TicketLinks, present, ticket_rows

HERE = Path(__file__).resolve().parent
GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month")
SECURITY_HEADERS = {
    # Everything is served by Sésame itself: no CDN, no inline script or style.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
OPEN_PATHS = ("/static/", "/signin", "/auth/callback", "/healthz", "/metrics")


def contract_bands(config: DashboardConfig) -> tuple[BonusBand, ...]:
    contract = config.contract
    return (BonusBand(contract.bonus_low_from_pct, contract.bonus_low_to_pct, contract.bonus_low_pct),
            BonusBand(contract.bonus_high_from_pct, None, contract.bonus_high_pct))


class FiguresCache:
    """Figures computed at most once per ``ttl`` seconds, however many browsers poll (one SELECT per period)."""

    def __init__(self, compute: Callable[[], Figures], ttl: float) -> None:
        self.compute, self.ttl = compute, ttl
        self._lock = threading.Lock()
        self._value: tuple[float, Figures] | None = None

    def get(self) -> Figures:
        with self._lock:
            if self._value is None or time.monotonic() - self._value[0] >= self.ttl:
                self._value = (time.monotonic(), self.compute())
            return self._value[1]


def create_app(config: DashboardConfig, *, engine: Engine | None = None,
               denominator: Denominator = ledger_denominator, cache_seconds: float | None = None,
               clock: Callable[[], datetime] | None = None) -> Starlette:
    """The dashboard application. ``denominator`` plugs in the contract's count of service-desk requests."""
    settings = config.dashboard
    policy = auth.SignInPolicy.of(config)
    engine = engine or create_engine(config.ledger_url, future=True)
    bands = contract_bands(config)
    links = TicketLinks(config.servicenow_url)
    templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                            autoescape=select_autoescape(["html", "j2"], default=True))
    accounts = auth.read_accounts(settings.local_accounts_file) if policy.local and settings.local_accounts_file else {}
    oidc = auth.oidc_client(config) if policy.oidc else None

    def now() -> datetime:
        return (clock() if clock else datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)

    cache = FiguresCache(lambda: compute_figures(engine, now=now(), contract_start=config.contract.anniversary,
                                                 bands=bands, denominator=denominator),
                         settings.refresh_seconds if cache_seconds is None else cache_seconds)

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("user", user_of(request))
        return HTMLResponse(templates.get_template(name).render(**context), status_code=status)

    def user_of(request: Request) -> str | None:
        if not policy.required:
            return None
        session = request.scope.get("session") or {}
        signed_at = session.get("signed_at")
        if not session.get(auth.SESSION_USER) or not isinstance(signed_at, int | float):
            return None
        if time.time() - signed_at > settings.session_max_age_seconds:
            return None  # a sign-in is time-limited, whatever the cookie's own age
        return str(session[auth.SESSION_USER])

    def granularity_of(request: Request) -> Granularity:
        value = request.query_params.get("periode", "day")
        return value if value in GRANULARITIES else "day"

    async def figures() -> Figures:
        return await run_in_threadpool(cache.get)

    async def index(request: Request) -> Response:
        data = present(await figures(), granularity_of(request), settings.refresh_seconds)
        return render(request, "index.html.j2", d=data, layout=layout_of(data))

    async def api_figures(request: Request) -> Response:
        data = present(await figures(), granularity_of(request), settings.refresh_seconds)
        data["layout"] = layout_of(data)
        return JSONResponse(data, headers={"Cache-Control": "no-store"})

    async def tickets(request: Request) -> Response:
        figure_id = request.path_params["figure"]
        found = (await figures()).tickets(figure_id)
        if found is None:
            return render(request, "message.html.j2", 404, title="Chiffre inconnu",
                          message="Ce chiffre n'existe pas (ou plus) sur le tableau de bord.")
        title, facts = found
        return render(request, "tickets.html.j2", title=title, rows=ticket_rows(facts, links),
                      instance=config.servicenow_url is not None)

    async def metrics_endpoint(request: Request) -> Response:
        token = settings.metrics_token
        if token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token.get_secret_value()}".encode()):
                return PlainTextResponse("unauthorised\n", 401, headers={"WWW-Authenticate": "Bearer"})
        elif not auth.is_loopback(request.client.host if request.client else ""):
            return PlainTextResponse("forbidden: set dashboard.metrics_token to scrape from another host\n", 403)
        return Response(metrics.render(await figures()), media_type=metrics.CONTENT_TYPE)

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok\n")

    def safe_next(value: str | None) -> str:
        # Only paths of this site: an open redirect would let a phishing link borrow the sign-in page.
        return value if value and value.startswith("/") and not value.startswith("//") else "/"

    async def signin_page(request: Request) -> Response:
        if not policy.required:
            return RedirectResponse("/", 303)
        csrf = request.session.setdefault("csrf", secrets.token_urlsafe(24))
        return render(request, "signin.html.j2", oidc=policy.oidc, local=policy.local, csrf=csrf,
                      next=safe_next(request.query_params.get("next")), error=None)

    async def signin_local(request: Request) -> Response:
        if not policy.local:
            return PlainTextResponse("local accounts are off\n", 404)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        expected = request.session.get("csrf", "")
        if not expected or not hmac.compare_digest(form.get("csrf", ""), expected):
            return PlainTextResponse("invalid form, reload the sign-in page\n", 400)
        user, password = form.get("user", ""), form.get("password", "")
        if not await run_in_threadpool(auth.check_local, accounts, user, password):
            return render(request, "signin.html.j2", 401, oidc=policy.oidc, local=True, csrf=expected,
                          next=safe_next(form.get("next")), error="Identifiant ou mot de passe incorrect.",
                          user_name=user)
        return signed_in(request, user, safe_next(form.get("next")))

    def signed_in(request: Request, user: str, target: str) -> Response:
        request.session.clear()  # a new session at sign-in: nothing planted before survives (session fixation)
        request.session.update({auth.SESSION_USER: user, "signed_at": time.time()})
        return RedirectResponse(target, 303)

    async def signin_oidc(request: Request) -> Response:
        if oidc is None:
            return PlainTextResponse("OpenID Connect is not configured\n", 404)
        request.session["next"] = safe_next(request.query_params.get("next"))
        redirect_uri = (settings.public_url.rstrip("/") + "/auth/callback" if settings.public_url
                        else str(request.url_for("auth_callback")))
        response: Response = await oidc.authorize_redirect(request, redirect_uri)
        return response

    async def auth_callback(request: Request) -> Response:
        if oidc is None:
            return PlainTextResponse("OpenID Connect is not configured\n", 404)
        import httpx
        from authlib.integrations.base_client import OAuthError
        from joserfc.errors import JoseError

        target = safe_next(request.session.get("next"))
        try:
            token = await oidc.authorize_access_token(request, claims_options=auth.id_token_claims_options(config))
            claims = token.get("userinfo")
            if not claims:
                raise auth.SignInError("le fournisseur d'identité n'a pas renvoyé de jeton d'identité")
            user = auth.allowed_user(dict(claims), config)
        except auth.SignInError as error:
            return render(request, "message.html.j2", 403, title="Accès refusé", message=str(error), user=None)
        except (OAuthError, JoseError, httpx.HTTPError, ValueError, KeyError) as error:
            return render(request, "message.html.j2", 401, title="Connexion impossible", user=None,
                          message=f"La connexion n'a pas pu être vérifiée ({type(error).__name__}).")
        return signed_in(request, user, target)

    async def signout(request: Request) -> Response:
        if not policy.required:
            return RedirectResponse("/", 303)  # open dashboard: no session to end
        request.session.clear()
        return RedirectResponse("/signin", 303)

    routes = [
        Route("/", index), Route("/api/figures", api_figures), Route("/tickets/{figure:path}", tickets),
        Route("/metrics", metrics_endpoint), Route("/healthz", healthz),
        Route("/signin", signin_page, methods=["GET"]), Route("/signin", signin_local, methods=["POST"]),
        Route("/signin/oidc", signin_oidc), Route("/auth/callback", auth_callback, name="auth_callback"),
        Route("/signout", signout),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        response: Response
        if policy.required and not path.startswith(OPEN_PATHS) and user_of(request) is None:
            if path.startswith("/api/"):
                response = JSONResponse({"error": "sign-in required"}, 401)
            else:
                target = path + (f"?{request.url.query}" if request.url.query else "")
                response = RedirectResponse("/signin?" + urlencode({"next": target}), 303)
        else:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    middleware = []
    if policy.required:
        key = settings.session_key.get_secret_value() if settings.session_key else secrets.token_urlsafe(32)
        https = bool(settings.public_url and settings.public_url.startswith("https://"))
        middleware.append(Middleware(SessionMiddleware, secret_key=key, session_cookie="sesame_dashboard",
                                     max_age=settings.session_max_age_seconds, same_site="lax", https_only=https))
    # Inside the session middleware, so the guard sees who is signed in.
    middleware.append(Middleware(BaseHTTPMiddleware, dispatch=guard))
    app = Starlette(routes=routes, middleware=middleware)
    return app


def layout_of(data: dict[str, Any]) -> str:
    """A fingerprint of which figures the page shows: the refresh reloads the page only when it changes."""
    return hashlib.sha256("\n".join(sorted(data["values"])).encode()).hexdigest()[:16]
