/**
 * cli.md: "`--help` on every command shows an example that works from a fresh
 * clone". The examples of the evaluation path are taken from the help text
 * itself and run from the repository root, on the checked-in
 * examples/eval/ files (outputs go to a temporary folder instead of /tmp/mrpo-eval).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startChatServer } from '../../judges/test-support/chat-server.js';
import { commands, main } from '../main.js';
import { memoryIo } from '../test-support/memory-io.js';
import { inferCommand } from './infer.js';
import { judgeCommand } from './judge.js';
import { shapeCommand } from './shape.js';

const root = new URL('../../../', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'mrpo-help-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** The `npm run -s mrpo -- …` command lines of a help text's block that starts with `heading` (continuations joined). */
function exampleCommands(help: string, heading: string): string[][] {
  const block = help.slice(help.indexOf(heading));
  const joined = block.replace(/\\\n\s*/g, ' ');
  const commands: string[][] = [];
  for (const line of joined.split('\n').slice(1)) {
    const m = /^\s+npm run -s mrpo -- (.*)$/.exec(line);
    if (m) commands.push(m[1].trim().split(/\s+/).map((a) => a.replaceAll('/tmp/mrpo-eval', out)));
    else if (commands.length > 0) break; // the block ends at its first other line
  }
  return commands;
}

async function run(args: string[]) {
  const io = memoryIo('', {}, root);
  const code = await main(args, io);
  return { code, out: io.out(), err: io.err() };
}

describe('help examples work from a fresh clone', () => {
  it('judge: offline answers → steps → analyze on examples/eval/completions.jsonl', async () => {
    const commands = exampleCommands(judgeCommand.help, 'Example (from a fresh clone');
    expect(commands.map((c) => c.slice(0, 2).join(' '))).toEqual(['judge answers', 'judge steps', 'analyze --in']);
    for (const args of commands) {
      const r = await run(args);
      expect(r.code, `${args.join(' ')}\n${r.err}`).toBe(0);
    }
    const judged = readFileSync(join(out, 'judged.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; correct: boolean; stepLabels: number[] });
    expect(judged.map((l) => l.id).sort()).toEqual(['ct-2', 'cxr-1', 'mri-4', 'path-3']);
    // The checked-in completions answer "right" for "left" and "CT" for "MRI": the offline answer judge says so.
    expect(Object.fromEntries(judged.map((l) => [l.id, l.correct]))).toEqual({ 'cxr-1': false, 'ct-2': true, 'path-3': true, 'mri-4': false });
    for (const l of judged) expect(l.stepLabels.length).toBeGreaterThan(0);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  });

  it('infer: examples/eval/items.jsonl loads (images included) and gives the lines of examples/eval/completions.jsonl', async () => {
    const checkedIn = readFileSync(join(root, 'examples/eval/completions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { question: string; completion: string });
    const server = await startChatServer({
      responder: ({ body }) => {
        const text = JSON.stringify(body.messages);
        const line = checkedIn.find((l) => text.includes(l.question));
        return { kind: 'content', content: line?.completion ?? '' };
      },
    });
    try {
      const [args] = exampleCommands(inferCommand.help, 'Example (');
      const at = args.indexOf('--base-url');
      args.splice(at, 2, '--base-url', server.baseUrl);
      const target = args.indexOf('--out');
      args.splice(target, 2, '--out', join(out, 'completions.jsonl'));
      const r = await run(args);
      expect(r.code, r.err).toBe(0);
      expect(server.requests).toHaveLength(4);
      const written = readFileSync(join(out, 'completions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const strip = ({ image: _image, ...rest }: Record<string, unknown>) => rest;
      const byId = (ls: Array<Record<string, unknown>>) => Object.fromEntries(ls.map((l) => [String(l.id), strip(l)]));
      expect(byId(written)).toEqual(byId(checkedIn as unknown as Array<Record<string, unknown>>));
    } finally {
      await server.close();
    }
  });

  it('shape: the example request in the repository root', async () => {
    const [args] = exampleCommands(shapeCommand.help, 'Example (from a fresh clone');
    const r = await run(args);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ estimator: 'mrpo' });
  });
});

describe('the command registry', () => {
  it('lists every command in mrpo --help, and each name loads the command of that name, whose --help names it', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    expect(commands.map((c) => c.name)).toEqual(['shape', 'data', 'infer', 'judge', 'analyze', 'eval', 'train', 'experiment', 'serve', 'demo', 'tinker']);
    for (const entry of commands) {
      expect(top.out).toContain(`  ${entry.name.padEnd(10)}  ${entry.summary}\n`);
      expect((await entry.load()).name).toBe(entry.name);
      const help = await run([entry.name, '--help']);
      expect(help.code).toBe(0);
      expect(help.out.split('\n')[0]).toMatch(new RegExp(`^(Usage: )?mrpo ${entry.name}\\b`));
    }
  });
});
