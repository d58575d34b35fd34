"""``GET /api/health``: the state of each dependency, 200 when all are fine, 503 otherwise."""

import azure.functions as func

from shared.config import get_settings

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Anonymous so that load balancers and uptime probes can call it; it reveals no data."""
    from shared.health import check_health

    from functions.responses import raw_response

    report = check_health(get_settings())
    return raw_response(report.status_code, report.to_json(), mimetype="application/json")
