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
import { type IPod, Pod } from "kubernetes-models/v1/Pod";
import { type IServiceAccount, ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import {
  HorizontalPodAutoscaler,
  type IHorizontalPodAutoscaler,
} from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import {
  type INetworkPolicy,
  NetworkPolicy,
} from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { type ISecret, Secret } from "kubernetes-models/v1/Secret";
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
const TOKEN_SECRET = "lms-molt-lms-api-token";

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
  "v1/Pod": (doc) => new Pod(doc as unknown as IPod),
  "v1/ServiceAccount": (doc) => new ServiceAccount(doc as unknown as IServiceAccount),
  "autoscaling/v2/HorizontalPodAutoscaler": (doc) =>
    new HorizontalPodAutoscaler(doc as unknown as IHorizontalPodAutoscaler),
  "networking.k8s.io/v1/NetworkPolicy": (doc) =>
    new NetworkPolicy(doc as unknown as INetworkPolicy),
  "v1/Secret": (doc) => new Secret(doc as unknown as ISecret),
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
  if (doc.kind === "Pod") assertPodSpecAdmissible((doc as unknown as IPod).spec!);
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
    ["real cluster", example("real-cluster.yaml")],
  ];
  for (const [name, args] of cases) {
    await t.step(name, async () => {
      const result = await runHelm(["lint", "--strict", CHART, ...DIALECT, ...args]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }
});

Deno.test("default values render two Deployments, two Services, a PDB, a ServiceAccount and a test Pod", async (t) => {
  const docs = await render(...DIALECT);
  const appVersion = await chartAppVersion();

  await t.step("objects and names give pods lms-molt-lms-… and lms-molt-lms-orchestrator-…", () => {
    assertEquals(kinds(docs), [
      `Deployment/${PROXY}`,
      `Deployment/${ORCHESTRATOR}`,
      `Pod/${PROXY}-test-status`,
      `PodDisruptionBudget/${PROXY}`,
      `Secret/${TOKEN_SECRET}`,
      `Service/${PROXY}`,
      `Service/${ORCHESTRATOR}`,
      `ServiceAccount/${PROXY}`,
    ]);
  });

  await t.step("a generated API token in a Secret reaches the orchestrator and the proxies", () => {
    const secret = find<ISecret>(docs, "Secret", TOKEN_SECRET);
    const token = atob(secret.data?.token ?? "");
    assert.match(token, /^[A-Za-z0-9]{48}$/);
    for (const name of [PROXY, ORCHESTRATOR]) {
      const env = container(docs, name).env!.find((e) => e.name === "LMS_API_TOKEN");
      assertEquals(env?.valueFrom?.secretKeyRef, { name: TOKEN_SECRET, key: "token" });
      assert.equal(env?.value, undefined, "the token is never inlined in the pod spec");
    }
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
  "lms_shadow_statements_total",
  "lms_shadow_mismatches_total",
  "lms_epoch",
  "lms_pause_hold_seconds",
  "lms_orchestrator_epoch",
  "lms_orchestrator_phase",
  "lms_orchestrator_source_of_truth",
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
    const names = expr.match(/\blms_[a-z_]+\b/g) ?? [];
    assert.ok(names.length > 0, `expression uses no LMS metric: ${expr}`);
    for (const name of names) {
      const base = name.replace(/_(bucket|sum|count)$/, "");
      assert.ok(METRICS.includes(base), `dashboard uses unknown metric ${name}`);
      used.add(base);
    }
  }
  assertEquals([...used].sort(), [...METRICS].sort());
});

Deno.test("apiToken.existingSecret: no generated Secret; both read the one given", async () => {
  const docs = await render(
    ...DIALECT,
    "--set",
    "apiToken.existingSecret=lms-token",
    "--set",
    "apiToken.secretKey=api",
  );
  assert.ok(!docs.some((d) => d.kind === "Secret"), "no Secret rendered");
  for (const name of [PROXY, ORCHESTRATOR]) {
    const env = container(docs, name).env!.find((e) => e.name === "LMS_API_TOKEN");
    assertEquals(env?.valueFrom?.secretKeyRef, { name: "lms-token", key: "api" });
  }
  const bad = await renderFailure(...DIALECT, "--set", "apiToken.secretKey=a/b");
  assert.match(bad, /secretKey/);
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
  assert.ok(
    notes.includes(
      `export CLI_API_TOKEN="$(kubectl --namespace ${NAMESPACE} get secret ${TOKEN_SECRET} ` +
        `-o jsonpath='{.data.token}' | base64 -d)"`,
    ),
    notes,
  );
});

// ---- The chart on real clusters: identity, placement, scaling, network, tests, settings ----

const TEST_POD = `${PROXY}-test-status`;
const CONFIGURATION = join(CHART, "..", "..", "shared", "CONFIGURATION.md");
const README = join(CHART, "README.md");

/** Renders with `values` (written to a temporary values file) after the dialect flags. */
async function renderValues(values: unknown, ...args: string[]): Promise<Manifest[]> {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(file, JSON.stringify(values));
    return await render(...DIALECT, "-f", file, ...args);
  } finally {
    await Deno.remove(file);
  }
}

async function renderValuesFailure(values: unknown, ...args: string[]): Promise<string> {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(file, JSON.stringify(values));
    return await renderFailure(...DIALECT, "-f", file, ...args);
  } finally {
    await Deno.remove(file);
  }
}

