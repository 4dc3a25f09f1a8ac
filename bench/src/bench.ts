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
import { pinning, type Pinning } from './pinning.js';
import { producerLines, type ProducerResults } from './producer-report.js';
import { removeKeys } from './redis-keys.js';
import { type Interval, median } from './statistics.js';

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
    // The producer benchmark (bench/src/producer.ts) takes under a minute at its default 30 rounds.
    'skip-producer': { type: 'boolean', default: false },
    'producer-rounds': { type: 'string', default: '30' },
    // Measured processes on one CPU, Redis (when it runs here, and may be pinned) on another; --no-pin leaves both alone.
    pin: { type: 'boolean', default: true },
  },
  allowNegative: true,
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

const pinned: Pinning = values.pin ? await pinning(redis, redisUrl) : { describe: 'not pinned (--no-pin)', command: (args) => args, restore() {} };
console.log(`CPUs: ${pinned.describe}.`);
process.once('exit', () => pinned.restore());

const micro = values['skip-micro'] ? [] : (JSON.parse(await measure([script('micro.js')])) as MicroResult[]);
if (micro.length) console.log('micro (CPU us per call, no Redis):', micro.map(({ key, micros }) => `${key}=${micros.toFixed(2)}`).join(' '));
const producer = values['skip-producer']
  ? undefined
  : (JSON.parse(await measure([script('producer.js'), `--rounds=${values['producer-rounds']}`, `--redis=${redisUrl}`])) as ProducerResults);
if (producer) console.log(producerLines(producer).join('\n'));

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
pinned.restore();
await redis.quit();

const report = renderReport(results, micro, producer, soak);
console.log(`\n${report}`);
await writeFile(values.out, report);
await writeFile(values.json, `${JSON.stringify(summarize(results, micro, producer, soak), null, 2)}\n`);
console.log(`Wrote ${values.out} and ${values.json}.`);

async function runMode(mode: Mode, jobCount: number, nodeArgs: string[] = [], extraArgs: string[] = []): Promise<MeasuredRound> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const before = await totalCommands();
  const stdout = await measure([
    ...nodeArgs,
    script('worker.js'),
    `--mode=${mode}`,
    `--jobs=${jobCount}`,
    `--concurrency=${concurrency}`,
    `--prefix=${prefix}`,
    `--redis=${redisUrl}`,
    `--warmup=${warmup}`,
    ...extraArgs,
  ]);
  const commands = (await totalCommands()) - before - 1; // less our own INFO
  const result = JSON.parse(stdout) as RoundResult;
  const stored = await storedBytesPerJob(prefix, Math.min(100, jobCount));
  await removeKeys(redis, prefix);
  // Warm-up jobs go through Redis like the others; the process's own start-up is shared by all.
  return { ...result, redisCommandsPerJob: commands / (jobCount + warmup), ...stored };
}

/** One long contextual run, with memory sampled at every tenth of its jobs. */
type SoakSamples = NonNullable<RoundResult['memorySamples']>;

