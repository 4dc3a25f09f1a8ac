/** `error.type` as the conventions ask: the error's class name, or `_OTHER` for a thrown non-Error. */
export function errorTypeOf(error: unknown): string {
  return isErrorLike(error) ? error.name : '_OTHER';
}

/** An Error, also from another realm (a vm context, a DOMException), where `instanceof Error` fails. */
export function isErrorLike(error: unknown): error is Error {
  return (
    error instanceof Error ||
    (typeof error === 'object' && error !== null && typeof (error as Error).name === 'string' && typeof (error as Error).message === 'string')
  );
}
