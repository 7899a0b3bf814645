import assert from "node:assert/strict";
import {
  buildDashboardAssets,
  BUNDLE_MODULE,
  bundleModuleText,
} from "../../orchestrator/dashboard/build.ts";
import { DASHBOARD_ASSETS } from "../../orchestrator/dashboard/bundle.gen.ts";

Deno.test("the committed dashboard bundle is what its source builds to", async () => {
  const fresh = bundleModuleText(await buildDashboardAssets());
  const committed = await Deno.readTextFile(BUNDLE_MODULE);
  assert.ok(
    fresh === committed,
    "orchestrator/dashboard/bundle.gen.ts is out of date: run `deno task dashboard:build`",
  );
  assert.match(DASHBOARD_ASSETS.html, /<script src="\/dashboard\/app.js"><\/script>/);
  assert.match(DASHBOARD_ASSETS.js, /\/dashboard\/events/);
  assert.ok(DASHBOARD_ASSETS.css.length > 200);
});
