/**
 * One human-readable line saying which answer-reward components are active
 * (docs/method.md §3: the project must "say loudly which components are active").
 * Commands that compute answer rewards (train, serve, shape) print it once on
 * stderr and reports show it, so a missing BERTScore model is never silent.
 */
import { activeAnswerComponents, DEFAULT_ANSWER_WEIGHTS, type AnswerWeights } from './answer.js';
import type { SemanticScorer } from './semantic.js';

export interface AnswerRewardSetup {
  readonly weights?: Partial<AnswerWeights>;
  /** The semantic scorer in use, or null/undefined when none is configured. */
  readonly semantic?: Pick<SemanticScorer, 'name'> | null;
  /** As in answerReward (default true). */
  readonly renormalize?: boolean;
}

const fmt = (w: number) => String(Math.round(w * 1000) / 1000);

/** e.g. "answer reward: 1 if the answer matches the gold answer, else 0.5·rouge1 + 0.5·bleu1 (semantic inactive: no BERTScore model configured; weights renormalised over the active components)". */
export function describeAnswerReward(setup: AnswerRewardSetup = {}): string {
  const weights: AnswerWeights = { ...DEFAULT_ANSWER_WEIGHTS, ...setup.weights };
  const scorer = setup.semantic ?? null;
  const active = activeAnswerComponents(weights, scorer !== null);
  const renormalize = setup.renormalize ?? true;
  const total = active.reduce((s, c) => s + weights[c], 0);
  const scale = renormalize && total > 0 ? 1 / total : 1;
  const label = (c: string) => (c === 'semantic' && scorer ? `semantic[${scorer.name}]` : c);
  const mix = active.length === 0 ? '0' : active.map((c) => `${fmt(weights[c] * scale)}·${label(c)}`).join(' + ');
  const notes: string[] = [];
  if (weights.semantic > 0 && scorer === null)
    notes.push(renormalize ? 'semantic inactive: no BERTScore model configured' : 'semantic inactive: no BERTScore model configured, scored 0 as in the reference');
  if (renormalize && active.length > 0 && Math.abs(total - 1) > 1e-12) notes.push('weights renormalised over the active components');
  return `answer reward: 1 if the answer matches the gold answer, else ${mix}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
}
