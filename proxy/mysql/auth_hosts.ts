/**
 * Which account a login is, as MySQL decides it: accounts are ordered most
 * specific host first (a literal name or IP, with or without a netmask, then
 * patterns with the longest literal start before their first wildcard, `%`
 * last, `''` after it) and, for the same host, a named user before the
 * anonymous one (`''`, any user); the first account whose host pattern
 * matches the client's address and whose user is the client's (or anonymous)
 * is the one. Host patterns: `%` any run of characters, `_` one character
 * (case-insensitive), `ip/netmask` and `ip/prefix`.
 *
 * The client's host is its IP address as the proxy sees it: the proxy does
 * not resolve names, like a server run with `--skip-name-resolve`, except
 * that `localhost` matches loopback addresses (a server resolving names
 * would have called 127.0.0.1 `localhost`).
 *
 * @module
 */

import type { MySqlAccount } from "../../shared/mysql_accounts.ts";

/** The client address as a host to match: IPv4-mapped IPv6 addresses as plain IPv4. */
export function clientHost(remoteAddress: string | undefined): string {
  const address = remoteAddress ?? "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

function ipv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) {
    return undefined;
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function netmaskMatches(pattern: string, host: string): boolean | undefined {
  const slash = pattern.indexOf("/");
  if (slash < 0) return undefined;
  const net = ipv4(pattern.slice(0, slash));
  const maskText = pattern.slice(slash + 1);
  const mask = /^\d{1,2}$/.test(maskText) && Number(maskText) <= 32
    ? (Number(maskText) === 0 ? 0 : (0xffffffff << (32 - Number(maskText))) >>> 0)
    : ipv4(maskText);
  const address = ipv4(host);
  if (net === undefined || mask === undefined || address === undefined) return false;
  return ((address & mask) >>> 0) === ((net & mask) >>> 0);
}

const LOOPBACK = new Set(["127.0.0.1", "::1"]);

/** Whether MySQL's host `pattern` matches the client's `host` (an IP address). */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === "" || pattern === "%") return true;
  const masked = netmaskMatches(pattern, host);
  if (masked !== undefined) return masked;
  if (pattern.toLowerCase() === "localhost") return LOOPBACK.has(host);
  let re = "^";
  for (const ch of pattern) {
    re += ch === "%" ? ".*" : ch === "_" ? "." : ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(re + "$", "is").test(host);
}

/** Sort key of a host pattern: higher is more specific. */
function hostRank(pattern: string): number {
  if (pattern === "") return -2;
  if (pattern === "%") return -1;
  const wildcard = pattern.search(/[%_]/);
  return wildcard < 0 ? 1_000_000 : wildcard;
}

/** `accounts` in MySQL's matching order; see the module documentation. */
export function orderAccounts(accounts: readonly MySqlAccount[]): MySqlAccount[] {
  return [...accounts].sort((a, b) =>
    hostRank(b.host) - hostRank(a.host) || (a.user === "" ? 1 : 0) - (b.user === "" ? 1 : 0)
  );
}

/** The account a login by `user` from `host` is, from accounts in {@linkcode orderAccounts}'s order. */
export function matchAccount(
  ordered: readonly MySqlAccount[],
  user: string,
  host: string,
): MySqlAccount | undefined {
  return ordered.find((a) => (a.user === user || a.user === "") && hostMatches(a.host, host));
}
