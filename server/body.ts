/**
 * Request bodies of the POST endpoints, checked in the order a client's mistakes should be reported:
 * content type (415), size (413), content encoding (415/400), UTF-8 (400), JSON syntax (400); zod
 * validation follows in the route. Written on plain node streams (no body-parser) so the hot path stays
 * cheap, invalid UTF-8 is refused rather than silently replaced by U+FFFD, and no error message ever
 * quotes body bytes (V8's JSON.parse errors do).
 */
import type { IncomingMessage } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { HttpProblem } from './problem.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** 415 unless the content type is JSON (`application/json` or `application/*+json`) in UTF-8. */
export function checkJsonContentType(req: IncomingMessage): void {
  const header = req.headers['content-type'];
  if (!header) throw new HttpProblem('unsupportedMediaType', 'Content-Type must be application/json');
  const [type = '', ...params] = header.split(';').map((s) => s.trim());
  if (!JSON_TYPE.test(type)) throw new HttpProblem('unsupportedMediaType', 'Content-Type must be application/json');
  for (const p of params) {
    const [k, v] = p.split('=').map((s) => s.trim().toLowerCase().replace(/^"|"$/g, ''));
    if (k === 'charset' && v !== 'utf-8' && v !== 'utf8')
      throw new HttpProblem('unsupportedMediaType', 'the only supported charset is utf-8');
  }
}

function tooLarge(limitBytes: number): HttpProblem {
  return new HttpProblem('tooLarge', `the request body exceeds the limit of ${limitBytes} bytes`);
}

/**
 * Read the whole body (decompressing gzip, deflate or br) up to `limitBytes` after decompression.
 * On failure the rest of the body is discarded and the connection marked for closing, so a refused
 * upload never stalls a keep-alive connection.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let stream: Readable;
  let inflater: Transform | undefined;
  switch (encoding) {
    case 'identity':
    case '':
      stream = req;
      break;
    case 'gzip':
    case 'x-gzip':
      stream = req.pipe((inflater = createGunzip()));
      break;
    case 'deflate':
      stream = req.pipe((inflater = createInflate()));
      break;
    case 'br':
      stream = req.pipe((inflater = createBrotliDecompress()));
      break;
    default:
      req.resume();
      return Promise.reject(
        new HttpProblem('unsupportedMediaType', 'unsupported Content-Encoding; use identity, gzip, deflate or br'),
      );
  }
  const declared = Number(req.headers['content-length']);
  if (stream === req && Number.isFinite(declared) && declared > limitBytes) {
    req.resume();
    return Promise.reject(tooLarge(limitBytes));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (problem: HttpProblem) => {
      if (settled) return;
      settled = true;
      if (inflater) {
        req.unpipe(inflater);
        inflater.destroy();
      }
      stream.removeAllListeners('data');
      req.resume();
      reject(problem);
    };
    stream.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limitBytes) fail(tooLarge(limitBytes));
      else chunks.push(chunk);
    });
    stream.once('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    stream.once('error', () =>
      fail(
        new HttpProblem(
          'invalidRequest',
          stream === req ? 'the request body could not be read' : 'the request body could not be decompressed',
        ),
      ),
    );
    req.once('close', () => {
      if (!req.complete) fail(new HttpProblem('invalidRequest', 'the client aborted the request'));
    });
  });
}

/** Content type, body, UTF-8 and JSON syntax: the parsed JSON value, or a 4xx problem. */
export async function readJson(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  try {
    checkJsonContentType(req);
  } catch (err) {
    req.resume();
    throw err;
  }
  const buf = await readBody(req, limitBytes);
  if (buf.length === 0) throw new HttpProblem('invalidJson', 'the request body is empty; send a JSON object');
  let text: string;
  try {
    text = decoder.decode(buf);
  } catch {
    throw new HttpProblem('invalidEncoding', 'the request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // V8's SyntaxError quotes the body; say what is wrong, not where in the text.
    throw new HttpProblem('invalidJson', 'the request body is not valid JSON');
  }
}

/**
 * Map an error to a client problem: HttpProblem as is, and 4xx errors from the router (e.g. a malformed
 * percent-encoding in the path) to a generic 400. Anything else is not the client's fault (undefined).
 */
export function clientProblem(err: unknown): HttpProblem | undefined {
  if (err instanceof HttpProblem) return err;
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: unknown; statusCode?: unknown };
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined && status >= 400 && status < 500)
    return new HttpProblem('invalidRequest', 'the request could not be read');
  return undefined;
}
