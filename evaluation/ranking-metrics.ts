/**
 * Top-K ranking metrics as the recommender literature defines them (binary
 * relevance): Recall@K = hits / |relevant|, NDCG@K with the ideal DCG over
 * min(K, |relevant|) hits, HR@K = 1 when any relevant item is in the top K,
 * and catalog coverage = share of the catalog recommended to anyone.
 *
 * @example
 * ```ts
 * const acc = new RankingMetrics(20, catalogSize);
 * acc.add(['i1', 'i9'], new Set(['i9']));
 * acc.result(); // { recall: 1, ndcg: 0.63, hr: 1, coverage: 2 / catalogSize, users: 1 }
 * ```
 */
export interface RankingResult {
  readonly recall: number;
  readonly ndcg: number;
  readonly hr: number;
  readonly coverage: number;
  readonly users: number;
}

export class RankingMetrics {
  private recall = 0;
  private ndcg = 0;
  private hr = 0;
  private users = 0;
  private readonly recommended = new Set<string>();

  constructor(
    readonly k: number,
    private readonly catalogSize: number,
  ) {}

  /** One user's ranked list (best first) and relevant items; users with nothing relevant are not counted. */
  add(ranked: readonly string[], relevant: ReadonlySet<string>): void {
    if (relevant.size === 0) return;
    let hits = 0;
    let dcg = 0;
    const top = ranked.slice(0, this.k);
    top.forEach((item, i) => {
      this.recommended.add(item);
      if (relevant.has(item)) {
        hits++;
        dcg += 1 / Math.log2(i + 2);
      }
    });
    let ideal = 0;
    for (let i = 0; i < Math.min(this.k, relevant.size); i++) ideal += 1 / Math.log2(i + 2);
    this.recall += hits / relevant.size;
    this.ndcg += dcg / ideal;
    this.hr += hits > 0 ? 1 : 0;
    this.users++;
  }

  result(): RankingResult {
    const n = Math.max(1, this.users);
    return {
      recall: this.recall / n,
      ndcg: this.ndcg / n,
      hr: this.hr / n,
      coverage: this.catalogSize === 0 ? 0 : this.recommended.size / this.catalogSize,
      users: this.users,
    };
  }
}
