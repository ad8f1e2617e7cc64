"""The two optimizers that change the pixels of the generated image x: Adam and L-BFGS.

Both take the loss (:class:`nst_utils.loss.StyleTransferLoss`), the image as a ``tf.Variable`` of
shape (1, n_H, n_W, 3) in [0, 1], the settings, and a :class:`Monitor` that records the costs, shows
a progress bar, calls the user's callback and says when to stop. Both keep x in [0, 1].

With ``image_of`` (``settings.parameterization="fourier"``, :mod:`nst_utils.parameterization`) the
variable holds the image's parameters instead and the image is ``x = image_of(variable)``, which stays
in (0, 1) by itself: no clipping, no bounds.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from nst_utils._tf import tf
from nst_utils.loss import LossValues, StyleTransferLoss
from nst_utils.settings import Settings

#: ``callback(step, image, history) -> stop?``; ``image`` is (1, H, W, 3) in [0, 1].
Callback = Callable[[int, np.ndarray, dict[str, list[float]]], Any]

HISTORY_KEYS = ("J", "J_content", "J_style", "J_tv")

#: ``image_of(params) -> image``: the image (1, H, W, 3) of the parameters an optimizer changes.
ImageOf = Callable[[tf.Tensor], tf.Tensor]


class Monitor:
    """Book-keeping of one run: the history of the costs, the progress bar, the callback, Ctrl-C.

    ``history`` holds, per step, ``"J"``, ``"J_content"``, ``"J_style"``, ``"J_tv"`` and ``"seconds"``
    (wall time since the monitor was made).
    """

    def __init__(self, steps: int, *, callback: Callback | None = None, callback_every: int = 10,
                 progress: bool = True) -> None:
        if not isinstance(callback_every, int) or callback_every < 1:
            raise ValueError(f"callback_every={callback_every!r}: use a whole number >= 1")
        self.steps, self.callback, self.callback_every = steps, callback, callback_every
        self.history: dict[str, list[float]] = {k: [] for k in (*HISTORY_KEYS, "seconds")}
        self.done = 0
        self.stopped: str | None = None
        self.t0 = time.perf_counter()
        from tqdm.auto import tqdm

        self.bar = tqdm(total=steps, disable=not progress, desc="optimizing", unit="step", leave=False)

    def step_done(self, values: LossValues, image: Callable[[], np.ndarray]) -> bool:
        """Record one step's costs; True if the callback asks to stop (``image()`` gives x now)."""
        for key, value in zip(HISTORY_KEYS, values):
            self.history[key].append(float(value))
        self.history["seconds"].append(time.perf_counter() - self.t0)
        self.done += 1
        self.bar.update(1)
        self.bar.set_postfix(J=f"{self.history['J'][-1]:.4g}", refresh=False)
        if self.callback is not None and self.done % self.callback_every == 0:
            if self.callback(self.done, image(), self.history):
                self.stopped = "callback"
                return True
        return False

    def finish(self, image: np.ndarray) -> None:
        """Close the bar; give the callback the final image if it has not just seen it."""
        self.bar.close()
        if self.callback is not None and self.done % self.callback_every != 0:
            self.callback(self.done, image, self.history)


def _image(x: tf.Variable, image_of: ImageOf | None) -> Callable[[], np.ndarray]:
    return x.numpy if image_of is None else (lambda: image_of(x).numpy())


def adam(loss: StyleTransferLoss, x: tf.Variable, settings: Settings, monitor: Monitor,
         image_of: ImageOf | None = None) -> None:
    """Adam on the pixels; one step = one gradient, then x is clipped to [0, 1]. Costs are x's before the step.

    With ``image_of``, Adam changes the parameters in ``x`` and the image is ``image_of(x)`` (no clipping)."""
    import keras

    opt = keras.optimizers.Adam(learning_rate=settings.learning_rate)

    @tf.function
    def step() -> LossValues:
        with tf.GradientTape() as tape:
            values = loss(x if image_of is None else image_of(x))
        grad = tape.gradient(values.J, x)
        opt.apply_gradients([(grad, x)])
        if image_of is None:
            x.assign(tf.clip_by_value(x, 0.0, 1.0))
        return values

    try:
        for _ in range(settings.steps):
            if monitor.step_done(step(), _image(x, image_of)):
                break
    except KeyboardInterrupt:
        monitor.stopped = "interrupted"


class _Stop(Exception):
    pass


def lbfgs(loss: StyleTransferLoss, x: tf.Variable, settings: Settings, monitor: Monitor,
          image_of: ImageOf | None = None) -> None:
    """L-BFGS-B (SciPy) on the pixels with bounds [0, 1]; one step = one iteration, costs after it.

    With ``image_of``, L-BFGS changes the parameters in ``x`` (no bounds) and the image is ``image_of(x)``."""
    from scipy.optimize import minimize
    from threadpoolctl import threadpool_limits

    shape = tuple(x.shape)

    @tf.function
    def value_and_grad(image: tf.Tensor) -> tuple[LossValues, tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(image)
            values = loss(image if image_of is None else image_of(image))
        return values, tape.gradient(values.J, image)

    last: dict[str, LossValues] = {}

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        values, grad = value_and_grad(tf.constant(flat.reshape(shape), dtype=tf.float32))
        last["values"] = LossValues(*(v.numpy() for v in values))
        return float(values.J), grad.numpy().astype(np.float64).ravel()

    def on_iteration(xk: np.ndarray) -> None:
        x.assign(xk.reshape(shape).astype(np.float32))
        if monitor.step_done(last["values"], _image(x, image_of)):
            raise _Stop

    if settings.steps == 0:
        return
    try:
        # SciPy's L-BFGS-B does small vector work per iteration; BLAS threads fighting TensorFlow's
        # for the same cores made it 10x slower on 2 cores (0.3 s vs 0.03 s per iteration at 192 px)
        with threadpool_limits(limits=1, user_api="blas"):
            minimize(fun, x.numpy().astype(np.float64).ravel(), jac=True, method="L-BFGS-B",
                     bounds=[(0.0, 1.0)] * int(np.prod(shape)) if image_of is None else None,
                     callback=on_iteration,
                     # no early stop on small gradients or cost changes: run the iterations asked for
                     options={"maxiter": settings.steps, "maxfun": settings.steps * 3, "ftol": 0.0,
                              "gtol": 0.0})
    except _Stop:
        pass
    except KeyboardInterrupt:
        monitor.stopped = "interrupted"


OPTIMIZERS: dict[str, Callable[[StyleTransferLoss, tf.Variable, Settings, Monitor], None]] = {
    "adam": adam, "lbfgs": lbfgs}
