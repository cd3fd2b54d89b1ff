/**
 * Seeded PRNG (mulberry32). Every piece of simulated data is drawn from one of
 * these, never from Math.random(), so the same seed gives the same world.
 */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Float in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [min, max] inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from empty list');
    return items[Math.floor(this.next() * items.length)];
  }
  /** Pick a key by relative weight. */
  weighted<K extends string>(weights: Partial<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((a, [, w]) => a + (w > 0 ? w : 0), 0);
    let r = this.next() * total;
    for (const [k, w] of entries) {
      if (w <= 0) continue;
      if (r < w) return k;
      r -= w;
    }
    return entries[entries.length - 1][0];
  }
  hex(len: number): string {
    let out = '';
    while (out.length < len) out += this.int(0, 15).toString(16);
    return out;
  }
  /** Lowercase base36 string, the look of DX ids. */
  base36(len: number): string {
    let out = '';
    while (out.length < len) out += this.int(0, 35).toString(36);
    return out;
  }
  alnum(len: number): string {
    const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    let out = '';
    while (out.length < len) out += abc[this.int(0, abc.length - 1)];
    return out;
  }
  /** RFC 4122 version 4 UUID (version nibble 4, variant 8-b). */
  uuid(): string {
    const h = this.hex(32).split('');
    h[12] = '4';
    h[16] = '89ab'[this.int(0, 3)];
    const s = h.join('');
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }
  /** Exponentially distributed delay with the given mean (for arrivals). */
  exp(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }
}

/** Derive an independent 32-bit seed from a seed and a stream label/index. */
export function deriveSeed(seed: number, ...parts: (number | string)[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const p of parts) {
    const s = String(p);
    for (let i = 0; i < s.length; i++) {
      h = Math.imul(h ^ s.charCodeAt(i), 0x85ebca6b) >>> 0;
      h = (h ^ (h >>> 13)) >>> 0;
    }
    h = Math.imul(h ^ 0x2f, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h >>> 0;
}
