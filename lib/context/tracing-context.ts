import {
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
    return new TracingContext()
      .withTraceId(spanContext.traceId)
      .withSpanId(spanContext.spanId)
      .withTraceFlags(spanContext.traceFlags)
      .withTraceState(spanContext.traceState?.serialize() || undefined);
  }

  /** Reads `traceparent` and `tracestate`; throws InvalidTracingContextError on anything the W3C spec rejects. */
  static fromCarrier(carrier: TraceCarrier): TracingContext {
    if (carrier.traceparent === undefined) throw new InvalidTracingContextError('traceparent', 'missing');
    const { traceId, spanId, traceFlags } = parseTraceparent(carrier.traceparent);
    return new TracingContext(traceId, spanId, traceFlags).withTraceState(carrier.tracestate);
  }

  withTraceId(traceId: string): TracingContext {
    return new TracingContext(validateTraceId(traceId), this.spanId, this.traceFlags, this.traceState);
  }

  withSpanId(spanId: string): TracingContext {
    return new TracingContext(this.traceId, validateSpanId(spanId), this.traceFlags, this.traceState);
  }

  withTraceFlags(traceFlags: number): TracingContext {
    return new TracingContext(this.traceId, this.spanId, traceFlags, this.traceState);
  }

  /** An empty string or undefined clears the trace state. */
  withTraceState(traceState: string | undefined): TracingContext {
    return new TracingContext(this.traceId, this.spanId, this.traceFlags, traceState);
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
