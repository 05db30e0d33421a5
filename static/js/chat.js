// The chat of an incident or a problem group (DESIGN.md, Chat; the frames are listed in
// messaging/broadcast.py). One socket per page. The database is the source of truth: after every
// (re)connect the widget asks for everything after the last message it shows, and it shows each
// message once, in id order. Every text from people reaches the page through textContent, never
// as HTML; every word of the widget itself comes translated from the server.
(function () {
  "use strict";

  const root = document.querySelector(".adt-chat");
  if (!root) return;
  const config = JSON.parse(document.getElementById("chat-config").textContent);
  const texts = JSON.parse(document.getElementById("chat-texts").textContent);
  const labels = JSON.parse(document.getElementById("chat-labels").textContent);

  const log = root.querySelector(".adt-chat-log");
  const list = root.querySelector(".adt-chat-messages");
  const empty = root.querySelector(".adt-chat-empty");
  const olderButton = root.querySelector(".adt-chat-older");
  const status = root.querySelector(".adt-chat-status");
  const form = root.querySelector(".adt-chat-compose");
  const input = form.querySelector("textarea");
  const picker = form.querySelector("input[type=file]");
  const stagedList = form.querySelector(".adt-chat-staged");
  const suggest = form.querySelector(".adt-chat-suggest");
  const replying = form.querySelector(".adt-chat-replying");
  const membersList = root.querySelector(".adt-chat-members ul");
  const dropZone = root.querySelector(".adt-chat-drop");

  const RECONNECT_BASE_MS = 1000;
  const RECONNECT_MAX_MS = 15000;
  const READ_DELAY_MS = 800;
  const SCROLL_SLACK_PX = 80;

  const shown = new Map(); // id → {frame, node}
  const pending = new Map(); // client_id → {client_id, text, reply_to, mentions, files, node, state}
  const names = new Map(); // person id → name (members, authors, people found)
  const evidence = new Set(config.evidence.map((e) => evidenceKey(e.message, e.attachment)));
  let lastId = null;
  let oldestId = null;
  let hasOlder = false;
  let loadingOlder = null;
  let initialLoad = null;
  let socket = null;
  let everOpened = false;
  let attempt = 0;
  let reconnectTimer = null;
  let countdownTimer = null;
  let resumeAsked = null;
  let replyTo = null;
  let picks = [];
  let staged = [];
  let readSent = 0;
  let readTimer = null;
  let following = true; // the newest message is in view

  // --- small helpers -----------------------------------------------------------------------------
  function format(template, params) {
    return String(template)
      .replace(/%\((\w+)\)s/g, (_, key) => (params[key] ?? "") + "")
      .replace(/%%/g, "%");
  }

  function node(tag, className, text) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined && text !== null) element.textContent = text;
    return element;
  }

  function button(text, className, onClick) {
    const element = node("button", className || "adt-chat-link", text);
    element.type = "button";
    element.addEventListener("click", onClick);
    return element;
  }

  function perMessage(url, id) {
    return url.replace("{id}", String(id));
  }

  function evidenceKey(message, attachment) {
    return `${message}:${attachment || ""}`;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // Pages served over plain http on a LAN have no randomUUID; getRandomValues works anywhere.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function csrfToken() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    if (cookie) return decodeURIComponent(cookie.split("=")[1]);
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  async function post(url, fields) {
    const body = new FormData();
    for (const [key, value] of Object.entries(fields)) body.append(key, value);
    const response = await fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
    });
    let data = {};
    try { data = await response.json(); } catch (error) { /* not JSON: a proxy's error page */ }
    if (!response.ok) throw new Error(data.message || texts.failed);
    return data;
  }

  // Times as the rest of the page writes them: the language's Django format (config.dates, from
  // config/formats), in the server's time zone, so a chat line and its timeline entry agree.
  const clock = (() => {
    const options = {
      year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric", hourCycle: "h23",
    };
    try { return new Intl.DateTimeFormat("en-US", { ...options, timeZone: config.dates.time_zone }); }
    catch (error) { return new Intl.DateTimeFormat("en-US", options); }
  })();

  function dateParts(date) {
    const parts = {};
    for (const part of clock.formatToParts(date)) parts[part.type] = Number(part.value);
    return parts;
  }

  function formatDate(date, pattern) {
    const p = dateParts(date);
    const pad = (n) => String(n).padStart(2, "0");
    const letters = {
      Y: () => String(p.year), y: () => pad(p.year % 100),
      m: () => pad(p.month), n: () => String(p.month), M: () => config.dates.months[p.month - 1],
      d: () => pad(p.day), j: () => String(p.day),
      H: () => pad(p.hour % 24), G: () => String(p.hour % 24), i: () => pad(p.minute), s: () => pad(p.second),
    };
    let out = "";
    for (let i = 0; i < pattern.length; i += 1) {
      const c = pattern[i];
      if (c === "\\") { i += 1; out += pattern[i] || ""; }
      else out += letters[c] ? letters[c]() : c;
    }
    return out;
  }

  function when(iso) {
    const date = new Date(iso);
    const day = (d) => { const p = dateParts(d); return `${p.year}-${p.month}-${p.day}`; };
    return formatDate(date, day(date) === day(new Date()) ? config.dates.time : config.dates.datetime);
  }

  // The factory's clock, whatever the reader's computer says; its zone is named where the two
  // differ, so that nobody reads the factory's 09:00 as their own.
  const readerZone = (() => {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (error) { return ""; }
  })();
  const zoneNote = config.dates.time_zone && readerZone !== config.dates.time_zone
    ? ` (${config.dates.time_zone})` : "";

  function timeElement(iso) {
    const element = node("time", "adt-msg-time", when(iso));
    element.dateTime = iso;
    element.title = formatDate(new Date(iso), config.dates.datetime) + zoneNote;
    return element;
  }

  function sizeText(bytes) {
    const units = ["B", "KB", "MB", "GB"];
    let size = bytes;
    let unit = 0;
    while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
    return `${size < 10 && unit ? size.toFixed(1) : Math.round(size)} ${units[unit]}`;
  }

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < SCROLL_SLACK_PX;
  }

  function toBottom() {
    log.scrollTop = log.scrollHeight;
    following = true;
  }

  function learn(person) {
    if (person && person.id) names.set(person.id, person.name);
  }

  // --- the text of a message: line breaks (CSS), links and mentions, never HTML --------------------
  const URL_PATTERN = /https?:\/\/[^\s<>"\u0080-\uffff]+/g;

  function textNodes(text, mentioned) {
    const fragment = document.createDocumentFragment();
    const mentionNames = mentioned.map((id) => names.get(id)).filter(Boolean)
      .sort((a, b) => b.length - a.length)
      .map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const parts = [URL_PATTERN.source, "@\\[(\\d+)\\]"];
    if (mentionNames.length) parts.push(`@(?:${mentionNames.join("|")})`);
    const pattern = new RegExp(parts.join("|"), "g");
    let at = 0;
    for (const match of text.matchAll(pattern)) {
      let token = match[0];
      if (token.startsWith("http")) {
        // Punctuation that ends a sentence is not part of the address.
        const trimmed = token.replace(/[.,;:!?)\]}'"]+$/, "");
        fragment.append(text.slice(at, match.index));
        let url = null;
        try { url = new URL(trimmed); } catch (error) { url = null; }
        if (url && (url.protocol === "http:" || url.protocol === "https:")) {
          const link = node("a", "adt-msg-link", trimmed);
          link.href = url.href;
          link.target = "_blank";
          link.rel = "noopener noreferrer nofollow";
          fragment.append(link);
        } else {
          fragment.append(trimmed);
        }
        at = match.index + trimmed.length;
        continue;
      }
      fragment.append(text.slice(at, match.index));
      if (match[1]) {
        const id = Number(match[1]);
        token = names.has(id) ? `@${names.get(id)}` : token;
      }
      fragment.append(node("span", "adt-msg-mention", token));
      at = match.index + match[0].length;
    }
    fragment.append(text.slice(at));
    return fragment;
  }

  // --- system lines: codes and parameters, in the reader's language --------------------------------
  function systemText(frame) {
    const event = frame.event || {};
    const actor = frame.author ? frame.author.name : labels.system;
    const stage = (value) => labels.stages[value] || value || labels.nobody;
    if (event.code === "workflow") {
      const template = labels.workflow[event.action] || labels.workflow_other;
      const comment = event.verdict
        ? format(labels.verdict_comment, { verdict: labels.verdicts[event.verdict] || event.verdict, comment: event.comment || "" })
        : event.comment || "";
      const lines = [format(template, {
        actor,
        action: labels.actions[event.action] || event.action,
        stage: stage(event.from_stage),
        from_stage: stage(event.from_stage),
        to_stage: stage(event.to_stage),
        assignee: event.assignee || labels.nobody,
        comment,
      })];
      if (["reject", "cancel"].includes(event.action) && event.comment) {
        lines.push(format(labels.comment, { comment: event.comment }));
      }
      if (event.files && event.files.length) lines.push(format(labels.files, { files: event.files.join(", ") }));
      return lines.join("\n");
    }
    if (event.code === "device.moved") {
      const lines = [];
      if (event.from_location !== event.to_location) {
        lines.push(format(labels.moved, {
          actor, serial: event.serial,
          from: event.from_location || labels.nobody, to: event.to_location || labels.nobody,
        }));
      }
      if (event.from_holder !== event.to_holder) {
        lines.push(format(labels.handed_over, {
          serial: event.serial,
          from: event.from_holder || labels.nobody, to: event.to_holder || labels.nobody,
        }));
      }
      const reason = reasonText(event.reason);
      if (reason) lines.push(format(labels.move_reason, { reason }));
      return lines.join("\n");
    }
    return labels.actions[event.action] || event.code || "";
  }

  // A trail reason: a person's words as written, or a code with parameters (locations.reasons)
  // put in words here; a stage parameter reads as the stage, a nested reason as that reason.
  function reasonText(reason) {
    if (!reason) return "";
    if (typeof reason === "string") return reason;
    const params = {};
    let any = false;
    for (const [key, value] of Object.entries(reason)) {
      if (key === "code") continue;
      any = true;
      if (key === "stage") params[key] = labels.stages[value] || value;
      else if (value && typeof value === "object") params[key] = reasonText(value);
      else params[key] = value;
    }
    if (!any && labels.reasons.bare[reason.code]) return labels.reasons.bare[reason.code];
    return format(labels.reasons.text[reason.code] || reason.code || "", params);
  }

  function departmentName(person) {
    if (!person) return "";
    return labels.departments[person.department_id] || person.department || "";
  }

  // --- one message -----------------------------------------------------------------------------
  function isMine(frame) {
    return Boolean(frame.author && frame.author.id === config.me.id);
  }

  function canChange(frame) {
    // The server says until when (editable_until); it refuses a change after it all the same.
    return frame.kind === "text" && isMine(frame) && Boolean(frame.editable_until) &&
      Date.now() < Date.parse(frame.editable_until);
  }

  function canMark(frame, attachment) {
    return config.kind === "incident" && config.can_mark_evidence && frame.kind === "text" &&
      !frame.deleted_at && !evidence.has(evidenceKey(frame.id, attachment));
  }

  function evidenceBadge() {
    return node("span", "adt-badge adt-msg-evidence", texts.evidence);
  }

  function render(frame) {
    learn(frame.author);
    const item = node("li", "adt-msg");
    item.id = `message-${frame.id}`;
    item.dataset.id = frame.id;
    item.dataset.testid = "chat-message";
    if (frame.kind === "system") {
      item.classList.add("adt-msg-system");
      item.append(node("span", "adt-msg-text", systemText(frame)), timeElement(frame.created_at));
      return item;
    }
    if (isMine(frame)) item.classList.add("adt-msg-mine");
    const head = node("div", "adt-msg-head");
    head.append(node("strong", "adt-msg-author", frame.author ? frame.author.name : labels.system));
    if (departmentName(frame.author)) head.append(node("span", "adt-msg-department", departmentName(frame.author)));
    head.append(timeElement(frame.created_at));
    if (frame.edited_at && !frame.deleted_at) {
      head.append(button(`(${texts.edited})`, "adt-chat-link adt-msg-edited", () => toggleRevisions(frame, item)));
    }
    if (evidence.has(evidenceKey(frame.id, ""))) head.append(evidenceBadge());
    item.append(head);

    if (frame.reply_to) {
      const quote = node("blockquote", "adt-msg-quote");
      quote.title = texts.jump;
      quote.append(node("strong", null, frame.reply_to.author ? frame.reply_to.author.name : labels.system), " ");
      quote.append(node("span", null, frame.reply_to.text || "…"));
      quote.addEventListener("click", () => reveal(frame.reply_to.id));
      item.append(quote);
    }

    if (frame.deleted_at) {
      item.classList.add("adt-msg-deleted");
      const line = node("div", "adt-msg-text", format(texts.deleted, {
        name: frame.author ? frame.author.name : labels.system, time: when(frame.deleted_at),
      }));
      line.append(" ", button(texts.earlier_versions, null, () => toggleRevisions(frame, item)));
      item.append(line);
      return item;
    }

    if (frame.text) {
      const body = node("div", "adt-msg-text");
      body.append(textNodes(frame.text, frame.mentions || []));
      item.append(body);
    }
    if (frame.attachments && frame.attachments.length) item.append(files(frame));

    const actions = node("div", "adt-msg-actions");
    actions.append(button(texts.reply, null, () => startReply(frame)));
    if (canChange(frame)) {
      const edit = button(texts.edit, null, () => startEdit(frame, item));
      edit.dataset.editable = "";
      const remove = button(texts.delete, null, () => removeMessage(frame));
      remove.dataset.editable = "";
      actions.append(edit, remove);
    }
    if (frame.text && canMark(frame, "")) {
      actions.append(button(texts.mark_evidence, "adt-chat-link adt-msg-mark", () => mark(frame, "")));
    }
    item.append(actions);
    return item;
  }

  function files(frame) {
    const box = node("ul", "adt-msg-files");
    for (const attachment of frame.attachments) {
      const entry = node("li", "adt-msg-file");
      const link = node("a");
      link.href = attachment.url;
      link.target = "_blank";
      link.rel = "noopener";
      // A picture shows its thumbnail and opens its preview, both made once on upload; the
      // original is a download. Anything else (SVG or a "png" that is none) is a file chip.
      const picture = attachment.is_image && attachment.thumbnail_url;
      if (picture) {
        if (attachment.preview_url) link.href = attachment.preview_url;
        const image = node("img", "adt-msg-thumb");
        image.src = attachment.thumbnail_url;
        image.alt = attachment.name;
        image.loading = "lazy";
        image.dataset.testid = "chat-thumbnail";
        image.addEventListener("load", () => { if (following) toBottom(); }, { once: true });
        link.append(image);
      } else {
        link.classList.add("adt-msg-download");
        link.download = attachment.name;
        link.append(node("span", "material-symbols-outlined", "attach_file"), node("span", null, attachment.name),
          node("span", "adt-msg-size", sizeText(attachment.size)));
      }
      entry.append(link);
      if (picture) {
        const original = node("a", "adt-chat-link adt-msg-size", format(texts.original, { size: sizeText(attachment.size) }));
        original.href = attachment.url;
        original.download = attachment.name;
        original.dataset.testid = "chat-original";
        entry.append(original);
      }
      if (attachment.is_image) {
        if (evidence.has(evidenceKey(frame.id, attachment.id))) {
          entry.append(evidenceBadge());
        } else if (canMark(frame, attachment.id)) {
          entry.append(button(texts.mark_evidence, "adt-chat-link adt-msg-mark", () => mark(frame, attachment.id)));
        }
      }
      box.append(entry);
    }
    return box;
  }

  async function toggleRevisions(frame, item) {
    const open = item.querySelector(".adt-msg-revisions");
    if (open) { open.remove(); return; }
    try {
      const data = await (await fetch(perMessage(config.urls.revisions, frame.id), { credentials: "same-origin" })).json();
      const box = node("ol", "adt-msg-revisions");
      box.dataset.testid = "chat-revisions";
      for (const revision of data.revisions) {
        const entry = node("li");
        const template = revision.kind === "delete" ? texts.version_delete : texts.version_edit;
        entry.append(node("div", "adt-msg-department", format(template, {
          name: revision.by ? revision.by.name : labels.system, time: when(revision.at),
        })));
        const body = node("div", "adt-msg-text");
        body.append(textNodes(revision.text, []));
        entry.append(body);
        box.append(entry);
      }
      item.append(box);
    } catch (error) {
      notice(texts.failed);
    }
  }

  // --- the list ----------------------------------------------------------------------------------
  function firstPending() {
    return list.querySelector(".adt-msg-pending");
  }

  function place(frame) {
    const item = render(frame);
    if (lastId === null || frame.id > lastId) {
      list.insertBefore(item, firstPending());
    } else {
      const later = Array.from(list.children).find((child) => !child.classList.contains("adt-msg-pending") && Number(child.dataset.id) > frame.id);
      list.insertBefore(item, later || firstPending());
    }
    shown.set(frame.id, { frame, node: item });
    lastId = lastId === null ? frame.id : Math.max(lastId, frame.id);
    oldestId = oldestId === null ? frame.id : Math.min(oldestId, frame.id);
    empty.hidden = true;
  }

  function show(frame) {
    if (shown.has(frame.id)) return;
    const following = nearBottom();
    if (frame.client_id && pending.has(frame.client_id)) {
      pending.get(frame.client_id).node.remove();
      pending.delete(frame.client_id);
    }
    place(frame);
    if (following || isMine(frame)) toBottom();
    scheduleRead();
  }

  function replace(frame) {
    const entry = shown.get(frame.id);
    if (!entry) return;
    const item = render(frame);
    entry.node.replaceWith(item);
    shown.set(frame.id, { frame, node: item });
  }

  function rerenderAll() {
    for (const { frame } of shown.values()) replace(frame);
  }

  function reveal(id) {
    const go = () => {
      const entry = shown.get(id);
      if (!entry) return false;
      entry.node.scrollIntoView({ block: "center" });
      entry.node.classList.add("adt-msg-focus");
      setTimeout(() => entry.node.classList.remove("adt-msg-focus"), 2500);
      return true;
    };
    if (go()) return;
    // Older than what is loaded: load page after page until it is there.
    (async () => {
      for (let pages = 0; pages < 40 && !shown.has(id) && hasOlder && oldestId !== null && id < oldestId; pages += 1) {
        await loadOlder();
      }
      go();
    })();
  }

  // --- history over HTTP (a cursor, never an offset) -------------------------------------------
  async function fetchPage(before) {
    const url = new URL(config.urls.messages, window.location.href);
    if (before) url.searchParams.set("before", before);
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  }

  async function loadInitial() {
    const data = await fetchPage(null);
    hasOlder = data.more;
    for (const frame of data.messages) place(frame);
    olderButton.hidden = !hasOlder;
    empty.hidden = shown.size > 0;
    toBottom();
    scheduleRead();
  }

  function loadOlder() {
    if (loadingOlder || !hasOlder || oldestId === null) return loadingOlder || Promise.resolve();
    loadingOlder = (async () => {
      const height = log.scrollHeight;
      const top = log.scrollTop;
      try {
        const data = await fetchPage(oldestId);
        for (const frame of data.messages) if (!shown.has(frame.id)) place(frame);
        hasOlder = data.more;
        olderButton.hidden = !hasOlder;
        log.scrollTop = top + (log.scrollHeight - height);
      } catch (error) {
        notice(texts.failed);
      } finally {
        loadingOlder = null;
      }
    })();
    return loadingOlder;
  }

  // Pictures load after their message is placed: whoever was reading the newest keeps seeing it.
  // Only the reader scrolling up stops following: a scroll event that comes after a picture
  // grew the log (the scroll position unchanged, the bottom now further away) does not.
  let lastScrollTop = log.scrollTop;
  log.addEventListener("scroll", () => {
    following = log.scrollTop < lastScrollTop ? nearBottom() : following || nearBottom();
    lastScrollTop = log.scrollTop;
    if (log.scrollTop < 40) loadOlder();
  });
  if (window.ResizeObserver) new ResizeObserver(() => { if (following) toBottom(); }).observe(list);
  olderButton.addEventListener("click", () => loadOlder());

  // --- the socket: subscribe, then ask for everything after the last id -----------------------------
  function socketUrl() {
    return `${window.location.protocol === "https:" ? "wss" : "ws"}://${window.location.host}${config.socket}`;
  }

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
    root.dataset.state = state;
  }

  function notice(text) {
    const line = node("p", "adt-chat-notice", text);
    line.setAttribute("role", "alert");
    form.prepend(line);
    setTimeout(() => line.remove(), 6000);
  }

  function sendFrame(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function resume() {
    resumeAsked = lastId;
    sendFrame({ type: "resume", after: lastId || 0 });
  }

  function connect() {
    clearTimeout(reconnectTimer);
    clearInterval(countdownTimer);
    if (socket) return;
    setStatus("connecting", texts.connecting);
    const ws = new WebSocket(socketUrl());
    socket = ws;
    ws.onopen = () => {
      if (ws !== socket) return;
      attempt = 0;
      setStatus("online", texts.online);
      const returning = everOpened;
      everOpened = true;
      if (lastId !== null) {
        resume();
        flush();
      } else {
        initialLoad = loadInitial()
          .then(() => {
            initialLoad = null;
            if (ws === socket) { resume(); flush(); }
            const target = /^#message-(\d+)$/.exec(window.location.hash);
            if (target) reveal(Number(target[1]));
          })
          .catch(() => {
            // Without the last page there is no id to resume from: start over.
            initialLoad = null;
            ws.close();
          });
      }
      // Whatever happened to the incident while the page was offline: show it now.
      if (returning && window.adtLive) window.adtLive.refresh();
    };
    ws.onmessage = (event) => {
      if (ws !== socket) return;
      let frame;
      try { frame = JSON.parse(event.data); } catch (error) { return; }
      receive(frame);
    };
    ws.onclose = (event) => {
      if (ws !== socket) return;
      socket = null;
      for (const item of pending.values()) if (item.state === "sending" && !item.files.length) setPendingState(item, "queued");
      // Closed by the server with a reason (deactivated, no longer allowed): reconnecting cannot help.
      if (event.code === CLOSE_REFUSED && refusedReason) {
        setStatus("refused", refusedReason);
        return;
      }
      scheduleReconnect();
    };
  }

  // The reason frame a socket closed by the server sends before closing with CLOSE_REFUSED.
  const CLOSE_REFUSED = 4403;
  const REFUSALS = ["account_inactive", "access_lost"];
  let refusedReason = null;

  function scheduleReconnect() {
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt += 1;
    let left = Math.ceil(delay / 1000);
    setStatus("offline", format(texts.offline, { seconds: left }));
    countdownTimer = setInterval(() => {
      left -= 1;
      if (left > 0) setStatus("offline", format(texts.offline, { seconds: left }));
      else setStatus("offline", texts.offline_now);
    }, 1000);
    reconnectTimer = setTimeout(connect, delay);
    if (attempt >= 3) checkAccess();
  }

  // A refused socket looks like a network failure to a page: ask over HTTP whether it is one.
  async function checkAccess() {
    try {
      const response = await fetch(config.urls.messages + "?before=1", { credentials: "same-origin", redirect: "manual" });
      if (response.status === 403 || response.status === 404 || response.type === "opaqueredirect") {
        clearTimeout(reconnectTimer);
        clearInterval(countdownTimer);
        setStatus("refused", texts.signed_out);
      }
    } catch (error) { /* the server is down: keep trying */ }
  }

  function reconnectNow() {
    if (!socket && status.dataset.state === "offline") {
      attempt = 0;
      connect();
    }
  }
  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") { reconnectNow(); scheduleRead(); }
  });

  function receive(frame) {
    if (frame.type === "message") onMessage(frame);
    else if (frame.type === "event") onEvent(frame);
    else if (frame.type === "presence") renderMembers(frame.members || []);
    else if (frame.type === "error") onError(frame);
  }

  function onMessage(frame) {
    if (initialLoad) return; // the resume after the first page brings it again, in order
    if (shown.has(frame.id)) return;
    const expected = lastId;
    if (frame.id > (lastId || 0) && (frame.prev_id ?? null) !== expected) {
      // Something before it did not reach us: ask for everything after what we have.
      if (resumeAsked !== lastId) resume();
      return;
    }
    show(frame);
  }

  function onEvent(frame) {
    if (frame.event === "message.changed" && frame.message) {
      replace(frame.message);
      return;
    }
    if (frame.event === "evidence.changed") {
      evidence.add(evidenceKey(frame.message, frame.attachment));
      const entry = shown.get(frame.message);
      if (entry) replace(entry.frame);
    }
    if (window.adtLive) window.adtLive.refresh();
  }

  function onError(frame) {
    if (REFUSALS.includes(frame.code)) refusedReason = frame.message || texts.signed_out;
    const item = frame.client_id && pending.get(frame.client_id);
    if (item) {
      setPendingState(item, "failed", frame.message);
    } else {
      notice(frame.message || texts.failed);
    }
  }

  // --- members and who is online -----------------------------------------------------------------
  function renderMembers(members) {
    membersList.replaceChildren();
    for (const member of members) {
      learn(member);
      const entry = node("li", member.online ? "adt-member adt-online" : "adt-member");
      entry.dataset.testid = "chat-member";
      entry.dataset.online = member.online ? "1" : "0";
      const dot = node("span", "adt-member-dot");
      dot.title = member.online ? texts.online_member : "";
      const who = node("span", "adt-member-name", member.name);
      entry.append(dot, who);
      if (departmentName(member)) entry.append(node("span", "adt-member-department", departmentName(member)));
      membersList.append(entry);
    }
    if (!members.length) membersList.append(node("li", "adt-member", texts.no_members));
  }

  // --- what one has read -----------------------------------------------------------------------
  function scheduleRead() {
    if (document.visibilityState !== "visible" || lastId === null || lastId <= readSent) return;
    clearTimeout(readTimer);
    readTimer = setTimeout(async () => {
      const upTo = lastId;
      if (upTo <= readSent || document.visibilityState !== "visible") return;
      try {
        await post(config.urls.read, { up_to: upTo });
        readSent = Math.max(readSent, upTo);
      } catch (error) { /* offline: the next message or visit marks it */ }
    }, READ_DELAY_MS);
  }

  // --- writing ----------------------------------------------------------------------------------
  function renderPending(item) {
    const entry = node("li", "adt-msg adt-msg-mine adt-msg-pending");
    entry.dataset.testid = "chat-pending";
    const head = node("div", "adt-msg-head");
    head.append(node("strong", "adt-msg-author", config.me.name));
    entry.append(head);
    if (item.text) entry.append(node("div", "adt-msg-text", item.text));
    if (item.files.length) {
      const names = node("ul", "adt-msg-files");
      for (const file of item.files) names.append(node("li", "adt-msg-download", `${file.name} (${sizeText(file.size)})`));
      entry.append(names);
      const bar = node("progress", "adt-chat-progress");
      bar.max = 100;
      bar.value = 0;
      entry.append(bar);
    }
    entry.append(node("div", "adt-msg-state"));
    item.node = entry;
    list.append(entry);
    empty.hidden = true;
    toBottom();
  }

  function setPendingState(item, state, reason) {
    item.state = state;
    const entry = item.node;
    entry.dataset.state = state;
    const line = entry.querySelector(".adt-msg-state");
    line.replaceChildren();
    if (state === "failed") {
      line.append(node("strong", "adt-msg-failed", texts.not_sent), " ", reason || "", " ",
        button(texts.retry, null, () => { setPendingState(item, "queued"); dispatch(item); }));
    } else if (state === "queued") {
      line.textContent = texts.queued;
    } else {
      line.textContent = texts.sending;
    }
  }

  function dispatch(item) {
    if (item.files.length) {
      upload(item);
      return;
    }
    const sent = sendFrame({
      type: "send",
      client_id: item.client_id,
      text: item.text,
      reply_to: item.reply_to,
      mentions: item.mentions,
    });
    setPendingState(item, sent ? "sending" : "queued");
  }

  function flush() {
    for (const item of pending.values()) if (item.state === "queued" || item.state === "sending") dispatch(item);
  }

  function upload(item) {
    setPendingState(item, "sending");
    const body = new FormData();
    body.append("client_id", item.client_id);
    body.append("text", item.text);
    if (item.reply_to) body.append("reply_to", item.reply_to);
    for (const id of item.mentions) body.append("mentions", id);
    for (const file of item.files) body.append("files", file, file.name);
    const request = new XMLHttpRequest();
    const bar = item.node.querySelector("progress");
    request.open("POST", config.urls.send);
    request.setRequestHeader("X-CSRFToken", csrfToken());
    request.upload.onprogress = (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.round((100 * event.loaded) / event.total);
      if (bar) bar.value = percent;
      item.node.querySelector(".adt-msg-state").textContent = format(texts.uploading, { percent });
    };
    request.onload = () => {
      let data = {};
      try { data = JSON.parse(request.responseText); } catch (error) { data = {}; }
      if (request.status === 200 && data.message) {
        if (bar) bar.remove();
        const frame = data.message;
        // In order only: a message that does not follow the last one shown waits for the socket.
        if ((frame.prev_id ?? null) === lastId) show(frame);
        else item.node.querySelector(".adt-msg-state").textContent = texts.sending;
      } else {
        setPendingState(item, "failed", data.message || texts.failed);
      }
    };
    request.onerror = () => {
      if (socket) setPendingState(item, "failed", texts.failed);
      else setPendingState(item, "queued");
    };
    request.send(body);
  }

  function send() {
    const text = input.value.trim();
    if (!text && !staged.length) return;
    if (text.length > config.limits.max_chars) {
      notice(format(texts.too_long, { limit: config.limits.max_chars }));
      return;
    }
    const mentions = [...new Set(picks.filter((p) => text.includes(`@${p.name}`)).map((p) => p.id))];
    const item = {
      client_id: uuid(),
      text,
      reply_to: replyTo ? replyTo.id : null,
      mentions,
      files: staged,
      state: "queued",
    };
    pending.set(item.client_id, item);
    renderPending(item);
    input.value = "";
    picks = [];
    staged = [];
    renderStaged();
    endReply();
    closeSuggest();
    dispatch(item);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });

  // --- replies ------------------------------------------------------------------------------------
  function startReply(frame) {
    replyTo = frame;
    replying.hidden = false;
    const label = replying.querySelector("span");
    label.textContent = `${format(texts.replying_to, { name: frame.author ? frame.author.name : labels.system })}: ${(frame.text || "").slice(0, 80)}`;
    input.focus();
  }

  function endReply() {
    replyTo = null;
    replying.hidden = true;
  }
  replying.querySelector("[data-role=cancel-reply]").addEventListener("click", endReply);

  // --- editing and deleting one's own message -------------------------------------------------------
  function startEdit(frame, item) {
    const body = item.querySelector(".adt-msg-text");
    const editor = node("div", "adt-msg-editor");
    const area = node("textarea");
    area.value = frame.text;
    area.rows = Math.min(8, frame.text.split("\n").length + 1);
    area.maxLength = config.limits.max_chars;
    const save = button(texts.save, "adt-chat-button adt-primary", async () => {
      try {
        const data = await post(perMessage(config.urls.edit, frame.id), { text: area.value });
        replace(data.message);
      } catch (error) {
        notice(error.message);
      }
    });
    const cancel = button(texts.cancel, "adt-chat-button", () => replace(shown.get(frame.id).frame));
    editor.append(area, save, cancel);
    if (body) body.replaceWith(editor);
    else item.append(editor);
    area.focus();
  }

  async function removeMessage(frame) {
    if (!window.confirm(texts.confirm_delete)) return;
    try {
      const data = await post(perMessage(config.urls.delete, frame.id), {});
      replace(data.message);
    } catch (error) {
      notice(error.message);
    }
  }

  // Edit and delete are offered only within the window; hide them once it has passed.
  setInterval(() => {
    for (const { frame, node: item } of shown.values()) {
      if (!canChange(frame)) item.querySelectorAll("[data-editable]").forEach((b) => b.remove());
    }
  }, 30000);

  // --- evidence -----------------------------------------------------------------------------------
  async function mark(frame, attachment) {
    try {
      await post(perMessage(config.urls.evidence, frame.id), attachment ? { attachment } : {});
      evidence.add(evidenceKey(frame.id, attachment));
      replace(shown.get(frame.id).frame);
    } catch (error) {
      notice(error.message);
    }
  }

  // The page was refreshed (a transition): who may mark evidence may have changed.
  document.addEventListener("adt:refreshed", (event) => {
    const fresh = event.detail.doc.getElementById("chat-config");
    if (!fresh) return;
    const next = JSON.parse(fresh.textContent);
    let changed = next.can_mark_evidence !== config.can_mark_evidence;
    config.can_mark_evidence = next.can_mark_evidence;
    for (const e of next.evidence) {
      const key = evidenceKey(e.message, e.attachment);
      if (!evidence.has(key)) { evidence.add(key); changed = true; }
    }
    if (changed) rerenderAll();
  });

  // --- files: picked, pasted or dropped -----------------------------------------------------------
  function renderStaged() {
    stagedList.replaceChildren();
    stagedList.hidden = !staged.length;
    staged.forEach((file, index) => {
      const entry = node("li", "adt-chat-staged-file");
      if (file.type.startsWith("image/")) {
        const preview = node("img", "adt-chat-preview");
        preview.src = URL.createObjectURL(file);
        preview.alt = "";
        preview.onload = () => URL.revokeObjectURL(preview.src);
        entry.append(preview);
      }
      entry.append(node("span", null, `${file.name} (${sizeText(file.size)})`),
        button(texts.remove, null, () => { staged.splice(index, 1); renderStaged(); }));
      stagedList.append(entry);
    });
  }

  function stage(fileList) {
    const added = Array.from(fileList || []).filter((file) => file && file.size >= 0);
    if (!added.length) return false;
    staged = staged.concat(added);
    renderStaged();
    input.focus();
    return true;
  }

  picker.addEventListener("change", () => {
    stage(picker.files);
    picker.value = "";
  });

  input.addEventListener("paste", (event) => {
    const data = event.clipboardData;
    if (!data) return;
    const pasted = data.files && data.files.length ? data.files
      : Array.from(data.items || []).filter((i) => i.kind === "file").map((i) => i.getAsFile()).filter(Boolean);
    if (pasted.length) {
      event.preventDefault();
      stage(pasted);
    }
  });

  let dragDepth = 0;
  root.addEventListener("dragenter", (event) => {
    if (!Array.from(event.dataTransfer ? event.dataTransfer.types : []).includes("Files")) return;
    dragDepth += 1;
    dropZone.hidden = false;
  });
  root.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) dropZone.hidden = true;
  });
  root.addEventListener("dragover", (event) => event.preventDefault());
  root.addEventListener("drop", (event) => {
    event.preventDefault();
    dragDepth = 0;
    dropZone.hidden = true;
    stage(event.dataTransfer ? event.dataTransfer.files : []);
  });

  // --- @mentions with autocomplete ------------------------------------------------------------------
  let suggestTimer = null;
  let suggestions = [];
  let active = -1;
  let query = null;

  function mentionQuery() {
    const before = input.value.slice(0, input.selectionStart);
    const match = /(?:^|\s)@([^\s@]{0,30})$/.exec(before);
    return match ? match[1] : null;
  }

  function closeSuggest() {
    suggest.hidden = true;
    suggest.replaceChildren();
    suggestions = [];
    active = -1;
    query = null;
  }

  function renderSuggest() {
    suggest.replaceChildren();
    if (!suggestions.length) {
      suggest.append(node("li", "adt-chat-suggest-none", texts.no_people));
    }
    suggestions.forEach((person, index) => {
      const entry = node("li", index === active ? "adt-chat-suggest-item adt-active" : "adt-chat-suggest-item");
      entry.setAttribute("role", "option");
      entry.setAttribute("aria-selected", index === active ? "true" : "false");
      entry.append(node("strong", null, person.name));
      if (departmentName(person)) entry.append(" ", node("span", "adt-msg-department", departmentName(person)));
      entry.addEventListener("mousedown", (event) => {
        event.preventDefault(); // keep the focus in the text
        choose(person);
      });
      suggest.append(entry);
    });
    suggest.hidden = false;
  }

  async function lookUp(text) {
    const url = new URL(config.urls.people, window.location.href);
    url.searchParams.set("q", text);
    try {
      const data = await (await fetch(url, { credentials: "same-origin" })).json();
      if (query !== text) return; // typed on meanwhile
      suggestions = data.people || [];
      suggestions.forEach(learn);
      active = suggestions.length ? 0 : -1;
      renderSuggest();
    } catch (error) {
      closeSuggest();
    }
  }

  function choose(person) {
    const caret = input.selectionStart;
    const before = input.value.slice(0, caret).replace(/@([^\s@]{0,30})$/, `@${person.name} `);
    input.value = before + input.value.slice(caret);
    input.setSelectionRange(before.length, before.length);
    picks.push({ id: person.id, name: person.name });
    learn(person);
    closeSuggest();
    input.focus();
  }

  input.addEventListener("input", () => {
    const text = mentionQuery();
    if (text === null) {
      closeSuggest();
      return;
    }
    query = text;
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(() => lookUp(text), 150);
  });

  input.addEventListener("keydown", (event) => {
    if (!suggest.hidden && suggestions.length) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        active = (active + step + suggestions.length) % suggestions.length;
        renderSuggest();
        return;
      }
      if ((event.key === "Enter" || event.key === "Tab") && active >= 0) {
        event.preventDefault();
        choose(suggestions[active]);
        return;
      }
    }
    if (event.key === "Escape") {
      closeSuggest();
      return;
    }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  input.addEventListener("blur", () => setTimeout(closeSuggest, 150));
  input.placeholder = texts.placeholder;

  // --- links to a message (#message-<id>), e.g. from the evidence in the records ------------------
  window.addEventListener("hashchange", () => {
    const target = /^#message-(\d+)$/.exec(window.location.hash);
    if (target) reveal(Number(target[1]));
  });

  connect();
})();
