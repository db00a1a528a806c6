import { describe, expect, it } from 'vitest';
import { otlpTracesUrl } from './tracing.js';

describe('otlpTracesUrl', () => {
  it('is undefined (tracing off) when nothing is configured', () => {
    expect(otlpTracesUrl(undefined, {})).toBeUndefined();
    expect(otlpTracesUrl('', { OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toBeUndefined();
  });

  it('appends /v1/traces to a base endpoint, from the flag first, then OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    expect(otlpTracesUrl('http://collector:4318/', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://other:4318' })).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(otlpTracesUrl(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example/prefix' })).toBe(
      'https://otel.example/prefix/v1/traces',
    );
  });

  it('takes OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, over the base variable', () => {
    expect(
      otlpTracesUrl(undefined, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/custom',
      }),
    ).toBe('http://traces:4318/custom');
  });

  it('is off whatever the endpoint when OTEL_SDK_DISABLED=true', () => {
    expect(otlpTracesUrl('http://c:4318', { OTEL_SDK_DISABLED: 'TRUE' })).toBeUndefined();
  });
});
