import { context, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { CliError } from './command.js';
import { otlpEndpointFlag, startTracing } from './tracing.js';

const recording = () => trace.getTracer('t').startSpan('probe').isRecording();

describe('startTracing', () => {
  it('registers nothing without an endpoint: the API stays a no-op and no context is kept', () => {
    expect(startTracing({ serviceName: 's', env: {} })).toBeUndefined();
    expect(startTracing({ serviceName: 's', flag: 'http://127.0.0.1:9', env: { OTEL_SDK_DISABLED: 'true' } })).toBe(
      undefined,
    );
    expect(recording()).toBe(false);
    const span = trace.getTracer('t').startSpan('x');
    // No context manager: a span set as active is not kept (nothing is tracked per async call).
    context.with(trace.setSpan(context.active(), span), () => expect(trace.getActiveSpan()).toBeUndefined());
  });

  it('with an endpoint: spans record until shutdown, which puts the no-op API back', async () => {
    const t = startTracing({ serviceName: 's', flag: 'http://127.0.0.1:9', env: {} });
    expect(t?.url).toBe('http://127.0.0.1:9/v1/traces');
    expect(recording()).toBe(true);
    await t?.shutdown();
    expect(recording()).toBe(false);
  });
});

describe('otlpEndpointFlag', () => {
  it('takes http(s) URLs and refuses anything else, naming the flag', () => {
    expect(otlpEndpointFlag(undefined)).toBeUndefined();
    expect(otlpEndpointFlag('https://otel.example:4318')).toBe('https://otel.example:4318');
    expect(() => otlpEndpointFlag('collector:4318')).toThrow(CliError);
    expect(() => otlpEndpointFlag('grpc://collector:4317')).toThrow(/--otlp-endpoint must be an http\(s\) URL/);
  });
});
