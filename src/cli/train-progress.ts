/**
 * The training progress bar on stderr (cli.md: progress and logs go to
 * stderr so pipes stay clean): a cli-progress bar with the key metrics when
 * stderr is a terminal, and one line per evaluation and checkpoint always.
 */
import cliProgress from 'cli-progress';
import type { TrainObserver } from '../train/loop.js';

const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(1)}%`);
const num = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3));

export interface ProgressOptions {
  readonly stream: NodeJS.WritableStream;
  /** Label in front of the bar (`warm start`, `mrpo seed 0`). */
  readonly label: string;
  /** Draw the bar (default: when the stream is a TTY). */
  readonly bar?: boolean;
}

export function progressObserver(options: ProgressOptions): TrainObserver {
  const stream = options.stream as NodeJS.WriteStream;
  const drawBar = options.bar ?? stream.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  let lastEval = '–';
  let payload = { metrics: '', evalAcc: lastEval };
  let value = 0;
  const say = (line: string): void => {
    if (bar !== null) {
      // Stop the bar, print the line, draw the bar again below it.
      bar.stop();
      stream.write(`${line}\n`);
      bar.start(bar.getTotal(), value, payload);
    } else stream.write(`${line}\n`);
  };
  return {
    start(info) {
      const from = info.resumedFrom === null ? '' : ` (resumed after step ${info.resumedFrom})`;
      stream.write(`${options.label}: ${info.algorithm}, ${info.totalSteps} steps${from}\n`);
      if (!drawBar || info.totalSteps === 0) return;
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `${options.label} |{bar}| {value}/{total} | {metrics} | eval acc {evalAcc} | ETA {eta_formatted}`,
          barsize: 20,
          hideCursor: true,
          etaBuffer: 10,
        },
        cliProgress.Presets.shades_classic,
      );
      value = info.startStep - 1;
      bar.start(info.totalSteps, value, payload);
    },
    step(step, m) {
      const parts =
        m['reward/total'] !== undefined
          ? `R ${num(m['reward/total'])} ans ${num(m['reward/answer'])} proc ${num(m['reward/process'])} early ${pct(m['steps/ffp_early'])}`
          : `loss ${num(m['loss/total'])}`;
      value = step;
      payload = { metrics: parts, evalAcc: lastEval };
      bar?.update(step, payload);
    },
    evaluated(step, result) {
      lastEval = pct(result.accuracy);
      payload = { ...payload, evalAcc: lastEval };
      const s = result.summary.stageShare;
      say(
        `${options.label} eval @ step ${step}: accuracy ${pct(result.accuracy)}, failed traces ${result.summary.withFailure}/${result.summary.traces}` +
          ` (early ${pct(s.early ?? undefined)}, mid ${pct(s.mid ?? undefined)}, late ${pct(s.late ?? undefined)})`,
      );
    },
    end() {
      bar?.stop();
      bar = null;
    },
  };
}
