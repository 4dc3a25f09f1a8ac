/** `error.type` as the conventions ask: the error's class name, or `_OTHER` for a thrown non-Error. */
export function errorTypeOf(error: unknown): string {
  return error instanceof Error ? error.name : '_OTHER';
}
