"""``POST /api/graph/notifications`` and ``POST /api/graph/lifecycle``: Graph's webhooks.

Anonymous, as Graph calls them; authenticity is each notification's clientState. The
validation handshake echoes the decoded token with no I/O (Graph sends it as text/plain; a JSON
body beside a token must still be a collection, as the description says, and is not read further);
an empty POST has nothing to queue; a POST that cannot be queued (storage down) answers 503 and
its mailboxes (or, unverified, its tenants) are owed a catch-up, queued by the first POST that
queues fine afterwards (``shared.sync.recovery``); otherwise verified notifications
become queue references and the answer is 202 once they are in the queue (Graph gives 10 s; we
aim for ms). The references are written by the process's group commit (``GroupSender``): POSTs
that arrive while a write is in flight share the next one. A write that fails answers 503, so
Graph delivers again.
"""

import azure.functions as func

from functions.responses import error_response, invalid_request, raw_response
from shared.errors import HybridCalendarError

bp = func.Blueprint()
MAX_TOKEN_CHARS = 1024
"""Graph's validation tokens are about 100 characters; a longer one is not Graph's."""


def _answer(req: func.HttpRequest, route: str) -> func.HttpResponse:
    token = req.params.get("validationToken")
    if token is not None:
        if len(token) > MAX_TOKEN_CHARS:
            return invalid_request(f"validationToken is longer than {MAX_TOKEN_CHARS} characters")
        if req.get_body() and "json" in (req.headers.get("Content-Type") or "").lower():
            from shared.sync.notifications import parse_collection

            try:
                parse_collection(req.get_body())
            except HybridCalendarError as error:
                return error_response(error)
        return raw_response(200, token)
    if not req.get_body():
        return raw_response(202)
    return _queued(req.get_body(), route)


def _queued(body: bytes, route: str) -> func.HttpResponse:
    """Verify and queue; what cannot be queued is owed a catch-up, paid once a later POST queues fine."""
    from shared.telemetry import telemetry

    with telemetry().span(
        f"POST /api/{route}", kind="server", attributes={"http.request.method": "POST", "http.route": f"/api/{route}"}
    ) as span:
        response = _verified_and_queued(body, route.rsplit("/", 1)[-1])
        if span is not None:
            span.set_attribute("http.response.status_code", response.status_code)
        return response


def _verified_and_queued(body: bytes, webhook: str) -> func.HttpResponse:
    from shared.errors import TransientError
    from shared.runtime import get_runtime
    from shared.sync.messages import CHANGES_QUEUE, LIFECYCLE_QUEUE
    from shared.sync.notifications import tenants_named

    runtime = get_runtime()
    try:
        verdict = runtime.verifier.verify(body)
        verdict.measure(webhook)
    except TransientError as error:
        runtime.recovery.owe_tenants(tenants_named(body))
        return error_response(error)
    except HybridCalendarError as error:
        return error_response(error)
    try:
        runtime.sender(CHANGES_QUEUE).submit(verdict.changes)
        runtime.sender(LIFECYCLE_QUEUE).submit(verdict.lifecycle)
    except HybridCalendarError as error:
        runtime.recovery.owe_mailboxes([*verdict.changes, *verdict.lifecycle])
        return error_response(error)
    if runtime.recovery.owing:
        try:
            runtime.recovery.settle()
        except HybridCalendarError:
            pass
    return raw_response(202)


@bp.route(route="graph/notifications", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def graph_notifications(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    from shared.telemetry import invocation_context

    with invocation_context(context.invocation_id):
        return _answer(req, "graph/notifications")


@bp.route(route="graph/lifecycle", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def graph_lifecycle(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    from shared.telemetry import invocation_context

    with invocation_context(context.invocation_id):
        return _answer(req, "graph/lifecycle")
