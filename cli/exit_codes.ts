/**
 * Exit codes of `molt-lms-cli`, the contract scripts rely on.
 *
 * Every failure the CLI reports is an `LmsError`; its code decides the exit
 * status here, in one place, so `--help`, the README and the behaviour cannot
 * disagree.
 *
 * @module
 */

import { LmsError } from "../shared/errors.ts";

/** Process exit statuses. Values are stable: scripts branch on them. */
export const ExitCode = {
  /** The command did what was asked. */
  OK: 0,
  /** The orchestrator refused or failed the command (e.g. INVALID_PHASE, NOT_DRAINED). */
  FAILED: 1,
  /** The command line is wrong: unknown command or flag, bad value, missing URL. */
  USAGE: 2,
  /** The orchestrator could not be reached or did not answer in time. */
  UNREACHABLE: 3,
  /** TLS failed: a certificate file is unusable or a certificate was rejected. */
  TLS: 4,
  /** `cutover consistent begin` hit its drain timeout; the fleet is left paused. */
  DRAIN_TIMEOUT: 5,
  /** Interrupted (Ctrl-C) while `begin` waited; the cutover itself goes on. */
  INTERRUPTED: 130,
} as const;

/** One of the {@linkcode ExitCode} values. */
export type ExitCodeValue = typeof ExitCode[keyof typeof ExitCode];

/** The exit-code table as printed by `--help`. */
export const EXIT_CODES_HELP: string = [
  "Exit codes:",
  "  0    success",
  "  1    command failed or refused by the orchestrator (INVALID_PHASE, NOT_DRAINED, ...)",
  "  2    usage error (unknown command or flag, bad value, missing --orchestrator-url)",
  "  3    orchestrator unreachable (connection refused, name not resolved, no answer)",
  "  4    TLS/certificate problem (unreadable certificate file, certificate rejected)",
  "  5    drain timeout reached; the fleet is left paused (run commit or abort)",
  "  130  interrupted while begin waited; the cutover goes on (run status)",
].join("\n");

/** Maps anything thrown by a command to the exit status it stands for. */
export function exitCodeFor(err: unknown): ExitCodeValue {
  if (!(err instanceof LmsError)) return ExitCode.FAILED;
  switch (err.code) {
    case "CLI_USAGE":
      return ExitCode.USAGE;
    case "ORCHESTRATOR_UNREACHABLE":
      return ExitCode.UNREACHABLE;
    case "TLS_MATERIAL_INVALID":
    case "ORCHESTRATOR_TLS_REJECTED":
      return ExitCode.TLS;
    case "DRAIN_TIMEOUT":
      return ExitCode.DRAIN_TIMEOUT;
    default:
      return ExitCode.FAILED;
  }
}
