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

  // The reason frame a socket closed by the server sends before closing with CLOSE_REFUSED.
  const CLOSE_REFUSED = 4403;
  const REFUSALS = ["account_inactive", "access_lost"];
  let refused = null;
  let stopped = false;

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
      let frame;
      try { frame = JSON.parse(message.data); } catch (error) { return; }
      if (frame.type === "event" && frame.event === "incidents.changed") reloadWhenFree();
      else if (frame.type === "error" && REFUSALS.includes(frame.code)) refused = frame.message || frame.code;
    };
    socket.onclose = (event) => {
      connected = false;
      if (badge) badge.hidden = true;
      // Closed because its reader may no longer have it (deactivated, the capability taken
      // away): say why and knock no more, nor reload every five minutes.
      if (event.code === CLOSE_REFUSED && refused) {
        stopped = true;
        const notice = document.createElement("p");
        notice.className = "adt-warning mb-4";
        notice.setAttribute("role", "alert");
        notice.dataset.testid = "dashboard-refused";
        notice.textContent = refused;
        root.prepend(notice);
        return;
      }
      const delay = Math.min(15000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      setTimeout(connect, delay);
    };
  }
  connect();

  setInterval(() => {
    if (!connected && !stopped) reloadWhenFree();
  }, 300000);
})();
