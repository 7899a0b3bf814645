/**
 * Real answers of MariaDB and PostgreSQL to the same statements, decoded by
 * each wire's own result collector into neutral results: what the shadow
 * comparison of a MySQL source sees, captured from live servers.
 *
 * @module
 */

import { Cap, Com } from "../../proxy/mysql/constants.ts";
import { decodeErr, packet, PayloadWriter } from "../../proxy/mysql/packets.ts";
import { MySqlResultCollector } from "../../proxy/mysql/result_collector.ts";
import { ResultCollector } from "../../proxy/pg/result_collector.ts";
import { query } from "../../proxy/pg/messages.ts";
import type { NeutralResult } from "../../proxy/shadow/result.ts";
import { nativePasswordToken, RawMySql } from "./raw_mysql.ts";
import { RawPgClient } from "./raw_pg.ts";

/** Capabilities of a capturing MySQL connection (what mysql2 asks for, with or without DEPRECATE_EOF). */
function captureCapabilities(deprecateEof: boolean): number {
  return Cap.LONG_PASSWORD | Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.PLUGIN_AUTH |
    Cap.TRANSACTIONS | Cap.MULTI_RESULTS | Cap.MULTI_STATEMENTS | Cap.PS_MULTI_RESULTS |
    Cap.CONNECT_WITH_DB | Cap.FOUND_ROWS | (deprecateEof ? Cap.DEPRECATE_EOF : 0);
}

/** A MariaDB connection whose answers go through the MySQL result collector. */
export class MySqlCapture {
  readonly raw: RawMySql;
  readonly collector: MySqlResultCollector;
  /** Statement id of the last successful COM_STMT_PREPARE. */
  lastPrepared = -1;

  private constructor(raw: RawMySql, collector: MySqlResultCollector) {
    this.raw = raw;
    this.collector = collector;
    collector.onPrepared = (id) => (this.lastPrepared = id);
  }

  /** Logs in as `user` to `database`. */
  static async login(
    port: number,
    user: string,
    password: string,
    database: string,
    opts: { deprecateEof?: boolean; rowLimit?: number } = {},
  ): Promise<MySqlCapture> {
    const { raw, scramble } = await RawMySql.open(port);
    const deprecateEof = opts.deprecateEof ?? true;
    const token = nativePasswordToken(password, scramble);
    const response = new PayloadWriter().u32(captureCapabilities(deprecateEof)).u32(1 << 24)
      .u8(45).zeros(23).cstr(user).u8(token.length).bytes(token).cstr(database)
      .cstr("mysql_native_password").build();
    raw.socket.write(packet(1, response));
    const answer = await raw.next();
    if (answer.payload[0] !== 0) {
      throw new Error(`login failed: ${JSON.stringify(decodeErr(answer.payload))}`);
    }
    const collector = new MySqlResultCollector({ deprecateEof, rowLimit: opts.rowLimit });
    return new MySqlCapture(raw, collector);
  }

  /** Sends one command and returns its neutral results once the database answered it. */
  async command(payload: Uint8Array): Promise<readonly NeutralResult[]> {
    this.collector.onCommand(payload);
    this.raw.command(payload);
    while (!this.collector.idle) this.collector.onPacket((await this.raw.next()).payload);
    const requests = this.collector.takeRequests();
    if (requests.length !== 1) {
      throw new Error(`expected one answered command, got ${requests.length}`);
    }
    return requests[0];
  }

  /** COM_QUERY. */
  query(sql: string): Promise<readonly NeutralResult[]> {
    return this.command(new PayloadWriter().u8(Com.QUERY).str(sql).build());
  }

  /** COM_STMT_PREPARE then COM_STMT_EXECUTE without parameters: the binary protocol's rows. */
  async execute(sql: string): Promise<readonly NeutralResult[]> {
    await this.command(new PayloadWriter().u8(Com.STMT_PREPARE).str(sql).build());
    const execute = new PayloadWriter().u8(Com.STMT_EXECUTE).u32(this.lastPrepared).u8(0).u32(1)
      .build();
    return this.command(execute);
  }

  /** Closes the connection. */
  close(): void {
    this.raw.close();
  }
}

/** A PostgreSQL connection whose answers go through the PostgreSQL result collector. */
export class PgCapture {
  readonly raw: RawPgClient;
  readonly collector: ResultCollector;

  private constructor(raw: RawPgClient, collector: ResultCollector) {
    this.raw = raw;
    this.collector = collector;
  }

  /** Logs in (trust) as `user` to `database`. */
  static async login(
    port: number,
    user: string,
    database: string,
    opts: { rowLimit?: number } = {},
  ): Promise<PgCapture> {
    const raw = await RawPgClient.connect(port);
    await raw.startup(user, database);
    return new PgCapture(raw, new ResultCollector({ rowLimit: opts.rowLimit }));
  }

  /** A simple query; its neutral results. */
  async query(sql: string): Promise<readonly NeutralResult[]> {
    const msg = query(sql);
    this.collector.onFrontend(0x51, msg.subarray(5));
    await this.raw.send(msg);
    for (const m of await this.raw.readUntil("Z")) {
      this.collector.onBackend(m.type.charCodeAt(0), m.body);
    }
    return this.collector.takeRequest() ?? [];
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.raw.close();
  }
}
