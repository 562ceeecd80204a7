// Schedule calendar: FullCalendar (vendored) over /v1/schedule-entries, drag/drop + resize to
// reschedule (asking single/future/all for recurring entries), live over /ws/orgs/<slug>/.
// Times are the org's (data-timezone), whatever the browser's zone: FullCalendar runs in UTC
// and is fed "wall dates" (the org's local time written as UTC); toWall/fromWall convert.
(function () {
  "use strict";
  const root = document.getElementById("schedule-page");
  if (!root) return;
  const zone = root.dataset.timezone || "UTC";
  const wallFormat = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  // An instant → the org's wall-clock time of it, as a Date whose UTC fields read that time.
  function toWall(instant) {
    const p = {};
    wallFormat.formatToParts(instant).forEach((part) => { p[part.type] = part.value; });
    return new Date(Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second, instant.getUTCMilliseconds()));
  }
  // A wall date (the org's local time written as UTC) → the instant (a gap time moves forward).
  function fromWall(wall) {
    let guess = wall.getTime();
    for (let i = 0; i < 3; i++) {
      const offset = toWall(new Date(guess)).getTime() - guess;
      const next = wall.getTime() - offset;
      if (next === guess) break;
      guess = next;
    }
    return new Date(guess);
  }
  const iso = (wall) => fromWall(wall).toISOString();
  const org = root.dataset.org;
  const csrf = root.dataset.csrf;
  const editable = root.dataset.editable === "true";
  const message = document.getElementById("schedule-message");
  const assigneeSelect = document.getElementById("filter-assignee");
  const teamSelect = document.getElementById("filter-team");
  const dialog = document.getElementById("scope-dialog");

  function say(text) { message.textContent = text; }

  function headers() {
    return { "Content-Type": "application/json", "X-Org": org, "X-CSRFToken": csrf, Accept: "application/json" };
  }

  function query(info) {
    const params = new URLSearchParams({ start: iso(info.start), end: iso(info.end) });
    if (assigneeSelect && assigneeSelect.value) params.set("assignee", assigneeSelect.value);
    if (teamSelect && teamSelect.value) params.set("team", teamSelect.value);
    return params;
  }

  let lastItems = [];

  async function loadEvents(info, success, failure) {
    try {
      const response = await fetch(`/v1/schedule-entries?${query(info)}`, { headers: headers(), credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      lastItems = body.results;
      const empty = document.getElementById("schedule-empty");
      if (empty) empty.hidden = body.results.length > 0;
      success(body.results.map((item) => ({
        id: item.id,
        title: item.title + (item.assignees.length ? ` · ${item.assignees.map((a) => a.name).join(", ")}` : ""),
        start: toWall(new Date(item.start)),
        end: toWall(new Date(item.end)),
        classNames: [item.is_recurring ? "recurring" : "single", `status-${item.status}`],
        extendedProps: item,
      })));
      renderPeople(info);
    } catch (error) {
      say(`Could not load the schedule: ${error.message}`);
      failure(error);
    }
  }

  function askScope() {
    return new Promise((resolve) => {
      dialog.returnValue = "cancel";
      dialog.addEventListener("close", () => resolve(dialog.returnValue || "cancel"), { once: true });
      dialog.showModal();
    });
  }

  // A refetch while an event is being dragged or resized, or while its drop waits for the
  // scope question or the server, replaces the very event the drop refers to: live updates
  // and the post-save refetch wait until the interaction is over.
  let interacting = false;
  let refetchPending = false;
  let saving = false;
  function refresh() {
    if (interacting) { refetchPending = true; return; }
    refetchPending = false;
    calendar.refetchEvents();
  }
  function interactionStart() { interacting = true; }
  function interactionEnd() {
    interacting = false;
    if (refetchPending) refresh();
  }

  async function save(info) {
    interacting = saving = true;
    try { await saveDrop(info); } finally { saving = false; interactionEnd(); }
  }

  async function saveDrop(info) {
    const item = info.event.extendedProps;
    let scope = "single";
    if (item.is_recurring) {
      scope = await askScope();
      if (scope === "cancel") { info.revert(); return; }
    }
    const body = { start: iso(info.event.start), end: iso(info.event.end || info.event.start) };
    if (item.is_recurring) body.scope = scope;
    let response = await patch(info.event.id, body);
    if (response.status === 409) {
      const problem = await response.json();
      const clashes = (problem.conflicts || []).map((c) => `${c.title || c.kind} ${fmtInstant(c.start)}`).join("\n");
      if (window.confirm(`Double-booking:\n${clashes}\nSave anyway?`)) {
        response = await patch(info.event.id, { ...body, force: true });
      } else { info.revert(); return; }
    }
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      say(`Not saved: ${problem.detail || response.status}`);
      info.revert();
      return;
    }
    say("Saved.");
    refetchPending = true;
  }

  function patch(id, body) {
    return fetch(`/v1/schedule-entries/${encodeURIComponent(id)}`, {
      method: "PATCH", headers: headers(), credentials: "same-origin", body: JSON.stringify(body),
    });
  }

  async function loadBookings(info, success, failure) {
    const toggle = document.getElementById("show-bookings");
    if (toggle && !toggle.checked) { success([]); return; }
    try {
      const params = new URLSearchParams({ start: iso(info.start), end: iso(info.end), org: org });
      const response = await fetch(`/schedule/bookings.json?${params}`, { headers: headers(), credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      success(body.results.map((b) => ({
        id: `booking-${b.id}`, title: b.title, start: toWall(new Date(b.start)), end: toWall(new Date(b.end)), editable: false,
        classNames: ["booking", `booking-${b.status}`], extendedProps: { booking: b },
      })));
    } catch (error) { failure(error); }
  }

  // ---- create / edit dialog with a weekly pattern builder writing an RRULE ----
  const entryDialog = document.getElementById("entry-dialog");
  const entryForm = document.getElementById("entry-form");
  const repeatOn = document.getElementById("repeat-on");
  const repeatFields = document.getElementById("repeat-fields");
  const repeatEnd = document.getElementById("repeat-end");
  const repeatUntil = document.getElementById("repeat-until");
  const repeatCount = document.getElementById("repeat-count");
  const repeatInterval = document.getElementById("repeat-interval");
  const rruleOut = document.getElementById("repeat-rrule");
  const entryError = document.getElementById("entry-error");
  const deleteButton = document.getElementById("entry-delete");
  let editing = null;  // {range: {start, end}} for a new entry, {event} for an existing one
  const DAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];
  const hhmm = { hour: "2-digit", minute: "2-digit", hour12: false };
  const wallTime = { ...hhmm, timeZone: "UTC" };  // a wall date's fields are its UTC fields
  function fmtInstant(value) {
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return String(value || "");
    return d.toLocaleString(undefined, { ...hhmm, timeZone: zone, weekday: "short", day: "numeric", month: "short" });
  }

  function buildRrule() {
    if (!repeatOn.checked) return "";
    const days = Array.from(entryForm.querySelectorAll("input[name=byday]:checked")).map((i) => i.value);
    const parts = ["FREQ=WEEKLY"];
    const interval = parseInt(repeatInterval.value, 10) || 1;
    if (interval > 1) parts.push(`INTERVAL=${interval}`);
    if (days.length) parts.push(`BYDAY=${days.join(",")}`);
    if (repeatEnd.value === "until" && repeatUntil.value) parts.push(`UNTIL=${repeatUntil.value.replaceAll("-", "")}T235959Z`);
    if (repeatEnd.value === "count") parts.push(`COUNT=${parseInt(repeatCount.value, 10) || 1}`);
    return parts.join(";");
  }
  function showRrule() {
    repeatFields.hidden = !repeatOn.checked;
    repeatUntil.hidden = repeatEnd.value !== "until";
    repeatCount.hidden = repeatEnd.value !== "count";
    rruleOut.textContent = buildRrule() || "—";
  }
  entryForm.addEventListener("input", showRrule);
  entryForm.addEventListener("change", showRrule);

  function fmtRange(start, end) {
    return `${start.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" })} ${start.toLocaleTimeString([], wallTime)}–${end.toLocaleTimeString([], wallTime)} (${zone})`;
  }

  function openEntry(mode) {
    entryForm.reset();
    entryError.textContent = "";
    const item = mode.event ? mode.event.extendedProps : null;
    document.getElementById("entry-heading").textContent = item ? "Edit entry" : "New entry";
    const start = item ? mode.event.start : mode.range.start;
    const end = item ? (mode.event.end || mode.event.start) : mode.range.end;
    document.getElementById("entry-when").textContent = fmtRange(start, end) + (item && item.is_recurring ? " · repeats" : "");
    document.getElementById("entry-title").value = item ? item.title : "";
    document.getElementById("entry-kind").value = item ? item.kind : "work";
    document.getElementById("entry-work-item").value = item ? item.work_item_ref || "" : "";
    const chosen = new Set(item ? item.assignees.map((a) => a.membership_id) : []);
    Array.from(document.getElementById("entry-assignees").options).forEach((o) => { o.selected = chosen.has(o.value); });
    document.getElementById("entry-repeat").hidden = !!item;
    if (!item) {
      const box = entryForm.querySelector(`input[name=byday][value=${DAYS[start.getUTCDay()]}]`);
      if (box) box.checked = true;
    }
    deleteButton.hidden = !item;
    editing = mode;
    showRrule();
    entryDialog.showModal();
  }

  async function send(method, url, body) {
    const response = await fetch(url, { method, headers: headers(), credentials: "same-origin", body: body ? JSON.stringify(body) : undefined });
    if (response.status === 409 && body) {
      const problem = await response.json();
      const clashes = (problem.conflicts || []).map((c) => `${c.title || c.kind} ${fmtInstant(c.start)}`).join("\n");
      if (window.confirm(`Double-booking:\n${clashes}\nSave anyway?`)) return send(method, url, { ...body, force: true });
    }
    return response;
  }

  entryForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {
      title: document.getElementById("entry-title").value,
      kind: document.getElementById("entry-kind").value,
      work_item_ref: document.getElementById("entry-work-item").value,
      assignee_ids: Array.from(document.getElementById("entry-assignees").selectedOptions).map((o) => o.value),
    };
    let response;
    if (editing.event) {
      const item = editing.event.extendedProps;
      let scope = "single";
      if (item.is_recurring) { scope = await askScope(); if (scope === "cancel") return; body.scope = scope; }
      response = await send("PATCH", `/v1/schedule-entries/${encodeURIComponent(editing.event.id)}`, body);
    } else {
      body.start = iso(editing.range.start);
      body.end = iso(editing.range.end);
      body.timezone = zone;
      const rrule = buildRrule();
      if (rrule) body.rrule = rrule;
      response = await send("POST", "/v1/schedule-entries", body);
    }
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      entryError.textContent = problem.detail || `Not saved (HTTP ${response.status})`;
      return;
    }
    entryDialog.close();
    say("Saved.");
    calendar.refetchEvents();
  });

  deleteButton.addEventListener("click", async () => {
    const item = editing.event.extendedProps;
    let url = `/v1/schedule-entries/${encodeURIComponent(editing.event.id)}`;
    if (item.is_recurring) {
      const scope = await askScope();
      if (scope === "cancel") return;
      url += `?scope=${scope}`;
    } else if (!window.confirm("Delete this entry?")) return;
    const response = await send("DELETE", url);
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      entryError.textContent = problem.detail || `Not deleted (HTTP ${response.status})`;
      return;
    }
    entryDialog.close();
    say("Deleted.");
    calendar.refetchEvents();
  });
  document.getElementById("entry-cancel").addEventListener("click", () => entryDialog.close());

  const hoursSelect = document.getElementById("filter-hours");
  if (root.dataset.hours && hoursSelect) hoursSelect.value = root.dataset.hours;
  function hours() {
    const [min, max] = ((hoursSelect && hoursSelect.value) || "00:00-24:00").split("-");
    return { slotMinTime: `${min}:00`, slotMaxTime: `${max}:00` };
  }

  const calendar = new FullCalendar.Calendar(document.getElementById("calendar"), {
    ...hours(),
    timeZone: "UTC",  // with wall dates: the grid reads the org's time (see toWall)
    now: () => toWall(new Date()),
    scrollTime: "07:00:00",
    eventTimeFormat: hhmm,
    slotLabelFormat: hhmm,
    selectable: editable,
    selectMirror: true,
    select: (info) => { openEntry({ range: { start: info.start, end: info.end } }); calendar.unselect(); },
    eventClick: (info) => {
      if (info.event.extendedProps.booking) { say(`Booking (read-only): ${info.event.title}`); return; }
      if (editable) openEntry({ event: info.event });
    },
    initialView: root.dataset.initialView || "timeGridWeek",
    initialDate: root.dataset.initialDate || undefined,
    headerToolbar: { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,timeGridDay,listWeek" },
    firstDay: 1,
    nowIndicator: true,
    editable: editable,
    eventDurationEditable: editable,
    slotDuration: "00:30:00",
    eventSources: [{ events: loadEvents, id: "entries" }, { events: loadBookings, id: "bookings" }],
    eventDragStart: interactionStart,
    eventResizeStart: interactionStart,
    // Stop fires just before Drop/Resize; a drag that ends where it began has no drop.
    eventDragStop: () => setTimeout(() => { if (!saving) interactionEnd(); }, 0),
    eventResizeStop: () => setTimeout(() => { if (!saving) interactionEnd(); }, 0),
    eventDrop: save,
    eventResize: save,
    loading: (busy) => {  // the progress indicator while the visible range is (re)fetched
      root.classList.toggle("is-loading", busy);
      document.getElementById("schedule-loading").hidden = !busy;
    },
  });
  calendar.render();
  window.scheduleCalendar = calendar;

  [assigneeSelect, teamSelect].forEach((el) => el && el.addEventListener("change", () => calendar.refetchEvents()));
  document.getElementById("show-bookings").addEventListener("change", () => calendar.refetchEvents());
  if (hoursSelect) hoursSelect.addEventListener("change", () => {
    const h = hours();
    calendar.setOption("slotMinTime", h.slotMinTime);
    calendar.setOption("slotMaxTime", h.slotMaxTime);
    const url = new URL(location.href); url.searchParams.set("hours", hoursSelect.value); history.replaceState(null, "", url);
  });

  // People view: one row per person, one column per day of the visible range.
  const peopleView = document.getElementById("people-view");
  document.getElementById("people-toggle").addEventListener("click", () => {
    peopleView.hidden = !peopleView.hidden;
    renderPeople({ start: calendar.view.activeStart, end: calendar.view.activeEnd });
  });

  function renderPeople(info) {
    if (peopleView.hidden) return;
    const days = [];
    for (let d = new Date(info.start); d < info.end && days.length < 42; d.setUTCDate(d.getUTCDate() + 1)) days.push(new Date(d));
    const head = document.getElementById("people-head");
    head.innerHTML = "<th>Person</th>" + days.map((d) => `<th>${d.toLocaleDateString(undefined, { weekday: "short", day: "numeric", timeZone: "UTC" })}</th>`).join("");
    document.querySelectorAll("#people-body tr").forEach((row) => {
      const member = row.dataset.member;
      const name = row.querySelector("th").outerHTML;
      const cells = days.map((day) => {
        const next = new Date(day); next.setUTCDate(next.getUTCDate() + 1);
        const mine = lastItems.filter((i) => i.assignees.some((a) => a.membership_id === member)
          && toWall(new Date(i.start)) < next && toWall(new Date(i.end)) > day);
        return `<td>${mine.map((i) => `<span class="slot" title="${escapeHtml(i.title)}">${new Date(i.start).toLocaleTimeString([], { ...hhmm, timeZone: zone })} ${escapeHtml(i.title)}</span>`).join("")}</td>`;
      });
      row.innerHTML = name + cells.join("");
    });
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  // Live refresh: any schedule.* event of the org refetches the visible range.
  const status = document.getElementById("ws-status");
  let retry = 1000;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/orgs/${org}/`);
    ws.onopen = () => { status.textContent = "live"; retry = 1000; };
    ws.onmessage = (message) => {
      try {
        const event = JSON.parse(message.data);
        const type = event.type || (event.event && event.event.type) || "";
        if (type.startsWith("schedule.")) refresh();
      } catch (error) { /* not an event envelope */ }
    };
    ws.onclose = () => { status.textContent = "offline"; setTimeout(connect, retry); retry = Math.min(retry * 2, 30000); };
  }
  connect();
})();
