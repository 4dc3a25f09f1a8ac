import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';

// README.md ships in the npm package, where relative links break, so it links into the repository by URL;
// such a URL is checked as the file it names in this checkout.
const REPOSITORY = 'https://github.com/nestjs-job-tracing/nestjs-job-tracing';

interface LinkCheck {
  checked: number;
  dead: string[];
  /** Every target file a link resolved to, relative to the root. */
  targets: Set<string>;
}

/** README.md and every docs/*.md under root, relative to root. */
function markdownFiles(root: string): string[] {
  const docs = existsSync(join(root, 'docs')) ? readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')) : [];
  return ['README.md', ...docs.sort().map((name) => `docs/${name}`)];
}

/** The lines of a markdown text outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): Array<{ line: number; content: string }> {
  const lines: Array<{ line: number; content: string }> = [];
  let fence: string | undefined;
  text.split('\n').forEach((content, index) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(content)?.[1];
    if (marker && (!fence || marker.startsWith(fence))) fence = fence ? undefined : marker;
    else if (!fence) lines.push({ line: index + 1, content });
  });
  return lines;
}

/** The anchor GitHub gives a heading: lower case, punctuation dropped, each space a hyphen. */
function githubSlug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { content } of proseLines(text)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(content)?.[1];
    if (heading !== undefined) {
      const slug = githubSlug(heading);
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const [, id] of content.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id);
  }
  return anchors;
}

