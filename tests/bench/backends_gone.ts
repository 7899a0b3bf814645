/**
 * Waiting, between two benchmark rows, until the previous row's database
 * connections are gone, so one row's backends do not weigh on the next.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";
import type { PgCluster } from "../../shared/local/postgres_cluster.ts";

/** How long the previous row's backends may take to exit. */
export const BACKENDS_GONE_TIMEOUT_MS = 90_000;

/**
 * Waits until `cluster` serves no client backend but the asking one.
 *
 * @throws {LmsError} `TIMEOUT` when backends remain after {@linkcode BACKENDS_GONE_TIMEOUT_MS}.
 */
export async function backendsGone(cluster: PgCluster): Promise<void> {
  const deadline = Date.now() + BACKENDS_GONE_TIMEOUT_MS;
  const sql = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'";
  // Under load, 2,000 backends exiting at once can make a connection attempt time out: retry.
  const count = () => cluster.psql(sql).then(Number, () => Number.POSITIVE_INFINITY);
  while (await count() > 1) {
    if (Date.now() > deadline) {
      throw new LmsError(
        "TIMEOUT",
        `database connections of the previous row were still open after ${BACKENDS_GONE_TIMEOUT_MS} ms`,
        "a proxy or PgBouncer did not release its backends; look at its log",
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
