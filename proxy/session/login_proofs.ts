/**
 * Login proofs: during a consistent drain, whether the sessions of one
 * credential can log in on the other database, tried once per credential
 * instead of once per session.
 *
 * A held session must not count as drained while it is not known that it
 * can run as its own user on the new source of truth: a commit would strand
 * it ({@linkcode ./identity_context.ts}). Proving that with a connection per
 * session costs one login per idle session at every pause. At 100 sessions
 * on each of 10 proxies that is 1,000 logins while both databases share the
 * machine with the workload, and the drain waits for the slowest of them.
 * Idle sessions of one pool nearly always share one credential, so one
 * login per (database, credential) tells the same thing; the idle sessions
 * then open their own connections after the commit, in the open queue's
 * idle lane, and a request from one of them hurries its open.
 *
 * The key a wire gives (`SessionWire.loginKey` in {@linkcode ./wire.ts}) is
 * opaque and kept in memory only: it holds a digest of the credential, never
 * the credential.
 *
 * @module
 */

/**
 * How long a proof that has not finished keeps its sessions from counting
 * as drained: long enough for a refused login to be reported before the
 * fleet commits, short enough that a slow database does not stretch the
 * pause. The session core's own standby connections wait as long.
 */
export const PROOF_WAIT_MS = 2_000;

/** Whether a login tried during a drain has finished, or has been waited for long enough. */
export interface Settlement {
  /** The login finished, accepted or refused. */
  readonly settled: boolean;
  /** The wait ({@linkcode PROOF_WAIT_MS}) passed before it finished. */
  readonly waitedOut: boolean;
}

/**
 * Watches `login`: the answer turns `settled` when it finishes and
 * `waitedOut` when `waitMs` passed first, calling `changed` each time. The
 * rule for every login a drain waits for, shared or a session's own.
 */
export function watchLogin(
  login: Promise<unknown>,
  changed: () => void,
  waitMs: number = PROOF_WAIT_MS,
): Settlement {
  const watch = { settled: false, waitedOut: false };
  const waited = setTimeout(() => {
    watch.waitedOut = true;
    changed();
  }, waitMs);
  login.finally(() => {
    clearTimeout(waited);
    watch.settled = true;
    changed();
  }).catch(() => {});
  return watch;
}

/** What the sessions sharing one proof read while the drain goes on. */
export interface LoginProof {
  /** Whether the drain may stop waiting for the login. */
  readonly watch: Settlement;
  /**
   * Why the database refused the sessions' identity (no credential there,
   * or the credential refused), or undefined. Other failures (the database
   * is down, a setting does not replay) do not refuse: the move reports
   * them itself, as a session's own standby does.
   */
  readonly refusal: string | undefined;
}

/** The proofs of one proxy; see the module documentation. */
export class LoginProofs {
  readonly #changed: () => void;
  readonly #waitMs: number;
  #generation = "";
  #proofs = new Map<string, LoginProof>();

  /**
   * @param changed called whenever a proof settles or waits out (the gate's `notify`)
   * @param waitMs see {@linkcode PROOF_WAIT_MS}
   */
  constructor(changed: () => void, waitMs: number = PROOF_WAIT_MS) {
    this.#changed = changed;
    this.#waitMs = waitMs;
  }

  /** Proofs kept for the current pause (for tests and metrics). */
  get size(): number {
    return this.#proofs.size;
  }

  /**
   * The proof of `key` for the pause `generation` names, started with
   * `prove` when this pause has none yet. `prove` resolves when the login
   * worked; `refusalOf` turns its rejection into a refusal reason, or
   * undefined when the failure is not about identity. A new generation
   * forgets every proof of the last one.
   */
  proof(
    generation: string,
    key: string,
    prove: () => Promise<unknown>,
    refusalOf: (err: unknown) => string | undefined,
  ): LoginProof {
    if (generation !== this.#generation) {
      this.#generation = generation;
      this.#proofs = new Map();
    }
    const known = this.#proofs.get(key);
    if (known) return known;
    let started: Promise<unknown>;
    try {
      started = prove();
    } catch (err) {
      started = Promise.reject(err);
    }
    // The refusal is set before the watch settles, so the drain never sees a settled proof
    // without it.
    const proof: { watch: Settlement; refusal: string | undefined } = {
      refusal: undefined,
      watch: watchLogin(
        started.then(() => {}, (err) => {
          proof.refusal = refusalOf(err);
        }),
        this.#changed,
        this.#waitMs,
      ),
    };
    this.#proofs.set(key, proof);
    return proof;
  }
}
