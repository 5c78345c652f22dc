/**
 * `kmodkit sign [-dpk] [--resign] HASH KEY CERT MODULE [DEST]`: the kernel's
 * scripts/sign-file, same arguments and same output bytes (RSA), plus
 * compressed modules (decompressed, signed, recompressed in their format)
 * and a refusal to sign a signed module twice.
 */
import { signModuleFile } from '../../lib/io/prepare-files.js';
import { scanArgs } from '../getopt.js';
import { HELP_ROW, helpText, optSpec, VERSION_ROW, type CommandHelp } from '../help.js';
import { kmodkitVersionText } from '../version.js';
import { Output } from '../format/output.js';
import { errorLine } from '../each-module.js';

const PROG = 'kmodkit sign';
export const SIGN_HELP: CommandHelp = {
  usage: ['[-dpk] [--resign] HASH KEY CERT MODULE [DEST]'],
  summary: `Append a module signature as the kernel's scripts/sign-file does: PKCS#7
SignedData (issuer and serial number, no attributes), struct module_signature
and "~Module signature appended~". Byte-identical to sign-file for RSA keys.
HASH is sha256, sha384, sha512, …; KEY a PEM private key (RSA or ECDSA); CERT
its X.509 certificate, PEM or DER. Without DEST the module is replaced.
A compressed module (.gz/.xz/.zst) is decompressed, signed and recompressed.`,
  options: [
    { long: 'detached', short: 'd', describe: 'Write only the signature, to MODULE.p7s' },
    { long: 'keep-signature', short: 'p', describe: 'Also write the signature to MODULE.p7s' },
    { long: 'key-id', short: 'k', describe: 'Identify the signer by subject key identifier (sign-file -k)' },
    { long: 'resign', short: 'r', describe: 'Replace an existing signature (else: refused)' },
    HELP_ROW,
    VERSION_ROW,
  ],
  exits: [[0, 'signed'], [1, 'not signed (unreadable key, certificate or module; already signed)'], [2, 'usage error']],
  example: 'kmodkit sign sha256 signing_key.pem signing_key.x509 hello.ko',
};
const SPEC = optSpec(SIGN_HELP);
export const signUsage = helpText(PROG, SIGN_HELP);

export async function runSign(args: readonly string[], out = new Output()): Promise<number> {
  const scanned = scanArgs(args, SPEC, PROG);
  if (scanned.error) {
    out.error(scanned.error);
    return 2;
  }
  const flags = new Set(scanned.opts.map((o) => o.name));
  if (flags.has('help') || flags.has('version')) {
    out.text(flags.has('help') ? signUsage : kmodkitVersionText());
    out.flush();
    return 0;
  }
  const p = scanned.positionals;
  if (p.length < 4 || p.length > 5) {
    out.error(`${PROG}: expected HASH KEY CERT MODULE [DEST]\n${signUsage}`);
    return 2;
  }
  try {
    await signModuleFile({
      hash: p[0], keyPath: p[1], certPath: p[2], modulePath: p[3], destPath: p[4],
      detached: flags.has('detached'), keepSignature: flags.has('keep-signature'), resign: flags.has('resign'), useKeyId: flags.has('key-id'),
    });
  } catch (e) {
    out.error(errorLine((e as { file?: string }).file ?? p[3], e));
    return 1;
  }
  out.flush();
  return 0;
}
