/**
 * The rule that a password never crosses the client's leg in clear: client
 * plugins that send the password itself (`mysql_clear_password`, which PAM
 * and LDAP accounts ask for, and MariaDB's `dialog`, PAM's default, whose
 * answers are the password typed) run only when the client's connection to
 * the proxy is TLS. It holds at login (`auth.ts`, `startup_flow.ts`) and for
 * COM_CHANGE_USER in the command phase (`session.ts`): the database's request
 * to switch to such a plugin is not passed on, and a COM_CHANGE_USER that
 * already carries a cleartext password is not forwarded.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";
import { Cap } from "./constants.ts";
import { PayloadReader, utf8 } from "./packets.ts";

/** Client plugins whose answer is the password in clear. */
export const CLEARTEXT_PLUGINS: ReadonlySet<string> = new Set(["mysql_clear_password", "dialog"]);

/** The text of the ERR 3159 a client gets when a cleartext plugin would run without TLS. */
export function cleartextRefusal(plugin: string): string {
  return `LMS: this account authenticates with a cleartext password (${plugin}); ` +
    "connect to the proxy with TLS (--ssl) so the password is not sent in clear";
}

/** The error a session ends with when a cleartext plugin would run without TLS. */
export function cleartextRefused(plugin: string): LmsError {
  return new LmsError(
    "CLIENT_TLS_REQUIRED",
    `refused a cleartext password (${plugin}) over an unencrypted client connection`,
    "connect to the proxy with TLS (--ssl) when the account needs a cleartext password",
  );
}

/**
 * The plugin an AuthSwitchRequest (0xFE, plugin name, data) asks for, if
 * `payload` is one and asks for a cleartext plugin; undefined otherwise. A
 * bare 0xFE (the old-password switch, or an EOF) is not a switch request.
 */
export function cleartextSwitch(payload: Uint8Array): string | undefined {
  if (payload.length < 2 || payload[0] !== 0xfe) return undefined;
  const end = payload.indexOf(0, 1);
  const plugin = utf8(payload.subarray(1, end < 0 ? payload.length : end));
  return CLEARTEXT_PLUGINS.has(plugin) ? plugin : undefined;
}

/**
 * The client plugin a COM_CHANGE_USER packet names (MySQL's layout: user,
 * auth response, database, character set, plugin name, attributes), or
 * `mysql_native_password` when it names none.
 */
export function changeUserPlugin(payload: Uint8Array, capabilities: number): string {
  const r = new PayloadReader(payload, 1);
  r.cstr("user name");
  if (capabilities & Cap.SECURE_CONNECTION) r.bytes(r.u8("auth response length"), "auth response");
  else r.cstrBytes("auth response", true);
  r.cstr("database", true);
  if (r.remaining < 2) return "mysql_native_password";
  r.u16("character set");
  if (!(capabilities & Cap.PLUGIN_AUTH) || r.remaining === 0) return "mysql_native_password";
  return utf8(r.cstrBytes("auth plugin", true));
}
