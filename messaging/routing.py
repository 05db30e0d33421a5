"""WebSocket routes. The per-incident chat rooms are mounted here."""

websocket_urlpatterns: list = []
