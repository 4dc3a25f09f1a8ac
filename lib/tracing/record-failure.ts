import { type Span, SpanStatusCode } from '@opentelemetry/api';

/** Marks a span failed as the semantic conventions ask: exception event, ERROR status, `error.type`. */
export function recordFailure(span: Span, error: unknown): void {
  if (isErrorLike(error)) {
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    span.setAttribute('error.type', error.name);
  } else {
    span.recordException(String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
    span.setAttribute('error.type', '_OTHER');
  }
}

/** An Error, also from another realm (a vm context, a DOMException), where `instanceof Error` fails. */
function isErrorLike(error: unknown): error is Error {
  return (
    error instanceof Error ||
    (typeof error === 'object' && error !== null && typeof (error as Error).name === 'string' && typeof (error as Error).message === 'string')
  );
}
