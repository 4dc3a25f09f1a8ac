import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { FLAKY_DOMAIN } from '../sample/src/email/email.constants.js';
import { OtlpReceiver } from '../sample/src/otlp-receiver.js';
import { runSample } from '../sample/src/run.js';
import { screenshot } from './support/chromium.js';
import { serveWithOtlpNames } from './support/otlp-metric-names.js';
import {
  PROMETHEUS_BIN,
  type PromSample,
  type PrometheusServer,
  prometheusInstalled,
  startPrometheus,
} from './support/prometheus-server.js';

// The dashboard as an operator imports it, and the docs' PromQL, evaluated on a real
// Prometheus that scrapes the sample app (its own process) while load runs through it.
const DASHBOARD = new URL('../docs/dashboards/bullmq-jobs.json', import.meta.url);
const DOCS = new URL('../docs/', import.meta.url);
const APP_DIR = new URL('../dist-sample/', import.meta.url);
// `npm run build && DASHBOARD_PICTURE=1 … jest test/dashboard-prometheus.spec.ts` renders the docs' picture again (docs/dashboard.md).
const PICTURE = fileURLToPath(new URL('../docs/images/p95-processing-time.png', import.meta.url));

/** What Grafana puts in for the variables: every queue and job name; a rate window of a few 1 s scrapes; the load's span. */
const VARIABLES: Record<string, string> = { $__rate_interval: '10s', $__range: '1m', $queue: '.*', $job_name: '.*' };
const LOAD_MS = 12_000;

const QUEUES = ['digest', 'email', 'orders', 'receipts'];
/** Only the flaky address's first attempts fail. */
const FAILING = ['email'];
/** The controllers send to email and orders, the email processor to receipts, the scheduler to digest. */
const SENT_TO = ['digest', 'email', 'orders', 'receipts'];
/** The digest's scheduler is upserted once, at start-up: no send of it falls in the load's rate window. */
const SENT_DURING_LOAD = ['email', 'orders', 'receipts'];

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
}
interface Panel {
  type: string;
  title: string;
  description?: string;
  datasource?: { type: string; uid: string };
  fieldConfig?: {
    defaults: { unit?: string };
    overrides: Array<{ matcher: { options: string }; properties: Array<{ id: string; value: unknown }> }>;
  };
  targets?: Target[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown; allValue?: string; includeAll?: boolean }> };
}