function proxyPodLabels(docs: Manifest[]): Record<string, string> {
  return find<IDeployment>(docs, "Deployment", PROXY).spec!.template.metadata!.labels!;
}

/** Whether a label selector's matchLabels select a pod with `labels`. */
function selects(matchLabels: Record<string, string> | undefined, labels: Record<string, string>) {
  assert.ok(matchLabels && Object.keys(matchLabels).length > 0, "empty selector");
  return Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
}

function env(c: IContainer): Record<string, string | undefined> {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
}

Deno.test("serviceAccount: one account for both Deployments, annotations for IRSA", async (t) => {
  await t.step("created by default, token not mounted", async () => {
    const docs = await render(...DIALECT);
    const sa = find<IServiceAccount>(docs, "ServiceAccount", PROXY);
    assert.equal(sa.automountServiceAccountToken, false);
    for (const name of [PROXY, ORCHESTRATOR]) {
      assert.equal(podSpec(docs, name).serviceAccountName, PROXY);
      assert.equal(podSpec(docs, name).automountServiceAccountToken, false);
    }
  });
  await t.step("name, annotations and labels", async () => {
    const docs = await renderValues({
      serviceAccount: {
        name: "lms-runner",
        annotations: { "iam.gke.io/gcp-service-account": "lms@p.iam.gserviceaccount.com" },
        labels: { team: "data" },
      },
    });
    const sa = find<IServiceAccount>(docs, "ServiceAccount", "lms-runner");
    assert.equal(
      sa.metadata?.annotations?.["iam.gke.io/gcp-service-account"],
      "lms@p.iam.gserviceaccount.com",
    );
    assert.equal(sa.metadata?.labels?.team, "data");
    for (const name of [PROXY, ORCHESTRATOR]) {
      assert.equal(podSpec(docs, name).serviceAccountName, "lms-runner");
    }
  });
  await t.step("create=false uses the named account, or default", async () => {
    const named = await renderValues({ serviceAccount: { create: false, name: "existing" } });
    assert.ok(!named.some((d) => d.kind === "ServiceAccount"));
    assert.equal(podSpec(named, PROXY).serviceAccountName, "existing");
    const unnamed = await renderValues({ serviceAccount: { create: false } });
    assert.equal(podSpec(unnamed, ORCHESTRATOR).serviceAccountName, "default");
  });
  await t.step("automountToken=true mounts the token in the account and the pods", async () => {
    const docs = await renderValues({ serviceAccount: { automountToken: true } });
    assert.equal(
      find<IServiceAccount>(docs, "ServiceAccount", PROXY).automountServiceAccountToken,
      true,
    );
    assert.equal(podSpec(docs, PROXY).automountServiceAccountToken, true);
  });
});

