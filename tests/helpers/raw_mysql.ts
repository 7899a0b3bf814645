/**
 * A bare MySQL client for tests that send what no driver would: it logs in
 * with `mysql_native_password` and then writes whatever bytes the test gives,
 * reading packets back one by one.
 *
 * @module
 */

import net from "node:net";
import { createHash } from "node:crypto";
import { Cap } from "../../proxy/mysql/constants.ts";
import { decodeErr, type ErrPacket, packet, PayloadWriter } from "../../proxy/mysql/packets.ts";
import { decodeServerHandshake } from "../../proxy/mysql/handshake.ts";
import { PacketReader } from "../../proxy/mysql/reader.ts";
import type { Packet } from "../../proxy/mysql/framing.ts";

/** The `mysql_native_password` answer to `scramble`. */
export function nativePasswordToken(password: string, scramble: Uint8Array): Uint8Array {
  const sha1 = (b: Uint8Array) => new Uint8Array(createHash("sha1").update(b).digest());
  const stage1 = sha1(new TextEncoder().encode(password));
  const stage2 = sha1(stage1);
  const mix = new Uint8Array(scramble.length + stage2.length);
  mix.set(scramble);
  mix.set(stage2, scramble.length);
  const x = sha1(mix);
  return stage1.map((b, i) => b ^ x[i]);
}

/** A raw connection; see the module documentation. */
export class RawMySql {
  readonly socket: net.Socket;
  readonly reader: PacketReader;
  /** The connection id the server's handshake named. */
  connectionId = 0;
  #closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.reader = new PacketReader(socket, 1 << 26, "server");
    this.#closed = new Promise((resolve) => socket.once("close", () => resolve()));
  }

  /** Connects and reads the server's handshake; `login` finishes the connection phase. */
  static async open(port: number): Promise<{ raw: RawMySql; scramble: Uint8Array }> {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const raw = new RawMySql(socket);
    const hs = decodeServerHandshake((await raw.reader.next(10_000)).payload);
    raw.connectionId = hs.connectionId;
    return { raw, scramble: hs.scramble };
  }

  /** Connects and logs in; resolves once the server said OK. */
  static async login(port: number, user: string, password: string): Promise<RawMySql> {
    const { raw, scramble } = await RawMySql.open(port);
    const caps = Cap.LONG_PASSWORD | Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.PLUGIN_AUTH |
      Cap.TRANSACTIONS | Cap.MULTI_RESULTS | Cap.LOCAL_FILES;
    const token = nativePasswordToken(password, scramble);
    const response = new PayloadWriter().u32(caps).u32(1 << 24).u8(45).zeros(23).cstr(user)
      .u8(token.length).bytes(token).cstr("mysql_native_password").build();
    raw.socket.write(packet(1, response));
    const answer = await raw.reader.next(10_000);
    if (answer.payload[0] !== 0) {
      throw new Error(`login failed: ${JSON.stringify(decodeErr(answer.payload))}`);
    }
    return raw;
  }

  /** Writes bytes as they are. */
  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends one command packet (sequence id 0 unless given). */
  command(payload: Uint8Array, seq = 0): void {
    this.socket.write(packet(seq, payload));
  }

  /** The next packet. */
  next(timeoutMs = 10_000): Promise<Packet> {
    return this.reader.next(timeoutMs);
  }

  /** The next packet, which must be an ERR. */
  async nextError(): Promise<ErrPacket & { seq: number }> {
    const p = await this.next();
    if (p.payload[0] !== 0xff) {
      throw new Error(`expected ERR, got packet 0x${p.payload[0]?.toString(16)}`);
    }
    return { ...decodeErr(p.payload), seq: p.seq };
  }

  /** Resolves when the server closed the connection (fails after `timeoutMs`). */
  closedWithin(timeoutMs = 5_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      this.#closed.finally(() => clearTimeout(timer)),
      new Promise<void>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error("the server did not close the connection")),
          timeoutMs,
        );
      }),
    ]);
  }

  /** Closes the socket. */
  close(): void {
    this.reader.detach();
    this.socket.destroy();
  }
}
