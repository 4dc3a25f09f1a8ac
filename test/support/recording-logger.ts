import { ConsoleLogger } from '@nestjs/common';

/** Keeps every warning and error it is given, to assert what the library logged; drops the rest. */
export class RecordingLogger extends ConsoleLogger {
  readonly warnings: string[] = [];
  readonly errors: string[] = [];

  override log(): void {}

  override warn(message: unknown): void {
    this.warnings.push(String(message));
  }

  override error(message: unknown): void {
    this.errors.push(String(message));
  }
}
