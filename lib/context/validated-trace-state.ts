import { createTraceState, type TraceState } from '@opentelemetry/api';

/**
 * The TraceState of a `tracestate` that validateTraceState has already accepted,
 * so that a stored context's trace state is parsed once, not twice: it serializes
 * from the validated text, and OpenTelemetry parses it only if a get, set or
 * unset needs it.
 */
export class ValidatedTraceState implements TraceState {
  private parsed?: TraceState;
  private serialized?: string;

  constructor(private readonly validated: string) {}

  get(key: string): string | undefined {
    return this.parse().get(key);
  }

  set(key: string, value: string): TraceState {
    return this.parse().set(key, value);
  }

  unset(key: string): TraceState {
    return this.parse().unset(key);
  }

  serialize(): string {
    // Valid means no duplicate keys and at most 32 members: OpenTelemetry's form differs only by blank members and spaces.
    this.serialized ??= this.validated
      .split(',')
      .map((member) => member.trim())
      .filter((member) => member !== '')
      .join(',');
    return this.serialized;
  }

  private parse(): TraceState {
    this.parsed ??= createTraceState(this.validated);
    return this.parsed;
  }
}
