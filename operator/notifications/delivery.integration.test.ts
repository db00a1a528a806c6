/**
 * Delivery against a real HTTP receiver on loopback: order kept across retries, back-off on 5xx and
 * refused connections, no retry on a 4xx that will not change, the bearer token sent, a bounded queue.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OrderedSender } from './delivery.js';

interface Received {
  body: { n: number };
  auth: string | undefined;
}

let server: http.Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

/** A receiver answering with `status(n, attempt)` for the body's n-th notification. */
async function receiver(status: (n: number, attempt: number) => number): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const attempts = new Map<number, number>();
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as { n: number };
      const attempt = (attempts.get(body.n) ?? 0) + 1;
      attempts.set(body.n, attempt);
      const code = status(body.n, attempt);
      if (code < 300) got.push({ body, auth: req.headers.authorization });
      res.writeHead(code).end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hook`, got };
}

const fast = { baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 };

describe('notification delivery', () => {
  it('keeps the order while one notification is retried, and sends the token', async () => {
    // The second notification fails twice with 503: the third must wait for it.
    const r = await receiver((n, attempt) => (n === 2 && attempt <= 2 ? 503 : 204));
    const sender = new OrderedSender(fast);
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) => sender.send({ url: r.url, token: 's3cret', body: { n } })),
    );
    expect(results).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    expect(r.got.map((g) => g.body.n)).toEqual([1, 2, 3, 4]);
    expect(r.got.every((g) => g.auth === 'Bearer s3cret')).toBe(true);
  });

  it('gives up after the attempts, and at once on a 4xx that will not change', async () => {
    const r = await receiver((n) => (n === 1 ? 500 : 400));
    const tries: number[] = [];
    const sender = new OrderedSender({ ...fast, attempts: 3 });
    sender.onRetry = (status) => tries.push(status);
    expect(await sender.send({ url: r.url, body: { n: 1 } })).toBe('failed');
    expect(await sender.send({ url: r.url, body: { n: 2 } })).toBe('failed');
    expect(tries).toEqual([500, 500, 500, 400]);
  });

  it('retries a receiver that is not up yet', async () => {
    const r = await receiver(() => 204);
    const url = r.url;
    await new Promise((res) => server!.close(res));
    const sender = new OrderedSender({ ...fast, baseDelayMs: 100, attempts: 6 });
    const sent = sender.send({ url, body: { n: 7 } });
    await new Promise((res) => setTimeout(res, 150));
    // Back on the same port.
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(202).end());
    });
    await new Promise<void>((res) => server!.listen(Number(new URL(url).port), '127.0.0.1', res));
    expect(await sent).toBe('delivered');
  });

  it('drops beyond the queue bound instead of growing', async () => {
    const r = await receiver(() => 204);
    const sender = new OrderedSender({ ...fast, maxQueue: 2 });
    const results = await Promise.all([1, 2, 3].map((n) => sender.send({ url: r.url, body: { n } })));
    expect(results).toEqual(['delivered', 'delivered', 'dropped']);
    expect(r.got.map((g) => g.body.n)).toEqual([1, 2]);
  });
});
