import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  type ConnectionSpec,
  ConnectionStringError,
  describeConnection,
  parseConnectionString,
  redactConnectionString,
} from "../../shared/connstring.ts";
import { LmsError } from "../../shared/errors.ts";

const SECRET = "Hunter2Secret";

/** The error `fn` throws, checked to be an instance of `type`. */
function assertThrows<E extends Error>(fn: () => unknown, type: new (...a: never[]) => E): E {
  try {
    fn();
  } catch (err) {
    assert(err instanceof type, `expected ${type.name}, got ${err}`);
    return err;
  }
  throw new Error("expected an error, none was thrown");
}

/** Parses `raw` expecting a failure; returns the message after checking code and key. */
function rejects(raw: string, key = "INIT_SOURCE"): string {
  const err = assertThrows(() => parseConnectionString(raw, key), ConnectionStringError);
  assert(err instanceof LmsError);
  assertEquals(err.code, "CONNSTRING_INVALID");
  assert(err.message.startsWith(`${key}: `), err.message);
  assertEquals(err.key, key);
  return err.message;
}

Deno.test("product docs' example strings parse as intended", async (t) => {
  await t.step("INIT_SOURCE (mysql Go-driver form with the stray second '?')", () => {
    const raw = "mysql://appuser:s3cr3t@tcp(mysql.internal:3307)/shop?sslmode=verify-full" +
      "?sslrootcert=path/to/mysql.ca&sslcert=path/to/mysql.crt&sslkey=path/to/mysql.key";
    assertEquals(parseConnectionString(raw, "INIT_SOURCE"), {
      dialect: "mysql",
      host: "mysql.internal",
      port: 3307,
      user: "appuser",
      password: "s3cr3t",
      database: "shop",
      sslmode: "verify-full",
      sslrootcert: "path/to/mysql.ca",
      sslcert: "path/to/mysql.crt",
      sslkey: "path/to/mysql.key",
      params: {},
    });
  });
  await t.step("INIT_TARGET (postgresql URL with the stray second '?')", () => {
    const raw = "postgresql://roach:p4ss@crdb.internal:26257/defaultdb?sslmode=verify-full" +
      "?sslrootcert=path/to/ca.crt&sslcert=path/to/client.username.crt" +
      "&sslkey=path/to/client.username.key";
    assertEquals(parseConnectionString(raw, "INIT_TARGET"), {
      dialect: "postgres",
      host: "crdb.internal",
      port: 26257,
      user: "roach",
      password: "p4ss",
      database: "defaultdb",
      sslmode: "verify-full",
      sslrootcert: "path/to/ca.crt",
      sslcert: "path/to/client.username.crt",
      sslkey: "path/to/client.username.key",
      params: {},
    });
  });
});

