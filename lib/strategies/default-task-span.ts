import type { Job } from 'bullmq';
import type { MakeSpan, ReadStoredContext, TaskSpan } from '../interfaces/make-span.interface.js';
import { SpanLevel } from '../levels/span-level.js';

export interface TaskSpanOptions {
  /** Default: `task`. */
  name?: string;
  /** Default: INFO. */
  level?: SpanLevel;
}

/** A span named `task` at INFO that starts no upstream trace: Apalis's default. */
export class DefaultTaskSpan implements MakeSpan {
  private readonly name: string;
  private readonly level: SpanLevel;

  constructor(options: TaskSpanOptions = {}) {
    this.name = options.name ?? 'task';
    this.level = options.level ?? SpanLevel.INFO;
  }

  makeSpan(_job: Job, _readStoredContext?: ReadStoredContext): TaskSpan {
    return { name: this.name, level: this.level };
  }
}
