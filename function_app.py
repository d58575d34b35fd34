"""The Function App: builds it and registers one Blueprint per module of ``functions/``."""

import azure.functions as func

from functions import health
from shared.config import get_settings

get_settings()  # invalid configuration stops start-up here, naming each bad setting

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(health.bp)
