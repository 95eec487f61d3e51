// The KeyPool dashboard: plain browser JavaScript, no framework, no build step. It calls this
// Worker's operator API with the admin token, which it keeps in sessionStorage only (gone when the
// tab closes), polls for changes, and counts deadlines down locally between polls. It never shows a
// key value: the listing carries none, and values typed into the import form (masked) are sent once
// and cleared once imported; no storage, message or URL ever holds them. Nor does it show a token:
// the audit trail names who acted by role and a fingerprint of the token, never the token.

const TOKEN_KEY = "keypool.adminToken";
const POLL_MS = 2000;
const TICK_MS = 250;
const CONFIRM_MS = 4000;
const POOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Pools per page of `GET /pools` (its largest): each costs the server one call to that pool. */
const POOL_PAGE = 100;
/** The most keys one `POST /keys` imports (MAX_BULK_CREATE on the server). */
const MAX_IMPORT = 1000;
/**
 * Entries a page of the audit trail shows: the pool's recent activity (its newest page is read on every
 * poll, so it stays small), and a key's history.
 */
const ACTIVITY_PAGE = 20;
const HISTORY_PAGE = 50;
/** A key's `state`; anything else (a newer server) shows as it is, unstyled. */
const KEY_STATES = ["free", "blocked", "cooling", "disabled"];
/**
 * The settings the form shows as numbers, by field id. The report settings are sent only when changed,
 * so saving a TTL does not pin them to today's defaults; the TTLs are sent whenever filled in.
 */
const NUMBER_SETTINGS = [
  { id: "key-ttl", field: "keyTtlSeconds", always: true },
  { id: "block-ttl", field: "blockTtlSeconds", always: true },
  { id: "cooldown", field: "cooldownSeconds", always: false },
  { id: "max-failures", field: "maxFailures", always: false },
  { id: "lock-delay", field: "lockDelaySeconds", always: false },
  { id: "audit-retention", field: "auditRetentionDays", always: false },
];

