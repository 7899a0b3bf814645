/**
 * The state store and the replication catch-up check with a MySQL source: a
 * throwaway MariaDB as the source, a throwaway PostgreSQL as the target
 * (standing in for CockroachDB). The `_molt_lms` state lives in the target;
 * MariaDB gets only a `_molt_lms` database holding the marker table, written
 * and read with mysql2.
 */

import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { parseConnectionString } from "../../shared/connstring.ts";
import { LmsError } from "../../shared/errors.ts";
import { type MariaDbServer, startMariaDbServer } from "../../shared/local/mariadb_server.ts";
import { type PgCluster, startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { INITIAL_STATE, StateStore } from "../../shared/state_store.ts";
import { startReplicationCheck } from "../../orchestrator/replication.ts";
import { loadConfig } from "../../shared/config.ts";
import { startOrchestrator } from "../../orchestrator/main.ts";
import { makeCerts } from "../helpers/certs.ts";
import { expectExit, runCli } from "../helpers/cli_process.ts";

const SERVICE = { user: "lms_svc", password: "svc-Secret-9" };
const LIMITED = { user: "lms_limited", password: "limited-Secret-7" };
const API_TOKEN = "store-mysql-api-token-0123456789";

Deno.test("state store with a MySQL source", async (t) => {
  const certs = await makeCerts();
  const grant = `GRANT ALL ON *.* TO '${SERVICE.user}'@'%';`;
  const create = `CREATE USER '${SERVICE.user}'@'%' IDENTIFIED BY '${SERVICE.password}'`;
  // Started side by side: each takes seconds on a busy machine.
  const started = await Promise.allSettled([
    startPgCluster({
      name: "store-my-target",
      initSql: ["CREATE DATABASE tls_target", "CREATE DATABASE cli_target"],
    }),
    startMariaDbServer({
      name: "store-src",
      initSql: [
        `${create}; ${grant}` +
        `CREATE USER '${LIMITED.user}'@'%' IDENTIFIED BY '${LIMITED.password}';` +
        `CREATE DATABASE shop; GRANT ALL ON shop.* TO '${LIMITED.user}'@'%';`,
      ],
    }),
    startMariaDbServer({
      name: "store-tls",
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey },
      initSql: [`${create} REQUIRE SSL; ${grant}`],
    }),
  ]);
  const servers = started.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
  await using _stop = {
    [Symbol.asyncDispose]: async () => {
      for (const server of servers) await server[Symbol.asyncDispose]();
      await certs.cleanup();
    },
  };
  for (const r of started) if (r.status === "rejected") throw r.reason;
  const [target, maria, tlsMaria] = servers as [PgCluster, MariaDbServer, MariaDbServer];
  const targetSpec = parseConnectionString(target.url(), "INIT_TARGET");
  // The product docs' Go-driver form, database included.
  const sourceUrl =
    `mysql://${SERVICE.user}:${SERVICE.password}@tcp(127.0.0.1:${maria.port})/shop?sslmode=disable`;
  const store = new StateStore({
    target: targetSpec,
    source: parseConnectionString(sourceUrl, "INIT_SOURCE"),
  });
  const hasMysqlMarkerDb = async () =>
    (await maria.sql("SHOW DATABASES LIKE '\\_molt\\_lms'")) === "_molt_lms";
  try {
    await t.step("an unreachable target: nothing is created in MySQL", async () => {
      const broken = new StateStore({
        target: parseConnectionString("postgres://nobody:pw@127.0.0.1:1/x", "INIT_TARGET"),
        source: parseConnectionString(sourceUrl, "INIT_SOURCE"),
      });
      try {
        await assert.rejects(broken.initialize("o1"), (err: Error) => {
          assert.ok(err instanceof LmsError);
          assert.match(err.message, /the target database \(INIT_TARGET\) is not reachable/);
          assert.match(err.hint, /INIT_TARGET/);
          return true;
        });
      } finally {
        await broken.close();
      }
      assert.equal(await hasMysqlMarkerDb(), false);
    });

    await t.step("a MySQL user without privileges is told which GRANT it needs", async () => {
      const limited = new StateStore({
        target: targetSpec,
        source: parseConnectionString(
          `mysql://${LIMITED.user}:${LIMITED.password}@tcp(127.0.0.1:${maria.port})/shop`,
          "INIT_SOURCE",
        ),
      });
      try {
        await assert.rejects(limited.initialize("o1"), (err: Error) => {
          assert.ok(err instanceof LmsError);
          assert.match(
            err.message,
            /the MySQL source user lms_limited may not create the _molt_lms/,
          );
          assert.match(err.hint, /GRANT CREATE, SELECT, INSERT, UPDATE ON _molt_lms\.\*/);
          assert.doesNotMatch(err.message + err.hint, new RegExp(LIMITED.password));
          return true;
        });
      } finally {
        await limited.close();
      }
      assert.equal(await hasMysqlMarkerDb(), false);
      assert.equal((await store.readState()).initialized, false, "no state row was written");
    });

    await t.step("a marker poller on a MySQL source before initialize says so", async () => {
      const poller = await store.markerPoller("source", "early");
      try {
        await assert.rejects(poller.seen(), (err: Error) => {
          assert.ok(err instanceof LmsError);
          assert.equal(err.code, "NOT_INITIALIZED");
          assert.match(err.message, /the MySQL source has no _molt_lms\.marker table/);
          assert.match(err.hint, /molt-lms-cli initialize/);
          return true;
        });
      } finally {
        await poller.close();
      }
    });

    await t.step(
      "initialize: state in the target, marker database in MySQL, idempotent",
      async () => {
        const first = await store.initialize("o1");
        assert.deepEqual(first.state, INITIAL_STATE);
        assert.equal(first.created, true);
        assert.deepEqual(first.markers, [
          { side: "target", dialect: "postgres", table: "_molt_lms.marker" },
          { side: "source", dialect: "mysql", table: "`_molt_lms`.`marker` (database _molt_lms)" },
        ]);
        assert.equal(await maria.sql("SHOW TABLES FROM _molt_lms"), "marker");
        assert.equal(
          await target.psql(
            "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables " +
              "WHERE table_schema = '_molt_lms'",
          ),
          "events,fleet,marker,mysql_accounts,shadowing,state",
        );
        const second = await store.initialize("o2");
        assert.equal(second.created, false);
        assert.equal((await store.readState()).updatedBy, "o1");
        assert.deepEqual((await store.history(5)).map((e) => e.step), ["initialize"]);
        // Someone dropped the MySQL side: initialize puts it back without touching the state.
        await maria.sql("DROP DATABASE _molt_lms");
        assert.equal((await store.initialize("o3")).created, false);
        assert.equal(await maria.sql("SHOW TABLES FROM _molt_lms"), "marker");
      },
    );

    await t.step("markers are written and read with mysql2, each once", async () => {
      const poller = await store.markerPoller("source", "cut-1");
      try {
        assert.equal(await poller.seen(), false);
        await store.writeMarker("source", "cut-1");
        await store.writeMarker("source", "cut-1");
        assert.equal(await poller.seen(), true);
      } finally {
        await poller.close();
      }
      assert.equal(
        await maria.sql("SELECT count(*) FROM _molt_lms.marker WHERE id = 'cut-1'"),
        "1",
      );
      const onTarget = await store.markerPoller("target", "cut-1");
      assert.equal(await onTarget.seen(), false, "nothing replicates here by itself");
      await onTarget.close();
    });

    await t.step("catch-up check: marker written on MySQL, awaited on the target", async () => {
      // Stands in for the customer's CDC: copies MySQL's marker rows to the target.
      const replicator = await mysql.createConnection({
        host: "127.0.0.1",
        port: maria.port,
        user: SERVICE.user,
        password: SERVICE.password,
      });
      let replicating = true;
      const copied = (async () => {
        while (replicating) {
          const [rows] = await replicator.query("SELECT id FROM _molt_lms.marker");
          for (const row of rows as { id: string }[]) {
            await target.psql(
              `INSERT INTO _molt_lms.marker (id) VALUES ('${row.id}') ON CONFLICT DO NOTHING`,
            );
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      try {
        const check = startReplicationCheck(store, {
          markerId: "cut-2",
          from: "source",
          to: "target",
          pollMs: 10,
        });
        const deadline = setTimeout(() => check.stop(), 20_000);
        await check.done;
        clearTimeout(deadline);
        const status = check.status();
        assert.equal(status.error, null);
        assert.equal(status.caughtUp, true);
        assert.ok(status.lagMs !== null && status.lagMs >= 0);
        assert.equal(
          await maria.sql("SELECT count(*) FROM _molt_lms.marker WHERE id = 'cut-2'"),
          "1",
          "the marker was written on the MySQL source",
        );
      } finally {
        replicating = false;
        await copied;
        await replicator.end();
      }
    });

    await t.step("after a cutover the check runs the other way: target to MySQL", async () => {
      const check = startReplicationCheck(store, {
        markerId: "cut-3",
        from: "target",
        to: "source",
        pollMs: 10,
      });
      for (
        let i = 0;
        i < 100 &&
        (await target.psql("SELECT count(*) FROM _molt_lms.marker WHERE id = 'cut-3'")) !== "1";
        i++
      ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(check.status().caughtUp, false, "not on MySQL yet");
      await maria.sql("INSERT INTO _molt_lms.marker (id) VALUES ('cut-3')");
      const deadline = setTimeout(() => check.stop(), 20_000);
      await check.done;
      clearTimeout(deadline);
      assert.equal(check.status().caughtUp, true);
    });

    await t.step("TLS to the MySQL source as sslmode asks", async () => {
      const other = await certs.otherCa();
      const initialize = async (query: string) => {
        const tlsStore = new StateStore({
          target: parseConnectionString(target.url({ database: "tls_target" }), "INIT_TARGET"),
          source: parseConnectionString(
            `mysql://${SERVICE.user}:${SERVICE.password}@tcp(127.0.0.1:${tlsMaria.port})/?${query}`,
            "INIT_SOURCE",
          ),
        });
        try {
          return await tlsStore.initialize("o1");
        } finally {
          await tlsStore.close();
        }
      };
      await assert.rejects(initialize("sslmode=disable"), /not reachable/, "the user needs TLS");
      await assert.rejects(
        initialize(`sslmode=verify-ca&sslrootcert=${other.caCert}`),
        /not reachable/,
        "a certificate from another CA is refused",
      );
      const ok = await initialize(`sslmode=verify-full&sslrootcert=${certs.caCert}`);
      assert.equal(ok.created, true);
      assert.equal(await tlsMaria.sql("SHOW TABLES FROM _molt_lms"), "marker");
      assert.equal((await initialize("sslmode=require")).created, false);
    });

    await t.step(
      "molt-lms-cli initialize through an orchestrator with a MySQL source",
      async () => {
        await maria.sql("DROP DATABASE _molt_lms");
        const orchestrator = await startOrchestrator(loadConfig("orchestrator", {
          args: [],
          env: {
            LMS_SOURCE_DIALECT: "mysql",
            INIT_SOURCE: sourceUrl,
            INIT_TARGET: target.url({ database: "cli_target" }),
            LMS_LISTEN: "127.0.0.1:0",
            LMS_METRICS_LISTEN: "127.0.0.1:0",
            LMS_LOG_LEVEL: "error",
            LMS_API_TOKEN: API_TOKEN,
          },
        }));
        try {
          const url = ["--orchestrator-url", `http://127.0.0.1:${orchestrator.port}`];
          const cliEnv = { CLI_API_TOKEN: API_TOKEN };
          const first = await runCli(["initialize", ...url], cliEnv);
          expectExit(first, 0);
          assert.match(first.stdout, /^Initialized: created the _molt_lms state objects/);
          assert.match(
            first.stdout,
            /Marker \(source\)\s+`_molt_lms`\.`marker` .* on the MySQL source/,
          );
          assert.equal(await maria.sql("SHOW TABLES FROM _molt_lms"), "marker");
          const again = await runCli(["initialize", ...url, "--output", "json"], cliEnv);
          expectExit(again, 0);
          const body = JSON.parse(again.stdout);
          assert.equal(body.created, false);
          assert.deepEqual(body.markers.map((m: { side: string }) => m.side), ["target", "source"]);
          assert.doesNotMatch(first.stdout + again.stdout, new RegExp(SERVICE.password));
        } finally {
          await orchestrator.close();
        }
      },
    );
  } finally {
    await store.close();
  }
});