Deno.test("placement: proxies spread across nodes and zones by default", async (t) => {
  await t.step(
    "defaults: preferred anti-affinity per node, zone spread that never blocks",
    async () => {
      const docs = await render(...DIALECT);
      const spec = podSpec(docs, PROXY);
      const preferred = spec.affinity?.podAntiAffinity
        ?.preferredDuringSchedulingIgnoredDuringExecution;
      assert.equal(preferred?.length, 1);
      assert.equal(preferred[0].weight, 100);
      assert.equal(preferred[0].podAffinityTerm.topologyKey, "kubernetes.io/hostname");
      assert.ok(
        selects(preferred[0].podAffinityTerm.labelSelector?.matchLabels, proxyPodLabels(docs)),
      );
      assert.ok(
        !selects(
          preferred[0].podAffinityTerm.labelSelector?.matchLabels,
          find<IDeployment>(docs, "Deployment", ORCHESTRATOR).spec!.template.metadata!.labels!,
        ),
        "the anti-affinity counts proxies only",
      );
      assert.equal(
        spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
        undefined,
      );
      const spread = spec.topologySpreadConstraints ?? [];
      assert.equal(spread.length, 1);
      assert.equal(spread[0].topologyKey, "topology.kubernetes.io/zone");
      assert.equal(spread[0].whenUnsatisfiable, "ScheduleAnyway");
      assertEquals(spread[0].matchLabelKeys, ["pod-template-hash"]);
      assert.ok(selects(spread[0].labelSelector?.matchLabels, proxyPodLabels(docs)));
      const orch = podSpec(docs, ORCHESTRATOR);
      assert.equal(orch.affinity, undefined);
      assert.equal(orch.topologySpreadConstraints, undefined);
    },
  );
  await t.step("hard, none, and a custom topology key", async () => {
    const hard = await renderValues({
      lms: { podAntiAffinity: "hard", podAntiAffinityTopologyKey: "topology.kubernetes.io/zone" },
    });
    const required = podSpec(hard, PROXY).affinity?.podAntiAffinity
      ?.requiredDuringSchedulingIgnoredDuringExecution;
    assert.equal(required?.length, 1);
    assert.equal(required[0].topologyKey, "topology.kubernetes.io/zone");
    assert.ok(selects(required[0].labelSelector?.matchLabels, proxyPodLabels(hard)));
    const none = await renderValues({
      lms: { podAntiAffinity: "none", topologySpreadConstraints: [] },
    });
    assert.equal(podSpec(none, PROXY).affinity, undefined);
    assert.equal(podSpec(none, PROXY).topologySpreadConstraints, undefined);
  });
  await t.step(
    "lms.affinity adds to the preset, or replaces it when it sets podAntiAffinity",
    async () => {
      const nodeAffinity = {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{
            matchExpressions: [{ key: "pool", operator: "In", values: ["db"] }],
          }],
        },
      };
      const merged = await renderValues({ lms: { affinity: { nodeAffinity } } });
      const affinity = podSpec(merged, PROXY).affinity!;
      assertEquals(affinity.nodeAffinity, nodeAffinity);
      assert.ok(affinity.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
      const own = {
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 10,
          podAffinityTerm: { topologyKey: "rack", labelSelector: { matchLabels: { a: "b" } } },
        }],
      };
      const replaced = await renderValues({ lms: { affinity: { podAntiAffinity: own } } });
      assertEquals(podSpec(replaced, PROXY).affinity, { podAntiAffinity: own });
    },
  );
  await t.step("a spread constraint keeps its own labelSelector", async () => {
    const docs = await renderValues({
      lms: {
        topologySpreadConstraints: [
          { maxSkew: 2, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule" },
          {
            maxSkew: 1,
            topologyKey: "rack",
            whenUnsatisfiable: "ScheduleAnyway",
            labelSelector: { matchLabels: { tier: "db" } },
          },
        ],
      },
    });
    const spread = podSpec(docs, PROXY).topologySpreadConstraints!;
    assert.ok(selects(spread[0].labelSelector?.matchLabels, proxyPodLabels(docs)));
    assert.equal(spread[0].whenUnsatisfiable, "DoNotSchedule");
    assertEquals(spread[1].labelSelector, { matchLabels: { tier: "db" } });
  });
  await t.step("an unknown preset is refused", async () => {
    const err = await renderFailure(...DIALECT, "--set", "lms.podAntiAffinity=always");
    assert.match(err, /\/lms\/podAntiAffinity.*soft.*hard.*none/);
    const skipped = await renderFailure(
      ...DIALECT,
      "--skip-schema-validation",
      "--set",
      "lms.podAntiAffinity=always",
    );
    assert.match(skipped, /lms\.podAntiAffinity "always" is not supported/);
  });
});

Deno.test("priorityClassName reaches both Deployments and the test pod", async () => {
  const off = await render(...DIALECT);
  assert.equal(podSpec(off, PROXY).priorityClassName, undefined);
  const docs = await renderValues({
    lms: { priorityClassName: "lms-high" },
    orchestrator: { priorityClassName: "orch-high" },
  });
  assert.equal(podSpec(docs, PROXY).priorityClassName, "lms-high");
  assert.equal(podSpec(docs, ORCHESTRATOR).priorityClassName, "orch-high");
  assert.equal(find<IPod>(docs, "Pod", TEST_POD).spec!.priorityClassName, "orch-high");
});

