/** The noise levels of `mrpo experiment --noise` (docs/judge-audit.md "MRPO under judge noise"). */
import { UsageError } from '../../../errors.js';
import type { JudgeNoise, NoiseMode } from '../../../judges/noise.js';

/**
 * A noise level: `R` or `uniform:R` (every step label flips with R), `early:R`
 * (position-biased), and `criteria:R` / `criteria-early:R` (Alignment and
 * Contribution each flip on their own, uniformly or position-biased).
 */
export function parseNoiseLevel(raw: string): Required<JudgeNoise> {
  const m = /^(?:(uniform|early|criteria|criteria-early):)?([0-9]*\.?[0-9]+)$/.exec(raw);
  const rate = m === null ? Number.NaN : Number(m[2]);
  if (m === null || !(rate >= 0 && rate <= 1))
    throw new UsageError(`--noise: expected R, uniform:R, early:R, criteria:R or criteria-early:R with R in [0, 1], got "${raw}"`);
  const kind = m[1] ?? 'uniform';
  const criteria = kind.startsWith('criteria');
  const mode: NoiseMode = kind === 'early' || kind === 'criteria-early' ? 'early' : 'uniform';
  return { mode, rate, target: criteria ? 'criteria' : 'label' };
}

/** The label of a noise level in tables and run directory names: "0", "0.1", "early:0.2", "criteria:0.1", "criteria-early:0.2". */
export function noiseLabel(n: JudgeNoise): string {
  if (n.rate === 0) return '0';
  const prefix = n.target === 'criteria' ? (n.mode === 'early' ? 'criteria-early:' : 'criteria:') : n.mode === 'early' ? 'early:' : '';
  return `${prefix}${n.rate}`;
}

/** A comma-separated flag value as a non-empty list (undefined when the flag is absent). */
export function parseList(raw: string | undefined, flag: string): string[] | undefined {
  if (raw === undefined) return undefined;
  const xs = raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (xs.length === 0) throw new UsageError(`--${flag} must list at least one value`);
  return xs;
}
