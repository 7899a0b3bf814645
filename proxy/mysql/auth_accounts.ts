/**
 * The MySQL source's accounts as this proxy knows them, kept fresh: at boot
 * and every `LMS_MYSQL_ACCOUNTS_REFRESH` (default 5 minutes) the proxy reads
 * them from the source while it is reachable and records them in the state
 * store (`_molt_lms.mysql_accounts`, rewritten only when they changed); when
 * the source cannot be reached it takes the recorded ones from the store.
 * The proxy verifies logins from these accounts itself once the target is
 * the source of truth (`auth_local.ts`).
 *
 * Nothing here logs a stored authentication string: accounts are logged by
 * count only.
 *
 * @module
 */

import type { ConnectionSpec } from "../../shared/connstring.ts";
import { errorMessage } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import type { MySqlAccountStore } from "../../shared/mysql_account_store.ts";
import { type MySqlAccount, readMySqlAccounts } from "../../shared/mysql_accounts.ts";
import { matchAccount, orderAccounts } from "./auth_hosts.ts";

/** What {@linkcode AccountBook} reads and writes. */
export interface AccountBookOptions {
  /** The MySQL source (`INIT_SOURCE`). */
  source: ConnectionSpec;
  /** The state store's account table in the target; undefined without `INIT_TARGET`. */
  store: MySqlAccountStore | undefined;
  /** How often to refresh, in milliseconds. */
  refreshMs: number;
  /** Who records (this proxy's id). */
  actor: string;
  log: Logger;
}

/** Where the accounts in use came from. */
export type AccountOrigin = "source" | "state store" | "none";

/** See the module documentation. */
export class AccountBook {
  readonly #opts: AccountBookOptions;
  #ordered: MySqlAccount[] = [];
  #origin: AccountOrigin = "none";
  #refreshing: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #sourceFailing = false;

  /** @param options where accounts come from and go to */
  constructor(options: AccountBookOptions) {
    this.#opts = options;
  }

  /** Where the accounts in use came from. */
  get origin(): AccountOrigin {
    return this.#origin;
  }

  /** How many accounts are known. */
  get size(): number {
    return this.#ordered.length;
  }

  /** Refreshes now and then every `refreshMs`. */
  start(): void {
    void this.refresh();
    const timer = setInterval(() => void this.refresh(), this.#opts.refreshMs);
    // A refresh never keeps the process alive on its own.
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
  }

  /** Reads the source (recording what it found) or, when it is unreachable, the store. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => this.#refreshing = undefined);
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const { log, store } = this.#opts;
    let fromSource: MySqlAccount[] | undefined;
    try {
      fromSource = await readMySqlAccounts(this.#opts.source);
      if (this.#sourceFailing) log.info("the MySQL source's accounts are readable again");
      this.#sourceFailing = false;
    } catch (err) {
      if (!this.#sourceFailing) {
        log.warn(
          "cannot read the MySQL source's accounts; using those recorded in the state store",
          {
            error: errorMessage(err),
          },
        );
      }
      this.#sourceFailing = true;
    }
    if (fromSource) {
      this.#use(fromSource, "source");
      if (!store) return;
      try {
        const outcome = await store.record(fromSource, this.#opts.actor);
        log.debug("MySQL accounts recorded", { accounts: fromSource.length, outcome });
      } catch (err) {
        log.warn("cannot record the MySQL source's accounts in the state store", {
          error: errorMessage(err),
        });
      }
      return;
    }
    if (!store) return;
    try {
      const recorded = await store.load();
      if (recorded.length > 0 || this.#origin === "none") this.#use(recorded, "state store");
    } catch (err) {
      log.warn("cannot read the recorded MySQL accounts from the state store", {
        error: errorMessage(err),
      });
    }
  }

  #use(accounts: MySqlAccount[], origin: AccountOrigin): void {
    this.#ordered = orderAccounts(accounts);
    this.#origin = origin;
  }

  /**
   * The account a login by `user` from `host` is (see `auth_hosts.ts`).
   * Before the first refresh finished, waits for it.
   */
  async lookup(user: string, host: string): Promise<MySqlAccount | undefined> {
    if (this.#origin === "none") await this.refresh();
    return matchAccount(this.#ordered, user, host);
  }

  /** Stops refreshing. */
  close(): void {
    clearInterval(this.#timer);
  }
}