Deno.test("autoscaling: an optional autoscaling/v2 HPA owns the proxies' replica count", async (t) => {
  await t.step("off by default: the Deployment keeps replicaCount", async () => {
    const docs = await render(...DIALECT);
    assert.ok(!docs.some((d) => d.kind === "HorizontalPodAutoscaler"));
    assert.equal(find<IDeployment>(docs, "Deployment", PROXY).spec!.replicas, 3);
  });
  await t.step("on: targets the proxy Deployment, CPU by default, slow scale-in", async () => {
    const docs = await render(...DIALECT, "--set", "lms.autoscaling.enabled=true");
    const hpa = find<IHorizontalPodAutoscaler>(docs, "HorizontalPodAutoscaler", PROXY).spec!;
    const proxy = find<IDeployment>(docs, "Deployment", PROXY);
    assertEquals(hpa.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: PROXY });
    assert.equal(proxy.spec!.replicas, undefined, "replicas left to the HPA");
    assert.equal(hpa.minReplicas, 3);
    assert.equal(hpa.maxReplicas, 10);
    assertEquals(hpa.metrics, [{
      type: "Resource",
      resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
    }]);
    assert.ok((hpa.behavior?.scaleDown?.stabilizationWindowSeconds ?? 0) >= 300);
    assert.ok(
      !docs.some((d) => d.kind === "HorizontalPodAutoscaler" && d.metadata?.name === ORCHESTRATOR),
    );
  });
  await t.step("memory and custom metrics, custom behavior", async () => {
    const custom = {
      type: "Pods",
      pods: {
        metric: { name: "lms_connections_open" },
        target: { type: "AverageValue", averageValue: "500" },
      },
    };
    const docs = await renderValues({
      lms: {
        autoscaling: {
          enabled: true,
          minReplicas: 2,
          maxReplicas: 4,
          targetCPUUtilizationPercentage: null,
          targetMemoryUtilizationPercentage: 75,
          metrics: [custom],
          behavior: { scaleDown: { selectPolicy: "Disabled" } },
        },
      },
    });
    const hpa = find<IHorizontalPodAutoscaler>(docs, "HorizontalPodAutoscaler", PROXY).spec!;
    assertEquals(hpa.metrics, [
      {
        type: "Resource",
        resource: { name: "memory", target: { type: "Utilization", averageUtilization: 75 } },
      },
      custom,
    ]);
    // Helm merges maps with the defaults: the default scaleUp stays, scaleDown gains the key.
    assert.equal(hpa.behavior?.scaleDown?.selectPolicy, "Disabled");
    assert.ok(hpa.behavior?.scaleUp?.policies);
    assert.equal(hpa.minReplicas, 2);
  });
  await t.step("values that cannot work are refused", async () => {
    assert.match(
      await renderValuesFailure({
        lms: { autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 4 } },
      }),
      /lms\.autoscaling\.minReplicas \(5\) must not exceed lms\.autoscaling\.maxReplicas \(4\)/,
    );
    assert.match(
      await renderValuesFailure({
        lms: { autoscaling: { enabled: true, targetCPUUtilizationPercentage: null } },
      }),
      /lms\.autoscaling is enabled without a metric/,
    );
    assert.match(
      await renderValuesFailure(
        { lms: { autoscaling: { enabled: true } } },
        "--set",
        "lms.resources.requests.cpu=null",
      ),
      /targetCPUUtilizationPercentage needs lms\.resources\.requests\.cpu/,
    );
  });
});

