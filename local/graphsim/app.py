"""The stand-in as one WSGI application: Graph (``/v1.0``), sign-in (``/{tenant}/...``), control (``/_sim``).

Every Graph call needs a bearer token this stand-in issued for the tenant's Graph resource
(401 ``InvalidAuthenticationToken`` otherwise). Faults set through the control API apply per
request, inside ``$batch`` too: throttling (429/503 with ``Retry-After``) for a mailbox or a
share of requests, added latency, and application access policies that deny listed mailboxes
(403 ``ErrorAccessDenied``, or ``ExtensionError`` when subscribing).
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt

from local.graphsim.graph_api import GraphApi, batch_items, split_relative
from local.graphsim.limits import MAILBOX_CONCURRENCY, MailboxLimits
from local.graphsim.notify import Deliverer
from local.graphsim.settings import apply_patch, no_exchange, settings_body
from local.graphsim.signin import CLOUD_FIELDS, SignIn, graph_resource
from local.graphsim.store import App, GraphFault, Store, Tenant, User
from local.graphsim.web import Request, Response, Router, wsgi_response

POLICY_DENIED = "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."


@dataclass
class Faults:
    """What the control API injected; ``throttle`` maps a mailbox id (or ``*`` for a share) to a rule."""

    throttle: dict[str, dict[str, Any]] = field(default_factory=dict)
    latency_seconds: float = 0.0
    denied_mailboxes: set[str] = field(default_factory=set)
    requests: int = 0
    http_requests: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    by_mailbox: dict[str, dict[str, int]] = field(default_factory=dict)
    http_by_scope: dict[str, int] = field(default_factory=dict)

    def http_requests_for(self, scope: str) -> int:
        """HTTP requests (a ``$batch`` counts once) that touched a mailbox id, or ``subscriptions``."""
        return self.http_by_scope.get(scope, 0)

    def requests_for(self, mailbox: str, method: str | None = None) -> int:
        """Graph requests (inner ones of a ``$batch`` each) about one mailbox, of one method or all: what a
        test counts so that work other tests leave running elsewhere is not counted."""
        counts = self.by_mailbox.get(mailbox, {})
        return counts.get(method, 0) if method else sum(counts.values())


class GraphSimApp:
    """WSGI callable; ``base_url`` is set by the server once its port is known."""

    def __init__(self, *, verify: bool | str = True) -> None:
        self.store = Store()
        self.signin = SignIn(self.store)
        self.deliverer = Deliverer(self.store, verify=verify)
        self.store.on_change = self.deliverer.changed
        self.api = GraphApi(self.store, validate=self.deliverer.validate)
        self.faults = Faults()
        self.base_url = ""
        self._random = random.Random(11)
        self._lock = threading.Lock()
        self.limits = MailboxLimits()
        self._scopes = threading.local()
        self.graph = self._graph_routes()
        self.login = self._login_routes()
        self.control = self._control_routes()

    # WSGI ---------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request.from_environ(environ, self.base_url)
        try:
            response = self.handle(request)
        except GraphFault as fault:
            response = fault_response(fault)
        except Exception:  # a bug in the stand-in must still answer like a service would
            response = fault_response(GraphFault(500, "generalException", "An internal server error occurred."))
        return wsgi_response(response, start_response)

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/v1.0/"):
            request.path = request.path[5:]
            return self.graph_call(request)
        router = self.control if request.path.startswith("/_sim/") else self.login
        handler, params, known = router.match(request.method, request.path)
        if handler is None:
            code = 405 if known else 404
            return Response(code, {"error": "not_found" if code == 404 else "method_not_allowed"})
        request.params = params
        return handler(request)

    # Graph --------------------------------------------------------------------------------------

    def graph_call(self, request: Request, *, inner: bool = False) -> Response:
        if inner:
            return self._graph_call(request)
        with self._lock:
            self.faults.http_requests += 1
        self._scopes.touched = set()
        try:
            self._authenticate(request)
            return self._graph_call(request)
        finally:
            with self._lock:
                for scope in self._scopes.touched:
                    self.faults.http_by_scope[scope] = self.faults.http_by_scope.get(scope, 0) + 1

    def _graph_call(self, request: Request) -> Response:
        request.path = request.path.rstrip("/") or "/"
        handler, params, known = self.graph.match(request.method, request.path)
        if handler is None:
            raise GraphFault(
                405 if known else 400,
                "BadRequest" if not known else "MethodNotAllowed",
                f"Resource not found for the segment '{request.path.rsplit('/', 1)[-1]}'."
                if not known
                else "The HTTP method is not allowed for this resource.",
            )
        request.params = params
        if request.path == "/$batch":
            return handler(request)
        user = self._mailbox_of(request)
        if user is None:
            self._inject(request)
            return handler(request)
        app = request.context["app_id"]
        inner = request.context.get("in_batch", False)
        if not inner:
            self.limits.enter(app, user.id)
        try:
            self.limits.spend(app, user.id)
            self._inject(request)
            return handler(request)
        finally:
            if not inner:
                self.limits.leave(app, user.id)

    @property
    def peak(self) -> dict[str, int]:
        """The most requests of one app seen at once per mailbox (Outlook allows 4)."""
        return self.limits.peak

    def _mailbox_of(self, request: Request) -> User | None:
        """The user or room a request is about, for the per-mailbox limits (None: not a mailbox's)."""
        key = request.params.get("user") or request.context.get("user_id")
        if not key:
            return None
        with self.store.lock:
            return self.store.users.get(key) or self.store.user_by_mail(key)

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        unauthorized = {
            "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/'
            'common/oauth2/authorize", '
            'client_id="00000003-0000-0000-c000-000000000000"'
        }
        if not header.startswith("Bearer "):
            raise GraphFault(401, "InvalidAuthenticationToken", "Access token is empty.", unauthorized)
        try:
            unverified = jwt.decode(header[7:], options={"verify_signature": False})
            tenant = self.store.tenants[unverified["tid"]]
            claims = self.signin.keys.verify(header[7:], audience=graph_resource(tenant))
        except jwt.ExpiredSignatureError:
            raise GraphFault(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.", unauthorized
            ) from None
        except (jwt.PyJWTError, KeyError):
            raise GraphFault(
                401, "InvalidAuthenticationToken", "Access token validation failure.", unauthorized
            ) from None
        request.context = {
            "tenant_id": claims["tid"],
            "app_id": claims["appid"],
            "oid": claims.get("oid", ""),
            "user_id": claims["oid"] if claims.get("scp") else None,
        }

    def _inject(self, request: Request) -> None:
        with self._lock:
            self.faults.requests += 1
            self.faults.by_method[request.method] = self.faults.by_method.get(request.method, 0) + 1
            latency = self.faults.latency_seconds
            mailbox = request.params.get("user") or request.context.get("user_id")
            user = self.store.users.get(mailbox or "") or (self.store.user_by_mail(mailbox) if mailbox else None)
            if user is not None:
                counts = self.faults.by_mailbox.setdefault(user.id, {})
                counts[request.method] = counts.get(request.method, 0) + 1
            touched: set[str] = getattr(self._scopes, "touched", set())
            touched.add(user.id if user is not None else request.path.strip("/").split("/")[0])
            rule: dict[str, Any] = (
                self.faults.throttle.get(user.id if user else "") or self.faults.throttle.get("*") or {}
            )
            hit = (
                bool(rule)
                and self._random.random() < float(rule.get("share", 1.0))
                and rule.get("count", 1) != 0
                and rule.get("method") in (None, request.method)
            )
            if hit and rule.get("count") is not None:
                rule["count"] -= 1
        if latency:
            time.sleep(latency)
        if hit:
            status = int(rule.get("status", 429))
            headers = {"Retry-After": str(rule["retry_after"])} if rule.get("retry_after") is not None else {}
            raise GraphFault(
                status,
                "TooManyRequests" if status == 429 else "ServiceNotAvailable",
                "Please retry again later." if status == 429 else "Service temporarily unavailable.",
                headers,
            )
        mailbox_data = request.path.count("/") > 2 or request.path.startswith("/me/")
        if user is not None and user.id in self.faults.denied_mailboxes and mailbox_data:
            raise GraphFault(403, "ErrorAccessDenied", POLICY_DENIED)
        if user is not None and not user.exchange and mailbox_data:
            raise no_exchange()

    def batch(self, request: Request) -> Response:
        """Items run in order; each mailbox among them holds one slot per item, up to 4, for the whole batch,
        and a mailbox over its limit gets 429 for every item of it (the others run)."""
        items = batch_items(request.json())
        results: dict[str, Response] = {}
        app, held, refused = request.context["app_id"], [], {}
        for mailbox, count in self._batch_mailboxes(request, items).items():
            try:
                self.limits.enter(app, mailbox, min(count, MAILBOX_CONCURRENCY))
                held.append((mailbox, min(count, MAILBOX_CONCURRENCY)))
            except GraphFault as refusal:
                refused[mailbox] = refusal
        try:
            for item in items:
                fault = refused.get(self._batch_mailbox(request, item) or "")
                results[str(item["id"])] = fault_response(fault) if fault else self._batch_item(request, item, results)
        finally:
            for mailbox, slots in held:
                self.limits.leave(app, mailbox, slots)
        answers = [
            {
                "id": key,
                "status": r.status,
                "headers": r.headers | ({"Content-Type": "application/json"} if r.body is not None else {}),
                **({"body": r.body} if r.body is not None else {}),
            }
            for key, r in results.items()
        ]
        return Response(200, {"responses": answers})

    def _batch_mailboxes(self, outer: Request, items: list[dict[str, Any]]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in items:
            mailbox = self._batch_mailbox(outer, item)
            if mailbox:
                counts[mailbox] = counts.get(mailbox, 0) + 1
        return counts

    def _batch_mailbox(self, outer: Request, item: dict[str, Any]) -> str | None:
        path, _ = split_relative(str(item.get("url", "")))
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["v1.0"]:
            parts = parts[1:]
        key = (
            parts[1]
            if len(parts) > 1 and parts[0].lower() == "users"
            else outer.context.get("user_id")
            if parts[:1] == ["me"]
            else None
        )
        if not key:
            return None
        with self.store.lock:
            user = self.store.users.get(key) or self.store.user_by_mail(key)
        return user.id if user else None

    def _batch_item(self, outer: Request, item: dict[str, Any], done: dict[str, Response]) -> Response:
        if any(done.get(str(d)) is None or done[str(d)].status >= 400 for d in item.get("dependsOn") or []):
            return Response(
                424,
                {
                    "error": {
                        "code": "FailedDependency",
                        "message": "Request failed due to failed dependency.",
                        "innerError": _inner(),
                    }
                },
            )
        path, query = split_relative(str(item.get("url", "")))
        if path.lower().startswith("/v1.0/"):
            path = path[5:]
        headers = {k.lower(): str(v) for k, v in (item.get("headers") or {}).items()}
        body = json.dumps(item["body"]).encode() if item.get("body") is not None else b""
        inner = Request(
            str(item.get("method", "GET")).upper(),
            path,
            query,
            headers,
            body,
            self.base_url,
            context=outer.context | {"in_batch": True},
        )
        try:
            return self.graph_call(inner, inner=True)
        except GraphFault as fault:
            return fault_response(fault)

    def _graph_routes(self) -> Router:
        api, router = self.api, Router()
        for prefix in ("/users/{user}", "/me"):
            router.add("GET", prefix, api.get_user)
            router.add("GET", f"{prefix}/mailboxSettings", api.mailbox_settings)
            router.add("PATCH", f"{prefix}/mailboxSettings", api.update_mailbox_settings)
            router.add("POST", f"{prefix}/calendar/getSchedule", api.get_schedule)
            router.add("GET", f"{prefix}/events", api.list_events)
            router.add("POST", f"{prefix}/events", api.create_event)
            router.add("GET", f"{prefix}/events/{{event}}", api.get_event)
            router.add("PATCH", f"{prefix}/events/{{event}}", api.update_event)
            router.add("DELETE", f"{prefix}/events/{{event}}", api.delete_event)
            router.add("POST", f"{prefix}/events/{{event}}/{{action}}", self._respond)
            router.add("GET", f"{prefix}/events/{{event}}/instances", api.instances)
            router.add("GET", f"{prefix}/calendarView", api.calendar_view)
            router.add("GET", f"{prefix}/calendarView/delta", api.delta)
        router.add(
            "POST",
            "/subscriptions",
            lambda r: api.create_subscription(r, denied=lambda mailbox: mailbox in self.faults.denied_mailboxes),
        )
        router.add("GET", "/subscriptions", api.list_subscriptions)
        router.add(
            "GET",
            "/subscriptions/{subscription}",
            lambda r: Response(200, api.render_subscription(api.subscription(r))),
        )
        router.add("PATCH", "/subscriptions/{subscription}", api.renew_subscription)
        router.add("DELETE", "/subscriptions/{subscription}", api.delete_subscription)
        router.add("POST", "/subscriptions/{subscription}/reauthorize", api.reauthorize_subscription)
        router.add("POST", "/$batch", self.batch)
        return router

    def _respond(self, request: Request) -> Response:
        action = request.params["action"].lower()
        if action == "cancel":
            return self.api.cancel(request)
        if action not in ("accept", "decline", "tentativelyaccept"):
            raise GraphFault(400, "BadRequest", f"Resource not found for the segment '{request.params['action']}'.")
        return self.api.respond(request)

    # sign-in ------------------------------------------------------------------------------------

    def _login_routes(self) -> Router:
        signin, router = self.signin, Router()
        router.add("GET", "/{tenant}/v2.0/.well-known/openid-configuration", signin.openid_configuration)
        router.add("GET", "/{tenant}/.well-known/openid-configuration", signin.openid_configuration)
        router.add("GET", "/{tenant}/discovery/v2.0/keys", signin.jwks)
        router.add("GET", "/common/discovery/keys", signin.jwks)
        router.add("POST", "/{tenant}/oauth2/v2.0/token", signin.token)
        router.add("GET", "/{tenant}/oauth2/v2.0/authorize", signin.authorize)
        router.add("GET", "/{tenant}/adminconsent", signin.admin_consent)
        router.add("GET", "/{tenant}/v2.0/adminconsent", signin.admin_consent)
        return router

    # control ------------------------------------------------------------------------------------

    def _control_routes(self) -> Router:
        router = Router()
        router.add("POST", "/_sim/tenants", self._add_tenant)
        router.add("POST", "/_sim/apps", self._add_app)
        router.add("POST", "/_sim/users", self._add_user)
        router.add("GET", "/_sim/state", lambda r: Response(200, self.summary(r.query.get("mailbox"))))
        router.add("POST", "/_sim/faults/throttle", self._throttle)
        router.add("POST", "/_sim/faults/latency", self._latency)
        router.add("POST", "/_sim/faults/access-policy", self._access_policy)
        router.add("POST", "/_sim/faults/notifications", self._notification_faults)
        router.add("POST", "/_sim/faults/clear", self._clear)
        router.add("POST", "/_sim/faults/budget", self._budget)
        router.add("POST", "/_sim/faults/lifecycle-noise", self._lifecycle_noise)
        router.add("POST", "/_sim/faults/offsets", self._offsets)
        router.add("POST", "/_sim/grants/{user}/revoke", lambda r: self._revoke(r, "revoked"))
        router.add("POST", "/_sim/grants/{user}/expire", lambda r: self._revoke(r, "expired"))
        router.add("POST", "/_sim/subscriptions/{subscription}/lifecycle", self._lifecycle)
        router.add("POST", "/_sim/users/{user}/delta-reset", self._delta_reset)
        router.add("POST", "/_sim/users/{user}/events", self._outlook_creates)
        router.add("PATCH", "/_sim/users/{user}/mailboxSettings", self._outlook_settings)
        router.add("POST", "/_sim/keys/rollover", self._rollover)
        router.add("POST", "/_sim/consent/{tenant}/deny", self._deny_consent)
        router.add("POST", "/_sim/api-token", self._api_token)
        return router

    def _add_tenant(self, request: Request) -> Response:
        body = request.json() or {}
        cloud = body.get("cloud", "Worldwide")
        tenant = Tenant(
            body.get("id") or str(uuid.uuid4()),
            body["domain"],
            body.get("displayName", body["domain"]),
            dict(CLOUD_FIELDS[cloud]) | body.get("openid", {}),
            set(body.get("consentedApps", [])),
        )
        self.store.add_tenant(tenant)
        return Response(201, {"id": tenant.id})

    def _add_app(self, request: Request) -> Response:
        body = request.json() or {}
        app = App(
            body["clientId"],
            body.get("secret"),
            dict(body.get("certificates", {})),
            set(body.get("redirectUris", [])),
            body.get("apiAudience"),
            body.get("azure", "AzureCloud"),
        )
        with self.store.lock:
            self.store.apps[app.client_id] = app
        return Response(201, {"clientId": app.client_id})

    def _add_user(self, request: Request) -> Response:
        body = request.json() or {}
        user = User(
            body.get("id") or str(uuid.uuid4()),
            body["tenantId"],
            body["mail"],
            body.get("displayName", body["mail"]),
            body.get("kind", "user"),
            body.get("timeZone", "UTC"),
            body.get("language", "en-US"),
            bool(body.get("exchange", True)),
        )
        self.store.add_user(user)
        return Response(201, {"id": user.id})

    def _throttle(self, request: Request) -> Response:
        body = request.json() or {}
        rule = {
            "status": int(body.get("status", 429)),
            "retry_after": body.get("retryAfter"),
            "share": float(body.get("share", 1.0)),
            "count": body.get("count"),
            "method": body.get("method"),
        }
        with self._lock:
            self.faults.throttle[body.get("mailbox") or "*"] = rule
        return Response(204)

    def _latency(self, request: Request) -> Response:
        self.faults.latency_seconds = float((request.json() or {}).get("ms", 0)) / 1000
        return Response(204)

    def _access_policy(self, request: Request) -> Response:
        self.faults.denied_mailboxes = set((request.json() or {}).get("deny", []))
        return Response(204)

    def _notification_faults(self, request: Request) -> Response:
        body = request.json() or {}
        self.deliverer.faults.drop = float(body.get("drop", 0))
        self.deliverer.faults.duplicate = float(body.get("duplicate", 0))
        self.deliverer.faults.copies = int(body.get("copies", 2))
        self.deliverer.faults.delay_seconds = float(body.get("delayMs", 0)) / 1000
        return Response(204)

    def _offsets(self, request: Request) -> Response:
        """``{"minutes": 330}``: write subscription expiries with that UTC offset (absent or null: in UTC)."""
        minutes = (request.json() or {}).get("minutes")
        self.api.offset = timedelta(minutes=int(minutes)) if minutes is not None else None
        return Response(204)

    def _lifecycle_noise(self, request: Request) -> Response:
        """``{"everySeconds": 2}``: reauthorizationRequired to every live subscription that often (0 stops)."""
        self.deliverer.noise(float((request.json() or {}).get("everySeconds", 0)))
        return Response(204)

    def _budget(self, request: Request) -> Response:
        """Lower (or restore) each mailbox's request budget: ``{"requests": 20, "seconds": 5}``."""
        body = request.json() or {}
        self.limits.set_budget(int(body.get("requests", 10_000)), float(body.get("seconds", 600)))
        return Response(204)

    def _clear(self, request: Request) -> Response:
        with self._lock:
            counted = self.faults
            self.faults = Faults(
                requests=counted.requests,
                http_requests=counted.http_requests,
                by_method=counted.by_method,
                by_mailbox=counted.by_mailbox,
                http_by_scope=counted.http_by_scope,
            )
        self.deliverer.faults.drop = self.deliverer.faults.duplicate = self.deliverer.faults.delay_seconds = 0
        self.signin.deny_consent.clear()
        self.limits.set_budget(10_000, 600)
        self.deliverer.noise(0)
        self.api.offset = None
        return Response(204)

    def _revoke(self, request: Request, state: str) -> Response:
        return Response(200, {"grants": self.signin.revoke(request.params["user"], state)})

    def _lifecycle(self, request: Request) -> Response:
        subscription = self.store.subscriptions.get(request.params["subscription"])
        event = (request.json() or {}).get("event", "")
        if subscription is None or event not in ("reauthorizationRequired", "subscriptionRemoved", "missed"):
            return Response(400, {"error": "unknown subscription or lifecycle event"})
        self.deliverer.lifecycle(subscription, event)
        if event == "subscriptionRemoved":
            with self.store.lock:
                self.store.subscriptions.pop(subscription.id, None)
        return Response(202)

    def _outlook_creates(self, request: Request) -> Response:
        """An organizer creates an event in Outlook: no app's token, no app's limits (benchmarks' load)."""
        user = self.store.users.get(request.params["user"])
        if user is None:
            return Response(404, {"error": "unknown user"})
        try:
            event = self.store.create_event(user.id, request.json() or {})
        except GraphFault as fault:
            return fault_response(fault)
        return Response(201, self.store.render(event))

    def _outlook_settings(self, request: Request) -> Response:
        """A user changes their own settings in Outlook (automatic replies, time zone, language): no app's token."""
        user = self.store.users.get(request.params["user"])
        if user is None:
            return Response(404, {"error": "unknown user"})
        try:
            with self.store.lock:
                apply_patch(user, request.json())
        except GraphFault as fault:
            return fault_response(fault)
        return Response(200, settings_body(user))

    def _delta_reset(self, request: Request) -> Response:
        with self.store.lock:
            user = request.params["user"]
            self.store.delta_generation[user] = self.store.delta_generation.get(user, 0) + 1
        return Response(204)

    def _rollover(self, request: Request) -> Response:
        return Response(
            200, {"kid": self.signin.keys.roll_over(retire_old=bool((request.json() or {}).get("retireOld")))}
        )

    def _deny_consent(self, request: Request) -> Response:
        self.signin.deny_consent.add(request.params["tenant"])
        return Response(204)

    def _api_token(self, request: Request) -> Response:
        """A v2 access token for the product's own API, as Entra would issue it to the user's app."""
        body = request.json() or {}
        user = self.store.users[body["user"]]
        issued = int(time.time()) + int(body.get("issuedOffsetSeconds", 0))
        claims = {
            "aud": body["audience"],
            "iss": f"{self.base_url}/{user.tenant_id}/v2.0",
            "tid": user.tenant_id,
            "oid": user.id,
            "sub": user.id,
            "preferred_username": user.mail,
            "name": user.display_name,
            "scp": body.get("scope", "Meetings.Read"),
            "azp": body.get("clientId", "hybrid-calendar-app"),
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(body.get("expiresIn", 3600)),
            "ver": "2.0",
        }
        return Response(200, {"access_token": self.signin.keys.sign(claims)})

    def summary(self, mailbox: str | None = None) -> dict[str, Any]:
        """Counts for the control API; with ``mailbox``, that mailbox's requests by method too."""
        with self.store.lock:
            return {
                "tenants": len(self.store.tenants),
                "users": len(self.store.users),
                "events": sum(len(e) for e in self.store.events.values()),
                "subscriptions": len(self.store.subscriptions),
                "requests": self.faults.requests,
                "httpRequests": self.faults.http_requests,
                "requestsByMethod": dict(self.faults.by_method),
                "notificationsDelivered": self.deliverer.notifications_delivered,
                "throttled": dict(self.limits.refused),
            } | ({"mailboxRequests": dict(self.faults.by_mailbox.get(mailbox, {}))} if mailbox else {})

    def expire_subscription(self, subscription_id: str) -> None:
        """Let a subscription lapse (tests): it stops delivering and is unknown to renewals."""
        with self.store.lock:
            self.store.subscriptions[subscription_id].expires = datetime.now(timezone.utc) - timedelta(seconds=1)


def _inner() -> dict[str, str]:
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4()),
    }


def fault_response(fault: GraphFault) -> Response:
    inner = _inner()
    return Response(
        fault.status,
        {"error": {"code": fault.code, "message": fault.message, "innerError": inner}},
        {"request-id": inner["request-id"], "client-request-id": inner["client-request-id"], **fault.headers},
    )
