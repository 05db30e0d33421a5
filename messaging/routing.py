"""WebSocket routes: a room per incident and per problem group, a device's live page and the
dashboard."""

from django.urls import re_path

from messaging.consumers import DashboardConsumer, DeviceConsumer, RoomConsumer

websocket_urlpatterns = [
    re_path(
        r"^ws/rooms/(?P<kind>incident|problem-group)/(?P<subject_id>\d+)/$",
        RoomConsumer.as_asgi(),
    ),
    re_path(r"^ws/devices/(?P<device_id>\d+)/$", DeviceConsumer.as_asgi()),
    re_path(r"^ws/dashboard/$", DashboardConsumer.as_asgi()),
]
