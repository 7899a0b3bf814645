/**
 * Stands in for replication between a MariaDB source and the PostgreSQL
 * cluster standing in for CockroachDB, for cutover tests: while the fleet
 * is paused (or no client writes), copies whole tables from one side to the
 * other (the destination's rows are replaced; identity sequences on
 * PostgreSQL are moved past the copied ids) and the `_molt_lms.marker` rows
 * the orchestrator checks before a commit.
 *
 * @module
 */

import mysql from "mysql2/promise";
import pg from "pg";

/** Where the copy reads and writes. */
export interface CopyEnds {
  /** mysql2 options for root on MariaDB, database of the tables. */
  mariadb: mysql.ConnectionOptions;
  /** `pg` connection string of the tables' database on the target. */
  pgTables: string;
  /** `pg` connection string of the state store's database on the target (`_molt_lms`). */
  pgState: string;
}

const BATCH = 500;

async function pgClient(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

/** Copies `tables` and the marker rows from `from` to the other side. */
export async function copyData(
  ends: CopyEnds,
  from: "mariadb" | "postgres",
  tables: string[],
): Promise<void> {
  const my = await mysql.createConnection({ ...ends.mariadb, dateStrings: true });
  const tablesPg = await pgClient(ends.pgTables);
  const statePg = await pgClient(ends.pgState);
  try {
    for (const table of tables) {
      if (from === "mariadb") {
        const [rows, fields] = await my.query(`SELECT * FROM \`${table}\``) as [
          Record<string, unknown>[],
          mysql.FieldPacket[],
        ];
        const cols = fields.map((f) => f.name);
        await tablesPg.query("BEGIN");
        await tablesPg.query(`DELETE FROM ${table}`);
        for (let i = 0; i < rows.length; i += BATCH) {
          const part = rows.slice(i, i + BATCH);
          const values: unknown[] = [];
          const tuples = part.map((r) =>
            `(${cols.map((c) => `$${values.push(r[c])}`).join(", ")})`
          );
          await tablesPg.query(
            `INSERT INTO ${table} (${cols.join(", ")}) VALUES ${tuples.join(", ")}`,
            values,
          );
        }
        await tablesPg.query(
          `SELECT setval(pg_get_serial_sequence('${table}', 'id'), ` +
            `GREATEST((SELECT max(id) FROM ${table}), 1))`,
        );
        await tablesPg.query("COMMIT");
      } else {
        const res = await tablesPg.query({ text: `SELECT * FROM ${table}`, rowMode: "array" });
        const cols = res.fields.map((f: { name: string }) => f.name);
        await my.query("START TRANSACTION");
        await my.query(`DELETE FROM \`${table}\``);
        for (let i = 0; i < res.rows.length; i += BATCH) {
          const part = res.rows.slice(i, i + BATCH) as unknown[][];
          await my.query(`INSERT INTO \`${table}\` (${cols.join(", ")}) VALUES ?`, [part]);
        }
        await my.query("COMMIT");
      }
    }
    if (from === "mariadb") {
      const [markers] = await my.query("SELECT id FROM _molt_lms.marker") as [
        { id: string }[],
        unknown,
      ];
      for (const m of markers) {
        await statePg.query(
          "INSERT INTO _molt_lms.marker (id) VALUES ($1) ON CONFLICT DO NOTHING",
          [m.id],
        );
      }
    } else {
      const markers = await statePg.query("SELECT id FROM _molt_lms.marker");
      for (const m of markers.rows as { id: string }[]) {
        await my.query("INSERT IGNORE INTO _molt_lms.marker (id) VALUES (?)", [m.id]);
      }
    }
  } finally {
    await my.end();
    await tablesPg.end();
    await statePg.end();
  }
}
