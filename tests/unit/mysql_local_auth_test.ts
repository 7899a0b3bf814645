import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ConfigError, loadConfig } from "../../shared/config.ts";
import { MySqlAccount } from "../../shared/mysql_accounts.ts";
import { rsaKeyPair } from "../../proxy/mysql/auth_rsa.ts";
import { changeUserPlugin, cleartextSwitch } from "../../proxy/mysql/auth_cleartext.ts";
import { hostMatches, matchAccount, orderAccounts } from "../../proxy/mysql/auth_hosts.ts";
import {
  cachingSha2Matches,
  parseCachingSha2,
  sha256Crypt,
} from "../../proxy/mysql/auth_sha256_crypt.ts";
import { FastAuthCache, nativePasswordMatches } from "../../proxy/mysql/auth_verify.ts";
import { newScramble } from "../../proxy/mysql/auth_local.ts";
import { Cap } from "../../proxy/mysql/constants.ts";
import { PayloadWriter } from "../../proxy/mysql/packets.ts";
import {
  MYSQL8_STORED_FOOBAR,
  MYSQL8_STORED_PASSWORD,
} from "./fixtures/mysql8_caching_sha2_stored.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const hash = (alg: string, ...parts: Uint8Array[]) => {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const xor = (a: Uint8Array, b: Uint8Array) => a.map((x, i) => x ^ b[i]);

Deno.test("SHA-256 crypt: glibc's vectors (as `openssl passwd -5` prints them) and MySQL 8's form", async () => {
  assert.equal(
    await sha256Crypt(bytes("Hello world!"), bytes("saltstring"), 5000),
    "5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
  );
  assert.equal(
    await sha256Crypt(bytes("p"), bytes("abcdefghijklmnop"), 5000),
    "vXD05DVGsK2vFfQO5gPt/XoC/3B1OT5IFp4hcYy6Lz4",
  );
  const stored = parseCachingSha2(MYSQL8_STORED_FOOBAR)!;
  assert.equal(stored.rounds, 5000);
  assert.equal(stored.salt.length, 20);
  assert.ok(await cachingSha2Matches(stored, bytes(MYSQL8_STORED_PASSWORD)));
  assert.ok(!(await cachingSha2Matches(stored, bytes("foobaz"))));
  assert.equal(parseCachingSha2(bytes("*ABCDEF")), undefined, "not a caching_sha2 string");
});

