// The dashboard counts again when incidents are opened or move: the server says so on
// ws/dashboard/ (never which incident), and the page reloads itself a few seconds later, at
// most twice a minute, while it is in view and nobody is choosing a filter. Without the socket
// it reloads every five minutes.
(function () {
  "use strict";

  const root = document.querySelector("[data-dashboard-socket]");
  if (!root) return;
  const badge = document.querySelector("[data-testid=dashboard-live]");
  const loadedAt = Date.now();
  const GATHER = 3000; // events of one burst make one reload
  const SPACING = 30000; // at most one reload every 30 seconds
  let pending = false;
  let connected = false;

  function busy() {
    const active = document.activeElement;
    return Boolean(active && active.closest("[data-testid=dashboard-filters]"));
  }

  function reloadWhenFree() {
    if (document.visibilityState !== "visible" || busy()) {
      pending = true;
      return;
    }
    const wait = Math.max(GATHER, loadedAt + SPACING - Date.now());
    setTimeout(() => {
      if (document.visibilityState === "visible" && !busy()) location.reload();
      else pending = true;
    }, wait);
  }

  document.addEventListener("visibilitychange", () => {
    if (pending && document.visibilityState === "visible") {
      pending = false;
      reloadWhenFree();
    }
  });
  document.addEventListener("focusout", () => {
    if (pending) {
      pending = false;
      reloadWhenFree();
    }
  });

  let attempt = 0;
  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${window.location.host}${root.dataset.dashboardSocket}`);
    socket.onopen = () => {
      connected = true;
      attempt = 0;
      if (badge) badge.hidden = false;
    };
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === "event" && frame.event === "incidents.changed") reloadWhenFree();
    };
    socket.onclose = () => {
      connected = false;
      if (badge) badge.hidden = true;
      const delay = Math.min(15000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      setTimeout(connect, delay);
    };
  }
  connect();

  setInterval(() => {
    if (!connected) reloadWhenFree();
  }, 300000);
})();
