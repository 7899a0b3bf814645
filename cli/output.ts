/**
 * Output helpers for `molt-lms-cli`: aligned tables, key/value blocks, ages,
 * truncation, JSON, and the terminal the commands write to.
 *
 * Tables are plain text without a dependency so they stay readable in CI logs
 * and when piped; `--output json` bypasses all of this and prints the API's
 * JSON as received.
 *
 * @module
 */

/** Where a command writes, injectable so output can be tested without a terminal. */
export interface Io {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
  /** Standard output is a terminal (progress is redrawn in place rather than appended). */
  isTerminal: boolean;
  /** Current time in milliseconds since the epoch. */
  now(): number;
  /** Waits `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}

const encoder = new TextEncoder();

/** The process's real standard output and error. */
export function denoIo(): Io {
  return {
    out: (text) => Deno.stdout.writeSync(encoder.encode(text)),
    err: (text) => Deno.stderr.writeSync(encoder.encode(text)),
    isTerminal: Deno.stdout.isTerminal(),
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

/**
 * Renders rows under headers with every column padded to its widest cell.
 * The last column is not padded, so lines carry no trailing spaces.
 */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(headers), ...rows.map((r) => line(headers.map((_, i) => r[i] ?? "")))].join("\n") +
    "\n";
}

/** Renders `label  value` lines with the values aligned. */
export function renderFields(fields: [string, string][]): string {
  const width = Math.max(...fields.map(([k]) => k.length)) + 2;
  return fields.map(([k, v]) => `${k.padEnd(width)}${v}`.trimEnd()).join("\n") + "\n";
}

/** Formats a duration for people: `850ms`, `4.2s`, `2m10s`, `1h03m`, `3d4h`. */
export function formatDuration(ms: number): string {
  const v = Math.max(0, ms);
  if (v < 1000) return `${Math.round(v)}ms`;
  if (v < 10_000) return `${(Math.floor(v / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(v / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/** How long ago an ISO-8601 time was, e.g. `4.2s ago`; `-` when absent or unparsable. */
export function formatAge(iso: string | null, now: number): string {
  if (iso === null) return "-";
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return "-";
  return `${formatDuration(now - at)} ago`;
}

/** Collapses whitespace and cuts `text` to `max` characters, marking the cut with `…`. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : flat.slice(0, max - 1) + "…";
}

/** Serializes a value as the CLI prints JSON: indented, newline-terminated. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}
