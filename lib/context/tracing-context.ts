import {
  type Context,
  context,
  createTraceState,
  isSpanContextValid,
  type SpanContext,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import { InvalidTracingContextError } from './invalid-tracing-context.error.js';
import {
  formatTraceparent,
  parseTraceparent,
  validateSpanId,
  validateTraceFlags,
  validateTraceId,
  validateTraceState,
} from './w3c-trace-context.js';

/** The W3C carrier, as stored on a job: `{ traceparent, tracestate? }`. */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
  [header: string]: string | undefined;
}

/**
 * The W3C Trace Context of a task: trace id, parent span id, flags and trace state.
 * Immutable: every `with…` call validates its input and returns a new context.
 */
export class TracingContext {
  readonly traceId?: string;
  readonly spanId?: string;
  readonly traceFlags: number;
  readonly traceState?: string;

  /** Validates as the `with…` methods do; throws InvalidTracingContextError. An empty trace state is none. */
  constructor(traceId?: string, spanId?: string, traceFlags: number = TraceFlags.NONE, traceState?: string) {
    this.traceId = traceId === undefined ? undefined : validateTraceId(traceId);
    this.spanId = spanId === undefined ? undefined : validateSpanId(spanId);
    this.traceFlags = validateTraceFlags(traceFlags);
    this.traceState = traceState ? validateTraceState(traceState) : undefined;
  }

  /** The context of the span active right now, if there is a valid one. */
  static current(): TracingContext | undefined {
    const spanContext = trace.getSpanContext(context.active());
    return spanContext && isSpanContextValid(spanContext) ? TracingContext.fromSpanContext(spanContext) : undefined;
  }

  static fromSpanContext(spanContext: SpanContext): TracingContext {
    const traceState = spanContext.traceState?.serialize();
    return validatedTracingContext({
      traceId: validateTraceId(spanContext.traceId),
      spanId: validateSpanId(spanContext.spanId),
      traceFlags: validateTraceFlags(spanContext.traceFlags),
      traceState: traceState ? validateTraceState(traceState) : undefined,
    });
  }

  /** Reads `traceparent` and `tracestate`; throws InvalidTracingContextError on anything the W3C spec rejects. */
  static fromCarrier(carrier: TraceCarrier): TracingContext {
    if (carrier.traceparent === undefined) throw new InvalidTracingContextError('traceparent', 'missing');
    const { traceId, spanId, traceFlags } = parseTraceparent(carrier.traceparent);
    const traceState = carrier.tracestate ? validateTraceState(carrier.tracestate) : undefined;
    return validatedTracingContext({ traceId, spanId, traceFlags, traceState });
  }

  withTraceId(traceId: string): TracingContext {
    return validatedTracingContext({ ...this, traceId: validateTraceId(traceId) });
  }

  withSpanId(spanId: string): TracingContext {
    return validatedTracingContext({ ...this, spanId: validateSpanId(spanId) });
  }

  withTraceFlags(traceFlags: number): TracingContext {
    return validatedTracingContext({ ...this, traceFlags: validateTraceFlags(traceFlags) });
  }

  /** An empty string or undefined clears the trace state. */
  withTraceState(traceState: string | undefined): TracingContext {
    return validatedTracingContext({ ...this, traceState: traceState ? validateTraceState(traceState) : undefined });
  }

  get isSampled(): boolean {
    return (this.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
  }

  /** As a remote parent for OpenTelemetry; requires a trace id and a span id. */
  toSpanContext(): SpanContext {
    return {
      traceId: this.required('traceId'),
      spanId: this.required('spanId'),
      traceFlags: this.traceFlags,
      traceState: this.traceState ? createTraceState(this.traceState) : undefined,
      isRemote: true,
    };
  }

  toCarrier(): TraceCarrier {
    const carrier: TraceCarrier = {
      traceparent: formatTraceparent(this.required('traceId'), this.required('spanId'), this.traceFlags),
    };
    if (this.traceState) carrier.tracestate = this.traceState;
    return carrier;
  }

  private required(field: 'traceId' | 'spanId'): string {
    const value = this[field];
    if (value === undefined) throw new InvalidTracingContextError(field, 'not set');
    return value;
  }
}

/**
 * A context from fields validated already, so that no field is checked twice
 * (each `with…` checks only what it changes). Internal: lib/index.ts does not export it.
 */
export function validatedTracingContext(fields: {
  traceId?: string;
  spanId?: string;
  traceFlags: number;
  traceState?: string;
}): TracingContext {
  return Object.assign(Object.create(TracingContext.prototype) as TracingContext, {
    traceId: fields.traceId,
    spanId: fields.spanId,
    traceFlags: fields.traceFlags,
    traceState: fields.traceState || undefined,
  });
}

/** `tracingContext` as the parent, keeping whatever else (baggage) is active. */
export function explicitParent(tracingContext: TracingContext): Context {
  return trace.setSpanContext(context.active(), tracingContext.toSpanContext());
}
