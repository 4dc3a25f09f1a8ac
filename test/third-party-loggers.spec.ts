import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import winston from 'winston';
import { ContextualTaskSpan, currentTaskFields, TraceTask, TracedQueue } from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { inRequest, spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

/** Collects what a logger writes, one JSON record per line. */
function memoryStream(): { stream: Writable; records: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return {
    stream,
    records: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('currentTaskFields() with the loggers Nest apps use beside TaskLogger', () => {
  it('gives pino (mixin) and winston (format) lines the ids of the task span that wrote them', async () => {
    const queueName = uniqueQueueName('third-party-loggers');
    const pinoOutput = memoryStream();
    const winstonOutput = memoryStream();
    // As nestjs-pino's `pinoHttp: { mixin }` and a nest-winston format would configure them.
    const pinoLogger = pino({ mixin: () => currentTaskFields(), base: undefined, timestamp: false }, pinoOutput.stream);
    const taskFields = winston.format((info) => Object.assign(info, currentTaskFields()));
    const winstonLogger = winston.createLogger({
      format: winston.format.combine(taskFields(), winston.format.json()),
      transports: [new winston.transports.Stream({ stream: winstonOutput.stream })],
    });

    @Processor(queueName)
    @TraceTask(new ContextualTaskSpan())
    class ReportProcessor extends WorkerHost {
      async process(job: Job<{ account: string }>) {
        pinoLogger.info('building report');
        winstonLogger.info('building report');
        return job.id;
      }
    }

    state.app = await startApp({ imports: [BullModule.registerQueue({ name: queueName })], providers: [ReportProcessor] });
    const job = await inRequest(() => new TracedQueue(queueOf(state.app!, queueName)).add('report', { account: 'acct-secret-77' }));
    await finished(job);
    pinoLogger.info('outside any job');
    winstonLogger.info('outside any job');

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
    const [task] = spansNamed(spans, 'task', queueName);
    const [send] = spansNamed(spans, `send ${queueName}`);
    const expected = {
      task_id: job.id,
      attempt: 1,
      trace_id: task.spanContext().traceId,
      span_id: task.spanContext().spanId,
      trace_flags: '01',
      upstream_span_id: send.spanContext().spanId,
    };
    for (const records of [pinoOutput.records(), winstonOutput.records()]) {
      expect(records).toHaveLength(2);
      const [inJob, outside] = records;
      expect(inJob).toMatchObject(expected);
      expect(inJob.msg ?? inJob.message).toBe('building report');
      expect(outside).not.toHaveProperty('task_id');
      expect(outside).not.toHaveProperty('trace_id');
      expect(JSON.stringify(records)).not.toContain('acct-secret-77');
    }
  });
});
