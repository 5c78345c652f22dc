/**
 * Streaming XXH64 (seed 0) for the zstd content checksum, which is the low
 * 32 bits of XXH64 over a frame's decompressed content (RFC 8878 §3.1.1).
 * fzstd does not verify it; we do.
 *
 * 64-bit values are pairs of unsigned 32-bit halves (hi, lo); no BigInt on
 * the hot path. Products are formed from 16-bit limbs so that every
 * intermediate stays an exact double.
 */

// PRIME64_1..5 as [hi, lo]
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

// scratch result of the 64-bit helpers
let rh = 0;
let rl = 0;

/** High 32 bits of the 64-bit product of two unsigned 32-bit numbers. */
function mulhi(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const mid1 = a1 * b0 + ((a0 * b0) >>> 16); // < 2^32
  const mid2 = a0 * b1 + (mid1 & 0xffff); // < 2^32
  return a1 * b1 + (mid1 >>> 16) + (mid2 >>> 16);
}

/** (ah:al) * (bh:bl) mod 2^64 -> rh:rl */
function mul(ah: number, al: number, bh: number, bl: number): void {
  rl = Math.imul(al, bl) >>> 0;
  rh = (mulhi(al, bl) + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** (ah:al) + (bh:bl) mod 2^64 -> rh:rl */
function add(ah: number, al: number, bh: number, bl: number): void {
  const l = al + bl;
  rl = l >>> 0;
  rh = (ah + bh + (l > 0xffffffff ? 1 : 0)) >>> 0;
}

/** rotate left by r (0 < r < 64) -> rh:rl */
function rotl(h: number, l: number, r: number): void {
  if (r >= 32) {
    const t = h;
    h = l;
    l = t;
    r -= 32;
  }
  if (r === 0) {
    rh = h;
    rl = l;
    return;
  }
  rh = ((h << r) | (l >>> (32 - r))) >>> 0;
  rl = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** xxHash64's tail steps: h = rotl(h ^ k, r) * m + a, with k in (rh, rl) on entry and the result left there. */
function tailStep(hh: number, hl: number, r: number, mH: number, mL: number, aH: number, aL: number): void {
  rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, r);
  mul(rh, rl, mH, mL);
  add(rh, rl, aH, aL);
}

export class XXH64 {
  /** accumulators v1..v4 as hi, lo pairs */
  private readonly v = new Uint32Array(8);
  private total = 0;
  private readonly buf = new Uint8Array(32);
  private bufLen = 0;

  constructor() {
    add(P1H, P1L, P2H, P2L);
    const v = this.v;
    v[0] = rh; v[1] = rl;
    v[2] = P2H; v[3] = P2L;
    // v3 = 0; v4 = -PRIME64_1
    const nl = (~P1L + 1) >>> 0;
    v[7] = nl;
    v[6] = (~P1H + (nl === 0 ? 1 : 0)) >>> 0;
  }

  private stripe(d: Uint8Array, o: number): void {
    for (let k = 0; k < 4; k++, o += 8) {
      const v = this.v;
      let ah = v[2 * k], al = v[2 * k + 1];
      const ll = (d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24)) >>> 0;
      const lh = (d[o + 4] | (d[o + 5] << 8) | (d[o + 6] << 16) | (d[o + 7] << 24)) >>> 0;
      // lane * P2
      let pl = Math.imul(ll, P2L) >>> 0;
      let ph = (mulhi(ll, P2L) + Math.imul(lh, P2L) + Math.imul(ll, P2H)) >>> 0;
      // acc + that
      const sl = al + pl;
      al = sl >>> 0;
      ah = (ah + ph + (sl > 0xffffffff ? 1 : 0)) >>> 0;
      // rotl 31
      const th = ((ah << 31) | (al >>> 1)) >>> 0;
      const tl = ((al << 31) | (ah >>> 1)) >>> 0;
      // * P1
      pl = Math.imul(tl, P1L) >>> 0;
      ph = (mulhi(tl, P1L) + Math.imul(th, P1L) + Math.imul(tl, P1H)) >>> 0;
      v[2 * k] = ph;
      v[2 * k + 1] = pl;
    }
  }

  update(d: Uint8Array): this {
    let i = 0;
    const n = d.length;
    this.total += n;
    if (this.bufLen > 0) {
      const take = Math.min(32 - this.bufLen, n);
      this.buf.set(d.subarray(0, take), this.bufLen);
      this.bufLen += take;
      i = take;
      if (this.bufLen < 32) return this;
      this.stripe(this.buf, 0);
      this.bufLen = 0;
    }
    for (; i + 32 <= n; i += 32) this.stripe(d, i);
    if (i < n) {
      this.buf.set(d.subarray(i), 0);
      this.bufLen = n - i;
    }
    return this;
  }

  /** Finish; returns the hash as [hi, lo] (unsigned 32-bit halves). */
  digest(): [number, number] {
    let hh: number;
    let hl: number;
    if (this.total >= 32) {
      const v = this.v;
      rotl(v[0], v[1], 1);
      let sh = rh, sl = rl;
      rotl(v[2], v[3], 7);
      add(sh, sl, rh, rl); sh = rh; sl = rl;
      rotl(v[4], v[5], 12);
      add(sh, sl, rh, rl); sh = rh; sl = rl;
      rotl(v[6], v[7], 18);
      add(sh, sl, rh, rl); sh = rh; sl = rl;
      for (let k = 0; k < 4; k++) {
        const vh = v[2 * k], vl = v[2 * k + 1];
        // h = (h ^ round(0, v)) * P1 + P4
        mul(vh, vl, P2H, P2L);
        rotl(rh, rl, 31);
        mul(rh, rl, P1H, P1L);
        sh = (sh ^ rh) >>> 0;
        sl = (sl ^ rl) >>> 0;
        mul(sh, sl, P1H, P1L);
        add(rh, rl, P4H, P4L);
        sh = rh; sl = rl;
      }
      hh = sh; hl = sl;
    } else {
      hh = P5H; hl = P5L;
    }
    // h += total length
    const t = this.total;
    add(hh, hl, Math.floor(t / 4294967296) >>> 0, t >>> 0);
    hh = rh; hl = rl;
    const b = this.buf;
    const len = this.bufLen;
    let p = 0;
    for (; p + 8 <= len; p += 8) {
      const ll = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
      const lh = (b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24)) >>> 0;
      mul(lh, ll, P2H, P2L);
      rotl(rh, rl, 31);
      mul(rh, rl, P1H, P1L);
      tailStep(hh, hl, 27, P1H, P1L, P4H, P4L);
      hh = rh; hl = rl;
    }
    if (p + 4 <= len) {
      const k = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
      mul(0, k, P1H, P1L);
      tailStep(hh, hl, 23, P2H, P2L, P3H, P3L);
      hh = rh; hl = rl;
      p += 4;
    }
    for (; p < len; p++) {
      mul(0, b[p], P5H, P5L);
      hh = (hh ^ rh) >>> 0;
      hl = (hl ^ rl) >>> 0;
      rotl(hh, hl, 11);
      mul(rh, rl, P1H, P1L);
      hh = rh; hl = rl;
    }
    // avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32
    hl = (hl ^ (hh >>> 1)) >>> 0;
    mul(hh, hl, P2H, P2L);
    hh = rh; hl = rl;
    hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0;
    hh = (hh ^ (hh >>> 29)) >>> 0;
    mul(hh, hl, P3H, P3L);
    hh = rh; hl = rl;
    hl = (hl ^ hh) >>> 0;
    return [hh, hl];
  }
}