Deno.test("networkPolicy: the orchestrator API admits the proxies, the test pod and named sources", async (t) => {
  await t.step("off by default", async () => {
    assert.ok(!(await render(...DIALECT)).some((d) => d.kind === "NetworkPolicy"));
  });
  await t.step("on: API port limited, metrics port open", async () => {
    const namespaceSource = {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ops" } },
    };
    const ipSource = { ipBlock: { cidr: "10.20.0.0/24", except: ["10.20.0.9/32"] } };
    const docs = await renderValues({
      orchestrator: { networkPolicy: { enabled: true, apiSources: [namespaceSource, ipSource] } },
    });
    const policy = find<INetworkPolicy>(docs, "NetworkPolicy", ORCHESTRATOR).spec!;
    const orchestrator = find<IDeployment>(docs, "Deployment", ORCHESTRATOR).spec!.template;
    assert.ok(selects(policy.podSelector!.matchLabels, orchestrator.metadata!.labels!));
    assert.ok(!selects(policy.podSelector!.matchLabels, proxyPodLabels(docs)));
    assertEquals(policy.policyTypes, ["Ingress"]);
    const portNames = orchestrator.spec!.containers[0].ports!.map((p) => p.name);
    const [api, metrics] = policy.ingress!;
    assertEquals(api.ports, [{ port: "api", protocol: "TCP" }]);
    assertEquals(metrics.ports, [{ port: "metrics", protocol: "TCP" }]);
    for (const rule of [api, metrics]) assert.ok(portNames.includes(String(rule.ports![0].port)));
    const peers = api.from!;
    assert.equal(peers.length, 4);
    assert.ok(selects(peers[0].podSelector?.matchLabels, proxyPodLabels(docs)));
    assert.equal(peers[0].namespaceSelector, undefined, "proxies of this namespace only");
    const testPod = find<IPod>(docs, "Pod", TEST_POD);
    assert.ok(selects(peers[1].podSelector?.matchLabels, testPod.metadata!.labels!));
    assert.ok(!selects(peers[1].podSelector?.matchLabels, proxyPodLabels(docs)));
    assertEquals(peers.slice(2), [namespaceSource, ipSource]);
    assert.equal(metrics.from, undefined, "metrics from anywhere");
  });
  await t.step("metricsSources restrict the metrics port; no test pod, no test peer", async () => {
    const prometheus = {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
      podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
    };
    const docs = await renderValues({
      helmTest: { enabled: false },
      orchestrator: { networkPolicy: { enabled: true, metricsSources: [prometheus] } },
    });
    const policy = find<INetworkPolicy>(docs, "NetworkPolicy", ORCHESTRATOR).spec!;
    assertEquals(policy.ingress![1].from, [prometheus]);
    assert.equal(policy.ingress![0].from!.length, 1);
    assert.ok(!docs.some((d) => d.kind === "Pod"));
  });
  await t.step("a source that is not a NetworkPolicyPeer is refused", async () => {
    const err = await renderValuesFailure({
      orchestrator: { networkPolicy: { enabled: true, apiSources: [{ cidr: "10.0.0.0/8" }] } },
    });
    assert.match(err, /\/orchestrator\/networkPolicy\/apiSources\/0.*'cidr' not allowed/);
  });
});

Deno.test("helm test: a hook Pod runs molt-lms-cli status through the orchestrator Service", async (t) => {
  await t.step("plain http", async () => {
    const docs = await render(...DIALECT);
    const pod = find<IPod>(docs, "Pod", TEST_POD);
    assert.equal(pod.metadata?.annotations?.["helm.sh/hook"], "test");
    assert.equal(pod.spec!.restartPolicy, "Never");
    const c = pod.spec!.containers[0];
    assertEquals([...c.command!, ...c.args!], ["/usr/local/bin/molt-lms-cli", "status"]);
    assert.equal(c.image, container(docs, ORCHESTRATOR).image);
    const url = new URL(env(c).CLI_ORCHESTRATOR_URL!);
    const service = find<IService>(docs, "Service", ORCHESTRATOR).spec!;
    assert.equal(url.protocol, "http:");
    assert.equal(url.hostname, `${ORCHESTRATOR}.${NAMESPACE}.svc`);
    assert.equal(Number(url.port), service.ports!.find((p) => p.name === "api")!.port);
    assert.equal(pod.spec!.automountServiceAccountToken, false);
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(pod.spec!.securityContext?.runAsNonRoot, true);
    assertEquals(Object.keys(env(c)), ["CLI_ORCHESTRATOR_URL"]);
  });
  await t.step("TLS: https and the client certificate files, mounted", async () => {
    const docs = await renderValues(
      {
        helmTest: {
          tlsCaCert: "/app/certs/ca.crt",
          tlsClientCert: "/app/certs/tls.crt",
          tlsClientKey: "/app/certs/tls.key",
          sslVolumes: [{ name: "cli-cert", secret: { secretName: "lms-cli-cert" } }],
          sslVolumeMounts: [{ name: "cli-cert", mountPath: "/app/certs", readOnly: true }],
        },
      },
      ...example("orchestrator-certificates.yaml"),
    );
    const pod = find<IPod>(docs, "Pod", TEST_POD);
    const c = pod.spec!.containers[0];
    assertEquals(env(c), {
      CLI_ORCHESTRATOR_URL: `https://${ORCHESTRATOR}.${NAMESPACE}.svc:4200`,
      CLI_TLS_CA_CERT: "/app/certs/ca.crt",
      CLI_TLS_CLIENT_CERT: "/app/certs/tls.crt",
      CLI_TLS_CLIENT_KEY: "/app/certs/tls.key",
    });
    const mount = c.volumeMounts!.find((m) => m.mountPath === "/app/certs");
    const volume = pod.spec!.volumes!.find((v) => v.name === mount?.name);
    assert.equal(volume?.secret?.secretName, "lms-cli-cert");
  });
  await t.step("TLS files without TLS, or a certificate without its key, are refused", async () => {
    assert.match(
      await renderValuesFailure({ helmTest: { tlsCaCert: "/app/certs/ca.crt" } }),
      /helmTest\.tlsCaCert\/tlsClientCert\/tlsClientKey are set but the orchestrator serves plain http/,
    );
    assert.match(
      await renderValuesFailure(
        { orchestrator: { tls: "enabled" }, helmTest: { tlsClientCert: "/c.crt" } },
      ),
      /helmTest\.tlsClientCert and helmTest\.tlsClientKey go together/,
    );
  });
  await t.step("helm lint and --skip-tests leave it out of the release", async () => {
    const docs = await render(...DIALECT, "--skip-tests");
    assert.ok(!docs.some((d) => d.kind === "Pod"));
  });
});

