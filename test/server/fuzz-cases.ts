/**
 * The malformed requests of the fuzz suite (fuzz.test.ts), drawn from a
 * seeded Prng: every one is built to deserve a 4xx — a garbage id, a dot
 * segment, a wrong method, broken JSON, a lying Content-Length, broken
 * framing — so an answer outside 4xx is a finding. Kept out on purpose:
 * deep or huge manifests (the manifest parser's own suite covers them).
 *
 * A case is the bytes (or the pacing) of one connection. `expect`:
 * '4xx' — a 4xx answer; 'cut' — the client drops the connection itself, no
 * answer is due (what counts is what the server leaves behind).
 */
import type { Socket } from 'node:net';
import { Prng } from '../helpers/prng.ts';
import { requestBytes } from './raw-http.ts';
import { manifest, signed, type Identity } from './manifests.ts';

export interface FuzzCase {
  group: string;
  label: string;
  expect: '4xx' | 'cut';
  send: (s: Socket) => void | Promise<void>;
}

/** What the cases may aim at: the server and the user's real objects (never to change them). */
export interface FuzzTarget {
  url: string;
  token: string;
  userId: string;
  /** Another user's id (their objects must stay 404). */
  otherUserId: string;
  snapshotIds: string[];
  blobs: { hex: string; bytes: Buffer }[];
  /** Another user's blob. */
  otherBlobHex: string;
  key: Identity;
  /** Every /v1 route (method, pattern). */
  routes: { method: string; pattern: string }[];
}

