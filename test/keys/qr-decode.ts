/**
 * A small QR decoder for tests (lean-qr only encodes). Reads a clean symbol of
 * version 1–6 from its modules: format information (checked against its BCH
 * code and its second copy), unmasking, the zig-zag codeword order, block
 * de-interleaving, a Reed–Solomon check of every block, then numeric /
 * alphanumeric / byte / ECI segments. No error *correction*: the test feeds it
 * perfect symbols, so any wrong module is a failure, which is what we want.
 */
export interface Modules {
  readonly size: number;
  get(x: number, y: number): boolean;
}

// Indexed [ecl][version], ecl in format-bit order: M=0, L=1, H=2, Q=3.
const ECC_PER_BLOCK: Record<number, number[]> = {
  1: [-1, 7, 10, 15, 20, 26, 18],
  0: [-1, 10, 16, 26, 18, 24, 16],
  3: [-1, 13, 22, 18, 26, 18, 24],
  2: [-1, 17, 28, 22, 16, 22, 28],
};
const NUM_BLOCKS: Record<number, number[]> = {
  1: [-1, 1, 1, 1, 1, 1, 2],
  0: [-1, 1, 1, 1, 2, 2, 4],
  3: [-1, 1, 1, 2, 2, 4, 4],
  2: [-1, 1, 1, 2, 4, 4, 4],
};
export const ECL_NAME = ['M', 'L', 'H', 'Q'] as const;

function maskBit(mask: number, x: number, y: number): boolean {
  switch (mask) {
    case 0: return (x + y) % 2 === 0;
    case 1: return y % 2 === 0;
    case 2: return x % 3 === 0;
    case 3: return (x + y) % 3 === 0;
    case 4: return (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0;
    case 5: return ((x * y) % 2) + ((x * y) % 3) === 0;
    case 6: return (((x * y) % 2) + ((x * y) % 3)) % 2 === 0;
    default: return (((x + y) % 2) + ((x * y) % 3)) % 2 === 0;
  }
}

function functionModules(size: number, version: number): boolean[][] {
  const f = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  const mark = (x: number, y: number) => {
    if (x >= 0 && y >= 0 && x < size && y < size) f[y]![x] = true;
  };
  for (let i = 0; i < size; i++) {
    mark(6, i);
    mark(i, 6);
  }
  for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]] as const) {
    for (let dy = -4; dy <= 4; dy++) for (let dx = -4; dx <= 4; dx++) mark(cx + dx, cy + dy);
  }
  if (version >= 2) {
    const c = size - 7;
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) mark(c + dx, c + dy);
  }
  // Format information, both copies, and the dark module.
  for (let i = 0; i <= 8; i++) {
    mark(8, i);
    mark(i, 8);
  }
  for (let i = 0; i < 8; i++) {
    mark(size - 1 - i, 8);
    mark(8, size - 1 - i);
  }
  return f;
}

function bch(data5: number): number {
  let rem = data5;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  return ((data5 << 10) | rem) ^ 0x5412;
}

function readFormat(m: Modules): { ecl: number; mask: number } {
  const size = m.size;
  const bit = (x: number, y: number) => (m.get(x, y) ? 1 : 0);
  let a = 0;
  let b = 0;
  const aPos: [number, number][] = [];
  for (let i = 0; i <= 5; i++) aPos.push([8, i]);
  aPos.push([8, 7], [8, 8], [7, 8]);
  for (let i = 9; i < 15; i++) aPos.push([14 - i, 8]);
  aPos.forEach(([x, y], i) => (a |= bit(x, y) << i));
  for (let i = 0; i < 8; i++) b |= bit(size - 1 - i, 8) << i;
  for (let i = 8; i < 15; i++) b |= bit(8, size - 15 + i) << i;
  if (a !== b) throw new Error(`format copies differ: ${a.toString(2)} vs ${b.toString(2)}`);
  const data = (a ^ 0x5412) >>> 10;
  if (bch(data) !== a) throw new Error('format information fails its BCH check');
  if (!m.get(8, size - 8)) throw new Error('dark module missing');
  return { ecl: data >>> 3, mask: data & 7 };
}

function gfMul(x: number, y: number): number {
  let z = 0;
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d);
    z ^= ((y >>> i) & 1) * x;
  }
  return z;
}
function rsRemainder(data: number[], degree: number): number[] {
  const divisor = new Array<number>(degree).fill(0);
  divisor[degree - 1] = 1;
  let root = 1;
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < degree; j++) {
      divisor[j] = gfMul(divisor[j]!, root);
      if (j + 1 < degree) divisor[j]! ^= divisor[j + 1]!;
    }
    root = gfMul(root, 2);
  }
  const result = new Array<number>(degree).fill(0);
  for (const b of data) {
    const factor = b ^ result.shift()!;
    result.push(0);
    divisor.forEach((c, i) => (result[i]! ^= gfMul(c, factor)));
  }
  return result;
}

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';

