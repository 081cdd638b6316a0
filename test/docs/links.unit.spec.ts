// Every link between the repository's own documents resolves in a clone: the
// README once pointed at ../shared/API.md, outside the repository, and was
// broken for everyone but its author.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const documents = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], {
  cwd: repoRoot,
  encoding: 'utf8',
})
  .split('\n')
  .filter((file) => file !== '' && fs.existsSync(path.join(repoRoot, file)));

/** Relative link targets of a Markdown text (inline links; no web, mail or in-page links). */
function localLinks(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, (code) => (code.includes('](') ? '' : code));
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'));
}

describe('links between the documents', () => {
  it('finds the documents', () => {
    expect(documents).toEqual(expect.arrayContaining(['README.md', 'CONTRIBUTING.md', 'docs/ARCHITECTURE.md', 'docs/API.md']));
  });

  it.each(documents)('%s links only to files in the repository', (document) => {
    const text = fs.readFileSync(path.join(repoRoot, document), 'utf8');
    const broken = localLinks(text).filter((target) => {
      const resolved = path.resolve(path.dirname(path.join(repoRoot, document)), decodeURIComponent(target.split('#')[0]!));
      return !resolved.startsWith(repoRoot) || !fs.existsSync(resolved);
    });
    expect(broken).toEqual([]);
  });
});
