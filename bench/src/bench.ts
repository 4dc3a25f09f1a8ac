// `npm run bench`: the cost of tracing a job, against untraced and BullMQ-native
// baselines and against the least tracing can cost (`floor`), in interleaved rounds
// of one process per mode; ratios against `none` and multiples of the floor's added
// CPU are taken within each round, then the median across rounds.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Redis } from 'ioredis';
import {
  BASELINE,
  EXTRA_MODES,
  FLOOR,
  type MeasuredRound,
  type Mode,
  MODES,
  type RoundResult,
  WITH_METRICS,
  WITHOUT_METRICS,
} from './modes.js';

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
    json: { type: 'string', default: fileURLToPath(new URL('../results.json', import.meta.url)) },
    // For a quick check of the Redis modes only: the micro benchmark takes a minute or two.
    'skip-micro': { type: 'boolean', default: false },
  },
});
const FIGURES: Array<[keyof MeasuredRound, string, number]> = [
  ['enqueuePerSecond', 'enqueue jobs/s', 0],
  ['enqueueCpuMicrosPerJob', 'enqueue CPU us/job', 1],
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

const micro = values['skip-micro']
  ? []
  : (JSON.parse((await run(process.execPath, [script('micro.js')], { maxBuffer: 1 << 20 })).stdout) as MicroResult[]);
if (micro.length) console.log('micro (CPU us per call, no Redis):', micro.map(({ key, micros }) => `${key}=${micros.toFixed(2)}`).join(' '));

const results: MeasuredRound[][] = [];
for (let round = 1; round <= rounds; round++) {
  const measured: MeasuredRound[] = [];
  for (const mode of modes) measured.push(await runMode(mode, jobs));
  results.push(measured);
  console.log(
    `round ${round}/${rounds}:`,
    measured
      .map((m) => {
        const added = addedCpu(measured, m.mode);
        const overFloor = addedOverFloor(measured, m.mode);
        return `${m.mode} ${m.cpuMicrosPerJob.toFixed(1)}us (${signed(added, 1)}, ${multiple(overFloor)} floor)`;
      })
      .join(', ') + (Number.isNaN(metricsCost(measured)) ? '' : `; metrics ${signed(metricsCost(measured), 1)}us`),
  );
}
const soak = Number(values.soak) > 0 ? await runSoak(Number(values.soak)) : undefined;
const listpackValue = ((await redis.config('GET', 'hash-max-listpack-value')) as string[])[1];
await redis.quit();

const report = renderReport(results, micro, soak);
console.log(`\n${report}`);
await writeFile(values.out, report);
await writeFile(values.json, `${JSON.stringify(summarize(results), null, 2)}\n`);
console.log(`Wrote ${values.out} and ${values.json}.`);

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

/** Of the rounds that have a figure (NaN: none). */
function median(numbers: number[]): number {
  const sorted = numbers.filter((number) => !Number.isNaN(number)).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

interface MicroResult {
  key: string;
  label: string;
  /** Median across rounds. */
  micros: number;
  /** Least across rounds. */
  least: number;
}

/** The figures of one mode, medians across rounds: what bench/results.json holds. */
interface ModeSummary {
  cpuMicrosPerJob: number;
  /** CPU per job over `none`'s in the same round. */
  addedCpuMicros: number;
  /** addedCpuMicros as a multiple of the floor's, in the same round. */
  addedOverFloor: number | null;
  processRatio: number;
  /** Enqueue throughput over `none`'s (a plain Queue.add), in the same round. */
  enqueueRatio: number;
  enqueueCpuMicrosPerJob: number;
  spansPerJob: number;
  redisCommandsPerJob: number;
}

function of(round: MeasuredRound[], mode: Mode): MeasuredRound | undefined {
  return round.find((m) => m.mode === mode);
}

function addedCpu(round: MeasuredRound[], mode: Mode): number {
  return of(round, mode)!.cpuMicrosPerJob - (of(round, BASELINE)?.cpuMicrosPerJob ?? NaN);
}

/** What recording the metrics into an SDK MeterProvider adds per job: NaN unless both modes ran. */
function metricsCost(round: MeasuredRound[]): number {
  return (of(round, WITH_METRICS)?.cpuMicrosPerJob ?? NaN) - (of(round, WITHOUT_METRICS)?.cpuMicrosPerJob ?? NaN);
}

/** NaN in a round where the floor cost nothing measurable over `none`: noise, and no base for a multiple. */
function addedOverFloor(round: MeasuredRound[], mode: Mode): number {
  const floorAdded = addedCpu(round, FLOOR);
  return floorAdded > 0 ? addedCpu(round, mode) / floorAdded : NaN;
}

function ratio(round: MeasuredRound[], mode: Mode, key: keyof MeasuredRound): number {
  const base = Number(of(round, BASELINE)?.[key]);
  return base ? Number(of(round, mode)![key]) / base : NaN;
}

/** NaN (a baseline not run) becomes null in the JSON. */
function figure(value: number): number | null {
  return Number.isFinite(value) ? Number(value.toFixed(3)) : null;
}

function summarize(all: MeasuredRound[][]) {
  const perMode = (mode: Mode, pick: (round: MeasuredRound[]) => number) => figure(median(all.map(pick)));
  const summaries = Object.fromEntries(
    modes.map((mode): [string, ModeSummary] => [
      mode,
      {
        cpuMicrosPerJob: perMode(mode, (round) => of(round, mode)!.cpuMicrosPerJob)!,
        addedCpuMicros: perMode(mode, (round) => addedCpu(round, mode))!,
        addedOverFloor: perMode(mode, (round) => addedOverFloor(round, mode)),
        processRatio: perMode(mode, (round) => ratio(round, mode, 'processPerSecond'))!,
        enqueueRatio: perMode(mode, (round) => ratio(round, mode, 'enqueuePerSecond'))!,
        enqueueCpuMicrosPerJob: perMode(mode, (round) => of(round, mode)!.enqueueCpuMicrosPerJob)!,
        spansPerJob: perMode(mode, (round) => of(round, mode)!.spansPerJob)!,
        redisCommandsPerJob: perMode(mode, (round) => of(round, mode)!.redisCommandsPerJob)!,
      },
    ]),
  );
  return {
    command: commandLine(),
    date: new Date().toISOString(),
    rounds,
    jobs,
    modes: summaries,
    // CPU us per job of job-tracing-metrics over job-tracing's in the same round, median.
    metricsCpuMicrosPerJob: figure(median(all.map(metricsCost))),
    measuredRounds: all,
  };
}

function commandLine(): string {
  return (
    `npm run bench -- --jobs=${jobs} --concurrency=${concurrency} --rounds=${rounds} --warmup=${warmup}` +
    (values.modes !== MODES.join(',') ? ` --modes=${values.modes}` : '') +
    (values.soak !== '0' ? ` --soak=${values.soak}` : '') +
    (values['skip-micro'] ? ' --skip-micro' : '')
  );
}

function microSection(microResults: MicroResult[]): string[] {
  return [
    '',
    '## Where the time goes, without Redis (CPU us per call, interleaved rounds; `node bench/dist/micro.js --table`)',
    '',
    '| case | median | least |',
    '|---|---|---|',
    ...microResults.map(({ label, micros, least }) => `| ${label} | ${micros.toFixed(2)} | ${least.toFixed(2)} |`),
  ];
}

function multiple(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : '-';
}

function signed(value: number, digits: number): string {
  return Number.isNaN(value) ? '-' : `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
}

function renderReport(all: MeasuredRound[][], microResults: MicroResult[], soakRss?: NonNullable<RoundResult['memorySamples']>): string {
  const header = `| mode | ${FIGURES.map(([, label]) => label).join(' | ')} | CPU us/job over none | multiple of the floor's |`;
  const rows = modes.map((mode) => {
    const cells = FIGURES.map(([key, , digits]) => {
      const value = median(all.map((round) => Number(of(round, mode)![key])));
      const modeRatio = median(all.map((round) => ratio(round, mode, key)));
      return `${value.toFixed(digits)} (${Number.isNaN(modeRatio) ? '-' : `${modeRatio.toFixed(2)}x`})`;
    });
    const added = median(all.map((round) => addedCpu(round, mode)));
    const overFloor = median(all.map((round) => addedOverFloor(round, mode)));
    return `| ${mode} | ${cells.join(' | ')} | ${signed(added, 1)} | ${mode === BASELINE ? '-' : multiple(overFloor)} |`;
  });
  const hasFloor = modes.includes(FLOOR) && modes.includes(BASELINE);
  const tracedModes = modes.filter((mode) => mode !== BASELINE && mode !== FLOOR);
  const perRound = hasFloor
    ? [
        '',
        "## Added CPU as a multiple of the floor's, per round",
        '',
        `CPU us/job over \`none\`, divided by the floor's over \`none\` in the same round; the floor's own added CPU in the first column.` +
          " A round where the floor's added CPU is not above zero (noise) has no multiples, and the medians leave it out.",
        '',
        `| round | floor added us/job | ${tracedModes.join(' | ')} |`,
        `|${'---|'.repeat(tracedModes.length + 2)}`,
        ...all.map(
          (round, index) =>
            `| ${index + 1} | ${signed(addedCpu(round, FLOOR), 1)} | ${tracedModes.map((mode) => multiple(addedOverFloor(round, mode))).join(' | ')} |`,
        ),
        `| median | ${signed(median(all.map((round) => addedCpu(round, FLOOR))), 1)} | ${tracedModes
          .map((mode) => multiple(median(all.map((round) => addedOverFloor(round, mode)))))
          .join(' | ')} |`,
      ]
    : [];
  return [
    '# Benchmark results',
    '',
    `Date: ${new Date().toISOString().slice(0, 10)}. Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, Redis at ${new URL(redisUrl).host}.`,
    `Command: \`${commandLine()}\` (the medians are also in bench/results.json).`,
    '',
    `Each cell: the median over ${rounds} interleaved rounds, and in brackets the median of the per-round ratio against \`none\`` +
      ' (the OpenTelemetry SDK registered, no job tracing). Each mode runs in its own process.' +
      (warmup > 0
        ? ` Each process first adds and processes ${warmup} jobs unmeasured (start-up and JIT warm-up), then measures ${jobs}.`
        : ' Nothing is warmed up: start-up and JIT costs are charged to the jobs.') +
      ' `floor` is the least tracing a job can cost: its processor starts a span, runs the handler under `context.with`' +
      " and ends the span. The last column is each mode's CPU over `none` as a multiple of the floor's, within each round." +
      ' Enqueue CPU is measured while the worker is paused.',
    '',
    header,
    `|${'---|'.repeat(FIGURES.length + 3)}`,
    ...rows,
    '',
    `Stored bytes/job: the job hash's field names and values. MEMORY USAGE/job: what Redis reports for the hash; it jumps once a` +
      ` value outgrows hash-max-listpack-value (${listpackValue} here), as \`opts\` does when it carries a stored trace context` +
      ' (the hash turns from a listpack into a hashtable).',
    ...perRound,
    ...(all.some((round) => !Number.isNaN(metricsCost(round)))
      ? [
          '',
          `## The cost of metrics`,
          '',
          `CPU us/job of \`${WITH_METRICS}\` (an SDK MeterProvider registered: the messaging metrics are recorded) over` +
            ` \`${WITHOUT_METRICS}\`'s (the same, into the API's no-op meter), per round: ${all.map((round) => signed(metricsCost(round), 1)).join(', ')};` +
            ` median ${signed(median(all.map(metricsCost)), 1)}. The micro benchmark's \`defaultMetrics\` against \`defaultTaskSpan\` gives the same without Redis.`,
        ]
      : []),
    ...(microResults.length ? microSection(microResults) : []),
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