async function runSoak(total: number): Promise<SoakSamples> {
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

/** Runs a measured Node process (pinned, when pinning) and returns what it printed. */
async function measure(args: string[]): Promise<string> {
  const [file, ...rest] = pinned.command([process.execPath, ...args]);
  return (await run(file, rest, { maxBuffer: 1 << 22 })).stdout;
}

function script(name: string): string {
  return fileURLToPath(new URL(name, import.meta.url));
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
  /** processRatio lies outside the noise band: none's own spread across rounds. */
  processRatioResolved: boolean;
  /** Enqueue throughput over `none`'s (a plain Queue.add), in the same round. */
  enqueueRatio: number;
  enqueueRatioResolved: boolean;
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

/** `none`'s own spread across rounds, per figure: its least and greatest over its median. */
type NoiseBand = Record<'enqueuePerSecond' | 'processPerSecond' | 'cpuMicrosPerJob' | 'enqueueCpuMicrosPerJob', Interval>;

function noiseBand(all: MeasuredRound[][]): NoiseBand | undefined {
  if (!modes.includes(BASELINE)) return undefined;
  const band = (key: keyof NoiseBand): Interval => {
    const values = all.map((round) => Number(of(round, BASELINE)![key]));
    const middle = median(values);
    return [Math.min(...values) / middle, Math.max(...values) / middle];
  };
  return {
    enqueuePerSecond: band('enqueuePerSecond'),
    processPerSecond: band('processPerSecond'),
    cpuMicrosPerJob: band('cpuMicrosPerJob'),
    enqueueCpuMicrosPerJob: band('enqueueCpuMicrosPerJob'),
  };
}

/** A multiple of `none` that differs from 1 by less than none differs from itself between rounds tells nothing. */
function outsideBand(multiple: number, band: Interval | undefined): boolean {
  return band !== undefined && (multiple < band[0] || multiple > band[1]);
}

/** Met when at the goal or inside the noise band (indistinguishable from `none`). */
function throughputGoal(mode: Mode, value: number | null, goal: number, band: Interval | undefined) {
  if (value === null || !modes.includes(mode)) return undefined;
  return { mode, value, goal, met: value >= goal || (band !== undefined && value >= band[0]), resolved: outsideBand(value, band) };
}

/** Least over least: on a shared machine interference only adds time. */
function microRatio(microResults: MicroResult[], of: string, over: string): number | null {
  const [a, b] = [of, over].map((key) => microResults.find((result) => result.key === key)?.least);
  return a && b ? figure(a / b) : null;
}

function summarize(all: MeasuredRound[][], microResults: MicroResult[], producerResults?: ProducerResults, soakRss?: SoakSamples) {
  const noise = noiseBand(all);
  const perMode = (mode: Mode, pick: (round: MeasuredRound[]) => number) => figure(median(all.map(pick)));
  const summaries = Object.fromEntries(
    modes.map((mode): [string, ModeSummary] => {
      const processRatio = perMode(mode, (round) => ratio(round, mode, 'processPerSecond'))!;
      const enqueueRatio = perMode(mode, (round) => ratio(round, mode, 'enqueuePerSecond'))!;
      return [
        mode,
        {
          cpuMicrosPerJob: perMode(mode, (round) => of(round, mode)!.cpuMicrosPerJob)!,
          addedCpuMicros: perMode(mode, (round) => addedCpu(round, mode))!,
          addedOverFloor: perMode(mode, (round) => addedOverFloor(round, mode)),
          processRatio,
          processRatioResolved: outsideBand(processRatio, noise?.processPerSecond),
          enqueueRatio,
          enqueueRatioResolved: outsideBand(enqueueRatio, noise?.enqueuePerSecond),
          enqueueCpuMicrosPerJob: perMode(mode, (round) => of(round, mode)!.enqueueCpuMicrosPerJob)!,
          spansPerJob: perMode(mode, (round) => of(round, mode)!.spansPerJob)!,
          redisCommandsPerJob: perMode(mode, (round) => of(round, mode)!.redisCommandsPerJob)!,
        },
      ];
    }),
  );
  const extraCommands = (mode: Mode) =>
    summaries[mode] && summaries[BASELINE] ? figure(summaries[mode].redisCommandsPerJob - summaries[BASELINE].redisCommandsPerJob) : null;
  const tracedAdd = producerResults?.ratios.find((r) => r.of === 'tracedAdd' && r.over === 'handWrittenAdd');
  const overOtel = producerResults?.ratios.find((r) => r.of === 'tracedAdd' && r.over === 'bullmqOtelAdd');
  return {
    command: commandLine(),
    date: new Date().toISOString(),
    cpus: pinned.describe,
    rounds,
    jobs,
    // none's spread across rounds, as its least and greatest over its median: multiples inside it are not resolved.
    noise,
    goals: {
      contextualEnqueue: throughputGoal('job-tracing-contextual', summaries['job-tracing-contextual']?.enqueueRatio ?? null, 0.9, noise?.enqueuePerSecond),
      jobTracingProcess: throughputGoal('job-tracing', summaries['job-tracing']?.processRatio ?? null, 0.95, noise?.processPerSecond),
      // First-try jobs: every round's jobs succeed at once. Goal: 0.
      extraRedisCommandsPerJob: { 'job-tracing': extraCommands('job-tracing'), 'job-tracing-contextual': extraCommands('job-tracing-contextual') },
    },
    modes: summaries,
    // CPU us per job of job-tracing-metrics over job-tracing's in the same round, median.
    metricsCpuMicrosPerJob: figure(median(all.map(metricsCost))),
    micro: microResults.length
      ? {
          // Goal for both: <= 1.15.
          defaultOverFloorAttributes: microRatio(microResults, 'defaultTaskSpan', 'floorAttributes'),
          contextualOverHandWritten: microRatio(microResults, 'contextualTaskSpan', 'handWrittenContextual'),
          cases: microResults,
        }
      : undefined,
    producer: producerResults && {
      // Added CPU per job over the plain add, as ratios; null when not resolved. Goals: <= 1.3 and <= 0.7.
      tracedAddOverHandWritten: tracedAdd?.ratio ?? null,
      tracedAddOverBullmqOtel: overOtel?.ratio ?? null,
      resolved: Boolean(tracedAdd?.resolved && overOtel?.resolved),
      ...producerResults,
    },
    soak: soakRss && {
      jobs: Number(values.soak),
      rssMb: soakRss.map((sample) => figure(sample.rssMb)),
      heapAfterGcMb: soakRss.map((sample) => (sample.heapAfterGcMb === undefined ? null : figure(sample.heapAfterGcMb))),
    },
    measuredRounds: all,
  };
}

function commandLine(): string {
  return (
    `npm run bench -- --jobs=${jobs} --concurrency=${concurrency} --rounds=${rounds} --warmup=${warmup}` +
    (values.modes !== MODES.join(',') ? ` --modes=${values.modes}` : '') +
    (values.soak !== '0' ? ` --soak=${values.soak}` : '') +
    (values['skip-micro'] ? ' --skip-micro' : '') +
    (values['skip-producer'] ? ' --skip-producer' : values['producer-rounds'] !== '30' ? ` --producer-rounds=${values['producer-rounds']}` : '') +
    (values.pin ? '' : ' --no-pin')
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
    '',
    'Like for like (least over least; goal <= 1.15 each; micro.ts checks before measuring that each pair records the same span):' +
      ` DefaultTaskSpan over the floor with its attributes ${multiple(microRatio(microResults, 'defaultTaskSpan', 'floorAttributes') ?? NaN)},` +
      ` ContextualTaskSpan over the hand-written contextual ${multiple(microRatio(microResults, 'contextualTaskSpan', 'handWrittenContextual') ?? NaN)}.`,
  ];
}

function producerSection(producerResults: ProducerResults): string[] {
  return [
    '',
    `## The enqueue side alone (\`node bench/dist/producer.js --table\`)`,
    '',
    `One process, one Redis connection, ${producerResults.rounds} rounds; in each, one batch of ${producerResults.batch} jobs per case in rotated order` +
      ` (at most ${producerResults.concurrency} jobs in flight), CPU per job from process.cpuUsage() around the batch. Added CPU is over the` +
      " workload's plain case (BullMQ's own call, carrying the same stored metadata) in the same round; its interval is a 95% bootstrap" +
      ' interval of the median, and a difference whose interval includes 0 is not resolved. Goals: TracedQueue.add over the hand-written' +
      ' producer <= 1.3, over bullmq-otel <= 0.7.',
    '',
    ...producerLines(producerResults),
  ];
}

function bandText([low, high]: Interval): string {
  return `${low.toFixed(2)}x to ${high.toFixed(2)}x`;
}

function multiple(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : '-';
}

function signed(value: number, digits: number): string {
  return Number.isNaN(value) ? '-' : `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
}

function renderReport(all: MeasuredRound[][], microResults: MicroResult[], producerResults?: ProducerResults, soakRss?: SoakSamples): string {
  const noise = noiseBand(all);
  const header = `| mode | ${FIGURES.map(([, label]) => label).join(' | ')} | CPU us/job over none | multiple of the floor's |`;
  const rows = modes.map((mode) => {
    const cells = FIGURES.map(([key, , digits]) => {
      const value = median(all.map((round) => Number(of(round, mode)![key])));
      const modeRatio = median(all.map((round) => ratio(round, mode, key)));
      const band = noise?.[key as keyof NoiseBand];
      const inNoise = mode !== BASELINE && band !== undefined && !outsideBand(modeRatio, band) ? ', in noise' : '';
      return `${value.toFixed(digits)} (${Number.isNaN(modeRatio) ? '-' : `${modeRatio.toFixed(2)}x${inNoise}`})`;
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
    `Command: \`${commandLine()}\` (the medians are also in bench/results.json). CPUs: ${pinned.describe}.`,
    '',
    `Each cell: the median over ${rounds} interleaved rounds, and in brackets the median of the per-round ratio against \`none\`` +
      ' (the OpenTelemetry SDK registered, no job tracing). Each mode runs in its own process.' +
      (warmup > 0
        ? ` Each process first adds and processes ${warmup} jobs unmeasured (start-up and JIT warm-up), then measures ${jobs}.`
        : ' Nothing is warmed up: start-up and JIT costs are charged to the jobs.') +
      ' `floor` is the least tracing a job can cost: its processor starts a span, runs the handler under `context.with`' +
      " and ends the span. The last column is each mode's CPU over `none` as a multiple of the floor's, within each round." +
      ' Enqueue CPU is measured while the worker is paused.' +
      (noise
        ? ` Noise band: \`none\`'s own least and greatest over its median across the rounds, enqueue jobs/s ${bandText(noise.enqueuePerSecond)},` +
          ` process jobs/s ${bandText(noise.processPerSecond)}, CPU us/job ${bandText(noise.cpuMicrosPerJob)}; a multiple inside it says "in noise": not resolved.`
        : ''),
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
    ...(producerResults ? producerSection(producerResults) : []),
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
