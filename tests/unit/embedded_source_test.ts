import assert from "node:assert/strict";
import { parseConnectionString } from "../../shared/connstring.ts";
import { connectCommand } from "../../shared/local/embedded_source.ts";

Deno.test("connect command for a PostgreSQL source: psql with the source's user and database", () => {
  const spec = parseConnectionString("postgres://postgres@127.0.0.1:5999/postgres");
  assert.equal(
    connectCommand(spec, "127.0.0.1", 9043),
    'psql "postgres://postgres@127.0.0.1:9043/postgres"',
  );
  const odd = parseConnectionString("postgres://app%20user:pw@db:5432/my%2Fdb");
  assert.equal(connectCommand(odd, "::1", 9043), 'psql "postgres://app%20user@[::1]:9043/my%2Fdb"');
});

Deno.test("connect command for a MySQL source: mariadb flags, -p only when there is a password", () => {
  const embedded = parseConnectionString("mysql://root@127.0.0.1:41234/app");
  assert.equal(
    connectCommand(embedded, "127.0.0.1", 9043),
    "mariadb -h 127.0.0.1 -P 9043 -u root app",
  );
  const secret = "Sw0rdfish-9";
  const withPassword = parseConnectionString(`mysql://shop:${secret}@tcp(my.internal:3306)/`);
  const line = connectCommand(withPassword, "10.0.0.5", 9045);
  assert.equal(line, "mariadb -h 10.0.0.5 -P 9045 -u shop -p");
  assert.ok(!line.includes(secret), "the password is never printed");
  const quoted = parseConnectionString("mysql://o%27brien@tcp(h:3306)/sales%20db");
  assert.equal(
    connectCommand(quoted, "127.0.0.1", 9043),
    `mariadb -h 127.0.0.1 -P 9043 -u 'o'\\''brien' 'sales db'`,
  );
});
