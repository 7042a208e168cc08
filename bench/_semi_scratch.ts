import v8 from 'node:v8';
if (process.env.RUNTIME_FLAG) v8.setFlagsFromString('--max-semi-space-size=64');
const { makeRequest } = await import('./serve.bench.js');
const { parseShapeRequest, shape } = await import('../src/shape/index.js');
const { stringifyWithRuns } = await import('../src/serve/json-runs.js');
const req = makeRequest(1);
const c0 = process.cpuUsage();
for (let i = 0; i < 12; i++) { const j = JSON.parse(req.body); const r = shape(parseShapeRequest(j, 'b')); Buffer.from(stringifyWithRuns(r)); }
const c = process.cpuUsage(c0);
console.log(process.env.RUNTIME_FLAG ? 'runtime flag' : process.execArgv.join(' ') || 'none', ((c.user + c.system) / 12e3).toFixed(1), 'ms CPU per request');
