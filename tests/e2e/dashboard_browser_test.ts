/**
 * The orchestrator's dashboard in headless Chromium against a real fleet (two
 * proxies, source and target clusters with replication, the real CLI): what
 * the page shows equals `molt-lms-cli status --output json` before, during
 * and after a consistent cutover taken through the page's own buttons; an
 * action is refused while the orchestrator runs without
 * `--dashboard-allow-actions`; the page keeps updating across an orchestrator
 * restart. Screenshots go to tests/artifacts/dashboard/ (git-ignored).
 */

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { startBrowser } from "../helpers/browser.ts";
import {
  apiHeaders,
  cli,
  eventually,
  type Fleet,
  startFleet,
  TEST_API_TOKEN,
  waitForProxies,
} from "../helpers/fleet.ts";
import { pgClient } from "../helpers/pg_client.ts";

const ARTIFACTS = new URL("../artifacts/dashboard/", import.meta.url);
const SCHEMA = "CREATE TABLE items (id int PRIMARY KEY, v text)";

/** What the page shows, read from its `data-k` cells. */
interface Shown {
  sourceOfTruth: string;
  epoch: number;
  phase: string;
  generatedAt: string;
  proxies: Record<string, Record<string, string>>;
  cutover: Record<string, string> | null;
  history: string[];
  actions: string[];
}

// Runs in the page: a string, so the test itself needs no DOM types.
const READ_PAGE = `(() => {
  const text = (root, k) => root.querySelector('[data-k="' + k + '"]')?.textContent.trim();
  const proxies = {};
  for (const row of document.querySelectorAll("tr[data-proxy]")) {
    const cells = {};
    for (const td of row.querySelectorAll("[data-k]")) cells[td.dataset.k] = td.textContent.trim();
    cells.heartbeatAt = row.querySelector('[data-k="heartbeatAge"]').dataset.at;
    proxies[row.dataset.proxy] = cells;
  }
  const section = document.getElementById("cutover");
  const cutover = section ? {
    drained: text(section, "drained"), total: text(section, "total"),
    openTransactions: text(section, "openTransactions"),
    blockingCount: text(section, "blockingCount"),
  } : null;
  return {
    sourceOfTruth: text(document, "sourceOfTruth"), epoch: Number(text(document, "epoch")),
    phase: text(document, "phase"), generatedAt: text(document, "generatedAt") ?? "",
    proxies, cutover,
    history: [...document.querySelectorAll('[data-k="historyEpoch"]')].map((e) => e.textContent.trim()),
    actions: [...document.querySelectorAll("#actions button[data-action]")].map((b) => b.dataset.action),
  };
})()`;

interface CliStatus {
  sourceOfTruth: string;
  epoch: number;
  phase: string;
  proxies: {
    id: string;
    connected: boolean;
    shadowMode: string;
    sessions: { total: number; inTransaction: number; held: number };
    lastHeartbeatAt: string | null;
    epoch: number | null;
    paused: boolean;
    drained: boolean;
  }[];
  cutover: { drained: number; total: number; openTransactions: number; blocking: unknown[] } | null;
  history: { epoch: number }[];
}

