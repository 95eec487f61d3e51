// The KeyPool dashboard: plain browser JavaScript, no framework, no build step. It calls this
// Worker's operator API with the admin token, which it keeps in sessionStorage only (gone when the
// tab closes), polls for changes, and counts deadlines down locally between polls.

const TOKEN_KEY = "keypool.adminToken";
const RECENT_POOLS_KEY = "keypool.recentPools";
const POLL_MS = 2000;
const TICK_MS = 250;
const CONFIRM_MS = 4000;
const POOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

const view = {
  pool: "default",
  listState: "all",
  limit: 25,
  /** The cursor each visited page started at; the current page is the last. */
  cursors: [null],
  next: null,
  keys: [],
  polling: false,
  /** The load under way, if any, and whether another was asked for meanwhile. */
  loading: null,
  reload: false,
  /** Bumped whenever the token changes. */
  generation: 0,
  /** Set when a countdown reaches zero, so the next tick refreshes at once. */
  due: false,
  settingsDirty: false,
};

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

function setToken(value) {
  if (value === "") sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, value);
  view.generation += 1;
  $("token").placeholder = value === "" ? "ADMIN_TOKEN" : "token set for this tab";
}

async function api(method, path, body) {
  const headers = {};
  const current = token();
  if (current !== "") headers.authorization = `Bearer ${current}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "The server cannot be reached.");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text === "" ? null : JSON.parse(text);
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, explain(response.status, data?.error));
  return data;
}

function explain(status, error) {
  if (status === 401) return "The server refused the admin token (401). Enter the right ADMIN_TOKEN above.";
  if (status === 403) return "This token may not do that (403): the dashboard needs an admin token.";
  return `${error ?? "The request failed"} (${status})`;
}

function poolPath() {
  return `/pools/${encodeURIComponent(view.pool)}`;
}

// ---- messages and the live indicator ----

function showMessage(text, kind = "info") {
  const message = $("message");
  message.textContent = text;
  message.className = `message ${kind}`;
  message.setAttribute("role", kind === "error" ? "alert" : "status");
  message.hidden = false;
}

function setLive(connected) {
  const live = $("live");
  live.textContent = connected ? `live · updated ${new Date().toLocaleTimeString()}` : "not connected";
  live.classList.toggle("connected", connected);
}

// ---- loading ----

/**
 * Loads the pool's statistics and the current page. Calls made while a load is under way are folded
 * into one more load after it, so what is shown is never older than the last call.
 */
async function refresh() {
  if (view.loading !== null) {
    view.reload = true;
    return view.loading;
  }
  view.loading = (async () => {
    let loaded;
    do {
      view.reload = false;
      loaded = await load();
    } while (view.reload);
    return loaded;
  })();
  try {
    return await view.loading;
  } finally {
    view.loading = null;
  }
}

async function load() {
  // An answer to a request made with a token the operator has since replaced is dropped.
  const generation = view.generation;
  try {
    const query = new URLSearchParams({ state: view.listState, limit: String(view.limit) });
    const cursor = view.cursors.at(-1);
    if (cursor !== null) query.set("cursor", cursor);
    const [stats, page] = await Promise.all([api("GET", poolPath()), api("GET", `${poolPath()}/list?${query}`)]);
    if (generation !== view.generation) return false;
    view.keys = page.keys;
    view.next = page.cursor;
    renderStats(stats);
    renderKeys();
    setLive(true);
    return true;
  } catch (error) {
    if (generation !== view.generation) return false;
    setLive(false);
    if (error.status === 401 || error.status === 403) {
      view.polling = false;
      clearData();
      if (token() === "") {
        showMessage("This server needs an admin token: enter it above.", "info");
        return false;
      }
      // A refused token is not sent again every poll: the operator enters another.
      setToken("");
    }
    showMessage(error.message, "error");
    return false;
  }
}

function clearData() {
  view.keys = [];
  view.next = null;
  renderKeys();
  for (const id of ["count-total", "count-free", "count-blocked"]) $(id).textContent = "–";
  for (const name of ["created", "assigned", "released", "expired", "deleted"]) $(`counter-${name}`).textContent = "–";
}

function startPolling() {
  view.polling = true;
  return refresh();
}

// ---- rendering ----

function renderStats(stats) {
  $("count-total").textContent = String(stats.keys.total);
  $("count-free").textContent = String(stats.keys.free);
  $("count-blocked").textContent = String(stats.keys.blocked);
  for (const [name, value] of Object.entries(stats.counters)) {
    const cell = $(`counter-${name}`);
    if (cell !== null) cell.textContent = String(value);
  }
  // Do not overwrite what the operator is typing.
  if (!view.settingsDirty) {
    $("key-ttl").value = String(stats.settings.keyTtlSeconds);
    $("block-ttl").value = String(stats.settings.blockTtlSeconds);
  }
}

function renderKeys() {
  const body = $("keys");
  const existing = new Map([...body.rows].map((row) => [row.dataset.keyId, row]));
  const rows = view.keys.map((key) => {
    const row = existing.get(key.keyId) ?? newRow(key.keyId);
    fillRow(row, key);
    return row;
  });
  // Rows that stay are moved only if out of place, so a button under the pointer keeps its state.
  rows.forEach((row, index) => {
    if (body.rows[index] !== row) body.insertBefore(row, body.rows[index] ?? null);
  });
  while (body.rows.length > rows.length) body.deleteRow(-1);
  $("empty").hidden = rows.length > 0;
  $("page-number").textContent = `page ${view.cursors.length}`;
  $("prev-page").disabled = view.cursors.length === 1;
  $("first-page").disabled = view.cursors.length === 1;
  $("next-page").disabled = view.next === null;
  tick();
}

function newRow(keyId) {
  const row = document.createElement("tr");
  row.dataset.keyId = keyId;
  row.innerHTML = `
    <td><code class="key-id"></code></td>
    <td><span class="badge"></span></td>
    <td class="created"></td>
    <td class="countdown expires"></td>
    <td class="countdown releases"></td>
    <td><div class="actions">
      <button type="button" data-action="toggle"></button>
      <button type="button" data-action="alive">Keep alive</button>
      <button type="button" data-action="delete" class="danger">Delete</button>
    </div></td>`;
  row.querySelector(".key-id").textContent = keyId;
  const short = keyId.slice(0, 8);
  row.querySelector('[data-action="alive"]').setAttribute("aria-label", `Keep key ${short} alive`);
  row.querySelector('[data-action="delete"]').setAttribute("aria-label", `Delete key ${short}`);
  return row;
}

function fillRow(row, key) {
  row.classList.toggle("blocked", key.isBlocked);
  const badge = row.querySelector(".badge");
  badge.textContent = key.isBlocked ? "blocked" : "free";
  badge.className = `badge ${key.isBlocked ? "blocked" : "free"}`;
  const created = row.querySelector(".created");
  created.textContent = new Date(key.createdAt).toLocaleString();
  created.title = key.createdAt;
  const expires = row.querySelector(".expires");
  expires.dataset.deadline = key.expiresAt;
  expires.title = `expires at ${key.expiresAt}`;
  const releases = row.querySelector(".releases");
  releases.dataset.deadline = key.releaseAt ?? "";
  releases.title = key.releaseAt === null ? "" : `released at ${key.releaseAt}`;
  const toggle = row.querySelector('[data-action="toggle"]');
  const label = key.isBlocked ? "Unblock" : "Block";
  if (toggle.textContent !== label) toggle.textContent = label;
  toggle.setAttribute("aria-label", `${label} key ${key.keyId.slice(0, 8)}`);
}

/** Counts every deadline on the page down; a deadline reaching zero triggers a refresh. */
function tick() {
  const now = Date.now();
  for (const cell of document.querySelectorAll("#keys .countdown")) {
    const deadline = cell.dataset.deadline;
    if (!deadline) {
      cell.textContent = "—";
      continue;
    }
    const left = Date.parse(deadline) - now;
    if (left <= 0 && cell.textContent !== "due") view.due = true;
    cell.textContent = left <= 0 ? "due" : countdown(left);
  }
}

function countdown(ms) {
  const total = Math.ceil(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

// ---- actions ----

async function act(button, run) {
  button.disabled = true;
  try {
    const text = await run();
    showMessage(text, "ok");
    await refresh();
  } catch (error) {
    showMessage(error.message, "error");
  } finally {
    button.disabled = false;
  }
}

async function onKeyAction(event) {
  const button = event.target.closest("button[data-action]");
  if (button === null) return;
  const keyId = button.closest("tr").dataset.keyId;
  const short = keyId.slice(0, 8);
  const path = `${poolPath()}/keys/${keyId}`;
  const action = button.dataset.action;
  if (action === "toggle") {
    const block = button.textContent === "Block";
    await act(button, async () => {
      const info = await api("PUT", path, { blocked: block });
      return block
        ? `Blocked key ${short}…: it is released at ${new Date(info.releaseAt).toLocaleTimeString()}.`
        : `Unblocked key ${short}…`;
    });
  } else if (action === "alive") {
    await act(button, async () => {
      const info = await api("PUT", `${path}/alive`);
      return `Kept key ${short}… alive: it expires at ${new Date(info.expiresAt).toLocaleTimeString()}.`;
    });
  } else if (action === "delete") {
    // Deleting is for good: the first click asks, a second one within a few seconds deletes.
    if (button.dataset.confirm === undefined) {
      button.dataset.confirm = "";
      button.textContent = "Confirm delete";
      setTimeout(() => {
        delete button.dataset.confirm;
        button.textContent = "Delete";
      }, CONFIRM_MS);
      return;
    }
    await act(button, async () => {
      await api("DELETE", path);
      return `Deleted key ${short}…`;
    });
  }
}

function openPool(name) {
  view.pool = name;
  view.cursors = [null];
  view.settingsDirty = false;
  $("pool").value = name;
  history.replaceState(null, "", `#pool=${encodeURIComponent(name)}`);
  rememberPool(name);
  clearData();
  return startPolling();
}

