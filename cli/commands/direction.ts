/**
 * Which way a cutover switches. The orchestrator refuses a switching request
 * that does not name the source of truth it expects to switch from, so a
 * retried request cannot flip the fleet back. With `--to` the CLI derives
 * `from` from it, which makes a retry safe; without it, it reads `status` and
 * switches away from whichever database is the source of truth now.
 *
 * @module
 */

import { API_PATHS, StatusResponseSchema } from "../../shared/api.ts";
import { type DatabaseSide, otherSide } from "../../shared/control.ts";
import type { ApiClient } from "../http.ts";

/** The two ends of a cutover. */
export interface Direction {
  /** The source of truth the request expects to switch from. */
  from: DatabaseSide;
  /** The database that becomes the source of truth. */
  to: DatabaseSide;
}

/** The direction for `--to` (absent: away from the current source of truth, read from `status`). */
export async function resolveDirection(
  client: ApiClient,
  to: DatabaseSide | undefined,
): Promise<Direction> {
  if (to !== undefined) return { from: otherSide(to), to };
  const { data } = await client.get(API_PATHS.status, StatusResponseSchema);
  return { from: data.sourceOfTruth, to: otherSide(data.sourceOfTruth) };
}

/** `source → target`. */
export function arrow(d: Direction): string {
  return `${d.from} → ${d.to}`;
}
