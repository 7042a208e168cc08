/**
 * The semantic component of the answer reward for a shape request
 * (docs/method.md §3: BERTScore F1 in the reference): one scorer call for every
 * completion whose answer reward `shape` will compute (no given
 * `rewards.answer`), comparing its extracted answer with the group's gold
 * answer. Nothing is scored when the request's semantic weight is 0.
 */
import { extractAnswer } from '../algo/steps.js';
import { DEFAULT_ANSWER_WEIGHTS } from '../rewards/answer.js';
import type { SemanticScorer } from '../rewards/semantic.js';
import type { ShapeRequest } from './schema.js';
import type { ShapeExtras } from './shape.js';

export async function semanticScoresFor(request: ShapeRequest, scorer: SemanticScorer): Promise<ShapeExtras> {
  const weight = request.options?.answerWeights?.semantic ?? DEFAULT_ANSWER_WEIGHTS.semantic;
  if (weight <= 0) return {};
  const at: Array<{ p: number; g: number }> = [];
  const pairs: Array<{ prediction: string; reference: string }> = [];
  request.groups.forEach((group, p) =>
    group.completions.forEach((c, g) => {
      if (c.rewards?.answer !== undefined || group.gold === undefined) return;
      at.push({ p, g });
      pairs.push({ prediction: extractAnswer(c.text), reference: group.gold.answer });
    }),
  );
  if (pairs.length === 0) return {};
  const scores = await scorer.score(pairs);
  if (scores.length !== pairs.length) throw new Error(`semantic scorer ${scorer.name} returned ${scores.length} scores for ${pairs.length} pairs`);
  const semantic_P_G: Array<Array<number | undefined>> = request.groups.map((group) => group.completions.map(() => undefined));
  at.forEach(({ p, g }, i) => (semantic_P_G[p][g] = scores[i]));
  return { semantic_P_G };
}
