/**
 * The registry of proxies connected over the control channel.
 *
 * It keeps what each proxy last reported (sessions, epoch, pause and drain
 * progress), sends messages to one or all of them, and matches request/reply
 * pairs such as `list_connections` → `connections`.
 *
 * @module
 */

import type { ProxyBlockingSession, ProxyStatus } from "../shared/api.ts";
import { proxyTag, proxyTagOf } from "../shared/cancel_key.ts";
import {
  type ConnectionInfo,
  encodeMessage,
  type OrchestratorMessageBody,
  type ProxyMessage,
  type SessionCounts,
  type ShadowModeName,
} from "../shared/control.ts";
import type { ProxyShadowReport } from "../shared/shadow.ts";
import { type DrainConfirmation, DrainConfirmations } from "./drain_confirm.ts";

/** The transport of one proxy connection. */
export interface ProxyConnection {
  /** Who is at the other end (address, certificate subject), for logs. */
  peer?: string;
  /** Sends one text frame; must not throw when the socket is closing. */
  send(text: string): void;
  /** Closes the connection. */
  close(code: number, reason: string): void;
}

/** Drain progress a proxy last reported for a cutover. */
export interface DrainReport {
  /** The cutover the report belongs to. */
  cutoverId: string;
  /** The proxy has nothing running on the source of truth. */
  drained: boolean;
  /** Its session counts. */
  counts: SessionCounts;
  /** Sessions keeping it from draining. */
  blocking: ProxyBlockingSession[];
  /**
   * When (orchestrator clock, ms) the proxy's pause runs out and it resumes by
   * itself; null when the proxy did not say (an older build).
   */
  expiresAt: number | null;
}

/** Whether `drain` is a drained ack for `cutoverId` that still holds at `now`. */
export function drainHolds(
  drain: DrainReport | null,
  cutoverId: string | undefined,
  now: number,
): boolean {
  return drain !== null && drain.cutoverId === cutoverId && drain.drained &&
    (drain.expiresAt === null || drain.expiresAt > now);
}

/** What the orchestrator knows about one proxy. */
export interface ProxyEntry {
  /** Stable proxy id (pod name or hostname). */
  id: string;
  /** Proxy build version. */
  version: string;
  /** The shadow mode it registered with. */
  shadowMode: ShadowModeName;
  /** The live connection, undefined when disconnected. */
  connection?: ProxyConnection;
  /** Last reported session counts. */
  sessions: SessionCounts;
  /** When the last heartbeat (or hello) arrived. */
  lastHeartbeatAt: Date | null;
  /** Epoch of the state the proxy last reported. */
  epoch: number | null;
  /** The proxy reported it is paused. */
  paused: boolean;
  /** Latest drain report, if any. */
  drain: DrainReport | null;
  /** When it disconnected, for pruning. */
  disconnectedAt: Date | null;
}

/** Events the registry emits to its owner. */
export interface RegistryListener {
  /** A proxy connected, reported drain progress, or disconnected. */
  onFleetChange(): void;
  /** A proxy registered on the control channel. */
  onConnected?(proxyId: string): void;
  /** A proxy's channel closed; `cleanly` when the proxy closed it itself, normally. */
  onDisconnected?(proxyId: string, cleanly: boolean): void;
  /** A proxy reported the result of `cancel_blocking`. */
  onCancelResult?(proxyId: string, terminate: boolean, sessionIds: string[]): void;
  /**
   * A proxy that had acked drained for `cutoverId` reports it is no longer
   * paused: it resumed by itself because its pause outlived its maximum pause.
   */
  onSelfResumed?(proxyId: string, cutoverId: string): void;
}

const EMPTY_COUNTS: SessionCounts = { total: 0, idle: 0, active: 0, inTransaction: 0, held: 0 };
/**
 * A connection that sent nothing for this long (three missed heartbeats) may
 * be replaced by a new one with the same id: its process is most likely gone.
 */
export const LIVE_CONNECTION_MS = 3_000;
const FORGET_AFTER_MS = 10 * 60_000;

interface PendingConnections {
  waiting: Set<string>;
  connections: ConnectionInfo[];
  resolve: () => void;
}

