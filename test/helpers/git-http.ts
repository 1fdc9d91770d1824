/**
 * A real git smart-HTTP server on 127.0.0.1 for tests: a tiny node http
 * server that runs `git http-backend` as a CGI per request
 * (GIT_PROJECT_ROOT = the folder holding the repos, GIT_HTTP_EXPORT_ALL).
 * `http://127.0.0.1:PORT/NAME.git` then clones like any forge.
 *
 * The server runs in the test's own process: talk to it with async clients
 * only (isomorphic-git, `spawn`). A `spawnSync('git', ['clone', url])` blocks
 * the event loop that would answer it, and hangs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface GitHttpServer {
  /** Base URL, e.g. `http://127.0.0.1:43210` (append `/NAME.git`). */
  url: string;
  /** `METHOD PATH?QUERY` of every request served. */
  requests: string[];
  close(): Promise<void>;
}

function backendPath(): string {
  const r = spawnSync('git', ['--exec-path'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('git --exec-path failed');
  return join(r.stdout.trim(), 'git-http-backend');
}

function serve(projectRoot: string, backend: string, req: IncomingMessage, res: ServerResponse): void {
  const u = new URL(req.url ?? '/', 'http://127.0.0.1');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(u.pathname),
    QUERY_STRING: u.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
    GATEWAY_INTERFACE: 'CGI/1.1',
  };
  if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = String(req.headers['content-length']);
  if (req.headers['content-encoding'] !== undefined) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
  if (req.headers['git-protocol'] !== undefined) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
  const child = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let head: Buffer = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (d: Buffer) => {
    if (headersDone) {
      res.write(d);
      return;
    }
    head = Buffer.concat([head, d]);
    let end = head.indexOf('\r\n\r\n');
    let sepLen = 4;
    if (end === -1) {
      end = head.indexOf('\n\n');
      sepLen = 2;
    }
    if (end === -1) return;
    headersDone = true;
    for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i === -1) continue;
      const k = line.slice(0, i).trim();
      const v = line.slice(i + 1).trim();
      if (k.toLowerCase() === 'status') res.statusCode = Number(v.split(' ')[0]);
      else res.setHeader(k, v);
    }
    const rest = head.subarray(end + sepLen);
    if (rest.length) res.write(rest);
  });
  child.on('close', (code) => {
    if (!headersDone) {
      res.statusCode = 500;
      res.end(`git http-backend exited ${code}: ${stderr}`);
      return;
    }
    res.end();
  });
}

export async function startGitHttp(projectRoot: string): Promise<GitHttpServer> {
  const backend = backendPath();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    serve(projectRoot, backend, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
