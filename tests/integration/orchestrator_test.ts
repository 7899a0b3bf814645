/**
 * The orchestrator end to end over its real transports: HTTPS API and WSS
 * control channel with mTLS, the state store in a throwaway PostgreSQL target,
 * logical replication of the marker table from a throwaway source, and two
 * control clients backed by an in-test ControlHandler that stands in for the
 * proxy core.
 */
import assert from "node:assert/strict";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { freePort } from "../../shared/local/ports.ts";
import { API_PATHS, type ApiErrorBody, type StatusResponse } from "../../shared/api.ts";
import { processIdFor } from "../../shared/cancel_key.ts";
import type {
  BlockingSession,
  ClusterState,
  ConnectionInfo,
  SessionCounts,
  ShadowModeName,
} from "../../shared/control.ts";
import { CONSISTENT_MODE_WARNING, IMMEDIATE_MODE_WARNING } from "../../orchestrator/cutover.ts";
import { makeCerts } from "../helpers/certs.ts";
import { mtlsApi, mtlsOrchestratorConfig } from "../helpers/mtls_orchestrator.ts";
import { waitFor } from "../helpers/wait.ts";
import { type Orchestrator, startOrchestrator } from "../../orchestrator/main.ts";
import { type ControlClient, startControlClient } from "../../proxy/control/client.ts";
import type { DrainStatus } from "../../proxy/control/handler.ts";
import { IdleCore } from "../helpers/control_core.ts";

/** A proxy core stand-in: sessions are plain records the test moves between states. */
class FakeProxy extends IdleCore {
  applied: ClusterState[] = [];
  resumedWith: ClusterState[] = [];
  cancels: [number, number][] = [];
  cancelBlockingCalls: boolean[] = [];
  /** session id -> in transaction since (ms epoch) or null when idle */
  sessionsById = new Map<string, number | null>();
  #listeners = new Set<() => void>();

  constructor(readonly id: string) {
    super();
  }

