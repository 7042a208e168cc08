/**
 * The prompt of docs/method.md §1: the question with the think/answer instruction
 * appended. The think tag depends on the backbone (`<thinking>` for Qwen3-VL,
 * `<think>` for Qwen2.5-VL, InternVL3 and the embedded policy).
 */
export type ThinkTag = 'think' | 'thinking';

export function thinkInstruction(tag: ThinkTag = 'think'): string {
  return `Think step by step, put the reasoning in <${tag}> </${tag}> tags, then give the answer in <answer> </answer> tags.`;
}

/**
 * The reference's exact prompt (docs/reference-facts.md §3b), for real backbones:
 * `"{question} Think step-by-step and enclose your reasoning in <think>...</think> tags. Then provide your answer in <answer>...</answer> tags."`
 * (`renderPrompt` below is the synthetic task's shorter wording, part of the embedded policy's vocabulary.)
 */
export function referencePrompt(question: string, tag: ThinkTag = 'think'): string {
  return `${question} Think step-by-step and enclose your reasoning in <${tag}>...</${tag}> tags. Then provide your answer in <answer>...</answer> tags.`;
}

/** The synthetic task's prompt: the question and `thinkInstruction`. */
export function renderPrompt(question: string, tag: ThinkTag = 'think'): string {
  return `${question.trim()} ${thinkInstruction(tag)}`;
}

/** The completion an SFT step trains on for an item with a gold rationale: gold reasoning and answer in the §1 format. */
export function goldCompletion(goldReasoning: string, answer: string, tag: ThinkTag = 'think'): string {
  return `<${tag}>${goldReasoning.trim()}</${tag}><answer>${answer.trim()}</answer>`;
}
