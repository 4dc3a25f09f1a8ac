import { type Span, SpanStatusCode } from '@opentelemetry/api';

/** Marks a span failed as the semantic conventions ask: exception event, ERROR status, `error.type`. */
export function recordFailure(span: Span, error: unknown): void {
  if (error instanceof Error) {
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    span.setAttribute('error.type', error.name);
  } else {
    span.recordException(String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
    span.setAttribute('error.type', '_OTHER');
  }
}
