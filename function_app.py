"""The Function App: builds it and registers one Blueprint per module of ``functions/``."""

import azure.functions as func

from functions import admin, delivery, graph_webhooks, health, meetings_api, presence, sync_queues, timers
from shared.allocator import keep_parser_memory
from shared.config import get_settings

get_settings()  # invalid configuration stops start-up here, naming each bad setting
keep_parser_memory()  # the HTML parser's memory stays mapped between documents

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (
    health.bp,
    graph_webhooks.bp,
    sync_queues.bp,
    delivery.bp,
    presence.bp,
    admin.bp,
    meetings_api.bp,
    timers.bp,
):
    app.register_functions(blueprint)