Deno.test("postgres URLs", async (t) => {
  await t.step("both schemes, defaults: port 5432, database = user, sslmode prefer", () => {
    for (const scheme of ["postgres", "postgresql", "PostgreSQL"]) {
      const spec = parseConnectionString(`${scheme}://alice@db.example`);
      assertEquals(spec.dialect, "postgres");
      assertEquals(spec.port, 5432);
      assertEquals(spec.database, "alice");
      assertEquals(spec.sslmode, "prefer");
      assertEquals(spec.password, undefined);
    }
  });
  await t.step("CockroachDB's port is not assumed", () => {
    assertEquals(parseConnectionString("postgres://root@crdb/defaultdb").port, 5432);
  });
  await t.step("percent-decoding of user, password and database", () => {
    const spec = parseConnectionString("postgres://us%20er:p%40ss%3Aw%3Fd%2F@h/my%2Fdb");
    assertEquals(spec.user, "us er");
    assertEquals(spec.password, "p@ss:w?d/");
    assertEquals(spec.database, "my/db");
  });
  await t.step("IPv6 host in brackets, with and without port", () => {
    const a = parseConnectionString("postgres://u@[::1]:6432/d");
    assertEquals([a.host, a.port], ["::1", 6432]);
    const b = parseConnectionString("postgres://u@[fe80::1]/d");
    assertEquals([b.host, b.port], ["fe80::1", 5432]);
  });
  await t.step("host, port, user, password and dbname query parameters (libpq)", () => {
    const spec = parseConnectionString(
      "postgres:///?host=10.0.0.5&port=6543&user=bob&password=pw&dbname=inv",
    );
    assertEquals(
      [spec.host, spec.port, spec.user, spec.password, spec.database],
      ["10.0.0.5", 6543, "bob", "pw", "inv"],
    );
  });
  await t.step("other parameters land in params, decoded", () => {
    const spec = parseConnectionString(
      "postgres://u@h/d?application_name=my%20app&options=-c%20search_path%3Dx&connect_timeout=5",
    );
    assertEquals(spec.params, {
      application_name: "my app",
      options: "-c search_path=x",
      connect_timeout: "5",
    });
  });
  await t.step("every sslmode value is accepted", () => {
    for (const mode of ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]) {
      assertEquals(parseConnectionString(`postgres://u@h/d?sslmode=${mode}`).sslmode, mode);
    }
  });
  await t.step("surrounding whitespace (e.g. a trailing newline from a secret) is ignored", () => {
    assertEquals(parseConnectionString("  postgres://u@h/d\n").host, "h");
  });
  await t.step("a raw '@' inside the password is taken up to the last '@'", () => {
    assertEquals(parseConnectionString("postgres://u:a@b@h/d").password, "a@b");
  });
});

Deno.test("mysql URLs", async (t) => {
  await t.step("plain URL form, default port 3306, empty database allowed", () => {
    const spec = parseConnectionString("mysql://root:pw@mysql.local");
    assertEquals([spec.host, spec.port, spec.database], ["mysql.local", 3306, ""]);
  });
  await t.step("Go-driver tcp(host:port) form", () => {
    const spec = parseConnectionString("mysql://root:pw@tcp(10.1.2.3:3310)/app?charset=utf8mb4");
    assertEquals([spec.host, spec.port, spec.database], ["10.1.2.3", 3310, "app"]);
    assertEquals(spec.params, { charset: "utf8mb4" });
  });
  await t.step("tcp(host) without port and tcp([::1]:port)", () => {
    assertEquals(parseConnectionString("mysql://root@tcp(db)/x").port, 3306);
    const v6 = parseConnectionString("mysql://root@tcp([::1]:3307)/x");
    assertEquals([v6.host, v6.port], ["::1", 3307]);
  });
  await t.step("a percent-encoded password with '@', ':' and '?' in the tcp form", () => {
    const spec = parseConnectionString("mysql://root:a%40b%3Ac%3Fd@tcp(db:3306)/x");
    assertEquals(spec.password, "a@b:c?d");
  });
  await t.step("go-sql-driver tls= maps onto sslmode; sslmode wins", () => {
    assertEquals(parseConnectionString("mysql://r@h/x?tls=true").sslmode, "verify-full");
    assertEquals(parseConnectionString("mysql://r@h/x?tls=skip-verify").sslmode, "require");
    assertEquals(parseConnectionString("mysql://r@h/x?tls=false").sslmode, "disable");
    const custom = parseConnectionString("mysql://r@h/x?tls=constructor");
    assertEquals([custom.sslmode, custom.params], ["prefer", { tls: "constructor" }]);
    assertEquals(
      parseConnectionString("mysql://r@h/x?tls=true&sslmode=disable").sslmode,
      "disable",
    );
  });
});

Deno.test("passwords with reserved characters round-trip through percent-encoding", () => {
  for (const password of ["a@b", "c:d", "e?f", "p@:?/#&=% x", "ünïcødé"]) {
    const enc = encodeURIComponent(password);
    assertEquals(parseConnectionString(`postgres://u:${enc}@h:5432/d`).password, password);
    assertEquals(parseConnectionString(`mysql://u:${enc}@tcp(h:3306)/d`).password, password);
    assertEquals(parseConnectionString(`mysql://u:${enc}@h:3306/d`).password, password);
  }
});

