/**
 * What the tracer needs to report its own problems. Nest's `Logger` fits it;
 * a sandboxed child process, which has no Nest, passes the console.
 */
export interface TaskTracerLogger {
  error(message: string): void;
  warn(message: string): void;
  log(message: string): void;
  debug?(message: string): void;
}
