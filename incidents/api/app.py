"""The product's REST API, `/api/v1/` (DESIGN.md, "Machines talk to it"): its OpenAPI schema at
`schema/` and its reference at `docs/`, both served by the product itself from django-ninja's
own static files (a factory's network often has no internet, so no CDN)."""

from django.http import HttpRequest
from ninja import NinjaAPI, Router, Swagger

from incidents.api import devices, errors, groups, incidents, results, webhooks
from incidents.api.auth import TokenOrSession
from incidents.api.errors import not_found

DESCRIPTION = """\
The API the line's test stations and the factory's MES use.

**Tokens.** An administrator makes one in the admin (*API tokens*) or with
`python manage.py api_token create NAME --scope incidents:read`; it is shown once. Send it as
`Authorization: Bearer adt_…`. People signed in to the product may use their session instead
(with the `X-CSRFToken` header on writes) and then see exactly what their screens show.

**Pages.** Lists are newest first; follow `next` (an opaque cursor) until it is null.

**Webhooks.** Registered with `POST /api/v1/webhooks/` (scope `webhooks:admin`), each event is
POSTed to the webhook's address as `{"id", "event", "created_at", "data"}` with the headers
`X-ADT-Event`, `X-ADT-Delivery` (the id, the same on every attempt) and
`X-ADT-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the secret>`.
Events: `incident.opened`, `incident.stage_changed`, `incident.closed`, `device.moved`.
Anything but a 2xx is tried again with back-off for a day.

**Errors.** Every refusal is `{"error": {"code": "…", "message": "…"}}` with a 4xx status, the
message in the token's or the person's language.
"""

api = NinjaAPI(
    title="Abnormal Device Tracking",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    openapi_url="/schema/",
    docs_url="/docs/",
    # The online validator's badge would ask swagger.io about every schema: never.
    docs=Swagger(settings={"validatorUrl": None}),
    auth=TokenOrSession(),
)
errors.install(api)
api.add_router("/incidents/", incidents.router)
api.add_router("/devices/", devices.router)
api.add_router("/locations/", devices.locations)
api.add_router("/problem-groups/", groups.router)
api.add_router("/results/", results.router)
api.add_router("/webhooks/", webhooks.router)

# Last: any other address under /api/v1/ is a 404 in the API's shape, not the product's page.
nowhere = Router()


@nowhere.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", include_in_schema=False, auth=None
)
def nothing_here(request: HttpRequest, rest: str):
    raise not_found()


api.add_router("", nowhere)
