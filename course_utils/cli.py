"""The course's command line.

``python -m course_utils reproduce``: the post's three experiments, headless. Prints a table of
test cost and accuracy beside the post's, saves the figures, and writes a JSON record of every
run (history and per-layer statistics).

``python -m course_utils sweep NAME ...``: re-runs the seed sweeps that notebooks 6 to 8 load
(:mod:`course_utils.lab.sweeps`) and saves them where the notebooks find them.

Bad arguments end in a one-line error and exit status 2; missing data in a one-line error and
exit status 1.
"""

import argparse
import json
import math
from pathlib import Path
import sys
import warnings


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "reproduce":
        return reproduce(args, parser)
    if args.command == "sweep":
        return sweep(args)
    parser.print_help()
    return 2


def _parser():
    # the choices come from the modules that define them (this imports TensorFlow)
    from .core.data import DATASETS
    from .core.training import PRECISIONS
    from .lab.experiments import EXPERIMENTS
    from .lab.sweeps import DATA_DIR, SEEDS, SWEEPS

    parser = argparse.ArgumentParser(
        prog="python -m course_utils",
        description="Tools of the weight-initialization course.",
    )
    commands = parser.add_subparsers(dest="command")
    repro = commands.add_parser(
        "reproduce",
        help="run the post's three experiments and compare with its numbers",
        description="Run the large, small and He + Xavier experiments of 'LTFN 6: Weight "
        "Initialization' and compare with the post's test cost and accuracy.",
    )
    repro.add_argument("--dataset", choices=DATASETS, default="subset",
                       help="offline 5000-digit subset (default) or full MNIST")
    repro.add_argument("--path", type=Path, help="mnist.npz for --dataset full")
    repro.add_argument("--steps", type=_positive_int, default=400,
                       help="gradient-descent steps per experiment (default 400; the post: 5000)")
    repro.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default 0)")
    repro.add_argument("--experiments", nargs="+", choices=tuple(EXPERIMENTS),
                       default=list(EXPERIMENTS), help="which experiments to run (default all)")
    repro.add_argument("--json", type=Path, help="write the results as JSON to this file")
    repro.add_argument("--figures", type=Path, help="save the figures (PNG) into this folder")
    repro.add_argument("--tensorboard", type=Path, metavar="DIR",
                       help="write TensorBoard logs, one run per experiment, under DIR "
                       "(with gradient histograms and update ratios every --monitor-every steps)")
    repro.add_argument("--monitor-every", type=_positive_int, default=10, metavar="N",
                       help="with --tensorboard: record gradients and update ratios every N "
                       "steps (default 10)")
    repro.add_argument("--precision", choices=PRECISIONS, default="float32",
                       help="float32 (default), or bfloat16 convolutions and matrix products "
                       "(float32 variables, updates and cost): about twice as fast on CPUs with "
                       "bfloat16 instructions (AVX512-BF16, AMX), refused on others")
    repro.add_argument("--force-bfloat16", action="store_true",
                       help="run --precision bfloat16 even where this CPU has no bfloat16 "
                       "instructions (emulated: usually slower than float32)")
    repro.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    sweeps = commands.add_parser(
        "sweep",
        help="re-run the seed sweeps behind notebooks 6 to 8's comparisons",
        description="Train each recipe of a sweep at each of its learning rates from several "
        "seeds and save the results as JSON, where the notebooks load them.",
    )
    sweeps.add_argument("names", nargs="+", choices=tuple(SWEEPS), metavar="NAME",
                        help=f"which sweeps: {', '.join(SWEEPS)}")
    sweeps.add_argument("--seeds", nargs="+", type=_non_negative_int, default=list(SEEDS),
                        help=f"seeds (default {' '.join(map(str, SEEDS))})")
    sweeps.add_argument("--out", type=Path, default=DATA_DIR,
                        help="folder for NAME.json (default: where the notebooks load them)")
    sweeps.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return parser


def _positive_int(text):
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _non_negative_int(text):
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


