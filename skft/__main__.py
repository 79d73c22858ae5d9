"""Command line of skft: ``python -m skft demo``."""

import argparse
import sys

import numpy as np


def _demo(args):
    rng = np.random.default_rng(args.random_state)
    n, d, noise = 200, 1000, 0.5
    w_star = rng.standard_normal(d) / np.sqrt(d)
    w0 = w_star + 1.5 * rng.standard_normal(d) / np.sqrt(d)
    X = rng.standard_normal((n, d))
    y = X @ w_star + noise * rng.standard_normal(n)
    # closest interpolator to w0: the limit of SGD started at w0
    w = w0 + X.T @ np.linalg.solve(X @ X.T, y - X @ w0)
    X_test = rng.standard_normal((5000, d))
    y_test = X_test @ w_star + noise * rng.standard_normal(5000)
    print(f"target samples n={n}, features d={d}")
    print(f"pretrained test MSE: {np.mean((y_test - X_test @ w0) ** 2):.4f}")
    print(f"fine-tuned test MSE: {np.mean((y_test - X_test @ w) ** 2):.4f}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="skft", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fine-tune a pretrained model on generated data")
    demo.add_argument("--random-state", type=int, default=0)
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
