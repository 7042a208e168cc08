/**
 * Size and shape of the embedded vision-language policy, validated with zod
 * (it is read back from checkpoints). The defaults are the demo size: small
 * enough that a step of 8 prompts × 8 completions trains in about a second on
 * two CPU cores (see bench/embedded.bench.ts).
 */
import { z } from 'zod';

export const ModelConfigSchema = z
  .object({
    /** Width of the residual stream. */
    dModel: z.number().int().positive().default(64),
    layers: z.number().int().positive().default(2),
    heads: z.number().int().positive().default(4),
    /** Hidden width of the MLP. */
    ffDim: z.number().int().positive().default(256),
    /** Images are resampled to imageSize × imageSize before patching. */
    imageSize: z.number().int().positive().default(32),
    patchSize: z.number().int().positive().default(8),
    /** 1 = grey (RGB input is averaged), 3 = RGB (grey input is replicated). */
    channels: z.union([z.literal(1), z.literal(3)]).default(1),
    /** Longest text sequence: <bos> + prompt + completion (with its <eos>). */
    maxTextLen: z.number().int().min(4).default(160),
  })
  .strict()
  .refine((c) => c.dModel % c.heads === 0, { message: 'dModel must be a multiple of heads' })
  .refine((c) => c.imageSize % c.patchSize === 0, { message: 'imageSize must be a multiple of patchSize' });

export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;

/** Derived sizes. */
export function numPatches(c: ModelConfig): number {
  return (c.imageSize / c.patchSize) ** 2;
}

export function patchDim(c: ModelConfig): number {
  return c.patchSize * c.patchSize * c.channels;
}