def _integer(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def reproduce(args, parser):
    if args.path is not None and args.dataset != "full":
        parser.error("--path is only used with --dataset full")
    if args.path is not None and not args.path.is_file():
        parser.error(f"--path {args.path}: no such file")
    for option in ("json", "figures"):
        target = getattr(args, option)
        if target is None:
            continue
        folder = target.parent if option == "json" else target
        blocking = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if blocking is not None and not blocking.is_dir():
            parser.error(f"--{option} {target}: {blocking} is not a folder")
    if args.force_bfloat16 and args.precision != "bfloat16":
        parser.error("--force-bfloat16 is only used with --precision bfloat16")

    from .core import training
    from .core.data import DataError, load_mnist
    from .core.stats import diagnosis_line
    from .lab.experiments import results_table, run_experiment

    if args.precision == "bfloat16":
        supported, reason = training.bfloat16_support()
        if not supported and not args.force_bfloat16:
            parser.error(f"--precision bfloat16: {reason}; use the default float32, or add "
                         "--force-bfloat16 to run it anyway")
        if not supported:
            print(f"warning: --precision bfloat16 forced: {reason}", file=sys.stderr)

    try:
        data = load_mnist(args.dataset, path=args.path, seed=args.seed)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"data: {data}", flush=True)
    if args.precision != "float32":
        print(f"precision: {args.precision} convolutions and matrix products, float32 "
              "variables, updates and cost (training and testing)", flush=True)
    results = {}
    for key in args.experiments:
        print(f"running '{key}' for {args.steps} steps ...", file=sys.stderr, flush=True)
        with warnings.catch_warnings():  # a missing bfloat16 support was reported above
            warnings.filterwarnings("ignore", message="precision='bfloat16'")
            result = run_experiment(key, data, args.steps, seed=args.seed,
                                    progress=not args.no_progress,
                                    keep_outputs=args.figures is not None,
                                    precision=args.precision,
                                    monitor_every=(args.monitor_every
                                                   if args.tensorboard is not None else None))
        results[key] = result
    print()
    print(results_table(results.values()))
    print()
    for key, result in results.items():
        print(f"{key:>7}: {diagnosis_line(result.activations)}; "
              f"logits within +-{_magnitude(result.activations['logits'])}")
    if args.figures is not None:
        saved = save_figures(results, data, args.figures)
        print(f"\nfigures: {len(saved)} PNG files in {args.figures}")
    if args.tensorboard is not None:
        from .lab.experiments import ANALYSIS_BATCH
        from .views.tensorboard import log_experiment_results

        log_experiment_results(args.tensorboard, results, data.test_images[:ANALYSIS_BATCH],
                               args.steps, args.seed)
        print(f"tensorboard: runs {', '.join(results)} in {args.tensorboard} "
              f"(view: tensorboard --logdir {args.tensorboard})")
    if args.json is not None:
        record = {
            "dataset": args.dataset,
            "steps": args.steps,
            "seed": args.seed,
            "precision": args.precision,
            "experiments": {key: result.as_json() for key, result in results.items()},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2))
        print(f"json: {args.json}")
    return 0


def sweep(args):
    from .core.training import set_seed
    from .lab.sweeps import run_sweep

    set_seed(args.seeds[0])  # before TensorFlow's first op: one op at a time (BatchNorm runs)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        print(f"sweep '{name}', seeds {args.seeds} ...", file=sys.stderr, flush=True)
        result = run_sweep(name, seeds=args.seeds, progress=not args.no_progress)
        path = args.out / f"{name}.json"
        result.save(path)
        print(result.summary())
        print(f"json: {path}\n", flush=True)
    return 0


def save_figures(results, data, folder):
    """Histograms, logits/predictions per experiment, plus the comparisons; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .lab.experiments import ANALYSIS_BATCH
    from .views.plots import (
        plot_history,
        plot_layer_histograms,
        plot_logits_and_predictions,
        plot_std_by_layer,
    )

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figures = {}
    for key, result in results.items():
        title = result.experiment.title
        for scale in ("common", "per-layer"):
            figures[f"{key}_histograms_{scale}"] = plot_layer_histograms(
                result.outputs, scale=scale, title=f"{title}: pre-ReLU outputs ({scale} scale)")
        figures[f"{key}_logits_predictions"] = plot_logits_and_predictions(
            result.outputs, images=data.test_images[:ANALYSIS_BATCH], title=title)
    figures["training_curves"] = plot_history(
        {result.experiment.title: result.history for result in results.values()})
    figures["std_by_layer"] = plot_std_by_layer(
        {result.experiment.title: result.activations for result in results.values()})
    paths = []
    for name, figure in figures.items():
        path = folder / f"{name}.png"
        figure.savefig(path, dpi=80)
        plt.close(figure)
        paths.append(path)
    return paths


def _magnitude(summary):
    largest = max(abs(summary["min"]), abs(summary["max"]))
    return f"{largest:.2g}" if math.isfinite(largest) else "nan"
