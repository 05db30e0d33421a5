// Scan station: a barcode scanner types a code and presses Enter. Every scan goes to the server,
// which keeps the state; this script only shows it, keeps the focus and beeps.
// A move is recorded on the third scan, or on Enter (or the printed "Move now" code) with two
// things scanned; never by waiting. A countdown would record the move of a clerk who scanned a
// device and a location and is reaching for the badge: the holder they meant would be lost.
(function () {
  const root = document.querySelector(".adt-scan");
  if (!root) return;
  const api = root.dataset.api;
  const input = document.getElementById("scan-input");
  const reason = document.getElementById("scan-reason");
  const banner = document.getElementById("scan-banner");
  const deviceBox = document.getElementById("scan-device");
  const moves = document.getElementById("scan-moves");
  const texts = JSON.parse(document.getElementById("scan-texts").textContent);
  const csrf = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="))?.split("=")[1] || "";
  let audio = null;

  function beep(ok) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = ok ? 1046 : 220;
      osc.type = ok ? "sine" : "square";
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + (ok ? 0.15 : 0.45));
    } catch (e) { /* no audio device: the banner still says it */ }
  }

  function render(reply) {
    banner.dataset.level = reply.level;
    banner.textContent = reply.message;
    const kept = reply.kept || {};
    for (const slot of ["device", "employee", "location"]) {
      const el = root.querySelector(`[data-slot=${slot}] strong`);
      el.textContent = reply.pending[slot] || texts.none;
      el.parentElement.classList.toggle("adt-filled", Boolean(reply.pending[slot]));
      // What the move will leave as it is, before it is recorded.
      const keptEl = root.querySelector(`[data-slot=${slot}] .adt-scan-kept`);
      keptEl.hidden = !kept[slot];
      keptEl.textContent = kept[slot] ? `${texts.kept} ${kept[slot]}` : "";
      el.parentElement.classList.toggle("adt-kept", Boolean(kept[slot]));
    }
    if (reply.device) {
      deviceBox.hidden = false;
      deviceBox.replaceChildren();
      const lines = [
        [texts.device, reply.device.serial],
        [texts.where, reply.device.where],
        [texts.incident, reply.device.incident],
        ["", reply.device.gate],
      ];
      for (const [label, value] of lines) {
        if (!value) continue;
        const row = document.createElement("div");
        if (label) { const b = document.createElement("strong"); b.textContent = label + " "; row.append(b); }
        row.append(value);
        if (!label) row.className = "adt-scan-gate";
        deviceBox.append(row);
      }
    } else {
      deviceBox.hidden = true;
    }
    moves.replaceChildren(...reply.moves.map((move) => {
      const li = document.createElement("li");
      const text = `${move.at} · ${move.serial}: ${move.from} → ${move.to}`;
      if (move.undone) {
        // Undone moves stay in the list, struck through, so the session tells what happened.
        li.className = "adt-scan-undone";
        const del = document.createElement("del");
        del.textContent = text;
        li.append(del, ` (${texts.undone})`);
      } else {
        li.textContent = text;
      }
      return li;
    }));
    // The workflow asks a reason before this move: the reason field says so and takes the focus.
    reason.closest(".adt-scan-reason").classList.toggle("adt-needed", reply.level === "reason");
    reason.required = reply.level === "reason";
    if (reply.level === "moved") reason.value = "";
    if (reply.level === "moved" || reply.level === "undone") beep(true);
    if (reply.level === "error" || reply.level === "reason") beep(false);
  }

  // A scanner types faster than the server answers: scans go out one after the other, each
  // after the previous answer, so none overwrites another's state.
  let queue = Promise.resolve();
  function send(payload) {
    queue = queue.then(() => post(payload)).catch(() => {
      banner.dataset.level = "error";
      banner.textContent = texts.offline;
      beep(false);
    });
    return queue;
  }

  async function post(payload) {
    const response = await fetch(api, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(payload),
      credentials: "same-origin",
    });
    const reply = await response.json();
    render(reply);
    if (reply.level === "reason") reason.focus(); else input.focus();
  }

  document.getElementById("scan-form").addEventListener("submit", (event) => event.preventDefault());
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      const code = input.value.trim();
      input.value = "";
      send(code ? { op: "scan", code, reason: reason.value } : { op: "commit", reason: reason.value });
    } else if (event.key === "Escape") {
      input.value = "";
      send({ op: "clear" });
    }
  });
  // Ctrl+Z (⌘Z) undoes the last move, wherever the focus is except in the reason being typed,
  // where it undoes typing as usual.
  document.addEventListener("keydown", (event) => {
    if (event.key.toLowerCase() !== "z" || !(event.ctrlKey || event.metaKey) || event.shiftKey) return;
    if (event.target === reason) return;
    event.preventDefault();
    input.value = "";
    send({ op: "undo" });
  });
  reason.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); send({ op: "commit", reason: reason.value }); }
  });
  root.querySelectorAll(".adt-scan-chip").forEach((chip) => chip.addEventListener("click", () => {
    reason.value = chip.dataset.reason; input.focus();
  }));
  document.getElementById("scan-commit").addEventListener("click", () => send({ op: "commit", reason: reason.value }));
  document.getElementById("scan-clear").addEventListener("click", () => send({ op: "clear" }));
  document.getElementById("scan-undo").addEventListener("click", () => send({ op: "undo" }));
  // The input keeps the focus, except while the reason is being typed.
  document.addEventListener("click", (event) => {
    if (!event.target.closest("#scan-reason, a, button, input")) input.focus();
  });
  input.addEventListener("blur", () => setTimeout(() => {
    if (document.activeElement !== reason) input.focus();
  }, 200));

  // Phones: read QR codes with the camera. Browsers without a BarcodeDetector of their own (iOS
  // Safari, Firefox) get the vendored polyfill (ZXing in WebAssembly), loaded only then and
  // only when the camera is opened, its .wasm served by the product (static/vendor/).
  const cameraButton = document.getElementById("scan-camera");
  const video = document.getElementById("scan-video");

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`${src} did not load`));
      document.head.append(script);
    });
  }

  let detectorReady = null;
  function barcodeDetector() {
    detectorReady = detectorReady || (async () => {
      if (!("BarcodeDetector" in window)) {
        await loadScript(root.dataset.barcodePolyfill);
        const wasm = root.dataset.barcodeWasm;
        window.BarcodeDetectionAPI.prepareZXingModule({
          overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasm : prefix + path) },
        });
      }
      return new window.BarcodeDetector({ formats: ["qr_code", "code_128"] });
    })();
    detectorReady.catch(() => { detectorReady = null; });
    return detectorReady;
  }

  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    cameraButton.hidden = false;
    cameraButton.addEventListener("click", async () => {
      let detector;
      try {
        // The camera first, while the tap still counts as one (Safari asks for it then).
        const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        video.srcObject = stream; video.hidden = false; await video.play();
        detector = await barcodeDetector();
      } catch (error) {
        banner.dataset.level = "error";
        banner.textContent = texts.camera;
        beep(false);
        return;
      }
      root.dataset.camera = "on";
      let last = "";
      const tick = async () => {
        if (video.hidden) return;
        const codes = await detector.detect(video).catch(() => []);
        if (codes.length && codes[0].rawValue !== last) { last = codes[0].rawValue; await send({ op: "scan", code: last, reason: reason.value }); }
        setTimeout(tick, 300);
      };
      tick();
    });
  }

  render(JSON.parse(document.getElementById("scan-initial").textContent));
  // The page is hidden until Alpine has started; take the focus once it shows.
  const grabFocus = () => { input.focus(); if (document.activeElement !== input) setTimeout(grabFocus, 50); };
  window.addEventListener("load", grabFocus);
  grabFocus();
})();