/** Every difference between what the page shows and `molt-lms-cli status` now. */
async function differences(page: Page, fleet: Fleet): Promise<string[]> {
  const shown = await page.evaluate<Shown>(READ_PAGE);
  const out = await cli(fleet.orchestrator.url, ["status"]);
  if (out.code !== 0) return [`status failed: ${out.stderr}`];
  const status = out.json as CliStatus;
  const cliAt = Date.now();
  const diff: string[] = [];
  const same = (what: string, page: unknown, cliValue: unknown) => {
    if (String(page) !== String(cliValue)) diff.push(`${what}: page ${page}, cli ${cliValue}`);
  };
  same("source of truth", shown.sourceOfTruth, status.sourceOfTruth);
  same("epoch", shown.epoch, status.epoch);
  same("phase", shown.phase, status.phase);
  same("proxies", Object.keys(shown.proxies).sort(), status.proxies.map((p) => p.id).sort());
  for (const p of status.proxies) {
    const row = shown.proxies[p.id];
    if (!row) continue;
    same(`${p.id} connected`, row.connected, p.connected ? "yes" : "no");
    same(`${p.id} sessions`, row.sessions, p.sessions.total);
    same(`${p.id} in transaction`, row.inTransaction, p.sessions.inTransaction);
    same(`${p.id} held`, row.held, p.sessions.held);
    same(`${p.id} epoch`, row.epoch, p.epoch ?? "—");
    same(`${p.id} shadow mode`, row.shadowMode, p.shadowMode);
    const state = !p.connected
      ? "disconnected"
      : p.drained
      ? "drained"
      : status.cutover || p.paused
      ? "blocking"
      : "serving";
    same(`${p.id} state`, row.state, state);
    // Heartbeats arrive every second: the page's age must be what the CLI's timestamp gives.
    const age = Number.parseFloat(row.heartbeatAge);
    const cliAge = (cliAt - Date.parse(p.lastHeartbeatAt ?? "")) / 1000;
    if (!(Math.abs(age - cliAge) <= 4)) {
      diff.push(`${p.id} heartbeat age: page ${age}, cli ${cliAge}`);
    }
  }
  if (status.cutover === null) same("cutover section", shown.cutover, null);
  else if (shown.cutover === null) diff.push("page shows no cutover in progress");
  else {
    same("drained", shown.cutover.drained, status.cutover.drained);
    same("total", shown.cutover.total, status.cutover.total);
    same("open transactions", shown.cutover.openTransactions, status.cutover.openTransactions);
    same("blocking", shown.cutover.blockingCount, status.cutover.blocking.length);
  }
  same("history epochs", shown.history, status.history.map((h) => h.epoch));
  return diff;
}

/** Waits until the page and the CLI agree (the page is at most one snapshot behind). */
async function pageMatchesCli(page: Page, fleet: Fleet, when: string): Promise<void> {
  let last: string[] = [];
  try {
    await eventually(`the page to match status ${when}`, async () => {
      last = await differences(page, fleet);
      return last.length === 0;
    }, 30_000);
  } catch {
    assert.fail(`${when}: the page differs from molt-lms-cli status:\n${last.join("\n")}`);
  }
}

async function shown(page: Page): Promise<Shown> {
  return await page.evaluate<Shown>(READ_PAGE);
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS).pathname, fullPage: true });
}

/** Clicks `action`, types the phrase the page asks for and the token, and confirms. */
async function act(page: Page, action: string): Promise<string> {
  await page.click(`#actions button[data-action="${action}"]`);
  const phrase = (await page.textContent("#actions .phrase"))!.trim();
  await page.fill("#actions input[name=confirm]", phrase);
  await page.fill("#actions input[name=token]", TEST_API_TOKEN);
  await page.click("#actions button[name=go]");
  // Polled from here: the page's CSP forbids the string evaluation waitForFunction uses.
  await eventually(`the page's answer to ${action}`, async () => {
    const text = (await page.textContent("#actions .result")) ?? "";
    return text.startsWith(`${action}: `) || text.includes("refused");
  }, 30_000);
  return (await page.textContent("#actions .result"))!;
}

