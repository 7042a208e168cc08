/**
 * Tolerant parsing of judge replies. Models and servers differ in how well
 * they follow a JSON format, so the step parser accepts
 * - keys `step1` … `stepK` in any spelling (`Step 1`, `step_1`, `STEP-1`),
 * - an array of verdicts (position = step number, or a `step` field),
 * - the verdicts nested under one key (`{"steps": …}`, `{"verdicts": …}`),
 * - bits as 0/1, "1"/"0", true/false, "yes"/"no",
 * - a fenced ```json block or JSON with text around it.
 *
 * Verdicts are aligned by step number (docs/method.md §3): a step without a
 * readable verdict is missing (filled as invalid by the caller) and verdicts
 * for step numbers beyond K are extra; both are counted. A reply with no
 * readable verdict at all is unparseable (null), never a silent row of zeros.
 */
import type { StepVerdict } from '../types.js';

/** Every JSON value found in `text`: the whole text, fenced blocks, then balanced {…}/[…] spans. */
export function jsonCandidates(text: string): unknown[] {
  const out: unknown[] = [];
  const tryParse = (s: string): boolean => {
    try {
      out.push(JSON.parse(s));
      return true;
    } catch {
      return false;
    }
  };
  const trimmed = text.trim();
  if (trimmed === '') return out;
  if (tryParse(trimmed)) return out;
  for (const m of trimmed.matchAll(/```[a-zA-Z]*\s*\n?([\s\S]*?)```/g)) tryParse(m[1].trim());
  if (out.length > 0) return out;
  // Balanced spans from each opening bracket, skipping brackets inside strings.
  let i = 0;
  while (i < trimmed.length && out.length < 8) {
    const ch = trimmed[i];
    if (ch !== '{' && ch !== '[') {
      i++;
      continue;
    }
    const end = balancedEnd(trimmed, i);
    if (end !== -1 && tryParse(trimmed.slice(i, end + 1))) i = end + 1;
    else i++;
  }
  return out;
}

function balancedEnd(text: string, start: number): number {
  const stack: string[] = [];
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') stack.push('}');
    else if (ch === '[') stack.push(']');
    else if (ch === '}' || ch === ']') {
      if (stack.pop() !== ch) return -1;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

/** 0/1 from the many ways a model writes a bit; null when it is not one. */
export function readBit(value: unknown): 0 | 1 | null {
  if (value === 1 || value === true) return 1;
  if (value === 0 || value === false) return 0;
  if (typeof value === 'string') {
    const s = value.trim().toLowerCase();
    if (s === '1' || s === 'true' || s === 'yes' || s === 'y') return 1;
    if (s === '0' || s === 'false' || s === 'no' || s === 'n') return 0;
  }
  return null;
}

function lowerKeys(obj: Record<string, unknown>): Map<string, unknown> {
  return new Map(Object.entries(obj).map(([k, v]) => [k.trim().toLowerCase(), v]));
}

function readVerdict(value: unknown): StepVerdict | null {
  if (Array.isArray(value) && value.length === 2) {
    const a = readBit(value[0]);
    const c = readBit(value[1]);
    return a === null || c === null ? null : { alignment: a, contribution: c };
  }
  if (value === null || typeof value !== 'object') return null;
  const keys = lowerKeys(value as Record<string, unknown>);
  const a = readBit(keys.get('alignment') ?? keys.get('align'));
  const c = readBit(keys.get('contribution') ?? keys.get('contrib'));
  return a === null || c === null ? null : { alignment: a, contribution: c };
}

const STEP_KEY = /^\s*step[\s_-]*(\d+)\s*$/i;
const NESTING_KEYS = ['steps', 'verdicts', 'results', 'evaluations', 'judgements', 'judgments', 'labels'];

/** Step number → verdict (null when unreadable) from one parsed JSON value. */
function collect(value: unknown, depth = 0): Map<number, StepVerdict | null> {
  const found = new Map<number, StepVerdict | null>();
  if (depth > 3) return found;
  if (Array.isArray(value)) {
    value.forEach((entry, i) => {
      let n = i + 1;
      if (entry !== null && typeof entry === 'object' && !Array.isArray(entry)) {
        const keys = lowerKeys(entry as Record<string, unknown>);
        const explicit = keys.get('step') ?? keys.get('index') ?? keys.get('step_number') ?? keys.get('number');
        const parsed = typeof explicit === 'number' ? explicit : typeof explicit === 'string' ? Number(/\d+/.exec(explicit)?.[0]) : NaN;
        if (Number.isInteger(parsed) && parsed > 0) n = parsed;
      }
      if (!found.has(n)) found.set(n, readVerdict(entry));
    });
    return found;
  }
  if (value === null || typeof value !== 'object') return found;
  const obj = value as Record<string, unknown>;
  for (const [key, entry] of Object.entries(obj)) {
    const m = STEP_KEY.exec(key);
    if (m && !found.has(Number(m[1]))) found.set(Number(m[1]), readVerdict(entry));
  }
  if (found.size > 0) return found;
  const keys = lowerKeys(obj);
  for (const name of NESTING_KEYS) if (keys.has(name)) return collect(keys.get(name), depth + 1);
  // A single wrapper object ({"result": {...}}) is looked through.
  const values = Object.values(obj);
  if (values.length === 1) return collect(values[0], depth + 1);
  return found;
}

export interface ParsedStepVerdicts {
  /** One entry per step 1..K; null = no readable verdict for that step. */
  readonly verdicts: ReadonlyArray<StepVerdict | null>;
  readonly missing: number;
  readonly extra: number;
}

/** Step verdicts aligned to K steps, or null when the reply holds no readable verdict. */
export function parseStepVerdicts(content: string, k: number): ParsedStepVerdicts | null {
  for (const candidate of jsonCandidates(content)) {
    const found = collect(candidate);
    if (![...found.values()].some((v) => v !== null)) continue;
    const verdicts: Array<StepVerdict | null> = [];
    for (let i = 1; i <= k; i++) verdicts.push(found.get(i) ?? null);
    const extra = [...found.keys()].filter((n) => n > k).length;
    return { verdicts, missing: verdicts.filter((v) => v === null).length, extra };
  }
  return null;
}

function readCorrect(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 1) return true;
  if (value === 0) return false;
  if (typeof value !== 'string') return null;
  const s = value.trim().toLowerCase().replace(/^["'(\[]+|["'.!)\]]+$/g, '');
  if (['o', 'correct', 'yes', 'true', '1', 'right'].includes(s)) return true;
  if (['x', 'incorrect', 'no', 'false', '0', 'wrong', 'not correct'].includes(s)) return false;
  return null;
}

const ANSWER_KEYS = ['verdict', 'correct', 'is_correct', 'iscorrect', 'result', 'judgement', 'judgment', 'answer', 'label'];

/** true/false from an answer-judge reply (`{"verdict": "O"}`, `{"correct": true}`, a bare `X`, …), or null. */
export function parseAnswerVerdict(content: string): boolean | null {
  for (const candidate of jsonCandidates(content)) {
    if (candidate !== null && typeof candidate === 'object' && !Array.isArray(candidate)) {
      const keys = lowerKeys(candidate as Record<string, unknown>);
      for (const name of ANSWER_KEYS) {
        const v = readCorrect(keys.get(name));
        if (v !== null) return v;
      }
    } else {
      const v = readCorrect(candidate);
      if (v !== null) return v;
    }
  }
  return readCorrect(content);
}
