// `npm run bench`: the cost of tracing a job, against untraced and BullMQ-native
// baselines, in interleaved rounds of one process per mode; ratios against `none`
// are taken within each round, then the median across rounds.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Redis } from 'ioredis';
import { BASELINE, EXTRA_MODES, type MeasuredRound, type Mode, MODES, type RoundResult } from './modes.js';

const { values } = parseArgs({
  options: {
    // At 5,000 jobs the measured window is ~0.3 s and the per-round spread on a shared 2-core machine exceeds 10 us/job.
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '5' },
    modes: { type: 'string', default: MODES.join(',') },
    soak: { type: 'string', default: '0' },
    warmup: { type: 'string', default: '2000' },
    out: { type: 'string', default: fileURLToPath(new URL('../RESULTS.md', import.meta.url)) },
  },
});
const FIGURES: Array<[keyof MeasuredRound, string, number]> = [
  ['enqueuePerSecond', 'enqueue jobs/s', 0],
  ['processPerSecond', 'process jobs/s', 0],
  ['cpuMicrosPerJob', 'CPU us/job', 1],
  ['peakRssMb', 'peak RSS MB', 0],
  ['spansPerJob', 'spans/job', 2],
  ['redisCommandsPerJob', 'Redis cmds/job', 2],
  ['bytesPerJob', 'stored bytes/job', 0],
  ['memoryPerJob', 'MEMORY USAGE/job', 0],
];

const jobs = Number(values.jobs);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);
const warmup = Number(values.warmup);
const modes = values.modes.split(',') as Mode[];
for (const mode of modes) {
  if (![...MODES, ...EXTRA_MODES].includes(mode)) {
    console.error(`Unknown mode "${mode}"; modes: ${[...MODES, ...EXTRA_MODES].join(', ')}.`);
    process.exit(2);
  }
}
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = promisify(execFile);
const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });

try {
  await redis.connect();
} catch {
  console.error(`No Redis at ${redisUrl}: start one (redis-server, apt-get install -y redis-server) or set REDIS_URL.`);
  process.exit(1);
}

const micro = JSON.parse((await run(process.execPath, [script('micro.js')])).stdout) as Record<string, number>;
console.log('micro (CPU us per call, no Redis):', format(micro));

const results: MeasuredRound[][] = [];
for (let round = 1; round <= rounds; round++) {
  const measured: MeasuredRound[] = [];
  for (const mode of modes) measured.push(await runMode(mode, jobs));
  results.push(measured);
  console.log(`round ${round}/${rounds}:`, measured.map((m) => `${m.mode} ${m.cpuMicrosPerJob.toFixed(1)}us`).join(', '));
}
const soak = Number(values.soak) > 0 ? await runSoak(Number(values.soak)) : undefined;
const listpackValue = ((await redis.config('GET', 'hash-max-listpack-value')) as string[])[1];
await redis.quit();

const report = renderReport(results, micro, soak);
console.log(`\n${report}`);
await writeFile(values.out, report);

async function runMode(mode: Mode, jobCount: number, nodeArgs: string[] = [], extraArgs: string[] = []): Promise<MeasuredRound> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const before = await totalCommands();
  const { stdout } = await run(process.execPath, [
    ...nodeArgs,
    script('worker.js'),
    `--mode=${mode}`,
    `--jobs=${jobCount}`,
    `--concurrency=${concurrency}`,
    `--prefix=${prefix}`,
    `--redis=${redisUrl}`,
    `--warmup=${warmup}`,
    ...extraArgs,
  ], { maxBuffer: 1 << 20 });
  const commands = (await totalCommands()) - before - 1; // less our own INFO
  const result = JSON.parse(stdout) as RoundResult;
  const stored = await storedBytesPerJob(prefix, Math.min(100, jobCount));
  await removeKeys(prefix);
  // Warm-up jobs go through Redis like the others; the process's own start-up is shared by all.
  return { ...result, redisCommandsPerJob: commands / (jobCount + warmup), ...stored };
}

/** One long contextual run, with memory sampled at every tenth of its jobs. */
async function runSoak(total: number): Promise<NonNullable<RoundResult['memorySamples']>> {
  return (await runMode('job-tracing-contextual', total, ['--expose-gc'], ['--rss-samples=10'])).memorySamples ?? [];
}