Deno.test("dashboard: a consistent cutover watched and driven in Chromium", async (t) => {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await using fleet = await startFleet({ proxies: 2, schema: SCHEMA, replicate: ["items"] });
  await waitForProxies(fleet.orchestrator.url, 2);
  await using browser = await startBrowser();
  const page = await browser.context.newPage();
  await page.goto(`${fleet.orchestrator.url}/`);
  const client = pgClient(fleet.proxies[0].port);
  await client.connect();
  try {
    await t.step("before: read-only, numbers equal status", async () => {
      await page.waitForSelector('[data-k="epoch"]');
      await pageMatchesCli(page, fleet, "before the cutover");
      assert.deepEqual((await shown(page)).actions, [], "no buttons without the flag");
      assert.ok(await page.isHidden("#actions"));
      await screenshot(page, "1-before");
    });

    await t.step("an action is refused without --dashboard-allow-actions", async () => {
      const res = await fetch(`${fleet.orchestrator.url}/dashboard/actions/begin`, {
        method: "POST",
        headers: apiHeaders(),
        body: JSON.stringify({ from: "source", confirm: "begin source to target" }),
      });
      const body = await res.json() as { error: { code: string; hint: string } };
      assert.equal(res.status, 403);
      assert.equal(body.error.code, "DASHBOARD_ACTIONS_DISABLED");
      assert.match(body.error.hint, /--dashboard-allow-actions/);
      const status = (await cli(fleet.orchestrator.url, ["status"])).json as CliStatus;
      assert.equal(status.phase, "idle", "nothing happened");
    });

    await t.step("the page goes on updating after the orchestrator restarts", async () => {
      const before = (await shown(page)).generatedAt;
      const restartedAt = Date.now();
      await fleet.restartOrchestrator({
        LMS_DASHBOARD_ALLOW_ACTIONS: "true",
        ORCH_ALLOW_ORIGIN: "https://ops.example.com",
      });
      await waitForProxies(fleet.orchestrator.url, 2);
      await eventually("fresh snapshots from the new orchestrator", async () => {
        const now = await shown(page);
        return now.generatedAt !== before && Date.parse(now.generatedAt) > restartedAt &&
          now.actions.includes("begin");
      }, 30_000);
      assert.equal(await page.textContent("#link"), "live");
      await pageMatchesCli(page, fleet, "after the restart");
    });

    await t.step("the same API rules: CORS, token and typed confirmation", async () => {
      const url = `${fleet.orchestrator.url}/dashboard/actions/begin`;
      const preflight = await fetch(url, {
        method: "OPTIONS",
        headers: { origin: "https://ops.example.com", "access-control-request-method": "POST" },
      });
      await preflight.body?.cancel();
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), "https://ops.example.com");
      const post = (headers: Record<string, string>, confirm: string) =>
        fetch(url, {
          method: "POST",
          headers,
          body: JSON.stringify({ from: "source", confirm }),
        }).then(async (r) => ({ status: r.status, code: (await r.json()).error?.code }));
      assert.deepEqual(
        await post({ "content-type": "application/json" }, "begin source to target"),
        { status: 401, code: "UNAUTHORIZED" },
      );
      assert.deepEqual(await post(apiHeaders(), "begin"), {
        status: 400,
        code: "CONFIRMATION_MISMATCH",
      });
      assert.equal((await shown(page)).phase, "idle");
    });

    await t.step("during: begin from the page, a transaction blocks the drain", async () => {
      await client.query("BEGIN");
      await client.query("INSERT INTO items VALUES (1, 'held open')");
      assert.match(await act(page, "begin"), /^begin: accepted/);
      await eventually("the blocking session on the page", async () => {
        const s = await shown(page);
        return s.phase === "draining" && s.cutover?.blockingCount === "1";
      }, 30_000);
      assert.match((await page.textContent("#cutover table.blocking"))!, /INSERT INTO items/);
      await pageMatchesCli(page, fleet, "during the drain");
      await screenshot(page, "2-during-draining");
      await client.query("COMMIT");
      await eventually("the fleet drained on the page", async () => {
        const s = await shown(page);
        return s.phase === "drained" && s.actions.includes("commit");
      }, 30_000);
      await eventually("replication caught up on the page", async () => {
        return /caught up/.test((await page.textContent('[data-k="replication"]')) ?? "");
      }, 30_000);
      await pageMatchesCli(page, fleet, "drained");
      await screenshot(page, "3-during-drained");
    });

    await t.step("after: commit from the page, the target is the source of truth", async () => {
      assert.match(await act(page, "commit"), /^commit: accepted/);
      await eventually("the new state on the page", async () => {
        const s = await shown(page);
        return s.sourceOfTruth === "target" && s.phase === "idle" &&
          Object.values(s.proxies).every((p) => p.epoch === String(s.epoch));
      }, 30_000);
      await pageMatchesCli(page, fleet, "after the cutover");
      const { rows } = await client.query("SELECT inet_server_port() AS port");
      assert.equal(Number(rows[0].port), fleet.target.port, "the session moved to the target");
      await screenshot(page, "4-after");
    });
  } finally {
    await client.end().catch(() => {});
  }
});
