/**
 * `kmodkit web [--port N]`: serve the static page (dist/web/index.html, built
 * by `npm run build:web`) on 127.0.0.1. The page needs no server at all (it
 * also works opened as a file); this is for browsers or setups that prefer
 * http://. Only the page itself is served; nothing is read from the client.
 *
 * A request is answered only when its Host is this server's own name
 * (127.0.0.1, localhost or [::1] with the bound port): a page of another
 * site that points a DNS name at 127.0.0.1 (DNS rebinding) gets 421. The
 * page goes out with its Content-Security-Policy as a header too, plus
 * frame-ancestors 'none' (no other page may frame it), nosniff, no
 * referrer, and same-origin opener/resource policies.
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { scanArgs } from '../getopt.js';
import { HELP_ROW, helpText, optSpec, VERSION_ROW, type CommandHelp } from '../help.js';
import { kmodkitVersionText } from '../version.js';

export const WEB_HELP: CommandHelp = {
  usage: ['[--port N]'],
  summary: `Serve kmodkit's module page on http://127.0.0.1:N/ (the page also works opened
as a file). Drop .ko/.ko.gz/.ko.xz/.ko.zst files (and a target's Module.symvers,
.config, certificates) on it: everything is decoded in the browser, nothing is uploaded.`,
  options: [
    { long: 'port', short: 'p', arg: 'N', describe: 'Listen on port N (default 8423; 0 picks a free one)' },
    HELP_ROW,
    VERSION_ROW,
  ],
  exits: [[0, 'stopped by SIGINT/SIGTERM'], [1, 'the page is not built, or cannot listen'], [2, 'usage error']],
  example: 'kmodkit web --port 0',
};
const PROG = 'kmodkit web';

/** Where the built page lives, beside dist/cli in the package. */
export const PAGE_URL = new URL('../../web/index.html', import.meta.url);

/** Sent with every answer: never framed, never sniffed, no referrer, no cross-origin use. */
const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
} as const;

/** The policy the page carries in its <meta> (web/build.mjs), sent as a header as well; a fixed strict one if absent. */
export function pageCsp(html: string): string {
  const m = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/i.exec(html);
  return m ? m[1] : "default-src 'none'";
}

/**
 * Whether a Host header names this server: 127.0.0.1, localhost or [::1]
 * with the bound port (the port may be left out only when it is 80).
 */
export function hostAllowed(host: string | undefined, port: number): boolean {
  if (!host) return false;
  const m = /^(127\.0\.0\.1|localhost|\[::1\])(?::(\d{1,5}))?$/i.exec(host);
  if (!m) return false;
  return m[2] === undefined ? port === 80 : Number(m[2]) === port;
}

export async function runWeb(args: readonly string[]): Promise<number> {
  let port = 8423;
  const usage = helpText(PROG, WEB_HELP);
  const scanned = scanArgs(args, optSpec(WEB_HELP), PROG);
  const fail = (msg: string) => {
    process.stderr.write(`${msg}\n${usage}`);
    return 2;
  };
  if (scanned.error) return fail(scanned.error);
  if (scanned.opts.some((o) => o.name === 'help' || o.name === 'version')) {
    process.stdout.write(scanned.opts.some((o) => o.name === 'help') ? usage : kmodkitVersionText());
    return 0;
  }
  if (scanned.positionals.length) return fail(`${PROG}: unexpected argument '${scanned.positionals[0]}'`);
  const given = scanned.opts.filter((o) => o.name === 'port').pop()?.value;
  if (given !== undefined) {
    port = Number(given);
    if (!/^\d+$/.test(given) || port > 65535) return fail(`${PROG}: invalid port '${given}'`);
  }
  let page: Buffer;
  try {
    page = readFileSync(PAGE_URL);
  } catch {
    process.stderr.write(`kmodkit web: the page is not built (${PAGE_URL.pathname} is missing): run \`npm run build:web\`\n`);
    return 1;
  }
  const csp = pageCsp(page.toString('utf8'));
  let boundPort = port;
  const server = createServer((req, res) => {
    if (!hostAllowed(req.headers.host, boundPort)) {
      res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8', ...COMMON_HEADERS });
      res.end('misdirected request: this server answers only to 127.0.0.1, localhost or [::1] with its port\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if ((req.method === 'GET' || req.method === 'HEAD') && (path === '/' || path === '/index.html')) {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8', 'content-length': page.length, 'cache-control': 'no-store',
        'content-security-policy': `${csp}; frame-ancestors 'none'`, ...COMMON_HEADERS,
      });
      res.end(req.method === 'HEAD' ? undefined : page);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...COMMON_HEADERS });
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
      boundPort = actual;
      process.stdout.write(`kmodkit web: serving on http://127.0.0.1:${actual}/ (Ctrl-C to stop)\n`);
    });
    const stop = () => server.close(() => resolve(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