Deno.test("mysql_native_password: the client's scramble answer against SHA1(SHA1(pw))", () => {
  const scramble = newScramble();
  assert.equal(scramble.length, 20);
  assert.ok(scramble.every((b) => b > 0 && b < 128 && b !== 0x24));
  const stage1 = hash("sha1", bytes("s3cret"));
  const stage2 = hash("sha1", stage1);
  const stored = bytes(
    "*" + Array.from(stage2, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase(),
  );
  const token = xor(stage1, hash("sha1", scramble, stage2));
  assert.ok(nativePasswordMatches(stored, scramble, token));
  const wrong = xor(hash("sha1", bytes("other")), hash("sha1", scramble, stage2));
  assert.ok(!nativePasswordMatches(stored, scramble, wrong));
  assert.ok(!nativePasswordMatches(stored, newScramble(), token), "bound to the scramble");
  assert.ok(nativePasswordMatches(new Uint8Array(), scramble, new Uint8Array()), "no password");
  assert.ok(!nativePasswordMatches(new Uint8Array(), scramble, token));
});

Deno.test("caching_sha2_password fast path: only after a full authentication, dropped on a new hash", () => {
  const account = new MySqlAccount("sha2", "%", "caching_sha2_password", MYSQL8_STORED_FOOBAR);
  const cache = new FastAuthCache();
  const scramble = newScramble();
  const pw = bytes(MYSQL8_STORED_PASSWORD);
  const token = xor(
    hash("sha256", pw),
    hash("sha256", hash("sha256", hash("sha256", pw)), scramble),
  );
  assert.equal(cache.check(account, scramble, token), undefined);
  cache.remember(account, pw);
  assert.equal(cache.check(account, scramble, token), true);
  assert.equal(cache.check(account, newScramble(), token), false);
  const changed = new MySqlAccount("sha2", "%", "caching_sha2_password", bytes("$A$005$other"));
  assert.equal(cache.check(changed, scramble, token), undefined);
});

Deno.test("host patterns and MySQL's account order", () => {
  assert.ok(hostMatches("%", "10.1.2.3"));
  assert.ok(hostMatches("10.1.%", "10.1.2.3"));
  assert.ok(!hostMatches("10.1.%", "10.12.2.3"));
  assert.ok(hostMatches("10.1.2._", "10.1.2.3"));
  assert.ok(!hostMatches("10.1.2._", "10.1.2.33"));
  assert.ok(hostMatches("10.1.0.0/255.255.0.0", "10.1.200.3"));
  assert.ok(!hostMatches("10.1.0.0/255.255.0.0", "10.2.0.3"));
  assert.ok(hostMatches("10.1.0.0/16", "10.1.200.3"));
  assert.ok(hostMatches("localhost", "127.0.0.1"));
  assert.ok(!hostMatches("localhost", "10.0.0.1"));
  assert.ok(!hostMatches("10.1.2.3", "10.1.2.30"), "a literal matches only itself");
  const a = (user: string, host: string) =>
    new MySqlAccount(user, host, "mysql_native_password", new Uint8Array());
  const ordered = orderAccounts([
    a("app", "%"),
    a("", "10.1.2.3"),
    a("app", "10.1.%"),
    a("app", "10.%"),
    a("app", "10.1.2.3"),
  ]);
  assert.deepEqual(ordered.map((x) => x.name), [
    "'app'@'10.1.2.3'",
    "''@'10.1.2.3'",
    "'app'@'10.1.%'",
    "'app'@'10.%'",
    "'app'@'%'",
  ]);
  assert.equal(matchAccount(ordered, "app", "10.1.2.3")?.name, "'app'@'10.1.2.3'");
  assert.equal(matchAccount(ordered, "other", "10.1.2.3")?.name, "''@'10.1.2.3'", "anonymous");
  assert.equal(matchAccount(ordered, "app", "10.1.9.9")?.name, "'app'@'10.1.%'");
  assert.equal(matchAccount(ordered, "app", "192.168.0.1")?.name, "'app'@'%'");
  assert.equal(matchAccount(ordered, "other", "192.168.0.1"), undefined);
});

Deno.test("accounts keep their stored string out of JSON and inspection", () => {
  const account = new MySqlAccount("app", "%", "mysql_native_password", bytes("*SECRETHASH"));
  assert.ok(!JSON.stringify({ account }).includes("SECRETHASH"));
  assert.ok(!Deno.inspect(account).includes("SECRETHASH"));
  assert.equal(new TextDecoder().decode(account.auth), "*SECRETHASH");
});

Deno.test("cleartext plugins are recognised in switch requests and COM_CHANGE_USER", () => {
  const sw = (plugin: string) =>
    new PayloadWriter().u8(0xfe).cstr(plugin).bytes(new Uint8Array(20)).build();
  assert.equal(cleartextSwitch(sw("mysql_clear_password")), "mysql_clear_password");
  assert.equal(cleartextSwitch(sw("dialog")), "dialog");
  assert.equal(cleartextSwitch(sw("mysql_native_password")), undefined);
  assert.equal(cleartextSwitch(new Uint8Array([0xfe, 0, 0, 2, 0])), undefined, "an EOF packet");
  const caps = Cap.SECURE_CONNECTION | Cap.PLUGIN_AUTH;
  const change = (plugin?: string) => {
    const w = new PayloadWriter().u8(0x11).cstr("app").u8(3).bytes(bytes("pw\0")).cstr("db");
    if (plugin) w.u16(45).cstr(plugin);
    return w.build();
  };
  assert.equal(changeUserPlugin(change("mysql_clear_password"), caps), "mysql_clear_password");
  assert.equal(changeUserPlugin(change(), caps), "mysql_native_password");
  assert.equal(
    changeUserPlugin(change("mysql_clear_password"), Cap.SECURE_CONNECTION),
    "mysql_native_password",
  );
});

Deno.test("MySQL login settings: defaults, a user map, and bad values named", () => {
  const base = {
    LMS_SOURCE_DIALECT: "mysql",
    INIT_SOURCE: "mysql://root@127.0.0.1:3307/app",
    LMS_STANDALONE: "true",
  };
  const config = loadConfig("proxy", { args: [], env: base });
  assert.equal(config.mysqlAccountsRefreshMs, 300_000);
  assert.deepEqual({ ...config.mysqlTargetUsers }, {});
  assert.equal(config.mysqlRsaKey, undefined);
  const mapped = loadConfig("proxy", {
    args: ["--mysql-target-users", "app=app_crdb, ro=reader", "--mysql-accounts-refresh", "30s"],
    env: base,
  });
  assert.deepEqual({ ...mapped.mysqlTargetUsers }, { app: "app_crdb", ro: "reader" });
  assert.equal(mapped.mysqlAccountsRefreshMs, 30_000);
  const bad = (() => {
    try {
      loadConfig("proxy", {
        args: [],
        env: {
          ...base,
          LMS_MYSQL_TARGET_USERS: "app",
          LMS_MYSQL_RSA_KEY: "/nonexistent/key.pem",
          LMS_MYSQL_ACCOUNTS_REFRESH: "soon",
        },
      });
    } catch (err) {
      return err;
    }
  })();
  assert.ok(bad instanceof ConfigError);
  assert.deepEqual(bad.problems.map((p) => p.key).sort(), [
    "LMS_MYSQL_ACCOUNTS_REFRESH",
    "LMS_MYSQL_RSA_KEY",
    "LMS_MYSQL_TARGET_USERS",
  ]);
});

Deno.test("the proxy's RSA key: generated once, or the configured one; not RSA is refused", () => {
  const generated = rsaKeyPair(undefined);
  assert.equal(generated().publicPem, generated().publicPem, "one key pair per proxy");
  assert.match(generated().publicPem, /^-----BEGIN PUBLIC KEY-----/);
  assert.throws(
    () => rsaKeyPair("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"),
    /LMS_MYSQL_RSA_KEY is not a private key/,
  );
});
