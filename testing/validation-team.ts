/**
 * A simulated validation team for the end-to-end tests: it posts synthetic notes with the entities "a person
 * verified" (the generator's own labels) to `POST /v1/feedback` of whichever serving pods `targets()` returns,
 * round-robin (both tracks during a canary, as a Service would), paced, one request in flight at a time per
 * tick. It keeps counts only, never text.
 */
import { tokenize } from '../engine/features/tokenize.js';
import type { TrafficTarget } from '../loadgen/traffic.js';
import type { SyntheticNote } from '../trainer/synthetic.js';

/** A verified entity as `/v1/feedback` takes it. */
export interface GoldEntity {
  label: string;
  start: number;
  end: number;
}

/** The gold spans of a synthetic note, from its BIO labels and the tokenizer the generator used. */
export function goldEntities(note: SyntheticNote): GoldEntity[] {
  const tokens = tokenize(note.text, { splitHyphens: true });
  const out: GoldEntity[] = [];
  note.labels.forEach((label, i) => {
    const t = tokens[i];
    if (!t) return;
    if (label.startsWith('B-')) out.push({ label: label.slice(2), start: t.start, end: t.end });
    else if (label.startsWith('I-') && out.length > 0) (out[out.length - 1] as GoldEntity).end = t.end;
  });
  return out;
}

export interface ValidationTeamStats {
  /** Corrections sent. */
  sent: number;
  /** Answered 200. */
  ok: number;
  /** Answers by HTTP status; 0: network error. */
  codes: Record<number, number>;
  /** 200 answers by the target's track. */
  byTrack: Record<string, number>;
}

/** Posts corrections at `rate` per second while started, at most `max` of them per start. */
export class ValidationTeam {
  readonly stats: ValidationTeamStats = { sent: 0, ok: 0, codes: {}, byTrack: {} };
  #loop: Promise<void> | undefined;
  #running = false;
  #next = 0;

  constructor(
    private readonly opts: {
      targets: () => readonly TrafficTarget[];
      nextNote: () => SyntheticNote;
      source?: string;
    },
  ) {}

  /** Start posting (stops by itself after `max`); a running team is restarted with the new pace. */
  async start(rate: number, max = Number.POSITIVE_INFINITY): Promise<this> {
    await this.stop();
    this.#running = true;
    this.#loop = this.#run(rate, max);
    return this;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    this.#loop = undefined;
  }

  /** Resolves when the current start has posted its `max` (or was stopped). */
  async done(): Promise<void> {
    await this.#loop;
  }

  async #run(rate: number, max: number): Promise<void> {
    const startedAt = Date.now();
    let posted = 0;
    while (this.#running && posted < max) {
      const due = startedAt + (posted * 1000) / rate;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      if (!this.#running) break;
      const targets = this.opts.targets();
      if (targets.length === 0) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const target = targets[this.#next++ % targets.length] as TrafficTarget;
      posted++;
      await this.#post(target);
    }
  }

  async #post(target: TrafficTarget): Promise<void> {
    const note = this.opts.nextNote();
    this.stats.sent++;
    let code = 0;
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify({
          text: note.text,
          entities: goldEntities(note),
          ...(this.opts.source ? { source: this.opts.source } : {}),
        }),
        signal: AbortSignal.timeout(5000),
      });
      await res.arrayBuffer();
      code = res.status;
    } catch {
      code = 0;
    }
    this.stats.codes[code] = (this.stats.codes[code] ?? 0) + 1;
    if (code === 200) {
      this.stats.ok++;
      const track = target.track ?? '';
      this.stats.byTrack[track] = (this.stats.byTrack[track] ?? 0) + 1;
    }
  }
}
