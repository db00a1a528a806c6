/**
 * The server's spans: one SERVER span per API request (a child of the caller's W3C `traceparent`), its
 * `nerops.parse` child (arrival → documents handed to the batcher), and the helpers the batcher uses for
 * `nerops.queue` and `nerops.batch`; the engine adds `nerops.onnx.run` and `nerops.decode` (engine/tracing.ts).
 *
 * Off by default and then free: the SDK is registered by the entrypoint only when an OTLP endpoint is set
 * (cli/tracing.ts). Without it the API's no-op tracer answers, every span reports `isRecording() === false`,
 * and nothing below builds an attribute, a link or a context for it.
 *
 * Spans carry ids, sizes and timings, never text: no body, no document, no entity string, no header value
 * (the incoming `traceparent` is parsed by the propagator, never copied).
 */
import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import { SpanAttr, SpanName } from '../contracts/tracing.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExtractResult, ModelInfo } from '../engine/types.js';

const tracer = trace.getTracer('nerops.server');

/** What a request span reads of the app (its AppContext; not imported: context.ts imports this module). */
interface TracedApp {
  engine: { info: ModelInfo };
}

/** What a request span reads of the exchange (server/exchange.ts). */
interface TracedExchange {
  req: IncomingMessage;
  res: ServerResponse;
  id: string;
  route: string;
  problem?: string;
}

/** The spans of the request being served, in the context of its handler. */
interface RequestSpans {
  server: Span;
  /** Open until the documents are handed to the batcher (or the request ends first). */
  parse: Span | undefined;
}
const REQUEST_SPANS = createContextKey('nerops.request-spans');

/**
 * Run an API request's handler inside its SERVER span. The span ends when the response closes (the error
 * path answers after the handler's promise has rejected), with the status code and the route pattern.
 */
export function traceRequest(ctx: TracedApp, ex: TracedExchange, handle: () => Promise<void>): Promise<void> {
  const parent = propagation.extract(ROOT_CONTEXT, ex.req.headers);
  const method = ex.req.method ?? 'POST';
  const server = tracer.startSpan(method, { kind: SpanKind.SERVER }, parent);
  if (!server.isRecording()) return handle();
  const { name, version, digest } = ctx.engine.info;
  server.setAttributes({
    'http.request.method': method,
    [SpanAttr.requestId]: ex.id,
    [SpanAttr.modelName]: name,
    [SpanAttr.modelVersion]: version,
    [SpanAttr.modelDigest]: digest,
  });
  const withServer = trace.setSpan(parent, server);
  const spans: RequestSpans = { server, parse: tracer.startSpan(SpanName.parse, {}, withServer) };
  ex.res.once('close', () => {
    spans.parse?.end();
    const code = ex.res.writableFinished ? ex.res.statusCode : 499;
    server.updateName(`${method} ${ex.route}`);
    server.setAttributes({ 'http.route': ex.route, 'http.response.status_code': code });
    if (ex.problem) server.setAttribute('error.type', ex.problem);
    if (code >= 500) server.setStatus({ code: SpanStatusCode.ERROR });
    server.end();
  });
  return context.with(withServer.setValue(REQUEST_SPANS, spans), handle);
}

function requestSpans(): RequestSpans | undefined {
  return context.active().getValue(REQUEST_SPANS) as RequestSpans | undefined;
}

/** The request's documents are read and valid: `nerops.parse` ends, their count and size go on the request. */
export function markParsed(texts: readonly string[]): void {
  const spans = requestSpans();
  if (!spans) return;
  spans.parse?.end();
  spans.parse = undefined;
  let characters = 0;
  for (const t of texts) characters += t.length;
  spans.server.setAttributes({ [SpanAttr.documents]: texts.length, [SpanAttr.characters]: characters });
}

/** The request's documents are extracted: token and entity counts go on the request. */
export function markExtracted(results: readonly ExtractResult[]): void {
  const spans = requestSpans();
  if (!spans) return;
  let tokens = 0;
  let entities = 0;
  for (const r of results) {
    tokens += r.stats.tokens;
    entities += r.entities.length;
  }
  spans.server.setAttributes({ [SpanAttr.tokens]: tokens, [SpanAttr.entities]: entities });
}

/** A submission's trace: the context it was submitted in and its `nerops.queue` span. */
export interface SubmissionTrace {
  parent: Context;
  queue: Span;
  /** Documents not yet handed to the engine; the queue span ends when this reaches 0. */
  waiting: number;
}

/** The trace of a batcher submission made now, when the active span records; undefined otherwise. */
export function traceSubmission(documents: number, queueDepth: number): SubmissionTrace | undefined {
  const parent = context.active();
  if (!trace.getSpan(parent)?.isRecording()) return undefined;
  const queue = tracer.startSpan(
    SpanName.queue,
    { attributes: { [SpanAttr.documents]: documents, [SpanAttr.queueDepth]: queueDepth } },
    parent,
  );
  return { parent, queue, waiting: documents };
}

/** One of the submission's documents went into a batch. */
export function markDispatched(t: SubmissionTrace): void {
  if (t.waiting > 0 && --t.waiting === 0) t.queue.end();
}

/** The submission ended (timeout, failed batch) with documents still queued: its queue span ends. */
export function markExpired(t: SubmissionTrace): void {
  if (t.waiting <= 0) return;
  t.waiting = 0;
  t.queue.end();
}

/**
 * Run one engine call inside a `nerops.batch` span when any of its submissions is traced: the span is a
 * child of the first traced submission's request and links to the others' (a batch serves several
 * requests; a span has one parent). Untraced batches run outside any request's context, so the engine never
 * attaches its spans to a request that happened to schedule the batch.
 */
export function traceBatch<R>(
  traces: readonly SubmissionTrace[] | undefined,
  texts: readonly string[],
  run: () => Promise<R>,
): Promise<R> {
  if (!traces) return trace.getActiveSpan() ? context.with(ROOT_CONTEXT, run) : run();
  // A submission's documents may sit side by side in the batch: one parent or link per request.
  const [first, ...others] = new Set(traces);
  const links: Link[] = others.map((t) => ({ context: trace.getSpanContext(t.parent)! }));
  let characters = 0;
  for (const t of texts) characters += t.length;
  const span = tracer.startSpan(
    SpanName.batch,
    {
      attributes: {
        [SpanAttr.batchSize]: texts.length,
        [SpanAttr.batchRequests]: 1 + links.length,
        [SpanAttr.characters]: characters,
      },
      links,
    },
    first!.parent,
  );
  return context.with(trace.setSpan(first!.parent, span), run).then(
    (r) => {
      span.end();
      return r;
    },
    (err: unknown) => {
      // The error's type only: an engine message could in principle quote its input.
      span.setAttribute('error.type', err instanceof Error ? err.name : 'Error');
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw err;
    },
  );
}
