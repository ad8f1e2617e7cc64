r"""Training a transformation network for one style: the perceptual loss, the loop, the files.

The loss is the loss of an optimization-based transfer (:class:`nst_utils.StyleTransferLoss`, lesson 05's
costs), averaged over a batch of training crops :math:`C_b` and the network's outputs
:math:`x_b = f_W(C_b)`:

.. math:: J(W) = \frac{1}{B} \sum_b \Big[\alpha\, J_{content}(C_b, x_b) + \beta\, J_{style}(S, x_b)
   + w_{TV}\, J_{TV}(x_b)\Big]

with the same layers, weighting and weights (:data:`nst_utils.DEFAULTS` unless changed): it *is*
:meth:`nst_utils.StyleTransferLoss.batch`, not a second implementation. The style targets are computed
once; the content target changes with every crop, and with the balanced weighting each crop's content
term is divided by its own size, as the optimization divides by the photo's. Only the network's
weights :math:`W` change; VGG19 stays frozen.

The training step, for a batch of crops :math:`C` (B, crop, crop, 3) drawn afresh at every step:

.. math:: W \leftarrow W - \mathrm{Adam}\big(\partial J(W; C) / \partial W\big)

the same Adam update as an optimization's (its formula: :mod:`nst_utils.loop`), on the network's weights
instead of an image's parameters, over batches instead of one image, with checkpoints between steps; so
the step is its own, and the book-keeping (history, progress bar, callback, Ctrl-C) is the optimization's
:class:`nst_utils.loop.Monitor`.

What is trained, on what, for how long: a :class:`nst_utils.FastRecipe` (:mod:`nst_utils.fast.recipe`).

Checkpoints and trained networks are ``.keras`` files (:mod:`nst_utils.fast.files`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from nst_utils._tf import tf  # first: imports TensorFlow quietly

import keras
import numpy as np

from nst_utils.fast.data import CropSampler, load_photo
from nst_utils.fast.files import read_network, write_network
from nst_utils.fast.recipe import FastRecipe, fast_recipe
from nst_utils.fast.speed import machine_description
from nst_utils.features import feature_extractor
from nst_utils.images import as_image
from nst_utils.loop import Monitor
from nst_utils.loss import LossValues, StyleTransferLoss
from nst_utils.models import cached_vgg19
from nst_utils.optimizers import COST_KEYS
from nst_utils.precision import resolve_precision
from nst_utils.samples import SAMPLES, load_sample
from nst_utils.settings import DEFAULTS, Settings

#: The loss settings a checkpoint must share with a run that continues it.
_MATCH = ("alpha", "beta", "tv_weight", "content_layer", "style_layers", "weighting", "style_statistic", "pooling")


class PerceptualLoss:
    """J of a batch of outputs x (B, n_H, n_W, 3) of the content crops C (same shape): see the module docstring.

    Not a second implementation: it is :meth:`nst_utils.StyleTransferLoss.batch` of a
    :class:`nst_utils.StyleTransferLoss` built once from the style image, whose extractor reaches the
    content layer and the style layers.

    Args:
        style: the style image (1, H, W, 3) in [0, 1].
        settings: the loss's settings (alpha, beta, tv_weight, layers, weighting, statistic, pooling).
        model: the VGG to measure with; default VGG19 with the settings' pooling and precision.

    Attributes:
        style_loss: the :class:`nst_utils.StyleTransferLoss` that holds the style targets and the
            layer weights (built once from the style image).
    """

    def __init__(self, style: np.ndarray, *, settings: Settings = DEFAULTS, model=None) -> None:
        model = model if model is not None else cached_vgg19(settings.pooling, resolve_precision(settings.precision))
        self.settings = settings
        self.extractor = feature_extractor(model, [settings.content_layer, *settings.style_layers])
        self.style_loss = StyleTransferLoss(self.extractor, style=style, settings=settings)

    def __call__(self, content: tf.Tensor, x: tf.Tensor) -> LossValues:
        """The batch means of J and its parts (as J adds them up); differentiable with respect to x."""
        return self.style_loss.batch(content, x)


@dataclass
class FastTraining:
    """What :func:`train_fast_network` returns.

    Attributes:
        network: the transformation network (a ``keras.Model``); ``network.nst_info`` is :attr:`info`.
        history: per step ``"J"``, ``"J_content"``, ``"J_style"``, ``"J_tv"`` (batch means, as J adds
            them up) and ``"seconds"`` (training wall time so far, over all resumed runs).
        steps: steps done in all (a resumed run counts the steps before it).
        seconds: wall time of this call (loading and tracing included).
        stopped: ``None`` if all steps ran, else ``"callback"`` or ``"interrupted"`` (Ctrl-C).
        resumed_from: the step the checkpoint had reached (0: trained from scratch).
        info: what the network file records: style, settings, architecture, recipe, history.
    """

    network: keras.Model
    history: dict[str, list[float]]
    steps: int
    seconds: float
    stopped: str | None = None
    resumed_from: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        t = self.info.get("training", {})
        end = "" if self.stopped is None else f", stopped ({self.stopped})"
        cost = f", J {self.history['J'][0]:.3g} -> {self.history['J'][-1]:.3g}" if self.history["J"] else ""
        return (f"FastTraining({self.info.get('style')}: {self.steps} steps of {t.get('batch_size')} crops of "
                f"{t.get('crop')} px, {self.seconds:.0f} s{end}{cost})")


def _style_image(style: Any, size: int) -> tuple[np.ndarray, str | None]:
    if isinstance(style, str) and style in SAMPLES:
        return load_sample(style, size), style
    return as_image(style, size, name="style"), None


def _fingerprint(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image, np.float32).tobytes()).hexdigest()[:16]


def _split_changes(changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keyword changes -> (recipe fields, loss settings); a name that is neither is refused with both lists."""
    recipe_fields, setting_fields = set(FastRecipe.fields()), {f.name for f in dataclasses.fields(Settings)}
    unknown = sorted(set(changes) - recipe_fields - setting_fields)
    if unknown:
        raise TypeError(f"unknown argument(s) {unknown}: the recipe's fields are {list(FastRecipe.fields())}, "
                        f"the loss's settings {sorted(setting_fields)}")
    return ({k: v for k, v in changes.items() if k in recipe_fields},
            {k: v for k, v in changes.items() if k not in recipe_fields})


