// Daily schedule board: drag work onto a person, optimize (live progress, then accept or
// reject the proposal), publish. Every write goes through the JSON API with If-Match: rev.
(function () {
  "use strict";
  const page = document.getElementById("planning-page");
  if (!page) return;
  const org = page.dataset.org;
  const csrf = page.dataset.csrf;
  const day = page.dataset.date;
  const message = document.getElementById("planning-message");
  const status = document.getElementById("optimize-status");
  const proposalBox = document.getElementById("proposal");

  function say(text) { message.textContent = text; }
  function board() { return document.getElementById("board"); }
  function rev() { return board().dataset.rev; }
  function scheduleId() { return board().dataset.schedule; }

  function headers(extra) {
    return Object.assign({ "Content-Type": "application/json", "X-Org": org, "X-CSRFToken": csrf, Accept: "application/json" }, extra || {});
  }

  async function api(method, url, body, withRev) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: headers(withRev ? { "If-Match": `"${rev()}"` } : {}),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    return { response, data };
  }

  async function refresh() {
    const response = await fetch(window.location.href, { credentials: "same-origin", headers: { "HX-Request": "true" } });
    if (response.ok) board().outerHTML = await response.text();
  }

  async function written({ response, data }, done) {
    if (response.ok) { say(done); await refresh(); return true; }
    if (response.status === 412) {
      say("Someone else changed this schedule; the board was reloaded — try again.");
      await refresh();
      return false;
    }
    say(`Not saved: ${data.detail || response.status}`);
    return false;
  }

  // --- drag work onto a person --------------------------------------------------------------
  document.addEventListener("dragstart", (event) => {
    const card = event.target.closest("[data-ref][draggable='true']");
    if (!card) return;
    event.dataTransfer.setData("text/plain", JSON.stringify({ ref: card.dataset.ref, minutes: Number(card.dataset.minutes) }));
    event.dataTransfer.effectAllowed = "move";
  });
  document.addEventListener("dragover", (event) => {
    const lane = event.target.closest(".lane[data-person]");
    if (lane && board().dataset.editable === "true") { event.preventDefault(); lane.classList.add("drop-target"); }
  });
  document.addEventListener("dragleave", (event) => {
    const lane = event.target.closest(".lane[data-person]");
    if (lane) lane.classList.remove("drop-target");
  });
  document.addEventListener("drop", async (event) => {
    const lane = event.target.closest(".lane[data-person]");
    if (!lane) return;
    event.preventDefault();
    lane.classList.remove("drop-target");
    let card;
    try { card = JSON.parse(event.dataTransfer.getData("text/plain")); } catch (e) { return; }
    const b = board();
    const rect = lane.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
    const minute = Math.round((Number(b.dataset.firstMinute) + fraction * Number(b.dataset.spanMinutes)) / 15) * 15;
    const start = new Date(new Date(b.dataset.dayStart).getTime() + minute * 60000);
    const end = new Date(start.getTime() + card.minutes * 60000);
    const [type, ...rest] = card.ref.split(":");
    const body = { person_id: lane.dataset.person, work_item: { type, id: rest.join(":") }, start: start.toISOString(), end: end.toISOString() };
    await written(await api("POST", `/v1/daily-schedules/${scheduleId()}/assignments`, body, true), "Assigned.");
  });

  // --- buttons ------------------------------------------------------------------------------
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.id === "start-planning") {
      const { response, data } = await api("POST", "/v1/daily-schedules", { date: day });
      if (response.ok) { say("Planning started."); await refresh(); } else say(`Not started: ${data.detail || response.status}`);
    } else if (button.id === "publish") {
      await written(await api("POST", `/v1/daily-schedules/${scheduleId()}/publish`, undefined, true), "Published.");
    } else if (button.id === "optimize") {
      await optimize();
    } else if (button.id === "accept-proposal") {
      const ok = await written(await api("POST", `/v1/schedule-requests/${button.dataset.request}/apply`, undefined, true), "Proposal applied.");
      if (ok) proposalBox.textContent = "";
    } else if (button.id === "reject-proposal") {
      proposalBox.textContent = "";
      say("Proposal rejected; nothing changed.");
    }
  });

  async function optimize() {
    proposalBox.textContent = "";
    const { response, data } = await api("POST", "/v1/schedule-requests", { date: day, constraints: {} });
    if (response.status !== 202) { say(`Could not optimize: ${data.detail || response.status}`); return; }
    const location = response.headers.get("Location");
    let body = data;
    for (let i = 0; i < 600 && !["succeeded", "failed"].includes(body.status); i++) {
      status.textContent = `Optimizing… ${body.status} ${body.progress}%`;
      await new Promise((resolve) => setTimeout(resolve, 500));
      body = (await api("GET", location)).data;
    }
    if (body.status !== "succeeded") { status.textContent = `Optimization ${body.status}: ${body.error || ""}`; return; }
    const r = body.result;
    status.textContent = `Optimized (${r.algorithm}): score ${r.score}, ${r.assignments.length} assigned, ${r.unassigned.length} unassigned, travel ${r.travel_minutes} min`;
    renderProposal(body);
  }

  function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); }
  function hhmm(iso) { return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }

  function renderProposal(body) {
    const table = document.createElement("table");
    table.className = "proposal-table";
    const head = table.insertRow();
    ["Work", "Person", "Time", ""].forEach((t) => { const th = document.createElement("th"); th.textContent = t; head.appendChild(th); });
    const current = new Map();
    document.querySelectorAll(".assignment[data-ref]").forEach((a) => current.set(a.dataset.ref, a.closest(".lane").dataset.person));
    body.result.assignments.forEach((a) => {
      const ref = `${a.work_item.type}:${a.work_item.id}`;
      const row = table.insertRow();
      row.className = "proposed";
      cell(row, a.title);
      cell(row, a.person_name);
      cell(row, `${hhmm(a.start)}–${hhmm(a.end)}`);
      cell(row, !current.has(ref) ? "new" : current.get(ref) === a.person_id ? "kept" : "moved");
    });
    body.result.unassigned.forEach((u) => {
      const row = table.insertRow();
      cell(row, u.title); cell(row, "—"); cell(row, u.reason); cell(row, u.detail);
    });
    const accept = document.createElement("button");
    accept.id = "accept-proposal"; accept.type = "button"; accept.textContent = "Accept"; accept.dataset.request = body.id;
    const reject = document.createElement("button");
    reject.id = "reject-proposal"; reject.type = "button"; reject.textContent = "Reject";
    proposalBox.replaceChildren(table, accept, reject);
  }
})();