interface Evaluated {
  what: string;
  expr: string;
  unit: string;
  samples: PromSample[];
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const queryPanels = dashboard.panels.filter((panel) => panel.type !== 'row');

/** Every ```promql line of the docs pages: the examples an operator copies. */
function docsExamples(): string[] {
  return readdirSync(DOCS)
    .filter((file) => file.endsWith('.md'))
    .flatMap((file) => [...readFileSync(new URL(file, DOCS), 'utf8').matchAll(/```promql\n([\s\S]*?)```/g)])
    .flatMap(([, block]) => block.split('\n'))
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

function substituted(expr: string): string {
  const done = Object.entries(VARIABLES).reduce((text, [name, value]) => text.split(name).join(value), expr);
  if (done.includes('$')) throw new Error(`a dashboard variable the test does not know: ${done}`);
  return done;
}

/** A table column's unit is its override; every other target takes the panel's. */
function unitOf(panel: Panel, target: Target): string {
  const override = panel.fieldConfig?.overrides.find((entry) => entry.matcher.options === target.legendFormat);
  const unit = override?.properties.find((property) => property.id === 'unit')?.value;
  return String(unit ?? panel.fieldConfig?.defaults.unit ?? 'none');
}

/** The queues a query must return: producers' queries the queues sent to, failures-only queries the failing queue. */
function expectedQueues(expr: string): string[] {
  if (/messaging_client_operation_duration/.test(expr)) return SENT_DURING_LOAD;
  if (/messaging_client_sent_messages/.test(expr)) return SENT_TO;
  if (/error_type!=""/.test(expr) && !/\bor\b/.test(expr)) return FAILING;
  return QUEUES;
}

const queuesOf = (samples: PromSample[]) => [...new Set(samples.map((sample) => sample.metric.messaging_destination_name))].sort();

function expectSane({ what, unit, samples }: Evaluated): void {
  for (const { value } of samples) {
    const context = `${what}: ${value}`;
    expect([context, Number.isFinite(value)]).toEqual([context, true]);
    if (unit === 's') expect([context, value > 0 && value < 60]).toEqual([context, true]);
    else if (unit === 'percentunit') expect([context, value >= 0 && value <= 1]).toEqual([context, true]);
    else expect([context, value >= 0]).toEqual([context, true]);
  }
}

/** Each query returned exactly the queues it applies to, with sane values. */
function expectEachApplyingQueue(results: Evaluated[]): void {
  for (const result of results) {
    expect([result.what, queuesOf(result.samples)]).toEqual([result.what, expectedQueues(result.expr)]);
    expectSane(result);
  }
}

const describeWithPrometheus = prometheusInstalled() ? describe : describe.skip;
if (!prometheusInstalled()) {
  process.stderr.write(`dashboard-prometheus.spec: skipped, ${PROMETHEUS_BIN} is absent (apt-get install prometheus; .ci/run does)\n`);
}

describe('the Grafana dashboard, as a file', () => {
  it('takes its datasource from a variable and has a unit and a description on every panel', () => {
    const datasource = dashboard.templating.list.find((variable) => variable.type === 'datasource');
    expect(datasource).toMatchObject({ name: 'datasource', query: 'prometheus' });
    for (const panel of queryPanels) {
      expect([panel.title, panel.datasource]).toEqual([panel.title, { type: 'prometheus', uid: '${datasource}' }]);
      expect([panel.title, (panel.description ?? '').length > 40]).toEqual([panel.title, true]);
      for (const target of panel.targets!) expect([panel.title, unitOf(panel, target)]).not.toEqual([panel.title, 'none']);
    }
  });

  it('filters by queue and job name, and matches every series where a job name is absent', () => {
    for (const name of ['queue', 'job_name']) {
      expect(dashboard.templating.list.find((variable) => variable.name === name)).toMatchObject({ includeAll: true, allValue: '.*' });
    }
    for (const target of queryPanels.flatMap((panel) => panel.targets!)) {
      expect(target.expr).toContain('messaging_destination_name=~"$queue"');
    }
  });
});

describeWithPrometheus('the Grafana dashboard on a real Prometheus scraping the sample app under load', () => {
  const receiver = new OtlpReceiver();
  const panelResults: Evaluated[] = [];
  /** The same queries on a Prometheus that holds the names an OTLP path writes. */
  const otlpNamedResults: Evaluated[] = [];
  const exampleResults: Evaluated[] = [];
  const variableValues = new Map<string, string[]>();
  let otlpNames: { seconds: number; plain: number };

  async function evaluatePanels(prometheus: PrometheusServer, results: Evaluated[], naming = ''): Promise<void> {
    for (const panel of queryPanels) {
      for (const target of panel.targets!) {
        const expr = substituted(target.expr);
        const samples = await prometheus.query(expr);
        results.push({ what: `${panel.title} ${target.refId}${naming}`, expr, unit: unitOf(panel, target), samples });
      }
    }
  }

  async function evaluate(prometheus: PrometheusServer): Promise<void> {
    await evaluatePanels(prometheus, panelResults);
    for (const expr of docsExamples()) {
      const unit = expr.startsWith('histogram_quantile') ? 's' : 'rate';
      exampleResults.push({ what: expr, expr, unit, samples: await prometheus.query(expr) });
    }
    for (const variable of dashboard.templating.list.filter((entry) => entry.type === 'query')) {
      const [, selector, label] = /^label_values\((.*), (\w+)\)$/.exec(variable.query as string)!;
      variableValues.set(variable.name, (await prometheus.labelValues(label, selector)).sort());
    }
  }

  /** Emails (every other one fails its first attempt), an order flow every 2 s; the digest runs on its own. */
  async function load(post: (path: string, body: object) => Promise<void>): Promise<void> {
    const end = Date.now() + LOAD_MS;
    for (let round = 0; Date.now() < end; round++) {
      await post('/emails', { to: round % 2 === 0 ? 'ada@example.com' : `grace@${FLAKY_DOMAIN}` });
      if (round % 5 === 0) await post('/orders', {});
      await sleep(400);
    }
  }

  beforeAll(async () => {
    await runSample({
      redisUrl: process.env.REDIS_URL!,
      receiver,
      otlpEndpoint: await receiver.start(),
      appDir: APP_DIR,
      async whileRunning({ metricsPort, post }) {
        const prometheus = await startPrometheus(`127.0.0.1:${metricsPort}`);
        const renamed = await serveWithOtlpNames(`http://127.0.0.1:${metricsPort}/metrics`);
        const otlpNamed = await startPrometheus(renamed.target);
        try {
          await load(post);
          await sleep(2_000); // the last retries run and are scraped
          await evaluate(prometheus);
          await evaluatePanels(otlpNamed, otlpNamedResults, ' (OTLP names)');
          const count = async (name: string) => (await otlpNamed.query(`count({__name__="${name}"})`))[0]?.value ?? 0;
          otlpNames = {
            seconds: await count('messaging_process_duration_seconds_bucket'),
            plain: await count('messaging_process_duration_bucket'),
          };
          if (process.env.DASHBOARD_PICTURE) {
            const p95 = dashboard.panels.find((panel) => panel.title.startsWith('Processing time'))!.targets![1];
            const graph = `${prometheus.url}/graph?g0.expr=${encodeURIComponent(substituted(p95.expr))}&g0.tab=0&g0.range_input=20s`;
            await screenshot(graph, PICTURE, { width: 1280, height: 960 });
            console.log(`rendered ${graph} to ${PICTURE}`);
          }
        } finally {
          await Promise.all([prometheus.stop(), otlpNamed.stop(), renamed.stop()]);
        }
      },
    });
    console.log(
      `${panelResults.length} panel queries evaluated on the exporter's names, the same ${otlpNamedResults.length} on OTLP names, ` +
        `${exampleResults.length} docs examples:\n` +
        [...panelResults, ...otlpNamedResults, ...exampleResults]
          .map(({ what, samples }) => `  ${what}: ${queuesOf(samples).join(', ')}`)
          .join('\n'),
    );
  }, 120_000);

  afterAll(async () => {
    await receiver.stop();
  });

  it('evaluates every panel query, each returning a series for every queue it applies to, with sane values', () => {
    expect(panelResults.length).toBe(queryPanels.flatMap((panel) => panel.targets!).length);
    expectEachApplyingQueue(panelResults);
  });

  it('evaluates them the same on the names an OTLP path into Prometheus writes (_seconds)', () => {
    expect(otlpNames.seconds).toBeGreaterThan(0);
    expect(otlpNames.plain).toBe(0);
    expect(otlpNamedResults.length).toBe(panelResults.length);
    expectEachApplyingQueue(otlpNamedResults);
  });

  it('shows the flaky emails as failures of type Error and as retries, and no other queue failing', () => {
    const samplesOf = (title: string) => panelResults.find((result) => result.what.startsWith(title))!.samples;
    const byQueue = (title: string) =>
      Object.fromEntries(samplesOf(title).map((sample) => [sample.metric.messaging_destination_name, sample.value]));
    const ratio = byQueue('Failure ratio per queue');
    expect(ratio.email).toBeGreaterThan(0);
    for (const queue of ['digest', 'orders', 'receipts']) expect(ratio[queue]).toBe(0);
    expect(byQueue('Retries per second').email).toBeGreaterThan(0);
    expect(samplesOf('Failure ratio by error type').map((sample) => sample.metric.error_type)).toEqual(['Error']);
  });

  it('shows the jobs by state from the queue gauges', () => {
    const states = panelResults.find((result) => result.what.startsWith('Jobs by state'))!.samples;
    const completed = states.find(
      ({ metric }) => metric.messaging_destination_name === 'email' && metric.messaging_bullmq_job_state === 'completed',
    );
    expect(completed?.value).toBeGreaterThan(0);
  });

  it("evaluates the docs' PromQL examples the same way", () => {
    expect(exampleResults.length).toBeGreaterThanOrEqual(3);
    expectEachApplyingQueue(exampleResults);
  });

  it("lists the sample's queues in the queue variable, and no job name without metricsJobName", () => {
    expect(variableValues.get('queue')).toEqual(QUEUES);
    expect(variableValues.get('job_name')).toEqual([]);
  });
});
