/**
 * Entry point of the LMS proxy (`deno task proxy`, binary `molt-lms`).
 *
 * @module
 */

import { ConfigError, configHelp, loadConfig, wantsHelp } from "../shared/config.ts";
import { createLogger, setLogLevel } from "../shared/log.ts";
import { onStopSignals } from "../shared/signals.ts";
import { startProxy } from "./server.ts";

if (import.meta.main) {
  if (wantsHelp(Deno.args)) {
    console.log(configHelp("proxy"));
    Deno.exit(0);
  }
  const log = createLogger("proxy");
  try {
    const config = loadConfig("proxy", { args: Deno.args, env: Deno.env.toObject() });
    setLogLevel(config.logLevel);
    const proxy = await startProxy(config, log.child({ proxy: config.proxyId }));
    onStopSignals({
      log,
      waitingFor: "open transactions",
      graceful: async () => {
        try {
          await proxy.shutdown(config.shutdownGraceMs);
        } catch (err) {
          log.error("shutdown failed", { error: err });
          Deno.exit(1);
        }
        Deno.exit(0);
      },
      immediate: () => Deno.exit(1),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      Deno.exit(2);
    }
    log.error("proxy failed to start", { error: err });
    Deno.exit(1);
  }
}