def _recipe_of(saved: dict[str, Any]) -> FastRecipe | None:
    """The recipe a checkpoint was trained with (files written before recipes existed: rebuilt from their record)."""
    if "recipe" in saved:
        return FastRecipe.from_dict(saved["recipe"])
    a, t = saved.get("architecture"), saved.get("training")
    if not a or not t:
        return None
    try:
        return FastRecipe(width=a["width"], residual_blocks=a["residual_blocks"], norm=a["norm"], kernel=a["kernel"],
                          padding="reflect_outer", crop=t["crop"], size=t["size"], scales=tuple(t["scales"]),
                          photos=tuple(t["photos"]), batch_size=t["batch_size"], learning_rate=t["learning_rate"],
                          seed=t["seed"])
    except (KeyError, ValueError, TypeError):
        return None


def _write_curve(path: Path, history: dict[str, list[float]]) -> None:
    """The training curve as CSV (step, J, J_content, J_style, J_tv, seconds), written atomically."""
    keys = (*COST_KEYS, "seconds")
    lines = ["step," + ",".join(keys)]
    lines += [f"{i + 1}," + ",".join(f"{history[k][i]:.6g}" for k in keys) for i in range(len(history["J"]))]
    part = path.with_name(f".{path.name}.part")
    part.write_text("\n".join(lines) + "\n")
    os.replace(part, path)


