#!/usr/bin/python3
"""fig1c.py — the paper's Figure 1C table from Python: what `ssvae demo`
does, with the same seeds and recipe, so it prints the same numbers.

    PYTHONPATH=python examples/fig1c.py [--seed S] [--epochs N] [--frames T]

Seed S: the training video has seed S, the held-out video S + 1, every
model is initialised and shuffled with S (as `ssvae demo --seed S`).
"""
import argparse
import time

import ssvae


def row(name, model, scores, seconds):
    elbo = "%.3f" % model.history["elbo"][-1] if name not in ("untrained", "supervised") \
        and model.history["elbo"] else "-"
    learned = model.describe() if name != "untrained" else "-"
    return "%-11s %8.2f px %9.2f px %9.2f px %10.2f px %6d %10s %-13s %8.1f" % (
        name, scores.probe_test, scores.direct_test, scores.probe_train, scores.direct_train,
        scores.found, elbo, learned, seconds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--frames", type=int, default=900, help="training frames (held-out: 300)")
    ap.add_argument("--test-frames", type=int, default=300)
    a = ap.parse_args()

    frames, centres = ssvae.generate(a.frames, seed=a.seed)
    test, test_centres = ssvae.generate(a.test_frames, seed=a.seed + 1)
    lines = []
    for name in ("untrained", "gaussian", "linear", "supervised"):
        t0 = time.time()
        if name == "untrained":
            model = ssvae.untrained(frames.shape[1:], maps=centres.shape[1], seed=a.seed)
        else:
            model = ssvae.train(frames, name, centres=centres, epochs=a.epochs, seed=a.seed)
        seconds = 0.0 if name == "untrained" else model.seconds
        s = ssvae.probe(model.encode(frames), centres, model.encode(test), test_centres)
        lines.append(row(name, model, s, seconds))
        chance = s.chance_test
        print("%s: %.1f s" % (name, time.time() - t0), flush=True)
    print("\nFigure 1C (seed %d; %d training frames, %d held-out frames; %d epochs)"
          % (a.seed, a.frames, a.test_frames, a.epochs))
    print("%-11s %11s %12s %12s %13s %6s %10s %-13s %8s" % (
        "model", "probe test", "direct test", "probe train", "direct train", "found", "ELBO nats",
        "learned", "seconds"))
    print("\n".join(lines))
    print("chance level (always the training mean): %.2f px on the test video; found: balls whose "
          "map reads them to within 8 px" % chance)


if __name__ == "__main__":
    main()
