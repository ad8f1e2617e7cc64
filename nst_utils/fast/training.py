r"""Training a transformation network for one style: the perceptual loss, the loop, the files.

The loss is the loss of an optimization-based transfer (:class:`nst_utils.StyleTransferLoss`, lesson 05's
costs), averaged over a batch of training crops :math:`C_b` and the network's outputs
:math:`x_b = f_W(C_b)`:

.. math:: J(W) = \frac{1}{B} \sum_b \Big[\alpha\, J_{content}(C_b, x_b) + \beta\, J_{style}(S, x_b)
   + w_{TV}\, J_{TV}(x_b)\Big]

with the same layers, weighting and weights (:data:`nst_utils.DEFAULTS` unless changed). The style
targets are computed once; the content target changes with every crop, and with the balanced weighting
each crop's content term is divided by its own size, as the optimization divides by the photo's.
Only the network's weights :math:`W` change; VGG19 stays frozen.

Checkpoints and trained networks are ``.keras`` files (:mod:`nst_utils.fast.files`).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from nst_utils._tf import tf  # first: imports TensorFlow quietly

import keras
import numpy as np

from nst_utils import costs
from nst_utils.fast.data import TRAINING_PHOTOS, CropSampler, load_photo
from nst_utils.fast.files import read_network, write_network
from nst_utils.fast.network import transformation_network
from nst_utils.features import feature_extractor
from nst_utils.images import as_image
from nst_utils.loss import LossValues, StyleTransferLoss
from nst_utils.models import cached_vgg19
from nst_utils.precision import resolve_precision
from nst_utils.samples import SAMPLES, load_sample
from nst_utils.settings import DEFAULTS, Settings

#: The loss settings a checkpoint must share with a run that continues it.
_MATCH = ("alpha", "beta", "tv_weight", "content_layer", "style_layers", "weighting", "style_statistic", "pooling")


class PerceptualLoss:
    """J of a batch of outputs x (B, n_H, n_W, 3) of the content crops C (same shape): see the module docstring.

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
        self.content_extractor = feature_extractor(model, [settings.content_layer])   # C needs no more
        self.style_loss = StyleTransferLoss(self.extractor, style=style, settings=settings)
        self._balanced = settings.weighting == "balanced"
        self._weights = {l: tf.constant(w, tf.float32) for l, w in self.style_loss.layer_weights.items()}

    def __call__(self, content: tf.Tensor, x: tf.Tensor) -> LossValues:
        """The batch means of J and its parts (as J adds them up); differentiable with respect to x."""
        s, layer, statistic = self.settings, self.settings.content_layer, self.style_loss.statistic
        a_C = tf.stop_gradient(self.content_extractor(content)[layer])
        a_G = self.extractor(x)
        J_content, J_style, J_tv = [], [], []
        for b in range(x.shape[0]):
            one = slice(b, b + 1)
            Jc = costs.content_cost(a_C[one], a_G[layer][one])
            if self._balanced:   # relative to this crop's own content, as the optimization does for its photo
                Jc = Jc / tf.maximum(costs.content_cost(a_C[one], tf.zeros_like(a_C[one])), 1e-12)
            J_content.append(Jc)
            J_style.append(tf.add_n([self._weights[l] * statistic.cost(target, a_G[l][one])
                                     for l, target in self.style_loss.targets.items()]))
            J_tv.append(costs.total_variation_cost(x[one]) if s.tv_weight else tf.constant(0.0))
        Jc, Js, Jtv = (tf.reduce_mean(tf.stack(v)) for v in (J_content, J_style, J_tv))
        return LossValues(s.alpha * Jc + s.beta * Js + s.tv_weight * Jtv, Jc, Js, Jtv)


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


