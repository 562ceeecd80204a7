// Incident board / war room / detail: live over the org websocket (/ws/orgs/<slug>/).
// Every incident.* event refreshes the server-rendered fragment through htmx; SLA countdowns
// tick locally once a second. Falls back to a 30 s refresh if the socket is down.
(function () {
  const page = document.getElementById("incidents-page");
  if (!page) return;
  const org = page.dataset.org;
  const badge = document.getElementById("ws-status");
  const feed = document.getElementById("event-feed");
  let delay = 500;
  let pending = null;

  function refresh() {
    clearTimeout(pending);
    pending = setTimeout(function () {
      const rows = document.getElementById("incident-rows");
      if (rows) {
        htmx.ajax("GET", location.pathname + location.search, { target: "#incident-rows", swap: "innerHTML" });
      }
      const detail = document.getElementById("incident-detail");
      if (detail) {
        const url = location.pathname + location.search;
        htmx.ajax("GET", url, { target: "#incident-detail", swap: "innerHTML" });
      }
    }, 250);
  }

  function renderFeed(event) {
    if (!feed) return;
    const empty = feed.querySelector(".empty");
    if (empty) empty.remove();
    const li = document.createElement("li");
    li.innerHTML = "<time></time> <strong></strong> <span></span>";
    li.querySelector("time").textContent = new Date(event.ts || Date.now()).toLocaleTimeString([], {
      hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: page.dataset.timezone || undefined,
    });
    li.querySelector("strong").textContent = event.type;
    li.querySelector("span").textContent = summary(event.data || {});
    feed.prepend(li);
    while (feed.children.length > 100) feed.lastChild.remove();
  }

  // One readable line per event: an incident's title and state, a signal's sender and place.
  function summary(data) {
    if (data.title && data.status) return `${data.title} (${String(data.status).replace("_", " ")}, ${data.priority || ""})`;
    const who = (data.sender && data.sender.name) || data.name || "";
    const where = data.lat != null && data.lng != null ? `${Number(data.lat).toFixed(4)}, ${Number(data.lng).toFixed(4)}` : "";
    const text = data.title || data.text || "";
    const line = [who, text, where].filter(Boolean).join(" · ");
    return line || (data.id ? `#${String(data.id).slice(0, 8)}` : "");
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/orgs/${org}/`);
    ws.onopen = function () {
      if (badge) { badge.textContent = "live"; badge.className = "badge ok"; }
      delay = 500;
    };
    ws.onmessage = function (msg) {
      const event = JSON.parse(msg.data);
      if (event.type === "connected" || event.type === "pong") return;
      // Other panels of the page (the war room's live map) listen on this one socket.
      document.dispatchEvent(new CustomEvent("schedkit:org-event", { detail: event }));
      renderFeed(event);
      if (String(event.type).startsWith("incident.")) {
        const detailId = page.dataset.incident;
        if (!detailId || (event.data && event.data.id === detailId)) refresh();
      }
    };
    ws.onclose = function () {
      if (badge) { badge.textContent = "reconnecting…"; badge.className = "badge warn"; }
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    };
  }

  function fmt(ms) {
    const neg = ms < 0;
    let s = Math.floor(Math.abs(ms) / 1000);
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const text = (h ? h + "h " : "") + String(m).padStart(2, "0") + "m " + String(s).padStart(2, "0") + "s";
    return neg ? "overdue " + text : text;
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll(".sla[data-due]").forEach(function (el) {
      const state = el.dataset.state;
      if (state === "met") { el.textContent = "met"; return; }
      el.textContent = fmt(Date.parse(el.dataset.due) - now);
    });
  }

  connect();
  tick();
  document.body.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);
  setInterval(refresh, 30000);
})();