interface PendingShadowReports {
  waiting: Set<string>;
  failed: Set<string>;
  reports: ProxyShadowReport[];
  resolve: () => void;
}

/** Keeps the fleet's last reports and talks to connected proxies. */
export class ProxyRegistry {
  readonly #entries = new Map<string, ProxyEntry>();
  readonly #pending = new Map<string, PendingConnections>();
  readonly #pendingShadow = new Map<string, PendingShadowReports>();
  readonly #listener: RegistryListener;
  readonly #confirmations = new DrainConfirmations();
  /** The connected entries, rebuilt only when a proxy connects or leaves: every message reads it. */
  #connected: readonly ProxyEntry[] | null = null;
  #requestSeq = 0;

  /** @param listener told about fleet changes */
  constructor(listener: RegistryListener) {
    this.#listener = listener;
  }

  /**
   * The live connection holding `id`, if another one than `connection` holds
   * it: a proxy with the same id that sent something within
   * {@linkcode LIVE_CONNECTION_MS}. A new hello with that id must be refused.
   */
  liveHolder(id: string, connection: ProxyConnection): ProxyEntry | undefined {
    const entry = this.#entries.get(id);
    if (!entry?.connection || entry.connection === connection) return undefined;
    const heardAt = entry.lastHeartbeatAt?.getTime() ?? 0;
    return Date.now() - heardAt < LIVE_CONNECTION_MS ? entry : undefined;
  }

  /**
   * Registers a proxy from its hello. A second connection with the same id
   * replaces a silent first one (a restarted process reconnects before the old
   * socket times out); check {@linkcode liveHolder} first.
   */
  register(
    hello: Extract<ProxyMessage, { type: "hello" }>,
    connection: ProxyConnection,
  ): ProxyEntry {
    const previous = this.#entries.get(hello.proxyId);
    if (previous?.connection && previous.connection !== connection) {
      previous.connection.close(4000, "replaced by a newer connection of the same proxy id");
    }
    const entry: ProxyEntry = {
      id: hello.proxyId,
      version: hello.version,
      shadowMode: hello.shadowMode,
      connection,
      sessions: hello.sessions,
      lastHeartbeatAt: new Date(),
      epoch: hello.state?.epoch ?? null,
      paused: false,
      drain: null,
      disconnectedAt: null,
    };
    this.#entries.set(entry.id, entry);
    this.#connected = null;
    this.#prune();
    this.#listener.onConnected?.(entry.id);
    this.#listener.onFleetChange();
    return entry;
  }

  /** Marks the proxy disconnected if `connection` is still its current one. */
  disconnect(id: string, connection: ProxyConnection, cleanly = false): void {
    const entry = this.#entries.get(id);
    if (!entry || entry.connection !== connection) return;
    this.#listener.onDisconnected?.(id, cleanly);
    entry.connection = undefined;
    this.#connected = null;
    entry.disconnectedAt = new Date();
    for (const pending of [...this.#pending.values(), ...this.#pendingShadow.values()]) {
      if (pending.waiting.delete(id) && pending.waiting.size === 0) pending.resolve();
    }
    this.#confirmations.gone(id);
    this.#listener.onFleetChange();
  }

  /** Records a message from a registered proxy. */
  record(id: string, message: ProxyMessage): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    switch (message.type) {
      case "heartbeat":
        entry.sessions = message.sessions;
        entry.epoch = message.epoch;
        entry.paused = message.paused;
        entry.lastHeartbeatAt = new Date();
        // A proxy that resumed on its own (its maximum pause ran out) no longer holds
        // anything: its drain ack must not let a commit through.
        if (!message.paused && entry.drain) this.selfResumed(entry, entry.drain.cutoverId);
        break;
      case "drain_progress":
        entry.sessions = message.counts;
        entry.paused = true;
        entry.drain = {
          cutoverId: message.cutoverId,
          drained: message.drained,
          counts: message.counts,
          blocking: message.blocking.map((b) => ({ ...b, proxyId: id })),
          expiresAt: message.pauseRemainingMs === undefined
            ? null
            : Date.now() + message.pauseRemainingMs,
        };
        this.#listener.onFleetChange();
        break;
      case "pause_expired":
        this.selfResumed(entry, message.cutoverId);
        break;
      case "drain_confirmation":
        this.#confirmations.answer(id, message);
        break;
      case "connections": {
        const pending = this.#pending.get(message.requestId);
        if (pending?.waiting.delete(id)) {
          pending.connections.push(...message.connections.map((c) => ({ ...c, proxyId: id })));
          if (pending.waiting.size === 0) pending.resolve();
        }
        break;
      }
      case "cancel_blocking_result":
        this.#listener.onCancelResult?.(id, message.terminate, message.sessionIds);
        break;
      case "shadow_report": {
        const pending = this.#pendingShadow.get(message.requestId);
        if (pending?.waiting.delete(id)) {
          pending.reports.push({ ...message.report, proxyId: id });
          if (pending.waiting.size === 0) pending.resolve();
        }
        break;
      }
      case "reply": {
        const pending = this.#pendingShadow.get(message.requestId);
        if (!message.ok && pending?.waiting.delete(id)) {
          pending.failed.add(id);
          if (pending.waiting.size === 0) pending.resolve();
        }
        break;
      }
      default:
        break;
    }
  }

