/**
 * Optional bearer-token authentication for hospital deployments. Tokens are never stored in clear: the
 * mounted file (a Kubernetes Secret) holds one sha256 hex digest per line. A presented token is hashed and
 * compared against every digest with `timingSafeEqual`, without early exit, so timing reveals nothing
 * about which digest (if any) matched. The file is re-read when its mtime changes, so rotating the Secret
 * needs no restart.
 *
 * File format: one digest per line, optionally prefixed `sha256:`; blank lines and `#` comments ignored.
 * Create an entry with: `printf %s "$TOKEN" | sha256sum | cut -d' ' -f1`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export function sha256Hex(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Parse a token-hash file's contents; throws on a malformed line (a typo must not silently lock users out). */
export function parseTokenHashes(contents: string): Buffer[] {
  const out: Buffer[] = [];
  contents.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const hex = line.startsWith('sha256:') ? line.slice('sha256:'.length) : line;
    if (!/^[0-9a-fA-F]{64}$/.test(hex))
      throw new Error(`token file line ${i + 1}: expected a sha256 hex digest (64 hex characters)`);
    out.push(Buffer.from(hex.toLowerCase(), 'hex'));
  });
  return out;
}

/** Extract the token from an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
  return m?.[1];
}

/** Constant-time check of `token` against `hashes`: every digest is compared, whatever the outcome. */
export function tokenMatches(token: string, hashes: readonly Buffer[]): boolean {
  const digest = createHash('sha256').update(token, 'utf8').digest();
  let ok = false;
  for (const h of hashes) {
    // All digests are 32 bytes (parseTokenHashes guarantees it), so timingSafeEqual never throws here.
    if (timingSafeEqual(digest, h)) ok = true;
  }
  return ok;
}

/** Token hashes loaded from a file, reloaded when the file changes (checked at most every `recheckMs`). */
export class TokenFile {
  #hashes: Buffer[];
  #mtimeMs: number;
  #checkedAt = 0;

  constructor(
    readonly path: string,
    private readonly recheckMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    const { hashes, mtimeMs } = TokenFile.#read(path);
    if (hashes.length === 0) throw new Error(`auth token file ${path} contains no token hashes`);
    this.#hashes = hashes;
    this.#mtimeMs = mtimeMs;
    this.#checkedAt = now();
  }

  static #read(path: string): { hashes: Buffer[]; mtimeMs: number } {
    let text: string;
    let mtimeMs: number;
    try {
      mtimeMs = statSync(path).mtimeMs;
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(
        `cannot read auth token file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { cause: err },
      );
    }
    return { hashes: parseTokenHashes(text), mtimeMs };
  }

  /** The current digests. A reload that fails (file mid-rotation, bad line) keeps the previous set. */
  hashes(): readonly Buffer[] {
    const t = this.now();
    if (t - this.#checkedAt >= this.recheckMs) {
      this.#checkedAt = t;
      try {
        const mtimeMs = statSync(this.path).mtimeMs;
        if (mtimeMs !== this.#mtimeMs) {
          const next = TokenFile.#read(this.path);
          if (next.hashes.length > 0) {
            this.#hashes = next.hashes;
            this.#mtimeMs = next.mtimeMs;
          }
        }
      } catch {
        // keep serving with the last good set
      }
    }
    return this.#hashes;
  }

  verify(authorization: string | undefined): boolean {
    const token = bearerToken(authorization);
    return token !== undefined && tokenMatches(token, this.hashes());
  }
}
