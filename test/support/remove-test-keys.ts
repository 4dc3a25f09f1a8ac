// Jest runs this before each test file (setupFilesAfterEnv): after the file, the
// BullMQ keys of every queue it named with uniqueQueueName are deleted, whatever the prefix.
import { afterAll } from '@jest/globals';
import { deleteKeys } from '../../sample/src/delete-keys.js';
import { takeCreatedQueueNames, testRunId } from './queues.js';

afterAll(async () => {
  const names = takeCreatedQueueNames();
  if (names.length === 0 || !process.env.REDIS_URL) return;
  // Keys are `<prefix>:<queue name>:<suffix>`; one SCAN for this run's id, then this file's names. A name
  // may only start a queue's name (log-injection.spec appends a forged log line to one), so no closing `:`.
  const segments = names.map((name) => `:${name}`);
  await deleteKeys(process.env.REDIS_URL, `*${testRunId()}*`, (key) => segments.some((segment) => key.includes(segment)));
});
