import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../shared/config.ts";

const BASE = {
  LMS_SOURCE_DIALECT: "postgres",
  INIT_TARGET: "postgresql://lms@db:26257/app",
  LMS_API_TOKEN: "dashboard-test-token-0123456789",
};
const load = (env: Record<string, string>, args: string[] = []) =>
  loadConfig("orchestrator", { args, env: { ...BASE, ...env } });

Deno.test("dashboard settings: read-only and no CORS unless set", () => {
  const c = load({});
  assert.equal(c.dashboardAllowActions, false);
  assert.equal(c.allowOrigin, undefined);
});

Deno.test("dashboard settings: the flag, the variable and the origin forms", () => {
  assert.equal(load({}, ["--dashboard-allow-actions"]).dashboardAllowActions, true);
  assert.equal(load({ LMS_DASHBOARD_ALLOW_ACTIONS: "true" }).dashboardAllowActions, true);
  assert.equal(load({ ORCH_ALLOW_ORIGIN: "*" }).allowOrigin, "*");
  assert.equal(
    load({}, ["--allow-origin", "https://ops.example.com:8443"]).allowOrigin,
    "https://ops.example.com:8443",
  );
});

Deno.test("dashboard settings: a bad origin is named with its key", () => {
  for (const bad of ["ops.example.com", "https://ops.example.com/path", "javascript:alert(1)"]) {
    assert.throws(() => load({ ORCH_ALLOW_ORIGIN: bad }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(
        err.problems.some((p) => p.key === "ORCH_ALLOW_ORIGIN" && /not an origin/.test(p.message)),
      );
      return true;
    });
  }
});
