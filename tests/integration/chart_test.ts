/**
 * The molt-lms Helm chart, rendered by a real helm: lint, every example from the product docs,
 * the values that must fail, and the rendered objects checked against the Kubernetes API
 * schemas plus the pod-spec rules the API server enforces (unique mount paths, known volumes).
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { Deployment, type IDeployment } from "kubernetes-models/apps/v1/Deployment";
import { type IService, Service } from "kubernetes-models/v1/Service";
import { ConfigMap, type IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import {
  type IPodDisruptionBudget,
  PodDisruptionBudget,
} from "kubernetes-models/policy/v1/PodDisruptionBudget";
import {
  type IServiceMonitor,
  ServiceMonitor,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { helmTemplate, runHelm } from "../helpers/helm.ts";

const CHART = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "charts", "lms");
const EXAMPLES = join(CHART, "examples");
const NAMESPACE = "migration";
const DIALECT = [
  "--set",
  "lms.sourceDialect=postgres",
  "--set",
  "orchestrator.sourceDialect=postgres",
];
const PROXY = "lms-molt-lms";
const ORCHESTRATOR = "lms-molt-lms-orchestrator";

type Manifest = Record<string, unknown> & {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
};

interface Validatable {
  validate(): void;
}

const MODELS: Record<string, (doc: Manifest) => Validatable> = {
  "apps/v1/Deployment": (doc) => new Deployment(doc as unknown as IDeployment),
  "v1/Service": (doc) => new Service(doc as unknown as IService),
  "v1/ConfigMap": (doc) => new ConfigMap(doc as unknown as IConfigMap),
  "policy/v1/PodDisruptionBudget": (doc) =>
    new PodDisruptionBudget(doc as unknown as IPodDisruptionBudget),
  "monitoring.coreos.com/v1/ServiceMonitor": (doc) =>
    new ServiceMonitor(doc as unknown as IServiceMonitor),
};

/** Renders release "lms" into NAMESPACE and validates every object it produced. */
async function render(...args: string[]): Promise<Manifest[]> {
  const docs = await helmTemplate(["lms", CHART, "--namespace", NAMESPACE, ...args]);
  for (const doc of docs) validateManifest(doc);
  return docs;
}

async function renderFailure(...args: string[]): Promise<string> {
  const result = await runHelm(["template", "lms", CHART, "--namespace", NAMESPACE, ...args]);
  assert.notEqual(result.code, 0, `helm template should fail for ${args.join(" ")}`);
  return result.stderr;
}

function example(name: string): string[] {
  return ["-f", join(EXAMPLES, name)];
}

function validateManifest(doc: Manifest): void {
  const key = `${doc.apiVersion}/${doc.kind}`;
  const model = MODELS[key];
  assert.ok(model, `the chart rendered ${key}, which this test cannot validate`);
  model(doc).validate();
  const metadata = doc.metadata as { name?: string; namespace?: string } | undefined;
  assert.equal(metadata?.namespace, NAMESPACE, `${key} ${metadata?.name} is not namespaced`);
  if (doc.kind === "Deployment") {
    assertPodSpecAdmissible((doc as unknown as IDeployment).spec!.template.spec!);
  }
}

/** The pod-spec rules the API server checks beyond the OpenAPI schema. */
function assertPodSpecAdmissible(spec: IPodSpec): void {
  const volumes = (spec.volumes ?? []).map((v) => v.name);
  assert.equal(new Set(volumes).size, volumes.length, `duplicate volume names: ${volumes}`);
  for (const container of spec.containers) {
    const mounts = container.volumeMounts ?? [];
    const paths = mounts.map((m) => m.mountPath);
    assert.equal(new Set(paths).size, paths.length, `duplicate mountPath in ${paths}`);
    for (const mount of mounts) {
      assert.ok(volumes.includes(mount.name), `mount ${mount.mountPath} names no volume`);
    }
    const portNames = (container.ports ?? []).map((p) => p.name);
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      const port = probe?.httpGet?.port;
      assert.ok(typeof port !== "string" || portNames.includes(port), `probe port ${port}`);
    }
  }
}

