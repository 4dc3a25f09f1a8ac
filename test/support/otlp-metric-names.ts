import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CLIENT_OPERATION_DURATION, JOB_WAIT_DURATION, PROCESS_DURATION } from '../../lib/metrics/metric-names.js';

// The histograms in seconds: an OTLP path into Prometheus appends their unit, `_seconds`.
const SECONDS = new RegExp(
  `\\b(${[PROCESS_DURATION, CLIENT_OPERATION_DURATION, JOB_WAIT_DURATION].map((name) => name.replaceAll('.', '_')).join('|')})(?=[_ {])`,
  'g',
);

/** An exposition with the names an OTLP path into Prometheus writes (`messaging_process_duration_seconds_bucket`, …). */
export const withOtlpNames = (exposition: string): string => exposition.replace(SECONDS, '$1_seconds');

/**
 * Serves `source`'s /metrics with OTLP-path names on a free port (Debian's Prometheus 2.42
 * has no OTLP receiver to produce them itself). Resolves with its host:port.
 */
export async function serveWithOtlpNames(source: string): Promise<{ target: string; stop(): Promise<void> }> {
  const server = createServer(async (_request, response) => {
    try {
      const exposition = await (await fetch(source)).text();
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(withOtlpNames(exposition));
    } catch (error) {
      response.writeHead(502).end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
