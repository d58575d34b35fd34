"""``POST /api/graph/notifications`` and ``POST /api/graph/lifecycle``: Graph's webhooks.

Anonymous, as Graph calls them; authenticity is each notification's clientState. The
validation handshake echoes the decoded token with no I/O; otherwise verified notifications
become queue references and the answer is 202 at once (Graph gives 10 s; we aim for ms).
"""

import azure.functions as func

from functions.responses import error_response
from shared.errors import ValidationError
from shared.sync.engine import CHANGES_QUEUE, LIFECYCLE_QUEUE

bp = func.Blueprint()


def _answer(req: func.HttpRequest, changes: func.Out[list[str]], lifecycle: func.Out[list[str]]) -> func.HttpResponse:
    token = req.params.get("validationToken")
    if token is not None:
        return func.HttpResponse(token, status_code=200, mimetype="text/plain")
    from shared.storage.queues import reference_message
    from shared.sync.engine import get_verifier

    try:
        verdict = get_verifier().verify(req.get_body())
    except ValidationError as error:
        return error_response(error)
    changes.set([reference_message(r) for r in verdict.changes])
    lifecycle.set([reference_message(r) for r in verdict.lifecycle])
    return func.HttpResponse(status_code=202)


@bp.route(route="graph/notifications", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.queue_output(arg_name="changes", queue_name=CHANGES_QUEUE, connection="AzureWebJobsStorage")
@bp.queue_output(arg_name="lifecycle", queue_name=LIFECYCLE_QUEUE, connection="AzureWebJobsStorage")
def graph_notifications(req: func.HttpRequest, changes: func.Out[list[str]],
                        lifecycle: func.Out[list[str]]) -> func.HttpResponse:
    return _answer(req, changes, lifecycle)


@bp.route(route="graph/lifecycle", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.queue_output(arg_name="changes", queue_name=CHANGES_QUEUE, connection="AzureWebJobsStorage")
@bp.queue_output(arg_name="lifecycle", queue_name=LIFECYCLE_QUEUE, connection="AzureWebJobsStorage")
def graph_lifecycle(req: func.HttpRequest, changes: func.Out[list[str]],
                    lifecycle: func.Out[list[str]]) -> func.HttpResponse:
    return _answer(req, changes, lifecycle)
