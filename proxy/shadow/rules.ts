/**
 * Rules for outcomes that legitimately differ between the two databases:
 * statements calling volatile functions (clocks, random values, sequences)
 * answer differently on each side by design, so their value differences are
 * classified as transient rather than reported as mismatches.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";

/** What is not a mismatch. */
export interface ShadowRules {
  /** A statement whose SQL matches any of these may differ in values and command tags. */
  volatile: RegExp[];
}

const DEFAULT_VOLATILE: RegExp[] = [
  /\bnow\s*\(/i,
  /\bcurrent_timestamp\b/i,
  /\bclock_timestamp\s*\(/i,
  /\brandom\s*\(/i,
  /\bgen_random_uuid\s*\(/i,
  /\buuid_generate_v4\s*\(/i,
  /\bnextval\s*\(/i,
  /\bcurrval\s*\(/i,
  /\btxid_current\b/i,
  /\bpg_backend_pid\s*\(/i,
  /\bstatement_timestamp\s*\(/i,
  /\btransaction_timestamp\s*\(/i,
  /\blocaltimestamp\b/i,
  /\bcurrent_time\b/i,
  /\bunique_rowid\s*\(/i,
];

/** The built-in rules. */
export const DEFAULT_SHADOW_RULES: ShadowRules = Object.freeze({ volatile: DEFAULT_VOLATILE });

/**
 * Builds the rules from the default list plus extra volatile patterns, e.g.
 * the value of `LMS_SHADOW_VOLATILE`: comma-separated regular expressions,
 * matched case-insensitively (write `\,` for a comma inside a pattern).
 * Throws {@linkcode LmsError} `CONFIG_INVALID` naming an invalid pattern.
 */
export function parseShadowRules(text: string | undefined): ShadowRules {
  if (text === undefined || text.trim() === "") return DEFAULT_SHADOW_RULES;
  const extra: RegExp[] = [];
  for (const part of text.split(/(?<!\\),/)) {
    const source = part.replaceAll("\\,", ",").trim();
    if (source === "") continue;
    try {
      extra.push(new RegExp(source, "i"));
    } catch (err) {
      throw new LmsError(
        "CONFIG_INVALID",
        `LMS_SHADOW_VOLATILE: invalid regular expression ${JSON.stringify(source)}: ${
          (err as Error).message
        }`,
        "fix or remove that pattern; separate patterns with commas and write \\, for a literal comma",
      );
    }
  }
  return { volatile: [...DEFAULT_VOLATILE, ...extra] };
}

/** True when `sql` calls something the rules call volatile. */
export function isVolatile(sql: string, rules: ShadowRules): boolean {
  for (const re of rules.volatile) {
    re.lastIndex = 0;
    if (re.test(sql)) return true;
  }
  return false;
}
