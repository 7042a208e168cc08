import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createJsonLogger } from './log.js';

describe('JSON logger', () => {
  it('writes one JSON object per line and takes the known secrets out of every string field', () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const logger = createJsonLogger(stream, () => new Date(0), ['tok-ABCDEF', undefined, 'key-123456']);
    logger.log('error', 'handler failed', { error: 'upstream said: key-123456 and tok-ABCDEF', status: 502, ok: false });
    logger.log('info', 'request', { route: '/v1/shape' });
    expect(text.split('\n')).toEqual([
      '{"time":"1970-01-01T00:00:00.000Z","level":"error","msg":"handler failed","error":"upstream said: [redacted] and [redacted]","status":502,"ok":false}',
      '{"time":"1970-01-01T00:00:00.000Z","level":"info","msg":"request","route":"/v1/shape"}',
      '',
    ]);
  });
});
