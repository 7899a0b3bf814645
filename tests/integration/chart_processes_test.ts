/**
 * The chart's Deployments start the real processes: the proxy and
 * orchestrator containers' rendered `command`, `args` and `env` are launched
 * locally, unchanged except where a laptop is not a cluster (each binary runs
 * as `deno run` of its entry point, container ports that would collide get
 * free ports, the config secret's mount becomes a temp directory, and the
 * in-cluster orchestrator DNS name becomes 127.0.0.1). One orchestrator and two
 * proxies then serve traffic against throwaway databases, started with process settings given
 * as chart values, and the `helm test` pod's `molt-lms-cli status` runs against them.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type PgCluster, startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { freePort } from "../../shared/local/ports.ts";
import { eventually } from "../helpers/fleet.ts";
import { helmTemplate } from "../helpers/helm.ts";
import { psql } from "../helpers/proxy.ts";
import { makeCerts } from "../helpers/certs.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHART = join(ROOT, "charts", "lms");
const NAMESPACE = "lms-test";
const CONFIG_SECRET = "lms-config";
/** The image's executables and the entry points they are compiled from. */
const ENTRY_POINTS: Record<string, string> = {
  "/usr/local/bin/molt-lms": join(ROOT, "proxy", "main.ts"),
  "/usr/local/bin/molt-lms-orchestrator": join(ROOT, "orchestrator", "main.ts"),
};
/** The image's CLI, which the `helm test` pod runs, and its entry point. */
const CLI_BINARY = "/usr/local/bin/molt-lms-cli";
const CLI_ENTRY = join(ROOT, "cli", "main.ts");
/** The permissions `deno task compile` gives the CLI. */
const CLI_PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read"];
/** The permissions `deno task compile` gives the servers. */
const SERVER_PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read", "--allow-sys"];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
  };
}

interface Container {
  command: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts?: { name: string; mountPath: string }[];
}

interface Deployment {
  kind: "Deployment";
  metadata: { name: string };
  spec: {
    template: {
      spec: {
        containers: Container[];
        volumes?: { name: string; secret?: { secretName: string } }[];
      };
    };
  };
}

interface TestPod {
  kind: "Pod";
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { containers: Container[] };
}

interface Service {
  kind: "Service";
  metadata: { name: string };
  spec: { ports: { port: number; targetPort: string | number }[] };
}

/** How one rendered container is run here. */
interface LaunchPlan {
  args: string[];
  env: Record<string, string>;
  /** Container port → local port. */
  ports: Map<number, number>;
  readinessUrl: string;
}

/** A launched process with its log, kept for failure messages. */
interface Launched {
  name: string;
  child: Deno.ChildProcess;
  log: () => string;
}

function deploymentRunning(manifests: Record<string, unknown>[], binary: string): Deployment {
  const found = manifests.filter((m): m is Deployment & Record<string, unknown> =>
    m.kind === "Deployment" &&
    (m as unknown as Deployment).spec.template.spec.containers[0].command[0] === binary
  );
  assert.equal(found.length, 1, `expected one Deployment running ${binary}`);
  return found[0];
}

/** The parent's environment minus anything that could configure LMS behind the chart's back. */
function baseEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) =>
      !k.startsWith("LMS_") && !k.startsWith("INIT_") && !/^(SSL|TLS|CA_TLS)_/.test(k)
    ),
  );
}

/**
 * Turns a rendered container into a local command line. Only what cannot hold
 * outside a cluster changes; every such change is listed in the module doc.
 */
