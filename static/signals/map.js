// Live map of beacons, incidents and alerts over the base map of static/js/basemap.js,
// kept live by the org websocket: its own (the map page) or, with config.ownSocket false, the
// page's (the war room's board.js forwards every event as a "schedkit:org-event").
(function () {
  "use strict";
  const el = document.getElementById("signals-map");
  if (!el) return;
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const config = read("signals-map-config");
  const badge = document.getElementById("ws-status");
  const beaconList = document.getElementById("beacon-list");
  const alertList = document.getElementById("alert-list");
  const count = document.getElementById("beacon-count");
  const zone = config.timezone || undefined;
  const clockTime = (ts) => new Date(ts || Date.now()).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: zone });
  const beacons = new Map(); // beacon_id -> {marker, li}
  let map = null;
  let fitted = false;

  if (window.SchedKitMap) map = window.SchedKitMap.create(el, config);
  const PRIORITY_COLOURS = { urgent: "#b42318", high: "#dc6803", normal: "#1f4f8a", low: "#667085" };
  const incidents = new Map(); // incident id -> marker
  const incidentList = document.getElementById("incident-list");
  const incidentCount = document.getElementById("incident-count");
  const alertPoints = [];

  function clearEmpty(list) {
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
  }

  function fit() {
    if (!map) return;
    const points = [];
    beacons.forEach((b) => b.marker && points.push(b.marker.getLatLng()));
    incidents.forEach((m) => points.push(m.getLatLng()));
    alertPoints.forEach((p) => points.push(p));
    if (points.length && !fitted) {
      map.fitBounds(L.latLngBounds(points).pad(0.3), { maxZoom: 15 });
      fitted = true;
    }
  }

  function describe(li, b) {
    li.textContent = "";
    const name = document.createElement("strong");
    name.textContent = b.name || "responder";
    const where = document.createElement("code");
    where.textContent = ` ${Number(b.lat).toFixed(5)}, ${Number(b.lng).toFixed(5)} `;
    const when = document.createElement("time");
    when.dateTime = b.ts || "";
    when.textContent = clockTime(b.ts);
    li.append(name, where, when);
    li.classList.toggle("stale", Boolean(b.stale));
  }

  function upsertBeacon(b) {
    if (!b || !b.beacon_id || b.lat == null || b.lng == null) return;
    let entry = beacons.get(b.beacon_id);
    if (!entry) {
      clearEmpty(beaconList);
      const li = document.createElement("li");
      li.dataset.beacon = b.beacon_id;
      beaconList.prepend(li);
      entry = { li: li, marker: null };
      if (map) {
        entry.marker = L.circleMarker([b.lat, b.lng], { radius: 8, color: "#1d4ed8", fillOpacity: 0.8 })
          .bindTooltip(b.name || "responder")
          .addTo(map);
      }
      beacons.set(b.beacon_id, entry);
    } else if (entry.marker) {
      entry.marker.setLatLng([b.lat, b.lng]);
    }
    if (entry.marker) entry.marker.setStyle({ opacity: b.stale ? 0.4 : 1, fillOpacity: b.stale ? 0.3 : 0.8 });
    describe(entry.li, b);
    count.textContent = beacons.size;
    fit();
  }

  function removeBeacon(id) {
    const entry = beacons.get(id);
    if (!entry) return;
    if (entry.marker) entry.marker.remove();
    entry.li.remove();
    beacons.delete(id);
    count.textContent = beacons.size;
  }

  function addAlert(a, prepend) {
    clearEmpty(alertList);
    const li = document.createElement("li");
    li.className = "alert";
    const title = document.createElement("strong");
    title.textContent = a.title || a.text || "Alert";
    const when = document.createElement("time");
    when.textContent = " " + clockTime(a.ts);
    li.append(title, when);
    if (prepend) alertList.prepend(li); else alertList.append(li);
    if (map && a.lat != null && a.lng != null) {
      L.circleMarker([a.lat, a.lng], { radius: 10, color: "#b42318", fillOpacity: 0.9 })
        .bindTooltip(title.textContent)
        .addTo(map);
      alertPoints.push(L.latLng(a.lat, a.lng));
    }
  }

  function upsertIncident(i) {
    if (!map || i.lat == null || i.lng == null) return;
    const active = i.status === "open" || i.status === "in_progress";
    const existing = incidents.get(i.id);
    if (existing) { existing.remove(); incidents.delete(i.id); }
    const li = incidentList.querySelector(`[data-incident="${i.id}"]`);
    if (li) li.remove();
    if (!active) { incidentCount.textContent = incidents.size; return; }
    const colour = PRIORITY_COLOURS[i.priority] || PRIORITY_COLOURS.normal;
    const marker = L.circleMarker([i.lat, i.lng], {
      radius: i.priority === "urgent" ? 11 : 8, color: colour, weight: i.sla === "breached" ? 4 : 2,
      dashArray: i.sla === "at_risk" ? "4 3" : null, fillColor: colour, fillOpacity: 0.6,
      className: `incident-marker prio-${i.priority} sla-${i.sla || "ok"}`,
    }).bindTooltip(`${i.title} (${i.priority}, SLA ${String(i.sla || "ok").replace("_", " ")})`).addTo(map);
    marker.on("click", () => { location.href = `/incidents/${i.id}/?org=${encodeURIComponent(config.org)}`; });
    incidents.set(i.id, marker);
    clearEmpty(incidentList);
    const item = document.createElement("li");
    item.dataset.incident = i.id;
    item.innerHTML = '<span class="dot"></span> <a></a>';
    item.querySelector(".dot").style.background = colour;
    item.querySelector("a").textContent = i.title;
    item.querySelector("a").href = `/incidents/${i.id}/?org=${encodeURIComponent(config.org)}`;
    incidentList.prepend(item);
    incidentCount.textContent = incidents.size;
  }

  async function refreshIncident(id) {
    try {
      const r = await fetch(`/v1/incidents/${id}`, { headers: { Accept: "application/json", "X-Org": config.org }, credentials: "same-origin" });
      if (!r.ok) return;
      const i = await r.json();
      upsertIncident({ id: i.id, title: i.title, priority: i.priority, status: i.status, sla: i.sla_status, lat: i.lat, lng: i.lng });
      fitted = false;
      fit();
    } catch (e) { /* next event will retry */ }
  }

  // The server rendered the lists; rebuild them from the same data so they stay in sync.
  beaconList.textContent = "";
  alertList.textContent = "";
  const initial = read("signals-map-beacons");
  if (!initial.length) beaconList.innerHTML = '<li class="empty">No active beacons.</li>';
  initial.forEach(upsertBeacon);
  const alerts = read("signals-map-alerts");
  if (!alerts.length) alertList.innerHTML = '<li class="empty">No alerts.</li>';
  alerts.forEach((a) => addAlert(a, false));
  incidentList.textContent = "";
  const initialIncidents = read("signals-map-incidents");
  if (!initialIncidents.length) incidentList.innerHTML = '<li class="empty">No open incidents with a location.</li>';
  initialIncidents.forEach(upsertIncident);
  fit();

  function onEvent(event) {
    const d = event.data || {};
    switch (event.type) {
      case "signal.beacon":
        upsertBeacon(d);
        break;
      case "signal.beacon_on":
        upsertBeacon({ beacon_id: d.beacon_id, name: (d.sender || {}).name, lat: d.lat, lng: d.lng, ts: event.ts });
        break;
      case "signal.beacon_off":
        removeBeacon(d.beacon_id);
        break;
      case "incident.created":
      case "incident.updated":
        if (d.id) refreshIncident(d.id);
        break;
      case "signal.alert":
        addAlert({ title: d.title, text: d.text, lat: d.lat, lng: d.lng, ts: event.ts }, true);
        break;
    }
  }

  let delay = 500;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/orgs/${config.org}/`);
    ws.onopen = () => { badge.textContent = "live"; badge.className = "badge ok"; delay = 500; };
    ws.onmessage = (msg) => onEvent(JSON.parse(msg.data));
    ws.onclose = () => {
      badge.textContent = "reconnecting…"; badge.className = "badge warn";
      setTimeout(connect, delay); delay = Math.min(delay * 2, 15000);
    };
  }
  if (config.ownSocket === false) {
    document.addEventListener("schedkit:org-event", (e) => onEvent(e.detail || {}));
  } else {
    connect();
  }

  // Beacons silent past the timeout fade out until the sweep removes them.
  setInterval(() => {
    const cutoff = Date.now() - config.staleAfterSeconds * 1000;
    beacons.forEach((entry) => {
      const t = entry.li.querySelector("time");
      const ts = t && Date.parse(t.dateTime);
      const stale = ts && ts < cutoff;
      entry.li.classList.toggle("stale", Boolean(stale));
      if (entry.marker) entry.marker.setStyle({ opacity: stale ? 0.4 : 1, fillOpacity: stale ? 0.3 : 0.8 });
    });
  }, 10000);
})();

// Web push for alerts: subscribe this browser (POST /v1/push-subscriptions) on request.
(function () {
  "use strict";
  const button = document.getElementById("push-enable");
  const config = document.getElementById("signals-map-config");
  if (!button || !config || !("serviceWorker" in navigator) || !("PushManager" in window)) return;
  const org = JSON.parse(config.textContent).org;
  const csrf = (document.getElementById("signals-csrf") || {}).value || "";

  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  async function enable() {
    button.disabled = true;
    try {
      const key = (await (await fetch("/v1/push/vapid-key", { credentials: "same-origin" })).json()).public_key;
      if (!key) { button.textContent = "Push is not configured on this server"; return; }
      if ((await Notification.requestPermission()) !== "granted") { button.textContent = "Notifications blocked"; return; }
      const registration = await navigator.serviceWorker.register("/static/signals/sw.js");
      await navigator.serviceWorker.ready;
      const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
      const response = await fetch("/v1/push-subscriptions", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "X-Org": org },
        body: JSON.stringify(subscription.toJSON()),
      });
      button.textContent = response.ok ? "Alert notifications on" : "Could not subscribe (" + response.status + ")";
    } catch (error) {
      button.textContent = "Could not subscribe: " + error.message;
      button.disabled = false;
    }
  }

  button.hidden = false;
  button.addEventListener("click", enable);
})();
