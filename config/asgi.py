"""One ASGI application for HTTP and WebSocket, served by uvicorn."""

import gc
import os
import sys

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Web requests run with a statement timeout (config/settings.py); workers and commands do not.
os.environ.setdefault("ADT_WEB_PROCESS", "1")

try:
    from django.core.asgi import get_asgi_application

    django_asgi_app = get_asgi_application()
except ImproperlyConfigured as error:
    sys.exit(f"Configuration error: {error}")

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator

from config.kit.processes import start_heartbeat
from messaging.routing import websocket_urlpatterns

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

# The status page counts the app processes alive (config/status.py); the chat clears the
# presence of people connected through a process whose heartbeat lapsed.
start_heartbeat("app")

# Everything loaded at start-up lives as long as the process: keep it out of the garbage
# collector's sweeps, whose pauses otherwise show as the slowest chat deliveries.
gc.freeze()