function rememberPool(name) {
  const recent = [name, ...readRecentPools().filter((pool) => pool !== name)].slice(0, 10);
  sessionStorage.setItem(RECENT_POOLS_KEY, JSON.stringify(recent));
  const list = $("recent-pools");
  list.replaceChildren(
    ...recent.map((pool) => {
      const option = document.createElement("option");
      option.value = pool;
      return option;
    }),
  );
}

function readRecentPools() {
  try {
    const recent = JSON.parse(sessionStorage.getItem(RECENT_POOLS_KEY) ?? "[]");
    return Array.isArray(recent) ? recent.filter((pool) => typeof pool === "string" && POOL_NAME.test(pool)) : [];
  } catch {
    return [];
  }
}

function changePage(cursors) {
  view.cursors = cursors;
  return refresh();
}

function wire() {
  $("token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    $("token").value = "";
    setToken(value);
    if (await startPolling()) showMessage("Token accepted.", "ok");
  });
  $("forget-token").addEventListener("click", () => {
    setToken("");
    showMessage("Token forgotten.", "info");
  });
  $("pool-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("pool").value.trim();
    if (!POOL_NAME.test(name)) {
      showMessage("A pool name is 1-64 characters of A-Z a-z 0-9 _ -.", "error");
      return;
    }
    openPool(name);
  });
  $("create-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const count = Number($("create-count").value);
    await act(event.submitter ?? $("create-form").querySelector("button"), async () => {
      const created = await api("POST", `${poolPath()}/keys`, { count });
      return `Created ${created.keyIds.length} key${created.keyIds.length === 1 ? "" : "s"} in ${view.pool}.`;
    });
  });
  $("settings-form").addEventListener("input", () => {
    view.settingsDirty = true;
  });
  $("settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    // A field left empty (a pool nobody made yet shows none) stays as it is.
    const body = {};
    for (const [field, input] of [
      ["keyTtlSeconds", "key-ttl"],
      ["blockTtlSeconds", "block-ttl"],
    ]) {
      if ($(input).value.trim() !== "") body[field] = Number($(input).value);
    }
    await saveSettings(event.submitter, body);
  });
  $("reset-settings").addEventListener("click", (event) =>
    saveSettings(event.currentTarget, { keyTtlSeconds: null, blockTtlSeconds: null }),
  );
  $("keys").addEventListener("click", onKeyAction);
  $("state").addEventListener("change", () => {
    view.listState = $("state").value;
    changePage([null]);
  });
  $("page-size").addEventListener("change", () => {
    view.limit = Number($("page-size").value);
    changePage([null]);
  });
  $("first-page").addEventListener("click", () => changePage([null]));
  $("prev-page").addEventListener("click", () => changePage(view.cursors.slice(0, -1)));
  $("next-page").addEventListener("click", () => {
    if (view.next !== null) changePage([...view.cursors, view.next]);
  });
}

