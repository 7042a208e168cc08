/**
 * Shared data shapes. Nothing here imports anything: every layer may use them.
 */

/** Where an item's image comes from. */
export type ImageSource =
  /** A file path, an http(s) URL or a `data:` URL. */
  | string
  /** An encoded image file (JPEG, PNG, …) in memory. */
  | { readonly bytes: Uint8Array; readonly mime: string }
  /** Raw 8-bit pixels, row-major, interleaved channels (the synthetic task). */
  | { readonly pixels: Uint8Array; readonly width: number; readonly height: number; readonly channels: 1 | 3 };

/** One medical VQA item (docs/method.md §1, §9). */
export interface Item {
  readonly id: string;
  readonly image: ImageSource;
  readonly question: string;
  readonly answer: string;
  /**
   * Every accepted answer, `answer` first, when the benchmark accepts several
   * (VQA-Med 2021 reference answers, MIMIC-CXR-VQA answer lists). Scorers take
   * the best match over them; absent means `[answer]`.
   */
  readonly answers?: readonly string[];
  /** Open-ended or closed (yes/no, multiple choice) question, when the benchmark says or the answer shows. */
  readonly answerType?: 'open' | 'closed';
  /** The gold rationale (MedThink), when the item has one. */
  readonly goldReasoning?: string;
  /** Dataset the item came from: `vqa-rad`, `slake`, `pathvqa`, `synthetic`, … */
  readonly source: string;
}

/** A step label: 1 = valid (Alignment or Contribution), 0 = invalid. */
export type StepLabel = 0 | 1;

/** The two bits the step judge gives each step (docs/method.md §3). */
export interface StepVerdict {
  readonly alignment: 0 | 1;
  readonly contribution: 0 | 1;
}

/** A reasoning step with its absolute character span in the completion text: text === completion.slice(start, end). */
export interface Step {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** Half-open character span [start, end) of one generated token in the completion text. */
export type TokenOffset = readonly [start: number, end: number];

/**
 * The token spans of a completion: `[start, end]` pairs, or the same numbers flat in an Int32Array
 * (`start₀, end₀, start₁, end₁, …`; what `mrpo serve` decodes request bodies to, without building 10⁵ pairs).
 */
export type TokenOffsets = readonly TokenOffset[] | Int32Array;

/** The reward components of one completion (docs/method.md §3). */
export interface Rewards {
  readonly answer: number;
  readonly process: number;
  readonly length: number;
}
