/**
 * Exact top-K by inner product over an embedding matrix, skipping excluded
 * rows: the reference every ANN result is compared with, and the scorer of
 * offline evaluation (full catalog, no approximation).
 *
 * @example
 * ```ts
 * const top = exactTopK(userVector, itemMatrix, 64, 20, (row) => seen.has(row));
 * ```
 */
export function exactTopK(
  query: Float32Array,
  matrix: Float32Array,
  dims: number,
  k: number,
  excluded: (row: number) => boolean,
  firstRow = 1,
): { rows: number[]; scores: number[] } {
  const rows = matrix.length / dims;
  const heapRows: number[] = [];
  const heapScores: number[] = [];
  // A small sorted buffer beats a heap for K ≤ 100.
  for (let r = firstRow; r < rows; r++) {
    if (excluded(r)) continue;
    let score = 0;
    const at = r * dims;
    for (let d = 0; d < dims; d++) score += query[d]! * matrix[at + d]!;
    if (heapRows.length === k && score <= heapScores[k - 1]!) continue;
    let i = heapRows.length === k ? k - 1 : heapRows.length;
    while (i > 0 && heapScores[i - 1]! < score) {
      if (i < k) {
        heapScores[i] = heapScores[i - 1]!;
        heapRows[i] = heapRows[i - 1]!;
      }
      i--;
    }
    heapScores[i] = score;
    heapRows[i] = r;
    if (heapRows.length > k) {
      heapRows.length = k;
      heapScores.length = k;
    }
  }
  return { rows: heapRows, scores: heapScores };
}
