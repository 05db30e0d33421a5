"""WebSocket routes: a room per incident and per problem group, and a device's live page."""

from django.urls import re_path

from messaging.consumers import DeviceConsumer, RoomConsumer

websocket_urlpatterns = [
    re_path(
        r"^ws/rooms/(?P<kind>incident|problem-group)/(?P<subject_id>\d+)/$",
        RoomConsumer.as_asgi(),
    ),
    re_path(r"^ws/devices/(?P<device_id>\d+)/$", DeviceConsumer.as_asgi()),
]
