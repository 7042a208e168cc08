/**
 * The policy prompt of docs/method.md §1 (docs/reference-facts.md §3b): the question
 * followed by the think/answer instruction, with the think tag of the
 * backbone family — `<thinking>` for Qwen3-VL, `<think>` for Qwen2.5-VL and
 * InternVL3.
 */
import { referencePrompt } from '../../data/prompt.js';

export type ModelFamily = 'qwen3-vl' | 'qwen2.5-vl' | 'internvl3';
export const MODEL_FAMILIES: readonly ModelFamily[] = ['qwen3-vl', 'qwen2.5-vl', 'internvl3'];

export function thinkTagFor(family: ModelFamily): 'think' | 'thinking' {
  return family === 'qwen3-vl' ? 'thinking' : 'think';
}

/** `"{question} Think step-by-step and enclose your reasoning in <think>...</think> tags. Then provide your answer in <answer>...</answer> tags."` */
export function policyPromptText(question: string, family: ModelFamily): string {
  return referencePrompt(question, thinkTagFor(family));
}
