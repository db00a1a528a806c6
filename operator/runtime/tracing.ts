/**
 * The operator's spans: `nerops.reconcile` (one per reconcile, a root span: a reconcile is caused by state,
 * not by one request), and inside it `nerops.promql` (each Prometheus query) and `nerops.apply` (each
 * server-side apply or status write, or the check that found nothing to write).
 *
 * A reconcile *links* to the W3C `traceparent` in the object's `nerops.io/traceparent` annotation, so the
 * pipeline that applied a change finds every reconcile that acted on it; links rather than parenthood,
 * because the same annotation stays on the object through hours of periodic resyncs.
 *
 * Off by default and then free: with no SDK registered (cli/tracing.ts) the reconcile span does not record,
 * no child span is created and no attribute is built. Attributes are ids, counts and outcomes; never a
 * PromQL string, a spec field or a status message.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Link,
  type Span,
  type SpanOptions,
} from '@opentelemetry/api';
import { SpanAttr, SpanName, TRACEPARENT_ANNOTATION } from '../../contracts/tracing.js';

const tracer = trace.getTracer('nerops.operator');

/** The reconcile span of one key, or undefined when tracing is off. */
export function startReconcileSpan(
  controller: string,
  kind: string,
  namespace: string | undefined,
  name: string,
  object: KubernetesObject | undefined,
): Span | undefined {
  const span = tracer.startSpan(SpanName.reconcile, { root: true }, ROOT_CONTEXT);
  if (!span.isRecording()) return undefined;
  span.setAttributes({
    [SpanAttr.controller]: controller,
    [SpanAttr.kind]: kind,
    [SpanAttr.name]: name,
    ...(namespace ? { 'k8s.namespace.name': namespace } : {}),
    ...(object?.metadata?.generation !== undefined ? { [SpanAttr.generation]: object.metadata.generation } : {}),
  });
  const link = annotationLink(object);
  if (link) span.addLink(link);
  return span;
}

/** The span context named by the object's traceparent annotation, when it holds a valid one. */
function annotationLink(object: KubernetesObject | undefined): Link | undefined {
  const value = object?.metadata?.annotations?.[TRACEPARENT_ANNOTATION];
  if (!value) return undefined;
  const linked = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, { traceparent: value }));
  return linked && trace.isSpanContextValid(linked) ? { context: linked } : undefined;
}

/** Run `fn` with `span` as the active span (its children find it across awaits); just `fn` without one. */
export function inSpan<T>(span: Span | undefined, fn: () => Promise<T>): Promise<T> {
  return span ? context.with(trace.setSpan(ROOT_CONTEXT, span), fn) : fn();
}

/** End the reconcile span with its outcome. */
export function endReconcileSpan(span: Span | undefined, result: string, requeueAfterMs: number | undefined): void {
  if (!span) return;
  span.setAttribute(SpanAttr.result, result);
  if (requeueAfterMs !== undefined) span.setAttribute(SpanAttr.requeueAfterMs, requeueAfterMs);
  if (result === 'error') span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** A child of the active span when that one records (inside a traced reconcile); undefined otherwise. */
export function childSpan(name: string, options?: SpanOptions): Span | undefined {
  return trace.getActiveSpan()?.isRecording() ? tracer.startSpan(name, options) : undefined;
}

/** A Prometheus query's CLIENT span, and the headers that carry its `traceparent` to Prometheus. */
export function startPromqlSpan(base: URL): { span: Span; headers: Record<string, string> } | undefined {
  const span = childSpan(SpanName.promql, { kind: SpanKind.CLIENT });
  if (!span) return undefined;
  span.setAttributes({
    'server.address': base.hostname,
    ...(base.port ? { 'server.port': Number(base.port) } : {}),
  });
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), headers);
  return { span, headers };
}

/** End a span as failed, naming only the error's type or reason. */
export function failSpan(span: Span | undefined, errorType: string): void {
  if (!span) return;
  span.setAttribute('error.type', errorType);
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** A `nerops.apply` span inside a traced reconcile: the object's kind, namespace and name, and `/status` writes. */
export function startApplySpan(
  kind: string,
  namespace: string | undefined,
  name: string | undefined,
  subresource?: 'status',
): Span | undefined {
  const span = childSpan(SpanName.apply);
  span?.setAttributes({
    [SpanAttr.kind]: kind,
    ...(namespace ? { 'k8s.namespace.name': namespace } : {}),
    ...(name ? { [SpanAttr.name]: name } : {}),
    ...(subresource ? { [SpanAttr.subresource]: subresource } : {}),
  });
  return span;
}

/** End an apply span when the write settles: whether it changed the object, or the error's type. */
export async function endApplySpan<T extends { changed: boolean }>(
  span: Span | undefined,
  write: Promise<T>,
): Promise<T> {
  if (!span) return write;
  try {
    const result = await write;
    span.setAttribute(SpanAttr.changed, result.changed);
    span.end();
    return result;
  } catch (err) {
    failSpan(span, err instanceof Error ? err.name : 'Error');
    throw err;
  }
}
