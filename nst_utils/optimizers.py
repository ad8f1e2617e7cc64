r"""The two optimizers of a transfer: Adam and L-BFGS, on the parameters of the generated image x.

Both take the loss (:class:`nst_utils.loss.StyleTransferLoss`, ``J(x)`` for x of shape (1, n_H, n_W, 3)
in [0, 1]), the parameters ``p`` (a ``tf.Variable``), the settings, a :class:`~nst_utils.loop.Monitor`
that records the costs (:data:`COST_KEYS`), shows a progress bar, calls the user's callback and says
when to stop, and the parameterisation ``param`` (:mod:`nst_utils.parameterization`): ``x =
param.image_from(p)``. With :class:`~nst_utils.parameterization.PixelImage` (the default) ``p`` is x
itself, kept in [0, 1]; with :class:`~nst_utils.parameterization.FourierImage` ``p`` is a spectrum
whose image stays in (0, 1) by itself.

* :func:`adam`: the one gradient loop of :mod:`nst_utils.loop` (the step and Adam's formula are
  written there): ``p <- project(p - Adam step of dJ/dp)``, ``settings.steps`` times.
* :func:`lbfgs`: SciPy's L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995), which minimises J over ``p``
  within the box ``param.bounds`` (pixels: every entry in [0, 1]; Fourier: no bounds) from J and its
  gradient, choosing its own step lengths by a line search (several evaluations of J per iteration).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from nst_utils._tf import tf
from nst_utils.loop import Callback, Monitor, adam_loop  # noqa: F401  (Callback, Monitor: re-exported)
from nst_utils.loss import LossValues, StyleTransferLoss
from nst_utils.parameterization import FourierImage, PixelImage
from nst_utils.settings import Settings

#: What a transfer records each step, in the order :class:`~nst_utils.loss.LossValues` gives them.
COST_KEYS: tuple[str, ...] = LossValues._fields
HISTORY_KEYS = COST_KEYS   # the older name


def cost_monitor(steps: int, **kwargs) -> Monitor:
    """A :class:`~nst_utils.loop.Monitor` of a transfer's costs (:data:`COST_KEYS`); ``kwargs`` as Monitor's."""
    return Monitor(steps, keys=COST_KEYS, **kwargs)


def _pixels(p: tf.Variable, param: PixelImage | FourierImage | None) -> PixelImage | FourierImage:
    return param if param is not None else PixelImage(p.shape)


def adam(loss: StyleTransferLoss, p: tf.Variable, settings: Settings, monitor: Monitor,
         param: PixelImage | FourierImage | None = None) -> None:
    """``settings.steps`` Adam steps on ``p`` (learning rate ``settings.learning_rate``), each
    ``p <- project(p - Adam(dJ/dp))`` (:mod:`nst_utils.loop`); the costs recorded at a step are those of
    the image the step starts from. ``param``: the parameterisation (default: pixels, clipped to [0, 1])."""
    param = _pixels(p, param)

    def value(x: tf.Tensor, t: tf.Tensor) -> tuple[tf.Tensor, LossValues]:
        values = loss(x)
        return values.J, values

    adam_loop(value, param, p, monitor, learning_rate=settings.learning_rate, steps=settings.steps)


class _Stop(Exception):
    pass


def lbfgs(loss: StyleTransferLoss, p: tf.Variable, settings: Settings, monitor: Monitor,
          param: PixelImage | FourierImage | None = None) -> None:
    """L-BFGS-B (SciPy) on ``p`` within ``param.bounds`` (pixels: [0, 1]; Fourier: none); one step = one
    iteration, the costs recorded after it. ``param``: the parameterisation (default: pixels)."""
    from scipy.optimize import minimize
    from threadpoolctl import threadpool_limits

    param = _pixels(p, param)
    shape = tuple(p.shape)

    @tf.function
    def value_and_grad(params: tf.Tensor) -> tuple[LossValues, tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(params)
            values = loss(param.image_from(params))
        return values, tape.gradient(values.J, params)

    last: dict[str, LossValues] = {}

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        values, grad = value_and_grad(tf.constant(flat.reshape(shape), dtype=tf.float32))
        last["values"] = LossValues(*(v.numpy() for v in values))
        return float(values.J), grad.numpy().astype(np.float64).ravel()

    def on_iteration(pk: np.ndarray) -> None:
        p.assign(pk.reshape(shape).astype(np.float32))
        if monitor.step_done(last["values"], lambda: param.image_from(p).numpy()):
            raise _Stop

    if settings.steps == 0:
        return
    bounds = None if param.bounds is None else [param.bounds] * int(np.prod(shape))
    with monitor.interruptible():
        try:
            # SciPy's L-BFGS-B does small vector work per iteration; BLAS threads fighting TensorFlow's
            # for the same cores made it 10x slower on 2 cores (0.3 s vs 0.03 s per iteration at 192 px)
            with threadpool_limits(limits=1, user_api="blas"):
                minimize(fun, p.numpy().astype(np.float64).ravel(), jac=True, method="L-BFGS-B",
                         bounds=bounds, callback=on_iteration,
                         # ftol = gtol = 0: no stop on a small gradient or a small cost change; L-BFGS-B still
                         # ends early when an iteration lowers J by nothing (float32) or after maxfun evaluations
                         options={"maxiter": settings.steps, "maxfun": settings.steps * 3, "ftol": 0.0,
                                  "gtol": 0.0})
        except _Stop:
            pass


Optimizer = Callable[..., None]
#: ``optimize(loss, p, settings, monitor, param)`` by the name ``settings.optimizer`` uses.
OPTIMIZERS: dict[str, Optimizer] = {"adam": adam, "lbfgs": lbfgs}
