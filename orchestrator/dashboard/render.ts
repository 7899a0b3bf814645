/**
 * Turns a {@linkcode DashboardSnapshot} into the page's live HTML. Pure
 * string building (every value escaped), so it runs in the browser bundle and
 * needs no framework. Each number carries a `data-k` name, which the browser
 * test reads back and compares with `molt-lms-cli status`.
 *
 * @module
 */

import type { ProxyStatus, ShadowWindow } from "../../shared/api.ts";
import type { DashboardSnapshot } from "./snapshot.ts";

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes `value` for HTML text and attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

const cell = (key: string, value: unknown, cls = "") =>
  `<td data-k="${esc(key)}"${cls ? ` class="${cls}"` : ""}>${esc(value)}</td>`;

/** Seconds between two ISO times, one decimal; "—" when there is none. */
export function ageSeconds(at: string | null, now: string): string {
  if (!at) return "—";
  return Math.max(0, (Date.parse(now) - Date.parse(at)) / 1000).toFixed(1);
}

/** What a proxy is doing, in the words of the fleet table. */
export function proxyState(p: ProxyStatus, cutover: boolean): string {
  if (!p.connected) return "disconnected";
  if (p.drained) return "drained";
  if (cutover || p.paused) return "blocking";
  return "serving";
}