Deno.test("malformed strings are rejected naming the key and the problem", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["empty string", "", /is empty/],
    ["only whitespace", "   ", /is empty/],
    ["not a URL", "just-a-host:5432", /is not a URL/],
    ["key=value form", "host=h user=u", /key=value connection strings are not supported/],
    ["unknown scheme", "mongodb://u@h/d", /unknown scheme "mongodb:\/\/"/],
    ["missing host", "postgres://u@/d", /missing host/],
    ["missing host in tcp()", "mysql://u@tcp()/d", /missing host/],
    ["missing user", "postgres://h/d", /missing user name/],
    ["port zero", "postgres://u@h:0/d", /port 0 is out of range/],
    ["port too large", "postgres://u@h:65536/d", /port 65536 is out of range/],
    ["port not a number", "postgres://u@h:54x2/d", /port is not a number/],
    ["empty port", "postgres://u@h:/d", /port after ':' is empty/],
    ["bad port query parameter", "postgres://u@h/d?port=-1", /port is not a number/],
    ["bad sslmode", "postgres://u@h/d?sslmode=always", /sslmode "always" is not one of/],
    ["sslcert without sslkey", "postgres://u@h/d?sslcert=c.crt", /sslcert is given without sslkey/],
    ["sslkey without sslcert", "mysql://u@h/d?sslkey=c.key", /sslkey is given without sslcert/],
    ["unbalanced tcp(", "mysql://u:pw@tcp(h:3306/d", /unbalanced parenthesis/],
    ["unbalanced tcp( at end", "mysql://u:pw@tcp(h:3306", /unbalanced parenthesis/],
    [
      "unix socket",
      "mysql://u:pw@unix(/run/mysqld.sock)/d",
      /unix\(\.\.\.\) sockets are not supported/,
    ],
    ["tcp form on postgres", "postgres://u@tcp(h:5432)/d", /only for mysql/],
    ["text after tcp(...)", "mysql://u@tcp(h:1)x/d", /unexpected text after tcp/],
    ["multiple hosts", "postgres://u@h1:5432,h2:5432/d", /multiple hosts/],
    ["unix socket via host=", "postgres://u@/d?host=/var/run/postgresql", /unix socket/],
    ["unbracketed IPv6", "postgres://u@::1:5432/d", /must be in brackets/],
    ["unclosed bracket", "postgres://u@[::1:5432/d", /closing '\]'/],
    ["parameter without value", "postgres://u@h/d?sslmode", /"sslmode" has no value/],
    ["bad percent-encoding in database", "postgres://u@h/%zz", /database name has an invalid/],
    ["empty sslrootcert", "postgres://u@h/d?sslrootcert=", /sslrootcert is empty/],
  ];
  for (const [name, raw, pattern] of cases) {
    await t.step(name, () => {
      const message = rejects(raw);
      assert(pattern.test(message), `${name}: ${message}`);
    });
  }
  await t.step("the default key name is used when none is given", () => {
    const err = assertThrows(() => parseConnectionString(""), LmsError);
    assert(err.message.startsWith("connection string: "), err.message);
  });
});

Deno.test("error messages never contain the password", async (t) => {
  const cases: [string, string][] = [
    ["bad percent-encoding in the password", `postgres://u:${SECRET}%zz@h/d`],
    ["unencoded '/' in the password", `postgres://u:${SECRET}/x@h/d`],
    ["unencoded '?' in the password", `postgres://u:${SECRET}?x@h/d`],
    ["digits then '/' in the password", `postgres://u:12345/${SECRET}@h/d`],
    ["digits then '?' in the password", `postgres://u:99999?${SECRET}@h/d`],
    ["bad port after a password", `postgres://u:${SECRET}@h:99999/d`],
    ["bad sslmode after a password", `mysql://u:${SECRET}@tcp(h:3306)/d?sslmode=x`],
    ["unbalanced tcp( after a password", `mysql://u:${SECRET}@tcp(h:3306/d`],
    ["unknown scheme with a password", `redis://u:${SECRET}@h/d`],
  ];
  for (const [name, raw] of cases) {
    await t.step(name, () => {
      const message = rejects(raw);
      assert(!message.includes(SECRET), message);
      assert(!message.includes(SECRET.slice(0, 6)), message);
    });
  }
});

