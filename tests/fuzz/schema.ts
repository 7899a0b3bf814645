/**
 * The tables the captured sessions use; the fuzzer creates them too, so
 * mutated sessions reach the same code paths as the originals.
 *
 * @module
 */

/** DDL run on the fuzz database before capturing or fuzzing. */
export const FUZZ_SCHEMA =
  "CREATE TABLE fuzz_items (id int PRIMARY KEY, name text NOT NULL, body text)";
