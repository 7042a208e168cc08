import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTinyTokenizer, type TinyTokenizerInfo } from '../test-support/tiny-tokenizer.js';
import { chunkLength, createRenderer } from './chat.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';

let tok: TextTokenizer;
let info: TinyTokenizerInfo;
beforeAll(async () => {
  info = await writeTinyTokenizer(await mkdtemp(join(tmpdir(), 'mrpo-chat-')));
  tok = await loadTokenizer(info.dir);
});


describe('Qwen3-VL chat rendering', () => {
  it('lays out user turn, image between vision tags, and the assistant prefix', () => {
    const r = createRenderer('qwen3-vl', tok);
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff]);
    const chunks = r.renderPrompt({ text: 'Where?', image: { jpeg, width: 64, height: 64 } }, () => 7);
    const s = info.special;
    expect(chunks).toHaveLength(3);
    expect(chunks[0]).toEqual({ kind: 'tokens', tokens: [s['<|im_start|>'], ...tok.encode('user\n'), s['<|vision_start|>']] });
    expect(chunks[1]).toEqual({ kind: 'image', jpeg, expectedTokens: 7 });
    const tail = chunks[2];
    expect(tail.kind).toBe('tokens');
    if (tail.kind !== 'tokens') return;
    expect(tail.tokens[0]).toBe(s['<|vision_end|>']);
    expect(tok.decode(tail.tokens)).toBe('Where?\nassistant\n'); // specials are dropped by decode
    expect(tail.tokens.filter((t) => t === s['<|im_end|>'])).toHaveLength(1);
    expect(tail.tokens.filter((t) => t === s['<|im_start|>'])).toHaveLength(1);
    expect(chunkLength(chunks)).toBe(chunks[0].kind === 'tokens' ? chunks[0].tokens.length + 7 + tail.tokens.length : 0);
    expect(r.stopTokens).toContain(s['<|im_end|>']);
    expect(r.endOfTurn).toEqual([s['<|im_end|>']]);
    expect(r.thinkTag).toBe('thinking');
  });

  it('adds the default system turn for Qwen2.5-VL', () => {
    const r = createRenderer('qwen2.5-vl', tok);
    const [first] = r.renderPrompt({ text: 'Q' }, () => 0);
    expect(first.kind === 'tokens' && tok.decode(first.tokens)).toBe('system\nYou are a helpful assistant.\nuser\nQ\nassistant\n');
  });

  it('rejects an unknown renderer name listing the valid ones', () => {
    expect(() => createRenderer('llama', tok)).toThrow(/unknown chat renderer "llama"; expected one of: qwen3-vl, qwen2.5-vl/);
  });
});