/** Link targets on a prose line: inline links and images, and reference definitions; not inside code spans. */
function targetsOn(content: string): string[] {
  const codeSpans = [...content.matchAll(/(`+)[^`]*?\1/g)].map((match) => [match.index, match.index + match[0].length]);
  const inCode = (at: number) => codeSpans.some(([start, end]) => at > start && at < end);
  const targets: string[] = [];
  for (const match of content.matchAll(/\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
    if (!inCode(match.index)) targets.push(match[1]);
  }
  const definition = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(content);
  if (definition) targets.push(definition[1]);
  return targets;
}

/** Checks every link in README.md and docs/*.md under root that points into the repository. */
function checkLinks(root: string): LinkCheck {
  const result: LinkCheck = { checked: 0, dead: [], targets: new Set() };
  const anchorCache = new Map<string, Set<string>>();
  const anchorsIn = (path: string) => {
    if (!anchorCache.has(path)) anchorCache.set(path, anchorsOf(readFileSync(path, 'utf8')));
    return anchorCache.get(path)!;
  };
  for (const file of markdownFiles(root)) {
    const source = join(root, file);
    for (const { line, content } of proseLines(readFileSync(source, 'utf8'))) {
      for (const target of targetsOn(content)) {
        const local = localPart(target, root, source);
        if (local === undefined) continue;
        result.checked += 1;
        const problem = problemWith(local, root, anchorsIn);
        if (problem) result.dead.push(`${file}:${line}: ${target} (${problem})`);
        else result.targets.add(relative(root, local.path).split(sep).join('/'));
      }
    }
  }
  return result;
}

/** The file and anchor a link names in this checkout, or undefined for a link that leaves the repository. */
function localPart(target: string, root: string, source: string): { path: string; anchor?: string } | undefined {
  const [pathPart, anchor] = splitAnchor(target);
  if (pathPart.startsWith(`${REPOSITORY}/blob/main/`) || pathPart.startsWith(`${REPOSITORY}/tree/main/`)) {
    return { path: resolve(root, decodeURIComponent(pathPart.slice(`${REPOSITORY}/blob/main/`.length))), anchor };
  }
  if (pathPart === REPOSITORY || pathPart === `${REPOSITORY}/`) return { path: join(root, 'README.md'), anchor };
  if (/^[a-z][a-z\d+.-]*:|^\/\//i.test(pathPart)) return undefined;
  // A link with no path is an anchor in the file it is written in.
  return { path: pathPart === '' ? source : resolve(dirname(source), decodeURIComponent(pathPart)), anchor };
}

function splitAnchor(target: string): [string, string | undefined] {
  const hash = target.indexOf('#');
  return hash < 0 ? [target, undefined] : [target.slice(0, hash), decodeURIComponent(target.slice(hash + 1))];
}

function problemWith(
  { path, anchor }: { path: string; anchor?: string },
  root: string,
  anchorsIn: (path: string) => Set<string>,
): string | undefined {
  if (relative(root, path).startsWith('..')) return 'outside the repository';
  if (!existsSync(path)) return 'no such file';
  if (anchor === undefined) return undefined;
  if (path.endsWith('.md') && statSync(path).isFile()) {
    return anchorsIn(path).has(anchor) ? undefined : `no heading for #${anchor}`;
  }
  // GitHub's line anchors are the only ones a source file has.
  return /^L\d+(-L\d+)?$/.test(anchor) ? undefined : `no anchor #${anchor} in a file that is not markdown`;
}

const root = process.cwd();

describe('links in README.md and docs/*.md', () => {
  it('resolve: every file and anchor they name exists', () => {
    const { checked, dead } = checkLinks(root);
    expect(dead).toEqual([]);
    expect(checked).toBeGreaterThan(40);
  });

  it('reach every docs page from the README, and each page links back', () => {
    const pages = markdownFiles(root).filter((file) => file.startsWith('docs/'));
    expect(pages.length).toBeGreaterThan(5);
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const linkedFromReadme = pages.filter((page) => readme.includes(`${REPOSITORY}/blob/main/${page}`));
    expect(linkedFromReadme).toEqual(pages);
    for (const page of pages) {
      const [backLink, blank, title] = readFileSync(join(root, page), 'utf8').split('\n');
      expect({ page, backLink, blank, title: title.startsWith('# ') }).toEqual({
        page,
        backLink: '[← README](../README.md)',
        blank: '',
        title: true,
      });
    }
  });

  it('keep the test command that CI and a fresh clone run', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toMatch(/^npm run sample\b/m);
    expect(readme).toMatch(/^npm test\b/m);
  });
});

describe('the link check', () => {
  let fixture: string;

  beforeAll(() => {
    fixture = mkdtempSync(join(tmpdir(), 'docs-links-'));
    mkdirSync(join(fixture, 'docs'));
    mkdirSync(join(fixture, 'test'));
    writeFileSync(join(fixture, 'test', 'a.spec.ts'), '');
    writeFileSync(
      join(fixture, 'README.md'),
      [
        '# Title',
        '## Usage',
        '## Usage',
        '[fine](docs/page.md#a-title-with-code-and-a-link) [fine](#usage-1) [fine](test/a.spec.ts#L3)',
        `[fine](${REPOSITORY}/blob/main/docs/page.md) [external](https://example.com/x.md#nowhere)`,
        '[gone](docs/missing.md) [bad anchor](docs/page.md#nope)',
        '`[in code](nowhere.md)`',
        '```md',
        '[in a fence](nowhere.md)',
        '```',
        `[bad repo link](${REPOSITORY}/blob/main/test/b.spec.ts) [bad local anchor](#usage-2)`,
        '[ref]: ../outside.md',
      ].join('\n'),
    );
    writeFileSync(
      join(fixture, 'docs', 'page.md'),
      ['[← README](../README.md)', '', '## A title, with `code` and [a link](../README.md)', '[up](../test/a.spec.ts) [wrong dir](test/a.spec.ts)'].join(
        '\n',
      ),
    );
  });

  afterAll(() => rmSync(fixture, { recursive: true, force: true }));

  it('names each dead link with its file and line, and passes the live ones', () => {
    const { checked, dead, targets } = checkLinks(fixture);
    expect(dead).toEqual([
      'README.md:6: docs/missing.md (no such file)',
      'README.md:6: docs/page.md#nope (no heading for #nope)',
      `README.md:11: ${REPOSITORY}/blob/main/test/b.spec.ts (no such file)`,
      'README.md:11: #usage-2 (no heading for #usage-2)',
      'README.md:12: ../outside.md (outside the repository)',
      'docs/page.md:4: test/a.spec.ts (no such file)',
    ]);
    expect(checked).toBe(dead.length + 7);
    expect([...targets].sort()).toEqual(['README.md', 'docs/page.md', 'test/a.spec.ts']);
  });

  it('makes anchors as GitHub does', () => {
    expect(githubSlug('Propagation styles: child, link or none')).toBe('propagation-styles-child-link-or-none');
    expect(githubSlug("BullMQ's control-flow errors")).toBe('bullmqs-control-flow-errors');
    expect(githubSlug('Send the traces to Jaeger (or Tempo, or a Collector)')).toBe('send-the-traces-to-jaeger-or-tempo-or-a-collector');
    expect(githubSlug('`TracedQueue.add` and snake_case')).toBe('tracedqueueadd-and-snake_case');
  });
});
