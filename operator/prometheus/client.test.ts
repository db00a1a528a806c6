import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelMatchers, PrometheusClient, PrometheusQueryError, PrometheusUnreachableError } from './client.js';

let server: Server;
let url: string;
let lastQuery = '';
const replies: Record<string, { status: number; body: string; delayMs?: number }> = {
  'vector(1)': {
    status: 200,
    body: JSON.stringify({
      status: 'success',
      data: { resultType: 'vector', result: [{ metric: {}, value: [1, '12.5'] }] },
    }),
  },
  empty: { status: 200, body: JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }) },
  nan: {
    status: 200,
    body: JSON.stringify({
      status: 'success',
      data: { resultType: 'vector', result: [{ metric: {}, value: [1, 'NaN'] }] },
    }),
  },
  scalar: {
    status: 200,
    body: JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1, '3'] } }),
  },
  two: {
    status: 200,
    body: JSON.stringify({
      status: 'success',
      data: {
        resultType: 'vector',
        result: [
          { metric: { pod: 'a' }, value: [1, '1'] },
          { metric: { pod: 'b' }, value: [1, '2'] },
        ],
      },
    }),
  },
  bad: {
    status: 400,
    body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 3' }),
  },
  html: { status: 502, body: '<html>bad gateway</html>' },
  slow: { status: 200, body: '{}', delayMs: 1500 },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      lastQuery = new URLSearchParams(body).get('query') ?? '';
      const r = replies[lastQuery] ?? replies.empty!;
      setTimeout(() => {
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(r.body);
      }, r.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('PrometheusClient.query', () => {
  it.each([
    ['vector(1)', 12.5, 1],
    ['empty', undefined, 0],
    ['nan', undefined, 1],
    ['scalar', 3, 0],
    ['two', undefined, 2],
  ])('%s → value %s with %i samples', async (q, value, n) => {
    const r = await new PrometheusClient({ url }).query(q);
    expect(r.value).toBe(value);
    expect(r.samples).toHaveLength(n);
  });

  it('types a refused query as PrometheusQueryError with the status and message', async () => {
    const err = await new PrometheusClient({ url }).query('bad').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheusQueryError);
    expect(err).toMatchObject({ status: 400, reason: 'PrometheusQueryFailed' });
    expect((err as Error).message).toMatch(/bad_data.*parse error/);
    await expect(new PrometheusClient({ url }).query('html')).rejects.toBeInstanceOf(PrometheusQueryError);
  });

  it('types connection refused and timeouts as PrometheusUnreachableError', async () => {
    await expect(new PrometheusClient({ url: 'http://127.0.0.1:9' }).query('vector(1)')).rejects.toBeInstanceOf(
      PrometheusUnreachableError,
    );
    const err = await new PrometheusClient({ url, timeoutMs: 200 }).query('slow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheusUnreachableError);
    expect((err as Error).message).toMatch(/within 200 ms/);
  });
});

describe('labelMatchers', () => {
  it('escapes values', () => {
    expect(labelMatchers({ namespace: 'a', deployment: 'x"y\\z' })).toBe('{namespace="a",deployment="x\\"y\\\\z"}');
  });
});
