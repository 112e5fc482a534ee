/**
 * Waiting, before a closed-loop user asks for a list, until the
 * responder's view of them holds everything the run has made them do so
 * far: its `GET /v1/users/:userId/history` counts the interactions folded
 * into the user's view (`event_count`, those still waiting for the
 * watermark included). Without the wait, whether a list is served from a
 * view that has the visit's last click depends on how busy the machine
 * is, and so does what the user is shown next.
 *
 * What a view must hold is counted per user over the whole run, from what
 * it held at the user's first visit: a visit that starts while the user's
 * previous one still has events on their way waits for those too, rather
 * than taking them for its own. A user who opted out has no view to wait
 * for.
 *
 * @example
 * ```ts
 * const views = new FreshViews('http://127.0.0.1:8080', 30_000);
 * await views.visiting('u42');
 * views.added('u42', 7); // the visit made 7 events, handed to the outbox
 * if (!(await views.fresh('u42'))) stale++;
 * ```
 */

/** A user whose wait ran out: what the run made them do, and what their view held at the end of the wait. */
export interface StaleView {
  readonly user_id: string;
  readonly owed: number;
  readonly held: number;
}

interface History {
  readonly event_count: number;
  readonly profile: { readonly opt_out: boolean } | null;
}

export class FreshViews {
  /** Per user: the interactions their view must hold; null for a user who opted out. */
  private readonly owed = new Map<string, number | null>();
  private readonly first = new Map<string, Promise<void>>();
  /** Per user, the last wait that ran out. */
  private readonly misses = new Map<string, StaleView>();

  constructor(
    private readonly responder: string,
    private readonly timeoutMs: number,
  ) {}

  /** A visit of the user starts: on their first, what their view holds now is where the count starts. */
  async visiting(userId: string): Promise<void> {
    let started = this.first.get(userId);
    if (started === undefined) {
      started = this.read(userId).then((history) => {
        this.owed.set(userId, history.profile?.opt_out ? null : history.event_count);
      });
      this.first.set(userId, started);
    }
    await started;
  }

  /** The user made `count` more interactions, handed to the outbox. */
  added(userId: string, count: number): void {
    const owed = this.owed.get(userId);
    if (owed !== undefined && owed !== null) this.owed.set(userId, owed + count);
  }

  /** Waits until the user's view holds all they did; false when it did not within the timeout. */
  async fresh(userId: string): Promise<boolean> {
    const owed = this.owed.get(userId);
    if (owed === undefined || owed === null) return true;
    const deadline = Date.now() + this.timeoutMs;
    // Backing off to a quarter of a second: each read folds the user's waiting interactions, and
    // two dozen users polling every 20 ms took more than half the CPU the processors needed to catch up.
    for (let pause = 1; ; pause = Math.min(2 * pause, 250)) {
      const held = (await this.read(userId)).event_count;
      if (held >= owed) return true;
      if (Date.now() >= deadline) {
        this.misses.set(userId, { user_id: userId, owed, held });
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /** The users whose wait ran out, with the gap at their last such wait. */
  staleUsers(): StaleView[] {
    return [...this.misses.values()];
  }

  private async read(userId: string): Promise<History> {
    const response = await fetch(`${this.responder}/v1/users/${encodeURIComponent(userId)}/history?limit=1`);
    if (response.status !== 200)
      throw new Error(
        `GET /v1/users/${userId}/history answered ${response.status} (the closed loop's fresh views need it): ${(await response.text()).slice(0, 300)}`,
      );
    return (await response.json()) as History;
  }
}

/** The stale users for an error message: how many, and what the first few did against what their view held. */
export function describeStaleUsers(users: readonly StaleView[], shown = 5): string {
  const first = users
    .slice(0, shown)
    .map((u) => `${u.user_id} did ${u.owed}, their view held ${u.held}`)
    .join('; ');
  return `${users.length} user${users.length === 1 ? '' : 's'}: ${first}${users.length > shown ? '; …' : ''}`;
}