async function planFor(
  deployment: Deployment,
  podName: string,
  configDir: string,
  rewriteUrl: (url: string) => string,
  secrets: Map<string, Record<string, string>>,
): Promise<LaunchPlan> {
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const ports = new Map<number, number>();
  for (const p of container.ports ?? []) ports.set(p.containerPort, await freePort());
  const secretMounts = new Map<string, string>();
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.volumes?.find((v) => v.name === mount.name);
    if (volume?.secret?.secretName === CONFIG_SECRET) secretMounts.set(mount.mountPath, configDir);
  }
  const args = (container.args ?? []).map((arg) => {
    // The listen flags name container ports; two proxies on one host need their own.
    const listen = /^(--(?:metrics-)?listen=.*:)(\d+)$/.exec(arg);
    if (listen) {
      const local = ports.get(Number(listen[2]));
      assert.ok(local, `${arg} names no container port`);
      return `${listen[1]}${local}`;
    }
    const url = /^--orchestrator-url=(.*)$/.exec(arg);
    if (url) return `--orchestrator-url=${rewriteUrl(url[1])}`;
    for (const [mountPath, dir] of secretMounts) {
      if (arg.includes(`${mountPath}/`)) return arg.replace(`${mountPath}/`, `${dir}/`);
    }
    return arg;
  });
  // Kubernetes sets HOSTNAME to the pod name.
  const env: Record<string, string> = { ...baseEnv(), HOSTNAME: podName };
  for (const v of container.env ?? []) {
    if (v.value !== undefined) env[v.name] = v.value;
    else if (v.valueFrom?.fieldRef?.fieldPath === "metadata.name") env[v.name] = podName;
    else if (v.valueFrom?.secretKeyRef) {
      // A Secret the chart rendered, as Kubernetes would inject it.
      const ref = v.valueFrom.secretKeyRef;
      const value = secrets.get(ref.name)?.[ref.key];
      assert.ok(value !== undefined, `env ${v.name}: the chart rendered no ${ref.name}/${ref.key}`);
      env[v.name] = atob(value);
    } else assert.fail(`env ${v.name}: no local stand-in for ${JSON.stringify(v.valueFrom)}`);
  }
  const probe = container.readinessProbe?.httpGet;
  assert.ok(probe, `${deployment.metadata.name} has no HTTP readiness probe`);
  const probePort = typeof probe.port === "number"
    ? probe.port
    : container.ports?.find((p) => p.name === probe.port)?.containerPort;
  assert.ok(probePort !== undefined && ports.has(probePort), "the probe names no container port");
  return {
    args,
    env,
    ports,
    readinessUrl: `http://127.0.0.1:${ports.get(probePort)}${probe.path}`,
  };
}

function launch(name: string, deployment: Deployment, plan: LaunchPlan): Launched {
  const binary = deployment.spec.template.spec.containers[0].command[0];
  const entry = ENTRY_POINTS[binary];
  assert.ok(entry, `no entry point for ${binary}`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...SERVER_PERMISSIONS, entry, ...plan.args],
    env: plan.env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) log += decoder.decode(chunk, { stream: true });
  })();
  return { name, child, log: () => log.split("\n").slice(-15).join("\n") };
}

/** The rendered Secrets' data (base64 values) by Secret name, as Kubernetes would hold them. */
function secretsOf(manifests: Record<string, unknown>[]): Map<string, Record<string, string>> {
  return new Map(
    manifests.filter((m) => m.kind === "Secret").map((m) => {
      const secret = m as { metadata: { name: string }; data: Record<string, string> };
      return [secret.metadata.name, secret.data];
    }),
  );
}

