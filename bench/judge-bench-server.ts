/**
 * The judge bench's chat-completions server, in its own process so that the
 * bench measures the client as it would run against a remote judge. Prints
 * its base URL on stdout and serves until stdin closes.
 * Usage: node --import tsx bench/judge-bench-server.ts LATENCY_MS
 */
import { countPromptSteps, startChatServer, stepVerdictsContent } from '../src/judges/test-support/chat-server.js';

const server = await startChatServer({
  latencyMs: Number(process.argv[2] ?? 50),
  responder: (r) => ({ kind: 'content', content: stepVerdictsContent(Array.from({ length: countPromptSteps(r.body) }, () => [1, 1] as const)) }),
});
process.stdout.write(`${server.baseUrl}\n`);
process.stdin.resume();
process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
