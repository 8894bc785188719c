"""ASGI entry point: HTTP goes to Django, WebSockets to the Channels routes."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before the consumers, which import models, are loaded.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import CookieMiddleware, InstanceSessionWrapper  # noqa: E402

from config.middleware import RequestBodyLimit  # noqa: E402
from notifications.routing import websocket_urlpatterns  # noqa: E402


class WebSocketSessionMiddleware:
    """Channels' SessionMiddleware, without its wrapper around every message sent: the wrapper
    only ever saves the session on an HTTP response, never on a WebSocket, yet reads the lazy
    session twice per message. Measured with bench/notify_latency.py: it cost about a tenth
    of the server's CPU per notification."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": RequestBodyLimit(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            CookieMiddleware(
                WebSocketSessionMiddleware(AuthMiddleware(URLRouter(websocket_urlpatterns)))
            )
        ),
    }
)

# What is loaded by now (Django, the apps, the URLs) lives as long as the process: out of the
# garbage collector's passes, which otherwise walk it all again and again. Measured with
# bench/notify_latency.py, 40 transitions to 100 sockets: without it, one round in ten took
# 17 to 22 ms instead of about 10, when a collection ran during the push; with it, none did.
gc.freeze()
