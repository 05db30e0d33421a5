"""What the permission matrix needs to know about pages: every URL pattern the project serves,
the data a browser would post from a form on a page, and whether an answer refused the request.
"""

from dataclasses import dataclass
from html.parser import HTMLParser

from django.contrib import messages
from django.urls import URLPattern, URLResolver, get_resolver, reverse


# --- URL patterns ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pattern:
    key: str  # "admin:<name>" for a named pattern, else its route
    route: str


def url_patterns(patterns=None, prefix: str = "", namespace: str = "") -> list[Pattern]:
    """Every URL pattern of the project's URLconf, walked through its includes (admin.site.urls,
    i18n…), each once: Unfold registers a row action that is also a detail action twice."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    found: dict[str, Pattern] = {}
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, (namespace, entry.namespace)))
            for pattern in url_patterns(entry.url_patterns, route, inner):
                found.setdefault(pattern.key, pattern)
        elif isinstance(entry, URLPattern):
            if entry.name:
                key = f"{namespace}:{entry.name}" if namespace else entry.name
            else:
                key = route
            found.setdefault(key, Pattern(key, route))
    return list(found.values())


# --- forms on a page ------------------------------------------------------------------------------
class _FormParser(HTMLParser):
    """The fields of one <form> (the first whose id is `form_id`, or whose action contains
    `action`, else the first form posting back to the page) as the browser would submit them
    unchanged: checked boxes only, selected options, textareas; no file inputs, no buttons."""

    def __init__(self, form_id: str | None, action: str | None):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.action = action
        self.depth = 0  # >0 inside the chosen form
        self.done = False
        self.fields: list[tuple[str, str]] = []
        self._select: tuple[str, bool] | None = None  # (name, multiple)
        self._select_values: list[str] = []
        self._first_option: str | None = None
        self._option: dict | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and not self.done:
            if self.depth:
                self.depth += 1
            elif self._chosen(attrs):
                self.depth = 1
            return
        if not self.depth:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields.append((name, attrs.get("value") or "on"))
                return
            self.fields.append((name, attrs.get("value") or ""))
        elif tag == "select" and name:
            self._select = (name, "multiple" in attrs)
            self._select_values, self._first_option = [], None
        elif tag == "option" and self._select:
            value = attrs.get("value")
            self._option = {"value": value, "selected": "selected" in attrs}
            self._text = []
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def _chosen(self, form: dict) -> bool:
        if self.form_id:
            return form.get("id") == self.form_id
        if self.action:
            return self.action in (form.get("action") or "")
        # The page's own form posts back to the page; the language switcher and the logout
        # button of the header post elsewhere.
        return (form.get("method") or "").lower() == "post" and not form.get("action")

    def handle_data(self, data):
        if self._option is not None or self._textarea is not None:
            self._text.append(data)

    def _close_option(self):
        if self._option is None:
            return
        value = self._option["value"]
        if value is None:
            value = "".join(self._text).strip()
        if self._first_option is None:
            self._first_option = value
        if self._option["selected"]:
            self._select_values.append(value)
        self._option = None

    def handle_endtag(self, tag):
        if not self.depth:
            return
        if tag == "form":
            self.depth -= 1
            if not self.depth:
                self.done = True
        elif tag == "option":
            self._close_option()
        elif tag == "select" and self._select:
            self._close_option()
            name, multiple = self._select
            values = self._select_values
            if not values and not multiple and self._first_option is not None:
                values = [self._first_option]  # a browser submits the first option
            self.fields.extend((name, value) for value in values)
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = "".join(self._text)
            self.fields.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None


def form_data(
    html: str, form_id: str | None = None, action: str | None = None
) -> dict[str, str | list[str]]:
    """The data a browser would post from the form, unchanged; a field given several times
    (a multiple select, checkboxes of one name) becomes a list."""
    parser = _FormParser(form_id, action)
    parser.feed(html)
    data: dict[str, str | list[str]] = {}
    for name, value in parser.fields:
        if name in data:
            previous = data[name]
            data[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            data[name] = value
    if not parser.fields:
        raise ValueError(f"no form {form_id or action or '(posting)'} with fields on the page")
    return data


# --- answers --------------------------------------------------------------------------------------
def warnings_of(response) -> list[str]:
    """Warnings and errors the request queued for the next page (a redirect back)."""
    storage = getattr(response.wsgi_request, "_messages", None)
    queued = getattr(storage, "_queued_messages", [])
    return [str(message) for message in queued if message.level >= messages.WARNING]


def login_redirect(response) -> bool:
    """A redirect to the login page, directly or through the dashboard (where Django's admin
    sends someone not signed in who asks to log out, and which sends them on to log in)."""
    if response.status_code != 302:
        return False
    location = response["Location"]
    if location.startswith(reverse("admin:login")):
        return True
    user = getattr(response.wsgi_request, "user", None)
    return location == reverse("admin:index") and user is not None and not user.is_authenticated


def refusal(response, *, page_counts: bool = False) -> str | None:
    """How the response refused the request, or None when it did not.

    Refusals: a redirect to the login page (see `login_redirect`); 401 (the API asking for a
    token), 403, 404 or 405; a redirect carrying a warning or an error (the workflow buttons
    send people back to the incident saying why, a bulk action not offered answers "No action
    selected", a record the person may not see answers "does not exist"). With `page_counts`,
    the page shown again (200) counts as refused too: a bulk action that is not offered to the
    person is ignored and the list shown again, a delete page lists what keeps the record
    instead of deleting it."""
    status = response.status_code
    if login_redirect(response):
        return "redirect to login"
    if status in (401, 403, 404, 405):
        return str(status)
    if 300 <= status < 400 and (said := warnings_of(response)):
        return f"{status} back, saying: {said[0]}"
    if page_counts and status == 200:
        return "the page shown again"
    return None


def form_errors(response) -> str:
    """What the form on a page shown again says is wrong, if anything."""
    context = getattr(response, "context", None)
    if not context:
        return ""
    errors = []
    for name in ("adminform", "form", "confirm_form"):
        form = context.get(name)
        form = getattr(form, "form", form)
        if getattr(form, "errors", None):
            errors.append(form.errors.as_text())
    for inline in context.get("inline_admin_formsets") or []:
        formset = inline.formset
        if not formset.is_valid():
            errors.append(f"{formset.prefix}: {formset.errors} {formset.non_form_errors()}")
    return "; ".join(errors)


def describe(response) -> str:
    status = response.status_code
    if 300 <= status < 400:
        said = warnings_of(response)
        return f"{status} → {response['Location']}" + (f" ({said[0]})" if said else "")
    errors = form_errors(response)
    return f"{status} (form errors: {errors})" if errors else str(status)
