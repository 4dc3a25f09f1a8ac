import { ConsoleLogger } from '@nestjs/common';

/** Keeps every warning, error and debug line it is given, to assert what the library logged; drops the rest. */
export class RecordingLogger extends ConsoleLogger {
  readonly warnings: string[] = [];
  readonly errors: string[] = [];
  readonly debugs: string[] = [];

  override log(): void {}

  override debug(message: unknown): void {
    this.debugs.push(String(message));
  }

  override warn(message: unknown): void {
    this.warnings.push(String(message));
  }

  override error(message: unknown): void {
    this.errors.push(String(message));
  }
}
