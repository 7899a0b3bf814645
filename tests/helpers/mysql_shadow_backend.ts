/**
 * A second MariaDB as the "other" database of MySQL shadowing, plugged into
 * the proxy through its hooks (`ProxyHooks.mysqlShadowBackend`): it tests the
 * MySQL wire's shadow plumbing and comparison on a database that speaks
 * MySQL, until the translated CockroachDB backend takes that place. It logs
 * in as the session's own user with the password the test knows, with the
 * capabilities and character set the client's leg negotiated.
 *
 * @module
 */

import { Cap } from "../../proxy/mysql/constants.ts";
import { decodeErr, packet, PayloadWriter } from "../../proxy/mysql/packets.ts";
import type { MySqlShadowBackend } from "../../proxy/mysql/shadow_backend.ts";
import { nativePasswordToken, RawMySql } from "./raw_mysql.ts";

/** Capabilities the helper can log in with (no TLS, no connect attributes). */
const LOGIN_CAPS = ~(Cap.SSL | Cap.CONNECT_ATTRS | Cap.COMPRESS) >>> 0;

/** How the helper's backend presents itself to the link. */
export interface MariaDbShadowOptions {
  /** Statements the backend claims to answer itself (not compared). */
  answersItself?: (sql: string) => boolean;
  /**
   * Present the connection as translated, so an ERR 1235 naming a translation
   * gap (which a test raises with SIGNAL) counts as a `translation_gap`.
   */
  translated?: boolean;
}

/** A shadow backend on the MariaDB at `port`, logging in with `passwords[user]`. */
export function mariaDbShadowBackend(
  port: number,
  passwords: Record<string, string>,
  opts: MariaDbShadowOptions = {},
): MySqlShadowBackend {
  return (_side, _spec, login) =>
    (async () => {
      const { raw, scramble } = await RawMySql.open(port);
      const caps = (login.capabilities & LOGIN_CAPS) | Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION |
        Cap.PLUGIN_AUTH | (login.database ? Cap.CONNECT_WITH_DB : 0);
      const token = nativePasswordToken(passwords[login.user] ?? "", scramble);
      const w = new PayloadWriter().u32(caps).u32(1 << 24).u8(login.charset).zeros(23)
        .cstr(login.user);
      if (caps & Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA) w.lenenc(token.length).bytes(token);
      else w.u8(token.length).bytes(token);
      if (caps & Cap.CONNECT_WITH_DB) w.cstr(login.database);
      w.cstr("mysql_native_password");
      raw.socket.write(packet(1, w.build()));
      const answer = await raw.next();
      if (answer.payload[0] !== 0) {
        raw.close();
        throw new Error(`shadow login refused: ${decodeErr(answer.payload).message}`);
      }
      const rest = raw.reader.detach();
      if (rest.length > 0) throw new Error("the shadow MariaDB sent data after its OK");
      const connection = {
        socket: raw.socket,
        capabilities: caps,
        translated: opts.translated ?? false,
      };
      return opts.answersItself ? { ...connection, answersItself: opts.answersItself } : connection;
    })();
}