const view = {
  pool: "default",
  /** The pools of `GET /pools` loaded so far, in name order, and the cursor of the next page (null: none). */
  pools: [],
  poolsNext: null,
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
  /** Bumped on every edit of the settings form, so a save does not discard edits made while it ran. */
  settingsEdits: 0,
  /** The pool's `auditRetentionDays` as last read (null: not read). */
  retentionDays: null,
  /** The pool's recent activity, and the history of the key whose panel is open (none: `keyId` null). */
  activity: newFeed("activity", ACTIVITY_PAGE),
  history: newFeed("history", HISTORY_PAGE),
};

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  /** `details`: the API's problems ({path, message, keyId?}), which name inputs by path, never by value. */
  constructor(status, message, details = []) {
    super(message);
    this.status = status;
    this.details = details;
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
  if (!response.ok) {
    const details = Array.isArray(data?.details) ? data.details : [];
    throw new ApiError(response.status, explain(response.status, data?.error), details);
  }
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

/** Shows `text`, and under it `items` (one line each, e.g. an error's details). */
function showMessage(text, kind = "info", items = []) {
  const message = $("message");
  message.textContent = text;
  if (items.length > 0) {
    const list = document.createElement("ul");
    for (const item of items) {
      const entry = document.createElement("li");
      entry.textContent = item;
      list.append(entry);
    }
    message.append(list);
  }
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
    const { activity, history } = view;
    const [stats, page, activityPage, historyPage] = await Promise.all([
      api("GET", poolPath()),
      api("GET", `${poolPath()}/list?${query}`),
      readFeed(activity),
      history.keyId === null ? null : readFeed(history),
    ]);
    if (generation !== view.generation) return false;
    view.keys = page.keys;
    view.next = page.cursor;
    renderStats(stats);
    renderKeys();
    showFeed(activity, activityPage);
    showFeed(history, historyPage);
    renderFeed(view.activity);
    renderFeed(view.history);
    setLive(true);
    return true;
  } catch (error) {
    if (generation !== view.generation) return false;
    setLive(false);
    // The history panel covers the message at the top of the page: it says so itself.
    if (view.history.keyId !== null) {
      view.history.error = error.message;
      renderFeed(view.history);
    }
    if (error.status === 401 || error.status === 403) {
      view.polling = false;
      clearData();
      forgetPools();
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
  for (const cell of document.querySelectorAll(".cards .value, .counters dd")) cell.textContent = "–";
  view.retentionDays = null;
  view.activity = newFeed("activity", ACTIVITY_PAGE);
  renderFeed(view.activity);
  closeHistory();
  // A pool nobody made yet has no settings: its fields are empty, and an empty field is not sent.
  if (!view.settingsDirty) {
    showSettings(Object.fromEntries([...NUMBER_SETTINGS.map(({ field }) => [field, ""]), ["keysExpire", ""]]));
  }
  renderEncryption(null);
}

function startPolling() {
  view.polling = true;
  return refresh();
}

// ---- rendering ----

function renderStats(stats) {
  for (const [name, value] of Object.entries(stats.keys)) {
    const cell = $(`count-${name}`);
    if (cell !== null) cell.textContent = String(value);
  }
  $("waiting").textContent = String(stats.waiting);
  for (const [name, value] of Object.entries(stats.counters)) {
    const cell = $(`counter-${name}`);
    if (cell !== null) cell.textContent = String(value);
  }
  // Do not overwrite what the operator is typing.
  if (!view.settingsDirty) showSettings(stats.settings);
  view.retentionDays = stats.settings.auditRetentionDays;
  renderEncryption(stats.encryption);
}

/** Fills the settings form; each field remembers what it showed, so an untouched one need not be sent. */
function showSettings(settings) {
  for (const { id, field } of NUMBER_SETTINGS) {
    const input = $(id);
    input.value = String(settings[field]);
    input.dataset.shown = input.value;
  }
  const keysExpire = $("keys-expire");
  keysExpire.value = String(settings.keysExpire);
  keysExpire.dataset.shown = keysExpire.value;
}

/** The `encryption` of `GET /pools/{pool}`: what seals new values, and what still needs the operator. */
function renderEncryption(encryption) {
  const sealing = $("encryption-sealing");
  const values = $("encryption-values");
  if (encryption === null) {
    sealing.textContent = "–";
    values.replaceChildren();
    for (const id of ["encryption-local", "encryption-reseal", "encryption-unavailable"]) $(id).hidden = true;
    return;
  }
  if (encryption.sealingKey === null) {
    sealing.textContent = "No encryption key (KEY_ENCRYPTION_KEY) is set: keys cannot be imported.";
  } else {
    const code = document.createElement("code");
    code.textContent = encryption.sealingKey;
    sealing.replaceChildren("New values are sealed under key ", code, ".");
  }
  $("encryption-local").hidden = !encryption.localDevelopmentKey;
  values.replaceChildren(
    ...encryption.values.map((entry) => {
      const item = document.createElement("li");
      const count = plural(entry.values, "value");
      if (entry.sealedBy === null) item.textContent = `${count} stored unencrypted`;
      else {
        const which =
          entry.sealedBy === encryption.sealingKey ? " (sealing key)" : entry.available ? "" : ": key missing";
        item.textContent = `${count} sealed under ${entry.sealedBy}${which}`;
      }
      item.classList.toggle("missing", !entry.available);
      return item;
    }),
  );
  const reseal = $("encryption-reseal");
  reseal.hidden = encryption.toReseal === 0;
  reseal.textContent = `${plural(encryption.toReseal, "value")} still to re-seal under the sealing key (done in the background).`;
  const unavailable = $("encryption-unavailable");
  unavailable.hidden = encryption.unavailable === 0;
  unavailable.textContent =
    `${plural(encryption.unavailable, "value")} sealed under keys no longer configured: they answer 503 until ` +
    "that key is back in KEY_ENCRYPTION_KEY.";
}

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
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
    <td class="label-cell">
      <span class="label-text"></span>
      <button type="button" data-action="label" class="small">Edit</button>
      <form class="label-form" autocomplete="off" hidden>
        <input class="label-input" maxlength="128" spellcheck="false" placeholder="no label" />
        <button type="submit" class="small">Save</button>
        <button type="button" data-action="label-cancel" class="small">Cancel</button>
      </form>
    </td>
    <td class="source"></td>
    <td><code class="hint"></code></td>
    <td><span class="badge"></span><span class="countdown cools"></span></td>
    <td class="created"></td>
    <td class="countdown expires"></td>
    <td class="countdown releases"></td>
    <td><span class="outcome"></span><span class="failures"></span></td>
    <td><div class="actions">
      <button type="button" data-action="toggle"></button>
      <button type="button" data-action="disable"></button>
      <button type="button" data-action="alive">Keep alive</button>
      <button type="button" data-action="history">History</button>
      <button type="button" data-action="delete" class="danger">Delete</button>
    </div></td>`;
  row.querySelector(".key-id").textContent = keyId;
  // Only a cooling key has a cooldown to count down; the others show nothing under their state.
  row.querySelector(".cools").dataset.none = "";
  const short = keyId.slice(0, 8);
  row.querySelector('[data-action="alive"]').setAttribute("aria-label", `Keep key ${short} alive`);
  row.querySelector('[data-action="delete"]').setAttribute("aria-label", `Delete key ${short}`);
  row.querySelector('[data-action="history"]').setAttribute("aria-label", `History of key ${short}`);
  row.querySelector('[data-action="label"]').setAttribute("aria-label", `Edit the label of key ${short}`);
  row.querySelector(".label-input").setAttribute("aria-label", `Label of key ${short}`);
  return row;
}

function fillRow(row, key) {
  const state = KEY_STATES.includes(key.state) ? key.state : "";
  for (const name of KEY_STATES) row.classList.toggle(name, name === state && name !== "free");
  row.dataset.label = key.label ?? "";
  const label = row.querySelector(".label-text");
  label.textContent = key.label ?? "—";
  label.classList.toggle("none", key.label === null);
  row.querySelector(".source").textContent = key.source;
  const hint = row.querySelector(".hint");
  hint.textContent = key.hint === null ? "—" : `…${key.hint}`;
  hint.title = key.hint === null ? "" : "the last 4 characters of the imported value";
  const badge = row.querySelector(".badge");
  badge.textContent = key.state;
  badge.className = `badge ${state}`;
  const created = row.querySelector(".created");
  created.textContent = new Date(key.createdAt).toLocaleString();
  created.title = key.createdAt;
  const expires = row.querySelector(".expires");
  // In a pool whose keys do not expire, there is no deadline to count down to.
  expires.dataset.deadline = key.expiresAt ?? "";
  expires.dataset.none = key.expiresAt === null ? "never" : "—";
  expires.title = key.expiresAt === null ? "keys in this pool do not expire" : `expires at ${key.expiresAt}`;
  const releases = row.querySelector(".releases");
  releases.dataset.deadline = key.releaseAt ?? "";
  releases.title = key.releaseAt === null ? "" : `released at ${key.releaseAt}`;
  // A disabled key may keep the end of a cooldown it had: it counts only once the key is enabled.
  const coolingUntil = key.state === "cooling" ? key.coolingUntil : null;
  const cools = row.querySelector(".cools");
  cools.dataset.deadline = coolingUntil ?? "";
  cools.title = coolingUntil === null ? "" : `cooling until ${coolingUntil}`;
  // Consecutive error reports: none is the usual case, and says nothing.
  row.querySelector(".failures").textContent = key.failures === 0 ? "" : plural(key.failures, "failure");
  const outcome = row.querySelector(".outcome");
  outcome.textContent = key.lastOutcome === null ? "—" : key.lastOutcome.replaceAll("_", " ");
  outcome.classList.toggle("none", key.lastOutcome === null);
  outcome.title = key.lastReportAt === null ? "" : `reported ${new Date(key.lastReportAt).toLocaleString()}`;
  const short = key.keyId.slice(0, 8);
  // A disabled key cannot be blocked (the server refuses): it is enabled first.
  const toggle = row.querySelector('[data-action="toggle"]');
  const action = key.isBlocked ? "Unblock" : "Block";
  if (toggle.textContent !== action) toggle.textContent = action;
  toggle.setAttribute("aria-label", `${action} key ${short}`);
  toggle.hidden = key.state === "disabled";
  const disable = row.querySelector('[data-action="disable"]');
  const switchTo = key.state === "disabled" ? "Enable" : "Disable";
  if (disable.textContent !== switchTo) disable.textContent = switchTo;
  disable.setAttribute("aria-label", `${switchTo} key ${short}`);
}

/** Counts every deadline on the page down; a deadline reaching zero triggers a refresh. */
function tick() {
  const now = Date.now();
  for (const cell of document.querySelectorAll("#keys .countdown")) {
    const deadline = cell.dataset.deadline;
    if (!deadline) {
      cell.textContent = cell.dataset.none ?? "—";
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

// ---- the audit trail ----

/**
 * A view of the audit trail a page at a time, newest first: the pool's activity, or one key's history
 * (`keyId`; null: the panel is closed). `cursors` holds the cursor each visited page started at, the
 * page asked for last; `shown` is the number of the page whose entries show. Its newest page is read on
 * every poll; an older one only once (`loaded`): the trail only grows, so it does not change. Opening
 * another pool or key makes a new feed, so an answer to an old one is dropped.
 */
function newFeed(name, limit, keyId = null) {
  return { name, limit, keyId, cursors: [null], shown: 1, next: null, entries: [], loaded: false, error: null };
}

/** The page `feed` shows, read unless it is an older page read already; a failure is returned, not thrown. */
async function readFeed(feed) {
  const cursor = feed.cursors.at(-1);
  if (cursor !== null && feed.loaded) return null;
  const query = new URLSearchParams({ limit: String(feed.limit) });
  if (feed.keyId !== null) query.set("keyId", feed.keyId);
  if (cursor !== null) query.set("after", cursor);
  try {
    return { cursor, page: await api("GET", `${poolPath()}/audit?${query}`) };
  } catch (error) {
    return { cursor, error };
  }
}

/** Keeps what `readFeed` read, if `feed` is still the one shown, on the same page. */
function showFeed(feed, read) {
  if (feed !== view[feed.name]) return;
  // An older page read before: nothing to read, and an error the poll showed here is over.
  if (read === null) feed.error = null;
  if (read === null || read.cursor !== feed.cursors.at(-1)) return;
  if (read.error === undefined) {
    feed.entries = read.page.entries;
    feed.next = read.page.cursor;
    feed.shown = feed.cursors.length;
    feed.loaded = true;
    feed.error = null;
  } else {
    feed.error = read.error.message;
  }
}

function changeFeedPage(feed, cursors) {
  feed.cursors = cursors;
  feed.loaded = false;
  // Until that page is read, there is no page known to be older.
  feed.next = null;
  renderFeed(feed);
  return refresh();
}

function renderFeed(feed) {
  const { name } = feed;
  const body = $(`${name}-entries`);
  // Entries never change: a row shown already is kept as it is (and the button under the pointer with it).
  const existing = new Map([...body.rows].map((row) => [row.dataset.seq, row]));
  const rows = feed.entries.map((entry) => existing.get(String(entry.seq)) ?? entryRow(entry, feed.keyId === null));
  rows.forEach((row, index) => {
    if (body.rows[index] !== row) body.insertBefore(row, body.rows[index] ?? null);
  });
  while (body.rows.length > rows.length) body.deleteRow(-1);
  const first = feed.cursors.length === 1;
  $(`${name}-page`).textContent = `page ${feed.shown}`;
  $(`${name}-newest`).disabled = first;
  $(`${name}-newer`).disabled = first;
  $(`${name}-older`).disabled = feed.next === null;
  const retention = view.retentionDays;
  $(`${name}-retention`).textContent =
    retention === null
      ? ""
      : retention === 0
        ? "This pool keeps no audit trail."
        : `Entries are kept ${plural(retention, "day")}.`;
  const empty = $(`${name}-empty`);
  empty.hidden = !feed.loaded || rows.length > 0;
  empty.textContent = feed.keyId === null ? "Nothing recorded." : "Nothing recorded for this key.";
  const error = $(`${name}-error`);
  error.hidden = feed.error === null;
  error.textContent = feed.error ?? "";
}

/** One entry: `withKey` for the pool's activity, whose key ids open their history. */
function entryRow(entry, withKey) {
  const row = document.createElement("tr");
  row.dataset.seq = String(entry.seq);
  row.className = `event-${entry.event}`;
  const time = textCell(new Date(entry.at).toLocaleString(), "time");
  time.title = `${entry.at} · entry ${entry.seq}`;
  const cells = [time, textCell(entry.event.replaceAll("_", " "), "event")];
  if (withKey) {
    const key = textCell(entry.keyId === null ? "—" : "", "key");
    if (entry.keyId !== null) {
      const open = document.createElement("button");
      const short = entry.keyId.slice(0, 8);
      open.type = "button";
      open.className = "small key-link";
      open.dataset.keyId = entry.keyId;
      open.textContent = `${short}…`;
      open.title = `${entry.keyId}: its history`;
      open.setAttribute("aria-label", `History of key ${short}`);
      key.append(open);
    }
    cells.push(key);
  }
  cells.push(textCell(entry.lease === null ? "—" : String(entry.lease), "lease"));
  const actor = textCell("", "actor");
  const role = document.createElement("span");
  role.className = "role";
  role.textContent = entry.actor.role;
  actor.append(role);
  if (entry.actor.token !== null) {
    const fingerprint = document.createElement("code");
    fingerprint.className = "fingerprint";
    fingerprint.textContent = entry.actor.token;
    fingerprint.title = "A fingerprint of the token that acted: the same token shows the same one";
    actor.append(" ", fingerprint);
  }
  cells.push(actor, textCell(entry.outcome === null ? "—" : entry.outcome.replaceAll("_", " "), "outcome"));
  const detail = textCell(describeDetail(entry.detail), "detail");
  if (entry.detail !== null) {
    detail.title = Object.entries(entry.detail)
      .map(([field, value]) => `${field}: ${value}`)
      .join("\n");
  }
  cells.push(detail);
  for (const cell of cells) {
    if (cell.textContent === "—") cell.classList.add("none");
  }
  row.append(...cells);
  return row;
}

function textCell(text, className) {
  const cell = document.createElement("td");
  cell.textContent = text;
  cell.className = className;
  return cell;
}

/** A block's release, a cooldown's end (local times), or the settings after a change. */
function describeDetail(detail) {
  if (detail === null) return "—";
  return Object.entries(detail)
    .map(([field, value]) => {
      if (field === "releaseAt") return `release at ${localTime(value)}`;
      if (field === "coolingUntil") return `cooling until ${localTime(value)}`;
      return `${field} ${value}`;
    })
    .join(", ");
}

function localTime(value) {
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? String(value) : time.toLocaleTimeString();
}

/** Opens the panel of a key's history (a modal dialog: Escape closes it too) and reads its newest page. */
function openHistory(keyId) {
  view.history = newFeed("history", HISTORY_PAGE, keyId);
  $("history-key").textContent = keyId;
  renderFeed(view.history);
  const dialog = $("history");
  if (!dialog.open) dialog.showModal();
  return refresh();
}

/** Closes the panel (its button, or another pool or token): its key is no longer read on the poll. */
function closeHistory() {
  forgetHistory();
  $("history").close();
}

function forgetHistory() {
  view.history = newFeed("history", HISTORY_PAGE);
  renderFeed(view.history);
}

// ---- actions ----

/**
 * Runs an action and shows its outcome. `describe` rewrites the text of an error and of its details
 * (an import names entries by line); by default a detail is its path and message.
 */
async function act(button, run, describe = (text) => text) {
  button.disabled = true;
  try {
    const text = await run();
    showMessage(text, "ok");
    await refresh();
    // Creating keys or settings makes a pool nobody had made: the picker lists it from now on.
    if (!view.pools.some((entry) => entry.pool === view.pool)) loadPools();
    return true;
  } catch (error) {
    const problems = error.details ?? [];
    // A 400 names its first problem in its message already: a list is shown when there is more to say.
    const repeated =
      problems.length === 1 && problems[0].keyId === undefined && error.message.includes(problems[0].path);
    const details = repeated
      ? []
      : problems.map((problem) => {
          const about = problem.keyId === undefined ? "" : ` (key ${problem.keyId})`;
          return describe(`${problem.path}: ${problem.message}${about}`);
        });
    showMessage(describe(error.message), "error", details);
    return false;
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
  } else if (action === "disable") {
    const disable = button.textContent === "Disable";
    await act(button, async () => {
      const info = await api("PUT", path, { disabled: disable });
      if (disable) return `Disabled key ${short}…: it is not handed out until it is enabled.`;
      return info.state === "cooling"
        ? `Enabled key ${short}…: it cools down until ${new Date(info.coolingUntil).toLocaleTimeString()}.`
        : `Enabled key ${short}…`;
    });
  } else if (action === "alive") {
    await act(button, async () => {
      const info = await api("PUT", `${path}/alive`);
      return info.expiresAt === null
        ? `Kept key ${short}… alive: keys in this pool do not expire.`
        : `Kept key ${short}… alive: it expires at ${new Date(info.expiresAt).toLocaleTimeString()}.`;
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
  } else if (action === "history") {
    openHistory(keyId);
  } else if (action === "label") {
    editLabel(button.closest("tr"), true);
  } else if (action === "label-cancel") {
    editLabel(button.closest("tr"), false);
  }
}

/** Opens (or closes) a row's label editor; polls leave the row's input alone while it is open. */
function editLabel(row, open) {
  row.classList.toggle("editing", open);
  row.querySelector(".label-form").hidden = !open;
  row.querySelector(".label-text").hidden = open;
  row.querySelector('[data-action="label"]').hidden = open;
  if (open) {
    const input = row.querySelector(".label-input");
    input.value = row.dataset.label;
    input.focus();
    input.select();
  }
}

async function onLabelSubmit(event) {
  event.preventDefault();
  const row = event.target.closest("tr");
  const keyId = row.dataset.keyId;
  const short = keyId.slice(0, 8);
  const label = row.querySelector(".label-input").value.trim();
  const saved = await act(event.submitter ?? event.target.querySelector("button"), async () => {
    // An empty label removes it.
    const info = await api("PUT", `${poolPath()}/keys/${keyId}`, { label: label === "" ? null : label });
    return info.label === null ? `Removed the label of key ${short}…` : `Labelled key ${short}… "${info.label}".`;
  });
  if (saved && row.isConnected) editLabel(row, false);
}

/**
 * Sends the values of the import form (one per line) and clears them once imported; a refused import
 * stays in the form, to be fixed and sent again. Problems come back by index (`body.keys.3.key`) and
 * are shown by line: the API never quotes a value, and neither does this page.
 */
async function importKeys(button) {
  const textarea = $("import-values");
  const lines = [];
  const keys = [];
  const label = $("import-label").value.trim();
  textarea.value.split("\n").forEach((line, index) => {
    const key = line.trim();
    if (key === "") return;
    lines.push(index + 1);
    keys.push(label === "" ? { key } : { key, label });
  });
  if (keys.length === 0) {
    showMessage("Paste the values to import, one per line.", "error");
    return;
  }
  if (keys.length > MAX_IMPORT) {
    showMessage(`At most ${MAX_IMPORT} values per import; this has ${keys.length}.`, "error");
    return;
  }
  const byLine = (text) =>
    text.replace(/body\.keys\.(\d+)(\.key|\.label)?/g, (match, index, field) => {
      const line = lines[Number(index)];
      if (line === undefined) return match;
      return field === ".label" ? `the label of line ${line}` : `line ${line}`;
    });
  await act(
    button,
    async () => {
      const created = await api("POST", `${poolPath()}/keys`, { keys });
      textarea.value = "";
      const labelled = label === "" ? "" : ` labelled "${label}"`;
      return `Imported ${plural(created.keyIds.length, "key")}${labelled} into ${view.pool}.`;
    },
    byLine,
  );
}

function openPool(name) {
  view.pool = name;
  view.cursors = [null];
  view.settingsDirty = false;
  $("pool").value = name;
  history.replaceState(null, "", `#pool=${encodeURIComponent(name)}`);
  renderPicker();
  clearData();
  return startPolling();
}

// ---- the pool picker ----

/**
 * Loads the first page of `GET /pools` (with `more`, the next one) into the picker. Asked for when the
 * page starts, a token is given, or an action may have made a pool, never on the poll: a page of pools
 * costs the server a call to each. A refused or failed load leaves the picker as it was.
 */
async function loadPools(more = false) {
  const generation = view.generation;
  const query = new URLSearchParams({ limit: String(POOL_PAGE) });
  if (more && view.poolsNext !== null) query.set("cursor", view.poolsNext);
  let page;
  try {
    page = await api("GET", `/pools?${query}`);
  } catch {
    return;
  }
  if (generation !== view.generation) return;
  view.pools = more ? [...view.pools, ...page.pools] : page.pools;
  view.poolsNext = page.cursor;
  renderPicker();
}

/** The picker shows the pools loaded, and the pool open even when it is not listed (nobody made it yet). */
function renderPicker() {
  const picker = $("pool-picker");
  const listed = view.pools.some((entry) => entry.pool === view.pool);
  const entries = listed ? view.pools : [{ pool: view.pool, keys: undefined }, ...view.pools];
  picker.replaceChildren(
    ...entries.map((entry) => {
      const option = document.createElement("option");
      option.value = entry.pool;
      option.textContent = `${entry.pool} — ${describePool(entry)}`;
      return option;
    }),
  );
  picker.value = view.pool;
  $("known-pools").replaceChildren(
    ...view.pools.map((entry) => {
      const option = document.createElement("option");
      option.value = entry.pool;
      return option;
    }),
  );
  $("more-pools").hidden = view.poolsNext === null;
}

function describePool(entry) {
  if (entry.keys === undefined) return "not listed";
  if (entry.keys === null) return "not answering";
  return `${plural(entry.keys.total, "key")}, ${entry.keys.free} free`;
}

function forgetPools() {
  view.pools = [];
  view.poolsNext = null;
  renderPicker();
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
    if (await startPolling()) {
      showMessage("Token accepted.", "ok");
      loadPools();
    }
  });
  $("forget-token").addEventListener("click", () => {
    setToken("");
    forgetPools();
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
  $("pool-picker").addEventListener("change", () => openPool($("pool-picker").value));
  $("more-pools").addEventListener("click", () => loadPools(true));
  $("create-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const count = Number($("create-count").value);
    const label = $("create-label").value.trim();
    await act(event.submitter ?? $("create-form").querySelector("button"), async () => {
      const created = await api("POST", `${poolPath()}/keys`, label === "" ? { count } : { count, label });
      return `Created ${created.keyIds.length} key${created.keyIds.length === 1 ? "" : "s"} in ${view.pool}.`;
    });
  });
  $("settings-form").addEventListener("input", () => {
    view.settingsDirty = true;
    view.settingsEdits += 1;
  });
  $("settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    // A field left empty (a pool nobody made yet shows none) stays as it is.
    const body = {};
    for (const { id, field, always } of NUMBER_SETTINGS) {
      const input = $(id);
      const changed = input.value !== input.dataset.shown;
      if (input.value.trim() !== "" && (always || changed)) body[field] = Number(input.value);
    }
    // Sent only when changed: switching it applies to every key at once.
    const keysExpire = $("keys-expire");
    if (keysExpire.value !== "" && keysExpire.value !== keysExpire.dataset.shown) {
      body.keysExpire = keysExpire.value === "true";
    }
    await saveSettings(event.submitter, body);
  });
  // keysExpire is left as it is: switching it applies to every key at once.
  $("reset-settings").addEventListener("click", (event) =>
    saveSettings(event.currentTarget, Object.fromEntries(NUMBER_SETTINGS.map(({ field }) => [field, null]))),
  );
  $("keys").addEventListener("click", onKeyAction);
  $("keys").addEventListener("submit", onLabelSubmit);
  $("keys").addEventListener("keydown", (event) => {
    if (event.key === "Escape" && event.target.matches(".label-input")) editLabel(event.target.closest("tr"), false);
  });
  $("import-form").addEventListener("submit", (event) => {
    event.preventDefault();
    importKeys(event.submitter ?? $("import-form").querySelector("button[type=submit]"));
  });
  $("import-show").addEventListener("change", () => {
    $("import-values").classList.toggle("masked", !$("import-show").checked);
  });
  // Values typed but not imported are not left for the back-forward cache or a restored tab.
  addEventListener("pagehide", () => {
    $("import-values").value = "";
  });
  $("state").addEventListener("change", () => {
    view.listState = $("state").value;
    changePage([null]);
  });
  $("page-size").addEventListener("change", () => {
    view.limit = Number($("page-size").value);
    changePage([null]);
  });
  for (const name of ["activity", "history"]) {
    $(`${name}-newest`).addEventListener("click", () => changeFeedPage(view[name], [null]));
    $(`${name}-newer`).addEventListener("click", () => changeFeedPage(view[name], view[name].cursors.slice(0, -1)));
    $(`${name}-older`).addEventListener("click", () => {
      const feed = view[name];
      if (feed.next !== null) changeFeedPage(feed, [...feed.cursors, feed.next]);
    });
  }
  $("activity-entries").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-key-id]");
    if (button !== null) openHistory(button.dataset.keyId);
  });
  $("history-close").addEventListener("click", closeHistory);
  // Escape closes the dialog by itself. The event comes later, when the panel may show another key already.
  $("history").addEventListener("close", () => {
    if (!$("history").open) forgetHistory();
  });
  $("first-page").addEventListener("click", () => changePage([null]));
  $("prev-page").addEventListener("click", () => changePage(view.cursors.slice(0, -1)));
  $("next-page").addEventListener("click", () => {
    if (view.next !== null) changePage([...view.cursors, view.next]);
  });
}

async function saveSettings(button, body) {
  const edits = view.settingsEdits;
  await act(button, async () => {
    const settings = await api("PUT", `${poolPath()}/settings`, body);
    if (view.settingsEdits === edits) view.settingsDirty = false;
    const expiry = settings.keysExpire ? "keys expire" : "keys never expire";
    return (
      `Settings saved: key TTL ${settings.keyTtlSeconds} s, block TTL ${settings.blockTtlSeconds} s, ${expiry}, ` +
      `cooldown ${settings.cooldownSeconds} s, max failures ${settings.maxFailures}, ` +
      `lock delay ${settings.lockDelaySeconds} s, ${describeRetention(settings.auditRetentionDays)}. ` +
      "TTLs apply to deadlines set from now on."
    );
  });
}

function describeRetention(days) {
  return days === 0 ? "no audit trail" : `audit trail kept ${plural(days, "day")}`;
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
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("pool");
  openPool(fromHash !== null && POOL_NAME.test(fromHash) ? fromHash : "default");
  loadPools();
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
