import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../sample/src/redis.js';
import { killProcess } from './processes.js';

/** Debian's `prometheus` package; `.ci/run` installs it. */
export const PROMETHEUS_BIN = '/usr/bin/prometheus';

export const prometheusInstalled = (): boolean => existsSync(PROMETHEUS_BIN);

/** One series of an instant query's result. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusServer {
  readonly url: string;
  /** Evaluates `expr` through the HTTP API (/api/v1/query); a PromQL error throws with Prometheus's message. */
  query(expr: string): Promise<PromSample[]>;
  /** The values of `label` on series matching `selector` (/api/v1/label/…/values), as Grafana's label_values() asks. */
  labelValues(label: string, selector: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** Starts Prometheus on a free port, scraping `target` (host:port) every second, with its data in a temporary folder. */
export async function startPrometheus(target: string): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'job-tracing-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: sample\n    static_configs:\n      - targets: ['${target}']\n`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stderr: string[] = [];
  server.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const stop = async () => {
    await killProcess(server);
    rmSync(dir, { recursive: true, force: true });
  };
  const api = async <T>(path: string): Promise<T> => {
    const body = (await (await fetch(`${url}${path}`)).json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error}`);
    return body.data;
  };
  const prometheus: PrometheusServer = {
    url,
    async query(expr) {
      const data = await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      return data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
    },
    labelValues: (label, selector) => api<string[]>(`/api/v1/label/${label}/values?match[]=${encodeURIComponent(selector)}`),
    stop,
  };
  try {
    // Ready once it answers and has scraped the target at least once.
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`prometheus exited (${server.exitCode}): ${stderr.join('')}`);
      const up = await prometheus.query('up').catch(() => []);
      if (up.some((sample) => sample.value === 1)) return prometheus;
      if (Date.now() > deadline) throw new Error(`prometheus did not scrape ${target}: ${stderr.join('')}`);
      await sleep(200);
    }
  } catch (error) {
    await stop();
    throw error;
  }
}
