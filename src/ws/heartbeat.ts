/**
 * @module wirekit/ws/heartbeat
 * Heartbeats without a timer per socket: one interval per period walks the sockets that use
 * it, as ws's own documentation suggests. A socket that has not answered the previous round's
 * ping by the next round is terminated.
 */

/** The method a socket implements to take part: called once per period. */
export const BEAT: unique symbol = Symbol('wirekit.ws.beat');

export interface Beating {
  [BEAT](): void;
}

/** The sockets sharing one period, and the one interval that walks them. */
class Heartbeat {
  readonly #period: number;
  readonly #members = new Set<Beating>();
  #timer: NodeJS.Timeout | undefined;

  constructor(period: number) {
    this.#period = period;
  }

  add(member: Beating): void {
    this.#members.add(member);
    if (this.#timer === undefined) {
      this.#timer = setInterval(this.#tick, this.#period);
      // Heartbeats alone must not keep a process alive.
      this.#timer.unref();
    }
  }

  delete(member: Beating): void {
    this.#members.delete(member);
    if (this.#members.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  readonly #tick = (): void => {
    for (const member of this.#members) member[BEAT]();
  };
}

const heartbeats = new Map<number, Heartbeat>();

/** The shared heartbeat of `period` ms (made on first use; its interval runs while it has members). */
export function heartbeat(period: number): Heartbeat {
  let found = heartbeats.get(period);
  if (found === undefined) {
    found = new Heartbeat(period);
    heartbeats.set(period, found);
  }
  return found;
}

export type { Heartbeat };
