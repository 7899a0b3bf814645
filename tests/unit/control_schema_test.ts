import assert from "node:assert/strict";
import {
  encodeMessage,
  type OrchestratorMessageBody,
  parseOrchestratorMessage,
  parseProxyMessage,
  type ProxyMessageBody,
} from "../../shared/control.ts";
import { ApiErrorBodySchema, StatusResponseSchema } from "../../shared/api.ts";

const counts = { total: 3, idle: 1, active: 1, inTransaction: 1, held: 0 };
const state = { sourceOfTruth: "source", epoch: 2, phase: "draining" } as const;
const conn = {
  proxyId: "p1",
  sessionId: "s1",
  clientAddress: "10.0.0.1:5555",
  user: "app",
  database: "shop",
  state: "in transaction",
  currentDatabase: "source",
  lastQuery: "UPDATE t SET x = $1",
  lastQueryAt: "2026-01-01T00:00:00.000Z",
  since: "2026-01-01T00:00:00.000Z",
} as const;

const proxyMessages: ProxyMessageBody[] = [
  { type: "hello", proxyId: "p1", version: "0.1.0", shadowMode: "async", state, sessions: counts },
  {
    type: "hello",
    proxyId: "p1",
    version: "0.1.0",
    shadowMode: "async",
    state: null,
    sessions: counts,
  },
  { type: "heartbeat", sessions: counts, epoch: 2, paused: false },
  {
    type: "drain_progress",
    cutoverId: "c1",
    drained: false,
    counts,
    blocking: [{
      sessionId: "s1",
      client: "10.0.0.1:5555",
      user: "app",
      database: "shop",
      inTransactionForMs: 1500,
      query: "SELECT 1",
    }],
  },
  { type: "connections", requestId: "r1", connections: [conn] },
  { type: "cancel_forward", processId: 123456, secretKey: -5 },
  { type: "cancel_forward", processId: 123456, secretKey: -5, terminate: true },
  { type: "cancel_blocking_result", cutoverId: "c1", terminate: true, sessionIds: ["s1"] },
  { type: "reply", requestId: "r1", ok: false, error: "nope" },
  { type: "error", code: "INVALID_MESSAGE", message: "bad" },
];

const orchestratorMessages: OrchestratorMessageBody[] = [
  { type: "welcome", state },
  { type: "state", state: { ...state, phase: "idle" } },
  { type: "pause", cutoverId: "c1", epoch: 2 },
  { type: "resume", cutoverId: "c1", state: { sourceOfTruth: "target", epoch: 3, phase: "idle" } },
  { type: "list_connections", requestId: "r2", redact: true },
  { type: "cancel_blocking", cutoverId: "c1", terminate: false },
  { type: "cancel_request", processId: 99, secretKey: 42 },
  { type: "cancel_request", processId: 99, secretKey: 42, terminate: true },
  { type: "error", code: "WRONG_VERSION", message: "v2" },
];

Deno.test("every message round-trips through encode and parse", () => {
  for (const body of proxyMessages) {
    const r = parseProxyMessage(encodeMessage(body));
    assert.ok(r.ok, `${body.type}: ${!r.ok && r.error.message}`);
    assert.deepEqual(r.message, { v: 1, ...body });
  }
  for (const body of orchestratorMessages) {
    const r = parseOrchestratorMessage(encodeMessage(body));
    assert.ok(r.ok, `${body.type}: ${!r.ok && r.error.message}`);
    assert.deepEqual(r.message, { v: 1, ...body });
  }
});

Deno.test("parsers accept decoded objects as well as text", () => {
  const r = parseProxyMessage({
    v: 1,
    type: "heartbeat",
    sessions: counts,
    epoch: null,
    paused: true,
  });
  assert.ok(r.ok && r.message.type === "heartbeat" && r.message.paused);
});

Deno.test("rejections are typed and never throw", async (t) => {
  const cases: [string, unknown, string][] = [
    ["malformed JSON", "{not json", "MALFORMED_JSON"],
    ["empty frame", "", "MALFORMED_JSON"],
    ["JSON array", "[1,2]", "INVALID_MESSAGE"],
    ["JSON null", "null", "INVALID_MESSAGE"],
    [
      "missing version",
      JSON.stringify({ type: "heartbeat", sessions: counts, epoch: 1, paused: false }),
      "WRONG_VERSION",
    ],
    [
      "wrong version",
      JSON.stringify({ v: 2, type: "heartbeat", sessions: counts, epoch: 1, paused: false }),
      "WRONG_VERSION",
    ],
    ["unknown type", JSON.stringify({ v: 1, type: "reboot" }), "INVALID_MESSAGE"],
    ["missing type", JSON.stringify({ v: 1 }), "INVALID_MESSAGE"],
    ["missing fields", JSON.stringify({ v: 1, type: "hello", proxyId: "p" }), "INVALID_MESSAGE"],
    [
      "wrong field type",
      JSON.stringify({ v: 1, type: "cancel_forward", processId: "12", secretKey: 1 }),
      "INVALID_MESSAGE",
    ],
    [
      "empty proxy id",
      JSON.stringify({
        v: 1,
        type: "hello",
        proxyId: "",
        version: "x",
        state: null,
        sessions: counts,
      }),
      "INVALID_MESSAGE",
    ],
    [
      "orchestrator message to orchestrator",
      encodeMessage({ type: "pause", cutoverId: "c", epoch: 1 }),
      "INVALID_MESSAGE",
    ],
  ];
  for (const [name, raw, code] of cases) {
    await t.step(name, () => {
      const r = parseProxyMessage(raw);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.code, code);
        assert.ok(r.error.message.length > 0);
      }
    });
  }
  await t.step("proxy message to proxy", () => {
    const r = parseOrchestratorMessage(
      encodeMessage({ type: "heartbeat", sessions: counts, epoch: 1, paused: false }),
    );
    assert.ok(!r.ok && r.error.code === "INVALID_MESSAGE");
  });
  await t.step("bad state enum", () => {
    const r = parseOrchestratorMessage({
      v: 1,
      type: "state",
      state: { sourceOfTruth: "elsewhere", epoch: 1, phase: "idle" },
    });
    assert.ok(!r.ok && r.error.code === "INVALID_MESSAGE" && /sourceOfTruth/.test(r.error.message));
  });
  await t.step("negative epoch", () => {
    const r = parseOrchestratorMessage({ v: 1, type: "pause", cutoverId: "c", epoch: -1 });
    assert.ok(!r.ok);
  });
});

Deno.test("API schemas accept a status and reject an unknown error code", () => {
  const status = {
    initialized: true,
    sourceOfTruth: "source",
    epoch: 0,
    phase: "idle",
    shadowMode: "none",
    sourceDialect: "postgres",
    proxies: [{
      id: "p1",
      connected: true,
      version: "0.1.0",
      shadowMode: "async",
      sessions: counts,
      lastHeartbeatAt: null,
      epoch: 0,
      paused: false,
      drained: false,
    }],
    cutover: null,
    history: [{
      id: 1,
      at: "2026-01-01T00:00:00.000Z",
      epoch: 0,
      step: "initialize",
      actor: "o",
      detail: {},
    }],
  };
  assert.ok(StatusResponseSchema.safeParse(status).success);
  assert.ok(!StatusResponseSchema.safeParse({ ...status, phase: "paused" }).success);
  assert.ok(
    ApiErrorBodySchema.safeParse({ error: { code: "NOT_DRAINED", message: "m", hint: "h" } })
      .success,
  );
  assert.ok(
    !ApiErrorBodySchema.safeParse({ error: { code: "NOPE", message: "m", hint: "h" } }).success,
  );
});