/** Settings values of shared/CONFIGURATION.md and the variable each must render. */
const SETTINGS_VALUES: { component: "lms" | "orchestrator"; value: string; key: string }[] = [
  { component: "lms", value: "maxMessageSize", key: "LMS_MAX_MESSAGE_SIZE" },
  { component: "lms", value: "maxPause", key: "LMS_MAX_PAUSE" },
  { component: "lms", value: "shadowQueue", key: "LMS_SHADOW_QUEUE" },
  { component: "lms", value: "shadowRowLimit", key: "LMS_SHADOW_ROW_LIMIT" },
  { component: "lms", value: "shadowVolatile", key: "LMS_SHADOW_VOLATILE" },
  { component: "lms", value: "redactQueries", key: "LMS_REDACT_QUERIES" },
  { component: "lms", value: "authQuery", key: "LMS_AUTH_QUERY" },
  { component: "lms", value: "clientAuth", key: "LMS_CLIENT_AUTH" },
  { component: "lms", value: "allowCleartextWithoutTls", key: "LMS_ALLOW_CLEARTEXT_WITHOUT_TLS" },
  { component: "lms", value: "mysqlAccountsRefresh", key: "LMS_MYSQL_ACCOUNTS_REFRESH" },
  { component: "lms", value: "mysqlRsaKey", key: "LMS_MYSQL_RSA_KEY" },
  { component: "lms", value: "mysqlTargetUsers", key: "LMS_MYSQL_TARGET_USERS" },
  { component: "lms", value: "maxConnections", key: "LMS_MAX_CONNECTIONS" },
  { component: "lms", value: "authFailureLimit", key: "LMS_AUTH_FAILURE_LIMIT" },
  { component: "lms", value: "authFailureWindow", key: "LMS_AUTH_FAILURE_WINDOW" },
  { component: "lms", value: "maxHeldBytes", key: "LMS_MAX_HELD_BYTES" },
  { component: "lms", value: "maxHeldClients", key: "LMS_MAX_HELD_CLIENTS" },
  { component: "orchestrator", value: "id", key: "LMS_PROXY_ID" },
  { component: "orchestrator", value: "redactQueries", key: "LMS_REDACT_QUERIES" },
  { component: "orchestrator", value: "dashboardAllowActions", key: "LMS_DASHBOARD_ALLOW_ACTIONS" },
  { component: "orchestrator", value: "allowOrigin", key: "ORCH_ALLOW_ORIGIN" },
  { component: "orchestrator", value: "missingProxyGrace", key: "LMS_MISSING_PROXY_GRACE" },
];

const ALL_SETTINGS = {
  lms: {
    configSecretName: "lms-config",
    maxMessageSize: 268435456,
    maxPause: "30s",
    shadowQueue: "16MiB",
    shadowRowLimit: 500,
    shadowVolatile: ["\\bmy_id\\(", "updated_at = "],
    redactQueries: true,
    authQuery: "SELECT usename, passwd FROM lms_auth_lookup($1)",
    clientAuth: "cleartext",
    allowCleartextWithoutTls: true,
    mysqlAccountsRefresh: "2m",
    mysqlRsaKey: "/app/certs/mysql/tls.key",
    mysqlTargetUsers: "app=app_crdb,reporting=reader",
    maxConnections: 500,
    authFailureLimit: 0,
    authFailureWindow: "2m",
    maxHeldBytes: "4MiB",
    maxHeldClients: 250,
  },
  orchestrator: {
    configSecretName: "lms-config",
    id: "orchestrator-1",
    redactQueries: false,
    dashboardAllowActions: true,
    allowOrigin: "https://ops.example.com",
    missingProxyGrace: "45s",
  },
};

