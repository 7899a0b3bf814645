/**
 * The untyped packets a client may open a connection with: SSLRequest,
 * GSSENCRequest, CancelRequest and the protocol 3.0 StartupMessage.
 *
 * @module
 */

import { cstring, int32, readCString, readInt32 } from "./messages.ts";
import { FramingError } from "./framing.ts";
import { interned } from "./interned.ts";

/** Request code of SSLRequest. */
export const SSL_REQUEST_CODE = 80877103;
/** Request code of GSSENCRequest. */
export const GSSENC_REQUEST_CODE = 80877104;
/** Request code of CancelRequest. */
export const CANCEL_REQUEST_CODE = 80877102;
/** Protocol version 3.0 as sent in StartupMessage. */
export const PROTOCOL_3_0 = 196608;

/** What a client's first packet asked for. */
export type StartupPacket =
  | { kind: "ssl" }
  | { kind: "gssenc" }
  | { kind: "cancel"; processId: number; secretKey: number }
  | { kind: "startup"; params: Map<string, string> };

/** Decodes the body (after the length word) of an untyped startup packet. */
export function decodeStartupPacket(body: Uint8Array): StartupPacket {
  const code = readInt32(body, 0) >>> 0;
  if (code === SSL_REQUEST_CODE && body.length === 4) return { kind: "ssl" };
  if (code === GSSENC_REQUEST_CODE && body.length === 4) return { kind: "gssenc" };
  if (code === CANCEL_REQUEST_CODE) {
    if (body.length !== 12) {
      throw new FramingError("PROTOCOL_VIOLATION", "invalid CancelRequest length");
    }
    return { kind: "cancel", processId: readInt32(body, 4), secretKey: readInt32(body, 8) };
  }
  if (code >>> 16 !== 3) {
    throw new FramingError(
      "PROTOCOL_VIOLATION",
      `unsupported frontend protocol ${code >>> 16}.${code & 0xffff}: LMS speaks 3.0`,
    );
  }
  const params = new Map<string, string>();
  let at = 4;
  while (at < body.length && body[at] !== 0) {
    const [name, afterName] = readCString(body, at);
    if (afterName >= body.length) {
      throw new FramingError("PROTOCOL_VIOLATION", "startup packet ends inside a parameter");
    }
    const [value, afterValue] = readCString(body, afterName);
    if (afterValue > body.length) {
      throw new FramingError("PROTOCOL_VIOLATION", "startup packet ends inside a parameter");
    }
    params.set(interned(name), interned(value));
    at = afterValue;
  }
  if (at !== body.length - 1) {
    throw new FramingError("PROTOCOL_VIOLATION", "startup packet is not NUL-terminated");
  }
  if (!params.get("user")) {
    throw new FramingError(
      "PROTOCOL_VIOLATION",
      "no PostgreSQL user name specified in startup packet",
    );
  }
  return { kind: "startup", params };
}

/** Encodes a protocol 3.0 StartupMessage. */
export function encodeStartupMessage(params: Map<string, string>): Uint8Array {
  const parts: Uint8Array[] = [int32(PROTOCOL_3_0)];
  for (const [k, v] of params) parts.push(cstring(k), cstring(v));
  parts.push(new Uint8Array(1));
  return untyped(parts);
}

/** Encodes an SSLRequest. */
export function encodeSslRequest(): Uint8Array {
  return untyped([int32(SSL_REQUEST_CODE)]);
}

/** Encodes a CancelRequest. */
export function encodeCancelRequest(processId: number, secretKey: number): Uint8Array {
  return untyped([int32(CANCEL_REQUEST_CODE, processId, secretKey)]);
}

function untyped(parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 4);
  const out = new Uint8Array(len);
  new DataView(out.buffer).setInt32(0, len);
  let at = 4;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
