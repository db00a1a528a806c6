/**
 * Cooperative yielding for long engine calls. Tokenizing, featurizing and decoding run on the event loop;
 * a large batch done in one go would keep the server from answering its probes until it finishes. Callers
 * count the tokens they have worked on and, past a budget, give the loop one turn (setImmediate runs after
 * pending I/O callbacks, so a waiting /healthz is answered before the work resumes).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export class WorkYielder {
  #since = 0;

  constructor(readonly budget: number) {}

  /** Count `tokens` of work; give the event loop a turn once the budget is used up. */
  async spent(tokens: number): Promise<void> {
    this.#since += tokens;
    if (this.#since < this.budget) return;
    this.#since = 0;
    await nextTurn();
  }
}
