r"""The optimisation loop, once: one gradient step on an image's parameters, and the book-keeping of a run.

Every optimisation of the course changes the numbers in a ``tf.Variable`` ``p`` and looks at the image
``x = param.image_from(p)`` (1 or B, n_H, n_W, 3) in [0, 1], where ``param`` is the parameterisation
(:mod:`nst_utils.parameterization`: :class:`~nst_utils.parameterization.PixelImage`, ``x = p``, or
:class:`~nst_utils.parameterization.FourierImage`, a decorrelated-colour spectrum). **The step**
(:class:`GradientLoop`), for step number ``t``:

.. math:: J_t = J\big(x_t\big), \quad x_t = \mathrm{image\_from}(p_t), \qquad
   g_t = \frac{\partial J_t}{\partial p_t}, \qquad p_{t+1} = \mathrm{project}\big(\mathrm{rule}(p_t, g_t)\big)

* ``J`` is the *value* to minimise. Style transfer: the loss J (:class:`nst_utils.StyleTransferLoss`).
  Activation maximisation (:func:`nst_utils.visualise`) and deep dream: gradient *ascent* on an
  objective :math:`\mathcal{O}` is written as minimising :math:`J = -\mathcal{O}` (of the image seen
  through a random transform, drawn inside the value function from the step number ``t``).
* ``rule`` is Adam (Kingma & Ba 2015, ``keras.optimizers.Adam``), with :math:`g` the gradient,
  :math:`\eta` the learning rate, :math:`\beta_1 = 0.9`, :math:`\beta_2 = 0.999`, :math:`\epsilon = 10^{-7}`:

  .. math:: m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad v \leftarrow \beta_2 v + (1 - \beta_2) g^2,
     \quad p \leftarrow p - \eta\, \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}\,
     \frac{m}{\sqrt{v} + \epsilon}

  or, for deep dream (Mordvintsev et al. 2015), the normalised gradient step :class:`NormalisedGradient`,
  :math:`p \leftarrow p - \eta\, g / (\mathrm{mean}|g| + 10^{-8})` (no state, each step the same length
  in mean per pixel). Both are objects with Keras' ``apply_gradients([(g, p)])``.
* ``project`` keeps the image valid: pixels are clipped to [0, 1]; the Fourier spectrum needs nothing
  (its sigmoid stays in (0, 1)).

L-BFGS (:func:`nst_utils.optimizers.lbfgs`) is the one optimizer that does not go through this loop:
SciPy's L-BFGS-B chooses its own steps (a line search, several evaluations of J per iteration, the
bounds of the parameterisation), so it calls our value-and-gradient function rather than us calling a
step rule; it shares the :class:`Monitor`. Training a transformation network
(:func:`nst_utils.train_fast_network`) changes network weights over batches of crops, not one image's
parameters, so it has its own step and shares the :class:`Monitor` too.

:class:`Monitor` is the book-keeping of any run: the history (one entry per step for each of the keys
it is given, plus ``"seconds"``), the progress bar, the user's callback every ``callback_every``
steps (returning True stops), and Ctrl-C (stops, keeping what was done).
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Callable, Iterator, Protocol, Sequence

import numpy as np

from nst_utils._tf import tf

#: ``callback(step, state, history) -> stop?``: ``state`` is the image (1, H, W, 3) in [0, 1] for an
#: optimisation, the network for training.
Callback = Callable[[int, Any, dict[str, list]], Any]

#: ``value(x, t) -> (J, record)``: the scalar J to minimise for the image ``x`` (B, n_H, n_W, 3) at step
#: ``t`` (int64 scalar tensor), and the values the :class:`Monitor` records, one per key, in its order.
Value = Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, Sequence[tf.Tensor]]]


def check_callback(callback: Any, callback_every: Any) -> int:
    """Check a run's ``callback`` and ``callback_every`` before anything is built; ``callback_every`` as an int.

    Raises:
        ValueError: ``callback_every`` not a whole number >= 1 (an int or a NumPy integer; not True, 2.5, "10").
        TypeError: a ``callback`` that is neither None nor callable.
    """
    if isinstance(callback_every, bool) or not isinstance(callback_every, (int, np.integer)) or callback_every < 1:
        raise ValueError(f"callback_every={callback_every!r}: use a whole number >= 1")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback={callback!r}: give a function callback(step, state, history) -> stop? "
                        "(state: the image so far, or the network in training; True stops the run)")
    return int(callback_every)


class Parameterization(Protocol):
    """What the loop needs of an image parameterisation (:mod:`nst_utils.parameterization`)."""

    def image_from(self, params: tf.Tensor) -> tf.Tensor: ...

    def project(self, params: tf.Variable) -> None: ...


class StepRule(Protocol):
    """A step rule: ``apply_gradients([(g, p)])`` changes ``p`` (Keras' optimizers are step rules)."""

    def apply_gradients(self, grads_and_vars: Sequence[tuple[tf.Tensor, tf.Variable]]) -> Any: ...


class Monitor:
    """Book-keeping of one run: the history, the progress bar, the callback, Ctrl-C.

    Args:
        steps: the steps the run will do in all (the bar's length).
        keys: the names of the values recorded each step, in the order the step gives them (a
            transfer: ``("J", "J_content", "J_style", "J_tv")``, :data:`nst_utils.optimizers.COST_KEYS`).
            ``history`` holds one list per key plus ``"seconds"``.
        callback: ``callback(step, state, history)`` every ``callback_every`` steps; True stops.
        desc: the progress bar's label (``"optimizing"``, ``"visualising"``, ``"dreaming"``, ``"training"``).
        initial: steps already done before this run (a resumed training); the bar and :attr:`done` start there.
        history: the history to continue (a resumed training); default: empty lists.
        progress: show the progress bar.

    Attributes:
        history: ``{key: [value per step]}``; a scalar value is stored as a float, a vector (one value per
            image of a batch) as a NumPy array. ``"seconds"``: wall time since the monitor was made
            (:attr:`t0`), unless :meth:`record` is told otherwise.
        done: steps done (``initial`` included). stopped: None, ``"callback"`` or ``"interrupted"``.
    """

    def __init__(self, steps: int, *, keys: Sequence[str], callback: Callback | None = None,
                 callback_every: int = 10, desc: str = "optimizing", initial: int = 0,
                 history: dict[str, list] | None = None, progress: bool = True) -> None:
        callback_every = check_callback(callback, callback_every)
        self.steps, self.callback, self.callback_every = steps, callback, callback_every
        self.keys = tuple(keys)
        self.history: dict[str, list] = ({k: [] for k in (*self.keys, "seconds")} if history is None
                                         else history)
        self.done = initial
        self.stopped: str | None = None
        self.t0 = time.perf_counter()
        from tqdm.auto import tqdm

        self.bar = tqdm(total=steps, initial=min(initial, steps), disable=not progress, desc=desc,
                        unit="step", leave=False)

    def record(self, values: Sequence[Any], seconds: float | None = None) -> None:
        """Count one step done and record its ``values`` (one per key); ``seconds`` default: since :attr:`t0`."""
        self.done += 1                 # first: the parameters have changed (Ctrl-C may come any moment)
        for key, value in zip(self.keys, values):
            value = np.asarray(value)
            self.history[key].append(float(value) if value.ndim == 0 else value)
        self.history["seconds"].append(time.perf_counter() - self.t0 if seconds is None else seconds)
        self.bar.update(1)
        last = self.history[self.keys[0]][-1]
        if isinstance(last, float):
            self.bar.set_postfix({self.keys[0]: f"{last:.4g}"}, refresh=False)

    def wants_stop(self, state: Callable[[], Any]) -> bool:
        """Call the callback if it is due (``state()`` gives the image or network now); True if it asks to stop."""
        if self.callback is not None and self.done % self.callback_every == 0:
            if self.callback(self.done, state(), self.history):
                self.stopped = "callback"
                return True
        return False

    def step_done(self, values: Sequence[Any], state: Callable[[], Any]) -> bool:
        """:meth:`record` then :meth:`wants_stop`: True if the callback asks to stop."""
        self.record(values)
        return self.wants_stop(state)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """``with monitor.interruptible(): ...``: Ctrl-C ends the block and sets ``stopped = "interrupted"``."""
        try:
            yield
        except KeyboardInterrupt:
            self.stopped = "interrupted"

    def close(self) -> None:
        """Close the progress bar."""
        self.bar.close()

    def finish(self, state: Any) -> None:
        """Close the bar; give the callback the final image if it has not just seen it."""
        self.close()
        if self.callback is not None and self.done % self.callback_every != 0:
            self.callback(self.done, state, self.history)


class NormalisedGradient:
    r"""Deep dream's step rule: :math:`p \leftarrow p - \eta\, g / (\mathrm{mean}|g| + 10^{-8})`.

    Every step moves the pixels by :math:`\eta` on average, however large the gradient; no state.
    """

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = float(learning_rate)

    def apply_gradients(self, grads_and_vars: Sequence[tuple[tf.Tensor, tf.Variable]]) -> None:
        for g, p in grads_and_vars:
            p.assign_sub(self.learning_rate * (g / (tf.reduce_mean(tf.abs(g)) + 1e-8)))


class _OneTracePerLoop(logging.Filter):
    """Drops TensorFlow's "5 out of the last 9 calls to <function GradientLoop.__init__.<locals>.step ...>
    triggered tf.function retracing" warning, and no other.

    TensorFlow counts traces per function *code*, and every :class:`GradientLoop` (each synthesize, each
    visualise, each pyramid level) makes its own ``step`` from the same code and traces it for its own
    variable, on its first call only: a quick-mode cell with many short runs would print the warning though
    no loop's step is traced again after its first call (deep dream's octaves trace once per size, as
    intended).

    What it hides (review 20 S-10): every retracing warning about ``GradientLoop``'s ``step``, also one
    caused by a real retrace (a regression that traced one loop's step at every call would print nothing).
    It is on the ``tensorflow`` logger, where TensorFlow logs the warning, and matches only that function,
    so it hides no other warning. What guards a real retrace is the tests' tracing counts after runs of
    several steps (``loop.step.experimental_get_tracing_count()``, ``tests/test_loop.py``): 2 for synthesize
    with Adam and for each pyramid level (the first call traces twice: Adam's moment variables are created
    in it), 1 for deep dream's octaves (no optimizer variables); a step retraced at every call would count
    one more per step. (``importlib.reload`` of this module makes a new class, so the guard below then adds
    a second filter: harmless.)
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("tf.function retracing" in message and "GradientLoop.__init__.<locals>.step" in message)


if not any(isinstance(f, _OneTracePerLoop) for f in tf.get_logger().filters):
    tf.get_logger().addFilter(_OneTracePerLoop())


class GradientLoop:
    """The step of the module docstring, traced when first called (twice with Adam, whose first call
    creates its moment variables), then run for any number of steps.

    Args:
        value: ``value(x, t) -> (J, record)`` (:data:`Value`).
        param: the parameterisation: ``x = param.image_from(p)``, ``param.project(p)`` after each step.
        p: the parameters, a ``tf.Variable`` (its shape may leave n_H and n_W open, as deep dream's
            octaves need: the step is then traced once for every size).
        rule: the step rule (``keras.optimizers.Adam(learning_rate)``, :class:`NormalisedGradient`).

    The record of step ``t`` is that of the image the step starts from, ``x_t`` (so the first is the
    start image's).
    """

    def __init__(self, value: Value, param: Parameterization, p: tf.Variable, rule: StepRule) -> None:
        self.param, self.p, self.rule = param, p, rule

        @tf.function
        def step(t: tf.Tensor) -> Sequence[tf.Tensor]:
            with tf.GradientTape() as tape:
                J, record = value(param.image_from(p), t)
            rule.apply_gradients([(tape.gradient(J, p), p)])
            param.project(p)
            return record

        self.step = step

    def image(self) -> np.ndarray:
        """The image now, x = image_from(p), as a NumPy array."""
        return self.param.image_from(self.p).numpy()

    def run(self, steps: int, monitor: Monitor, *, first: int = 0) -> None:
        """``steps`` steps, numbered ``first, first + 1, ...``; stops early on the callback or Ctrl-C
        (then ``monitor.stopped`` says which)."""
        with monitor.interruptible():
            for t in range(first, first + steps):
                if monitor.step_done(self.step(tf.constant(t, tf.int64)), self.image):
                    break


def adam_loop(value: Value, param: Parameterization, p: tf.Variable, monitor: Monitor, *,
              learning_rate: float, steps: int) -> None:
    """``steps`` Adam steps (module docstring) on ``p``: :class:`GradientLoop` with ``keras.optimizers.Adam``."""
    import keras

    GradientLoop(value, param, p, keras.optimizers.Adam(learning_rate=learning_rate)).run(steps, monitor)
