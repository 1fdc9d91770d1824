/**
 * A streaming multipart/form-data reader (RFC 7578): yields each part with its
 * field name, file name and a body to read as a stream. Nothing is buffered
 * beyond one chunk plus the boundary length; a part's body not read by the
 * caller is skipped when the next part is asked for.
 */
import { BadRequestError } from '../errors.ts';

export interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  body: AsyncGenerator<Buffer>;
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\b/i.test(contentType)) return undefined;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

class Reader {
  buf: Buffer = Buffer.alloc(0);
  constructor(private it: AsyncIterator<Buffer | string>) {}
  async more(): Promise<boolean> {
    const r = await this.it.next();
    if (r.done) return false;
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    return true;
  }
  async need(n: number): Promise<void> {
    while (this.buf.length < n) if (!(await this.more())) throw truncated();
  }
  async find(needle: Buffer, limit: number): Promise<number> {
    for (;;) {
      const i = this.buf.indexOf(needle);
      if (i >= 0) return i;
      if (this.buf.length > limit) throw new BadRequestError('multipart_invalid', 'multipart headers too long');
      if (!(await this.more())) throw truncated();
    }
  }
}

const truncated = () => new BadRequestError('multipart_invalid', 'multipart body ended early');
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

export async function* readMultipart(source: AsyncIterable<Buffer | string>, boundary: string): AsyncGenerator<Part> {
  const r = new Reader(source[Symbol.asyncIterator]());
  const dash = Buffer.from(`--${boundary}`);
  const delim = Buffer.from(`\r\n--${boundary}`);
  // preamble, then the first boundary line
  const first = await r.find(dash, 64 * 1024);
  r.buf = r.buf.subarray(first + dash.length);
  for (;;) {
    await r.need(2);
    const tail = r.buf.subarray(0, 2).toString('latin1');
    if (tail === '--') return; // closing boundary
    const eol = await r.find(CRLF, 1024);
    r.buf = r.buf.subarray(eol + 2); // transport padding + CRLF after the boundary
    const he = await r.find(HEADER_END, 16 * 1024);
    const headers = parseHeaders(r.buf.subarray(0, he).toString('utf8'));
    r.buf = r.buf.subarray(he + 4);
    const disp = headers.get('content-disposition') ?? '';
    const name = /\bname="([^"]*)"/i.exec(disp)?.[1];
    if (name === undefined) throw new BadRequestError('multipart_invalid', 'a part has no name');
    const filename = /\bfilename="([^"]*)"/i.exec(disp)?.[1];
    const body = partBody(r, delim);
    yield { name, filename, contentType: headers.get('content-type'), body };
    for await (const _ of body) {
      // skip what the caller did not read
    }
  }
}

async function* partBody(r: Reader, delim: Buffer): AsyncGenerator<Buffer> {
  for (;;) {
    const i = r.buf.indexOf(delim);
    if (i >= 0) {
      if (i > 0) yield r.buf.subarray(0, i);
      r.buf = r.buf.subarray(i + delim.length);
      return;
    }
    const keep = delim.length - 1;
    if (r.buf.length > keep) {
      const out = r.buf.subarray(0, r.buf.length - keep);
      r.buf = r.buf.subarray(r.buf.length - keep);
      yield out;
    }
    if (!(await r.more())) throw truncated();
  }
}

function parseHeaders(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return m;
}