def train_fast_network(
    style: Any,
    *,
    steps: int = 400,
    batch_size: int = 4,
    crop: int = 128,
    size: int = 256,
    scales: tuple[float, float] = (0.75, 1.5),
    width: int = 8,
    residual_blocks: int = 5,
    norm: str = "instance",
    kernel: int = 9,
    learning_rate: float = 2e-3,
    photos: Iterable[str] | dict[str, np.ndarray] = TRAINING_PHOTOS,
    settings: Settings | None = None,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 100,
    resume: bool = True,
    callback: Callable[[int, keras.Model, dict[str, list[float]]], Any] | None = None,
    callback_every: int = 50,
    progress: bool = True,
    model=None,
    **changes: Any,
) -> FastTraining:
    """Train a transformation network for one style (Johnson et al. 2016): the recipe of the committed networks.

    Args:
        style: a sample name (``"starry_night"``) or anything :func:`nst_utils.as_image` takes; loaded
            with its longer side ``size`` px, like the optimization's style image.
        steps: Adam steps in all (a resumed run continues up to ``steps``).
        batch_size, crop, size, scales: ``batch_size`` random crops of ``crop`` px per step from the
            ``photos``, scaled around ``size`` px (:class:`nst_utils.CropSampler`).
        width, residual_blocks, norm, kernel: the network (:func:`nst_utils.transformation_network`).
        learning_rate: Adam's step size for the network's weights (constant, so a resumed run continues
            exactly as an uninterrupted one would).
        photos: names (:data:`nst_utils.TRAINING_PHOTOS` by default) or ``{name: image}``.
        settings, **changes: the loss's settings (default :data:`nst_utils.DEFAULTS`; ``beta=...`` etc.).
        seed: seeds the initial weights and the crops; the same seed on the same machine gives the same
            network as far as TensorFlow's CPU kernels are deterministic.
        checkpoint: a ``.keras`` path: written every ``checkpoint_every`` steps, at the end and on
            Ctrl-C; with ``resume=True`` an existing one is continued (same style and settings only).
        callback: ``callback(step, network, history)`` every ``callback_every`` steps; True stops.
        progress: show a progress bar.
        model: the VGG for the loss (default: VGG19 with the settings' pooling and precision).

    Returns:
        A :class:`FastTraining`. Ctrl-C (KeyboardInterrupt) also returns one, and writes the checkpoint.
    """
    t0 = time.perf_counter()
    settings = (settings or DEFAULTS).replace(**changes)
    settings = settings.replace(precision=resolve_precision(settings.precision) if model is None
                                else model.get_layer("block1_conv1").dtype_policy.name)
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps={steps!r}: use a whole number >= 0")
    if not isinstance(checkpoint_every, int) or checkpoint_every < 1:
        raise ValueError(f"checkpoint_every={checkpoint_every!r}: use a whole number >= 1")
    style_image, style_name = _style_image(style, size)
    photo_images = photos if isinstance(photos, dict) else {n: load_photo(n) for n in photos}
    sampler = CropSampler(photo_images, crop=crop, size=size, scales=scales, seed=seed)
    loss = PerceptualLoss(style_image, settings=settings, model=model)
    loss.extractor.check_size((1, crop, crop, 3), "a training crop")

    info: dict[str, Any] = {
        "format": 1, "style": style_name, "style_fingerprint": _fingerprint(style_image),
        "style_shape": list(style_image.shape[1:3]),
        "settings": {k: settings.as_dict()[k] for k in (*_MATCH, "precision")},
        "architecture": {"width": width, "residual_blocks": residual_blocks, "norm": norm, "kernel": kernel},
        "training": {"steps": 0, "batch_size": batch_size, "crop": crop, "size": size, "scales": list(scales),
                     "learning_rate": learning_rate, "photos": list(photo_images), "seed": seed, "seconds": 0.0},
    }
    history: dict[str, list[float]] = {k: [] for k in ("J", "J_content", "J_style", "J_tv", "seconds")}
    optimizer_state = None
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and path.suffix != ".keras":
        raise ValueError(f"checkpoint={str(path)!r}: the file name must end in .keras")
    if path is not None and resume and path.exists():
        network, saved, optimizer_state = read_network(path)
        _check_same(path, saved, info)
        info["architecture"], info["training"] = saved["architecture"], {**info["training"], **{
            k: saved["training"][k] for k in ("steps", "seconds")}}
        history = {k: list(v) for k, v in saved["history"].items()}
        sampler.set_state(saved["data_rng"])
    else:
        network = transformation_network(width, residual_blocks, norm=norm, kernel=kernel, seed=seed)
    start = info["training"]["steps"]
    trained_before = info["training"]["seconds"]

    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(network.trainable_variables)
    if optimizer_state is not None:
        for variable, value in zip(optimizer.variables, optimizer_state):
            variable.assign(value)

    @tf.function
    def train_step(C: tf.Tensor) -> LossValues:
        with tf.GradientTape() as tape:
            values = loss(C, network(C, training=True))
        grads = tape.gradient(values.J, network.trainable_variables)
        optimizer.apply_gradients(zip(grads, network.trainable_variables))
        return values

    def save() -> None:
        if path is None:
            return
        info["training"]["steps"], info["data_rng"] = done, sampler.state()
        info["training"]["seconds"] = trained_before + train_seconds
        write_network(network, path, {**info, "history": history}, [v.numpy() for v in optimizer.variables])

    from tqdm.auto import tqdm

    bar = tqdm(total=steps, initial=min(start, steps), disable=not progress, desc="training", unit="step",
               leave=False)
    done, stopped, train_seconds = start, None, 0.0
    try:
        while done < steps:
            t = time.perf_counter()
            values = train_step(tf.constant(sampler.batch(batch_size)))
            done += 1                  # at once: the weights have changed (Ctrl-C may come any moment)
            train_seconds += time.perf_counter() - t
            for key, value in zip(("J", "J_content", "J_style", "J_tv", "seconds"),
                                  (*[float(v) for v in values], trained_before + train_seconds)):
                history[key].append(value)
            bar.update(1)
            bar.set_postfix(J=f"{history['J'][-1]:.4g}", refresh=False)
            if done % checkpoint_every == 0 and done < steps:
                save()
            if callback is not None and done % callback_every == 0 and callback(done, network, history):
                stopped = "callback"
                break
    except KeyboardInterrupt:
        stopped = "interrupted"
    finally:
        bar.close()
    save()
    info["training"]["steps"], info["training"]["seconds"] = done, trained_before + train_seconds
    info.pop("data_rng", None)
    network.nst_info = {**info, "history": history}
    return FastTraining(network, history, done, time.perf_counter() - t0, stopped, start, network.nst_info)


def _check_same(path: Path, saved: dict[str, Any], wanted: dict[str, Any]) -> None:
    """Refuse to resume a checkpoint of another style or other loss settings."""
    if saved.get("style_fingerprint") != wanted["style_fingerprint"]:
        raise ValueError(f"checkpoint {str(path)!r} was trained for another style image "
                         f"({saved.get('style')!r}); delete it, pass resume=False, or name another checkpoint")
    differ = [k for k in _MATCH if saved["settings"].get(k) != wanted["settings"][k]]
    if differ:
        raise ValueError(f"checkpoint {str(path)!r} was trained with other settings ({', '.join(differ)}: "
                         f"{[saved['settings'].get(k) for k in differ]}); delete it, pass resume=False, "
                         "or name another checkpoint")
