/**
 * Verbosity of a task span, as in Rust's `tracing`: ERROR is the most severe,
 * TRACE the most verbose. A filter at INFO records ERROR, WARN and INFO spans.
 */
export enum SpanLevel {
  ERROR = 1,
  WARN = 2,
  INFO = 3,
  DEBUG = 4,
  TRACE = 5,
}

/** Threshold that records nothing (`off` in a filter directive). */
export const LEVEL_OFF = 0;

export function parseSpanLevel(value: string): SpanLevel | typeof LEVEL_OFF | undefined {
  const name = value.trim().toUpperCase();
  if (name === 'OFF') return LEVEL_OFF;
  return name in SpanLevel && Number.isNaN(Number(name))
    ? SpanLevel[name as keyof typeof SpanLevel]
    : undefined;
}

export function isSpanLevel(value: unknown): value is SpanLevel {
  return typeof value === 'number' && SpanLevel[value] !== undefined;
}
