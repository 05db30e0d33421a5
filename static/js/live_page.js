// Pages that change while someone looks at them (an incident's, a device's). When the server
// says something changed, the page fetches itself again and swaps, without a reload, the parts
// marked data-live="…", the header's action buttons and the form's read-only values. Nothing
// the person is typing in is touched: those parts hold no form fields, and a part that holds
// the focus waits for the next refresh.
(function () {
  "use strict";

  let running = null;
  let again = false;

  function imported(nodes) {
    return Array.from(nodes, (node) => document.importNode(node, true));
  }

  function typingIn(element) {
    const active = document.activeElement;
    return Boolean(active && active !== document.body && element.contains(active) &&
      active.matches("input, textarea, select, [contenteditable]"));
  }

  // A part folded open or shut by the reader (a <details> with an id) stays as they left it.
  function keepFolds(old, fresh) {
    for (const fold of [old, ...old.querySelectorAll("details[id]")]) {
      if (!fold.matches("details[id]")) continue;
      const twin = fresh.id === fold.id ? fresh : fresh.querySelector(`details[id="${CSS.escape(fold.id)}"]`);
      if (twin) twin.open = fold.open;
    }
  }

  function swap(doc) {
    for (const old of document.querySelectorAll("[data-live]")) {
      const fresh = doc.querySelector(`[data-live="${CSS.escape(old.dataset.live)}"]`);
      if (fresh) keepFolds(old, fresh);
      if (fresh && !typingIn(old) && old.innerHTML !== fresh.innerHTML) {
        old.replaceWith(document.importNode(fresh, true));
      }
    }
    // Unfold's header buttons (the detail actions): the list inside its Alpine component.
    const actions = '[x-data*="showActions"] > ul';
    const oldActions = document.querySelector(actions);
    const newActions = doc.querySelector(actions);
    if (oldActions && newActions && oldActions.innerHTML !== newActions.innerHTML) {
      oldActions.replaceChildren(...imported(newActions.childNodes));
    }
    // The change form's read-only values (stage, step, assignee…), in the same order.
    const values = "#content-main form .readonly";
    const olds = document.querySelectorAll(values);
    const news = doc.querySelectorAll(values);
    if (olds.length === news.length) {
      olds.forEach((old, index) => {
        if (old.innerHTML !== news[index].innerHTML) {
          old.replaceChildren(...imported(news[index].childNodes));
        }
      });
    }
    document.dispatchEvent(new CustomEvent("adt:refreshed", { detail: { doc } }));
  }

  async function load() {
    const response = await fetch(window.location.pathname + window.location.search, {
      credentials: "same-origin",
      cache: "no-store",
      // Asked for its live parts: a workflow form whose action is no longer possible answers
      // with the page saying why instead of leading back to the incident.
      headers: { Accept: "text/html", "X-Live-Refresh": "1" },
    });
    if (!response.ok || response.redirected) return;
    swap(new DOMParser().parseFromString(await response.text(), "text/html"));
  }

  // Several events at once make one request; one arriving meanwhile makes one more after it.
  function refresh() {
    if (running) {
      again = true;
      return running;
    }
    running = load()
      .catch(() => { /* offline: the next event or reconnect refreshes */ })
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          refresh();
        }
      });
    return running;
  }

  // A socket the server closes because its person may no longer have it sends the reason
  // first (messaging.consumers: deactivated, or no longer allowed to see it) and closes with
  // CLOSE_REFUSED: the page says why, and does not knock again.
  const CLOSE_REFUSED = 4403;
  const REFUSALS = ["account_inactive", "access_lost"];

  function showRefused(where, message) {
    const notice = document.createElement("p");
    notice.className = "adt-warning mb-3";
    notice.setAttribute("role", "alert");
    notice.dataset.testid = "live-refused";
    notice.textContent = message;
    where.prepend(notice);
  }

  // A page without a chat (a device's) listens on its own socket: events only.
  function listen(source) {
    const path = source.dataset.liveSocket;
    const url = `${window.location.protocol === "https:" ? "wss" : "ws"}://${window.location.host}${path}`;
    let attempt = 0;
    let opened = false;
    let refused = null;
    function connect() {
      const socket = new WebSocket(url);
      socket.onopen = () => {
        if (opened) refresh(); // something may have moved while we were away
        opened = true;
        attempt = 0;
      };
      socket.onmessage = (event) => {
        let frame;
        try { frame = JSON.parse(event.data); } catch (error) { return; }
        if (frame.type === "event") refresh();
        else if (frame.type === "error" && REFUSALS.includes(frame.code)) refused = frame.message || frame.code;
      };
      socket.onclose = (event) => {
        if (event.code === CLOSE_REFUSED && refused) {
          showRefused(source, refused);
          return;
        }
        const delay = Math.min(15000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
        attempt += 1;
        setTimeout(connect, delay);
      };
    }
    connect();
  }

  window.adtLive = { refresh };
  const source = document.querySelector("[data-live-socket]");
  if (source) listen(source);
})();
