/**
 * The few browser APIs the page script uses, typed locally. `deno check`
 * checks the whole repository as one program with Deno's libraries; pulling
 * in the DOM library there would clash with Deno's own `WebSocket` and
 * stream types, so the script reaches the DOM through these interfaces.
 *
 * @module
 */

/** An element, as far as the page script touches one. */
export interface Element {
  /** Inner HTML. */
  innerHTML: string;
  /** Text content. */
  textContent: string | null;
  /** The `hidden` attribute. */
  hidden: boolean;
  /** The `class` attribute. */
  className: string;
  /** `data-*` attributes. */
  dataset: Record<string, string | undefined>;
  /** An input's value. */
  value: string;
  /** Click handler. */
  onclick: (() => void) | null;
  /** First descendant matching `selector`. */
  querySelector(selector: string): Element | null;
  /** Every descendant matching `selector`. */
  querySelectorAll(selector: string): Iterable<Element>;
  /** Reads an attribute. */
  getAttribute(name: string): string | null;
  /** Sets an attribute. */
  setAttribute(name: string, value: string): void;
  /** Adds an event listener. */
  addEventListener(type: string, listener: (event: { preventDefault(): void }) => void): void;
  /** Moves the focus here. */
  focus(): void;
}

/** A Server-Sent Events connection. */
export interface EventStream {
  /** Called when the stream (re)opens. */
  onopen: (() => void) | null;
  /** Called per message. */
  onmessage: ((event: { data: string }) => void) | null;
  /** Called when the stream fails; the browser retries unless `readyState` is `CLOSED`. */
  onerror: (() => void) | null;
  /** 0 connecting, 1 open, 2 closed. */
  readonly readyState: number;
}

const browser = globalThis as unknown as {
  document: { getElementById(id: string): Element | null };
  EventSource: new (url: string) => EventStream;
};

/** `document.getElementById`, failing loudly when the page lacks the element. */
export function byId(id: string): Element {
  const el = browser.document.getElementById(id);
  if (!el) throw new Error(`the dashboard page has no #${id}`);
  return el;
}

/** Opens a Server-Sent Events stream. */
export function openEventStream(url: string): EventStream {
  return new browser.EventSource(url);
}

/** `EventSource.CLOSED`. */
export const STREAM_CLOSED = 2;