/** The `LMS_*` process settings of shared/CONFIGURATION.md with their flags and readers. */
async function documentedSettings(): Promise<{ key: string; flag?: string; readBy: string[] }[]> {
  const text = await Deno.readTextFile(CONFIGURATION);
  const section = text.slice(text.indexOf("### Process settings"), text.indexOf("### Database"));
  return section.split(/^#### /m).slice(1).map((block) => {
    const key = block.slice(0, block.indexOf("\n")).trim();
    const flag = /^\| flag\s*\|\s*`--([a-z-]+)/m.exec(block)?.[1];
    const readBy = (/^\| read by\s*\|([^|]*)\|/m.exec(block)?.[1] ?? "").split(",").map((s) =>
      s.trim()
    );
    return { key, flag, readBy };
  });
}

Deno.test("settings: every proxy and orchestrator setting is reachable as a value", async (t) => {
  await t.step("unset values render no variable, so the process defaults hold", async () => {
    const docs = await render(...DIALECT);
    const proxy = container(docs, PROXY).env!.map((e) => e.name);
    const orch = container(docs, ORCHESTRATOR).env!.map((e) => e.name);
    // The proxies' LMS_PROXY_ID is the pod name, set apart from the settings values; the API
    // token always comes from its Secret (see apiToken).
    assertEquals(proxy, ["LMS_PROXY_ID", "LMS_LOG_LEVEL", "LMS_API_TOKEN"]);
    assertEquals(orch, ["LMS_LOG_LEVEL", "LMS_API_TOKEN"]);
  });
  await t.step("set values render their variable, in the form the process parses", async () => {
    const docs = await renderValues(ALL_SETTINGS);
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(env(container(docs, PROXY))).filter(([k]) =>
          SETTINGS_VALUES.some((s) => s.component === "lms" && s.key === k)
        ),
      ),
      {
        LMS_MAX_MESSAGE_SIZE: "268435456",
        LMS_MAX_PAUSE: "30s",
        LMS_SHADOW_QUEUE: "16MiB",
        LMS_SHADOW_ROW_LIMIT: "500",
        LMS_SHADOW_VOLATILE: "\\bmy_id\\(,updated_at = ",
        LMS_REDACT_QUERIES: "true",
        LMS_AUTH_QUERY: "SELECT usename, passwd FROM lms_auth_lookup($1)",
        LMS_CLIENT_AUTH: "cleartext",
        LMS_ALLOW_CLEARTEXT_WITHOUT_TLS: "true",
        LMS_MYSQL_ACCOUNTS_REFRESH: "2m",
        LMS_MYSQL_RSA_KEY: "/app/certs/mysql/tls.key",
        LMS_MYSQL_TARGET_USERS: "app=app_crdb,reporting=reader",
        LMS_MAX_CONNECTIONS: "500",
        LMS_AUTH_FAILURE_LIMIT: "0",
        LMS_AUTH_FAILURE_WINDOW: "2m",
        LMS_MAX_HELD_BYTES: "4MiB",
        LMS_MAX_HELD_CLIENTS: "250",
      },
    );
    const orch = env(container(docs, ORCHESTRATOR));
    assert.equal(orch.LMS_PROXY_ID, "orchestrator-1");
    assert.equal(orch.LMS_REDACT_QUERIES, "false");
    assert.equal(orch.LMS_DASHBOARD_ALLOW_ACTIONS, "true");
    assert.equal(orch.ORCH_ALLOW_ORIGIN, "https://ops.example.com");
    const fromSet = await render(
      ...DIALECT,
      "--set",
      "lms.maxPause=45000",
      "--set",
      "lms.shadowRowLimit=7",
      "--set",
      "lms.redactQueries=false",
    );
    const proxy = env(container(fromSet, PROXY));
    assert.equal(proxy.LMS_MAX_PAUSE, "45000");
    assert.equal(proxy.LMS_SHADOW_ROW_LIMIT, "7");
    assert.equal(proxy.LMS_REDACT_QUERIES, "false");
  });
  await t.step("every LMS_* setting its process reads is set by the chart", async () => {
    const docs = await renderValues(ALL_SETTINGS);
    const documented = await documentedSettings();
    assert.ok(documented.length >= 14, `found ${documented.length} settings`);
    for (const [name, reader] of [[PROXY, "proxy"], [ORCHESTRATOR, "orchestrator"]]) {
      const c = container(docs, name);
      // The chart's proxies always follow its orchestrator: --standalone is for runs without one.
      const notForTheChart = new Set(["LMS_STANDALONE"]);
      const read = documented.filter((s) =>
        s.readBy.includes(reader) && !notForTheChart.has(s.key)
      );
      for (const setting of read) {
        const byEnv = (c.env ?? []).some((e) => e.name === setting.key);
        const byFlag = setting.flag !== undefined && flag(c, setting.flag) !== undefined;
        assert.ok(byEnv || byFlag, `${name} gets no ${setting.key} from any chart value`);
      }
    }
  });
  await t.step(
    "every settings value is documented in the README and CONFIGURATION.md",
    async () => {
      const readme = await Deno.readTextFile(README);
      const configuration = await Deno.readTextFile(CONFIGURATION);
      for (const { component, value, key } of SETTINGS_VALUES) {
        const path = `${component}.${value}`;
        assert.match(
          readme,
          new RegExp(`\\| \`${path}\` \\|[^\\n]*${key}`),
          `README row for ${path}`,
        );
        assert.ok(configuration.includes(`\`${path}\``), `CONFIGURATION.md names ${path}`);
      }
    },
  );
  await t.step("the same setting twice, or in the wrong form, is refused", async () => {
    assert.match(
      await renderValuesFailure({ lms: { maxPause: "30s", extraArgs: ["--max-pause=10s"] } }),
      /lms\.maxPause is set and lms\.extraArgs passes --max-pause too/,
    );
    assert.match(
      await renderValuesFailure({
        orchestrator: {
          redactQueries: true,
          extraEnv: [{ name: "LMS_REDACT_QUERIES", value: "0" }],
        },
      }),
      /orchestrator\.redactQueries and orchestrator\.extraEnv both set LMS_REDACT_QUERIES/,
    );
    assert.match(await renderValuesFailure({ lms: { maxPause: "30 sec" } }), /\/lms\/maxPause/);
    assert.match(
      await renderValuesFailure({ lms: { maxMessageSize: "1MB" } }),
      /\/lms\/maxMessageSize/,
    );
    assert.match(
      await renderValuesFailure({ lms: { shadowRowLimit: 0 } }),
      /\/lms\/shadowRowLimit/,
    );
    assert.match(
      await renderValuesFailure({ lms: { shadowVolatile: ["a,b"] } }),
      /\/lms\/shadowVolatile\/0/,
    );
    assert.match(
      await renderValuesFailure({ lms: { shadowVolatile: ["a,b"] } }, "--skip-schema-validation"),
      /lms\.shadowVolatile\[0\] contains a comma/,
    );
    assert.match(
      await renderValuesFailure({ orchestrator: { id: "has space" } }),
      /\/orchestrator\/id/,
    );
  });
});