export interface Decoded {
  text: string;
  version: number;
  ecl: (typeof ECL_NAME)[number];
  mask: number;
}

export function decodeQr(m: Modules): Decoded {
  const size = m.size;
  const version = (size - 17) / 4;
  if (!Number.isInteger(version) || version < 1 || version > 6) throw new Error(`unsupported size ${size}`);
  // Finder patterns: the 7×7 rings at three corners.
  for (const [ox, oy] of [[0, 0], [size - 7, 0], [0, size - 7]] as const) {
    for (let y = 0; y < 7; y++) for (let x = 0; x < 7; x++) {
      const ring = Math.max(Math.abs(x - 3), Math.abs(y - 3));
      if (m.get(ox + x, oy + y) !== (ring !== 2)) throw new Error(`finder pattern broken at ${ox + x},${oy + y}`);
    }
  }
  for (let i = 8; i < size - 8; i++) {
    if (m.get(i, 6) !== (i % 2 === 0) || m.get(6, i) !== (i % 2 === 0)) throw new Error(`timing pattern broken at ${i}`);
  }
  const { ecl, mask } = readFormat(m);
  const fn = functionModules(size, version);

  const bits: number[] = [];
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let vert = 0; vert < size; vert++) {
      for (let j = 0; j < 2; j++) {
        const x = right - j;
        const upward = ((right + 1) & 2) === 0;
        const y = upward ? size - 1 - vert : vert;
        if (!fn[y]![x]) bits.push((m.get(x, y) !== maskBit(mask, x, y)) ? 1 : 0);
      }
    }
  }
  const raw = Math.floor(bits.length / 8);
  const codewords: number[] = [];
  for (let i = 0; i < raw; i++) codewords.push(bits.slice(i * 8, i * 8 + 8).reduce((a, b) => (a << 1) | b, 0));

  const eccLen = ECC_PER_BLOCK[ecl]![version]!;
  const numBlocks = NUM_BLOCKS[ecl]![version]!;
  const numShort = numBlocks - (raw % numBlocks);
  const shortLen = Math.floor(raw / numBlocks);
  const blocks: number[][] = Array.from({ length: numBlocks }, () => []);
  let k = 0;
  for (let i = 0; i <= shortLen; i++) {
    for (let j = 0; j < numBlocks; j++) {
      if (i === shortLen - eccLen && j < numShort) continue; // short blocks have no byte here
      blocks[j]!.push(codewords[k++]!);
    }
  }
  if (k !== raw) throw new Error(`interleaving consumed ${k} of ${raw} codewords`);
  const data: number[] = [];
  for (const [j, block] of blocks.entries()) {
    const d = block.slice(0, block.length - eccLen);
    const ecc = block.slice(block.length - eccLen);
    if (rsRemainder(d, eccLen).join() !== ecc.join()) throw new Error(`block ${j} fails its Reed–Solomon check`);
    data.push(...d);
  }

  let pos = 0;
  const total = data.length * 8;
  const read = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, pos++) v = (v << 1) | ((data[pos >>> 3]! >>> (7 - (pos & 7))) & 1);
    return v;
  };
  let text = '';
  let charset = 'iso-8859-1'; // QR's default for byte mode
  while (pos + 4 <= total) {
    const mode = read(4);
    if (mode === 0) break;
    if (mode === 7) {
      const eci = read(8); // one-byte designator form (ECI < 128)
      charset = eci === 26 ? 'utf-8' : eci === 3 ? 'iso-8859-1' : charset;
      continue;
    }
    if (mode === 1) {
      let n = read(10);
      for (; n >= 3; n -= 3) text += read(10).toString().padStart(3, '0');
      if (n === 2) text += read(7).toString().padStart(2, '0');
      if (n === 1) text += read(4).toString();
    } else if (mode === 2) {
      let n = read(9);
      for (; n >= 2; n -= 2) {
        const v = read(11);
        text += ALNUM[Math.floor(v / 45)]! + ALNUM[v % 45]!;
      }
      if (n === 1) text += ALNUM[read(6)]!;
    } else if (mode === 4) {
      const n = read(8);
      const bytes: number[] = [];
      for (let i = 0; i < n; i++) bytes.push(read(8));
      text += new TextDecoder(charset).decode(new Uint8Array(bytes));
    } else {
      throw new Error(`unsupported mode ${mode}`);
    }
  }
  return { text, version, ecl: ECL_NAME[ecl]!, mask };
}
