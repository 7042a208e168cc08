/**
 * The dataset seam (docs/architecture.md "Seams"): a dataset is an async iterable of
 * items. Loaders validate at the edge and throw an InputError that names the
 * file, the record and the field when something is malformed.
 */
import type { Item } from '../types.js';

export interface Dataset {
  /** Name used in reports (`vqa-rad/test`, `synthetic`, …). */
  readonly name: string;
  items(): AsyncIterable<Item>;
}

/** Collects a dataset into memory (small datasets, tests). */
export async function collectItems(dataset: Dataset, limit = Number.POSITIVE_INFINITY): Promise<Item[]> {
  const out: Item[] = [];
  for await (const item of dataset.items()) {
    if (out.length >= limit) break;
    out.push(item);
  }
  return out;
}
