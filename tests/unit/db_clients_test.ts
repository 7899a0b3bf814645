import assert from "node:assert/strict";
import { parseConnectionString } from "../../shared/connstring.ts";
import { mysqlClientConfig, pgClientConfig } from "../../shared/db_clients.ts";

Deno.test("mysql2 options follow sslmode: host name checked on verify-full only", async () => {
  const ca = await Deno.makeTempFile({ suffix: ".crt" });
  await Deno.writeTextFile(
    ca,
    "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n",
  );
  try {
    await checkModes(ca);
  } finally {
    await Deno.remove(ca);
  }
});

async function checkModes(ca: string): Promise<void> {
  const at = (mode: string) =>
    mysqlClientConfig(
      parseConnectionString(
        `mysql://u:pw@tcp(db.internal:3307)/shop?sslmode=${mode}&sslrootcert=${ca}`,
      ),
    );
  for (const mode of ["disable", "allow", "prefer"]) {
    assert.equal((await at(mode)).ssl, undefined, mode);
  }
  assert.deepEqual((await at("require")).ssl, {
    rejectUnauthorized: false,
    verifyIdentity: false,
    ca: Deno.readTextFileSync(ca),
  });
  const verifyCa = (await at("verify-ca")).ssl as Record<string, unknown>;
  assert.deepEqual([verifyCa.rejectUnauthorized, verifyCa.verifyIdentity], [true, false]);
  const full = await at("verify-full");
  assert.deepEqual(
    [full.host, full.port, full.user, full.password, full.database],
    ["db.internal", 3307, "u", "pw", "shop"],
  );
  const fullSsl = full.ssl as Record<string, unknown>;
  assert.deepEqual([fullSsl.rejectUnauthorized, fullSsl.verifyIdentity], [true, true]);
  const noDb = await mysqlClientConfig(parseConnectionString("mysql://u@tcp(h:3306)/"));
  assert.equal(noDb.database, undefined, "MySQL connects without a default database");
}

Deno.test("each driver refuses the other dialect's connection string", async () => {
  await assert.rejects(
    pgClientConfig(parseConnectionString("mysql://u@tcp(h:3306)/d")),
    /a mysql connection cannot be opened with the PostgreSQL driver/,
  );
  await assert.rejects(
    mysqlClientConfig(parseConnectionString("postgres://u@h/d")),
    /a postgres connection cannot be opened with the MySQL driver/,
  );
});

Deno.test("an unreadable sslrootcert names the file", async () => {
  await assert.rejects(
    mysqlClientConfig(
      parseConnectionString(
        "mysql://u@tcp(h:3306)/d?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem",
      ),
    ),
    /cannot read sslrootcert \/nonexistent\/ca\.pem/,
  );
});