Deno.test("redactConnectionString", async (t) => {
  await t.step("replaces the password of parsable strings and keeps the rest", () => {
    assertEquals(
      redactConnectionString(`postgres://u:${SECRET}@h:5432/d?sslmode=require`),
      "postgres://u:[redacted]@h:5432/d?sslmode=require",
    );
    assertEquals(
      redactConnectionString(`mysql://u:${SECRET}@tcp(h:3306)/d?sslmode=verify-full?x=1`),
      "mysql://u:[redacted]@tcp(h:3306)/d?sslmode=verify-full?x=1",
    );
  });
  await t.step("percent-encoded passwords with '@', ':' and '?'", () => {
    const raw = `postgres://u:${encodeURIComponent(`${SECRET}@:?`)}@h/d`;
    assertEquals(redactConnectionString(raw), "postgres://u:[redacted]@h/d");
  });
  await t.step("leaves strings without a password unchanged", () => {
    const raw = "postgres://u@h:5432/d?application_name=a@b";
    assertEquals(redactConnectionString(raw), raw);
  });
  await t.step("password query parameter", () => {
    assertEquals(
      redactConnectionString(`postgres://u@h/d?password=${SECRET}&sslmode=disable`),
      "postgres://u@h/d?password=[redacted]&sslmode=disable",
    );
  });
  await t.step("strings that do not parse still lose the password", () => {
    for (
      const raw of [
        `postgres://u:${SECRET}@h:0/d`,
        `mysql://u:${SECRET}@tcp(h:3306/d`,
        `postgres://u:${SECRET}/x@h/d`,
        `redis://u:${SECRET}@h`,
        `u:${SECRET}@tcp(h:3306)/d`,
        `host=h password=${SECRET} user=u`,
      ]
    ) {
      const out = redactConnectionString(raw);
      assert(!out.includes(SECRET), out);
      assert(out.includes("[redacted]"), out);
    }
  });
});

Deno.test("describeConnection omits the password", () => {
  const spec: ConnectionSpec = parseConnectionString(
    `postgres://app:${SECRET}@db:5432/shop?sslmode=require&application_name=x`,
  );
  assertEquals(describeConnection(spec), "postgres://app@db:5432/shop?sslmode=require");
  assertEquals(
    describeConnection(parseConnectionString(`mysql://r%20x:${SECRET}@tcp([::1]:3306)/`)),
    "mysql://r%20x@[::1]:3306/?sslmode=prefer",
  );
});

Deno.test("every example connection string in CONFIGURATION.md parses", () => {
  const doc = Deno.readTextFileSync(new URL("../../shared/CONFIGURATION.md", import.meta.url));
  const examples = [...doc.matchAll(/^(?:postgres|postgresql|mysql):\/\/\S+$/gm)]
    .map((m) => m[0])
    .filter((line) => !/USER|\{|\.\.\./.test(line));
  assert(examples.length >= 6, `found only ${examples.length} examples`);
  for (const example of examples) {
    const spec = parseConnectionString(example, "example");
    assert(spec.host !== "" && spec.user !== "", example);
  }
  const fromJson = [...doc.matchAll(/"INIT_(?:SOURCE|TARGET)": "([^"]+)"/g)].map((m) => m[1]);
  assertEquals(fromJson.length, 2);
  for (const example of fromJson) {
    assertEquals(parseConnectionString(example, "example").sslmode, "verify-full");
  }
});
