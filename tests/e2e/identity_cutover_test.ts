/**
 * Identity end to end, with real processes: an application user logs in to
 * the proxy with SCRAM-SHA-256 and keeps running as itself — `current_user`,
 * its row-level security — after a consistent cutover driven by the CLI and
 * an immediate one back. A user whose verifier differs on the target blocks
 * the drain, and the CLI and the API say why.
 */

import assert from "node:assert/strict";
import pg from "pg";
import { cli, eventually, startFleet, waitForProxies } from "../helpers/fleet.ts";
import { run } from "../helpers/proxy.ts";
import { b64, keysFromPassword } from "../../proxy/pg/scram_passthrough.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PASSWORD = "e2e-Pw-1";
const DRIFT_PASSWORD = "e2e-Drift-2";

/** The verifier a migration copies: one salt, the same on both databases. */
function copiedVerifier(): string {
  const salt = new Uint8Array(16).map((_, i) => i * 7 + 3);
  const k = keysFromPassword(PASSWORD, salt, 4096);
  return `SCRAM-SHA-256$4096:${b64(salt)}$${b64(k.storedKey)}:${b64(k.serverKey)}`;
}

// The drift user's password is set on each database on its own: two salts, two verifiers.
const SCHEMA = `
SET password_encryption = 'scram-sha-256';
CREATE ROLE app_e2e LOGIN PASSWORD '${copiedVerifier()}';
CREATE ROLE app_e2e_drift LOGIN PASSWORD '${DRIFT_PASSWORD}';
CREATE TABLE notes (id int PRIMARY KEY, owner text NOT NULL);
INSERT INTO notes VALUES (1, 'app_e2e'), (2, 'app_e2e_drift'), (3, 'postgres');
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON notes USING (owner = current_user);
GRANT SELECT ON notes TO app_e2e, app_e2e_drift;
CREATE TABLE replicated (id int PRIMARY KEY);
`;

async function connect(port: number, user: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({ host: "127.0.0.1", port, user, password, database: "postgres" });
  client.on("error", () => {});
  await client.connect();
  return client;
}

async function who(client: pg.Client): Promise<string> {
  const res = await client.query(
    `SELECT current_user || '|' || session_user || '|' || inet_server_port() || '|' ||
            (SELECT string_agg(owner, ',') FROM notes) AS w`,
  );
  return res.rows[0].w;
}

Deno.test("a SCRAM user keeps its identity through CLI-driven cutovers", async () => {
  await using fleet = await startFleet({
    proxies: 1,
    schema: SCHEMA,
    replicate: ["replicated"],
    hba: ["host all app_e2e,app_e2e_drift 127.0.0.1/32 scram-sha-256"],
  });
  await waitForProxies(fleet.orchestrator.url, 1);
  const port = fleet.proxies[0].port;
  const app = await connect(port, "app_e2e", PASSWORD);
  const drift = await connect(port, "app_e2e_drift", DRIFT_PASSWORD);
  try {
    assert.equal(await who(app), `app_e2e|app_e2e|${fleet.source.port}|app_e2e`);

    const begin = await cli(fleet.orchestrator.url, [
      "cutover",
      "consistent",
      "begin",
      "--drain-timeout",
      "3s",
    ]);
    assert.equal(begin.code, 5, `${begin.stderr}${begin.stdout}`);
    const status = await fetch(`${fleet.orchestrator.url}/api/v1/status`).then((r) => r.json());
    const blocking = status.cutover.blocking as { user: string; reason?: string }[];
    assert.deepEqual(blocking.map((b) => b.user), ["app_e2e_drift"]);
    assert.match(
      blocking[0].reason ?? "",
      /the SCRAM verifier of app_e2e_drift on the target database differs/,
    );
    const text = await run(Deno.execPath(), [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      `${ROOT}cli/main.ts`,
      "status",
      "--orchestrator-url",
      fleet.orchestrator.url,
    ]);
    assert.match(text.stdout, /Between transactions, but cannot be moved/);
    assert.match(text.stdout, /app_e2e_drift/);

    await drift.end();
    await eventually("drained", async () => {
      const s = await fetch(`${fleet.orchestrator.url}/api/v1/status`).then((r) => r.json());
      return s.phase === "drained" && s.cutover?.replication?.caughtUp === true;
    });
    const commit = await cli(fleet.orchestrator.url, [
      "cutover",
      "consistent",
      "commit",
    ]);
    assert.equal(commit.code, 0, `${commit.stderr}${commit.stdout}`);
    assert.equal(await who(app), `app_e2e|app_e2e|${fleet.target.port}|app_e2e`);

    // Without shadowing an immediate cutover is refused unless forced (the docs' warning).
    const back = await cli(fleet.orchestrator.url, ["cutover", "immediate", "--force"]);
    assert.equal(back.code, 0, `${back.stderr}${back.stdout}`);
    await eventually(
      "back on the source",
      async () => (await who(app)).includes(`|${fleet.source.port}|`),
    );
    assert.equal(await who(app), `app_e2e|app_e2e|${fleet.source.port}|app_e2e`);
  } finally {
    await app.end().catch(() => {});
    await drift.end().catch(() => {});
  }
});
