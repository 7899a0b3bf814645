/**
 * The tables the captured sessions use; the fuzzer creates them too, so
 * mutated sessions reach the same code paths as the originals.
 *
 * @module
 */

/** DDL run on the fuzz database before capturing or fuzzing. */
export const FUZZ_SCHEMA =
  "CREATE TABLE fuzz_items (id int PRIMARY KEY, name text NOT NULL, body text)";

/**
 * SQL (one `mariadb` session each) that sets up the MariaDB the MySQL corpus
 * is captured on and fuzzed against: the same table, sysbench's database, and
 * the password-less `fuzz` user the captured sessions log in as.
 */
export const MYSQL_FUZZ_SETUP: string[] = [
  "CREATE DATABASE app",
  "CREATE TABLE app.fuzz_items (id INT PRIMARY KEY, name TEXT NOT NULL, body TEXT)",
  "CREATE DATABASE sbtest",
  "CREATE USER 'fuzz'@'%'",
  "GRANT ALL ON app.* TO 'fuzz'@'%'",
  "GRANT ALL ON sbtest.* TO 'fuzz'@'%'",
];

/** sysbench's first OLTP table with a few rows, so replayed sysbench sessions find it. */
export const SYSBENCH_TABLE = "CREATE TABLE sbtest.sbtest1 (id INT AUTO_INCREMENT PRIMARY KEY, " +
  "k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', " +
  "KEY k_1 (k)); INSERT INTO sbtest.sbtest1 (k, c, pad) SELECT seq, 'c', 'pad' FROM sbtest.seq_1_to_100";
