/**
 * Which collation ids (the "character set" field of a column definition)
 * compare text case-insensitively: every MariaDB/MySQL collation whose name
 * ends in `_ci`. Listed the other way round, because the case-sensitive ones
 * are fewer: binary (63), the `_bin`, `_cs` and `_nopad_bin` collations and
 * the Thai `_w2` ones, from MariaDB 10.11's `information_schema.COLLATIONS`,
 * plus MySQL 8.0's `utf8mb4_0900_as_cs` (278) and `utf8mb4_0900_bin` (309).
 *
 * A wrong answer only changes how a difference is named (`collation`
 * instead of `values`), never whether it is one.
 *
 * @module
 */

/** The `binary` pseudo-collation: bytes, not text. */
export const BINARY_COLLATION = 63;

const CASE_SENSITIVE: ReadonlySet<number> = new Set([
  2,
  20,
  34,
  42,
  43,
  46,
  47,
  49,
  50,
  52,
  53,
  55,
  58,
  61,
  62,
  63,
  64,
  65,
  66,
  67,
  68,
  69,
  70,
  71,
  72,
  73,
  74,
  75,
  77,
  78,
  79,
  80,
  81,
  82,
  83,
  84,
  85,
  86,
  87,
  88,
  89,
  90,
  91,
  93,
  96,
  98,
  278,
  309,
  578,
  610,
  642,
  674,
  738,
  1067,
  1070,
  1071,
  1074,
  1077,
  1079,
  1082,
  1085,
  1086,
  1088,
  1089,
  1090,
  1091,
  1092,
  1093,
  1094,
  1095,
  1096,
  1097,
  1098,
  1099,
  1101,
  1102,
  1103,
  1104,
  1105,
  1106,
  1107,
  1108,
  1109,
  1110,
  1111,
  1112,
  1113,
  1114,
  1115,
  1117,
  1120,
  1122,
]);

/** Whether text in collation `id` compares case-insensitively on its database. */
export function isCaseInsensitiveCollation(id: number): boolean {
  return !CASE_SENSITIVE.has(id);
}
