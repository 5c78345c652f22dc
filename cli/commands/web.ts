/**
 * `kmodkit web [--port N]`: serve the static page (dist/web/index.html, built
 * by `npm run build:web`) on 127.0.0.1. The page needs no server at all (it
 * also works opened as a file); this is for browsers or setups that prefer
 * http://. Only the page itself is served; nothing is read from the client.
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = `Usage: kmodkit web [--port N]

Serve kmodkit's module page on http://127.0.0.1:N/ (default port 8423; 0 picks a free one).
Drop .ko/.ko.gz/.ko.xz/.ko.zst files (and a target's Module.symvers, .config, certificates)
on it: everything is decoded in the browser, nothing is uploaded.
`;

/** Where the built page lives, beside dist/cli in the package. */
export const PAGE_URL = new URL('../../web/index.html', import.meta.url);

export async function runWeb(args: readonly string[]): Promise<number> {
  let port = 8423;
  try {
    const { values } = parseArgs({ args: [...args], options: { port: { type: 'string', short: 'p' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (values.port !== undefined) {
      port = Number(values.port);
      if (!/^\d+$/.test(values.port) || port > 65535) throw new Error(`invalid port '${values.port}'`);
    }
  } catch (e) {
    process.stderr.write(`kmodkit web: ${(e as Error).message}\n${USAGE}`);
    return 1;
  }
  let page: Buffer;
  try {
    page = readFileSync(PAGE_URL);
  } catch {
    process.stderr.write(`kmodkit web: the page is not built (${PAGE_URL.pathname} is missing): run \`npm run build:web\`\n`);
    return 1;
  }
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if ((req.method === 'GET' || req.method === 'HEAD') && (path === '/' || path === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': page.length, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : page);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
    }
  });
  return new Promise((resolve) => {
    server.once('error', (e) => {
      process.stderr.write(`kmodkit web: cannot listen on 127.0.0.1:${port}: ${(e as Error).message}\n`);
      resolve(1);
    });
    server.listen(port, '127.0.0.1', () => {
      const addr = server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      process.stdout.write(`kmodkit web: serving on http://127.0.0.1:${actual}/ (Ctrl-C to stop)\n`);
    });
    const stop = () => server.close(() => resolve(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
