r"""Neural style transfer by optimizing the pixels of the generated image G.

:func:`synthesize` is the one optimization loop behind everything the lessons do:

* content reconstruction (lesson 02): ``synthesize(content=x, content_layer="conv4_2", init="noise")``
* style reconstruction / texture synthesis (lesson 03): ``synthesize(style=s, shape=..., init="noise")``
* style transfer (lessons 05-07): :func:`style_transfer`, which needs both images.

It minimises :math:`J(G) = \alpha J_{content}(C, G) + \beta J_{style}(S, G) + w_{TV} J_{TV}(G)` with
Adam on the pixels (values kept in [0, 1]) inside a ``tf.function``, or with L-BFGS (SciPy) as
Gatys et al. did. The targets (content activations, style Gram matrices) are computed once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
from nst_utils._tf import tf

from nst_utils import costs
from nst_utils.features import FeatureExtractor, feature_extractor
from nst_utils.models import cached_vgg19

#: Gatys et al.'s style layers, weighted equally (lambda_l = 1/5).
DEFAULT_STYLE_LAYERS: dict[str, float] = {f"conv{b}_1": 0.2 for b in range(1, 6)}
#: Gatys et al.'s content layer.
DEFAULT_CONTENT_LAYER = "conv4_2"

#: Defaults chosen by measurement (see README, "How the defaults were chosen").
DEFAULTS: dict[str, Any] = dict(steps=200, learning_rate=0.02, alpha=10.0, beta=1e-3, tv_weight=0.0)

#: ``callback(step, image, history) -> stop?``; ``image`` is (1, H, W, 3) in [0, 1].
Callback = Callable[[int, np.ndarray, dict[str, list[float]]], Any]


@dataclass
class TransferResult:
    """What :func:`synthesize` returns.

    Attributes:
        image: (1, H, W, 3) float32 in [0, 1]: the generated image after the last completed step.
        history: per step, ``"J"``, ``"J_content"``, ``"J_style"``, ``"J_tv"`` (floats) and
            ``"seconds"`` (wall time since the start). Adam: the costs of the image each step starts
            from (so ``J[0]`` is the start image's cost); L-BFGS: the costs after each iteration.
        steps: number of completed steps.
        seconds: wall time of the optimization (targets and tracing included).
        stopped: ``None`` if all steps ran, else why it stopped (``"callback"`` or ``"interrupted"``).
        settings: the arguments that produced it.
    """

    image: np.ndarray
    history: dict[str, list[float]]
    steps: int
    seconds: float
    stopped: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def final_cost(self) -> float:
        return self.history["J"][-1] if self.history["J"] else float("nan")


def _init_image(init: Any, shape: tuple[int, int, int, int], content: np.ndarray | None,
                seed: int, noise_ratio: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0.0, 1.0, size=shape).astype(np.float32)
    if isinstance(init, str):
        if init == "noise":
            return noise
        if init == "content":
            if content is None:
                raise ValueError("init='content' needs a content image; use init='noise'")
            base = content
        else:
            raise ValueError(f"init={init!r}: use 'content', 'noise' or an image array of shape {shape}")
    else:
        base = np.asarray(init, dtype=np.float32)
        if base.shape != shape:
            raise ValueError(f"init image has shape {base.shape}; it must be {shape}")
    return ((1.0 - noise_ratio) * base + noise_ratio * noise).astype(np.float32)


def _check_image(x: np.ndarray | None, what: str) -> np.ndarray | None:
    if x is None:
        return None
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4 or x.shape[0] != 1 or x.shape[-1] != 3:
        raise ValueError(f"{what} must have shape (1, H, W, 3) (use load_image); got {x.shape}")
    if x.min() < 0.0 or x.max() > 1.0:
        raise ValueError(f"{what} values must lie in [0, 1]; got [{x.min():.3g}, {x.max():.3g}]")
    return x


def synthesize(
    *,
    content: np.ndarray | None = None,
    style: np.ndarray | None = None,
    shape: tuple[int, int] | None = None,
    steps: int = DEFAULTS["steps"],
    learning_rate: float = DEFAULTS["learning_rate"],
    alpha: float = DEFAULTS["alpha"],
    beta: float = DEFAULTS["beta"],
    content_layer: str = DEFAULT_CONTENT_LAYER,
    style_layers: Mapping[str, float] | None = None,
    init: Any = "content",
    noise_ratio: float = 0.0,
    seed: int = 0,
    tv_weight: float = DEFAULTS["tv_weight"],
    optimizer: str = "adam",
    model=None,
    pooling: str = "max",
    precision: str | None = None,
    callback: Callback | None = None,
    callback_every: int = 10,
    progress: bool = True,
) -> TransferResult:
    """Optimize an image's pixels so its VGG features match targets; see the module docstring.

    Args:
        content: (1, H, W, 3) in [0, 1], or None for no content term.
        style: (1, H', W', 3) in [0, 1], any size, or None for no style term.
        shape: (n_H, n_W) of the generated image when there is no content image.
        steps: optimizer steps (L-BFGS: iterations).
        learning_rate: Adam's step size in pixel units (pixels live in [0, 1]).
        alpha, beta: weights of J_content and J_style.
        content_layer: one layer name (``conv4_2`` or ``block4_conv2``).
        style_layers: ``{layer: lambda_l}``; default :data:`DEFAULT_STYLE_LAYERS`.
        init: ``"content"``, ``"noise"`` (white noise, uniform in [0, 1]) or an image array.
        noise_ratio: blend this much white noise into a content or image start.
        seed: seeds the noise; same seed, same machine -> same result.
        tv_weight: weight of the total-variation cost (smoothness).
        optimizer: ``"adam"`` or ``"lbfgs"``.
        model: a VGG from :func:`nst_utils.models.load_vgg19`/``load_vgg16``; default: VGG19 with
            ``pooling`` and ``precision``.
        callback: called every ``callback_every`` steps and at the end as
            ``callback(step, image, history)``; returning True stops the run (the image so far is kept).
        progress: show a tqdm progress bar.

    Returns:
        A :class:`TransferResult`. Ctrl-C (KeyboardInterrupt) also returns one, with the image so far.

    Raises:
        ValueError: bad shapes or values, unknown layers, images too small for the layers.
    """
    content = _check_image(content, "content")
    style = _check_image(style, "style")
    if content is None and style is None:
        raise ValueError("give a content image, a style image, or both")
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps={steps!r}: use a whole number >= 0")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate={learning_rate!r} must be > 0 (seed 001 uses 0.02)")
    if optimizer not in ("adam", "lbfgs"):
        raise ValueError(f"optimizer={optimizer!r}: use 'adam' or 'lbfgs'")
    style_layers = dict(DEFAULT_STYLE_LAYERS if style_layers is None else style_layers)
    if content is not None:
        out_shape = content.shape
    elif shape is not None:
        out_shape = (1, int(shape[0]), int(shape[1]), 3)
    else:
        raise ValueError("without a content image, give shape=(n_H, n_W) for the generated image")
    settings = dict(steps=steps, learning_rate=learning_rate, alpha=alpha, beta=beta,
                    content_layer=content_layer if content is not None else None,
                    style_layers=style_layers if style is not None else None, init=init if isinstance(init, str) else "image",
                    noise_ratio=noise_ratio, seed=seed, tv_weight=tv_weight, optimizer=optimizer,
                    shape=out_shape[1:3])

    names = ([content_layer] if content is not None else []) + (list(style_layers) if style is not None else [])
    if model is None:
        model = cached_vgg19(pooling=pooling, precision=precision)
    extractor = feature_extractor(model, names)
    extractor.check_size(out_shape, "the generated image")
    if style is not None:
        extractor.check_size(style.shape, "the style image")

    t0 = time.perf_counter()
    a_C = extractor(content)[content_layer] if content is not None else None
    if style is not None:
        feats_S = extractor(style)
        Gn_S = {n: costs.normalized_gram(feats_S[n]) for n in style_layers}
    else:
        Gn_S = {}
    use_content = content is not None and alpha != 0
    use_style = style is not None and beta != 0
    weights = {n: tf.constant(float(w)) for n, w in style_layers.items()}

    def cost(image: tf.Tensor) -> tuple[tf.Tensor, ...]:
        feats = extractor(image)
        J_content = costs.content_cost(a_C, feats[content_layer]) if use_content else tf.constant(0.0)
        if use_style:
            J_style = tf.add_n([weights[n] * costs.style_cost_from_grams(Gn_S[n], costs.normalized_gram(feats[n]))
                                for n in style_layers])
        else:
            J_style = tf.constant(0.0)
        J_tv = costs.total_variation_cost(image) if tv_weight else tf.constant(0.0)
        J = alpha * J_content + beta * J_style + tv_weight * J_tv
        return J, J_content, J_style, J_tv

    image = tf.Variable(_init_image(init, out_shape, content, seed, noise_ratio), name="G")
    history: dict[str, list[float]] = {k: [] for k in ("J", "J_content", "J_style", "J_tv", "seconds")}

    def record(values) -> None:
        for k, v in zip(("J", "J_content", "J_style", "J_tv"), values):
            history[k].append(float(v))
        history["seconds"].append(time.perf_counter() - t0)

    run = _run_adam if optimizer == "adam" else _run_lbfgs
    done, stopped = run(image, cost, steps, learning_rate, record, callback, callback_every, progress, history)
    final = image.numpy()
    if callback is not None and done % callback_every != 0:
        callback(done, final, history)
    return TransferResult(final, history, done, time.perf_counter() - t0, stopped, settings)


def _progress_bar(steps: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=steps, disable=not enabled, desc="optimizing", unit="step", leave=False)


def _run_adam(image, cost, steps, learning_rate, record, callback, callback_every, progress, history):
    import keras

    opt = keras.optimizers.Adam(learning_rate=learning_rate)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            values = cost(image)
        grad = tape.gradient(values[0], image)
        opt.apply_gradients([(grad, image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return values

    done, stopped = 0, None
    bar = _progress_bar(steps, progress)
    try:
        for k in range(1, steps + 1):
            values = step()
            record([v.numpy() for v in values])
            done = k
            bar.update(1)
            bar.set_postfix(J=f"{history['J'][-1]:.4g}", refresh=False)
            if callback is not None and k % callback_every == 0 and callback(k, image.numpy(), history):
                stopped = "callback"
                break
    except KeyboardInterrupt:
        stopped = "interrupted"
    finally:
        bar.close()
    return done, stopped


def _run_lbfgs(image, cost, steps, learning_rate, record, callback, callback_every, progress, history):
    """L-BFGS-B (SciPy) on the pixels with bounds [0, 1]; one 'step' is one iteration."""
    from scipy.optimize import minimize
    from threadpoolctl import threadpool_limits

    shape = image.shape

    @tf.function
    def value_and_grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            values = cost(x)
        return values, tape.gradient(values[0], x)

    last: dict[str, Any] = {}

    def fun(flat: np.ndarray):
        x = tf.constant(flat.reshape(shape), dtype=tf.float32)
        values, grad = value_and_grad(x)
        last["values"] = [v.numpy() for v in values]
        return float(values[0]), grad.numpy().astype(np.float64).ravel()

    state = {"done": 0, "stopped": None}
    bar = _progress_bar(steps, progress)

    class _Stop(Exception):
        pass

    def on_iteration(xk: np.ndarray) -> None:
        state["done"] += 1
        image.assign(xk.reshape(shape).astype(np.float32))
        record(last["values"])
        bar.update(1)
        if callback is not None and state["done"] % callback_every == 0 and callback(
            state["done"], image.numpy(), history
        ):
            state["stopped"] = "callback"
            raise _Stop

    try:
        # SciPy's L-BFGS-B does small vector work per iteration; BLAS threads fighting TensorFlow's
        # for the same cores made it 10x slower on 2 cores (0.3 s vs 0.03 s per iteration at 192 px)
        if steps > 0:
            with threadpool_limits(limits=1, user_api="blas"):
                minimize(fun, image.numpy().astype(np.float64).ravel(), jac=True, method="L-BFGS-B",
                         bounds=[(0.0, 1.0)] * int(np.prod(shape)), callback=on_iteration,
                         # no early stop on small gradients or cost changes: run the iterations asked for
                         options={"maxiter": steps, "maxfun": steps * 3, "ftol": 0.0, "gtol": 0.0})
    except _Stop:
        pass
    except KeyboardInterrupt:
        state["stopped"] = "interrupted"
    finally:
        bar.close()
    return state["done"], state["stopped"]


def style_transfer(content: np.ndarray, style: np.ndarray, **kwargs: Any) -> TransferResult:
    """Gatys et al.'s style transfer: an image with the content of ``content`` painted like ``style``.

    ``content`` (1, H, W, 3) and ``style`` (1, H', W', 3), both in [0, 1]. Keyword arguments as in
    :func:`synthesize` (``steps``, ``learning_rate``, ``alpha``, ``beta``, ``content_layer``,
    ``style_layers``, ``init``, ``seed``, ``tv_weight``, ``callback``, ...). The generated image
    has the content image's size; it starts from the content image unless ``init`` says otherwise.
    """
    if content is None or style is None:
        raise ValueError("style_transfer needs both a content and a style image (see synthesize())")
    return synthesize(content=content, style=style, **kwargs)
