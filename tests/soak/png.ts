/**
 * A minimal PNG writer and line-chart painter for the soak report, on
 * node:zlib's deflate (no drawing library is worth a dependency for two
 * line charts): an RGB canvas, lines and rectangles, encoded as an 8-bit
 * truecolor PNG with CRC-checked chunks.
 *
 * @module
 */

import { deflateSync } from "node:zlib";
import { concatBytes } from "../../shared/bytes.ts";

/** An RGB colour. */
export type Rgb = readonly [number, number, number];

/** A canvas of `width` × `height` RGB pixels, white to start. */
export class Canvas {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  readonly #px: Uint8Array;

  /** A white canvas. */
  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    this.#px = new Uint8Array(width * height * 3).fill(255);
  }

  /** Sets one pixel (ignored outside the canvas). */
  set(x: number, y: number, c: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    this.#px[i] = c[0];
    this.#px[i + 1] = c[1];
    this.#px[i + 2] = c[2];
  }

  /** Fills a rectangle. */
  rect(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.set(x + i, y + j, c);
  }

  /** A line `thick` pixels wide (DDA). */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thick = 1): void {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      this.rect(x - Math.floor(thick / 2), y - Math.floor(thick / 2), thick, thick, c);
    }
  }

  /** Writes `text` with the built-in 3×5 font at `scale`× size (unknown characters are blank). */
  text(x: number, y: number, text: string, c: Rgb, scale = 2): void {
    for (const ch of text) {
      const rows = FONT[ch] ?? FONT[" "];
      rows.forEach((row, j) => {
        for (let i = 0; i < 3; i++) {
          if (row[i] === "#") this.rect(x + i * scale, y + j * scale, scale, scale, c);
        }
      });
      x += 4 * scale;
    }
  }

  /** The canvas as a PNG file. */
  png(): Uint8Array {
    const raw = new Uint8Array((this.width * 3 + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (this.width * 3 + 1)] = 0; // filter: none
      raw.set(
        this.#px.subarray(y * this.width * 3, (y + 1) * this.width * 3),
        y * (this.width * 3 + 1) + 1,
      );
    }
    const ihdr = new Uint8Array(13);
    const v = new DataView(ihdr.buffer);
    v.setUint32(0, this.width);
    v.setUint32(4, this.height);
    ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolor, deflate, no filter, no interlace
    return concatBytes([
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk("IHDR", ihdr),
      chunk("IDAT", new Uint8Array(deflateSync(raw))),
      chunk("IEND", new Uint8Array(0)),
    ]);
  }
}

/** A 3×5 pixel font: digits and the letters the soak chart labels use. */
const FONT: Record<string, string[]> = {
  " ": ["...", "...", "...", "...", "..."],
  "0": ["###", "#.#", "#.#", "#.#", "###"],
  "1": [".#.", "##.", ".#.", ".#.", "###"],
  "2": ["###", "..#", "###", "#..", "###"],
  "3": ["###", "..#", "###", "..#", "###"],
  "4": ["#.#", "#.#", "###", "..#", "..#"],
  "5": ["###", "#..", "###", "..#", "###"],
  "6": ["###", "#..", "###", "#.#", "###"],
  "7": ["###", "..#", "..#", "..#", "..#"],
  "8": ["###", "#.#", "###", "#.#", "###"],
  "9": ["###", "#.#", "###", "..#", "###"],
  ".": ["...", "...", "...", "...", ".#."],
  "-": ["...", "...", "###", "...", "..."],
  "/": ["..#", "..#", ".#.", "#..", "#.."],
  "B": ["##.", "#.#", "##.", "#.#", "##."],
  "I": ["###", ".#.", ".#.", ".#.", "###"],
  "M": ["#.#", "###", "###", "#.#", "#.#"],
  "P": ["###", "#.#", "###", "#..", "#.."],
  "R": ["##.", "#.#", "##.", "#.#", "#.#"],
  "S": ["###", "#..", "###", "..#", "###"],
  "T": ["###", ".#.", ".#.", ".#.", ".#."],
  "X": ["#.#", "#.#", ".#.", "#.#", "#.#"],
  "Y": ["#.#", "#.#", ".#.", ".#.", ".#."],
  "C": ["###", "#..", "#..", "#..", "###"],
  "E": ["###", "#..", "##.", "#..", "###"],
  "H": ["#.#", "#.#", "###", "#.#", "#.#"],
  "L": ["#..", "#..", "#..", "#..", "###"],
  "O": ["###", "#.#", "#.#", "#.#", "###"],
  "N": ["##.", "#.#", "#.#", "#.#", "#.#"],
  "A": [".#.", "#.#", "###", "#.#", "#.#"],
  "U": ["#.#", "#.#", "#.#", "#.#", "###"],
  "G": ["###", "#..", "#.#", "#.#", "###"],
  "D": ["##.", "#.#", "#.#", "#.#", "##."],
  "F": ["###", "#..", "##.", "#..", "#.."],
  "K": ["#.#", "#.#", "##.", "#.#", "#.#"],
  "V": ["#.#", "#.#", "#.#", "#.#", ".#."],
  "W": ["#.#", "#.#", "###", "###", "#.#"],
  "=": ["...", "###", "...", "###", "..."],
  ":": ["...", ".#.", "...", ".#.", "..."],
  ",": ["...", "...", "...", ".#.", "#.."],
};

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 as PNG (and zlib) define it. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  const typed = out.subarray(4, 8 + data.length);
  typed.set(new TextEncoder().encode(type), 0);
  typed.set(data, 4);
  v.setUint32(8 + data.length, crc32(typed));
  return out;
}

