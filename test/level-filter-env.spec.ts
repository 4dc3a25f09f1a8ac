import { afterEach, describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { randomUUID } from 'node:crypto';
import { DefaultTaskSpan, LEVEL_FILTER_ENV, LevelFilter, SpanLevel, TraceTask } from '../lib/index.js';
import { resolveLevelFilter } from '../lib/levels/resolve-level-filter.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { RecordingLogger } from './support/recording-logger.js';
import { spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

function recordingWarn() {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (message: string) => warnings.push(message) } };
}

describe('JOB_TRACING_LEVEL with a typo', () => {
  afterEach(() => {
    delete process.env[LEVEL_FILTER_ENV];
  });

  it('reports each invalid directive once, by name, ignores it, and applies the valid ones beside it', () => {
    const { warnings, logger } = recordingWarn();
    // Each test uses a value of its own: a value is reported once per process.
    const value = `warn,email=loud,${randomUUID().slice(0, 8)}=,reports=debug`;
    const filter = resolveLevelFilter('info', { name: LEVEL_FILTER_ENV, value }, logger);
    expect(filter.enabled(SpanLevel.INFO, 'other')).toBe(false); // `warn` applies
    expect(filter.enabled(SpanLevel.DEBUG, 'reports')).toBe(true);
    expect(filter.enabled(SpanLevel.INFO, 'email')).toBe(false); // its directive was ignored
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Ignoring invalid JOB_TRACING_LEVEL directives "email=loud", "[0-9a-f]{8}=": .*the other directives apply$/);

    resolveLevelFilter('info', { name: LEVEL_FILTER_ENV, value }, logger);
    expect(warnings).toHaveLength(1);
  });

  it('with no valid directive at all, falls back to the level option', () => {
    const { warnings, logger } = recordingWarn();
    const filter = resolveLevelFilter('info,email=debug', { name: LEVEL_FILTER_ENV, value: `email=loud-${randomUUID()}` }, logger);
    expect(filter.enabled(SpanLevel.DEBUG, 'email')).toBe(true);
    expect(filter.enabled(SpanLevel.DEBUG, 'other')).toBe(false);
    expect(warnings).toEqual([expect.stringMatching(/the level option applies instead$/)]);
  });

  it('an invalid level option in code still fails at start-up, naming the directive', () => {
    const { logger } = recordingWarn();
    expect(() => resolveLevelFilter('info,email=loud', { name: LEVEL_FILTER_ENV, value: undefined }, logger)).toThrow(/"email=loud"/);
    expect(() => LevelFilter.parse('info,email=loud')).toThrow(/"email=loud"/);
  });

  it('never stops the app: it starts, warns once, and the valid directive records the queue\'s DEBUG spans', async () => {
    const queueName = uniqueQueueName('env-typo');
    @Processor(queueName)
    @TraceTask(new DefaultTaskSpan({ level: SpanLevel.DEBUG }))
    class DebugSpanProcessor extends WorkerHost {
      async process() {
        return 'ran';
      }
    }
    const typo = `loud-${randomUUID().slice(0, 8)}`;
    process.env[LEVEL_FILTER_ENV] = `${typo},${queueName}=debug`;
    const logger = new RecordingLogger();
    const app = (state.app = await startApp({
      logger,
      imports: [BullModule.registerQueue({ name: queueName })],
      providers: [DebugSpanProcessor],
    }));
    expect(logger.warnings.filter((warning) => warning.includes(typo))).toEqual([
      expect.stringContaining(`Ignoring invalid ${LEVEL_FILTER_ENV} directive "${typo}"`),
    ]);
    expect(await finished(await queueOf(app, queueName).add('job', {}))).toBe('ran');
    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
    expect(spansNamed(spans, 'task', queueName)).toHaveLength(1);
  });
});
