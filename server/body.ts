/**
 * Request-body handling for the POST endpoints, in the order a client's mistakes should be reported:
 * content type (415), size (413), UTF-8 (400), JSON syntax (400). Then zod validation happens in the route.
 * body-parser's json() is not used because it decodes invalid UTF-8 into U+FFFD silently and its syntax
 * errors quote the body; here invalid UTF-8 is refused and no error message contains body bytes.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { HttpProblem } from './problem.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** 415 unless the content type is JSON (`application/json` or `application/*+json`) in UTF-8. */
export function requireJsonContentType(req: Request, _res: Response, next: NextFunction): void {
  const header = req.headers['content-type'];
  if (!header) {
    next(new HttpProblem('unsupportedMediaType', 'Content-Type must be application/json'));
    return;
  }
  const [type = '', ...params] = header.split(';').map((s) => s.trim());
  if (!JSON_TYPE.test(type)) {
    next(new HttpProblem('unsupportedMediaType', 'Content-Type must be application/json'));
    return;
  }
  for (const p of params) {
    const [k, v] = p.split('=').map((s) => s.trim().toLowerCase().replace(/^"|"$/g, ''));
    if (k === 'charset' && v !== 'utf-8' && v !== 'utf8') {
      next(new HttpProblem('unsupportedMediaType', 'the only supported charset is utf-8'));
      return;
    }
  }
  next();
}

/** Reads the raw body up to `limitBytes` (413 beyond), then decodes and parses it into `req.body`. */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit: limitBytes, inflate: true });
  const parse: RequestHandler = (req, _res, next) => {
    const buf: unknown = req.body;
    if (!Buffer.isBuffer(buf) || buf.length === 0) {
      next(new HttpProblem('invalidJson', 'the request body is empty; send a JSON object'));
      return;
    }
    let text: string;
    try {
      text = decoder.decode(buf);
    } catch {
      next(new HttpProblem('invalidEncoding', 'the request body is not valid UTF-8'));
      return;
    }
    try {
      req.body = JSON.parse(text) as unknown;
    } catch {
      // The engine's SyntaxError quotes the body; say where instead of what.
      next(new HttpProblem('invalidJson', 'the request body is not valid JSON'));
      return;
    }
    next();
  };
  return [raw, parse];
}

/**
 * Map errors from body-parser (and the router) to problems. Returns undefined for errors that are not
 * client errors, which become a generic 500.
 */
export function problemFromHttpError(err: unknown, limitBytes: number): HttpProblem | undefined {
  if (err instanceof HttpProblem) return err;
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { type?: unknown; status?: unknown; statusCode?: unknown };
  switch (e.type) {
    case 'entity.too.large':
      return new HttpProblem('tooLarge', `the request body exceeds the limit of ${limitBytes} bytes`);
    case 'encoding.unsupported':
      return new HttpProblem('unsupportedMediaType', 'unsupported Content-Encoding; use identity, gzip, deflate or br');
    case 'charset.unsupported':
      return new HttpProblem('unsupportedMediaType', 'the only supported charset is utf-8');
    case 'request.aborted':
      return new HttpProblem('invalidRequest', 'the client aborted the request');
    case 'request.size.invalid':
      return new HttpProblem('invalidRequest', 'the request body length does not match Content-Length');
    default:
      break;
  }
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status === 413) return new HttpProblem('tooLarge', `the request body exceeds the limit of ${limitBytes} bytes`);
  if (status === 415) return new HttpProblem('unsupportedMediaType', 'unsupported request encoding');
  if (status !== undefined && status >= 400 && status < 500) return new HttpProblem('invalidRequest', 'the request could not be read');
  return undefined;
}
