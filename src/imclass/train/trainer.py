"""The two-phase transfer-learning recipe, from a data set to a finished run directory.

Phase 1 ("head"): the backbone is frozen and inputs are not augmented, so its pooled features
are computed once. Single-label: the head is a linear probe (logistic regression, L2 chosen by
cross-validation on the training features, train/probe.py). Multi-label: the class-attention
head trains on the cached maps for many cheap AdamW epochs.
Phase 2 ("finetune"): the network on augmented images, its earliest layers frozen, one gentle
learning rate for body and head, AdamW with warm-up and cosine decay.
Phase 2 ends on the average of its start and its last epoch (wise_alpha, WiSE-FT): no epoch is
picked on the few validation images, which serve the temperature (train/calibration.py),
multi-label thresholds and the history. Single-label, phase 2 must then beat the probe's
validation accuracy (finetune_must_win), else the probe is the model: on ~100 photos per class
whose frozen features already separate the classes, fine-tuning lowered held-out accuracy.
A checkpoint after every epoch makes an interrupted run resumable. Under torchrun the
processes divide the images among them and only rank 0 writes (train/distributed.py).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from imclass.data.dataset import DataSource, ImageSet, multi_hot
from imclass.data.decode_cache import DecodeCache
from imclass.data.loader import default_workers, make_loader
from imclass.data.transforms import train_transform
from imclass.errors import DataError, RunDirError
from imclass.inference.batches import Outputs, run_inference
from imclass.inference.decisions import probabilities
from imclass.inference.device import prepare
from imclass.models.backbones import freeze_early_layers
from imclass.models.heads import build_model
from imclass.models.history import History
from imclass.models.run_dir import ModelSpec, RunDirectory
from imclass.progress import Reporter, raise_if_interrupted
from imclass.train.calibration import fit_temperature
from imclass.train.data_wait import data_wait_warning
from imclass.train.distributed import World
from imclass.train.loop import EpochStats, finetune_epoch, head_epoch, joined
from imclass.train.probe import fit_linear_probe
from imclass.train.resolve import Resolved
from imclass.train.schedule import LrSchedule
from imclass.train.task import make_task

START = "finetune_start."  # checkpoint tensors: phase 2's starting weights


@dataclass
class Best:
    """The saved (latest) epoch, its validation logits (rows align with indices), and the best
    validation accuracy and loss seen, which early stopping watches."""

    accuracy: float = -1.0
    loss: float = float("inf")
    epoch: str = ""
    logits: torch.Tensor | None = None
    indices: torch.Tensor | None = None

    def beaten_by(self, accuracy: float, loss: float) -> bool:
        return accuracy > self.accuracy or (accuracy == self.accuracy and loss < self.loss)


@dataclass
class TrainState:
    """Where training stands; saved in every checkpoint."""

    phase: str = "head"
    epochs_done: int = 0  # in the current phase
    stale_epochs: int = 0  # phase-2 epochs without improvement, for early stopping
    bad_files: dict[str, str] = field(default_factory=dict)
    refit: bool = False  # the second pass, on train + valid (see Trainer.start_refit)
    probe_kept: bool = False  # phase 2 did not beat the probe on validation (the refit skips it)


class Trainer:
    """Runs the recipe for one data set into one run directory."""

    def __init__(
        self,
        resolved: Resolved,
        source: DataSource,
        run_dir: Path,
        train_set: ImageSet,
        valid_set: ImageSet,
        reporter: Reporter | None = None,
        world: World | None = None,
    ):
        """resolved: every choice already made (train/resolve.py); the trainer makes none.
        world: this process's place under torchrun (default: the only process)."""
        self.resolved, self.config = resolved, resolved.config
        self.world = world or World()
        self.source, self.run_dir = source, Path(run_dir)
        self.directory = RunDirectory(self.run_dir)
        self.reporter = reporter or Reporter()
        self.train_set, self.valid_set = train_set, valid_set
        self.device = torch.device(resolved.device)
        with self._random_numbers(start=True):  # the head's initialisation
            model = build_model(resolved.model, len(resolved.classes), resolved.head)
        self.spec = ModelSpec(
            resolved.model,
            resolved.classes,
            resolved.preprocessing,
            resolved.multilabel,
            None,
            resolved.head,
            flip_tta=resolved.flip_tta,
        )
        self.model = prepare(model, self.device)
        self.task = make_task(
            resolved.multilabel, len(resolved.classes), self.config.label_smoothing
        )
        self.decode = DecodeCache(resolved.cache_side) if resolved.cache else None
        if resolved.cache and self.config.cache is None:
            self.reporter.line(
                f"decode cache on: images are much larger than {resolved.cache_side} px"
            )
        self.history = History(self.directory)
        self.state, self.best = TrainState(), Best()
        # (train, valid, len(train_set)) of the first pass, reused by the refit's probe
        self.first_pass_features: tuple[Outputs, Outputs, int] | None = None
        # phase 2's starting weights, for the weight-space average at its end (wise_alpha)
        self.finetune_start: dict[str, torch.Tensor] | None = None
        # the probe's validation logits (labels, indices), which phase 2 must beat
        self.probe_valid: Outputs | None = None
        self.warned_of_data_wait = False  # the warning is given once per run

    def _loader(self, images: ImageSet, augment: str, *, shuffle: bool, epoch_seed: int = 0):
        pre = self.spec.preprocessing
        return make_loader(
            images,
            train_transform(augment, pre, keep_content=self.task.multilabel),
            batch_size=self.resolved.batch_per_process,
            shuffle=shuffle,
            seed=epoch_seed,
            sampler=self.world.sampler(images, epoch_seed) if shuffle else None,
            workers=self._workers(),
            decode_size=pre.resize_size,
            decode=self.decode.load if self.decode else None,
            num_labels=len(self.source.classes) if self.task.multilabel else None,
        )

    def _workers(self) -> int:
        """Decoding workers: the setting, else one per core of this process's share of the
        machine (its cores are shared among its training processes)."""
        if self.config.workers is not None:
            return self.config.workers
        return default_workers(self.world.cores())

    # ---- the recipe ---------------------------------------------------------------------------

    def refits(self) -> bool:
        """Whether a second pass follows the first: asked for (refit), or the probe was kept.
        A kept probe is always fitted again on train + validation: its L2 strength is chosen
        by cross-validation on the training features anyway, so once the validation images
        have judged phase 2 and fitted the temperature they are worth more as training rows,
        and the refit costs seconds (features are cached). Held out, on twenty fresh 75 / 25
        fridgeObjects splits (frozen-feature replays, flip-averaged rows): 0.971 +- 0.026
        against 0.954 +- 0.032 for the first pass's probe (80 % of the images, unflipped
        rows); hymenoptera 0.987 against 0.967."""
        return (self.config.refit or self.state.probe_kept) and len(self.valid_set) > 0

    def start_refit(self) -> None:
        """Start again from the pretrained weights, now on train + valid, same schedule.

        With ~100 images per class the fifth held back for validation is worth more as
        training data once it has served the temperature, thresholds and history."""
        with self._random_numbers():  # the fresh head's initialisation
            self._enter_refit()
        self.state = TrainState(
            bad_files=self.state.bad_files, refit=True, probe_kept=self.state.probe_kept
        )
        self.best = Best()
        self.reporter.line(f"refit on all {len(self.train_set)} images")

    def _enter_refit(self) -> None:
        """Train on train + valid (valid indices now follow train's), validate on nothing."""
        self.train_set = ImageSet(
            self.train_set.paths + self.valid_set.paths,
            self.train_set.labels + self.valid_set.labels,
        )
        self.valid_set = ImageSet((), ())
        fresh = build_model(self.spec.architecture, len(self.spec.classes), self.spec.head)
        self.model = prepare(fresh, self.device)

    @contextmanager
    def _random_numbers(self, start: bool = False):
        """Torch's layers (initialisation, dropout) draw from the global generator: a fork of
        it, seeded from config.seed and carried from call to call, so training is repeatable
        and the caller's own stream is left as it was (no process-wide side effect)."""
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            if start:
                torch.manual_seed(self.config.seed)
            else:
                torch.set_rng_state(self.rng_state)
            try:
                yield
            finally:
                self.rng_state = torch.get_rng_state()

    def fit(self) -> Best:
        """Run (or continue) both phases."""
        with self._random_numbers():
            return self._fit()

    def _fit(self) -> Best:
        if self.state.phase == "head" and self.config.head_epochs > 0:
            self._head_phase()
        elif self.state.phase == "head":
            self.state.phase = "finetune"
        if self.state.phase == "finetune":
            self._finetune_phase()
        return self.best

    def _head_phase(self) -> None:
        if self.first_pass_features is not None:  # refit: the frozen backbone is the same
            first_train, first_valid, first_train_size = self.first_pass_features
            train = joined(first_train, first_valid, first_train_size)
            valid = first_valid[:0]
        else:
            # a mirror image's mean pooled features give the mean logits of a linear head, so
            # the probe learns from the features it will be applied to (flip-averaged, both
            # sides); multi-label maps are not pooled, so their views stay unflipped
            flip = self.spec.flip_tta and not self.task.multilabel
            train = self._features(self.train_set, "train", flip=flip)
            valid = (
                self._features(self.valid_set, "valid", flip=flip)
                if len(self.valid_set)
                else train[:0]
            )
            self.first_pass_features = (train, valid, len(self.train_set))
        if self.task.multilabel:
            self._attention_head_epochs(train, valid)
        else:
            self._probe_head(train, valid)
        self.state.phase, self.state.epochs_done = "finetune", 0
        self._checkpoint(None)

    def _probe_head(self, train: Outputs, valid: Outputs) -> None:
        """The head as a logistic-regression probe of the frozen features (train/probe.py)."""
        start = time.perf_counter()
        probe = fit_linear_probe(
            train.values.numpy(), train.labels.numpy(), len(self.source.classes), self.config.seed
        )
        probe.copy_into(self.model.get_classifier())
        seconds = time.perf_counter() - start
        train_logits = torch.from_numpy(probe.logits(train.values.numpy()))
        stats = EpochStats(
            self.task.plain_loss(train_logits, train.labels),
            self.task.correct(train_logits, train.labels) / len(train.labels),
            len(train.labels),
            seconds,
            0.0,
        )
        valid_values = valid.values.reshape(len(valid.labels), train.values.shape[1])
        logits = torch.from_numpy(probe.logits(valid_values.numpy()))
        if len(valid.labels):
            self.probe_valid = Outputs(logits, valid.labels, valid.indices, [])
        self._end_epoch(self._phase("probe"), 0, stats, logits, valid, float("nan"))

    def _attention_head_epochs(self, train: Outputs, valid: Outputs) -> None:
        head = self.model.get_classifier()
        optimizer = torch.optim.AdamW(
            head.parameters(), lr=self.config.head_lr, weight_decay=self.config.weight_decay
        )
        epochs = self.config.head_epochs
        steps = epochs * -(-len(train.labels) // self.config.batch_size)
        schedule = LrSchedule(
            [self.config.head_lr], steps, int(steps * self.config.warmup_fraction)
        )
        # moved once; unpooled maps stay half precision in memory, head_epoch widens each batch
        train_values, train_labels = train.values.to(self.device), train.labels.to(self.device)
        valid_values = valid.values.to(self.device).float()
        for epoch in range(epochs):
            generator = torch.Generator().manual_seed(self.config.seed * 1000 + epoch)
            stats = head_epoch(
                head,
                optimizer,
                schedule,
                train_values,
                train_labels,
                batch_size=self.config.batch_size,
                task=self.task,
                generator=generator,
            )
            with torch.inference_mode():
                logits = head.eval()(valid_values).float().cpu()
            lr = optimizer.param_groups[0]["lr"]
            self._end_epoch(self._phase("head"), epoch, stats, logits, valid, lr)

    def _finetune_phase(self, optimizer: torch.optim.Optimizer | None = None) -> None:
        # a safe point (progress.py) whether or not phase 2 runs: a Ctrl-C swallowed while the
        # first pass computed its features stops the run here, not after it has finished
        raise_if_interrupted()
        # here, not in fit, so that a resumed run decides as the straight run did
        if self.state.refit and self.state.probe_kept:
            self.state.phase = "done"  # the first pass found phase 2 no better than the probe
            return
        if self.state.epochs_done == 0 and self._probe_unbeatable():
            self._keep_probe(
                "the probe classified every validation image correctly, so phase 2 could not "
                "beat it (finetune_must_win): skipped, the probe is kept"
            )
            self.state.phase = "done"
            self._checkpoint(None)
            return
        optimizer = optimizer or self.finetune_optimizer()
        keep_start = self.config.wise_alpha < 1 or self._judging_phase_two()
        if self.finetune_start is None and self.config.epochs and keep_start:
            self.finetune_start = _trainable_state(self.model)
        epochs = self.config.epochs
        batches = self.world.batches_per_epoch(len(self.train_set), self.config.batch_size)
        rates = [g["initial_lr"] for g in optimizer.param_groups]
        schedule = LrSchedule(
            rates,
            epochs * batches,
            int(epochs * batches * self.config.warmup_fraction),
            step=self.state.epochs_done * batches,
        )
        # unfiltered, so that indices stay positions in valid_set (a known bad file fails again)
        valid_loader = self._loader(self.world.share(self.valid_set), "none", shuffle=False)
        trained = self.world.wrap(self.model, self.device)  # after the optimizer froze layers
        for epoch in range(self.state.epochs_done, epochs):
            raise_if_interrupted()  # a Ctrl-C that landed where Python swallows it
            seed = self.config.seed * 1000 + self.config.head_epochs + epoch
            torch.manual_seed(seed)
            usable = self._usable(self.train_set)
            loader = self.train_loader(seed, usable)
            with self.reporter.task(
                f"finetune {epoch + 1}/{epochs}", len(loader.sampler)
            ) as advance:
                stats, failures = finetune_epoch(
                    trained,
                    optimizer,
                    schedule,
                    loader,
                    self.device,
                    task=self.task,
                    advance=advance,
                )
            stats = self.world.combined(stats)
            # its indices are positions in usable; every process skips them from now on
            self._record_failures(usable, self.world.all_failures(failures))
            self._warn_of_data_wait(stats, f"finetune epoch {epoch + 1}")
            valid = self._validate(valid_loader)
            improved = self._end_epoch(
                self._phase("finetune"),
                epoch,
                stats,
                valid.values,
                valid,
                optimizer.param_groups[-1]["lr"],
            )
            self.state.epochs_done = epoch + 1
            self.state.stale_epochs = 0 if improved else self.state.stale_epochs + 1
            self._checkpoint(optimizer)
            if (
                self.config.early_stopping
                and len(self.valid_set)  # the refit pass has none: it runs the whole schedule
                and self.state.stale_epochs >= self.config.early_stopping
            ):
                self.reporter.line(
                    f"early stopping: no improvement in {self.state.stale_epochs} epochs"
                )
                break
        if self.finetune_start is not None:
            if self.config.wise_alpha < 1:
                self._average_with_start(valid_loader)
            if self._judging_phase_two():
                self._keep_probe_unless_beaten()
            self.state.phase, self.finetune_start = "done", None
            self._checkpoint(None)

    def _judging_phase_two(self) -> bool:
        """Whether phase 2 must beat the probe: single-label, with a probe and validation (the
        refit pass has none: it follows the first pass's verdict)."""
        return (
            self.config.finetune_must_win and self.probe_valid is not None and not self.state.refit
        )

    def _probe_unbeatable(self) -> bool:
        """Phase 2 is kept only if it gets more validation images right than the probe: when
        the probe got every one right it cannot, and its epochs (most of a run's time on the
        CPU) would be thrown away. On hymenoptera that is every run: 140 of 200 s."""
        return self._judging_phase_two() and self._probe_correct() == len(self.probe_valid.labels)

    def _probe_correct(self) -> int:
        """How many validation images the probe classified correctly."""
        return self.task.correct(self.probe_valid.values, self.probe_valid.labels)

    def _average_with_start(self, valid_loader) -> None:
        """Phase 2's weights moved back towards its start (WiSE-FT); validated and saved as the
        run's last "epoch", so temperature and thresholds are fitted on what is saved."""
        alpha = self.config.wise_alpha
        self._blend_with_start(alpha)
        valid = self._validate(valid_loader)
        self._end_epoch(self._phase("average"), 0, _NOTHING, valid.values, valid, float("nan"))

    def _blend_with_start(self, alpha: float) -> None:
        """The trainable weights become alpha * themselves + (1 - alpha) * phase 2's start."""
        with torch.no_grad():
            current = self.model.state_dict()
            for name, start in self.finetune_start.items():
                end = current[name]
                end.copy_(alpha * end + (1 - alpha) * start.to(end.device, end.dtype))

    def _keep_probe_unless_beaten(self) -> None:
        """Phase 2's result stays only if it classifies more validation images correctly than
        the probe it started from; otherwise the probe's weights are restored and saved, as
        the run's last "epoch" (so temperature and the figures are the probe's)."""
        tuned = self.task.correct(self.best.logits, torch.as_tensor(self._valid_targets()[0]))
        if tuned > self._probe_correct():
            return
        self._blend_with_start(0.0)
        self._keep_probe(
            "phase 2 did not beat the probe on validation: the probe is kept (finetune_must_win)"
        )

    def _keep_probe(self, why: str) -> None:
        """The probe's weights (already in the model) are the first pass's result: its
        validation figures become the run's last "epoch", and the refit fits it again."""
        probe = self.probe_valid
        self.state.probe_kept = True
        self.reporter.line(why)
        self._end_epoch(self._phase("probe kept"), 0, _NOTHING, probe.values, probe, float("nan"))

    def _validate(self, valid_loader) -> Outputs:
        """The model's validation logits, with flip TTA where the saved model will use it."""
        with self.reporter.task("validate", len(valid_loader.dataset)) as advance:
            out = run_inference(
                self.model, valid_loader, self.device, advance, flip=self.spec.flip_tta
            )
        return self.world.gather(out)

    def train_loader(self, seed: int, images: ImageSet | None = None):
        """The augmented, shuffled loader of one fine-tuning epoch (over images, by default
        the training images not known to be unreadable)."""
        images = images if images is not None else self._usable(self.train_set)
        return self._loader(images, self.config.augment, shuffle=True, epoch_seed=seed)

    def finetune_optimizer(self) -> torch.optim.Optimizer:
        """AdamW with two groups: the trainable body at lr * body_lr_ratio, the head at lr."""
        freeze_early_layers(self.model, self.config.frozen_fraction)
        head_ids = {id(p) for p in self.model.get_classifier().parameters()}
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        body = [p for p in trainable if id(p) not in head_ids]
        head = [p for p in trainable if id(p) in head_ids]
        lr = self.config.lr
        groups = [
            {"params": body, "lr": lr * self.config.body_lr_ratio},
            {"params": head, "lr": lr},
        ]
        for group in groups:
            group["initial_lr"] = group["lr"]
        return torch.optim.AdamW(groups, weight_decay=self.config.weight_decay)

    # ---- per-epoch bookkeeping ----------------------------------------------------------------

    def _phase(self, name: str) -> str:
        """The phase's name in history.csv: 'refit ' marks the second pass."""
        return f"refit {name}" if self.state.refit else name

    def _features(self, images: ImageSet, name: str, flip: bool = False) -> Outputs:
        """Each image's features, computed once: by one of the processes, then gathered."""
        loader = self._loader(self.world.share(images), "none", shuffle=False)
        start = time.perf_counter()
        with self.reporter.task(f"features ({name})", len(loader.dataset)) as advance:
            out = run_inference(self.model, loader, self.device, advance, features=True, flip=flip)
        out = self.world.gather(out)
        self._record_failures(images, out.failures)
        if len(out.labels) == 0 and len(images):
            raise DataError(f"{self.source.root}: none of the {name} images could be read")
        seconds = time.perf_counter() - start
        self.reporter.line(
            f"features ({name}): {len(out.labels)} images in {seconds:.1f} s "
            f"({len(out.labels) / max(seconds, 1e-9):.1f} images/s)"
        )
        return out

    def _warn_of_data_wait(self, stats: EpochStats, epoch: str) -> None:
        """Once per run: the first epoch that waited long for images says why and what helps."""
        if self.warned_of_data_wait:
            return
        text = data_wait_warning(
            stats.data_wait_fraction,
            epoch,
            cache=self.decode is not None,
            workers=self._workers(),
            cores=self.world.cores(),
        )
        if text:
            self.reporter.warn(text)
            self.warned_of_data_wait = True

    def _record_failures(self, images: ImageSet, failures: list[tuple[int, str]]) -> None:
        for index, reason in failures:
            path = str(images.paths[index])
            if path not in self.state.bad_files:
                self.state.bad_files[path] = reason
                self.reporter.warn(f"skipped {path}: {reason}")

    def _usable(self, images: ImageSet) -> ImageSet:
        return images.without({Path(p) for p in self.state.bad_files})

    def _end_epoch(
        self, phase: str, epoch: int, stats, logits: torch.Tensor, valid: Outputs, lr: float
    ) -> bool:
        valid_loss, valid_acc = float("nan"), float("nan")
        if len(valid.labels):
            valid_loss = self.task.plain_loss(logits, valid.labels)
            valid_acc = self.task.correct(logits, valid.labels) / len(valid.labels)
        improved = self.best.beaten_by(valid_acc, valid_loss)
        best_acc, best_loss = (
            (valid_acc, valid_loss) if improved else (self.best.accuracy, self.best.loss)
        )
        self.best = Best(best_acc, best_loss, f"{phase} {epoch + 1}", logits, valid.indices)
        if self.world.is_main:  # the other processes hold the same figures and write nothing
            row = self.history.add(
                phase=phase,
                epoch=epoch + 1,
                train_loss=stats.loss,
                train_accuracy=stats.accuracy,
                valid_loss=valid_loss,
                valid_accuracy=valid_acc,
                lr=lr,
                seconds=stats.seconds,
                images_per_s=stats.images_per_s,
                data_wait_fraction=stats.data_wait_fraction,
            )
            self.directory.write_model(self.model, self.spec)
            self.reporter.line(self.history.describe(row))
        return improved

    def _checkpoint(self, optimizer) -> None:
        if not self.world.is_main:
            return
        state = {
            "phase": self.state.phase,
            "epochs_done": self.state.epochs_done,
            "stale_epochs": self.state.stale_epochs,
            "bad_files": self.state.bad_files,
            "refit": self.state.refit,
            "probe_kept": self.state.probe_kept,
            # history.csv gets an epoch's row before its checkpoint: a kill in between leaves a
            # row of an epoch the resumed run trains again (resume drops it)
            "history_rows": len(self.history.rows),
            "best": {
                "accuracy": self.best.accuracy,
                "loss": self.best.loss,
                "epoch": self.best.epoch,
            },
        }
        tensors = {
            "best_logits": self.best.logits,
            "best_indices": self.best.indices,
            "torch_rng": torch.get_rng_state(),
        }
        for name, value in (self.finetune_start or {}).items():
            tensors[f"{START}{name}"] = value
        if self.probe_valid is not None:
            tensors.update(_named_tensors("probe", self.probe_valid, PROBE_PARTS))
        tensors.update(self._first_pass_tensors())
        self.directory.write_checkpoint(state, tensors, self.model, optimizer)

    def _first_pass_tensors(self) -> dict[str, torch.Tensor]:
        """The first pass's pooled features (single-label: ~5 KB an image), so that a resumed
        run refits its probe on exactly the features the straight run would have."""
        if self.first_pass_features is None or self.task.multilabel:
            return {}
        train, valid, train_size = self.first_pass_features
        return {
            "first_train_size": torch.tensor(train_size),
            **_named_tensors("first_train", train),
            **_named_tensors("first_valid", valid),
        }

    def _restore_first_pass(self, extra: dict[str, torch.Tensor]) -> None:
        if "first_train_size" in extra:
            train, valid = (_outputs_named(extra, side) for side in ("first_train", "first_valid"))
            self.first_pass_features = (train, valid, int(extra["first_train_size"]))

    def resume(self) -> Best:
        """Continue from the run directory's checkpoint."""
        with self._random_numbers():
            return self._resume()

    def _resume(self) -> Best:
        checkpoint = self.world.from_main(self.directory.read_checkpoint)
        state, extra = checkpoint.state, checkpoint.extra
        self.state = TrainState(
            state["phase"],
            state["epochs_done"],
            state["stale_epochs"],
            state["bad_files"],
            state.get("refit", False),
            state.get("probe_kept", False),
        )
        if "probe_logits" in extra:
            self.probe_valid = _outputs_named(extra, "probe", PROBE_PARTS)
        self._restore_first_pass(extra)
        if self.state.refit:  # temperature and thresholds came from the first pass
            self._enter_refit()
            self.spec = self.world.from_main(self.directory.read_spec)
        best = state["best"]
        self.best = Best(
            best["accuracy"],
            best["loss"],
            best["epoch"],
            _needed(extra, "best_logits", self.run_dir),
            extra["best_indices"],
        )
        self.history.load()
        if "history_rows" in state and len(self.history.rows) > state["history_rows"]:
            self.history.rows = self.history.rows[: state["history_rows"]]
            if self.world.is_main:
                self.directory.write_history(self.history.rows)
        start = {k[len(START) :]: v for k, v in extra.items() if k.startswith(START)}
        self.finetune_start = start or None
        optimizer = self.finetune_optimizer() if "optimizer" in state else None
        checkpoint.restore(self.model, optimizer)
        torch.set_rng_state(extra["torch_rng"])
        self.reporter.line(
            f"resuming {self.run_dir}: {self.state.phase} phase, "
            f"{self.state.epochs_done} epoch(s) done, best {self.best.epoch}"
        )
        if self.state.phase == "finetune":
            self._finetune_phase(optimizer)
        return self.best

    def calibrate(self) -> float:
        """Fit the temperature on the saved epoch's validation logits; store it in model.json."""
        targets, _ = self._valid_targets()
        temperature = fit_temperature(self.best.logits, torch.as_tensor(targets), self.task)
        self._store_spec(temperature=temperature)
        return temperature

    def store_thresholds(self, thresholds: tuple[float, ...]) -> None:
        """Keep the multi-label thresholds chosen on validation in model.json, for predict."""
        self._store_spec(thresholds=thresholds)

    def _store_spec(self, **changes) -> None:
        """The spec changes after training only here, and model.json follows at once."""
        self.spec = replace(self.spec, **changes)
        if self.world.is_main:
            self.directory.write_spec(self.spec)

    def valid_probabilities(self) -> tuple[np.ndarray, np.ndarray, list[Path]]:
        """The saved epoch's calibrated validation probabilities with their labels and paths."""
        logits = self.best.logits.reshape(-1, len(self.spec.classes))
        probs = probabilities(
            logits, multilabel=self.task.multilabel, temperature=self.spec.temperature
        )
        return probs.numpy(), *self._valid_targets()

    def _valid_targets(self):
        indices = self.best.indices.tolist()
        labels = [self.valid_set.labels[i] for i in indices]
        labels = (
            multi_hot(labels, len(self.source.classes))
            if self.task.multilabel
            else np.array(labels)
        )
        paths = [self.valid_set.paths[i] for i in indices]
        return labels, paths


_NOTHING = EpochStats(float("nan"), float("nan"), 0, 0.0, 0.0)  # a row that trained nothing


# Outputs in a checkpoint: one tensor per part, named prefix_part (the probe's values were
# always stored as its logits)
PARTS = ("values", "labels", "indices")
PROBE_PARTS = ("logits", "labels", "indices")


def _named_tensors(prefix: str, out: Outputs, names=PARTS) -> dict[str, torch.Tensor]:
    """Copies (safetensors refuses tensors that share memory) of out's tensors, by name."""
    return {
        f"{prefix}_{name}": getattr(out, part).clone()
        for name, part in zip(names, PARTS, strict=True)
    }


def _outputs_named(extra: dict[str, torch.Tensor], prefix: str, names=PARTS) -> Outputs:
    """What _named_tensors stored, as Outputs again (its failures are in the state)."""
    return Outputs(*(extra[f"{prefix}_{name}"] for name in names), [])


def _trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Copies of what phase 2 may change: the trainable parameters and the floating-point
    buffers (BatchNorm statistics stay frozen in imclass's loop, not in every model's)."""
    changing = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    changing += [(n, b) for n, b in model.named_buffers() if b.is_floating_point()]
    return {name: value.detach().clone() for name, value in changing}


def _needed(tensors: dict, name: str, run_dir: Path) -> torch.Tensor:
    if name not in tensors:
        raise RunDirError(
            f"{run_dir}: the checkpoint was written by an older imclass and cannot be resumed; "
            "train again"
        )
    return tensors[name]
