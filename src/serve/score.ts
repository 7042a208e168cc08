/**
 * `POST /v1/score`: the `mrpo shape` contract with the judging done by the
 * service (issue 6). Each group carries its `item` (image as a path, http(s)
 * URL or data URL; question; gold answer; gold reasoning) instead of `gold`;
 * completions carry no `stepLabels`. The service segments each completion into
 * steps exactly as `shape` does (docs/method.md §2, the request's splitter), asks the
 * configured step judge for per-step verdicts (docs/method.md §3: valid = Alignment
 * or Contribution), and runs `shape` with those labels. The response is the
 * shape response with, per completion, `stepVerdicts` and a `judge` status
 * (`judged`, `unjudged` with the judge's reason, or `skipped`: no steps / no
 * gold reasoning — docs/method.md: such completions get no labels, R_proc = 0).
 *
 * An unjudged completion keeps no labels (R_proc = 0, A_i on every token), as
 * docs/method.md §3 prescribes, and is counted; with `onUnjudged: 'fail'` the whole
 * request fails with 502 instead, for trainers that would rather retry.
 *
 * Imports only judge and scorer interfaces: the composition root picks them.
 */
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { InputError, RemoteError } from '../errors.js';
import { segmentSteps, type SplitterName } from '../algo/steps.js';
import { stepLabelsOf, type StepJudge } from '../judges/judge.js';
import type { SemanticScorer } from '../rewards/semantic.js';
import { formatIssues, jsonPath, parseShapeRequest, semanticScoresFor, shape, type ShapeRequest, type ShapeResponse, type ShapedCompletion } from '../shape/index.js';
import type { Item, StepLabel, StepVerdict } from '../types.js';
import type { JudgementOutcome } from './metrics.js';

export type JudgeStatus =
  | { readonly status: 'judged'; readonly missing: number; readonly extra: number }
  | { readonly status: 'unjudged' | 'skipped'; readonly reason: string };

export interface ScoredCompletion extends ShapedCompletion {
  /** The judge's two bits per step (null when the completion was not judged). */
  readonly stepVerdicts: readonly StepVerdict[] | null;
  readonly judge: JudgeStatus;
}

export interface ScoreResponse extends Omit<ShapeResponse, 'groups'> {
  readonly judge: { readonly name: string };
  readonly groups: ReadonlyArray<{ readonly id?: string | number; readonly completions: readonly ScoredCompletion[] }>;
}

export interface ScoreResult {
  readonly response: ScoreResponse;
  readonly outcomes: Readonly<Record<JudgementOutcome, number>>;
  readonly completions: number;
}

export interface ScorerOptions {
  readonly stepJudge: StepJudge;
  /** Scores (prediction, gold answer) pairs for the answer reward's semantic component, when configured. */
  readonly semantic?: SemanticScorer;
  /** Directory that image file paths are resolved in and confined to; null = file paths are refused. */
  readonly imageRoot?: string | null;
  /** What an unjudged completion does: keep no labels (default) or fail the request (502). */
  readonly onUnjudged?: 'no-labels' | 'fail';
}

export interface Scorer {
  readonly judgeName: string;
  score(json: unknown): Promise<ScoreResult>;
}

const itemSchema = z
  .object({
    id: z.string().optional(),
    image: z.string().min(1, { message: 'expected a file path, an http(s) URL or a data: URL' }),
    question: z.string(),
    answer: z.string(),
    goldReasoning: z.string().optional(),
    source: z.string().optional(),
  })
  .strict();

type ScoreItem = z.infer<typeof itemSchema>;

const WHERE = 'request body';