/** Runs the `helm test` pod's container once, as the kubelet would, and collects its output. */
async function runTestPod(
  pod: TestPod,
  rewriteUrl: (url: string) => string,
  mounts: Map<string, string> = new Map(),
): Promise<{ code: number; stdout: string; stderr: string }> {
  const container = pod.spec.containers[0];
  assert.equal(container.command[0], CLI_BINARY);
  const env: Record<string, string> = { ...baseEnv(), HOSTNAME: pod.metadata.name };
  for (const v of container.env ?? []) {
    assert.ok(v.value !== undefined, `test pod env ${v.name} has no value`);
    let value = v.name === "CLI_ORCHESTRATOR_URL" ? rewriteUrl(v.value) : v.value;
    // A file in a mounted volume is read from the local directory standing in for it.
    for (const [mountPath, dir] of mounts) {
      if (value.startsWith(`${mountPath}/`)) value = `${dir}/${value.slice(mountPath.length + 1)}`;
    }
    env[v.name] = value;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...CLI_PERMISSIONS,
      CLI_ENTRY,
      ...container.command.slice(1),
      ...(container.args ?? []),
    ],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function waitReady(process: Launched, url: string): Promise<void> {
  try {
    await eventually(`${process.name} to be ready at ${url}`, async () => {
      const res = await fetch(url).catch(() => undefined);
      await res?.body?.cancel();
      return res?.status === 200;
    }, 30_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; its log ends:\n${process.log()}`);
  }
}

Deno.test("the chart's rendered commands and environment start a working fleet", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lms-chart-processes-" });
  const clusters: PgCluster[] = [];
  const launched: Launched[] = [];
  try {
    clusters.push(
      ...await Promise.all([
        startPgCluster({ name: "chart-source" }),
        startPgCluster({ name: "chart-target" }),
      ]),
    );
    const [source, target] = clusters;
    const valuesFile = join(dir, "values.yaml");
    await Deno.writeTextFile(
      valuesFile,
      [
        "lms:",
        "  sourceDialect: postgres",
        `  configSecretName: ${CONFIG_SECRET}`,
        // Every settings value, so the real config parser must accept what the chart renders.
        "  maxMessageSize: 64KiB",
        "  maxPause: 30s",
        "  shadowQueue: 4MiB",
        "  shadowRowLimit: 100",
        "  shadowVolatile: ['\\bmy_random_id\\(', 'updated_at = ']",
        "  redactQueries: true",
        "orchestrator:",
        "  sourceDialect: postgres",
        `  configSecretName: ${CONFIG_SECRET}`,
        "  id: lms-orchestrator-main",
        "  redactQueries: true",
        "  dashboardAllowActions: false",
        "  allowOrigin: https://ops.example.com",
        "",
      ].join("\n"),
    );
    const manifests = await helmTemplate([
      "lms",
      CHART,
      "--namespace",
      NAMESPACE,
      "-f",
      valuesFile,
    ]);
    const proxyDeployment = deploymentRunning(manifests, "/usr/local/bin/molt-lms");
    const orchDeployment = deploymentRunning(manifests, "/usr/local/bin/molt-lms-orchestrator");
    const orchService = manifests.find((m) =>
      m.kind === "Service" &&
      (m as unknown as Service).spec.ports.some((p) => p.targetPort === "api")
    ) as unknown as Service | undefined;
    assert.ok(orchService, "no Service for the orchestrator's api port");
    const testPods = manifests.filter((m) =>
      m.kind === "Pod" &&
      (m as unknown as TestPod).metadata.annotations?.["helm.sh/hook"] === "test"
    ) as unknown as TestPod[];
    assert.equal(testPods.length, 1, "expected one helm test pod");

    // The contents of the config secret, as the mounted config.json.
    const configDir = join(dir, "config");
    await Deno.mkdir(configDir);
    await Deno.writeTextFile(
      join(configDir, "config.json"),
      JSON.stringify({
        INIT_SOURCE: source.url({ params: { sslmode: "disable" } }),
        INIT_TARGET: target.url({ params: { sslmode: "disable" } }),
      }),
    );

    const secrets = secretsOf(manifests);
    const orchPlan = await planFor(
      orchDeployment,
      "lms-molt-lms-orchestrator-596d4b54d8-c4v97",
      configDir,
      (u) => u,
      secrets,
    );
    const apiContainerPort = orchDeployment.spec.template.spec.containers[0].ports
      ?.find((p) => p.name === "api")?.containerPort;
    assert.ok(apiContainerPort !== undefined);
    // The chart points proxies at the orchestrator Service's in-cluster DNS name; here the
    // orchestrator runs on 127.0.0.1 on the local port standing in for its api container port.
    const rewriteOrchestratorUrl = (url: string): string => {
      const parsed = new URL(url);
      assert.equal(parsed.hostname, `${orchService.metadata.name}.${NAMESPACE}.svc`);
      assert.ok(orchService.spec.ports.some((p) => p.port === Number(parsed.port)));
      parsed.hostname = "127.0.0.1";
      parsed.port = String(orchPlan.ports.get(apiContainerPort));
      return parsed.toString().replace(/\/$/, "");
    };
    const orchestrator = launch("orchestrator", orchDeployment, orchPlan);
    launched.push(orchestrator);
    await waitReady(orchestrator, orchPlan.readinessUrl);

    const podNames = ["lms-molt-lms-5cbd7c748-bzbgn", "lms-molt-lms-5cbd7c748-g5zqf"];
    const proxies: { process: Launched; plan: LaunchPlan }[] = [];
    for (const pod of podNames) {
      const plan = await planFor(
        proxyDeployment,
        pod,
        configDir,
        rewriteOrchestratorUrl,
        secrets,
      );
      const process = launch(pod, proxyDeployment, plan);
      launched.push(process);
      proxies.push({ process, plan });
    }
    for (const { process, plan } of proxies) await waitReady(process, plan.readinessUrl);

    const api = `http://127.0.0.1:${orchPlan.ports.get(apiContainerPort)}/api/v1`;
    // The chart's generated token is what the CLI would read from the Secret.
    const token = orchPlan.env.LMS_API_TOKEN;
    const anonymous = await fetch(`${api}/initialize`, { method: "POST", body: "{}" });
    assert.equal(anonymous.status, 401, "changes need the chart's token");
    await anonymous.body?.cancel();
    const init = await fetch(`${api}/initialize`, {
      method: "POST",
      body: "{}",
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(init.status, 200, await init.text());
    await source.psql("CREATE TABLE greeting (text text); INSERT INTO greeting VALUES ('hello')");

    const sqlPort = proxyDeployment.spec.template.spec.containers[0].ports
      ?.find((p) => p.name === "sql")?.containerPort;
    assert.ok(sqlPort !== undefined);
    for (const { process, plan } of proxies) {
      const url = `postgres://postgres@127.0.0.1:${
        plan.ports.get(sqlPort)
      }/postgres?sslmode=disable`;
      const out = await psql(url, ["-c", "SELECT text, inet_server_port() FROM greeting"]);
      assert.equal(out.code, 0, `${process.name}: ${out.stderr}`);
      assert.equal(out.stdout.trim(), `hello|${source.port}`);
    }

    // lms.maxMessageSize reached the proxies: 64KiB, not the 256MiB default.
    const big = await psql(
      `postgres://postgres@127.0.0.1:${
        proxies[0].plan.ports.get(sqlPort)
      }/postgres?sslmode=disable`,
      ["-c", `SELECT '${"x".repeat(70 * 1024)}'`],
    );
    assert.notEqual(big.code, 0, "a 70KiB query passed a 64KiB limit");
    assert.match(big.stderr, /exceeds the limit of 65536 bytes \(LMS_MAX_MESSAGE_SIZE\)/);
    // orchestrator.id reached the orchestrator.
    assert.match(orchestrator.log(), /"orchestratorId":"lms-orchestrator-main"/);

    await eventually("both proxies connected to the orchestrator", async () => {
      const res = await fetch(`${api}/status`);
      const status = await res.json() as {
        initialized: boolean;
        proxies: { id: string; connected: boolean }[];
      };
      const connected = status.proxies.filter((p) => p.connected).map((p) => p.id).sort();
      return status.initialized && JSON.stringify(connected) === JSON.stringify(podNames);
    });

    // The dashboard is on the API port of the orchestrator the chart starts, fed by its stream.
    const base = api.replace(/\/api\/v1$/, "");
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script src="\/dashboard\/app.js">/);
    const stream = await fetch(`${base}/dashboard/events`, {
      headers: { origin: "https://ops.example.com" },
    });
    assert.equal(stream.headers.get("access-control-allow-origin"), "https://ops.example.com");
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = "";
    while (!/^data: .*\n\n/m.test(received)) received += (await reader.read()).value ?? "";
    await reader.cancel();
    const snapshot = JSON.parse(/^data: (.*)$/m.exec(received)![1]) as {
      actions: boolean;
      status: { proxies: { id: string }[] };
    };
    assert.equal(snapshot.actions, false, "orchestrator.dashboardAllowActions: false");
    assert.deepEqual(snapshot.status.proxies.map((p) => p.id).sort(), podNames);

    // `helm test`: the hook pod's command, through the Service URL it was rendered with.
    const test = await runTestPod(testPods[0], rewriteOrchestratorUrl);
    assert.equal(test.code, 0, `helm test pod failed: ${test.stderr}`);
    for (const pod of podNames) assert.ok(test.stdout.includes(pod), test.stdout);

    for (const process of launched) process.child.kill("SIGTERM");
    for (const process of launched) {
      const status = await process.child.status;
      assert.equal(status.code, 0, `${process.name} exited ${status.code}:\n${process.log()}`);
    }
  } finally {
    for (const process of launched) {
      try {
        process.child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await process.child.status;
    }
    for (const cluster of clusters) await cluster.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the rendered shutdown grace fits inside terminationGracePeriodSeconds", async (t) => {
  const base = [
    "--set",
    "lms.sourceDialect=postgres",
    "--set",
    "orchestrator.sourceDialect=postgres",
  ];
  await t.step("defaults", async () => {
    const manifests = await helmTemplate(["lms", CHART, "--namespace", NAMESPACE, ...base]);
    for (const binary of Object.keys(ENTRY_POINTS)) {
      const pod = deploymentRunning(manifests, binary).spec.template.spec as
        & Deployment["spec"]["template"]["spec"]
        & {
          terminationGracePeriodSeconds: number;
          containers: (Container & { lifecycle?: { preStop?: { sleep?: { seconds: number } } } })[];
        };
      const container = pod.containers[0];
      const grace = (container.args ?? []).map((a) => /^--shutdown-grace=(\d+)s$/.exec(a))
        .find((m) => m !== null);
      assert.ok(grace, `${binary} is started without --shutdown-grace`);
      const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
      assert.ok(
        pod.terminationGracePeriodSeconds > preStop + Number(grace[1]),
        `${binary}: ${pod.terminationGracePeriodSeconds} s to stop, ${preStop} + ${
          grace[1]
        } s used`,
      );
      if (binary === "/usr/local/bin/molt-lms") assert.ok(preStop > 0, "no preStop sleep");
    }
  });
  await t.step("values leaving no room are refused", async () => {
    for (
      const set of ["lms.terminationGracePeriodSeconds=30", "orchestrator.shutdownGraceSeconds=30"]
    ) {
      await assert.rejects(
        helmTemplate(["lms", CHART, "--namespace", NAMESPACE, ...base, "--set", set]),
        new RegExp(`${set.split(".")[0]}\\.terminationGracePeriodSeconds \\(\\d+\\) must exceed`),
      );
    }
  });
});

Deno.test("with orchestrator mTLS, the proxies and the helm test pod reach it over https", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lms-chart-tls-" });
  const certs = await makeCerts();
  const clusters: PgCluster[] = [];
  const launched: Launched[] = [];
  try {
    // One server holds both databases: this test is about TLS to the orchestrator, not routing.
    const server = await startPgCluster({ name: "chart-tls" });
    clusters.push(server);
    await server.psql("CREATE DATABASE lms_target");
    // The CLI's client certificate, as the secret mounted into the test pod at /app/certs.
    const cli = await certs.client("lms-cli");
    const cliDir = join(dir, "cli-certs");
    await Deno.mkdir(cliDir);
    await Deno.copyFile(certs.caCert, join(cliDir, "ca.crt"));
    await Deno.copyFile(cli.cert, join(cliDir, "tls.crt"));
    await Deno.copyFile(cli.key, join(cliDir, "tls.key"));
    const helmTest = (mtls: boolean) => ({
      tlsCaCert: "/app/certs/ca.crt",
      ...(mtls ? { tlsClientCert: "/app/certs/tls.crt", tlsClientKey: "/app/certs/tls.key" } : {}),
      sslVolumes: [{ name: "cli-cert", secret: { secretName: "lms-cli-cert" } }],
      sslVolumeMounts: [{ name: "cli-cert", mountPath: "/app/certs", readOnly: true }],
    });
    const renderWith = async (mtls: boolean) => {
      const valuesFile = join(dir, `values-${mtls}.json`);
      await Deno.writeTextFile(
        valuesFile,
        JSON.stringify({
          lms: { sourceDialect: "postgres", configSecretName: CONFIG_SECRET },
          orchestrator: { sourceDialect: "postgres", configSecretName: CONFIG_SECRET },
          helmTest: helmTest(mtls),
        }),
      );
      return await helmTemplate([
        "lms",
        CHART,
        "--namespace",
        NAMESPACE,
        "-f",
        valuesFile,
        "-f",
        join(CHART, "examples", "orchestrator-certificates.yaml"),
      ]);
    };
    const manifests = await renderWith(true);
    const testPodOf = (docs: Record<string, unknown>[]) =>
      docs.find((m) => m.kind === "Pod") as unknown as TestPod;
    const proxyDeployment = deploymentRunning(manifests, "/usr/local/bin/molt-lms");
    const orchDeployment = deploymentRunning(manifests, "/usr/local/bin/molt-lms-orchestrator");

    const configDir = join(dir, "config");
    await Deno.mkdir(configDir);
    await Deno.writeTextFile(
      join(configDir, "config.json"),
      JSON.stringify({
        INIT_SOURCE: server.url({ params: { sslmode: "disable" } }),
        INIT_TARGET: server.url({ database: "lms_target", params: { sslmode: "disable" } }),
        CA_TLS_CERT: certs.caCert,
        TLS_CERT: certs.serverCert,
        TLS_KEY: certs.serverKey,
      }),
    );
    const secrets = secretsOf(manifests);
    const orchPlan = await planFor(
      orchDeployment,
      "lms-molt-lms-orchestrator-tls",
      configDir,
      (u) => u,
      secrets,
    );
    const apiPort = orchPlan.ports.get(4200);
    assert.ok(apiPort !== undefined);
    const rewrite = (url: string): string => {
      const parsed = new URL(url);
      assert.equal(parsed.protocol, "https:", `${url} is not https`);
      assert.equal(parsed.hostname, `lms-molt-lms-orchestrator.${NAMESPACE}.svc`);
      parsed.hostname = "127.0.0.1";
      parsed.port = String(apiPort);
      return parsed.toString().replace(/\/$/, "");
    };
    const orchestrator = launch("orchestrator", orchDeployment, orchPlan);
    launched.push(orchestrator);
    await waitReady(orchestrator, orchPlan.readinessUrl);
    const proxyPlan = await planFor(
      proxyDeployment,
      "lms-molt-lms-tls-1",
      configDir,
      rewrite,
      secrets,
    );
    const proxy = launch("lms-molt-lms-tls-1", proxyDeployment, proxyPlan);
    launched.push(proxy);
    await waitReady(proxy, proxyPlan.readinessUrl);

    // The metrics port is plain http: it shows when the proxy's wss control channel is up.
    const metricsUrl = orchPlan.readinessUrl.replace(/\/readyz$/, "/metrics");
    await eventually("the proxy connected to the orchestrator over mTLS", async () => {
      const text = await fetch(metricsUrl).then((r) => r.text()).catch(() => "");
      return /^lms_orchestrator_proxies_connected 1$/m.test(text);
    });
    const mounts = new Map([["/app/certs", cliDir]]);
    const test = await runTestPod(testPodOf(manifests), rewrite, mounts);
    assert.equal(test.code, 0, `helm test pod failed: ${test.stderr}`);
    assert.ok(test.stdout.includes("lms-molt-lms-tls-1"), test.stdout);
    // Without helmTest.tlsClientCert/tlsClientKey the orchestrator refuses the CLI: exit 4 (TLS).
    const refused = await runTestPod(testPodOf(await renderWith(false)), rewrite, mounts);
    assert.equal(refused.code, 4, `expected a TLS refusal, got ${refused.code}: ${refused.stderr}`);
  } finally {
    for (const process of launched) {
      try {
        process.child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await process.child.status;
    }
    for (const cluster of clusters) await cluster.destroy();
    await certs.cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});
