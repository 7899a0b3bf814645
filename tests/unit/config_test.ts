import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import {
  CONFIG_SETTINGS,
  ConfigError,
  configHelp,
  type LmsConfig,
  loadConfig,
  type LoadConfigInput,
  type ProcessKind,
  summarizeConfig,
  wantsHelp,
} from "../../shared/config.ts";
import { LmsError } from "../../shared/errors.ts";

const SECRET = "Sw0rdfishPass";
const PG_SOURCE = `postgres://app:${SECRET}@pg.internal:5432/shop?sslmode=require`;
const MYSQL_SOURCE = `mysql://app:${SECRET}@tcp(my.internal:3306)/shop`;
const TARGET = `postgresql://root:${SECRET}@crdb.internal:26257/defaultdb?sslmode=verify-full`;
/** Every load() gets it, as the orchestrator requires one without mTLS. */
const API_TOKEN = "unit-test-api-token-4f1c9a";

// Well-formed PEM framing; loadPem checks the framing only, not the content.
const FAKE_CERT = "-----BEGIN CERTIFICATE-----\nMIIBfakeCERTbody\n-----END CERTIFICATE-----\n";
const FAKE_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEfakeKEYbody\n-----END PRIVATE KEY-----\n";

/** A temp dir holding `certs/` (tls.crt, tls.key, ca.crt) and loose server.crt/server.key. */
function makeCerts(): string {
  const dir = Deno.makeTempDirSync({ prefix: "lms-config-test-" });
  Deno.mkdirSync(join(dir, "certs"));
  Deno.writeTextFileSync(join(dir, "certs", "tls.crt"), FAKE_CERT);
  Deno.writeTextFileSync(join(dir, "certs", "tls.key"), FAKE_KEY);
  Deno.writeTextFileSync(join(dir, "certs", "ca.crt"), FAKE_CERT.replace("CERTbody", "CAbody"));
  Deno.writeTextFileSync(join(dir, "server.crt"), FAKE_CERT);
  Deno.writeTextFileSync(join(dir, "server.key"), FAKE_KEY);
  return dir;
}

function load(
  kind: ProcessKind,
  env: Record<string, string>,
  args: string[] = [],
  file?: Record<string, unknown> | string,
): LmsConfig {
  const orchestrated = env.LMS_ORCHESTRATOR_URL !== undefined || env.LMS_STANDALONE !== undefined ||
    args.some((a) => a.startsWith("--orchestrator-url") || a.startsWith("--standalone")) ||
    (typeof file === "object" && "LMS_ORCHESTRATOR_URL" in file);
  // A proxy needs an orchestrator or --standalone; most cases here are about other settings.
  const standalone: Record<string, string> = kind === "proxy" && !orchestrated
    ? { LMS_STANDALONE: "true" }
    : {};
  const input: LoadConfigInput = {
    args,
    env: { HOSTNAME: "pod-1", LMS_API_TOKEN: API_TOKEN, ...standalone, ...env },
  };
  if (file !== undefined) {
    input.readTextFile = (path) => {
      assertEquals(path, "/etc/lms/config.json");
      return typeof file === "string" ? file : JSON.stringify(file);
    };
    input.env.LMS_CONFIG ??= "/etc/lms/config.json";
  }
  return loadConfig(kind, input);
}

/** The ConfigError thrown by `fn`, after checking it never mentions the test password. */
function problemsOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    assert(err instanceof LmsError);
    assertEquals(err.code, "CONFIG_INVALID");
    assert(!err.describe().includes(SECRET), `password leaked: ${err.message}`);
    assert(!JSON.stringify(err.problems).includes(SECRET), "password leaked into problems");
    return err;
  }
  throw new Error("expected a ConfigError, none was thrown");
}

function hasProblem(err: ConfigError, key: string, pattern: RegExp): void {
  assert(
    err.problems.some((p) => p.key === key && pattern.test(p.message)),
    `no problem ${key} ~ ${pattern}; got:\n${err.message}`,
  );
}

const proxyEnv = { LMS_SOURCE_DIALECT: "postgres", INIT_SOURCE: PG_SOURCE };

