/**
 * The proxy's client certificate towards the orchestrator is reloaded when
 * its mounted Secret rotates (the `..data` symlink swap), without a restart:
 * the open control connection keeps going, the next connection presents the
 * new certificate, and a broken rotation is refused with a log line while the
 * previous certificate stays in use.
 *
 * The orchestrator tells the certificates apart by its client CA: the first
 * certificate comes from the test CA, the rotated one from another CA, and the
 * restarted orchestrator trusts only the other one, so only a proxy that
 * picked up the rotation gets in.
 */

import assert from "node:assert/strict";
import { loadConfig } from "../../shared/config.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { freePort } from "../../shared/local/ports.ts";
import type { LogFields, Logger } from "../../shared/log.ts";
import { type Orchestrator, startOrchestrator } from "../../orchestrator/main.ts";
import { startControlClient } from "../../proxy/control/client.ts";
import { makeCerts } from "../helpers/certs.ts";
import { mtlsOrchestratorConfig } from "../helpers/mtls_orchestrator.ts";
import { IdleCore } from "../helpers/control_core.ts";
import { eventually } from "../helpers/fleet.ts";
import { secretDir } from "../helpers/secret_dir.ts";

function recordingLogger(lines: { msg: string; fields?: LogFields }[]): Logger {
  const at = (msg: string, fields?: LogFields) => lines.push({ msg, fields });
  const log: Logger = { debug: () => {}, info: at, warn: at, error: at, child: () => log };
  return log;
}

Deno.test("the control client picks up a rotated client certificate for its next connection", async () => {
  const certs = await makeCerts();
  await using _removeCerts = { [Symbol.asyncDispose]: () => certs.cleanup() };
  const [source, target] = await Promise.all([
    startPgCluster({ name: "ctls-source" }),
    startPgCluster({ name: "ctls-target" }),
  ]);
  await using _source = source;
  await using _target = target;
  const read = (path: string) => Deno.readTextFileSync(path);
  const port = await freePort();
  const orchestratorWith = (clientCa: string) =>
    startOrchestrator(mtlsOrchestratorConfig({
      certs,
      port,
      source: source.url(),
      target: target.url(),
      proxyId: "orchestrator-ctls",
      clientCa,
    }));

  const first = await certs.client("lms-proxy");
  const other = await certs.otherCa("lms-proxy");
  // ca.crt is the CA of the orchestrator's server certificate; it stays the test CA throughout.
  const secret = await secretDir(certs.dir, "proxy-secret", {
    "tls.crt": read(first.cert),
    "tls.key": read(first.key),
    "ca.crt": read(certs.caCert),
  });
  const proxyConfig = loadConfig("proxy", {
    args: [],
    env: {
      INIT_SOURCE: source.url(),
      LMS_ORCHESTRATOR_URL: `https://localhost:${port}`,
      TLS_CERT: secret.dir,
      TLS_KEY: secret.dir,
      CA_TLS_CERT: secret.dir,
      LMS_PROXY_ID: "proxy-ctls",
      LMS_SOURCE_DIALECT: "postgres",
    },
  });
  assert.ok(proxyConfig.orchestratorTls?.files, "the proxy config keeps the files it read");

  let orchestrator: Orchestrator = await orchestratorWith(certs.caCert);
  const lines: { msg: string; fields?: LogFields }[] = [];
  const client = startControlClient({
    url: `https://localhost:${port}`,
    proxyId: "proxy-ctls",
    version: "test",
    shadowMode: "none",
    tls: proxyConfig.orchestratorTls,
    handler: new IdleCore(),
    heartbeatMs: 100,
    backoffInitialMs: 50,
    backoffMaxMs: 200,
    log: recordingLogger(lines),
  });
  try {
    await client.whenConnected();

    // The rotation: a certificate from the other CA, swapped in as the kubelet does.
    await secret.rotate({
      "tls.crt": read(other.clientCert),
      "tls.key": read(other.clientKey),
      "ca.crt": read(certs.caCert),
    });
    await eventually(
      "the rotation is picked up",
      () =>
        lines.some((l) => l.msg === "reloaded the TLS certificate of the control channel client"),
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(client.connected(), "the open control connection keeps its certificate");

    // A restarted orchestrator that trusts only the other CA admits only the rotated certificate.
    await orchestrator.close();
    orchestrator = await orchestratorWith(other.caCert);
    await eventually("the proxy reconnects with the rotated certificate", () => client.connected());

    // A broken rotation is refused; the next connection still presents the rotated certificate.
    await secret.rotate({
      "tls.crt": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
      "tls.key": read(other.clientKey),
      "ca.crt": read(certs.caCert),
    });
    await eventually("the broken rotation is logged", () =>
      lines.some((l) =>
        l.msg ===
          "new TLS material for the control channel client is unusable; still presenting the previous certificate"
      ));
    await orchestrator.close();
    orchestrator = await orchestratorWith(other.caCert);
    await eventually(
      "the proxy reconnects with the previous good certificate",
      () => client.connected(),
    );
  } finally {
    await client.close();
    await orchestrator.close();
  }
});