Deno.test("kubeVersion: the preStop sleep action needs Kubernetes 1.30, and the chart says so", async () => {
  const chart = parseYaml(await Deno.readTextFile(join(CHART, "Chart.yaml"))) as {
    kubeVersion: string;
  };
  assert.equal(chart.kubeVersion, ">=1.30.0-0");
  const docs = await render(...DIALECT, "--kube-version", "1.30.0");
  assert.ok(container(docs, PROXY).lifecycle?.preStop?.sleep, "1.30 renders the sleep action");
  const err = await renderFailure(...DIALECT, "--kube-version", "1.29.9");
  assert.match(
    err,
    /chart requires kubeVersion: >=1\.30\.0-0 which is incompatible with Kubernetes v1\.29/,
  );
});

Deno.test("docs example: a real cluster's values render and pass validation together", async () => {
  const docs = await render(
    ...DIALECT,
    ...example("external-secret.yaml"),
    ...example("orchestrator-certificates.yaml"),
    ...example("real-cluster.yaml"),
  );
  assert.ok(
    find<IServiceAccount>(docs, "ServiceAccount", PROXY).metadata?.annotations
      ?.["eks.amazonaws.com/role-arn"],
  );
  assert.ok(
    podSpec(docs, PROXY).affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
  );
  assert.equal(
    find<IHorizontalPodAutoscaler>(docs, "HorizontalPodAutoscaler", PROXY).spec!.maxReplicas,
    12,
  );
  assert.equal(
    find<INetworkPolicy>(docs, "NetworkPolicy", ORCHESTRATOR).spec!.ingress![0].from!.length,
    4,
  );
  assert.equal(env(container(docs, PROXY)).LMS_MAX_PAUSE, "30s");
});
