import type { Job } from 'bullmq';
import type { MakeSpan, ReadStoredContext, TaskSpan } from '../interfaces/make-span.interface.js';
import { SpanLevel } from '../levels/span-level.js';
import type { TaskSpanName } from './span-names.js';

export interface TaskSpanOptions {
  /** Default: `task`, as in Apalis. `processSpanName` gives the conventions' `process <queue>`. */
  name?: string | TaskSpanName;
  /** Default: INFO. */
  level?: SpanLevel;
}

/** A span named `task` at INFO that starts no upstream trace: Apalis's default. */
export class DefaultTaskSpan implements MakeSpan {
  private readonly name: string | TaskSpanName;
  private readonly level: SpanLevel;

  constructor(options: TaskSpanOptions = {}) {
    this.name = options.name ?? 'task';
    this.level = options.level ?? SpanLevel.INFO;
  }

  makeSpan(job: Job, _readStoredContext?: ReadStoredContext): TaskSpan {
    return { name: typeof this.name === 'function' ? this.name(job) : this.name, level: this.level };
  }
}
