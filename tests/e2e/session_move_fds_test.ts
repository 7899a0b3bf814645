/**
 * Regression test for a descriptor leak the soak found: every session moved
 * by a cutover left its old database socket open (paused, never read, so it
 * never saw the server's close), one descriptor per session per cutover.
 * Four sessions through one proxy, four cutovers back and forth: the proxy's
 * open descriptors must not grow with the moves.
 */

import assert from "node:assert/strict";
import pg from "pg";
import { startChaosFleet } from "../chaos/chaos_fleet.ts";
import { consistentCutover } from "../chaos/cutover_op.ts";
import { fdsOf } from "../helpers/watched_proxy.ts";

const SESSIONS = 4;
const CUTOVERS = 4;

Deno.test("moved sessions close their old database socket", async () => {
  await using fleet = await startChaosFleet(1);
  const clients: pg.Client[] = [];
  try {
    for (let i = 0; i < SESSIONS; i++) {
      const c = new pg.Client({ host: "127.0.0.1", port: fleet.ports()[0], user: "postgres" });
      await c.connect();
      clients.push(c);
    }
    const ask = async () => {
      for (const c of clients) await c.query("SELECT inet_server_port()");
    };
    await ask();
    const before = fdsOf(fleet.proxy(0).pid);
    let from: "source" | "target" = "source";
    for (let i = 0; i < CUTOVERS; i++) {
      assert.equal(await consistentCutover(fleet, from), null);
      from = from === "source" ? "target" : "source";
      await ask();
    }
    // Sockets closed through end() get up to a second to finish.
    await new Promise((r) => setTimeout(r, 1_500));
    const after = fdsOf(fleet.proxy(0).pid);
    assert.ok(
      after - before < SESSIONS,
      `${after - before} more descriptors after ${CUTOVERS} cutovers of ${SESSIONS} sessions`,
    );
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
});
