/**
 * A MySQL 8.0 server that knows only the connection phase, for the
 * `caching_sha2_password` fixture (`tests/unit/fixtures/mysql8_caching_sha2.ts`):
 * it sends MySQL 8's handshake, runs the fast path or full authentication
 * (cleartext over TLS, or RSA-encrypted with its public key), answers OK or
 * ERR 1045, and then answers every COM_QUERY with an OK and COM_QUIT by closing.
 *
 * @module
 */

import net from "node:net";
import { Buffer } from "node:buffer";
import { constants, generateKeyPairSync, privateDecrypt } from "node:crypto";
import { ClientTlsUpgrader } from "../../proxy/pg/tls.ts";
import { Cap } from "../../proxy/mysql/constants.ts";
import { decodeHandshakeResponse, isSslRequest } from "../../proxy/mysql/handshake.ts";
import { errPayload, okPayload, packet, PayloadWriter, utf8 } from "../../proxy/mysql/packets.ts";
import { PacketReader } from "../../proxy/mysql/reader.ts";
import {
  FAST_AUTH_SUCCESS,
  MYSQL8_CAPABILITIES,
  MYSQL8_FAST_AUTH_TOKEN,
  MYSQL8_PASSWORD,
  MYSQL8_SCRAMBLE,
  MYSQL8_USER,
  MYSQL8_VERSION,
  PERFORM_FULL_AUTHENTICATION,
  REQUEST_PUBLIC_KEY,
} from "../unit/fixtures/mysql8_caching_sha2.ts";

/** The running fake server. */
export interface FakeMySql8 extends AsyncDisposable {
  port: number;
  /** Whether the next logins find the account in the cache (fast path) or not (full authentication). */
  cached: boolean;
  /** How each login went: "fast", "full-tls", "full-rsa", or "denied". */
  logins: string[];
  close(): Promise<void>;
}

const hex = (b: Uint8Array) => Array.from(b).map((x) => x.toString(16).padStart(2, "0")).join("");

function handshake(tls: boolean): Uint8Array {
  const caps = tls ? MYSQL8_CAPABILITIES : MYSQL8_CAPABILITIES & ~Cap.SSL;
  const scramble = new TextEncoder().encode(MYSQL8_SCRAMBLE);
  return new PayloadWriter().u8(10).cstr(MYSQL8_VERSION).u32(42).bytes(scramble.subarray(0, 8))
    .u8(0).u16(caps & 0xffff).u8(255).u16(2).u16(caps >>> 16).u8(21).zeros(10)
    .bytes(scramble.subarray(8)).u8(0).cstr("caching_sha2_password").build();
}

/** Starts the server; `tls` makes it offer TLS with these PEM strings. */
export async function startFakeMySql8(tls?: { cert: string; key: string }): Promise<FakeMySql8> {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: "spki", format: "pem" }) as string;
  const upgrader = tls ? new ClientTlsUpgrader(tls) : undefined;
  const sockets = new Set<net.Socket>();
  const state: FakeMySql8 = {
    port: 0,
    cached: true,
    logins: [],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
    [Symbol.asyncDispose]: () => state.close(),
  };
  const serve = async (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    let conn: net.Socket = socket;
    let reader = new PacketReader(conn, 1 << 24, "client");
    conn.write(packet(0, handshake(!!upgrader)));
    let p = await reader.next();
    let encrypted = false;
    if (isSslRequest(p.payload) && upgrader) {
      const early = reader.detach();
      if (early.length > 0) socket.unshift(Buffer.from(early));
      conn = await upgrader.upgrade(socket);
      encrypted = true;
      reader = new PacketReader(conn, 1 << 24, "client");
      p = await reader.next();
    }
    const response = decodeHandshakeResponse(p.payload);
    let seq = p.seq + 1;
    let token = response.authResponse;
    if (response.authPlugin !== "caching_sha2_password") {
      conn.write(packet(
        seq,
        new PayloadWriter().u8(0xfe).cstr("caching_sha2_password")
          .cstr(MYSQL8_SCRAMBLE).build(),
      ));
      const answer = await reader.next();
      token = answer.payload;
      seq = answer.seq + 1;
    }
    const deny = () => {
      state.logins.push("denied");
      conn.write(packet(
        seq,
        errPayload(
          { code: 1045, state: "28000" },
          `Access denied for user '${response.user}'@'localhost' (using password: YES)`,
        ),
      ));
      conn.end();
    };
    const fastOk = response.user === MYSQL8_USER && hex(token) === MYSQL8_FAST_AUTH_TOKEN;
    if (state.cached) {
      if (!fastOk) return deny();
      conn.write(packet(seq++, Uint8Array.from(FAST_AUTH_SUCCESS)));
      state.logins.push("fast");
    } else {
      conn.write(packet(seq++, Uint8Array.from(PERFORM_FULL_AUTHENTICATION)));
      let answer = await reader.next();
      let password: string;
      if (encrypted) {
        password = utf8(answer.payload).replace(/\0$/, "");
      } else {
        if (answer.payload[0] !== REQUEST_PUBLIC_KEY) return deny();
        conn.write(packet(answer.seq + 1, new PayloadWriter().u8(0x01).str(publicPem).build()));
        answer = await reader.next();
        const plain = privateDecrypt(
          { key: privateKey, oaepHash: "sha1", padding: constants.RSA_PKCS1_OAEP_PADDING },
          answer.payload,
        );
        const scramble = new TextEncoder().encode(MYSQL8_SCRAMBLE);
        password = utf8(plain.map((b, i) => b ^ scramble[i % scramble.length])).replace(/\0$/, "");
      }
      seq = answer.seq + 1;
      if (response.user !== MYSQL8_USER || password !== MYSQL8_PASSWORD) return deny();
      state.logins.push(encrypted ? "full-tls" : "full-rsa");
    }
    conn.write(packet(seq, okPayload(2)));
    for (;;) {
      const command = await reader.next(60_000);
      if (command.payload[0] === 0x01) return conn.end();
      conn.write(packet(1, okPayload(2)));
    }
  };
  const server = net.createServer((socket) => void serve(socket).catch(() => socket.destroy()));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.port = (server.address() as net.AddressInfo).port;
  return state;
}
