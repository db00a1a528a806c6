/**
 * The engine's spans, `nerops.onnx.run` and `nerops.decode`: children of whatever span is active (the
 * server's `nerops.batch`). With no recording span active (tracing off, the trainer, the validator) they are
 * not created at all, so the runtimes pay one context lookup per call and build no attributes.
 * Attributes are counts only, never text.
 */
import { trace, type Span } from '@opentelemetry/api';

const tracer = trace.getTracer('nerops.engine');

/** A child of the active span when that one records; undefined otherwise. */
export function childSpan(name: string): Span | undefined {
  return trace.getActiveSpan()?.isRecording() ? tracer.startSpan(name) : undefined;
}