function fleet(s: DashboardSnapshot): string {
  const { status } = s;
  if (status.proxies.length === 0) return `<p class="empty">No proxies have registered.</p>`;
  const rows = status.proxies.map((p) => {
    const state = proxyState(p, status.cutover !== null);
    const offEpoch = p.epoch !== null && p.epoch !== status.epoch;
    return `<tr data-proxy="${esc(p.id)}">
      <th scope="row">${esc(p.id)}</th>
      ${cell("connected", p.connected ? "yes" : "no")}
      ${cell("sessions", p.sessions.total)}
      ${cell("inTransaction", p.sessions.inTransaction)}
      ${cell("held", p.sessions.held)}
      ${cell("epoch", p.epoch ?? "—", offEpoch ? "warn" : "")}
      <td data-k="heartbeatAge" data-at="${esc(p.lastHeartbeatAt ?? "")}">${
      esc(ageSeconds(p.lastHeartbeatAt, s.generatedAt))
    } s</td>
      ${cell("state", state, `state-${state}`)}
      ${cell("shadowMode", p.shadowMode)}
      ${cell("version", p.version)}
    </tr>`;
  }).join("");
  return `<table class="fleet"><thead><tr><th>proxy</th><th>connected</th><th>sessions</th>
    <th>in tx</th><th>held</th><th>epoch</th><th>heartbeat</th><th>state</th><th>shadow</th>
    <th>version</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function cutover(s: DashboardSnapshot): string {
  const c = s.status.cutover;
  if (!c) return "";
  const perProxy = s.status.proxies.filter((p) => p.connected).map((p) =>
    `<li data-drain="${esc(p.id)}" class="${p.drained ? "ok" : "warn"}">${esc(p.id)}: ${
      p.drained ? "drained" : `${p.sessions.inTransaction} open transaction(s)`
    }</li>`
  ).join("");
  const blocking = c.blocking.length === 0
    ? `<p class="empty">No session blocks the drain.</p>`
    : `<table class="blocking"><thead><tr><th>proxy</th><th>session</th><th>user</th>
      <th>in transaction (ms)</th><th>query (redacted)</th><th>reason</th></tr></thead><tbody>${
      c.blocking.map((b) =>
        `<tr data-session="${esc(b.sessionId)}"><td>${esc(b.proxyId)}</td><td>${
          esc(b.sessionId)
        }</td><td>${esc(b.user)}</td>${cell("blockingAgeMs", Math.round(b.inTransactionForMs))}<td>
        <code>${esc(b.query)}</code></td><td>${esc(b.reason ?? "")}</td></tr>`
      ).join("")
    }</tbody></table>`;
  const r = c.replication;
  const replication = !r.checked
    ? "not checked yet"
    : r.caughtUp
    ? `caught up, lag <span data-k="lagMs">${esc(r.lagMs ?? "—")}</span> ms`
    : `catching up${r.error ? `: ${esc(r.error)}` : ""}`;
  return `<section class="cutover" id="cutover"><h2>Cutover ${esc(c.id)} (${esc(c.kind)})</h2>
    <p>Drain: <strong data-k="drained">${c.drained}</strong> of <strong data-k="total">${c.total}</strong>
    proxies drained, <span data-k="openTransactions">${c.openTransactions}</span> open transaction(s),
    <span data-k="blockingCount">${c.blocking.length}</span> blocking session(s)${
    c.drainTimedOut ? ` <span class="warn">drain timed out</span>` : ""
  }</p>
    <progress max="${Math.max(c.total, 1)}" value="${c.total === 0 ? 1 : c.drained}"></progress>
    <ul class="drain">${perProxy}</ul>
    ${blocking}
    <p>Replication: <span data-k="replication" class="${
    r.caughtUp ? "ok" : "warn"
  }">${replication}</span></p>
  </section>`;
}

function rate(w: ShadowWindow): string {
  return w.mismatchRate === null ? "—" : `${(w.mismatchRate * 100).toFixed(3)} %`;
}

function shadow(s: DashboardSnapshot): string {
  const r = s.shadow;
  if (!r) {
    return `<section><h2>Shadowing</h2><p class="empty">${
      esc(s.shadowError ?? "no report yet")
    }</p></section>`;
  }
  const w = r.windows;
  const worst = r.samples.length === 0
    ? `<p class="empty">No mismatch recorded.</p>`
    : `<table><thead><tr><th>fingerprint</th><th>kind</th><th>count</th><th>last seen</th></tr>
      </thead><tbody>${
      r.samples.map((x) =>
        `<tr><td><code>${esc(x.fingerprint)}</code></td><td>${esc(x.kind)}</td><td>${x.count}</td>
        <td>${esc(x.lastSeen)}</td></tr>`
      ).join("")
    }</tbody></table>`;
  const verdict = r.judgement.readyForImmediateCutover
    ? `<span class="ok" data-k="verdict">ready for an immediate cutover</span>`
    : `<span class="warn" data-k="verdict">not ready for an immediate cutover</span><ul>${
      r.judgement.reasons.map((x) => `<li>${esc(x)}</li>`).join("")
    }</ul>`;
  return `<section><h2>Shadowing</h2>
    <table class="windows"><thead><tr><th>mismatch rate</th><th>1 h</th><th>24 h</th><th>7 d</th>
    </tr></thead><tbody><tr><th scope="row">rate</th>${cell("rate1h", rate(w.lastHour))}${
    cell("rate24h", rate(w.lastDay))
  }${cell("rate7d", rate(w.lastSevenDays))}</tr><tr><th scope="row">statements</th>${
    cell("statements1h", w.lastHour.statements)
  }${cell("statements24h", w.lastDay.statements)}${
    cell("statements7d", w.lastSevenDays.statements)
  }</tr></tbody></table>
    <p>Seven-day readiness: ${verdict}</p>
    <h3>Worst fingerprints</h3>${worst}</section>`;
}

function history(s: DashboardSnapshot): string {
  const h = s.status.history;
  if (h.length === 0) {
    return `<section><h2>History</h2><p class="empty">No events yet.</p></section>`;
  }
  return `<section><h2>History</h2><table class="history"><thead><tr><th>when</th><th>epoch</th>
    <th>step</th><th>actor</th></tr></thead><tbody>${
    h.map((e) =>
      `<tr data-event="${e.id}"><td>${esc(e.at)}</td>${cell("historyEpoch", e.epoch)}<td>${
        esc(e.step)
      }</td><td>${esc(e.actor)}</td></tr>`
    ).join("")
  }</tbody></table></section>`;
}

/** The live part of the page for `s`. */
export function renderSnapshot(s: DashboardSnapshot): string {
  const st = s.status;
  return `<header class="state">
      <div><span class="label">source of truth</span><span class="big" data-k="sourceOfTruth">${
    esc(st.sourceOfTruth)
  }</span></div>
      <div><span class="label">epoch</span><span class="big" data-k="epoch">${st.epoch}</span></div>
      <div><span class="label">phase</span><span class="big phase-${
    esc(st.phase)
  }" data-k="phase">${esc(st.phase)}</span></div>
    </header>
    <p class="meta">${st.initialized ? "" : `<strong class="warn">not initialized</strong> · `}${
    esc(st.sourceDialect)
  } source · fleet shadow mode ${esc(st.shadowMode)} · updated <time data-k="generatedAt">${
    esc(s.generatedAt)
  }</time></p>
    ${cutover(s)}
    <section><h2>Fleet</h2>${fleet(s)}</section>
    ${shadow(s)}
    ${history(s)}`;
}
