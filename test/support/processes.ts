import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const WORKER = fileURLToPath(new URL('../fixtures/traced-worker.mjs', import.meta.url));
const PRODUCER = fileURLToPath(new URL('../fixtures/traced-producer.mjs', import.meta.url));

export interface TaskSummary {
  jobId: string;
  attempt: number;
  traceId: string;
  parentSpanId?: string;
  status: number;
  errorType?: string;
  serverAddress?: string;
}

export interface WorkerReport {
  pid: number;
  started: number;
  ended: number;
  finishedJobs: number;
  /** From the first attempt's start to the last one's end. */
  busyMs: number;
  /** Peak memory, sampled every 100 ms, in bytes. */
  peak: { rss: number; heapUsed: number };
  unhandled: string[];
  tasks: TaskSummary[];
  /** The distinct `server.address` values (null: none) on the library's metric points. */
  metricServerAddresses: Array<string | null>;
}

export interface WorkerProcess {
  readonly pid: number;
  readonly output: string[];
  /** Resolves once the worker printed a line for which `predicate` holds. */
  waitForLine(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** SIGTERM: the worker closes its app (waiting for its jobs), flushes and reports. */
  stop(): Promise<WorkerReport>;
  /** Resolves with the report of a worker that exits by itself (EXIT_AFTER). */
  exited(): Promise<WorkerReport>;
  /** SIGKILL, as a crash: no report. */
  kill(): Promise<void>;
}

/** Runs test/fixtures/traced-worker.mjs in its own process, against the built package. */
export async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [WORKER], {
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    output.push(...lines);
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const report = async (): Promise<WorkerReport> => {
    const code = await exit;
    const last = [...output, buffered].reverse().find((line) => line.startsWith('{'));
    if (code !== 0 || !last) throw new Error(`worker ${child.pid} exited ${code}: ${stderr.join('')}`);
    return JSON.parse(last) as WorkerReport;
  };
  const worker: WorkerProcess = {
    pid: child.pid!,
    output,
    async waitForLine(predicate, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = output.find(predicate);
        if (line) return line;
        if (child.exitCode !== null) throw new Error(`worker ${child.pid} exited (${child.exitCode}): ${stderr.join('')}`);
        if (Date.now() > deadline) throw new Error(`worker ${child.pid}: timed out; stderr: ${stderr.join('')}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
      return report();
    },
    exited: report,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
      await exit;
    },
  };
  await worker.waitForLine((line) => line === 'ready');
  return worker;
}

export interface ProducedJob {
  id: string;
  name: string;
  traceId: string;
  sendSpanId?: string;
}

export interface JobSpec {
  name: string;
  count?: number;
  data?: object;
  opts?: object;
  /** Added with a bare Queue, without TracedQueue. */
  plain?: boolean;
}

/** Runs test/fixtures/traced-producer.mjs in its own process: each job under its own root span. */
export async function produce(env: Record<string, string>, jobs: JobSpec[]): Promise<ProducedJob[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [PRODUCER], {
    env: { ...process.env, NODE_OPTIONS: '', ...env, JOBS: JSON.stringify(jobs) },
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return (JSON.parse(stdout) as { jobs: ProducedJob[] }).jobs;
}

/** Ends a process this test started, by its pid, and waits for it. */
export async function killProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid!, signal);
  await exited;
}
