"""A small real training script, written the way an MLflow user writes one: logistic regression by
mini-batch gradient descent on generated two-class data, tracked with MLflow's fluent API.

It knows nothing about Trainyard. Where the runs go, and how to authenticate, comes from the
environment only, as for any MLflow script:
    MLFLOW_TRACKING_URI                                  the tracking server
    MLFLOW_TRACKING_TOKEN                                a bearer token, or
    MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD  Basic auth

What it logs, in one run of the experiment --experiment named --run-name:
    params   learning_rate, epochs, batch_size, features, base_model, seed
    tags     team, dataset
    metrics  loss and accuracy (on the training split) after every step, step = 1, 2, 3, …
             val_loss (on the validation split) at the end of each epoch, step = that epoch's
             last step, so it lines up with loss on a shared x axis
Weights start at zero, so `--lr 0` is the untrained baseline: loss ln 2 and accuracy exactly 0.5
at every step (both splits hold the two classes equally, and p = 0.5 counts as class 0).

Exit status:
    0  the run ended normally and is FINISHED
    3  --fail-at-epoch made training fail on purpose: the exception is raised inside
       `with mlflow.start_run()`, so MLflow ends the run FAILED; the script catches it only
       outside that block, prints the run id and exits 3
    other  anything else went wrong (the server refused us, say): the traceback, and Python's
       exit status 1

Stdout ends with the line `run_id=<id>` whenever a run was created. --record PATH writes every
value as it was logged (JSON) so a test can compare what the server returns with what was sent.
"""

import argparse
import json
import math
import random
import sys

import mlflow

FEATURES = 2
POINTS = 400
VALIDATION = 80  # of POINTS; the rest is the training split
BATCH_SIZE = 32


class InjectedFailure(RuntimeError):
    """Raised by --fail-at-epoch: a training crash the caller asked for."""


def make_data(seed):
    """Two Gaussian blobs of POINTS / 2 points each, labels 0 and 1, split into a training and
    a validation set that each hold both classes equally (so a model that has learnt nothing
    scores exactly 0.5 accuracy), shuffled."""
    rng = random.Random(seed)
    centres = {0: (-1.0, -0.5), 1: (1.0, 0.75)}
    train_set, validation_set = [], []
    for label in (0, 1):
        cx, cy = centres[label]
        blob = [([rng.gauss(cx, 1.0), rng.gauss(cy, 1.0)], label) for _ in range(POINTS // 2)]
        validation_set += blob[:VALIDATION // 2]
        train_set += blob[VALIDATION // 2:]
    rng.shuffle(train_set)
    rng.shuffle(validation_set)
    return train_set, validation_set


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def predict(weights, bias, x):
    return sigmoid(sum(w * xi for w, xi in zip(weights, x)) + bias)


def evaluate(weights, bias, data):
    """Mean binary cross-entropy and accuracy (class 1 when p > 0.5) over `data`."""
    eps = 1e-12
    loss = 0.0
    correct = 0
    for x, y in data:
        p = predict(weights, bias, x)
        loss -= y * math.log(p + eps) + (1 - y) * math.log(1 - p + eps)
        correct += int((p > 0.5) == (y == 1))
    return loss / len(data), correct / len(data)


def gradient_step(weights, bias, batch, lr):
    gw = [0.0] * len(weights)
    gb = 0.0
    for x, y in batch:
        error = predict(weights, bias, x) - y
        for i, xi in enumerate(x):
            gw[i] += error * xi
        gb += error
    n = len(batch)
    return [w - lr * g / n for w, g in zip(weights, gw)], bias - lr * gb / n


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", required=True, help="MLflow experiment name (created if missing)")
    parser.add_argument("--run-name", required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate (logged as Python prints it: 0.1)")
    parser.add_argument("--base-model", required=True, help="what this fine-tunes, logged as param base_model")
    parser.add_argument("--fail-at-epoch", type=int, default=None, metavar="N",
                        help="raise halfway through epoch N (1-based), after its first steps are logged")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated data")
    parser.add_argument("--team", default="ml-platform", help="value of the team tag")
    parser.add_argument("--record", metavar="PATH", help="write every logged value to this JSON file")
    return parser.parse_args(argv)


def train(args, record):
    train_set, validation_set = make_data(args.seed)
    steps_per_epoch = math.ceil(len(train_set) / BATCH_SIZE)
    weights, bias = [0.0] * FEATURES, 0.0

    mlflow.set_experiment(args.experiment)
    with mlflow.start_run(run_name=args.run_name) as run:
        record["run_id"] = run.info.run_id
        record["experiment_id"] = run.info.experiment_id
        print(f"started run {run.info.run_id} in experiment {args.experiment}", flush=True)

        params = {"learning_rate": args.lr, "epochs": args.epochs, "batch_size": BATCH_SIZE,
                  "features": FEATURES, "base_model": args.base_model, "seed": args.seed}
        mlflow.log_params(params)
        record["params"] = {k: str(v) for k, v in params.items()}  # MLflow sends str(value)

        tags = {"team": args.team, "dataset": f"blobs-{POINTS}x{FEATURES}-seed{args.seed}"}
        for key, value in tags.items():
            mlflow.set_tag(key, value)
        record["tags"] = tags

        def log(key, value, step):
            mlflow.log_metric(key, value, step=step)
            record["metrics"].setdefault(key, []).append([step, value])

        step = 0
        for epoch in range(1, args.epochs + 1):
            order = list(range(len(train_set)))
            random.Random(args.seed * 1000 + epoch).shuffle(order)
            for b in range(steps_per_epoch):
                if epoch == args.fail_at_epoch and b == steps_per_epoch // 2:
                    raise InjectedFailure(f"--fail-at-epoch {epoch}: failing at step {step + 1} on purpose")
                batch = [train_set[i] for i in order[b * BATCH_SIZE:(b + 1) * BATCH_SIZE]]
                weights, bias = gradient_step(weights, bias, batch, args.lr)
                step += 1
                loss, accuracy = evaluate(weights, bias, train_set)
                log("loss", loss, step)
                log("accuracy", accuracy, step)
            val_loss, val_accuracy = evaluate(weights, bias, validation_set)
            log("val_loss", val_loss, step)
            print(f"epoch {epoch}/{args.epochs}: loss {loss:.4f} accuracy {accuracy:.3f} "
                  f"val_loss {val_loss:.4f} val_accuracy {val_accuracy:.3f}", flush=True)


def main(argv=None):
    args = parse_args(argv)
    record = {"experiment": args.experiment, "run_name": args.run_name, "metrics": {}}
    status = 0
    try:
        train(args, record)
        record["status"] = "FINISHED"
    except InjectedFailure as failure:
        # The `with` block has already ended the run as FAILED.
        record["status"] = "FAILED"
        print(f"training failed: {failure}", file=sys.stderr, flush=True)
        status = 3
    finally:
        if args.record:
            with open(args.record, "w") as out:
                json.dump(record, out, indent=1)
    if "run_id" in record:
        print(f"run_id={record['run_id']}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
