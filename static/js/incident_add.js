// The new-incident form: as soon as a device is picked, say whether it already has an open
// incident, with a link to it (the server refuses a second one anyway).
(function () {
  "use strict";

  function hintFor(select) {
    let hint = document.getElementById("device-open-incident");
    if (!hint) {
      hint = document.createElement("div");
      hint.id = "device-open-incident";
      hint.setAttribute("role", "status");
      hint.setAttribute("aria-live", "polite");
      hint.dataset.testid = "device-open-incident";
      hint.className = "adt-warning";
      hint.style.marginTop = ".5rem";
      hint.hidden = true;
      const row = select.closest(".field-device") || select.parentElement;
      row.appendChild(hint);
    }
    return hint;
  }

  function check(select) {
    const hint = hintFor(select);
    const device = select.value;
    hint.hidden = true;
    hint.replaceChildren();
    if (!device) return;
    const url = `${select.dataset.openIncidentUrl}?device=${encodeURIComponent(device)}`;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : { incident: null }))
      .then((data) => {
        if (select.value !== device || !data.incident) return;
        const text = document.createElement("span");
        text.textContent = `${data.incident.message} `;
        const link = document.createElement("a");
        link.href = data.incident.url;
        link.textContent = data.incident.link;
        link.dataset.testid = "device-open-incident-link";
        link.style.textDecoration = "underline";
        link.style.fontWeight = "600";
        hint.replaceChildren(text, link);
        hint.hidden = false;
      })
      .catch(() => {});
  }

  function start() {
    const select = document.querySelector("select[data-open-incident-url]");
    if (!select) return;
    // The device field is a select2 autocomplete: it tells of a choice through jQuery's events.
    if (window.django && window.django.jQuery) {
      window.django.jQuery(select).on("change", () => check(select));
    } else {
      select.addEventListener("change", () => check(select));
    }
    if (select.value) check(select);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
