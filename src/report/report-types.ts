/**
 * Input shapes of the report (src/report). They mirror the `mrpo analyze`
 * summary (issue 3, docs/method.md §8) structurally, so the report depends on no
 * algorithm module: `summarizeFailures(...)`'s result can be passed as is.
 */
import type { Chart } from './charts.js';
import type { Table } from './html.js';

export interface ReportFarTriple {
  readonly all: number | null;
  readonly correct: number | null;
  readonly incorrect: number | null;
}

export interface ReportBin {
  readonly lo: number;
  readonly hi: number;
  readonly count: number;
  readonly incorrectRate: number | null;
  readonly far: ReportFarTriple;
}

export interface ReportFailureSummary {
  readonly traces: number;
  readonly withFailure: number;
  readonly withoutSteps?: number;
  readonly accuracy?: number | null;
  readonly stageShare: { readonly early: number | null; readonly mid: number | null; readonly late: number | null };
  readonly bins: readonly ReportBin[];
  readonly far?: ReportFarTriple;
}

/** Accuracy of one run on one benchmark (the items' `source`). */
export interface SourceAccuracy {
  readonly source: string;
  readonly traces: number;
  readonly correct: number;
  readonly accuracy: number;
}

export interface ReportRun {
  /** Run label (e.g. `base`, `mrpo`): colours and legends use it. */
  readonly label: string;
  readonly summary: ReportFailureSummary;
  readonly accuracyBySource?: readonly SourceAccuracy[];
  /** Records skipped because a judge left them unjudged (answers) or kept without step labels (steps). */
  readonly unjudged?: { readonly answers: number; readonly steps: number };
  /** Free-text notes shown under the run's row, e.g. which answer-reward components were active. */
  readonly notes?: readonly string[];
}

/** An extra section: paragraphs (escaped), charts (from charts.ts) and tables, in that order. */
export interface ReportSection {
  readonly title: string;
  /** Before or after the reasoning-failure analysis (default 'after'). */
  readonly placement?: 'before' | 'after';
  readonly paragraphs?: readonly string[];
  readonly charts?: readonly Chart[];
  readonly tables?: readonly Table[];
}

export interface ReportInput {
  readonly title: string;
  /** A line under the title (escaped), e.g. the run directory or the date; the report reads no clock. */
  readonly subtitle?: string;
  /** Runs for the reasoning-failure figures and tables; may be empty (then only the extra sections). */
  readonly runs: readonly ReportRun[];
  /** More sections, e.g. a training run's reward curves (`placement: 'before'` puts them first). */
  readonly extraSections?: readonly ReportSection[];
}
