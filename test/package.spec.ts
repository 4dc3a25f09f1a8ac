import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The package as npm would publish it: `npm test` has just built dist/ (prepack builds it on `npm pack`).
const root = process.cwd();
const consumer = join(root, 'test', 'cjs-consumer');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let packDir: string;
let tarball: string;
let packedFiles: string[];

beforeAll(() => {
  packDir = mkdtempSync(join(tmpdir(), 'nestjs-job-tracing-pack-'));
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: root, encoding: 'utf8' }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(packDir, packed.filename);
  packedFiles = packed.files.map((file) => file.path);
}, 120_000);

afterAll(() => rmSync(packDir, { recursive: true, force: true }));

describe('the packed tarball', () => {
  it('ships the build, the typings, LICENSE, README, CHANGELOG and package.json, and nothing of the repo', () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'LICENSE', 'README.md', 'CHANGELOG.md', 'package.json']),
    );
    // The CommonJS build for require(), its typings, and the marker that makes its .js files CommonJS.
    expect(packedFiles).toEqual(
      expect.arrayContaining(['dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/sandbox/index.js', 'dist/cjs/package.json']),
    );
    expect(packedFiles.filter((path) => !path.startsWith('dist/'))).toEqual(
      expect.arrayContaining(['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json']),
    );
    expect(packedFiles.filter((path) => /^(test|sample|lib|bench|dist-sample|\.ci)\//.test(path))).toEqual([]);
    expect(packedFiles.filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))).toEqual([]);
  });

  // The dashboard matches the metric names of the version installed beside it; the docs pages stay in the repository.
  it('ships the Grafana dashboard and no other docs file', () => {
    expect(packedFiles.filter((path) => path.startsWith('docs/'))).toEqual(['docs/dashboards/bullmq-jobs.json']);
  });

  it('builds before packing and starts the build from an empty dist/', () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.prepack).toBe('npm run build');
    expect(scripts.prebuild).toContain("rmSync(dir, { recursive: true, force: true })");
  });
});

// Node binaries to run the consumer with: this one (npm scripts use Node 24), and the machine's own if it differs.
const nodes = [process.execPath, '/usr/bin/node', '/usr/local/bin/node'].filter(
  (path, index, all) => existsSync(path) && all.findIndex((other) => existsSync(other) && realpathSync(other) === realpathSync(path)) === index,
);

describe('a CommonJS consumer of the packed tarball', () => {
  beforeAll(() => {
    const installed = join(consumer, 'node_modules', 'nestjs-job-tracing');
    rmSync(installed, { recursive: true, force: true });
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
    rmSync(join(consumer, 'dist'), { recursive: true, force: true });
  });

  it('type-checks with module nodenext (a CommonJS package) and with module commonjs', () => {
    execFileSync(process.execPath, [tsc, '-p', join(consumer, 'tsconfig.json')], { stdio: 'pipe' });
    execFileSync(process.execPath, [tsc, '-p', join(consumer, 'tsconfig.commonjs.json')], { stdio: 'pipe' });
    expect(readFileSync(join(consumer, 'dist', 'main.js'), 'utf8')).toContain('require("nestjs-job-tracing")');
  }, 120_000);

  it.each(nodes)('require()s the package and traces a job from producer to worker on %s', (node) => {
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    const output = execFileSync(node, [join(consumer, 'dist', 'main.js')], {
      cwd: consumer,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const { moduleSystem, library, result, spans } = JSON.parse(output.trim().split('\n').pop()!) as {
      moduleSystem: string;
      library: string;
      result: string;
      spans: Array<{ name: string; traceId: string; spanId: string; parentSpanId?: string }>;
    };
    expect({ version, moduleSystem, result }).toEqual({ version, moduleSystem: 'commonjs', result: 'hello from CommonJS' });
    // require() takes the CommonJS build, which Jest's CommonJS loader can also run.
    expect(library).toMatch(/[/\\]nestjs-job-tracing[/\\]dist[/\\]cjs[/\\]index\.js$/);
    const request = spans.find((span) => span.name === 'request')!;
    const send = spans.find((span) => span.name.startsWith('send '))!;
    const task = spans.find((span) => span.name === 'task')!;
    expect(send.parentSpanId).toBe(request.spanId);
    expect(task).toMatchObject({ traceId: request.traceId, parentSpanId: send.spanId });
  }, 60_000);
});