function find<T>(docs: Manifest[], kind: string, name: string): T {
  const doc = docs.find((d) => d.kind === kind && d.metadata?.name === name);
  assert.ok(doc, `no ${kind} ${name} in ${docs.map((d) => `${d.kind}/${d.metadata?.name}`)}`);
  return doc as unknown as T;
}

function container(docs: Manifest[], name: string): IContainer {
  return podSpec(docs, name).containers[0];
}

function podSpec(docs: Manifest[], name: string): IPodSpec {
  return find<IDeployment>(docs, "Deployment", name).spec!.template.spec!;
}

function kinds(docs: Manifest[]): string[] {
  return docs.map((d) => `${d.kind}/${d.metadata?.name}`).sort();
}

function flag(c: IContainer, name: string): string | undefined {
  const arg = (c.args ?? []).find((a) => a.startsWith(`--${name}=`));
  return arg?.slice(name.length + 3);
}

/** Asserts the one mount at `path` is a projected volume over exactly `secrets`, in order. */
function assertProjectedCerts(docs: Manifest[], deployment: string, secrets: string[]): void {
  const spec = podSpec(docs, deployment);
  const mounts = (spec.containers[0].volumeMounts ?? []).filter((m) =>
    m.mountPath === "/app/certs"
  );
  assert.equal(mounts.length, 1, "exactly one volumeMount at /app/certs");
  assert.equal(mounts[0].readOnly, true);
  const volume = (spec.volumes ?? []).find((v) => v.name === mounts[0].name);
  assert.ok(volume?.projected, `the /app/certs volume of ${deployment} is not projected`);
  assertEquals(
    volume.projected.sources?.map((s) => s.secret?.name),
    secrets,
  );
  for (const name of secrets) {
    assert.ok(!spec.volumes?.some((v) => v.name === name), `volume ${name} left unmerged`);
  }
}

function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  assert.deepEqual(actual, expected, message ?? "");
}

async function chartAppVersion(): Promise<string> {
  const chart = parseYaml(await Deno.readTextFile(join(CHART, "Chart.yaml"))) as {
    appVersion: string;
    name: string;
  };
  assert.equal(chart.name, "molt-lms");
  return chart.appVersion;
}

Deno.test("the validator rejects a malformed manifest, so passing it means something", () => {
  assert.throws(() =>
    validateManifest({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "x", namespace: NAMESPACE },
      spec: { replicas: "three", selector: {}, template: { spec: { containers: [] } } },
    })
  );
  assert.throws(() =>
    assertPodSpecAdmissible({
      containers: [{
        name: "c",
        volumeMounts: [{ name: "a", mountPath: "/app/certs" }, {
          name: "b",
          mountPath: "/app/certs",
        }],
      }],
      volumes: [{ name: "a", emptyDir: {} }, { name: "b", emptyDir: {} }],
    })
  );
});