def train_fast_network(
    style: Any,
    recipe: FastRecipe | str | None = None,
    *,
    settings: Settings | None = None,
    photos: Iterable[str] | dict[str, np.ndarray] | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 100,
    checkpoint_seconds: float | None = None,
    resume: bool = True,
    callback: Callable[[int, keras.Model, dict[str, list[float]]], Any] | None = None,
    callback_every: int = 50,
    progress: bool = True,
    model=None,
    **changes: Any,
) -> FastTraining:
    """Train a transformation network for one style (Johnson et al. 2016) by a :class:`nst_utils.FastRecipe`.

    Args:
        style: a sample name (``"starry_night"``) or anything :func:`nst_utils.as_image` takes; loaded
            with its longer side ``recipe.size`` px, like the optimization's style image.
        recipe: a :class:`nst_utils.FastRecipe` or a name from :data:`nst_utils.FAST_RECIPES`
            (default ``"width8"``, the recipe of the network the course first shipped;
            ``"johnson"`` is the paper's).
        settings: the loss's settings (default :data:`nst_utils.DEFAULTS`).
        photos: ``{name: image}`` to train on instead of loading ``recipe.photos`` by name (their
            names become the recipe's ``photos``).
        **changes: recipe fields (``steps=2000``, ``crop=128``, ``width=16``, ...) and loss settings
            (``beta=1e2``, ...) changed by name, checked; an unknown name is refused.
        checkpoint: a ``.keras`` path, written every ``checkpoint_every`` steps (and every
            ``checkpoint_seconds`` of training if given), at the end and on Ctrl-C, with the training
            curve as CSV beside it (``<name>.csv``). With ``resume=True`` an existing one is continued
            exactly (weights, Adam's state, the crop generator), up to ``recipe.steps``; it must have
            the same style, loss settings and recipe (but ``steps`` and ``precision``).
        callback: ``callback(step, network, history)`` every ``callback_every`` steps; True stops.
        progress: show a progress bar.
        model: the VGG for the loss (default: VGG19 with the settings' pooling and the recipe's precision).

    The loss is :class:`PerceptualLoss`: :meth:`nst_utils.StyleTransferLoss.batch`, the batch mean of
    the optimization's J. The seed seeds the initial weights and the crops; the same seed on the same
    machine gives the same network as far as TensorFlow's CPU kernels are deterministic.

    Returns:
        A :class:`FastTraining`. Ctrl-C (KeyboardInterrupt) also returns one, and writes the checkpoint.
    """
    t0 = time.perf_counter()
    recipe_changes, setting_changes = _split_changes(changes)
    if isinstance(photos, dict):
        recipe_changes["photos"] = tuple(photos)
    elif photos is not None:
        recipe_changes["photos"] = tuple(photos)
    recipe = fast_recipe(recipe, **recipe_changes)
    precision = (model.get_layer("block1_conv1").dtype_policy.name if model is not None
                 else resolve_precision(recipe.precision))
    settings = (settings or DEFAULTS).replace(**setting_changes).replace(precision=precision)
    for name, value in (("checkpoint_every", checkpoint_every), ("callback_every", callback_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r}: use a whole number >= 1")
    if checkpoint_seconds is not None and not checkpoint_seconds > 0:
        raise ValueError(f"checkpoint_seconds={checkpoint_seconds!r}: use a number of seconds > 0, or None")
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and path.suffix != ".keras":
        raise ValueError(f"checkpoint={str(path)!r}: the file name must end in .keras")
    style_image, style_name = _style_image(style, recipe.size)
    photo_images = photos if isinstance(photos, dict) else {n: load_photo(n) for n in recipe.photos}
    sampler = CropSampler(photo_images, crop=recipe.crop, size=recipe.size, scales=recipe.scales,
                          flips=recipe.flips, seed=recipe.seed)
    loss = PerceptualLoss(style_image, settings=settings, model=model)
    loss.extractor.check_size((1, recipe.crop, recipe.crop, 3), "a training crop")

    info: dict[str, Any] = {
        "format": 2, "style": style_name, "style_fingerprint": _fingerprint(style_image),
        "style_shape": list(style_image.shape[1:3]),
        "settings": {k: settings.as_dict()[k] for k in (*_MATCH, "precision")},
        "recipe": recipe.as_dict(),
        "architecture": {"width": recipe.width, "residual_blocks": recipe.residual_blocks, "norm": recipe.norm,
                         "kernel": recipe.kernel, "padding": recipe.padding, "skip": recipe.skip},
        "training": {"steps": 0, "batch_size": recipe.batch_size, "crop": recipe.crop, "size": recipe.size,
                     "scales": list(recipe.scales), "learning_rate": recipe.learning_rate,
                     "photos": list(photo_images), "seed": recipe.seed, "seconds": 0.0},
        "runs": [],
    }
    history: dict[str, list[float]] | None = None          # a new run: the Monitor starts it
    optimizer_state = None
    if path is not None and resume and path.exists():
        network, saved, optimizer_state = read_network(path)
        _check_same(path, saved, info, recipe)
        info["training"] = {**info["training"], **{k: saved["training"][k] for k in ("steps", "seconds")}}
        info["runs"] = list(saved.get("runs", []))
        history = {k: list(v) for k, v in saved["history"].items()}
        sampler.set_state(saved["data_rng"])
    else:
        network = recipe.network()
    start = info["training"]["steps"]
    trained_before = info["training"]["seconds"]
    run_record = {"from_step": start, "to_step": start, "seconds": 0.0, "machine": machine_description(),
                  "precision": precision}
    info["runs"].append(run_record)

    optimizer = keras.optimizers.Adam(recipe.learning_rate)
    optimizer.build(network.trainable_variables)
    if optimizer_state is not None:
        for variable, value in zip(optimizer.variables, optimizer_state):
            variable.assign(value)

    @tf.function
    def train_step(C: tf.Tensor) -> LossValues:
        """One step: W <- W - Adam(dJ(W; C)/dW) for the batch C (B, crop, crop, 3); J's parts before it."""
        with tf.GradientTape() as tape:
            values = loss(C, network(C, training=True))
        grads = tape.gradient(values.J, network.trainable_variables)
        optimizer.apply_gradients(zip(grads, network.trainable_variables))
        return values

    # the history (COST_KEYS and "seconds": training time over all runs), the bar, the callback, Ctrl-C
    monitor = Monitor(recipe.steps, keys=COST_KEYS, callback=callback, callback_every=callback_every,
                      desc="training", initial=start, history=history, progress=progress)

    def save() -> None:
        if path is None:
            return
        info["training"]["steps"], info["data_rng"] = monitor.done, sampler.state()
        info["training"]["seconds"] = trained_before + train_seconds
        run_record.update(to_step=monitor.done, seconds=train_seconds)
        write_network(network, path, {**info, "history": monitor.history},
                      [v.numpy() for v in optimizer.variables])
        _write_curve(path.with_suffix(".csv"), monitor.history)

    train_seconds, saved_at = 0.0, 0.0
    try:
        with monitor.interruptible():
            while monitor.done < recipe.steps:
                t = time.perf_counter()
                values = train_step(tf.constant(sampler.batch(recipe.batch_size)))
                train_seconds += time.perf_counter() - t
                monitor.record(values, seconds=trained_before + train_seconds)   # counts the step at once
                due = monitor.done % checkpoint_every == 0 or (
                    checkpoint_seconds is not None and train_seconds - saved_at >= checkpoint_seconds)
                if due and monitor.done < recipe.steps:
                    save()
                    saved_at = train_seconds
                if monitor.wants_stop(lambda: network):
                    break
    finally:
        monitor.close()
    save()
    done = monitor.done
    info["training"]["steps"], info["training"]["seconds"] = done, trained_before + train_seconds
    run_record.update(to_step=done, seconds=train_seconds)
    info.pop("data_rng", None)
    network.nst_info = {**info, "history": monitor.history}
    return FastTraining(network, monitor.history, done, time.perf_counter() - t0, monitor.stopped, start,
                        network.nst_info)


def _check_same(path: Path, saved: dict[str, Any], wanted: dict[str, Any], recipe: FastRecipe) -> None:
    """Refuse to resume a checkpoint of another style, other loss settings or another recipe."""
    if saved.get("style_fingerprint") != wanted["style_fingerprint"]:
        raise ValueError(f"checkpoint {str(path)!r} was trained for another style image "
                         f"({saved.get('style')!r}); delete it, pass resume=False, or name another checkpoint")
    differ = [k for k in _MATCH if saved["settings"].get(k) != wanted["settings"][k]]
    if differ:
        raise ValueError(f"checkpoint {str(path)!r} was trained with other settings ({', '.join(differ)}: "
                         f"{[saved['settings'].get(k) for k in differ]}); delete it, pass resume=False, "
                         "or name another checkpoint")
    theirs = _recipe_of(saved)
    if theirs is None:
        raise ValueError(f"checkpoint {str(path)!r} records no recipe; delete it or pass resume=False")
    mine, old = recipe.as_dict(), theirs.as_dict()
    differ = [k for k in FastRecipe.fields() if k not in ("steps", "precision") and mine[k] != old[k]]
    if differ:
        raise ValueError(f"checkpoint {str(path)!r} was trained with another recipe ("
                         + ", ".join(f"{k}={old[k]!r}, not {mine[k]!r}" for k in differ)
                         + "); resume it with its own recipe (nu.FastRecipe.from_dict(network.nst_info['recipe'])), "
                         "pass resume=False, or name another checkpoint")
