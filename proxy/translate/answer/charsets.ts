/**
 * The character sets and collations the proxy speaks once CockroachDB
 * serves the database. CockroachDB stores and sends UTF-8 only, so the
 * proxy offers the UTF-8 family, ASCII (a subset) and binary; a client
 * asking for another character set (latin1, ...) is refused with a clear
 * error rather than sent bytes it would misread.
 *
 * @module
 */

/** One collation: name, id, character set, default for it, sort length. */
export interface Collation {
  name: string;
  id: number;
  charset: string;
  isDefault: boolean;
}

/** One character set with its default collation, description and bytes per character. */
export interface Charset {
  name: string;
  defaultCollation: string;
  description: string;
  maxLen: number;
}

/** Character sets, by name. `utf8` is MySQL's alias for `utf8mb3`. */
export const CHARSETS: Charset[] = [
  { name: "ascii", defaultCollation: "ascii_general_ci", description: "US ASCII", maxLen: 1 },
  { name: "binary", defaultCollation: "binary", description: "Binary pseudo charset", maxLen: 1 },
  {
    name: "utf8mb3",
    defaultCollation: "utf8mb3_general_ci",
    description: "UTF-8 Unicode",
    maxLen: 3,
  },
  {
    name: "utf8mb4",
    defaultCollation: "utf8mb4_general_ci",
    description: "UTF-8 Unicode",
    maxLen: 4,
  },
];

/** Collations, as MySQL numbers them. */
export const COLLATIONS: Collation[] = [
  { name: "ascii_general_ci", id: 11, charset: "ascii", isDefault: true },
  { name: "ascii_bin", id: 65, charset: "ascii", isDefault: false },
  { name: "binary", id: 63, charset: "binary", isDefault: true },
  { name: "utf8mb3_general_ci", id: 33, charset: "utf8mb3", isDefault: true },
  { name: "utf8mb3_bin", id: 83, charset: "utf8mb3", isDefault: false },
  { name: "utf8mb3_unicode_ci", id: 192, charset: "utf8mb3", isDefault: false },
  { name: "utf8mb4_general_ci", id: 45, charset: "utf8mb4", isDefault: true },
  { name: "utf8mb4_bin", id: 46, charset: "utf8mb4", isDefault: false },
  { name: "utf8mb4_unicode_ci", id: 224, charset: "utf8mb4", isDefault: false },
  { name: "utf8mb4_unicode_520_ci", id: 246, charset: "utf8mb4", isDefault: false },
  { name: "utf8mb4_0900_ai_ci", id: 255, charset: "utf8mb4", isDefault: false },
  { name: "utf8mb4_0900_bin", id: 309, charset: "utf8mb4", isDefault: false },
];

/** The canonical character set name (`utf8` → `utf8mb3`), or null when unknown here. */
export function charsetName(name: string): string | null {
  const lower = name.toLowerCase();
  const canonical = lower === "utf8" ? "utf8mb3" : lower;
  return CHARSETS.some((c) => c.name === canonical) ? canonical : null;
}

/** The collation by name (`utf8_` spellings accepted), or null. */
export function collation(name: string): Collation | null {
  const lower = name.toLowerCase().replace(/^utf8_/, "utf8mb3_");
  return COLLATIONS.find((c) => c.name === lower) ?? null;
}

/** The default collation of a (canonical) character set. */
export function defaultCollation(charset: string): string {
  return CHARSETS.find((c) => c.name === charset)?.defaultCollation ?? "utf8mb4_general_ci";
}
