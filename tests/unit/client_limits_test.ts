/**
 * ClientLimits on its own, with a fake clock: the connection limit, the
 * failed-login window per address (IPv4 and IPv6, port ignored), the block's
 * end, 0 turning the check off, and held-client slots.
 */

import assert from "node:assert/strict";
import { LmsError } from "../../shared/errors.ts";
import { ClientLimits, hostOf, isAuthFailure } from "../../proxy/session/limits.ts";

const settings = {
  maxConnections: 3,
  authFailureLimit: 2,
  authFailureWindowMs: 10_000,
  maxHeldBytes: 1024,
  maxHeldClients: 2,
};

const codeOf = (f: () => void): string | undefined => {
  try {
    f();
    return undefined;
  } catch (err) {
    return err instanceof LmsError ? err.code : "not an LmsError";
  }
};

Deno.test("LMS_MAX_CONNECTIONS counts the new session itself", () => {
  const limits = new ClientLimits(settings);
  assert.equal(codeOf(() => limits.admit("10.0.0.1:5000", 3)), undefined);
  assert.equal(codeOf(() => limits.admit("10.0.0.1:5000", 4)), "TOO_MANY_CONNECTIONS");
});

Deno.test("failed logins block an address (not a port) until the window passes", () => {
  let now = 1_000_000;
  const limits = new ClientLimits(settings, () => now);
  limits.recordAuthFailure("10.0.0.1:5000");
  assert.equal(codeOf(() => limits.admit("10.0.0.1:5001", 1)), undefined);
  now += 4_000;
  limits.recordAuthFailure("10.0.0.1:5002");
  assert.equal(codeOf(() => limits.admit("10.0.0.1:6000", 1)), "CLIENT_BLOCKED");
  assert.equal(codeOf(() => limits.admit("10.0.0.2:6000", 1)), undefined, "other addresses pass");
  // The older failure leaves the window 10 s after it happened.
  assert.equal(limits.blockedFor("10.0.0.1"), 6_000);
  now += 6_000;
  assert.equal(codeOf(() => limits.admit("10.0.0.1:6000", 1)), undefined);
});

Deno.test("IPv6 addresses keep their colons; a limit of 0 turns the check off", () => {
  assert.equal(hostOf("::ffff:127.0.0.1:40123"), "::ffff:127.0.0.1");
  assert.equal(hostOf("[::1]:40123"), "[::1]");
  const off = new ClientLimits({ ...settings, authFailureLimit: 0 });
  for (let i = 0; i < 10; i++) off.recordAuthFailure("10.0.0.1:1");
  assert.equal(codeOf(() => off.admit("10.0.0.1:1", 1)), undefined);
});

Deno.test("held-client slots are bounded and given back", () => {
  const limits = new ClientLimits(settings);
  assert.equal(limits.tryHold(), true);
  assert.equal(limits.tryHold(), true);
  assert.equal(limits.tryHold(), false);
  limits.unhold();
  assert.equal(limits.heldClients, 1);
  assert.equal(limits.tryHold(), true);
  assert.match(limits.heldClientsError().message, /holds 2 sessions.*LMS_MAX_HELD_CLIENTS/);
  assert.match(limits.heldBytesError().message, /more than 1024 bytes.*LMS_MAX_HELD_BYTES/);
});

Deno.test("only errors that say the credentials were refused count as failed logins", () => {
  assert.equal(isAuthFailure({ authFailure: true }), true);
  assert.equal(isAuthFailure(new LmsError("BACKEND_UNAVAILABLE", "down")), false);
  assert.equal(isAuthFailure(undefined), false);
});