Deno.test("helm lint passes for the defaults and every docs example", async (t) => {
  const cases: [string, string[]][] = [
    ["defaults", []],
    ["external secret", example("external-secret.yaml")],
    ["LMS certificates", example("lms-certificates.yaml")],
    ["source and target certificates", example("source-target-certificates.yaml")],
    ["orchestrator certificates", example("orchestrator-certificates.yaml")],
    ["ServiceMonitor on", example("service-monitor.yaml")],
  ];
  for (const [name, args] of cases) {
    await t.step(name, async () => {
      const result = await runHelm(["lint", "--strict", CHART, ...DIALECT, ...args]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }
});

Deno.test("default values render two Deployments, two Services and a PodDisruptionBudget", async (t) => {
  const docs = await render(...DIALECT);
  const appVersion = await chartAppVersion();

  await t.step("objects and names give pods lms-molt-lms-… and lms-molt-lms-orchestrator-…", () => {
    assertEquals(kinds(docs), [
      `Deployment/${PROXY}`,
      `Deployment/${ORCHESTRATOR}`,
      `PodDisruptionBudget/${PROXY}`,
      `Service/${PROXY}`,
      `Service/${ORCHESTRATOR}`,
    ]);
  });

  await t.step("proxies: 3 replicas, rolling; orchestrator: 1 replica, Recreate", () => {
    const proxy = find<IDeployment>(docs, "Deployment", PROXY);
    const orch = find<IDeployment>(docs, "Deployment", ORCHESTRATOR);
    assert.equal(proxy.spec!.replicas, 3);
    assert.equal(proxy.spec!.strategy?.type, "RollingUpdate");
    assert.equal(orch.spec!.replicas, 1);
    assertEquals(orch.spec!.strategy, { type: "Recreate" });
  });

  await t.step("labels: each Service selects its own component's pods only", () => {
    for (const [name, other] of [[PROXY, ORCHESTRATOR], [ORCHESTRATOR, PROXY]]) {
      const selector = find<IService>(docs, "Service", name).spec!.selector!;
      const own = find<IDeployment>(docs, "Deployment", name).spec!;
      const foreign = find<IDeployment>(docs, "Deployment", other).spec!.template.metadata!.labels!;
      const labels = own.template.metadata!.labels!;
      assertEquals(own.selector.matchLabels, selector);
      for (const [k, v] of Object.entries(selector)) assert.equal(labels[k], v, k);
      assert.ok(Object.entries(selector).some(([k, v]) => foreign[k] !== v), `${name} overlaps`);
      assert.equal(labels["app.kubernetes.io/instance"], "lms");
      assert.equal(labels["app.kubernetes.io/name"], "molt-lms");
    }
  });

  await t.step("services: ClusterIP on 9043/9044 and 4200/4201 to named ports", () => {
    const proxy = find<IService>(docs, "Service", PROXY).spec!;
    const orch = find<IService>(docs, "Service", ORCHESTRATOR).spec!;
    assert.equal(proxy.type, "ClusterIP");
    assert.equal(orch.type, "ClusterIP");
    assertEquals(proxy.ports!.map((p) => [p.name, p.port, p.targetPort]), [
      ["sql", 9043, "sql"],
      ["metrics", 9044, "metrics"],
    ]);
    assertEquals(orch.ports!.map((p) => [p.name, p.port, p.targetPort]), [
      ["api", 4200, "api"],
      ["metrics", 4201, "metrics"],
    ]);
    assertEquals(container(docs, PROXY).ports!.map((p) => [p.name, p.containerPort]), [
      ["sql", 9043],
      ["metrics", 9044],
    ]);
  });

  await t.step("commands, flags and environment of both processes", () => {
    const proxy = container(docs, PROXY);
    assertEquals(proxy.command, ["/usr/local/bin/molt-lms"]);
    assert.equal(flag(proxy, "source-dialect"), "postgres");
    assert.equal(flag(proxy, "shadow-mode"), "none");
    assert.equal(flag(proxy, "listen"), "0.0.0.0:9043");
    assert.equal(flag(proxy, "metrics-listen"), "0.0.0.0:9044");
    assert.equal(
      flag(proxy, "orchestrator-url"),
      `http://${ORCHESTRATOR}.${NAMESPACE}.svc:4200`,
    );
    assert.equal(flag(proxy, "config"), undefined, "no config secret, no --config");
    const proxyId = proxy.env!.find((e) => e.name === "LMS_PROXY_ID");
    assert.equal(proxyId?.valueFrom?.fieldRef?.fieldPath, "metadata.name");
    assert.equal(proxy.env!.find((e) => e.name === "LMS_LOG_LEVEL")?.value, "info");

    const orch = container(docs, ORCHESTRATOR);
    assertEquals(orch.command, ["/usr/local/bin/molt-lms-orchestrator"]);
    assert.equal(flag(orch, "source-dialect"), "postgres");
    assert.equal(flag(orch, "listen"), "0.0.0.0:4200");
    assert.equal(flag(orch, "metrics-listen"), "0.0.0.0:4201");
  });

  await t.step("image defaults to the chart's appVersion", () => {
    assert.equal(container(docs, PROXY).image, `molt-lms:${appVersion}`);
    assert.equal(container(docs, ORCHESTRATOR).image, `molt-lms:${appVersion}`);
  });

  await t.step("probes: /healthz for liveness, /readyz for readiness, on the metrics port", () => {
    for (const name of [PROXY, ORCHESTRATOR]) {
      const c = container(docs, name);
      assertEquals(c.livenessProbe?.httpGet, { path: "/healthz", port: "metrics" });
      assertEquals(c.readinessProbe?.httpGet, { path: "/readyz", port: "metrics" });
      assertEquals(c.startupProbe?.httpGet, { path: "/healthz", port: "metrics" });
    }
  });

  await t.step("security: non-root, read-only root, no privilege escalation, no caps", () => {
    for (const name of [PROXY, ORCHESTRATOR]) {
      const spec = podSpec(docs, name);
      assert.equal(spec.securityContext?.runAsNonRoot, true);
      assert.equal(spec.securityContext?.seccompProfile?.type, "RuntimeDefault");
      assert.ok((spec.securityContext?.runAsUser ?? 0) > 0);
      assert.equal(spec.automountServiceAccountToken, false);
      const sc = spec.containers[0].securityContext!;
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assertEquals(sc.capabilities?.drop, ["ALL"]);
      const tmp = spec.containers[0].volumeMounts!.find((m) => m.mountPath === "/tmp");
      assert.ok(spec.volumes!.find((v) => v.name === tmp?.name)?.emptyDir, "/tmp is an emptyDir");
    }
  });

  await t.step("the PodDisruptionBudget lets one proxy go at a time", () => {
    const pdb = find<{ spec: { maxUnavailable: number; selector: unknown } }>(
      docs,
      "PodDisruptionBudget",
      PROXY,
    );
    assert.equal(pdb.spec.maxUnavailable, 1);
    assertEquals(
      pdb.spec.selector,
      find<IDeployment>(docs, "Deployment", PROXY).spec!.selector,
    );
  });
});

Deno.test("docs example: external secret mounts config.json and passes --config", async () => {
  const docs = await render(...DIALECT, ...example("external-secret.yaml"));
  for (const name of [PROXY, ORCHESTRATOR]) {
    const spec = podSpec(docs, name);
    const c = spec.containers[0];
    const configPath = flag(c, "config");
    assert.ok(configPath, `${name} has no --config`);
    const mount = c.volumeMounts!.find((m) => configPath.startsWith(`${m.mountPath}/`));
    assert.ok(mount, `nothing is mounted at ${configPath}`);
    assert.equal(mount.readOnly, true);
    const volume = spec.volumes!.find((v) => v.name === mount.name);
    assert.equal(volume?.secret?.secretName, "secret-name");
    const file = configPath.slice(mount.mountPath.length + 1);
    assertEquals(volume?.secret?.items, [{ key: "config.json", path: file }]);
  }
});

Deno.test("docs examples: certificates sharing /app/certs become one projected volume", async (t) => {
  await t.step("LMS certificates", async () => {
    const docs = await render(...DIALECT, ...example("lms-certificates.yaml"));
    assertProjectedCerts(docs, PROXY, ["lms-ca", "lms-cert", "lms-key"]);
    const orch = container(docs, ORCHESTRATOR);
    assert.ok(!orch.volumeMounts!.some((m) => m.mountPath === "/app/certs"));
  });
  await t.step("source and target certificates", async () => {
    const docs = await render(...DIALECT, ...example("source-target-certificates.yaml"));
    assertProjectedCerts(docs, PROXY, [
      "source-ca",
      "source-cert",
      "source-key",
      "cockroach-ca",
      "cockroach-cert",
      "cockroach-key",
    ]);
  });
  await t.step("orchestrator certificates, which also switch the proxies to https", async () => {
    const docs = await render(...DIALECT, ...example("orchestrator-certificates.yaml"));
    assertProjectedCerts(docs, ORCHESTRATOR, ["orch-ca", "orch-cert", "orch-key"]);
    assert.equal(
      flag(container(docs, PROXY), "orchestrator-url"),
      `https://${ORCHESTRATOR}.${NAMESPACE}.svc:4200`,
    );
  });
  await t.step("all docs examples at once", async () => {
    const docs = await render(
      ...DIALECT,
      ...example("external-secret.yaml"),
      ...example("source-target-certificates.yaml"),
      ...example("orchestrator-certificates.yaml"),
      ...example("service-monitor.yaml"),
    );
    assertProjectedCerts(docs, ORCHESTRATOR, ["orch-ca", "orch-cert", "orch-key"]);
    assert.equal(docs.filter((d) => d.kind === "ServiceMonitor").length, 2);
  });
});

Deno.test("docs default: empty maps for sslVolumes and sslVolumeMounts mount nothing", async () => {
  const docs = await render(
    ...DIALECT,
    ...["lms", "orchestrator"].flatMap((c) => [
      "--set-json",
      `${c}.sslVolumes={}`,
      "--set-json",
      `${c}.sslVolumeMounts={}`,
    ]),
  );
  for (const name of [PROXY, ORCHESTRATOR]) {
    assertEquals(podSpec(docs, name).volumes!.map((v) => v.name), ["tmp"]);
  }
});

Deno.test("certificate mounts at distinct paths stay separate volumes", async () => {
  const values = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(
      values,
      JSON.stringify({
        lms: {
          sslVolumes: [
            { name: "ca", secret: { secretName: "ca", defaultMode: 0o440 } },
            { name: "cert", secret: { secretName: "cert", items: [{ key: "a", path: "b" }] } },
            { name: "bundle", configMap: { name: "bundle" } },
          ],
          sslVolumeMounts: [
            { name: "ca", mountPath: "/app/certs/", readOnly: true },
            { name: "cert", mountPath: "/app/certs", readOnly: true },
            { name: "bundle", mountPath: "/app/bundle", readOnly: true },
            { name: "ca", mountPath: "/app/ca-only", readOnly: true },
          ],
        },
      }),
    );
    const docs = await render(...DIALECT, "-f", values);
    const spec = podSpec(docs, PROXY);
    const mounts = spec.containers[0].volumeMounts!;
    assertEquals(
      mounts.map((m) => m.mountPath).sort(),
      ["/app/bundle", "/app/ca-only", "/app/certs", "/tmp"],
    );
    const certs = spec.volumes!.find((v) =>
      v.name === mounts.find((m) => m.mountPath === "/app/certs")!.name
    );
    assertEquals(certs?.projected, {
      defaultMode: 0o440,
      sources: [
        { secret: { name: "ca" } },
        { secret: { name: "cert", items: [{ key: "a", path: "b" }] } },
      ],
    });
    assertEquals(spec.volumes!.find((v) => v.name === "bundle")?.configMap, { name: "bundle" });
    assert.equal(spec.volumes!.find((v) => v.name === "ca")?.secret?.secretName, "ca");
    assert.ok(!spec.volumes!.some((v) => v.name === "cert"), "cert is only in the projection");
  } finally {
    await Deno.remove(values);
  }
});

Deno.test("docs example: ServiceMonitors scrape both metrics ports", async (t) => {
  await t.step("enabled and namespaced", async () => {
    const docs = await render(...DIALECT, ...example("service-monitor.yaml"));
    for (const name of [PROXY, ORCHESTRATOR]) {
      const sm = find<IServiceMonitor>(docs, "ServiceMonitor", name);
      const service = find<IService>(docs, "Service", name);
      assert.equal(sm.metadata?.labels?.release, "prometheus");
      assertEquals(sm.spec.namespaceSelector, { matchNames: [NAMESPACE] });
      for (const [k, v] of Object.entries(sm.spec.selector.matchLabels ?? {})) {
        assert.equal(service.metadata?.labels?.[k], v, `${name} ServiceMonitor label ${k}`);
      }
      assertEquals(sm.spec.endpoints?.map((e) => [e.port, e.path, e.interval]), [
        ["metrics", "/metrics", "30s"],
      ]);
      assert.ok(service.spec!.ports!.some((p) => p.name === "metrics"));
    }
  });
  await t.step("not namespaced: no namespaceSelector; custom interval", async () => {
    const docs = await render(
      ...DIALECT,
      "--set",
      "serviceMonitor.enabled=true",
      "--set",
      "serviceMonitor.interval=15s",
    );
    const sm = find<IServiceMonitor>(docs, "ServiceMonitor", PROXY);
    assert.equal(sm.spec.namespaceSelector, undefined);
    assert.equal(sm.spec.endpoints?.[0].interval, "15s");
  });
});

Deno.test("values flow into the rendered pods", async (t) => {
  await t.step("shadow mode, replicas, dialect, PDB and log level", async () => {
    const docs = await render(
      "--set",
      "lms.sourceDialect=mysql",
      "--set",
      "orchestrator.sourceDialect=mysql",
      "--set",
      "lms.shadowMode=strict-sync",
      "--set",
      "lms.replicaCount=5",
      "--set",
      "lms.podDisruptionBudget.maxUnavailable=2",
      "--set",
      "orchestrator.logLevel=debug",
    );
    const proxy = container(docs, PROXY);
    assert.equal(flag(proxy, "shadow-mode"), "strict-sync");
    assert.equal(flag(proxy, "source-dialect"), "mysql");
    assert.equal(flag(container(docs, ORCHESTRATOR), "source-dialect"), "mysql");
    assert.equal(find<IDeployment>(docs, "Deployment", PROXY).spec!.replicas, 5);
    const pdb = find<{ spec: { maxUnavailable: number } }>(docs, "PodDisruptionBudget", PROXY);
    assert.equal(pdb.spec.maxUnavailable, 2);
    const orchEnv = container(docs, ORCHESTRATOR).env!;
    assert.equal(orchEnv.find((e) => e.name === "LMS_LOG_LEVEL")?.value, "debug");
  });
  await t.step("image, scheduling, pod metadata, extra env and args, URL override", async () => {
    const docs = await render(
      ...DIALECT,
      "--set",
      "lms.image.repository=registry.example/lms",
      "--set",
      "lms.image.tag=1.2.3",
      "--set",
      "lms.imagePullSecrets[0].name=regcred",
      "--set",
      "lms.nodeSelector.pool=db",
      "--set",
      "lms.tolerations[0].key=dedicated",
      "--set",
      "lms.tolerations[0].operator=Exists",
      "--set",
      "lms.podAnnotations.team=data",
      "--set",
      "lms.podLabels.tier=proxy",
      "--set",
      "lms.extraEnv[0].name=LMS_EXTRA",
      "--set",
      "lms.extraEnv[0].value=x",
      "--set",
      "lms.extraArgs[0]=--verbose",
      "--set",
      "lms.orchestratorUrl=https://orch.example:4200",
      "--set",
      "lms.podDisruptionBudget.enabled=false",
      "--set",
      "lms.service.type=LoadBalancer",
    );
    const deployment = find<IDeployment>(docs, "Deployment", PROXY);
    const spec = deployment.spec!.template.spec!;
    const c = spec.containers[0];
    assert.equal(c.image, "registry.example/lms:1.2.3");
    assertEquals(spec.imagePullSecrets, [{ name: "regcred" }]);
    assertEquals(spec.nodeSelector, { pool: "db" });
    assertEquals(spec.tolerations, [{ key: "dedicated", operator: "Exists" }]);
    assert.equal(deployment.spec!.template.metadata!.annotations!.team, "data");
    assert.equal(deployment.spec!.template.metadata!.labels!.tier, "proxy");
    assert.ok(c.env!.some((e) => e.name === "LMS_EXTRA" && e.value === "x"));
    assert.ok(c.args!.includes("--verbose"));
    assert.equal(flag(c, "orchestrator-url"), "https://orch.example:4200");
    assert.ok(!docs.some((d) => d.kind === "PodDisruptionBudget"));
    assert.equal(find<IService>(docs, "Service", PROXY).spec!.type, "LoadBalancer");
    assert.equal(container(docs, ORCHESTRATOR).image?.startsWith("molt-lms:"), true);
  });
  await t.step("orchestrator.tls=disabled keeps http even with certificates", async () => {
    const docs = await render(
      ...DIALECT,
      ...example("orchestrator-certificates.yaml"),
      "--set",
      "orchestrator.tls=disabled",
    );
    assert.match(flag(container(docs, PROXY), "orchestrator-url") ?? "", /^http:\/\//);
  });
});

Deno.test("invalid values fail to render with a message naming the value", async (t) => {
  await t.step("lms and orchestrator sourceDialect differ", async () => {
    const err = await renderFailure(
      "--set",
      "lms.sourceDialect=postgres",
      "--set",
      "orchestrator.sourceDialect=mysql",
    );
    assert.match(
      err,
      /lms\.sourceDialect \("postgres"\) and orchestrator\.sourceDialect \("mysql"\) must be identical/,
    );
  });
  await t.step("lms and orchestrator configSecretName differ", async () => {
    const err = await renderFailure(...DIALECT, "--set", "lms.configSecretName=lms-config");
    assert.match(err, /lms\.configSecretName \("lms-config"\) and orchestrator\.configSecretName/);
  });
  await t.step("unknown dialect", async () => {
    const err = await renderFailure(
      "--set",
      "lms.sourceDialect=oracle",
      "--set",
      "orchestrator.sourceDialect=oracle",
    );
    assert.match(err, /\/lms\/sourceDialect.*postgres.*mysql.*crdb/);
  });
  await t.step("unknown shadow mode", async () => {
    const err = await renderFailure(...DIALECT, "--set", "lms.shadowMode=mirror");
    assert.match(err, /\/lms\/shadowMode.*none.*async.*sync.*strict-sync/);
  });
  await t.step("missing sourceDialect", async () => {
    const err = await renderFailure("--set", "orchestrator.sourceDialect=postgres");
    assert.match(err, /\/lms\/sourceDialect.*postgres.*mysql.*crdb/);
    assert.doesNotMatch(err, /\/orchestrator\/sourceDialect/);
  });
  await t.step("missing sourceDialect, schema skipped: the templates still refuse", async () => {
    const err = await renderFailure("--skip-schema-validation");
    assert.match(err, /lms\.sourceDialect is required: set it to postgres, mysql or crdb/);
    const mode = await renderFailure(
      "--skip-schema-validation",
      ...DIALECT,
      "--set",
      "lms.shadowMode=x",
    );
    assert.match(mode, /lms\.shadowMode "x" is not supported/);
  });
  await t.step("unknown key", async () => {
    const err = await renderFailure(...DIALECT, "--set", "lms.replicas=2");
    assert.match(err, /additional properties 'replicas' not allowed/);
  });
  await t.step("a mount naming a volume that does not exist", async () => {
    const err = await renderFailure(
      ...DIALECT,
      "--set",
      "lms.sslVolumeMounts[0].name=ghost",
      "--set",
      "lms.sslVolumeMounts[0].mountPath=/app/certs",
    );
    assert.match(
      err,
      /lms\.sslVolumeMounts\[0\] mounts volume "ghost", which is not in lms\.sslVolumes/,
    );
  });
  await t.step("a volume that cannot be projected shares a path", async () => {
    const err = await renderFailure(
      ...DIALECT,
      "--set",
      "orchestrator.sslVolumes[0].name=a",
      "--set",
      "orchestrator.sslVolumes[0].emptyDir.medium=Memory",
      "--set",
      "orchestrator.sslVolumes[1].name=b",
      "--set",
      "orchestrator.sslVolumes[1].secret.secretName=b",
      "--set",
      "orchestrator.sslVolumeMounts[0].name=a",
      "--set",
      "orchestrator.sslVolumeMounts[0].mountPath=/app/certs",
      "--set",
      "orchestrator.sslVolumeMounts[1].name=b",
      "--set",
      "orchestrator.sslVolumeMounts[1].mountPath=/app/certs",
    );
    assert.match(err, /orchestrator\.sslVolumes: volume "a" shares mountPath \/app\/certs/);
  });
  await t.step("a certificate mount over a path the chart uses", async () => {
    const err = await renderFailure(
      ...DIALECT,
      "--set",
      "lms.sslVolumes[0].name=a",
      "--set",
      "lms.sslVolumes[0].secret.secretName=a",
      "--set",
      "lms.sslVolumeMounts[0].name=a",
      "--set",
      "lms.sslVolumeMounts[0].mountPath=/tmp",
    );
    assert.match(err, /lms\.sslVolumeMounts\[0\] mounts at \/tmp, which the chart uses itself/);
  });
});

const METRICS = [
  "lms_connections_open",
  "lms_connections_total",
  "lms_queries_total",
  "lms_query_duration_seconds",
  "lms_bytes_in_total",
  "lms_bytes_out_total",
  "lms_proxy_paused",
  "shadow_statements_total",
  "shadow_mismatches_total",
];

Deno.test("the Grafana dashboard ships as a labelled ConfigMap over the LMS metrics", async () => {
  const off = await render(...DIALECT);
  assert.ok(!off.some((d) => d.kind === "ConfigMap"), "no dashboard unless enabled");
  const docs = await render(...DIALECT, "--set", "grafanaDashboard.enabled=true");
  const cm = find<IConfigMap>(docs, "ConfigMap", `${PROXY}-dashboard`);
  assert.equal(cm.metadata?.labels?.grafana_dashboard, "1");
  const dashboard = JSON.parse(cm.data!["molt-lms.json"]) as {
    uid: string;
    panels: { type: string; targets?: { expr: string }[] }[];
  };
  assert.equal(dashboard.uid, "molt-lms");
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  assert.ok(exprs.length >= METRICS.length);
  const used = new Set<string>();
  for (const expr of exprs) {
    const names = expr.match(/\b(lms|shadow)_[a-z_]+\b/g) ?? [];
    assert.ok(names.length > 0, `expression uses no LMS metric: ${expr}`);
    for (const name of names) {
      const base = name.replace(/_(bucket|sum|count)$/, "");
      assert.ok(METRICS.includes(base), `dashboard uses unknown metric ${name}`);
      used.add(base);
    }
  }
  assertEquals([...used].sort(), [...METRICS].sort());
});

Deno.test("NOTES tell how to reach the LMS and run molt-lms-cli status", async () => {
  const result = await runHelm([
    "install",
    "lms",
    CHART,
    "--dry-run=client",
    "--namespace",
    NAMESPACE,
    ...DIALECT,
    ...example("orchestrator-certificates.yaml"),
  ]);
  assert.equal(result.code, 0, result.stderr);
  const notes = result.stdout.slice(result.stdout.indexOf("NOTES:"));
  assert.ok(notes.includes(`port-forward service/${PROXY} 9043:9043`), notes);
  assert.ok(notes.includes(`${PROXY}.${NAMESPACE}.svc:9043`), notes);
  assert.ok(notes.includes(`port-forward service/${ORCHESTRATOR} 4200:4200`), notes);
  assert.ok(notes.includes("molt-lms-cli status --orchestrator-url https://localhost:4200"), notes);
  assert.ok(notes.includes("--tls-ca-cert"), notes);
  assert.ok(notes.includes("configSecretName is empty"), notes);
});