async function totalCommands(): Promise<number> {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/calls=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** Per job hash: the bytes of its fields and values, and what Redis's MEMORY USAGE reports for it. */
async function storedBytesPerJob(prefix: string, sample: number): Promise<{ bytesPerJob: number; memoryPerJob: number }> {
  let bytes = 0;
  let memory = 0;
  for (let id = 1; id <= sample; id++) {
    const key = `${prefix}:bench:${id}`;
    const fields = await redis.hgetall(key);
    bytes += Object.entries(fields).reduce((sum, [field, value]) => sum + Buffer.byteLength(field) + Buffer.byteLength(value), 0);
    memory += Number((await redis.memory('USAGE', key)) ?? 0);
  }
  return { bytesPerJob: bytes / sample, memoryPerJob: memory / sample };
}

async function removeKeys(prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

function script(name: string): string {
  return fileURLToPath(new URL(name, import.meta.url));
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function format(record: Record<string, number>): string {
  return Object.entries(record)
    .map(([key, value]) => `${key}=${value.toFixed(2)}`)
    .join(' ');
}

function renderReport(
  all: MeasuredRound[][],
  microResults: Record<string, number>,
  soakRss?: NonNullable<RoundResult['memorySamples']>,
): string {
  const header = `| mode | ${FIGURES.map(([, label]) => label).join(' | ')} | CPU us/job over none |`;
  const rows = modes.map((mode) => {
    const cells = FIGURES.map(([key, , digits]) => {
      const value = median(all.map((round) => Number(round.find((m) => m.mode === mode)![key])));
      const ratio = median(
        all.map((round) => {
          const own = Number(round.find((m) => m.mode === mode)![key]);
          const base = Number(round.find((m) => m.mode === BASELINE)?.[key]);
          return base ? own / base : NaN;
        }),
      );
      return `${value.toFixed(digits)} (${Number.isNaN(ratio) ? '-' : `${ratio.toFixed(2)}x`})`;
    });
    const extraCpu = median(
      all.map((round) => round.find((m) => m.mode === mode)!.cpuMicrosPerJob - (round.find((m) => m.mode === BASELINE)?.cpuMicrosPerJob ?? NaN)),
    );
    return `| ${mode} | ${cells.join(' | ')} | ${Number.isNaN(extraCpu) ? '-' : `${extraCpu >= 0 ? '+' : ''}${extraCpu.toFixed(1)}`} |`;
  });
  const command =
    `npm run bench -- --jobs=${jobs} --concurrency=${concurrency} --rounds=${rounds} --warmup=${warmup}` +
    (values.modes !== MODES.join(',') ? ` --modes=${values.modes}` : '') +
    (soakRss ? ` --soak=${values.soak}` : '');
  return [
    '# Benchmark results',
    '',
    `Date: ${new Date().toISOString().slice(0, 10)}. Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, Redis at ${new URL(redisUrl).host}.`,
    `Command: \`${command}\``,
    '',
    `Each cell: the median over ${rounds} interleaved rounds, and in brackets the median of the per-round ratio against \`none\`` +
      ' (the OpenTelemetry SDK registered, no job tracing). Each mode runs in its own process.' +
      (warmup > 0
        ? ` Each process first adds and processes ${warmup} jobs unmeasured (start-up and JIT warm-up), then measures ${jobs}.`
        : ' Nothing is warmed up: start-up and JIT costs are charged to the jobs.'),
    '',
    header,
    `|${'---|'.repeat(FIGURES.length + 2)}`,
    ...rows,
    '',
    `Stored bytes/job: the job hash's field names and values. MEMORY USAGE/job: what Redis reports for the hash; it jumps once a` +
      ` value outgrows hash-max-listpack-value (${listpackValue} here), as \`opts\` does when it carries a stored trace context` +
      ' (the hash turns from a listpack into a hashtable).',
    '',
    '## Per-job wrapper cost without Redis (CPU us per call, 200,000 calls)',
    '',
    '| handler only | bare startSpan/end | span + context.with | DefaultTaskSpan | ContextualTaskSpan |',
    '|---|---|---|---|---|',
    `| ${[microResults.handlerOnly, microResults.bareSpan, microResults.contextWrapper, microResults.defaultTaskSpan, microResults.contextualTaskSpan].map((v) => v.toFixed(2)).join(' | ')} |`,
    ...(soakRss
      ? [
          '',
          `## RSS across one run of ${values.soak} jobs (job-tracing-contextual)`,
          '',
          `After each tenth of the jobs processed, RSS MB: ${soakRss.map((m) => m.rssMb.toFixed(0)).join(', ')}.`,
          `Live heap MB after a full GC: ${soakRss.map((m) => m.heapAfterGcMb?.toFixed(1) ?? '-').join(', ')}.`,
        ]
      : []),
    '',
  ].join('\n');
}