function bad(path: string, problem: string): InputError {
  return new InputError(WHERE, `${path}: ${problem}`, { jsonPath: path });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Splits a score request into its items and the equivalent shape request
 * (each group's `item.answer` / `item.goldReasoning` become `gold`), checking
 * the score-only rules; every error names the JSON path.
 */
export function parseScoreRequest(json: unknown): { items_P: ScoreItem[]; request: ShapeRequest } {
  if (!isRecord(json)) throw bad('$', 'expected a JSON object');
  const groups = json.groups;
  if (!Array.isArray(groups)) throw bad('$.groups', 'expected an array of groups');
  const items_P: ScoreItem[] = [];
  const shapeGroups = groups.map((group: unknown, p) => {
    const at = `$.groups[${p}]`;
    if (!isRecord(group)) throw bad(at, 'expected an object with `item` and `completions`');
    if ('gold' in group) throw bad(`${at}.gold`, 'not allowed in /v1/score: the gold answer and reasoning come from `item`');
    if (!('item' in group)) throw bad(`${at}.item`, 'required: { image, question, answer, goldReasoning? }');
    const parsed = itemSchema.safeParse(group.item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = jsonPath(['groups', p, 'item', ...(issue?.path ?? [])]);
      throw new InputError(WHERE, formatIssues(parsed.error, 1)[0].replace(/^\$/, `${at}.item`), { jsonPath: path });
    }
    items_P.push(parsed.data);
    if (Array.isArray(group.completions))
      group.completions.forEach((c: unknown, g) => {
        if (isRecord(c) && 'stepLabels' in c)
          throw bad(`${at}.completions[${g}].stepLabels`, 'not allowed in /v1/score: the service computes step labels (send your own to /v1/shape)');
      });
    const rest: Record<string, unknown> = { ...group };
    delete rest.item;
    const gold = parsed.data.goldReasoning === undefined ? { answer: parsed.data.answer } : { answer: parsed.data.answer, reasoning: parsed.data.goldReasoning };
    return { ...rest, gold };
  });
  return { items_P, request: parseShapeRequest({ ...json, groups: shapeGroups }, WHERE) };
}

const REMOTE_IMAGE = /^(https?:\/\/|data:)/i;

/** The image as the judge should load it: URLs as they are, file paths resolved inside `imageRoot` and checked to exist. */
async function resolveImage(image: string, imageRoot: string | null, path: string): Promise<string> {
  if (/^data:/i.test(image) && !/^data:image\/[\w.+-]+(;[\w=.+-]+)*,./is.test(image))
    throw bad(path, 'expected a data URL of an image (`data:image/png;base64,...`)');
  if (REMOTE_IMAGE.test(image)) return image;
  if (imageRoot === null) throw bad(path, 'image file paths are refused because the server has no image root (start it with --image-root DIR); send an http(s) or data: URL');
  const inside = (root: string, target: string): boolean => {
    const rel = relative(root, target);
    return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
  };
  const full = resolve(imageRoot, image);
  if (!inside(imageRoot, full)) throw bad(path, `image path must stay inside the image root, got "${image}"`);
  let real: string;
  try {
    real = await realpath(full);
    if (!(await stat(real)).isFile()) throw new Error('not a file');
  } catch {
    throw bad(path, `image file "${image}" not found under the image root`);
  }
  // A symbolic link inside the root must not lead out of it.
  if (!inside(await realpath(imageRoot), real)) throw bad(path, `image path must stay inside the image root, got "${image}" (a link leading out of it)`);
  return real;
}

export function createScorer(options: ScorerOptions): Scorer {
  const { stepJudge, semantic } = options;
  const imageRoot = options.imageRoot == null ? null : resolve(options.imageRoot);
  const onUnjudged = options.onUnjudged ?? 'no-labels';

  return {
    judgeName: stepJudge.name,
    async score(json) {
      const { items_P, request } = parseScoreRequest(json);
      const splitter = (request.options?.splitter ?? 'regex') as SplitterName;
      const judgeItems_P: Item[] = await Promise.all(
        items_P.map(async (item, p) => ({
          id: item.id ?? `group-${p}`,
          image: await resolveImage(item.image, imageRoot, `$.groups[${p}].item.image`),
          question: item.question,
          answer: item.answer,
          ...(item.goldReasoning !== undefined ? { goldReasoning: item.goldReasoning } : {}),
          source: item.source ?? 'serve',
        })),
      );

      const outcomes: Record<JudgementOutcome, number> = { judged: 0, unjudged: 0, skipped: 0 };
      const judged_P_G = await Promise.all(
        request.groups.map((group, p) =>
          Promise.all(
            group.completions.map(async (completion): Promise<{ verdicts: StepVerdict[] | null; labels: StepLabel[] | undefined; status: JudgeStatus }> => {
              const item = judgeItems_P[p];
              const steps = segmentSteps(completion.text, { splitter }).map((s) => s.text);
              const skip = steps.length === 0 ? 'no steps' : (item.goldReasoning ?? '').trim() === '' ? 'no gold reasoning' : null;
              if (skip !== null) return { verdicts: null, labels: undefined, status: { status: 'skipped', reason: skip } };
              const judgement = await stepJudge.judgeSteps({ item, steps });
              if (judgement.kind === 'unjudged') return { verdicts: null, labels: undefined, status: { status: 'unjudged', reason: judgement.reason } };
              const verdicts = [...judgement.verdicts];
              return { verdicts, labels: stepLabelsOf(verdicts), status: { status: 'judged', missing: judgement.missing, extra: judgement.extra } };
            }),
          ),
        ),
      );
      let missing = 0;
      for (const group of judged_P_G)
        for (const j of group) {
          outcomes[j.status.status]++;
          if (j.status.status === 'judged') missing += j.status.missing;
        }
      if (onUnjudged === 'fail' && outcomes.unjudged > 0) {
        const [p, g] = firstUnjudged(judged_P_G);
        const status = judged_P_G[p][g].status;
        throw new RemoteError(`step judge ${stepJudge.name} could not judge $.groups[${p}].completions[${g}]: ${'reason' in status ? status.reason : ''} (${outcomes.unjudged} unjudged in this request)`);
      }

      const labelled: ShapeRequest = {
        ...request,
        groups: request.groups.map((group, p) => ({
          ...group,
          completions: group.completions.map((c, g) => {
            const labels = judged_P_G[p][g].labels;
            return labels === undefined ? c : { ...c, stepLabels: labels };
          }),
        })),
      };
      const shaped = shape(labelled, semantic === undefined ? {} : await semanticScoresFor(labelled, semantic));
      let completions = 0;
      const response: ScoreResponse = {
        ...shaped,
        judge: { name: stepJudge.name },
        groups: shaped.groups.map((group, p) => ({
          ...group,
          completions: group.completions.map((c, g): ScoredCompletion => {
            completions++;
            const j = judged_P_G[p][g];
            return { ...c, stepVerdicts: j.verdicts, judge: j.status };
          }),
        })),
        metrics: {
          ...shaped.metrics,
          'judge/judged': outcomes.judged,
          'judge/unjudged': outcomes.unjudged,
          'judge/skipped': outcomes.skipped,
          'judge/missing_verdicts': missing,
        },
      };
      return { response, outcomes, completions };
    },
  };
}

function firstUnjudged(judged_P_G: ReadonlyArray<ReadonlyArray<{ status: JudgeStatus }>>): [number, number] {
  for (let p = 0; p < judged_P_G.length; p++) for (let g = 0; g < judged_P_G[p].length; g++) if (judged_P_G[p][g].status.status === 'unjudged') return [p, g];
  return [0, 0];
}