  /** Voids `entry`'s drain ack for `cutoverId`: the proxy resumes (or resumed) by itself. */
  selfResumed(entry: ProxyEntry | string, cutoverId: string): void {
    if (typeof entry === "string") {
      const found = this.#entries.get(entry);
      if (!found) return;
      entry = found;
    }
    if (entry.drain?.cutoverId !== cutoverId) return;
    entry.drain = null;
    this.#listener.onSelfResumed?.(entry.id, cutoverId);
    this.#listener.onFleetChange();
  }

  /**
   * Voids the drain acks for `cutoverId` whose pause ran out by `now`, though
   * the proxy's own report did not arrive (a stalled channel): it has resumed.
   * Returns the proxies affected.
   */
  expireDrains(cutoverId: string, now: number): string[] {
    const expired = this.connected().filter((e) =>
      e.drain?.cutoverId === cutoverId && e.drain.expiresAt !== null && e.drain.expiresAt <= now
    );
    for (const entry of expired) this.selfResumed(entry, cutoverId);
    return expired.map((e) => e.id);
  }

  /** The earliest time a drained ack for `cutoverId` runs out, if any will. */
  nextDrainExpiry(cutoverId: string): number | null {
    let next: number | null = null;
    for (const e of this.#entries.values()) {
      if (!e.connection) continue;
      const at = e.drain?.cutoverId === cutoverId ? e.drain.expiresAt : null;
      if (at !== null && (next === null || at < next)) next = at;
    }
    return next;
  }

  /**
   * Asks every connected proxy whether it is drained for `cutoverId` now and
   * waits up to `timeoutMs`; proxies that did not answer are `missing`.
   */
  async confirmDrains(
    cutoverId: string,
    timeoutMs: number,
  ): Promise<{ answers: Map<string, DrainConfirmation>; missing: string[] }> {
    const requestId = `confirm-${++this.#requestSeq}`;
    const targets = this.connected();
    const text = encodeMessage({ type: "confirm_drain", requestId, cutoverId });
    const result = this.#confirmations.collect(requestId, targets.map((e) => e.id), timeoutMs);
    for (const entry of targets) entry.connection?.send(text);
    return await result;
  }

  /** Connected proxies. */
  connected(): readonly ProxyEntry[] {
    // By id, so that every listing and refusal names the proxies in the same order however they
    // happened to connect.
    this.#connected ??= [...this.#entries.values()].filter((e) => e.connection !== undefined)
      .sort((a, b) => a.id.localeCompare(b.id));
    return this.#connected;
  }

