import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { ContextualTaskSpan, TaskLogger, TraceTask } from '../lib/index.js';
import { escapeLogText, formatFieldValue } from '../lib/logging/log-text.js';
import { startApp } from './support/app.js';
import { captureOutput } from './support/captured-output.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();
const output = captureOutput();

// BullMQ refuses ':' in ids and queue names; everything else a user may choose.
const FORGED_LINE = '\n2026-01-01T00:00:00.000Z  INFO task{task_id=FORGED attempt=1} Admin granted\r\u001b[2K';
const HOSTILE_JOB_ID = `42 attempt=9}${FORGED_LINE}`;
const HOSTILE_QUEUE = `${uniqueQueueName('inject')}\n[Nest] 1  - WARN [JobTracing] FORGED warning`;

/** A line this process really wrote: a task line, a Nest line, or a test runner's own. */
const GENUINE_LINE = /^(\d{4}-\d\d-\d\dT\S+Z (ERROR| WARN| INFO) task\{task_id="|\[Nest\] \d+ )/;

describe('user-chosen job ids, queue names and error messages cannot forge log lines', () => {
  it('escapes them in TaskLogger fields, in messages and in the library\'s own warning and failure lines', async () => {
    @Processor(HOSTILE_QUEUE)
    @TraceTask(new ContextualTaskSpan())
    class HostileProcessor extends WorkerHost {
      private readonly logger = new Logger(HostileProcessor.name);

      async process(job: Job) {
        this.logger.log(`Processing ${job.id}`);
        if (job.attemptsMade === 0) throw new Error(`refused${FORGED_LINE}`);
        return 'done';
      }
    }
    const app = (state.app = await startApp({
      logger: new TaskLogger({ colors: false }),
      imports: [BullModule.registerQueue({ name: HOSTILE_QUEUE })],
      providers: [HostileProcessor],
    }));
    // A bad stored context too, so the library warns about this job.
    const job = await queueOf(app, HOSTILE_QUEUE).add(
      'job',
      {},
      { jobId: HOSTILE_JOB_ID, attempts: 2, backoff: { type: 'fixed', delay: 50 }, telemetry: { metadata: 'not json' } },
    );
    expect(job.id).toBe(HOSTILE_JOB_ID);
    expect(await finished(job)).toBe('done');
    await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', HOSTILE_QUEUE).length === 2);

    const lines = output.lines();
    const mentioning = lines.filter((line) => line.includes('FORGED'));
    // Two attempts' "Processing" lines, one failure line, one warning: each on a line of its own making.
    expect(mentioning.length).toBeGreaterThanOrEqual(4);
    for (const line of mentioning) expect(line).toMatch(GENUINE_LINE);
    expect(lines.filter((line) => line.includes('task_id=FORGED'))).toEqual(
      mentioning.filter((line) => line.includes('task_id=FORGED')),
    );

    const escapedId = '42 attempt=9}\\n2026-01-01T00:00:00.000Z  INFO task{task_id=FORGED attempt=1} Admin granted\\r\\u001b[2K';
    expect(lines).toContainEqual(expect.stringContaining(`task{task_id="${escapedId}" attempt=1 trace_id=`));
    expect(lines).toContainEqual(expect.stringMatching(/: HostileProcessor: Processing 42 attempt=9}\\n2026.*Admin granted\\r\\u001b\[2K$/));
    expect(lines).toContainEqual(expect.stringMatching(/: JobTracing: Failed in \S+ m?s: refused\\n2026.*Admin granted\\r\\u001b\[2K$/));
    expect(lines).toContainEqual(
      expect.stringContaining(
        `Job "${escapedId}" of queue "${HOSTILE_QUEUE.replace('\n', '\\n')}" runs under a new root trace: telemetry metadata is not JSON`,
      ),
    );
  });
});

describe('log text escaping', () => {
  it('escapes every character that can end a line or reorder what a terminal shows, and quotes what could end a field', () => {
    expect(escapeLogText('a\nb\rc\u0000d\u001be\u0085f\u2028g\u2029h\u202ei\u2066j\tk')).toBe(
      'a\\nb\\rc\\u0000d\\u001be\\u0085f\\u2028g\\u2029h\\u202ei\\u2066j\\tk',
    );
    expect(formatFieldValue('email-42')).toBe('email-42');
    expect(formatFieldValue('a b')).toBe('"a b"');
    expect(formatFieldValue('x}: y')).toBe('"x}: y"');
    expect(formatFieldValue('k=v')).toBe('"k=v"');
    expect(formatFieldValue('say "hi"\\')).toBe('"say \\"hi\\"\\\\"');
    expect(formatFieldValue('')).toBe('""');
    expect(formatFieldValue('line\u2028break')).toBe('"line\\u2028break"');
  });
});