async function saveSettings(button, body) {
  await act(button, async () => {
    const settings = await api("PUT", `${poolPath()}/settings`, body);
    view.settingsDirty = false;
    return (
      `Settings saved: key TTL ${settings.keyTtlSeconds} s, block TTL ${settings.blockTtlSeconds} s. ` +
      "They apply to deadlines set from now on."
    );
  });
}

/**
 * Asks the server whether it runs in the local mode (`npm start`: no token configured, requests to
 * localhost served as admin). Then the token form would only mislead, so the page says so instead.
 */
async function detectLocalMode() {
  let localMode = false;
  try {
    const response = await fetch("/", { cache: "no-store" });
    localMode = response.ok && (await response.json()).localMode === true;
  } catch {
    localMode = false; // an older server, or none: the page asks for a token as usual
  }
  $("local-mode").hidden = !localMode;
  $("token-form").hidden = localMode;
}

function start() {
  wire();
  detectLocalMode();
  $("token").placeholder = token() === "" ? "ADMIN_TOKEN" : "token set for this tab";
  for (const pool of readRecentPools().reverse()) rememberPool(pool);
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("pool");
  openPool(fromHash !== null && POOL_NAME.test(fromHash) ? fromHash : "default");
  setInterval(() => {
    if (view.polling && !document.hidden) refresh();
  }, POLL_MS);
  setInterval(() => {
    tick();
    if (view.due && view.polling) {
      view.due = false;
      refresh();
    }
  }, TICK_MS);
}

start();