/** One panel of {@linkcode lineCharts}. */
export interface Panel {
  /** Title drawn above it (upper case, from the built-in font). */
  title: string;
  /** Its lines. */
  series: Series[];
}

/** One line of a chart. */
export interface Series {
  /** Colour. */
  color: Rgb;
  /** Points as [x, y]. */
  points: [number, number][];
}

/**
 * Paints line charts stacked vertically, each with its title, its own y range
 * (from 0 to the highest point plus 10 %, the top value written at the
 * left), grey horizontal grid lines at every quarter and vertical ones, with
 * their x value written below, at every `xGrid` units of x.
 */
export function lineCharts(
  panels: Panel[],
  xGrid: number,
  width = 900,
  panelHeight = 260,
): Canvas {
  const pad = 60;
  const canvas = new Canvas(width, panels.length * (panelHeight + pad) + pad);
  const xs = panels.flatMap((p) => p.series).flatMap((s) => s.points.map((p) => p[0]));
  const xMax = Math.max(1, ...xs);
  panels.forEach(({ title, series }, n) => {
    const top = pad + n * (panelHeight + pad);
    canvas.text(pad, top - 20, title, [0, 0, 0]);
    const ys = series.flatMap((s) => s.points.map((p) => p[1]));
    const yMax = Math.max(1e-9, ...ys) * 1.1;
    const px = (x: number) => pad + (x / xMax) * (width - 2 * pad);
    const py = (y: number) => top + panelHeight - (y / yMax) * panelHeight;
    for (let q = 0; q <= 4; q++) {
      canvas.line(pad, top + (q * panelHeight) / 4, width - pad, top + (q * panelHeight) / 4, [
        220,
        220,
        220,
      ]);
    }
    for (let x = 0; x <= xMax; x += xGrid) {
      canvas.line(px(x), top, px(x), top + panelHeight, [235, 235, 235]);
    }
    canvas.text(4, top, yMax.toFixed(yMax < 10 ? 1 : 0), [0, 0, 0]);
    canvas.text(4, top + panelHeight - 10, "0", [0, 0, 0]);
    for (let x = 0; x <= xMax; x += xGrid) {
      canvas.text(px(x) - 6, top + panelHeight + 6, `${x}`, [90, 90, 90]);
    }
    canvas.line(pad, top, pad, top + panelHeight, [0, 0, 0]);
    canvas.line(pad, top + panelHeight, width - pad, top + panelHeight, [0, 0, 0]);
    for (const s of series) {
      for (let i = 1; i < s.points.length; i++) {
        const [a, b] = [s.points[i - 1], s.points[i]];
        canvas.line(px(a[0]), py(a[1]), px(b[0]), py(b[1]), s.color, 2);
      }
    }
  });
  return canvas;
}