Deno.test("defaults per process", async (t) => {
  await t.step("proxy", () => {
    const c = load("proxy", proxyEnv);
    assertEquals(c.listen, { hostname: "0.0.0.0", port: 9043 });
    assertEquals(c.metricsListen, { hostname: "0.0.0.0", port: 9044 });
    assertEquals(c.shadowMode, "none");
    assertEquals(c.maxMessageSize, 268435456);
    assertEquals(c.maxPauseMs, 60000);
    assertEquals(c.shutdownGraceMs, 30000);
    assertEquals(c.logLevel, "info");
    assertEquals(c.redactQueries, false);
    assert(/^pod-1-[0-9a-f]{6}$/.test(c.proxyId), c.proxyId);
    assertEquals(c.standalone, true);
    assertEquals(c.sourceDialect, "postgres");
    assertEquals(c.source?.host, "pg.internal");
    assertEquals(c.source?.password, SECRET);
    assertEquals(c.target, undefined);
    assertEquals(c.proxyTls, undefined);
    assertEquals(c.orchestratorUrl, undefined);
  });
  await t.step("orchestrator", () => {
    const c = load("orchestrator", { LMS_SOURCE_DIALECT: "crdb", INIT_TARGET: TARGET });
    assertEquals(c.listen, { hostname: "0.0.0.0", port: 4200 });
    assertEquals(c.metricsListen, { hostname: "0.0.0.0", port: 4201 });
    assertEquals(c.target?.port, 26257);
  });
  await t.step("start needs neither a dialect nor connection strings", () => {
    const c = load("start", {});
    assertEquals(c.sourceDialect, "postgres");
    // The local run fronts trust-auth embedded databases: loopback unless told otherwise.
    assertEquals(c.listen, { hostname: "127.0.0.1", port: 9043 });
    assertEquals(c.metricsListen, { hostname: "127.0.0.1", port: 9044 });
    assertEquals(load("start", { INIT_SOURCE: MYSQL_SOURCE }).sourceDialect, "mysql");
    assertEquals(load("start", { INIT_SOURCE: PG_SOURCE }).sourceDialect, "postgres");
    assertEquals(load("start", {}, ["--source-dialect", "mysql"]).sourceDialect, "mysql");
    assertEquals([c.source, c.target], [undefined, undefined]);
    assertEquals(load("start", { LMS_SHADOW_MODE: "sync" }).shadowMode, "sync");
  });
  await t.step("proxy id: LMS_PROXY_ID, else unique: host name plus a random suffix", () => {
    assertEquals(load("proxy", { ...proxyEnv, LMS_PROXY_ID: "proxy-a" }).proxyId, "proxy-a");
    const ids = [1, 2].map(() =>
      loadConfig("proxy", { args: [], env: { ...proxyEnv, LMS_STANDALONE: "true" } }).proxyId
    );
    for (const id of ids) assert(id.startsWith(`${Deno.hostname()}-`), id);
    assert(ids[0] !== ids[1], `two processes on one host got the same id ${ids[0]}`);
  });
  await t.step("proxy id in Kubernetes: the pod name ($HOSTNAME), unique per pod", () => {
    assertEquals(
      load("proxy", { ...proxyEnv, KUBERNETES_SERVICE_HOST: "10.0.0.1" }).proxyId,
      "pod-1",
    );
  });
  await t.step("a proxy needs an orchestrator URL or --standalone, not both", () => {
    const env = { ...proxyEnv, LMS_STANDALONE: "" };
    hasProblem(problemsOf(() => load("proxy", env)), "LMS_ORCHESTRATOR_URL", /--standalone/);
    assertEquals(load("proxy", proxyEnv, ["--standalone"]).standalone, true);
    const url = { ...env, LMS_ORCHESTRATOR_URL: "http://orch:4200" };
    assertEquals(load("proxy", url).standalone, false);
    hasProblem(
      problemsOf(() => load("proxy", url, ["--standalone"])),
      "LMS_STANDALONE",
      /--orchestrator-url/,
    );
    assertEquals(
      load("orchestrator", { LMS_SOURCE_DIALECT: "crdb", INIT_TARGET: TARGET }).standalone,
      false,
    );
  });
});

