// A process in which @opentelemetry/api-logs cannot be resolved, as in an application that
// does not install the optional peer (this suite installs it): a sandboxed processor wrapped
// with exceptionEvents fails an attempt. Prints what happened as JSON on its last line.
import { SpanStatusCode } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { registerHooks } from 'node:module';
import { setupTracing } from './support.js';

let resolutionsRefused = 0;
const unhandled: string[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(String(reason)));
// Before the library loads: every resolution of the peer, by import() or require(), fails as for a missing package.
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier !== '@opentelemetry/api-logs') return nextResolve(specifier, context);
    resolutionsRefused++;
    throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
  },
});

const exporter = setupTracing();
const { traceSandboxedProcessor } = await import('nestjs-job-tracing/sandbox');
const quiet = { error() {}, warn() {}, log() {} };
const traced = traceSandboxedProcessor(
  async () => {
    throw new Error('first attempt fails');
  },
  { exceptionEvents: true, logger: quiet, logAttempts: false },
);
await new Promise((resolve) => setTimeout(resolve, 50)); // the peer's lazy import settles
const job = { id: '1', name: 'job', queueName: 'without-api-logs', attemptsMade: 0, data: {}, opts: {} } as unknown as Job;
const rejectedWith = await traced(job).then(
  () => undefined,
  (error: Error) => error.message,
);
const [span] = exporter.getFinishedSpans();
process.stdout.write(
  `${JSON.stringify({
    resolutionsRefused,
    rejectedWith,
    spanStatus: span?.status.code === SpanStatusCode.ERROR ? SpanStatusCode.ERROR : span?.status.code,
    exceptionEvents: span?.events.filter((event) => event.name === 'exception').length,
    unhandled,
  })}\n`,
);
