import { type Span, SpanStatusCode } from '@opentelemetry/api';
import { errorTypeOf, isErrorLike } from './error-type.js';

/** Marks a span failed as the semantic conventions ask: exception event, ERROR status, `error.type`. */
export function recordFailure(span: Span, error: unknown): void {
  const message = isErrorLike(error) ? error.message : String(error);
  span.recordException(isErrorLike(error) ? error : message);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute('error.type', errorTypeOf(error));
}
