/**
 * Base64 for corpus and crash files, on node:buffer (the std library cannot be fetched here).
 *
 * @module
 */

import { Buffer } from "node:buffer";

/** Bytes to base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

/** Base64 to bytes. */
export function decodeBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "base64"));
}