  /** Every known proxy, connected or recently disconnected, by id. */
  all(): ProxyEntry[] {
    return [...this.#entries.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** A proxy's status as the API reports it, relative to `cutoverId` (drained only counts for it). */
  status(entry: ProxyEntry, cutoverId: string | null): ProxyStatus {
    return {
      id: entry.id,
      connected: entry.connection !== undefined,
      version: entry.version,
      shadowMode: entry.shadowMode,
      sessions: entry.connection ? entry.sessions : EMPTY_COUNTS,
      lastHeartbeatAt: entry.lastHeartbeatAt?.toISOString() ?? null,
      epoch: entry.epoch,
      paused: entry.paused,
      drained: cutoverId !== null && drainHolds(entry.drain, cutoverId, Date.now()),
    };
  }

  /** Forgets drain reports (a new cutover starts or one ended). */
  clearDrain(): void {
    for (const entry of this.#entries.values()) entry.drain = null;
  }

  /** Sends a message to one proxy; false when it is not connected. */
  send(id: string, body: OrchestratorMessageBody): boolean {
    const connection = this.#entries.get(id)?.connection;
    if (!connection) return false;
    connection.send(encodeMessage(body));
    return true;
  }

  /** Sends a message to every connected proxy. */
  broadcast(body: OrchestratorMessageBody): void {
    const text = encodeMessage(body);
    for (const entry of this.connected()) entry.connection?.send(text);
  }

  /**
   * Routes a CancelRequest to the proxies whose tag matches the key (several
   * when tags collide; only the owner acts on it), as a disconnect with
   * `terminate`. Returns the proxies it went to.
   */
  routeCancel(
    processId: number,
    secretKey: number,
    fromProxyId: string,
    terminate = false,
  ): string[] {
    const tag = proxyTagOf(processId);
    const targets = this.connected().filter((e) => e.id !== fromProxyId && proxyTag(e.id) === tag);
    for (const entry of targets) {
      this.send(entry.id, {
        type: "cancel_request",
        processId,
        secretKey,
        ...(terminate ? { terminate } : {}),
      });
    }
    return targets.map((e) => e.id);
  }

  /** Asks every connected proxy for its connections and waits up to `timeoutMs` for the answers. */
  async listConnections(
    redact: boolean,
    timeoutMs: number,
  ): Promise<{ connections: ConnectionInfo[]; unreachableProxies: string[] }> {
    const requestId = `req-${++this.#requestSeq}`;
    const targets = this.connected();
    const waiting = new Set(targets.map((e) => e.id));
    const connections: ConnectionInfo[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      if (waiting.size === 0) return resolve();
      this.#pending.set(requestId, { waiting, connections, resolve });
      timer = setTimeout(resolve, timeoutMs);
      for (const entry of targets) {
        this.send(entry.id, { type: "list_connections", requestId, redact });
      }
    });
    clearTimeout(timer);
    this.#pending.delete(requestId);
    connections.sort((a, b) =>
      a.proxyId.localeCompare(b.proxyId) || a.sessionId.localeCompare(b.sessionId)
    );
    return { connections, unreachableProxies: [...waiting].sort() };
  }

  /**
   * Asks every connected proxy for its shadow report and waits up to
   * `timeoutMs` for the answers. A proxy that failed or did not answer in time
   * is listed in `unreachableProxies`.
   */
  async shadowReports(
    timeoutMs: number,
  ): Promise<{ reports: ProxyShadowReport[]; unreachableProxies: string[] }> {
    const requestId = `req-${++this.#requestSeq}`;
    const targets = this.connected();
    const waiting = new Set(targets.map((e) => e.id));
    const failed = new Set<string>();
    const reports: ProxyShadowReport[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      if (waiting.size === 0) return resolve();
      this.#pendingShadow.set(requestId, { waiting, failed, reports, resolve });
      timer = setTimeout(resolve, timeoutMs);
      for (const entry of targets) {
        this.send(entry.id, { type: "shadow_report_request", requestId });
      }
    });
    clearTimeout(timer);
    this.#pendingShadow.delete(requestId);
    return { reports, unreachableProxies: [...waiting, ...failed].sort() };
  }

  /** Closes every connection (shutdown). */
  closeAll(reason: string): void {
    for (const entry of this.connected()) entry.connection?.close(1001, reason);
  }

  #prune(): void {
    const cutoff = Date.now() - FORGET_AFTER_MS;
    for (const [id, entry] of this.#entries) {
      if (entry.disconnectedAt && entry.disconnectedAt.getTime() < cutoff) this.#entries.delete(id);
    }
  }
}