Deno.test("precedence: flag > environment > config.json > default", async (t) => {
  const file = {
    INIT_SOURCE: PG_SOURCE.replace("pg.internal", "from-file"),
    LMS_SOURCE_DIALECT: "postgres",
    INIT_TARGET: TARGET,
    LMS_SHADOW_MODE: "async",
    LMS_LISTEN: "127.0.0.1:1001",
    LMS_LOG_LEVEL: "warn",
  };
  await t.step("config.json beats the default", () => {
    const c = load("proxy", {}, [], file);
    assertEquals(c.listen, { hostname: "127.0.0.1", port: 1001 });
    assertEquals(c.shadowMode, "async");
    assertEquals(c.source?.host, "from-file");
    assertEquals(c.metricsListen.port, 9044);
    assertEquals(c.configFile, "/etc/lms/config.json");
  });
  await t.step("the environment beats config.json", () => {
    const c = load(
      "proxy",
      {
        LMS_LISTEN: "127.0.0.1:1002",
        INIT_SOURCE: PG_SOURCE.replace("pg.internal", "from-env"),
        INIT_TARGET: TARGET,
      },
      [],
      file,
    );
    assertEquals(c.listen.port, 1002);
    assertEquals(c.source?.host, "from-env");
    assertEquals(c.logLevel, "warn");
  });
  await t.step("a flag beats the environment", () => {
    const c = load(
      "proxy",
      { LMS_LISTEN: "127.0.0.1:1002", LMS_LOG_LEVEL: "error", INIT_TARGET: TARGET },
      ["--listen", "127.0.0.1:1003", "--log-level=debug", "--shadow-mode", "sync"],
      file,
    );
    assertEquals(c.listen.port, 1003);
    assertEquals(c.logLevel, "debug");
    assertEquals(c.shadowMode, "sync");
  });
  await t.step("an empty environment variable counts as unset", () => {
    const c = load("proxy", { LMS_LISTEN: "", INIT_SOURCE: " " }, [], file);
    assertEquals(c.listen.port, 1001);
    assertEquals(c.source?.host, "from-file");
  });
  await t.step("--config beats LMS_CONFIG", () => {
    const read: string[] = [];
    loadConfig("start", {
      args: ["--config", "/a.json"],
      env: { LMS_CONFIG: "/b.json" },
      readTextFile: (p) => (read.push(p), "{}"),
    });
    assertEquals(read, ["/a.json"]);
  });
  await t.step("config.json is read from disk by default", () => {
    const dir = Deno.makeTempDirSync({ prefix: "lms-config-test-" });
    try {
      const path = join(dir, "config.json");
      Deno.writeTextFileSync(path, JSON.stringify(file));
      const c = loadConfig("proxy", { args: [`--config=${path}`, "--standalone"], env: {} });
      assertEquals(c.source?.host, "from-file");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
});

Deno.test("the product docs' config.json, with certificates mounted as directories", () => {
  const dir = makeCerts();
  try {
    const certs = join(dir, "certs");
    const docsConfig = {
      INIT_SOURCE: "mysql://app:" + SECRET + "@tcp(mysql.internal:3306)/shop?sslmode=verify-full" +
        "?sslrootcert=path/to/mysql.ca&sslcert=path/to/mysql.crt&sslkey=path/to/mysql.key",
      INIT_TARGET: "postgresql://roach:" + SECRET + "@crdb.internal:26257/defaultdb" +
        "?sslmode=verify-full?sslrootcert=path/to/ca.crt&sslcert=path/to/client.username.crt" +
        "&sslkey=path/to/client.username.key",
      SSL_CA: certs,
      SSL_CERT: certs,
      SSL_KEY: certs,
      CA_TLS_CERT: certs,
      TLS_CERT: certs,
      TLS_KEY: certs,
    };
    for (const kind of ["proxy", "orchestrator"] as const) {
      const c = load(kind, { LMS_SOURCE_DIALECT: "mysql" }, [], docsConfig);
      assertEquals(c.source?.dialect, "mysql");
      assertEquals(c.source?.sslkey, "path/to/mysql.key");
      assertEquals(c.target?.sslrootcert, "path/to/ca.crt");
      const expected = {
        cert: FAKE_CERT,
        key: FAKE_KEY,
        ca: FAKE_CERT.replace("CERTbody", "CAbody"),
      };
      const files = (cert: string, key: string, ca: string) => ({
        cert: { path: certs, key: cert },
        key: { path: certs, key },
        ca: { path: certs, key: ca },
      });
      assertEquals(c.proxyTls, { ...expected, files: files("SSL_CERT", "SSL_KEY", "SSL_CA") });
      assertEquals(c.orchestratorTls, {
        ...expected,
        files: files("TLS_CERT", "TLS_KEY", "CA_TLS_CERT"),
      });
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("TLS settings", async (t) => {
  const dir = makeCerts();
  const crt = join(dir, "server.crt");
  const key = join(dir, "server.key");
  try {
    await t.step("files instead of directories; no CA means no client certificates", () => {
      const c = load("proxy", { ...proxyEnv, SSL_CERT: crt, SSL_KEY: key });
      assertEquals(c.proxyTls, {
        cert: FAKE_CERT,
        key: FAKE_KEY,
        // Kept so a rotation of the mounted files is picked up (shared/tls_reload.ts).
        files: { cert: { path: crt, key: "SSL_CERT" }, key: { path: key, key: "SSL_KEY" } },
      });
      assertEquals(c.orchestratorTls, undefined);
    });
    await t.step("LMS_CLIENT_AUTH=cleartext needs TLS towards clients unless forced", () => {
      assertEquals(load("proxy", proxyEnv).clientAuth, "relay");
      const tls = load("proxy", {
        ...proxyEnv,
        SSL_CERT: crt,
        SSL_KEY: key,
        LMS_CLIENT_AUTH: "cleartext",
      });
      assertEquals([tls.clientAuth, tls.allowCleartextWithoutTls], ["cleartext", false]);
      hasProblem(
        problemsOf(() => load("proxy", { ...proxyEnv, LMS_CLIENT_AUTH: "cleartext" })),
        "LMS_CLIENT_AUTH",
        /needs TLS: set SSL_CERT and SSL_KEY, or force it with LMS_ALLOW_CLEARTEXT_WITHOUT_TLS/,
      );
      const forced = load("proxy", {
        ...proxyEnv,
        LMS_CLIENT_AUTH: "cleartext",
        LMS_ALLOW_CLEARTEXT_WITHOUT_TLS: "true",
      });
      assertEquals([forced.clientAuth, forced.allowCleartextWithoutTls], ["cleartext", true]);
      hasProblem(
        problemsOf(() => load("proxy", { ...proxyEnv, LMS_CLIENT_AUTH: "scram" })),
        "LMS_CLIENT_AUTH",
        /"scram" is not a client authentication mode; use relay, cleartext/,
      );
    });
    await t.step("SSL_CA alone", () => {
      const err = problemsOf(() => load("proxy", { ...proxyEnv, SSL_CA: crt }));
      hasProblem(err, "SSL_CERT", /required when SSL_CA is set/);
      hasProblem(err, "SSL_KEY", /required when SSL_CA is set/);
    });
    await t.step("SSL_CERT without SSL_KEY and SSL_KEY without SSL_CERT", () => {
      hasProblem(
        problemsOf(() => load("proxy", { ...proxyEnv, SSL_CERT: crt })),
        "SSL_KEY",
        /required when SSL_CERT is set/,
      );
      hasProblem(
        problemsOf(() => load("proxy", { ...proxyEnv, SSL_KEY: key })),
        "SSL_CERT",
        /required when SSL_KEY is set/,
      );
    });
    await t.step("TLS_CERT without TLS_KEY, and CA_TLS_CERT alone", () => {
      const env = { LMS_SOURCE_DIALECT: "postgres", INIT_TARGET: TARGET };
      hasProblem(
        problemsOf(() => load("orchestrator", { ...env, TLS_CERT: crt })),
        "TLS_KEY",
        /required when TLS_CERT is set/,
      );
      const err = problemsOf(() => load("orchestrator", { ...env, CA_TLS_CERT: crt }));
      hasProblem(err, "TLS_CERT", /required when CA_TLS_CERT is set/);
      hasProblem(err, "TLS_KEY", /required when CA_TLS_CERT is set/);
    });
    await t.step("unreadable or wrong material is reported per key", () => {
      const err = problemsOf(() =>
        load("proxy", {
          ...proxyEnv,
          SSL_CERT: key,
          SSL_KEY: join(dir, "nope.key"),
          SSL_CA: join(dir, "certs-missing"),
        })
      );
      hasProblem(err, "SSL_CERT", /private key, not a certificate/);
      hasProblem(err, "SSL_KEY", /does not exist/);
      hasProblem(err, "SSL_CA", /does not exist/);
      assert(!err.message.includes("fakeKEYbody"), "key material must not be quoted");
    });
    await t.step("a directory lacking a file names the file", () => {
      Deno.mkdirSync(join(dir, "partial"));
      Deno.writeTextFileSync(join(dir, "partial", "tls.crt"), FAKE_CERT);
      const err = problemsOf(() =>
        load("orchestrator", {
          LMS_SOURCE_DIALECT: "postgres",
          INIT_TARGET: TARGET,
          TLS_CERT: join(dir, "partial"),
          TLS_KEY: join(dir, "partial"),
        })
      );
      hasProblem(err, "TLS_KEY", /has no tls\.key/);
      assertEquals(err.problems.length, 1);
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("value formats", async (t) => {
  const withEnv = (extra: Record<string, string>) => load("proxy", { ...proxyEnv, ...extra });
  await t.step("listen addresses", () => {
    const cases: [string, { hostname: string; port: number }][] = [
      ["127.0.0.1:7000", { hostname: "127.0.0.1", port: 7000 }],
      [":7001", { hostname: "0.0.0.0", port: 7001 }],
      ["[::1]:7002", { hostname: "::1", port: 7002 }],
      ["localhost:0", { hostname: "localhost", port: 0 }],
    ];
    for (const [text, want] of cases) {
      assertEquals(withEnv({ LMS_LISTEN: text }).listen, want);
      assertEquals(withEnv({ LMS_METRICS_LISTEN: text }).metricsListen, want);
    }
    for (const bad of ["7000", "host", "::1:7000", "h:99999", "h:", "h:x", "[::1]7000"]) {
      hasProblem(problemsOf(() => withEnv({ LMS_LISTEN: bad })), "LMS_LISTEN", /./);
    }
    hasProblem(
      problemsOf(() => withEnv({ LMS_LISTEN: "::1:7000" })),
      "LMS_LISTEN",
      /must be in brackets/,
    );
  });
  await t.step("message sizes", () => {
    const cases: [string, number][] = [
      ["2048", 2048],
      ["512KiB", 524288],
      ["1 MiB", 1048576],
      ["64mib", 67108864],
      ["1GiB", 1073741824],
    ];
    for (const [text, want] of cases) {
      assertEquals(withEnv({ LMS_MAX_MESSAGE_SIZE: text }).maxMessageSize, want);
    }
    for (const bad of ["1023", "12MB", "2GiB", "big", "-1", "1.5MiB"]) {
      hasProblem(
        problemsOf(() => withEnv({ LMS_MAX_MESSAGE_SIZE: bad })),
        "LMS_MAX_MESSAGE_SIZE",
        /./,
      );
    }
  });
  await t.step("pause durations", () => {
    const cases: [string, number][] = [["1500", 1500], ["250ms", 250], ["30s", 30000], [
      "2m",
      120000,
    ], ["1h", 3600000]];
    for (const [text, want] of cases) {
      assertEquals(withEnv({ LMS_MAX_PAUSE: text }).maxPauseMs, want);
    }
    for (const bad of ["0", "0s", "soon", "-5", "5d", "999h"]) {
      hasProblem(problemsOf(() => withEnv({ LMS_MAX_PAUSE: bad })), "LMS_MAX_PAUSE", /./);
    }
  });
  await t.step("shutdown grace", () => {
    assertEquals(withEnv({ LMS_SHUTDOWN_GRACE: "1s" }).shutdownGraceMs, 1000);
    assertEquals(withEnv({ LMS_SHUTDOWN_GRACE: "2m" }).shutdownGraceMs, 120000);
    assertEquals(load("proxy", proxyEnv, ["--shutdown-grace", "750ms"]).shutdownGraceMs, 750);
    assertEquals(load("proxy", proxyEnv, [], { LMS_SHUTDOWN_GRACE: 4500 }).shutdownGraceMs, 4500);
    for (const bad of ["0", "later", "-1s", "1d"]) {
      hasProblem(
        problemsOf(() => withEnv({ LMS_SHUTDOWN_GRACE: bad })),
        "LMS_SHUTDOWN_GRACE",
        /duration|out of range/,
      );
    }
  });
  await t.step("shadow queue and volatile patterns", () => {
    assertEquals(withEnv({}).shadowQueueBytes, 8 * 1024 * 1024);
    assertEquals(withEnv({ LMS_SHADOW_QUEUE: "64KiB" }).shadowQueueBytes, 65536);
    assertEquals(withEnv({}).shadowVolatile, []);
    assertEquals(withEnv({}).shadowRowLimit, 1000);
    assertEquals(withEnv({ LMS_SHADOW_ROW_LIMIT: "50" }).shadowRowLimit, 50);
    hasProblem(
      problemsOf(() => withEnv({ LMS_SHADOW_ROW_LIMIT: "0" })),
      "LMS_SHADOW_ROW_LIMIT",
      /row count/,
    );
    assertEquals(
      load("proxy", proxyEnv, ["--shadow-volatile", "\\bmy_id\\(, updated_at ="]).shadowVolatile,
      ["\\bmy_id\\(", "updated_at ="],
    );
    hasProblem(
      problemsOf(() => withEnv({ LMS_SHADOW_VOLATILE: "ok,(unclosed" })),
      "LMS_SHADOW_VOLATILE",
      /not a valid regular expression/,
    );
  });
  await t.step("enumerations, case-insensitive", () => {
    assertEquals(
      withEnv({ LMS_SHADOW_MODE: "Strict-Sync", INIT_TARGET: TARGET }).shadowMode,
      "strict-sync",
    );
    assertEquals(withEnv({ LMS_LOG_LEVEL: "WARN" }).logLevel, "warn");
    const err = problemsOf(() =>
      load("proxy", {
        INIT_SOURCE: PG_SOURCE,
        LMS_SOURCE_DIALECT: "oracle",
        LMS_SHADOW_MODE: "mirror",
        LMS_LOG_LEVEL: "loud",
      })
    );
    hasProblem(err, "LMS_SOURCE_DIALECT", /"oracle" is not a source dialect; use postgres/);
    hasProblem(err, "LMS_SHADOW_MODE", /"mirror" is not a shadow mode; use none, async/);
    hasProblem(err, "LMS_LOG_LEVEL", /"loud" is not a log level/);
  });
  await t.step("booleans", () => {
    for (const [text, want] of [["true", true], ["1", true], ["off", false], ["no", false]]) {
      assertEquals(withEnv({ LMS_REDACT_QUERIES: text as string }).redactQueries, want);
    }
    hasProblem(
      problemsOf(() => withEnv({ LMS_REDACT_QUERIES: "perhaps" })),
      "LMS_REDACT_QUERIES",
      /not a boolean/,
    );
  });
  await t.step("auth query", () => {
    assertEquals(
      withEnv({}).authQuery,
      "SELECT usename, passwd FROM pg_shadow WHERE usename=$1",
    );
    assertEquals(
      withEnv({ LMS_AUTH_QUERY: " SELECT u, p FROM lms_lookup($1) " }).authQuery,
      "SELECT u, p FROM lms_lookup($1)",
    );
    for (const bad of ["SELECT usename, passwd FROM pg_shadow", "SELECT $1, $2"]) {
      hasProblem(
        problemsOf(() => withEnv({ LMS_AUTH_QUERY: bad })),
        "LMS_AUTH_QUERY",
        /only parameter is \$1/,
      );
    }
  });
  await t.step("orchestrator URL", () => {
    assertEquals(
      withEnv({ LMS_ORCHESTRATOR_URL: "https://orch:4200/" }).orchestratorUrl,
      "https://orch:4200",
    );
    for (const bad of ["orch:4200", "ftp://orch", "not a url"]) {
      hasProblem(
        problemsOf(() => withEnv({ LMS_ORCHESTRATOR_URL: bad })),
        "LMS_ORCHESTRATOR_URL",
        /./,
      );
    }
  });
  await t.step("proxy id", () => {
    hasProblem(
      problemsOf(() => withEnv({ LMS_PROXY_ID: "has space" })),
      "LMS_PROXY_ID",
      /not a usable id/,
    );
  });
});

Deno.test("flags", async (t) => {
  await t.step("every flag sets its setting", () => {
    const c = load("proxy", { INIT_SOURCE: MYSQL_SOURCE, INIT_TARGET: TARGET }, [
      "--source-dialect",
      "mysql",
      "--shadow-mode=async",
      "--listen",
      ":6000",
      "--metrics-listen",
      "[::1]:6001",
      "--orchestrator-url",
      "http://orch:4200",
      "--max-message-size",
      "1MiB",
      "--max-pause",
      "5s",
      "--proxy-id",
      "p-7",
      "--log-level",
      "error",
      "--redact-queries",
    ]);
    assertEquals(
      [
        c.sourceDialect,
        c.shadowMode,
        c.listen.port,
        c.metricsListen.hostname,
        c.orchestratorUrl,
        c.maxMessageSize,
        c.maxPauseMs,
        c.proxyId,
        c.logLevel,
        c.redactQueries,
      ],
      ["mysql", "async", 6000, "::1", "http://orch:4200", 1048576, 5000, "p-7", "error", true],
    );
  });
  await t.step("--redact-queries=false overrides the environment", () => {
    const c = load("proxy", { ...proxyEnv, LMS_REDACT_QUERIES: "true" }, [
      "--redact-queries=false",
    ]);
    assertEquals(c.redactQueries, false);
  });
  await t.step("-h and --help are recognised and not a problem", () => {
    assert(wantsHelp(["--listen", ":1", "-h"]));
    assert(wantsHelp(["--help"]));
    assert(!wantsHelp(["--listen", ":1"]));
    assertEquals(load("proxy", proxyEnv, ["--help"]).listen.port, 9043);
  });
  await t.step("unknown flags, missing values and stray arguments", () => {
    const err = problemsOf(() =>
      load("proxy", proxyEnv, [
        "--lisen",
        ":1",
        "--shadow-mode",
        "--log-level",
        "--frobnicate",
        "stray",
        "--max-pause",
      ])
    );
    hasProblem(err, "--lisen", /unknown flag; did you mean --listen\?/);
    hasProblem(err, "--shadow-mode", /needs a value/);
    hasProblem(err, "--log-level", /needs a value/);
    hasProblem(err, "--max-pause", /needs a value/);
    const frob = err.problems.find((p) => p.key === "--frobnicate");
    assert(frob && !frob.message.includes("did you mean"), err.message);
    assertEquals(err.problems.filter((p) => p.key === "arguments").length, 0, err.message);
    assertEquals(err.problems.length, 5, err.message);
  });
  await t.step("a positional argument is a problem", () => {
    hasProblem(
      problemsOf(() => load("proxy", proxyEnv, ["serve"])),
      "arguments",
      /unexpected argument "serve"/,
    );
  });
});

Deno.test("config.json problems", async (t) => {
  await t.step("unknown keys are named, with the closest known key", () => {
    const err = problemsOf(() =>
      load("proxy", proxyEnv, [], { INIT_SOURC: PG_SOURCE, LMS_LISTN: ":1", ZZZZZZZZ: 1 })
    );
    hasProblem(err, "INIT_SOURC", /unknown key in config\.json; did you mean INIT_SOURCE\?/);
    hasProblem(err, "LMS_LISTN", /did you mean LMS_LISTEN\?/);
    const z = err.problems.find((p) => p.key === "ZZZZZZZZ");
    assert(z && !z.message.includes("did you mean"), err.message);
  });
  await t.step("LMS_CONFIG cannot point onwards from inside config.json", () => {
    hasProblem(
      problemsOf(() => load("proxy", proxyEnv, [], { LMS_CONFIG: "/other.json" })),
      "LMS_CONFIG",
      /cannot be set inside config\.json/,
    );
  });
  await t.step("wrong JSON types; numbers and booleans where they make sense", () => {
    const err = problemsOf(() =>
      load("proxy", { LMS_SOURCE_DIALECT: "postgres" }, [], { INIT_SOURCE: 5, LMS_LISTEN: true })
    );
    hasProblem(err, "INIT_SOURCE", /must be a JSON string/);
    hasProblem(err, "LMS_LISTEN", /must be a JSON string/);
    const c = load("proxy", proxyEnv, [], {
      LMS_MAX_MESSAGE_SIZE: 4096,
      LMS_MAX_PAUSE: 2500,
      LMS_REDACT_QUERIES: true,
    });
    assertEquals([c.maxMessageSize, c.maxPauseMs, c.redactQueries], [4096, 2500, true]);
  });
  await t.step("not an object", () => {
    for (const text of ["[]", '"x"', "null", "42"]) {
      hasProblem(
        problemsOf(() => load("proxy", proxyEnv, [], text)),
        "LMS_CONFIG",
        /must hold a JSON object/,
      );
    }
  });
  await t.step("invalid JSON is reported without quoting the file", () => {
    for (
      const text of [
        `{"INIT_SOURCE": "${PG_SOURCE}" "INIT_TARGET": 1}`,
        `{"INIT_SOURCE": "${PG_SOURCE}", }`,
        `${SECRET}`,
      ]
    ) {
      hasProblem(
        problemsOf(() => load("proxy", proxyEnv, [], text)),
        "LMS_CONFIG",
        /is not valid JSON/,
      );
    }
  });
  await t.step("the docs' trailing comma and '...' lines get a hint", () => {
    hasProblem(
      problemsOf(() =>
        load("proxy", proxyEnv, [], `{\n  "SSL_CA": "/app/certs",\n  "SSL_KEY": "/app/certs",\n}`)
      ),
      "LMS_CONFIG",
      /not valid JSON.*no comma before a closing \}/,
    );
    hasProblem(
      problemsOf(() => load("proxy", proxyEnv, [], `{\n  "INIT_SOURCE": "${PG_SOURCE}"\n  ...\n}`)),
      "LMS_CONFIG",
      /not valid JSON.*remove the "\.\.\." lines/,
    );
  });
  await t.step("a missing file", () => {
    const err = problemsOf(() =>
      loadConfig("proxy", {
        args: ["--config", "/nonexistent/lms/config.json"],
        env: { ...proxyEnv, LMS_STANDALONE: "true" },
      })
    );
    hasProblem(err, "--config", /cannot read config file \/nonexistent\/lms\/config\.json/);
  });
});

Deno.test("cross-setting rules", async (t) => {
  await t.step("the proxy needs INIT_SOURCE, the orchestrator INIT_TARGET", () => {
    hasProblem(
      problemsOf(() => load("proxy", { LMS_SOURCE_DIALECT: "postgres" })),
      "INIT_SOURCE",
      /required by the proxy/,
    );
    hasProblem(
      problemsOf(() => load("orchestrator", { LMS_SOURCE_DIALECT: "postgres" })),
      "INIT_TARGET",
      /required by the orchestrator/,
    );
  });
  await t.step("proxy and orchestrator need a source dialect", () => {
    for (const kind of ["proxy", "orchestrator"] as const) {
      hasProblem(
        problemsOf(() => load(kind, { INIT_SOURCE: PG_SOURCE, INIT_TARGET: TARGET })),
        "LMS_SOURCE_DIALECT",
        /is required/,
      );
    }
  });
  await t.step("the source URL must match the source dialect, naming both keys", () => {
    for (const kind of ["proxy", "orchestrator", "start"] as const) {
      const env = { INIT_TARGET: TARGET, INIT_SOURCE: PG_SOURCE };
      hasProblem(
        problemsOf(() => load(kind, { ...env, LMS_SOURCE_DIALECT: "mysql" })),
        "INIT_SOURCE",
        /postgres:\/\/ URL but LMS_SOURCE_DIALECT is mysql \(from the environment\); a mysql source needs a mysql:\/\/ INIT_SOURCE, or set LMS_SOURCE_DIALECT to postgres or crdb/,
      );
      for (const dialect of ["postgres", "crdb"]) {
        hasProblem(
          problemsOf(() =>
            load(kind, { ...env, INIT_SOURCE: MYSQL_SOURCE }, ["--source-dialect", dialect])
          ),
          "INIT_SOURCE",
          new RegExp(
            `mysql:// URL but LMS_SOURCE_DIALECT is ${dialect} \\(from --source-dialect\\); ` +
              `a ${dialect} source needs a postgres:// or postgresql:// INIT_SOURCE, ` +
              "or set LMS_SOURCE_DIALECT to mysql",
          ),
        );
      }
    }
    hasProblem(
      problemsOf(() =>
        load("proxy", {}, [], { LMS_SOURCE_DIALECT: "crdb", INIT_SOURCE: MYSQL_SOURCE })
      ),
      "INIT_SOURCE",
      /LMS_SOURCE_DIALECT is crdb \(from config\.json\)/,
    );
    assertEquals(
      load("proxy", { LMS_SOURCE_DIALECT: "crdb", INIT_SOURCE: PG_SOURCE }).sourceDialect,
      "crdb",
    );
  });
  await t.step("the target must be a postgres URL", () => {
    hasProblem(
      problemsOf(() =>
        load("orchestrator", { LMS_SOURCE_DIALECT: "mysql", INIT_TARGET: MYSQL_SOURCE })
      ),
      "INIT_TARGET",
      /must be a postgres:\/\/ or postgresql:\/\/ URL/,
    );
  });
  await t.step("shadowing needs both databases", () => {
    for (const mode of ["async", "sync", "strict-sync"]) {
      hasProblem(
        problemsOf(() => load("proxy", { ...proxyEnv, LMS_SHADOW_MODE: mode })),
        "INIT_TARGET",
        new RegExp(`required when the shadow mode is ${mode}`),
      );
      hasProblem(
        problemsOf(() =>
          load("orchestrator", {
            LMS_SOURCE_DIALECT: "postgres",
            INIT_TARGET: TARGET,
            LMS_SHADOW_MODE: mode,
          })
        ),
        "INIT_SOURCE",
        new RegExp(`required when the shadow mode is ${mode}`),
      );
    }
    const c = load("proxy", { ...proxyEnv, INIT_TARGET: TARGET, LMS_SHADOW_MODE: "sync" });
    assertEquals(c.target?.host, "crdb.internal");
  });
  await t.step("a malformed connection string names its key and source", () => {
    const err = problemsOf(() =>
      load("proxy", { LMS_SOURCE_DIALECT: "mysql", INIT_SOURCE: `mysql://u:${SECRET}@tcp(h` })
    );
    hasProblem(err, "INIT_SOURCE", /unbalanced parenthesis.*\(from the environment\)/);
  });
});

Deno.test("all problems are reported at once, one line each, without passwords", () => {
  const err = problemsOf(() =>
    load(
      "proxy",
      {
        LMS_SOURCE_DIALECT: "mysql",
        INIT_SOURCE: `postgres://app:${SECRET}@h:0/db`,
        INIT_TARGET: `mysql://root:${SECRET}@tcp(h:3306)/x`,
        LMS_SHADOW_MODE: "bogus",
        SSL_CA: "/nonexistent/ca.crt",
        LMS_LISTEN: `postgres://u:${SECRET}@h:1`,
      },
      [
        "--max-pause",
        "never",
        `--password=${SECRET}`,
        `postgres://u:${SECRET}@h/d`,
        `--x://u:${SECRET}@h`,
      ],
      `{"INIT_SOURCE": "postgres://u:${SECRET}@h/d",, }`,
    )
  );
  const keys = err.problems.map((p) => p.key).sort();
  assertEquals(keys, [
    "--password",
    "--x://u:[redacted]@h",
    "INIT_SOURCE",
    "INIT_TARGET",
    "LMS_CONFIG",
    "LMS_LISTEN",
    "LMS_MAX_PAUSE",
    "LMS_SHADOW_MODE",
    "SSL_CA",
    "SSL_CERT",
    "SSL_KEY",
    "arguments",
  ]);
  const lines = err.message.split("\n");
  assertEquals(lines.length, err.problems.length);
  for (const [i, p] of err.problems.entries()) assertEquals(lines[i], `${p.key}: ${p.message}`);
});

Deno.test("configHelp lists every flag with its variable and default", () => {
  for (const kind of ["proxy", "orchestrator", "start"] as const) {
    const help = configHelp(kind);
    for (const s of CONFIG_SETTINGS) {
      assert(help.includes(s.key), `${kind}: ${s.key} missing`);
      if (s.flag) assert(help.includes(`--${s.flag}`), `${kind}: --${s.flag} missing`);
      assert(help.includes(`default: ${s.defaultText(kind)}`), `${kind}: default of ${s.key}`);
    }
  }
  assert(configHelp("proxy").includes("0.0.0.0:9043"));
  assert(configHelp("orchestrator").includes("0.0.0.0:4200"));
  assert(configHelp("orchestrator").includes("0.0.0.0:4201"));
});

Deno.test("summarizeConfig carries no secret", () => {
  const dir = makeCerts();
  try {
    const c = load("proxy", {
      ...proxyEnv,
      INIT_TARGET: TARGET,
      SSL_CERT: join(dir, "certs"),
      SSL_KEY: join(dir, "certs"),
    });
    const summary = summarizeConfig(c);
    const text = JSON.stringify(summary);
    assert(!text.includes(SECRET), text);
    assert(!text.includes("fakeKEYbody"), text);
    assertEquals(summary.source, "postgres://app@pg.internal:5432/shop?sslmode=require");
    assertEquals(summary.proxyTls, "tls");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("CONFIGURATION.md documents every setting and flag", () => {
  const doc = Deno.readTextFileSync(new URL("../../shared/CONFIGURATION.md", import.meta.url));
  for (const s of CONFIG_SETTINGS) {
    assert(doc.includes(`\`${s.key}\``), `${s.key} missing`);
    if (s.flag) assert(doc.includes(`\`--${s.flag}`), `--${s.flag} missing`);
  }
});

Deno.test("LMS_API_TOKEN: required where changes would be open, checked, never echoed", async (t) => {
  const bare = (kind: ProcessKind, env: Record<string, string>) =>
    loadConfig(kind, { args: [], env: { HOSTNAME: "pod-1", ...env } });
  const orchestrator = { LMS_SOURCE_DIALECT: "postgres", INIT_TARGET: TARGET };
  await t.step("an orchestrator without mTLS refuses to start without one", () => {
    const err = problemsOf(() => bare("orchestrator", orchestrator));
    hasProblem(err, "LMS_API_TOKEN", /required when the orchestrator runs without mTLS/);
    assertEquals(
      bare("orchestrator", { ...orchestrator, LMS_API_TOKEN: API_TOKEN }).apiToken,
      API_TOKEN,
    );
  });
  await t.step("a proxy registering without a client certificate needs one", () => {
    const env = { ...proxyEnv, LMS_ORCHESTRATOR_URL: "http://orch:4200" };
    hasProblem(
      problemsOf(() => bare("proxy", env)),
      "LMS_API_TOKEN",
      /orchestrator's LMS_API_TOKEN/,
    );
    assertEquals(
      bare("proxy", { ...proxyEnv, LMS_STANDALONE: "true" }).apiToken,
      undefined,
      "a standalone proxy needs none",
    );
  });
  await t.step("too short or with spaces: refused without quoting it", () => {
    for (const token of ["short-token", "a token with spaces in it"]) {
      const err = problemsOf(() => bare("orchestrator", { ...orchestrator, LMS_API_TOKEN: token }));
      hasProblem(err, "LMS_API_TOKEN", /at least 16 printable characters/);
      assert(!err.message.includes(token), "the token must not be echoed");
    }
  });
  await t.step("kept out of the startup summary", () => {
    const c = bare("orchestrator", { ...orchestrator, LMS_API_TOKEN: API_TOKEN });
    assert(!JSON.stringify(summarizeConfig(c)).includes(API_TOKEN));
  });
});
