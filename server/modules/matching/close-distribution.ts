/**
 * Close-time sharing of a grant's budget: pro-rata stretch pools and quadratic funding (QF).
 * Pure integer arithmetic: weights are BigInt, amounts are integer fen that sum exactly.
 */

/** Largest-remainder split of `total` fen by BigInt weights (ties to the earlier key). */
export function allocateByWeight<K>(total: number, weights: Map<K, bigint>): Map<K, number> {
  const entries = [...weights.entries()].filter(([, w]) => w > 0n);
  const sum = entries.reduce((s, [, w]) => s + w, 0n);
  const out = new Map<K, number>();
  if (sum === 0n || total <= 0) return out;
  const big = BigInt(total);
  const parts = entries.map(([k, w]) => ({ k, q: (big * w) / sum, r: (big * w) % sum }));
  let left = big - parts.reduce((s, p) => s + p.q, 0n);
  const byRemainder = [...parts.keys()].sort((a, b) => (parts[a].r === parts[b].r ? a - b : parts[a].r > parts[b].r ? -1 : 1));
  for (let i = 0; left > 0n; i++, left--) parts[byRemainder[i % parts.length]].q += 1n;
  for (const p of parts) if (p.q > 0n) out.set(p.k, Number(p.q));
  return out;
}

/**
 * Splits `total` by weight with a per-key cap, giving what a capped key cannot take to the
 * others (water-filling). Returns the amounts; `total − Σ amounts` is what nobody could take.
 */
export function allocateWithCap<K>(total: number, weights: Map<K, bigint>, cap?: number): Map<K, number> {
  const result = new Map<K, number>();
  let open = new Map([...weights].filter(([, w]) => w > 0n));
  let left = total;
  while (left > 0 && open.size > 0) {
    const round = allocateByWeight(left, open);
    const over = [...round].filter(([, amount]) => cap !== undefined && amount > cap);
    if (over.length === 0) {
      for (const [k, amount] of round) result.set(k, (result.get(k) ?? 0) + amount);
      break;
    }
    for (const [k] of over) {
      result.set(k, cap!);
      left -= cap!;
    }
    open = new Map([...open].filter(([k]) => !over.some(([o]) => o === k)));
  }
  return result;
}

/** Integer square root of a non-negative BigInt (Newton's method). */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError('negative');
  if (n < 2n) return n;
  let x = n;
  let y = (x + 1n) >> 1n;
  while (y < x) {
    x = y;
    y = (x + n / x) >> 1n;
  }
  return x;
}

/** Scale so √(fen) keeps six decimal digits as an integer. */
const SCALE = 1_000_000_000_000n;

/**
 * QF weight of each project: (Σᵢ √cᵢ)² − Σᵢ cᵢ over its donors' total contributions cᵢ.
 * A project with many small donors outweighs one with a single large donor of the same sum.
 * @example quadraticWeights(new Map([['a', [100, 100, 100, 100]], ['b', [400]]])) → a: 1200·10¹², b: 0
 */
export function quadraticWeights<K>(contributions: Map<K, number[]>): Map<K, bigint> {
  const out = new Map<K, bigint>();
  for (const [k, cs] of contributions) {
    let roots = 0n;
    let sum = 0n;
    for (const c of cs) {
      roots += isqrt(BigInt(c) * SCALE);
      sum += BigInt(c) * SCALE;
    }
    const w = roots * roots - sum;
    out.set(k, w > 0n ? w : 0n);
  }
  return out;
}
