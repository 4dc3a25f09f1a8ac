import type { Attributes } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { jobLifecycleAttributes } from './job-lifecycle-attributes.js';
import { SCHEDULER_ID_ATTRIBUTE, schedulerIdOf } from './scheduler-run.js';

/**
 * The attributes of one attempt's span, which log lines inside it carry too:
 * the task's, the messaging conventions', the job's lifecycle, then the
 * strategy's own, which win. Built into one object: the SDK copies it anyway.
 */
export function taskFields(job: Job, strategyFields: Attributes | undefined): Attributes {
  const fields: Attributes = {
    task_id: job.id,
    attempt: job.attemptsMade + 1,
    'messaging.system': 'bullmq',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': job.queueName,
    'messaging.message.id': job.id,
  };
  const schedulerId = schedulerIdOf(job);
  if (schedulerId !== undefined) fields[SCHEDULER_ID_ATTRIBUTE] = schedulerId;
  jobLifecycleAttributes(job, fields);
  if (strategyFields) for (const key in strategyFields) fields[key] = strategyFields[key];
  return fields;
}
