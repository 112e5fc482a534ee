"""Two published collaborative-filtering models on a graph-CF split, outside the serving path.

    /usr/bin/python3 models/scripts/published_baselines.py /work/shared/data/lastfm ease --l2 200
    /usr/bin/python3 models/scripts/published_baselines.py /work/shared/data/lastfm lightgcn --layers 3 --epochs 400

train.txt + valid.txt train, test.txt scores: every item a user has no training interaction
with is ranked, Recall@20 = hits / |test items| (the protocol of `lastfm_check.py` and of
`recstream bench quality`'s popularity row, which this script prints too).

- EASE (Steck, WWW 2019): the closed-form item-item model B = I - P / diag(P), P = (XᵀX + λI)⁻¹,
  with B's diagonal zero; a user's scores are their row of X times B. Dense in items².
- LightGCN (He et al., SIGIR 2020): id embeddings smoothed over the normalised user-item graph,
  the mean over layers 0..L, trained with BPR and one uniform negative per positive. Recall@20
  is printed every 50 epochs on test.txt, so its best line is read at its best test point: an
  upper bound of what a model chosen on a validation split would score.

Neither is servable through the user tower + ANN + ranker path as it stands; they say what the
model families the quality issue names reach on the same split.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def read_lines(path: str) -> list[tuple[int, int]]:
    """(user, item) pairs of a file of lines `user item item ...`."""
    pairs: list[tuple[int, int]] = []
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) < 2:
                continue
            user = int(fields[0])
            pairs.extend((user, int(item)) for item in fields[1:])
    return pairs


def recall_at_20(scores: np.ndarray, test: dict[int, set[int]]) -> float:
    """Mean over test users of hits in the top 20 / their test items; `scores` already masks training items."""
    recalls = []
    for user, items in test.items():
        top = np.argpartition(-scores[user], 20)[:20]
        recalls.append(len(items & set(top.tolist())) / len(items))
    return float(np.mean(recalls))


def ease_scores(x: np.ndarray, l2: float) -> np.ndarray:
    gram = x.T @ x
    gram[np.diag_indices(gram.shape[0])] += l2
    p = np.linalg.inv(gram)
    b = -p / np.diag(p)
    b[np.diag_indices(b.shape[0])] = 0
    return x @ b


def lightgcn(train: list[tuple[int, int]], users: int, items: int, test: dict[int, set[int]], x: np.ndarray, args) -> None:
    torch.manual_seed(args.seed)
    u = torch.tensor([p[0] for p in train])
    i = torch.tensor([p[1] for p in train])
    user_degree = torch.bincount(u, minlength=users).float().clamp(min=1)
    item_degree = torch.bincount(i, minlength=items).float().clamp(min=1)
    weights = 1 / torch.sqrt(user_degree[u] * item_degree[i])
    adjacency = torch.sparse_coo_tensor(torch.stack([u, i + users]), weights, (users + items, users + items))
    adjacency = (adjacency + adjacency.t()).coalesce()
    embeddings = torch.nn.Parameter(torch.randn(users + items, args.dim) * 0.1)
    optimiser = torch.optim.Adam([embeddings], lr=args.lr)
    seen = torch.from_numpy(x > 0)

    def propagate() -> torch.Tensor:
        layer: torch.Tensor = embeddings
        total: torch.Tensor = embeddings
        for _ in range(args.layers):
            layer = torch.sparse.mm(adjacency, layer)
            total = total + layer
        return total / (args.layers + 1)

    start = time.time()
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(train))
        for at in range(0, len(train), args.batch_size):
            batch = order[at : at + args.batch_size]
            users_b, positives = u[batch], i[batch]
            negatives = torch.randint(0, items, (len(batch),))
            final = propagate()
            eu, ep, en = final[users_b], final[users + positives], final[users + negatives]
            loss = -torch.nn.functional.logsigmoid((eu * ep).sum(1) - (eu * en).sum(1)).mean()
            raw = sum(embeddings[rows].pow(2).sum() for rows in (users_b, users + positives, users + negatives))
            optimiser.zero_grad()
            (loss + args.l2 * raw / 2 / len(batch)).backward()
            optimiser.step()
        if epoch % 50 == 0:
            with torch.no_grad():
                final = propagate()
                scores = (final[:users] @ final[users:].t()).masked_fill(seen, -1e9).numpy()
            print(f"lightgcn epoch {epoch} ({time.time() - start:.0f} s) Recall@20 {recall_at_20(scores, test):.4f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("model", choices=["ease", "lightgcn"])
    parser.add_argument("--l2", type=float, help="EASE's λ (default 200) or LightGCN's embedding L2 (default 1e-4)")
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=400)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    train = read_lines(f"{args.folder}/train.txt") + read_lines(f"{args.folder}/valid.txt")
    test_pairs = read_lines(f"{args.folder}/test.txt")
    users = max(p[0] for p in train + test_pairs) + 1
    items = max(p[1] for p in train + test_pairs) + 1
    x = np.zeros((users, items), dtype=np.float64)
    for user, item in train:
        x[user, item] = 1
    test: dict[int, set[int]] = {}
    for user, item in test_pairs:
        test.setdefault(user, set()).add(item)
    popularity = np.tile(x.sum(0), (users, 1))
    popularity[x > 0] = -np.inf
    print(f"{users} users, {items} items; popularity Recall@20 {recall_at_20(popularity, test):.4f}", flush=True)
    if args.model == "ease":
        started = time.time()
        scores = ease_scores(x, args.l2 if args.l2 is not None else 200.0)
        scores[x > 0] = -np.inf
        print(f"ease λ {args.l2 or 200.0} ({time.time() - started:.0f} s) Recall@20 {recall_at_20(scores, test):.4f}")
    else:
        if args.l2 is None:
            args.l2 = 1e-4
        lightgcn(train, users, items, test, x, args)


if __name__ == "__main__":
    main()
