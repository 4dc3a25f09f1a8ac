/** Thrown when a trace context field breaks the W3C Trace Context rules. */
export class InvalidTracingContextError extends Error {
  override readonly name = 'InvalidTracingContextError';

  constructor(
    readonly field: 'traceId' | 'spanId' | 'traceFlags' | 'traceState' | 'traceparent',
    reason: string,
  ) {
    super(`Invalid ${field}: ${reason}`);
  }
}
