/**
 * Throughput of the answer-matching metrics (src/algo, docs/method.md §3) on short
 * medical answers, single-threaded: rouge1F, bleu1 and answersEquivalent per
 * (prediction, gold) pair, and the Porter stemmer per word (memoised, as
 * rouge1F uses it, and uncached). Rates are per CPU-second of this process.
 */
import { answersEquivalent } from '../src/algo/answer-match.js';
import { bleu1 } from '../src/algo/bleu.js';
import { porterStem, porterStemUncached } from '../src/algo/porter-stemmer.js';
import { rouge1F } from '../src/algo/rouge.js';
import { createRng, type Rng } from '../src/utils/rng.js';

const PHRASES = [
  'left lower lobe pneumonia', 'right upper lobe consolidation', 'bilateral pleural effusions',
  'cardiomegaly with pulmonary edema', 'no acute findings', 'pneumothorax on the right',
  'mass in the left kidney', 'hepatocellular carcinoma', 'squamous cell carcinoma of the lung',
  'calcified granuloma in the left upper lobe', 'multiple pulmonary nodules', 'small bowel obstruction',
  'acute appendicitis', 'subdural hematoma', 'intracranial hemorrhage', 'ischemic stroke in the left MCA territory',
  'The lesion is benign.', 'T2-weighted MRI', 'axial CT', '2.5 cm', 'three', 'yes', 'no',
  'Ground-glass opacities in both lungs', 'enlarged mediastinal lymph nodes', 'fracture of the left femoral neck',
];
const FILLERS = ['the', 'a', 'is', 'there', 'likely', 'consistent', 'with', 'seen', 'in', 'Finding:', 'lesions', 'opacities.'];

function answer(rng: Rng): string {
  const words = PHRASES[rng.int(PHRASES.length)].split(' ');
  const extra = rng.int(4);
  for (let i = 0; i < extra; i++) words.splice(rng.int(words.length + 1), 0, FILLERS[rng.int(FILLERS.length)]);
  return words.join(' ');
}

/**
 * CPU seconds per call of f (this process's user + system time, so other jobs on
 * the shared machine do not inflate it), over repeated runs of at least 0.5 s
 * after a warm-up.
 */
function secondsPerRun(f: () => void): number {
  f();
  let runs = 0;
  const start = process.cpuUsage();
  let elapsed = 0;
  do {
    f();
    runs++;
    const used = process.cpuUsage(start);
    elapsed = (used.user + used.system) / 1e6;
  } while (elapsed < 0.5);
  return elapsed / runs;
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

export async function run(): Promise<void> {
  const rng = createRng(7);
  const pairs = Array.from({ length: 4096 }, () => [answer(rng), rng.next() < 0.3 ? answer(rng) : PHRASES[rng.int(PHRASES.length)]] as const);
  let sink = 0;
  const perRouge = secondsPerRun(() => {
    for (const [pred, gold] of pairs) sink += rouge1F(pred, gold);
  });
  console.log(`rouge1F: ${fmt(pairs.length / perRouge)} pairs/s`);
  const perBleu = secondsPerRun(() => {
    for (const [pred, gold] of pairs) sink += bleu1(pred, gold);
  });
  console.log(`bleu1: ${fmt(pairs.length / perBleu)} pairs/s`);
  const perEq = secondsPerRun(() => {
    for (const [pred, gold] of pairs) sink += answersEquivalent(pred, gold) ? 1 : 0;
  });
  console.log(`answersEquivalent: ${fmt(pairs.length / perEq)} pairs/s`);

  const words = pairs.flatMap(([pred]) => pred.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 3));
  const perStem = secondsPerRun(() => {
    for (const w of words) sink += porterStem(w).length;
  });
  console.log(`porterStem: ${fmt(words.length / perStem)} words/s`);
  const perUncached = secondsPerRun(() => {
    for (const w of words) sink += porterStemUncached(w).length;
  });
  console.log(`porterStem/uncached: ${fmt(words.length / perUncached)} words/s`);
  if (sink === Number.NEGATIVE_INFINITY) console.log(sink); // keeps the work observable
}
