import { describe, expect, it } from '@jest/globals';
import { ROOT_CONTEXT, context, trace, TraceFlags } from '@opentelemetry/api';
import { InvalidTracingContextError, LevelFilter, SpanLevel, TracingContext } from '../lib/index.js';
import { setupTracing } from './support/tracing.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

function fieldOf(build: () => unknown): string | undefined {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTracingContextError);
    return (error as InvalidTracingContextError).field;
  }
  return undefined;
}

describe('TracingContext builder', () => {
  it('builds an immutable context and round-trips it through the W3C carrier', () => {
    const empty = new TracingContext();
    const built = empty
      .withTraceId(TRACE_ID)
      .withSpanId(SPAN_ID)
      .withTraceFlags(TraceFlags.SAMPLED)
      .withTraceState('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
    expect(empty.traceId).toBeUndefined();
    expect(built.isSampled).toBe(true);
    const carrier = built.toCarrier();
    expect(carrier).toEqual({
      traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`,
      tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    });
    expect(TracingContext.fromCarrier(carrier)).toEqual(built);
    expect(built.toSpanContext()).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true });
  });

  it.each([
    ['upper-case trace id', () => new TracingContext().withTraceId(TRACE_ID.toUpperCase()), 'traceId'],
    ['short trace id', () => new TracingContext().withTraceId('abc'), 'traceId'],
    ['all-zero trace id', () => new TracingContext().withTraceId('0'.repeat(32)), 'traceId'],
    ['all-zero span id', () => new TracingContext().withSpanId('0'.repeat(16)), 'spanId'],
    ['non-hex span id', () => new TracingContext().withSpanId('zzzzzzzzzzzzzzzz'), 'spanId'],
    ['flags over 255', () => new TracingContext().withTraceFlags(256), 'traceFlags'],
    ['33 tracestate members', () => new TracingContext().withTraceState(members(33)), 'traceState'],
    ['tracestate over 512 characters', () => new TracingContext().withTraceState(`a=${'x'.repeat(511)}`), 'traceState'],
    ['tracestate key with upper case', () => new TracingContext().withTraceState('Congo=1'), 'traceState'],
    ['tracestate member without =', () => new TracingContext().withTraceState('congo'), 'traceState'],
    ['duplicate tracestate key', () => new TracingContext().withTraceState('a=1,a=2'), 'traceState'],
    ['incomplete context to carrier', () => new TracingContext().withTraceId(TRACE_ID).toCarrier(), 'spanId'],
  ])('rejects %s, naming the field', (_case, build, field) => {
    expect(fieldOf(build)).toBe(field);
  });

  it('accepts 32 members, multi-tenant keys and blank members', () => {
    expect(new TracingContext().withTraceState(members(32)).traceState).toBe(members(32));
    expect(new TracingContext().withTraceState('fw529a3039@dt=00f0, ,rojo=1').traceState).toBeDefined();
  });

  it.each([
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['version 00 with trailing data', `00-${TRACE_ID}-${SPAN_ID}-01-extra`],
    ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ['missing flags', `00-${TRACE_ID}-${SPAN_ID}`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
  ])('rejects a traceparent with %s', (_case, traceparent) => {
    expect(() => TracingContext.fromCarrier({ traceparent })).toThrow(InvalidTracingContextError);
  });

  it('accepts a future version with extra fields, as the spec requires', () => {
    const context = TracingContext.fromCarrier({ traceparent: `01-${TRACE_ID}-${SPAN_ID}-01-future` });
    expect(context.traceId).toBe(TRACE_ID);
  });

  it('reads the active span with current()', () => {
    setupTracing();
    expect(context.with(ROOT_CONTEXT, () => TracingContext.current())).toBeUndefined();
    const span = trace.getTracer('test').startSpan('active');
    const current = context.with(trace.setSpan(ROOT_CONTEXT, span), () => TracingContext.current());
    span.end();
    expect(current?.traceId).toBe(span.spanContext().traceId);
    expect(current?.spanId).toBe(span.spanContext().spanId);
  });
});

describe('LevelFilter', () => {
  it('applies the default level and per-queue overrides', () => {
    const filter = LevelFilter.parse('warn, email=debug ,reports=off');
    expect(filter.enabled(SpanLevel.WARN, 'other')).toBe(true);
    expect(filter.enabled(SpanLevel.INFO, 'other')).toBe(false);
    expect(filter.enabled(SpanLevel.DEBUG, 'email')).toBe(true);
    expect(filter.enabled(SpanLevel.TRACE, 'email')).toBe(false);
    expect(filter.enabled(SpanLevel.ERROR, 'reports')).toBe(false);
  });

  it('rejects an unknown level with the directive in the message', () => {
    expect(() => LevelFilter.parse('info,email=loud')).toThrow(/"email=loud"/);
  });
});

function members(count: number): string {
  return Array.from({ length: count }, (_, index) => `k${index}=v`).join(',');
}