const DOTS = ['.', '..', '%2e', '%2E', '%2e%2e', '%2E%2E', '%2E.', '.%2e', '%2e.', '.%2E'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function fuzzCases(seed: number, t: FuzzTarget, counts: Partial<Record<Group, number>> = {}): FuzzCase[] {
  const rng = new Prng(seed);
  const g = new Gen(rng, t);
  const out: FuzzCase[] = [];
  for (const [group, n] of Object.entries({ ...DEFAULT_COUNTS, ...counts }) as [Group, number][]) {
    for (let i = 0; i < n; i++) out.push({ group, ...g[group](i) });
  }
  // interleave the groups (seeded), so slow and fast cases share the server
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

type Group = 'paths' | 'blobIds' | 'ranges' | 'lengths' | 'json' | 'multipart' | 'manifests' | 'framing' | 'provider' | 'slow' | 'cuts';

export const DEFAULT_COUNTS: Record<Group, number> = {
  paths: 700,
  blobIds: 300,
  ranges: 200,
  lengths: 200,
  json: 300,
  multipart: 300,
  manifests: 200,
  framing: 300,
  provider: 300,
  slow: 16,
  cuts: 150,
};

type Made = Omit<FuzzCase, 'group'>;

class Gen {
  constructor(
    private rng: Prng,
    private t: FuzzTarget,
  ) {}

  private auth(): Record<string, string> {
    const r = this.rng;
    if (r.chance(0.9)) return { authorization: `Bearer ${this.t.token}` };
    return r.pick<Record<string, string>>([{}, { authorization: 'Bearer garbage' }, { authorization: `Basic ${this.t.token}` }, { authorization: `Bearer ${this.t.token.slice(0, -4)}AAAA` }]);
  }

  private once(label: string, method: string, target: string, headers: Record<string, string>, body?: string | Buffer): Made {
    const bytes = requestBytes(this.t.url, { method, target, headers, body });
    return { label: `${method} ${target.slice(0, 120)}`, expect: '4xx', send: (s) => void s.write(bytes) };
  }

  /** A path segment that is no literal of any route, no real id, no 64-hex address and not "me". */
  private garbageSegment(): string {
    const r = this.rng;
    return r.pick([
      () => `~${r.string(r.int(0, 30), 'abcdefghijklmnopqrstuvwxyz0123456789-_.~!$&()*+,;=:@')}`,
      () => '%zz',
      () => '%00',
      () => `%${r.string(2, '0123456789abcdefABCDEF')}%ff%fe`,
      () => '%E2%82%AC%F0%9F%92%A9',
      () => '%2f',
      () => '%5c',
      () => 'a%2e%2e',
      () => '..a',
      () => '...',
      () => '.hidden',
      () => `~${'A'.repeat(r.int(1000, 6000))}`,
      () => r.string(63, '0123456789abcdef'),
      () => r.string(64, '0123456789ABCDEF'),
      () => `sha256:${r.string(64, '0123456789abcdef')}`,
    ])();
  }

  private fill(pattern: string, param: (name: string) => string): string[] {
    return pattern
      .split('/')
      .slice(1)
      .map((p) => (p.startsWith(':') ? param(p.slice(1)) : p));
  }

  private realParam(name: string): string {
    const t = this.t;
    if (name === 'hex') return this.rng.pick(t.blobs).hex;
    if (name === 'id') return this.rng.pick(t.snapshotIds);
    if (name === 'owner') return this.rng.pick(['me', t.userId]);
    return `nobody-${this.rng.int(0, 1e6)}`; // :user, a name no account has
  }

  paths(): Made {
    const r = this.rng;
    const route = r.pick(this.t.routes);
    const hasParams = route.pattern.includes(':');
    const segs = this.fill(route.pattern, (n) => this.realParam(n));
    let method = route.method;
    const mutations = ['dot', 'extra', 'typo', 'slashes', 'backslash', 'method', ...(hasParams ? ['param', 'param'] : [])];
    const n = r.int(1, 3);
    for (let k = 0; k < n; k++) {
      const m = r.pick(mutations);
      const i = r.int(1, segs.length - 1);
      if (m === 'dot') segs.splice(r.int(1, segs.length), r.chance(0.5) ? 0 : 1, r.pick(DOTS));
      else if (m === 'extra') segs.push(this.garbageSegment());
      else if (m === 'typo') segs[i] = r.chance(0.5) ? segs[i]!.toUpperCase() + '~' : `${segs[i]}~x`;
      else if (m === 'slashes') segs.splice(i, 0, '');
      else if (m === 'backslash') segs[i] = `${segs[i]}\\..`;
      else if (m === 'param') {
        const params = route.pattern.split('/').slice(1).flatMap((p, j) => (p.startsWith(':') ? [j] : []));
        segs[r.pick(params)] = this.garbageSegment();
      } else {
        const allowed = new Set(this.t.routes.filter((x) => x.pattern === route.pattern).map((x) => x.method));
        if (allowed.has('GET')) allowed.add('HEAD');
        const others = METHODS.filter((x) => !allowed.has(x));
        method = r.pick(others);
      }
    }
    // a mutation that only renamed a param to garbage may leave a route that needs a body: give one
    const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? r.pick(['{}', '[]', '{"user":"nobody-x"}', r.bytes(r.int(0, 200)).toString('latin1')]) : undefined;
    const target = `/${segs.join('/')}${r.chance(0.2) ? '?cascade=true' : ''}`;
    return this.once('paths', method, target, this.auth(), body);
  }

  blobIds(): Made {
    const r = this.rng;
    const bad = r.pick([
      () => this.garbageSegment(),
      () => r.string(64, '0123456789abcdef').toUpperCase(),
      () => r.string(r.pick([1, 32, 63, 65, 128]), '0123456789abcdef'),
      () => `${r.string(62, '0123456789abcdef')}%${r.string(2, '0123456789abcdef')}`,
      () => `${r.string(63, '0123456789abcdef')}g`,
      () => `${r.string(64, '0123456789abcdef')}.tar.zst`,
    ])();
    const where = r.pick([`/v1/me/blobs/${bad}`, `/v1/users/${this.t.userId}/blobs/${bad}`, `/v1/users/me/blobs/${bad}`, `/v1/users/${this.t.otherUserId}/blobs/${this.t.otherBlobHex}`]);
    const method = where.includes('/users/') ? r.pick(['GET', 'HEAD']) : r.pick(['GET', 'HEAD', 'PUT']);
    if (method === 'PUT' && r.chance(0.4)) {
      // a well-formed address whose body does not hash to it; half of them an address already stored
      const hex = r.chance(0.5) ? r.pick(this.t.blobs).hex : r.string(64, '0123456789abcdef');
      return this.once('blobIds', 'PUT', `/v1/me/blobs/${hex}`, this.auth(), r.bytes(r.int(0, 5000)));
    }
    return this.once('blobIds', method, where, this.auth(), method === 'PUT' ? r.bytes(r.int(0, 3000)) : undefined);
  }

  ranges(): Made {
    const r = this.rng;
    const b = r.pick(this.t.blobs);
    const size = b.bytes.length;
    const unsatisfiable = r.pick([`bytes=${size}-`, `bytes=${size + r.int(0, 1e6)}-${size + r.int(1e6, 2e6)}`, `bytes=${r.int(10, size - 1)}-${r.int(0, 9)}`, 'bytes=-0', `bytes=${size}-${size}`]);
    if (r.chance(0.7)) return this.once('ranges', 'GET', `/v1/me/blobs/${b.hex}`, { ...this.auth(), range: unsatisfiable });
    const anyRange = r.pick([unsatisfiable, 'bytes=0-', 'bytes=0-0,5-9', 'items=0-5', `bytes=${'9'.repeat(400)}-`, 'bytes=--5', 'bytes=5', r.bytes(20).toString('latin1').replace(/[\r\n\0]/g, 'x')]);
    const where = r.pick([`/v1/me/blobs/${r.string(64, '0123456789abcdef')}`, `/v1/me/blobs/${this.garbageSegment()}`, `/v1/users/${this.t.otherUserId}/blobs/${this.t.otherBlobHex}`]);
    return this.once('ranges', 'GET', where, { ...this.auth(), range: anyRange });
  }

  lengths(): Made {
    const r = this.rng;
    const b = r.pick(this.t.blobs);
    const target = r.pick([`/v1/me/blobs/${b.hex}`, `/v1/me/blobs/${r.string(64, '0123456789abcdef')}`, '/v1/me/snapshots', '/v1/me/keys', '/v1/me/vault']);
    const method = target === '/v1/me/snapshots' ? 'POST' : 'PUT';
    const body = target.includes('/blobs/') ? b.bytes.subarray(0, r.int(0, b.bytes.length - 1)) : Buffer.from(r.pick(['{"a":', '[1,2', '[snapshot]\nversion = ', 'nul']));
    const kind = r.pick(['short', 'bad', 'bad', 'huge', 'two']);
    let head: Record<string, string>;
    let send: Buffer;
    if (kind === 'short') {
      // declares fewer bytes than it sends: the body is cut short, the rest is a garbage next request
      head = { 'content-length': String(Math.max(0, body.length - r.int(1, 20))) };
      send = requestBytes(this.t.url, { method, target, headers: { ...this.auth(), ...head }, body });
    } else if (kind === 'bad') {
      head = { 'content-length': r.pick(['-1', '1e3', '0x10', '12 34', '+5', '', ' ', '99999999999999999999999', 'NaN', '5;6']) };
      send = requestBytes(this.t.url, { method, target, headers: { ...this.auth(), ...head }, body });
    } else if (kind === 'two') {
      const h = `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${this.t.token}\r\nContent-Length: ${body.length}\r\nContent-Length: ${body.length + 1}\r\n\r\n`;
      send = Buffer.concat([Buffer.from(h), body]);
    } else {
      // more than any limit (blob quota, manifest, keys, vault): refused on the header alone; nothing else sent
      head = { 'content-length': String(r.pick([17 * 1024 * 1024, 5 * 1024 ** 3, 2 ** 52])) };
      send = requestBytes(this.t.url, { method, target, headers: { ...this.auth(), ...head } });
    }
    return { label: `${kind} Content-Length ${method} ${target}`, expect: '4xx', send: (s) => void s.write(send) };
  }

  json(): Made {
    const r = this.rng;
    const garbage = r.pick([
      () => '',
      () => '{',
      () => '[1,2,',
      () => '{"keys": [}',
      () => 'null',
      () => '42',
      () => '"a string"',
      () => 'true',
      () => '[null]',
      () => '[{}]',
      () => JSON.stringify([{ key_id: 'x', ed25519: 'AAAA', x25519: 'AAAA' }]),
      () => JSON.stringify({ keys: [{ key_id: 1, ed25519: [], x25519: {} }] }),
      () => JSON.stringify({ keys: 'all' }),
      () => JSON.stringify(Array.from({ length: 40 }, () => ({}))),
      () => '['.repeat(20000) + ']'.repeat(20000),
      () => '{"a":'.repeat(5000) + '1' + '}'.repeat(5000),
      () => `{"user": ${r.pick(['null', '1', '[]', '{}', '"nobody-zz"', '"' + 'x'.repeat(5000) + '"'])}}`,
      () => '\ufeff{}',
      () => '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}',
      () => r.bytes(r.int(1, 400)).toString('latin1'),
      () => `{"a": "${'\\ud800'}"}`,
    ])();
    const where = r.pick(['keys', 'vault', 'share', 'share']);
    if (where === 'keys') {
      // [] and { keys: [] } are valid (they replace the set): never sent here
      return this.once('json', 'PUT', '/v1/me/keys', { ...this.auth(), 'content-type': 'application/json' }, garbage === '[]' ? '[' : garbage);
    }
    if (where === 'vault') {
      // any JSON object is a valid vault: objects go with an If-Match that cannot match (412)
      const isObject = (() => {
        try {
          const v = JSON.parse(garbage) as unknown;
          return typeof v === 'object' && v !== null && !Array.isArray(v);
        } catch {
          return false;
        }
      })();
      const headers: Record<string, string> = { ...this.auth(), 'content-type': 'application/json' };
      if (isObject || r.chance(0.3)) headers['if-match'] = r.pick(['"nope"', '*', 'W/"x"', '""']);
      if (isObject && headers['if-match'] === '*') headers['if-match'] = '"nope"';
      return this.once('json', 'PUT', '/v1/me/vault', headers, garbage);
    }
    const id = r.chance(0.5) ? r.pick(this.t.snapshotIds) : this.garbageSegment();
    return this.once('json', 'POST', `/v1/snapshots/${id}/share`, { ...this.auth(), 'content-type': 'application/json' }, garbage);
  }

  multipart(): Made {
    const r = this.rng;
    const boundary = r.pick(['b', 'xyz', '----WebKitFormBoundary7MA4YWxkTrZu0gW', 'a"b', ' ', r.string(70, 'abc')]);
    const stored = r.pick(this.t.blobs);
    const part = (name: string | undefined, data: Buffer, extra = '') =>
      Buffer.concat([Buffer.from(`--${boundary}\r\ncontent-disposition: form-data${name === undefined ? '' : `; name="${name}"`}; filename="f"\r\n${extra}\r\n`), data, Buffer.from('\r\n')]);
    const end = Buffer.from(`--${boundary}--\r\n`);
    const manifestText = Buffer.from(r.pick(['[snapshot]\nversion = 1\n', 'not toml at all = = =', '', '[a]\n[a]\n', '\u0000\u0001']));
    const shape = r.pick(['no-manifest', 'bad-manifest', 'no-name', 'truncated-blob', 'no-end', 'huge-headers', 'preamble', 'no-boundary', 'wrong-boundary', 'empty']);
    let body: Buffer;
    switch (shape) {
      case 'no-manifest':
        body = Buffer.concat([part('blob', stored.bytes), part('other', r.bytes(100)), end]);
        break;
      case 'bad-manifest':
        // blobs already stored (nothing new kept) and a manifest that does not parse
        body = Buffer.concat([part('blob', stored.bytes), part('manifest', manifestText), end]);
        break;
      case 'no-name':
        body = Buffer.concat([part(undefined, r.bytes(50)), end]);
        break;
      case 'truncated-blob':
        // the form ends in the middle of a new blob: nothing may be stored
        body = Buffer.concat([part('manifest', manifestText), Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="blob"\r\n\r\n`), r.bytes(r.int(0, 30_000))]);
        break;
      case 'no-end':
        body = Buffer.concat([part('manifest', manifestText)]);
        break;
      case 'huge-headers':
        body = Buffer.concat([Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="manifest"\r\nx-pad: ${'p'.repeat(20_000)}\r\n\r\n`), manifestText, end]);
        break;
      case 'preamble':
        body = Buffer.concat([r.bytes(r.int(70_000, 100_000)), part('manifest', manifestText), end]);
        break;
      default:
        body = Buffer.concat([part('manifest', manifestText), end]);
    }
    const ct = shape === 'no-boundary' ? 'multipart/form-data' : shape === 'wrong-boundary' ? 'multipart/form-data; boundary=other' : `multipart/form-data; boundary="${boundary}"`;
    if (shape === 'empty') body = Buffer.alloc(0);
    return this.once('multipart', 'POST', '/v1/me/snapshots', { ...this.auth(), 'content-type': ct }, body);
  }

  manifests(): Made {
    const r = this.rng;
    const missing = r.string(64, '0123456789abcdef');
    const good = signed(manifest({ blobs: [missing], parent: r.chance(0.3) ? r.pick(this.t.snapshotIds) : undefined }), this.t.key).text;
    let text: string;
    const kind = r.pick(['flip', 'flip', 'missing-blob', 'unsigned', 'garbage', 'foreign-parent']);
    if (kind === 'flip') {
      // one character changed: a semantic change breaks the signature, any other leaves the blob missing
      const chars = [...good];
      for (let k = r.int(1, 3); k > 0; k--) chars[r.int(0, chars.length - 1)] = r.pick(['"', '=', '[', ']', '\n', 'x', '0', '\\', '#', '\u00e9', '.']);
      text = chars.join('');
    } else if (kind === 'missing-blob') text = good;
    else if (kind === 'unsigned') text = good.replace(/\[signature\][\s\S]*$/, '');
    else if (kind === 'foreign-parent') text = signed(manifest({ blobs: [missing], parent: r.string(64, '0123456789abcdef') }), this.t.key).text;
    else text = r.pick(['', '=', '[snapshot', 'a = "unterminated', '[[files.entry]]\nblob = 5', r.bytes(r.int(1, 2000)).toString('latin1')]);
    return this.once('manifests', 'POST', '/v1/me/snapshots', { ...this.auth(), 'content-type': r.pick(['application/toml', 'text/plain', 'application/json']) }, text);
  }

  framing(): Made {
    const r = this.rng;
    const target = `/v1/me/snapshots/${r.string(64, '0123456789abcdef')}`;
    const fixed = [
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef',
      `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      `POST /v1/me/snapshots HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n`,
      `POST /v1/me/snapshots HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;${'e'.repeat(20000)}\r\nhello\r\n0\r\n\r\n`,
      `POST /v1/me/snapshots HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
      `POST /v1/me/snapshots HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
      'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n',
      'GET / HTTP/1.1\nHost: x\n\n',
      `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20000)}\r\n\r\n`,
      `GET / HTTP/1.1\r\n${Array.from({ length: 3000 }, (_, i) => `X-${i}: y\r\n`).join('')}\r\n`,
      'GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nX: \x00\r\n\r\n',
      'GET / HTTP/1.1\r\n\r\n',
      'CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n',
      'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
      'get / HTTP/1.1\r\nHost: x\r\n\r\n',
      'FOO / HTTP/1.1\r\nHost: x\r\n\r\n',
      `DELETE ${target} HTTP/9.9\r\nHost: x\r\n\r\n`,
      `DELETE ${target}\r\n\r\n`,
      `DELETE  ${target}  HTTP/1.1\r\nHost: x\r\n\r\n`,
      `\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03${'\x00'.repeat(40)}`,
      'GET / HTTP/1.1\r\nHost: x\r\nExpect: garbage\r\nConnection: close\r\n\r\n',
    ];
    if (r.chance(0.25)) {
      const raw = r.pick(fixed);
      return { label: `framing ${JSON.stringify(raw.slice(0, 60))}`, expect: '4xx', send: (s) => void s.write(Buffer.from(raw, 'latin1')) };
    }
    // a request that is a 404 whatever survives of it, with 1-4 random bytes changed
    const base = requestBytes(this.t.url, { method: 'DELETE', target, headers: { authorization: `Bearer ${this.t.token}`, 'content-type': 'application/json' }, body: '{}' });
    const bytes = Buffer.from(base);
    for (let k = r.int(1, 4); k > 0; k--) bytes[r.int(0, bytes.length - 1)] = r.pick([0, 10, 13, 32, 58, 34, 127, 255, r.int(0, 255)]);
    return { label: `framing flip ${JSON.stringify(bytes.toString('latin1').slice(0, 60))}`, expect: '4xx', send: (s) => void s.write(bytes) };
  }

  provider(): Made {
    const r = this.rng;
    const cookie = r.pick([undefined, '_session=garbage; _session.sig=bad', '_interaction=x; _interaction_resume=y', `_session=${'a'.repeat(5000)}`]);
    const headers: Record<string, string> = { accept: r.pick(['text/html', 'application/json', '*/*']), ...(cookie ? { cookie } : {}) };
    const form = r.pick([
      '',
      'user_code=',
      'user_code=BCDF-GHJK',
      'xsrf=x&user_code=BCDFGHJK&confirm=yes',
      'xsrf=x&user_code=a&user_code=b',
      'client_id=koder-installer&grant_type=refresh_token&refresh_token=x',
      `client_id=koder-installer&grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=${r.string(20, 'abc')}`,
      'client_id=nope&scope=openid',
      'token=x&client_id=koder-installer',
      'username=&password=',
      '%%%',
      r.bytes(r.int(1, 300)).toString('latin1'),
    ]);
    const [method, target, body] = r.pick<[string, string, string | undefined]>([
      ['POST', '/device', form],
      ['POST', '/token', form],
      // (an unknown scope is ignored, a 200: not sent)
      ['POST', '/device/auth', r.pick(['', 'client_id=nope', 'client_id=koder-installer&resource=http://evil/', 'client_id=koder-installer&client_id=x'])],
      // (revoking an unknown token is a 200 by RFC 7009: no token is named here)
      ['POST', '/token/revocation', form.replace(/(^|&)token=[^&]*/, '')],
      ['POST', '/session/end/confirm', form],
      ['POST', '/interaction/abc/login', form],
      ['POST', `/interaction/${this.garbageSegment()}/confirm`, form],
      ['GET', `/interaction/${this.garbageSegment()}`, undefined],
      ['GET', `/interaction/x/${this.garbageSegment()}/y`, undefined],
      ['GET', `/device/${r.string(21, 'abcdefghijklmnopqrstuvwxyz0123456789_-')}`, undefined],
      ['GET', `/auth?client_id=${r.pick(['koder-installer', 'nope', ''])}&response_type=code&scope=openid`, undefined],
      ['GET', `/${this.garbageSegment()}`, undefined],
      ['GET', '/me', undefined],
      [r.pick(['PUT', 'DELETE', 'PATCH']), r.pick(['/device', '/token', '/jwks', '/.well-known/openid-configuration', '/device/auth', '/interaction/abc']), form],
      ['GET', `/${r.pick(DOTS)}/.well-known/openid-configuration`, undefined],
    ]);
    if (body !== undefined) headers['content-type'] = r.pick(['application/x-www-form-urlencoded', 'application/json', 'multipart/form-data; boundary=x', 'text/plain']);
    return this.once('provider', method, target, headers, body);
  }

  slow(i: number): Made {
    const r = this.rng;
    const b = r.pick(this.t.blobs);
    const put = requestBytes(this.t.url, { method: 'PUT', target: `/v1/me/blobs/${r.string(64, '0123456789abcdef')}`, headers: this.auth(), body: b.bytes });
    const head = put.length - b.bytes.length;
    const kind = ['headers', 'body', 'lie', 'idle'][i % 4]!;
    const send =
      kind === 'headers'
        ? async (s: Socket) => {
            for (let k = 0; k < put.length && !s.destroyed; k += 2) {
              s.write(put.subarray(k, k + 2));
              await sleep(100);
            }
          }
        : kind === 'body'
          ? async (s: Socket) => {
              s.write(put.subarray(0, head));
              for (let k = head; k < put.length && !s.destroyed; k += 20) {
                s.write(put.subarray(k, k + 20));
                await sleep(50);
              }
            }
          : kind === 'lie'
            ? (s: Socket) => void s.write(put.subarray(0, head + r.int(0, 100)))
            : () => {};
    return { label: `slow ${kind}`, expect: '4xx', send };
  }

  cuts(): Made {
    const r = this.rng;
    const fresh = r.bytes(r.int(1000, 40_000));
    const bytes = r.chance(0.5)
      ? requestBytes(this.t.url, { method: 'PUT', target: `/v1/me/blobs/${r.string(64, '0123456789abcdef')}`, headers: this.auth(), body: fresh })
      : requestBytes(this.t.url, {
          method: 'POST',
          target: '/v1/me/snapshots',
          headers: { ...this.auth(), 'content-type': 'multipart/form-data; boundary=c' },
          body: Buffer.concat([Buffer.from('--c\r\ncontent-disposition: form-data; name="blob"\r\n\r\n'), fresh, Buffer.from('\r\n--c--\r\n')]),
        });
    const at = r.int(Math.floor(bytes.length / 3), bytes.length - 10);
    return { label: `cut at ${at}/${bytes.length}`, expect: 'cut', send: (s) => void s.write(bytes.subarray(0, at), () => s.destroy()) };
  }
}