  openTransaction(sessionId: string): void {
    this.sessionsById.set(sessionId, Date.now());
  }
  finishTransaction(sessionId: string): void {
    this.sessionsById.set(sessionId, null);
    for (const l of this.#listeners) l();
  }
  override applyState(state: ClusterState): void {
    if (!this.accepts(state)) return;
    this.current = state;
    this.applied.push(state);
  }
  override resume(state: ClusterState): void {
    this.resumedWith.push(state);
    super.resume(state);
  }
  override sessions(): SessionCounts {
    const inTx = [...this.sessionsById.values()].filter((v) => v !== null).length;
    const idle = this.sessionsById.size - inTx;
    return {
      total: this.sessionsById.size,
      idle: this.paused() ? 0 : idle,
      active: 0,
      inTransaction: inTx,
      held: this.paused() ? idle : 0,
    };
  }
  override drainStatus(): DrainStatus {
    const blocking: BlockingSession[] = [];
    for (const [sessionId, since] of this.sessionsById) {
      if (since === null) continue;
      blocking.push({
        sessionId,
        client: "127.0.0.1:40000",
        user: "app",
        database: "shop",
        inTransactionForMs: Date.now() - since,
        query: "UPDATE accounts SET balance = $1",
      });
    }
    return { drained: blocking.length === 0, counts: this.sessions(), blocking };
  }
  override connections(redact: boolean): ConnectionInfo[] {
    return [...this.sessionsById.entries()].map(([sessionId, since]) => ({
      proxyId: this.id,
      sessionId,
      clientAddress: "127.0.0.1:40000",
      user: "app",
      database: "shop",
      state: since === null ? "idle" : "in transaction",
      currentDatabase: this.current?.sourceOfTruth ?? "source",
      lastQuery: redact ? "SELECT $1" : "SELECT 42",
      lastQueryAt: null,
      since: new Date(0).toISOString(),
    }));
  }
  override cancelLocal(processId: number, secretKey: number): Promise<boolean> {
    this.cancels.push([processId, secretKey]);
    return Promise.resolve(true);
  }
  override cancelBlocking(terminate: boolean): Promise<string[]> {
    this.cancelBlockingCalls.push(terminate);
    const ids = [...this.sessionsById.entries()].filter(([, v]) => v !== null).map(([k]) => k);
    // Cancelling the query leaves the transaction open; terminating ends the session.
    if (terminate) {
      for (const id of ids) this.sessionsById.delete(id);
      for (const l of this.#listeners) l();
    }
    return Promise.resolve(ids);
  }
  onDrainChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

Deno.test({
  name: "orchestrator: mTLS, control channel and cutover flows",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const certs = await makeCerts();
    await using _removeCerts = { [Symbol.asyncDispose]: () => certs.cleanup() };
    await using source = await startPgCluster({ name: "orch-source" });
    await using target = await startPgCluster({ name: "orch-target" });
    const port = await freePort();
    const read = (path: string) => Deno.readTextFileSync(path);
    const config = mtlsOrchestratorConfig({
      certs,
      port,
      source: source.url(),
      target: target.url(),
      proxyId: "orchestrator-test",
    });
    using http = await mtlsApi(certs, port);
    const { base, ca, api, status, proxyCert: good } = http;
    const other = await certs.otherCa("intruder");

    let orchestrator: Orchestrator = await startOrchestrator(config, { terminateGraceMs: 150 });
    const clients: ControlClient[] = [];
    const p1 = new FakeProxy("proxy-1");
    const p2 = new FakeProxy("proxy-2");
    let c1: ControlClient | undefined;
    let c2: ControlClient | undefined;

    const connect = (
      handler: FakeProxy,
      tls = { cert: good.cert, key: good.key },
      shadowMode: ShadowModeName = "async",
    ) => {
      const client = startControlClient({
        url: base,
        proxyId: handler.id,
        version: "test",
        shadowMode,
        tls: { cert: read(tls.cert), key: read(tls.key), ca },
        handler,
        heartbeatMs: 100,
        drainProgressMs: 50,
        backoffInitialMs: 50,
        backoffMaxMs: 200,
      });
      clients.push(client);
      return client;
    };

    try {
      await t.step(
        "the API refuses a client without a certificate or from another CA",
        async () => {
          const anonymous = Deno.createHttpClient({ caCerts: [ca] });
          const foreign = Deno.createHttpClient({
            caCerts: [ca],
            cert: read(other.clientCert),
            key: read(other.clientKey),
          });
          try {
            await assert.rejects(fetch(base + API_PATHS.status, { client: anonymous }));
            await assert.rejects(fetch(base + API_PATHS.status, { client: foreign }));
          } finally {
            anonymous.close();
            foreign.close();
          }
          const ok = await api<StatusResponse>("GET", API_PATHS.status);
          assert.equal(ok.status, 200);
          assert.equal(ok.body.initialized, false);
          assert.equal(ok.body.epoch, 0);
        },
      );

      await t.step("the control endpoint refuses proxies without a valid certificate", async () => {
        const noCert = startControlClient({
          url: base,
          proxyId: "no-cert",
          version: "test",
          shadowMode: "async",
          tls: undefined,
          handler: new FakeProxy("no-cert"),
          backoffInitialMs: 50,
          backoffMaxMs: 100,
        });
        const foreign = connect(new FakeProxy("foreign"), {
          cert: other.clientCert,
          key: other.clientKey,
        });
        await new Promise((r) => setTimeout(r, 600));
        assert.equal(noCert.connected(), false);
        assert.equal(foreign.connected(), false);
        await noCert.close();
        await foreign.close();
        assert.deepEqual((await status()).proxies, []);
      });

      await t.step("proxies with a valid certificate register and get the state", async () => {
        c1 = connect(p1);
        c2 = connect(p2);
        await Promise.all([c1.whenConnected(), c2.whenConnected()]);
        assert.deepEqual(p1.current, { sourceOfTruth: "source", epoch: 0, phase: "idle" });
        const s = await waitFor("heartbeats", async () => {
          const s = await status();
          return s.proxies.length === 2 && s.proxies.every((p) => p.epoch === 0) && s;
        });
        assert.deepEqual(s.proxies.map((p) => [p.id, p.connected, p.version, p.epoch]), [
          ["proxy-1", true, "test", 0],
          ["proxy-2", true, "test", 0],
        ]);
      });

      await t.step("malformed control messages get an error reply; serving goes on", async () => {
        const raw = Deno.createHttpClient({
          caCerts: [ca],
          cert: read(good.cert),
          key: read(good.key),
        });
        const ws = new WebSocket(`wss://localhost:${port}/v1/proxies`, { client: raw });
        const frames: string[] = [];
        ws.onmessage = (e) => frames.push(String(e.data));
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = reject;
        });
        ws.send("{definitely not json");
        ws.send(JSON.stringify({ v: 99, type: "heartbeat" }));
        ws.send(JSON.stringify({ v: 1, type: "self_destruct" }));
        ws.send(
          JSON.stringify({
            v: 1,
            type: "heartbeat",
            sessions: p1.sessions(),
            epoch: 0,
            paused: false,
          }),
        );
        await waitFor("4 error replies", () => frames.length >= 4);
        const codes = frames.map((f) => JSON.parse(f)).map((m) => [m.type, m.code]);
        assert.deepEqual(codes, [
          ["error", "MALFORMED_JSON"],
          ["error", "WRONG_VERSION"],
          ["error", "INVALID_MESSAGE"],
          ["error", "INVALID_MESSAGE"],
        ]);
        assert.match(JSON.parse(frames[3]).message, /hello/);
        assert.equal(ws.readyState, WebSocket.OPEN, "the connection stays up");
        const closed = new Promise((r) => (ws.onclose = r));
        ws.close();
        await closed;
        raw.close();
        const s = await status();
        assert.equal(s.proxies.length, 2);
      });

      await t.step("commands before initialize are refused with NOT_INITIALIZED", async () => {
        const res = await api<ApiErrorBody>("POST", API_PATHS.consistentBegin, {});
        assert.equal(res.status, 409);
        assert.equal(res.body.error.code, "NOT_INITIALIZED");
        assert.match(res.body.error.hint, /initialize/);
        const bad = await api<ApiErrorBody>("POST", API_PATHS.consistentBegin, {
          drainTimeoutMs: "soon",
        });
        assert.equal(bad.status, 400);
        assert.equal(bad.body.error.code, "BAD_REQUEST");
        const missing = await api<ApiErrorBody>("GET", "/api/v1/nothing");
        assert.equal(missing.status, 404);
      });

      await t.step("initialize is idempotent", async () => {
        const first = await api<{ created: boolean }>("POST", API_PATHS.initialize);
        assert.deepEqual([first.status, first.body.created], [200, true]);
        const second = await api<{ created: boolean }>("POST", API_PATHS.initialize);
        assert.deepEqual([second.status, second.body.created], [200, false]);
        assert.equal((await status()).initialized, true);
        // The customer's CDC stand-in: logical replication of the marker table.
        await source.psql("CREATE PUBLICATION lms_markers FOR TABLE _molt_lms.marker");
        await target.psql(
          `CREATE SUBSCRIPTION lms_markers CONNECTION 'host=127.0.0.1 port=${source.port} ` +
            `user=postgres dbname=postgres' PUBLICATION lms_markers`,
        );
      });

      await t.step("connections list gathers every proxy's sessions", async () => {
        p1.sessionsById.set("s-a", null);
        p2.sessionsById.set("s-b", null);
        const res = await api<{ connections: ConnectionInfo[]; unreachableProxies: string[] }>(
          "GET",
          `${API_PATHS.connections}?redact=true`,
        );
        assert.equal(res.status, 200);
        assert.deepEqual(res.body.connections.map((c) => [c.proxyId, c.sessionId, c.lastQuery]), [
          ["proxy-1", "s-a", "SELECT $1"],
          ["proxy-2", "s-b", "SELECT $1"],
        ]);
        assert.deepEqual(res.body.unreachableProxies, []);
      });

      await t.step("a cutover request must name the source of truth it switches from", async () => {
        for (const path of [API_PATHS.consistentBegin, API_PATHS.immediate]) {
          const unnamed = await api<ApiErrorBody>("POST", path, {});
          assert.equal(unnamed.status, 400);
          assert.equal(unnamed.body.error.code, "BAD_REQUEST");
          assert.match(unnamed.body.error.message, /the source of truth is now the source/);
          assert.match(unnamed.body.error.hint, /"from": "source".*--to target/);
          const wrong = await api<ApiErrorBody>("POST", path, { from: "target", force: true });
          assert.equal(wrong.status, 409);
          assert.equal(wrong.body.error.code, "SOURCE_OF_TRUTH_MISMATCH");
          assert.match(wrong.body.error.message, /already the source/);
        }
        assert.equal((await status()).epoch, 0, "nothing changed");
      });

      await t.step(
        "consistent cutover with a sync proxy is refused, quoting the docs",
        async () => {
          const p3 = new FakeProxy("proxy-3");
          const c3 = connect(p3, { cert: good.cert, key: good.key }, "sync");
          await c3.whenConnected();
          const refused = await api<ApiErrorBody>("POST", API_PATHS.consistentBegin, {
            from: "source",
          });
          assert.equal(refused.status, 409);
          assert.equal(refused.body.error.code, "UNSAFE_SHADOW_MODE");
          assert.ok(refused.body.error.message.includes(CONSISTENT_MODE_WARNING));
          assert.match(refused.body.error.message, /proxy-3 \(sync\)/);
          assert.doesNotMatch(refused.body.error.message, /proxy-1/);
          assert.match(refused.body.error.hint, /--force/);
          await c3.close();
          await waitFor(
            "proxy-3 gone",
            async () => (await status()).proxies.filter((p) => p.connected).length === 2,
          );
          assert.equal((await status()).phase, "idle");
        },
      );

      let cutoverId = "";
      await t.step("begin pauses both proxies; commit is refused until both drained", async () => {
        p1.openTransaction("s-a");
        const begin = await api<{ cutoverId: string; state: ClusterState }>(
          "POST",
          API_PATHS.consistentBegin,
          { from: "source" },
        );
        assert.equal(begin.status, 200);
        cutoverId = begin.body.cutoverId;
        assert.equal(begin.body.state.phase, "draining");
        await waitFor("both paused", () => p1.paused() && p2.paused());
        assert.equal(p1.pausedFor, cutoverId);
        const again = await api<ApiErrorBody>("POST", API_PATHS.consistentBegin, {
          from: "source",
        });
        assert.equal(again.body.error.code, "INVALID_PHASE");

        const s = await waitFor("p2 drained, p1 blocking", async () => {
          const s = await status();
          return s.cutover?.drained === 1 && s.cutover.blocking.length === 1 && s;
        });
        assert.equal(s.phase, "draining");
        assert.equal(s.cutover?.total, 2);
        assert.equal(s.cutover?.openTransactions, 1);
        assert.deepEqual(s.cutover?.blocking.map((b) => [b.proxyId, b.sessionId]), [[
          "proxy-1",
          "s-a",
        ]]);
        assert.deepEqual(s.proxies.filter((p) => p.connected).map((p) => p.drained), [
          false,
          true,
        ]);

        const refused = await api<ApiErrorBody>("POST", API_PATHS.consistentCommit, {
          from: "source",
        });
        assert.equal(refused.status, 409);
        assert.equal(refused.body.error.code, "NOT_DRAINED");
        assert.match(refused.body.error.message, /1 of 2/);
        const immediate = await api<ApiErrorBody>("POST", API_PATHS.immediate, {
          from: "source",
          force: true,
        });
        assert.equal(immediate.body.error.code, "INVALID_PHASE");
      });

      await t.step("once drained, replication catch-up is reported and commit flips", async () => {
        p1.finishTransaction("s-a");
        const s = await waitFor("drained and caught up", async () => {
          const s = await status();
          return s.phase === "drained" && s.cutover?.replication.caughtUp && s;
        });
        assert.equal(s.cutover?.drained, 2);
        assert.equal(s.cutover?.replication.error, null);
        assert.ok((s.cutover?.replication.lagMs ?? -1) >= 0);
        assert.equal(
          await target.psql(`SELECT count(*) FROM _molt_lms.marker WHERE id LIKE '${cutoverId}-%'`),
          "1",
        );

        const commit = await api<{ cutoverId: string; state: ClusterState }>(
          "POST",
          API_PATHS.consistentCommit,
          { from: "source" },
        );
        assert.equal(commit.status, 200);
        assert.deepEqual(commit.body, {
          cutoverId,
          state: { sourceOfTruth: "target", epoch: 1, phase: "idle" },
        });
        await waitFor("both resumed", () => !p1.paused() && !p2.paused());
        for (const p of [p1, p2]) {
          assert.deepEqual(p.resumedWith.at(-1), {
            sourceOfTruth: "target",
            epoch: 1,
            phase: "idle",
          });
        }
        assert.equal(
          await target.psql(
            "SELECT source_of_truth || ' ' || epoch || ' ' || phase FROM _molt_lms.state",
          ),
          "target 1 idle",
        );
      });

      await t.step("abort after commit is refused and says to begin/commit again", async () => {
        const res = await api<ApiErrorBody>("POST", API_PATHS.consistentAbort);
        assert.equal(res.status, 409);
        assert.equal(res.body.error.code, "INVALID_PHASE");
        assert.match(res.body.error.hint, /already committed.*begin.*commit.*again/);
        const commit = await api<ApiErrorBody>("POST", API_PATHS.consistentCommit, {
          from: "target",
        });
        assert.equal(commit.body.error.code, "INVALID_PHASE");
        const retried = await api<ApiErrorBody>("POST", API_PATHS.consistentCommit, {
          from: "source",
        });
        assert.equal(retried.body.error.code, "SOURCE_OF_TRUTH_MISMATCH");
        const beginAgain = await api<ApiErrorBody>("POST", API_PATHS.consistentBegin, {
          from: "source",
        });
        assert.equal(beginAgain.body.error.code, "SOURCE_OF_TRUTH_MISMATCH", "no reverse cutover");
        assert.equal((await status()).phase, "idle");
      });

      await t.step(
        "commit is refused while the marker has not arrived on the new source of truth",
        async () => {
          // Reverse direction: nothing replicates target -> source here.
          const begin = await api<{ cutoverId: string }>("POST", API_PATHS.consistentBegin, {
            from: "target",
          });
          assert.equal(begin.status, 200);
          await waitFor("drained", async () => (await status()).phase === "drained");
          const refused = await api<ApiErrorBody>("POST", API_PATHS.consistentCommit, {
            from: "target",
          });
          assert.equal(refused.body.error.code, "NOT_CAUGHT_UP");
          assert.match(refused.body.error.message, /on the target has not been seen on the source/);
          assert.match(refused.body.error.hint, /from the target to the source.*_molt_lms\.marker/);
          assert.match(refused.body.error.hint, /--skip-replication-check/);
          const abort = await api<{ state: ClusterState }>("POST", API_PATHS.consistentAbort);
          assert.equal(abort.status, 200);
          assert.deepEqual(abort.body.state, { sourceOfTruth: "target", epoch: 1, phase: "idle" });
          await waitFor("resumed after abort", () => !p1.paused() && !p2.paused());
          assert.deepEqual(p2.resumedWith.at(-1), {
            sourceOfTruth: "target",
            epoch: 1,
            phase: "idle",
          });
        },
      );

      await t.step(
        "drain timeout reports blockers; cancel-after cancels then terminates",
        async () => {
          p1.openTransaction("s-long");
          const begin = await api<{ cutoverId: string }>("POST", API_PATHS.consistentBegin, {
            from: "target",
            drainTimeoutMs: 150,
            cancelAfterMs: 400,
          });
          assert.equal(begin.status, 200);
          const timedOut = await waitFor("drain timeout", async () => {
            const s = await status();
            return s.cutover?.drainTimedOut && s;
          });
          assert.equal(timedOut.phase, "draining", "the fleet stays paused");
          assert.deepEqual(timedOut.cutover?.blocking.map((b) => b.sessionId), ["s-long"]);
          assert.ok(p1.paused() && p2.paused());
          const s = await waitFor("terminated and drained", async () => {
            const s = await status();
            return s.phase === "drained" && (s.cutover?.terminated.length ?? 0) > 0 && s;
          });
          assert.deepEqual(s.cutover?.cancelled, ["proxy-1/s-long"]);
          assert.deepEqual(s.cutover?.terminated, ["proxy-1/s-long"]);
          assert.deepEqual(p1.cancelBlockingCalls, [false, true]);
          assert.deepEqual(p2.cancelBlockingCalls, []);
          // History events that change no state are appended in the background.
          const wanted = ["drain_timeout", "cancel_blocking", "terminate_blocking", "drained"];
          await waitFor("history of the drain", async () => {
            const steps = (await status()).history.map((e) => e.step);
            return wanted.every((step) => steps.includes(step));
          });
          assert.equal((await api("POST", API_PATHS.consistentAbort)).status, 200);
        },
      );

      await t.step("a cancel request for another proxy's key is routed to it", async () => {
        const key = processIdFor("proxy-2", 7);
        assert.equal(c1!.forwardCancel(key, 4242), true);
        await waitFor("cancel delivered", () => p2.cancels.length === 1);
        assert.deepEqual(p2.cancels, [[key, 4242]]);
        assert.deepEqual(p1.cancels, []);
      });

      await t.step("immediate cutover with async proxies needs --force; once only", async () => {
        const refused = await api<ApiErrorBody>("POST", API_PATHS.immediate, { from: "target" });
        assert.equal(refused.status, 409);
        assert.equal(refused.body.error.code, "UNSAFE_SHADOW_MODE");
        assert.ok(refused.body.error.message.includes(IMMEDIATE_MODE_WARNING));
        assert.match(refused.body.error.message, /proxy-1 \(async\), proxy-2 \(async\)/);
        const res = await api<{ state: ClusterState }>("POST", API_PATHS.immediate, {
          from: "target",
          force: true,
        });
        assert.equal(res.status, 200);
        assert.deepEqual(res.body.state, { sourceOfTruth: "source", epoch: 2, phase: "idle" });
        await waitFor("applied", () => p1.current?.epoch === 2 && p2.current?.epoch === 2);
        assert.equal(p1.current?.sourceOfTruth, "source");
        // The same request sent again must not switch back.
        const retried = await api<ApiErrorBody>("POST", API_PATHS.immediate, {
          from: "target",
          force: true,
        });
        assert.equal(retried.body.error.code, "SOURCE_OF_TRUTH_MISMATCH");
        assert.equal((await status()).epoch, 2);
        await waitFor("the override recorded", async () => {
          const forced = (await status()).history.find((e) =>
            e.step === "shadow_mode_guard_overridden"
          );
          return forced?.detail.kind === "immediate";
        });
      });

      await t.step(
        "a restarted orchestrator resumes the cutover from the store; proxies reconnect",
        async () => {
          p1.openTransaction("s-c");
          const begin = await api<{ cutoverId: string }>("POST", API_PATHS.consistentBegin, {
            from: "source",
          });
          await waitFor("paused", () => p1.paused() && p2.paused());
          await orchestrator.close();
          await waitFor("clients notice", () => !c1!.connected() && !c2!.connected());
          // The proxies keep the state they knew while the orchestrator is away.
          assert.ok(p1.paused() && p1.current?.epoch === 2);

          orchestrator = await startOrchestrator(config, {
            terminateGraceMs: 150,
            reconnectGraceMs: 800,
          });
          await waitFor("reconnected", () => c1!.connected() && c2!.connected());
          const s = await waitFor("resumed cutover", async () => {
            const s = await status();
            return s.cutover?.drained === 1 && s.proxies.filter((p) => p.connected).length === 2 &&
              s;
          });
          assert.equal(s.phase, "draining");
          assert.equal(s.cutover?.id, begin.body.cutoverId);
          assert.equal(
            (await api<ApiErrorBody>("POST", API_PATHS.consistentCommit, { from: "source" })).body
              .error.code,
            "NOT_DRAINED",
          );
          p1.finishTransaction("s-c");
          await waitFor("drained and caught up", async () => {
            const s = await status();
            return s.phase === "drained" && s.cutover?.replication.caughtUp;
          });
          const commit = await api<{ state: ClusterState }>("POST", API_PATHS.consistentCommit, {
            from: "source",
          });
          assert.equal(commit.status, 200);
          assert.deepEqual(commit.body.state, { sourceOfTruth: "target", epoch: 3, phase: "idle" });
          await waitFor(
            "applied",
            () => p1.current?.epoch === 3 && p2.current?.epoch === 3 && !p1.paused(),
          );
        },
      );

      await t.step(
        "a proxy that resumed by itself is named; commit says abort, then begin again",
        async () => {
          const begin = await api<{ cutoverId: string }>("POST", API_PATHS.consistentBegin, {
            from: "target",
          });
          assert.equal(begin.status, 200);
          await waitFor("drained", async () => (await status()).phase === "drained");
          // What the proxy does when its pause outlives LMS_MAX_PAUSE: resume by the store.
          p2.resume({ sourceOfTruth: "target", epoch: 3, phase: "drained" });
          const s = await waitFor("the self-resume noticed", async () => {
            const s = await status();
            return s.cutover?.resumedProxies.length === 1 && s.phase === "draining" && s;
          });
          assert.deepEqual(s.cutover?.resumedProxies, ["proxy-2"]);
          const refused = await api<ApiErrorBody>("POST", API_PATHS.consistentCommit, {
            from: "target",
            skipReplicationCheck: true,
          });
          assert.equal(refused.body.error.code, "NOT_DRAINED");
          assert.match(refused.body.error.message, /proxy-2 resumed traffic on the target/);
          assert.match(refused.body.error.hint, /abort`, then `cutover consistent begin` again/);
          assert.doesNotMatch(refused.body.error.hint, /wait for open transactions/);
          await waitFor("history of the lost drain", async () => {
            const steps = (await status()).history.map((e) => e.step);
            return steps.includes("pause_expired") && steps.includes("drain_lost");
          });
          assert.equal((await api("POST", API_PATHS.consistentAbort)).status, 200);
          assert.equal((await status()).cutover, null);
        },
      );

      await t.step("metrics and health", async () => {
        const metrics = await (await fetch(`http://127.0.0.1:${orchestrator.metricsPort}/metrics`))
          .text();
        assert.match(metrics, /lms_orchestrator_epoch 3/);
        assert.match(metrics, /lms_orchestrator_proxies_connected 2/);
        const ready = await fetch(`http://127.0.0.1:${orchestrator.metricsPort}/readyz`);
        assert.equal(ready.status, 200);
        await ready.body?.cancel();
      });
    } finally {
      for (const client of clients) await client.close();
      await orchestrator.close();
      await target.psql("DROP SUBSCRIPTION IF EXISTS lms_markers").catch(() => {});
    }
  },
});

Deno.test({
  name: "control client: survives malformed frames and a failing handler, reconnects",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const received: Record<string, unknown>[][] = [];
    const sockets: WebSocket[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      const frames: Record<string, unknown>[] = [];
      received.push(frames);
      sockets.push(socket);
      socket.onmessage = (e) => frames.push(JSON.parse(String(e.data)));
      return response;
    });
    const handler = new (class extends FakeProxy {
      override connections(): ConnectionInfo[] {
        throw new Error("session table is locked");
      }
    })("p-x");
    handler.sessionsById.set("s1", null);
    const client = startControlClient({
      url: `http://127.0.0.1:${server.addr.port}`,
      proxyId: "p-x",
      version: "test",
      shadowMode: "sync",
      apiToken: "a-token-for-the-fake-server",
      handler,
      heartbeatMs: 50,
      drainProgressMs: 20,
      backoffInitialMs: 20,
      backoffMaxMs: 50,
    });
    try {
      await waitFor("hello", () => received[0]?.some((m) => m.type === "hello"));
      const hello = received[0].find((m) => m.type === "hello");
      assert.deepEqual(hello, {
        v: 1,
        type: "hello",
        proxyId: "p-x",
        version: "test",
        shadowMode: "sync",
        state: null,
        sessions: handler.sessions(),
      });
      const ws = sockets[0];
      ws.send("not json at all");
      ws.send(JSON.stringify({ v: 7, type: "welcome" }));
      ws.send(JSON.stringify({ v: 1, type: "launch_missiles" }));
      ws.send(JSON.stringify({ v: 1, type: "list_connections", requestId: "r1", redact: false }));
      const state = { sourceOfTruth: "target", epoch: 4, phase: "idle" } as const;
      ws.send(JSON.stringify({ v: 1, type: "welcome", state }));
      await client.whenConnected();
      assert.deepEqual(handler.current, state);

      const errors = () => received[0].filter((m) => m.type === "error").map((m) => m.code);
      await waitFor("4 error replies", () => errors().length >= 4);
      assert.deepEqual(errors(), [
        "MALFORMED_JSON",
        "WRONG_VERSION",
        "INVALID_MESSAGE",
        "HANDLER_FAILED",
      ]);

      ws.send(JSON.stringify({ v: 1, type: "pause", cutoverId: "c9", epoch: 4 }));
      await waitFor(
        "drained report",
        () => received[0].some((m) => m.type === "drain_progress" && m.drained === true),
      );
      assert.ok(handler.paused());
      await waitFor(
        "a paused heartbeat",
        () => received[0].some((m) => m.type === "heartbeat" && m.epoch === 4 && m.paused === true),
      );

      // The orchestrator goes away: the proxy keeps its state and reconnects.
      ws.close();
      await waitFor("reconnect", () => received[1]?.some((m) => m.type === "hello"));
      assert.deepEqual(received[1].find((m) => m.type === "hello")?.state, state);
      assert.ok(handler.paused(), "still paused while the orchestrator is away");
      // The cutover ended meanwhile: the welcome's idle state releases the pause.
      sockets[1].send(JSON.stringify({ v: 1, type: "welcome", state: { ...state, epoch: 5 } }));
      await waitFor("resumed", () => !handler.paused());
      assert.equal(handler.current?.epoch, 5);
    } finally {
      await client.close();
      await server.shutdown();
    }
  },
});
