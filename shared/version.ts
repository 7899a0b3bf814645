/**
 * The LMS release version, reported by every process (`status`, control
 * channel hello, `--version`). Keep in step with `charts/lms/Chart.yaml`.
 *
 * @module
 */

/** This build's version. */
export const VERSION = "0.1.0";
