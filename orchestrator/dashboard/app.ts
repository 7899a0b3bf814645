/**
 * The dashboard page's script (bundled by `deno task dashboard:build`): it
 * follows the orchestrator's snapshot stream, redraws the live part of the
 * page, shows whether the stream is up, and — only when the orchestrator
 * allows actions — offers begin/commit/abort behind a typed confirmation.
 *
 * @module
 */

import { byId, type Element, openEventStream, STREAM_CLOSED } from "./dom.ts";
import { renderSnapshot } from "./render.ts";
import {
  confirmationPhrase,
  DASHBOARD_PATHS,
  type DashboardAction,
  type DashboardSnapshot,
} from "./snapshot.ts";

const live = byId("live");
const link = byId("link");
const actions = byId("actions");
let latest: DashboardSnapshot | undefined;

/** Which action the phase allows, as the CLI's guard rails would. */
function allowed(s: DashboardSnapshot): DashboardAction[] {
  if (!s.status.initialized) return [];
  if (s.status.phase === "idle") return ["begin"];
  return s.status.phase === "drained" ? ["commit", "abort"] : ["abort"];
}

function drawActions(s: DashboardSnapshot): void {
  if (!s.actions) {
    actions.hidden = true;
    actions.innerHTML = "";
    return;
  }
  actions.hidden = false;
  if (!actions.querySelector("form")) {
    actions.innerHTML = `<h2>Cutover</h2>
      <div class="buttons"></div>
      <form hidden>
        <p>Type <code class="phrase"></code> to confirm.</p>
        <input name="confirm" autocomplete="off" spellcheck="false" aria-label="confirmation">
        <input name="token" type="password" autocomplete="off" placeholder="API token (unless mTLS)"
          aria-label="API token">
        <button type="submit" name="go">Confirm</button>
        <button type="button" name="cancel">Cancel</button>
      </form>
      <p class="result" role="status"></p>`;
    const form = actions.querySelector("form")!;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void submit(form);
    });
    form.querySelector("button[name=cancel]")!.onclick = () => {
      form.hidden = true;
    };
  }
  const buttons = actions.querySelector(".buttons")!;
  const want = allowed(s).join(",");
  if (buttons.getAttribute("data-for") !== want) {
    buttons.setAttribute("data-for", want);
    buttons.innerHTML = allowed(s).map((a) =>
      `<button type="button" data-action="${a}">${a} (${
        confirmationPhrase(a, s.status.sourceOfTruth)
      })</button>`
    ).join("");
    for (const b of buttons.querySelectorAll("button")) {
      b.onclick = () => choose(b.dataset.action as DashboardAction);
    }
  }
}

function choose(action: DashboardAction): void {
  if (!latest) return;
  const form = actions.querySelector("form")!;
  form.dataset.action = action;
  form.dataset.from = latest.status.sourceOfTruth;
  form.querySelector(".phrase")!.textContent = confirmationPhrase(
    action,
    latest.status.sourceOfTruth,
  );
  form.querySelector("input[name=confirm]")!.value = "";
  form.hidden = false;
  form.querySelector("input[name=confirm]")!.focus();
}

async function submit(form: Element): Promise<void> {
  const result = actions.querySelector(".result")!;
  const action = form.dataset.action!;
  const token = form.querySelector("input[name=token]")!.value.trim();
  const confirm = form.querySelector("input[name=confirm]")!.value;
  result.textContent = `${action}…`;
  try {
    const res = await fetch(`${DASHBOARD_PATHS.actions}${action}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ from: form.dataset.from, confirm }),
    });
    const body = await res.json() as { error?: { code: string; message: string; hint: string } };
    if (body.error) {
      result.textContent = `${action} refused (${body.error.code}): ${body.error.message}. ` +
        body.error.hint;
      result.className = "result warn";
    } else {
      result.textContent = `${action}: accepted`;
      result.className = "result ok";
      form.hidden = true;
    }
  } catch (err) {
    result.textContent = `${action} failed: ${err}`;
    result.className = "result warn";
  }
}

function connect(): void {
  const source = openEventStream(DASHBOARD_PATHS.events);
  source.onopen = () => {
    link.textContent = "live";
    link.className = "link ok";
  };
  source.onmessage = (e) => {
    latest = JSON.parse(e.data) as DashboardSnapshot;
    live.innerHTML = renderSnapshot(latest);
    drawActions(latest);
    link.textContent = "live";
    link.className = "link ok";
  };
  // EventSource reconnects by itself (retry: 1000); only a closed stream needs a new one.
  source.onerror = () => {
    link.textContent = "reconnecting…";
    link.className = "link warn";
    if (source.readyState === STREAM_CLOSED) setTimeout(connect, 1000);
  };
}

connect();
