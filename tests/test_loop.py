"""The one optimisation loop (nst_utils.loop): the Monitor, the step with Adam and the normalised gradient,
L-BFGS with the parameterisation's bounds, and every caller going through them.

The first part uses a cheap quadratic cost J(x) = mean((x - target)^2) (no VGG19); the last part runs
the real VGG19 at 48 x 64 px for a few steps.
"""

from __future__ import annotations

import logging

import keras
import numpy as np
import pytest

import nst_utils as nu
from nst_utils._tf import tf
from nst_utils.loop import GradientLoop, Monitor, NormalisedGradient, adam_loop
from nst_utils.loss import LossValues
from nst_utils.optimizers import COST_KEYS, OPTIMIZERS, adam, cost_monitor, lbfgs

SHAPE = (1, 8, 10, 3)


def _target(value: float | None = None) -> np.ndarray:
    if value is not None:
        return np.full(SHAPE, value, np.float32)
    return np.random.default_rng(1).uniform(0.2, 0.8, SHAPE).astype(np.float32)


class QuadraticLoss:
    """A stand-in for StyleTransferLoss: J = mean((x - target)^2), reported as J and J_content."""

    def __init__(self, target: np.ndarray) -> None:
        self.target = tf.constant(target)

    def __call__(self, x: tf.Tensor) -> LossValues:
        J = tf.reduce_mean(tf.square(x - self.target))
        zero = tf.constant(0.0)
        return LossValues(J, J, zero, zero)


def _param(kind: str):
    return nu.image_parameterization(kind, SHAPE)


def _start(param) -> tf.Variable:
    return tf.Variable(param.to_params(np.full(SHAPE, 0.5, np.float32)))


# --- the Monitor -----------------------------------------------------------------------------------------

def test_the_monitor_records_one_entry_per_step_for_the_keys_it_is_given():
    m = Monitor(3, keys=("a", "b"), progress=False)
    assert set(m.history) == {"a", "b", "seconds"}
    m.record((tf.constant(1.0), np.float32(2.0)))
    m.record((3.0, np.array([4.0, 5.0])))                 # a vector: one value per image of a batch
    assert m.done == 2 and m.history["a"] == [1.0, 3.0] and m.history["b"][0] == 2.0
    np.testing.assert_array_equal(m.history["b"][1], [4.0, 5.0])
    assert len(m.history["seconds"]) == 2 and m.history["seconds"][0] <= m.history["seconds"][1]
    m.record((0.0, 0.0), seconds=42.0)                   # training: its own clock
    assert m.history["seconds"][-1] == 42.0


def test_the_monitor_calls_back_every_n_steps_and_stops_when_asked():
    seen = []

    def callback(step, state, history):
        seen.append((step, state, len(history["J"])))
        return step >= 4

    m = cost_monitor(10, callback=callback, callback_every=2, progress=False)
    stops = [m.step_done((1.0, 1.0, 0.0, 0.0), lambda: "x") for _ in range(4)]
    assert stops == [False, False, False, True] and m.stopped == "callback"
    assert seen == [(2, "x", 2), (4, "x", 4)]
    m.finish("final")                                     # just seen at step 4: not called again
    assert len(seen) == 2
    m2 = cost_monitor(10, callback=callback, callback_every=3, progress=False)
    m2.step_done((1.0, 1.0, 0.0, 0.0), lambda: "x")
    m2.finish("final")                                    # the final image, once
    assert seen[-1] == (1, "final", 1)


@pytest.mark.parametrize("every", [0, -1, 2.5, True, "10"])
def test_the_monitor_refuses_a_bad_callback_every(every):
    with pytest.raises(ValueError, match="callback_every"):
        Monitor(5, keys=COST_KEYS, callback_every=every, progress=False)


def test_the_monitor_continues_a_history_and_catches_ctrl_c():
    old = {k: [1.0, 2.0] for k in (*COST_KEYS, "seconds")}
    m = Monitor(5, keys=COST_KEYS, initial=2, history=old, progress=False)
    assert m.done == 2 and m.bar.n == 2
    m.record((3.0, 3.0, 0.0, 0.0), seconds=3.0)
    assert m.done == 3 and m.history is old and old["J"] == [1.0, 2.0, 3.0]
    with m.interruptible():
        raise KeyboardInterrupt
    assert m.stopped == "interrupted"
    assert COST_KEYS == ("J", "J_content", "J_style", "J_tv")


# --- the step, on a cheap quadratic ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["pixels", "fourier"])
def test_adam_through_the_one_loop_changes_x_and_lowers_J(kind):
    param = _param(kind)
    p = _start(param)
    x0 = param.image_from(p).numpy()
    m = cost_monitor(40, progress=False)
    adam(QuadraticLoss(_target()), p, nu.DEFAULTS.replace(steps=40, learning_rate=0.05), m, param)
    x = param.image_from(p).numpy()
    assert m.done == 40 and all(len(m.history[k]) == 40 for k in (*COST_KEYS, "seconds"))
    assert not np.allclose(x, x0) and m.history["J"][-1] < 0.5 * m.history["J"][0]
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_adam_records_the_cost_of_the_image_each_step_starts_from():
    """history["J"][k] is J of x after k updates (so [0] is the start's): recomputed from snapshots."""
    loss, param = QuadraticLoss(_target()), _param("pixels")
    p = _start(param)
    snapshots = []
    m = cost_monitor(5, progress=False, callback=lambda k, image, h: snapshots.append(image.copy()),
                     callback_every=1)
    adam(loss, p, nu.DEFAULTS.replace(steps=5, learning_rate=0.05), m, param)
    start_J = float(loss(tf.constant(np.full(SHAPE, 0.5, np.float32))).J)
    assert m.history["J"][0] == pytest.approx(start_J, rel=1e-6)
    # the callback after step k sees x after k updates; the history's entry k is J of that image
    for k in range(1, 5):
        assert m.history["J"][k] == pytest.approx(float(loss(tf.constant(snapshots[k - 1])).J), rel=1e-5)
    assert m.history["J"][1] != pytest.approx(start_J, rel=1e-6)


@pytest.mark.parametrize("kind, fall", [("pixels", 0.01), ("fourier", 0.5)])   # noise is slow for 1/f
def test_lbfgs_through_the_parameterisation_changes_x_and_lowers_J(kind, fall):
    param = _param(kind)
    p = _start(param)
    m = cost_monitor(15, progress=False)
    lbfgs(QuadraticLoss(_target()), p, nu.DEFAULTS.replace(steps=15, optimizer="lbfgs"), m, param)
    assert 1 <= m.done <= 15 and len(m.history["J"]) == m.done == len(m.history["seconds"])
    assert m.history["J"][-1] < fall * m.history["J"][0]
    if kind == "pixels":
        np.testing.assert_allclose(param.image_from(p).numpy(), _target(), atol=0.02)


def test_the_bounds_are_the_parameterisations():
    assert nu.PixelImage(SHAPE).bounds == (0.0, 1.0) and nu.FourierImage(SHAPE).bounds is None
    # a target outside [0, 1]: L-BFGS-B and Adam keep the pixels in the box, on its edge
    for optimize in (lbfgs, adam):
        param = _param("pixels")
        p = _start(param)
        optimize(QuadraticLoss(_target(1.5)), p, nu.DEFAULTS.replace(steps=30, learning_rate=0.1),
                 cost_monitor(30, progress=False), param)
        x = p.numpy()
        assert x.max() <= 1.0 and x.min() > 0.99, optimize.__name__
    # the spectrum has no box (its entries leave [0, 1]); the sigmoid keeps its image in range
    param = _param("fourier")
    p = _start(param)
    lbfgs(QuadraticLoss(_target(1.5)), p, nu.DEFAULTS.replace(steps=30), cost_monitor(30, progress=False), param)
    x = param.image_from(p).numpy()
    assert np.abs(p.numpy()).max() > 1.0 and x.max() <= 1.0 and x.min() > 0.9


def test_the_first_adam_step_is_the_formula():
    """Step 1: m = (1 - b1) g, v = (1 - b2) g^2, so p moves by lr g / (|g| + eps / sqrt(1 - b2)), about lr sign(g)."""
    param = _param("pixels")
    p = _start(param)
    target = _target()
    lr = 0.01
    g = 2.0 * (0.5 - target) / target.size                                  # dJ/dx of the mean square
    # Keras: p -= lr sqrt(1 - b2) / (1 - b1) * m / (sqrt(v) + eps), m = (1 - b1) g, v = (1 - b2) g^2
    expected = 0.5 - lr * g / (np.abs(g) + 1e-7 / np.sqrt(1 - 0.999))

    def value(x, t):
        values = QuadraticLoss(target)(x)
        return values.J, values

    adam_loop(value, param, p, cost_monitor(1, progress=False), learning_rate=lr, steps=1)
    np.testing.assert_allclose(p.numpy(), expected, atol=1e-6)


def test_the_normalised_gradient_moves_each_step_by_eta_on_average():
    param = _param("pixels")
    p = _start(param)
    target = _target()
    seen = []

    def value(x, t):
        J = tf.reduce_mean(tf.square(x - target))
        return J, (J,)

    loop = GradientLoop(value, param, p, NormalisedGradient(0.01))
    m = Monitor(6, keys=("J",), callback=lambda step, image, h: seen.append(image.copy()), callback_every=1,
                progress=False)
    loop.run(3, m)
    loop.run(3, m, first=3)                               # one traced step, run again
    steps = np.diff(np.stack([np.full(SHAPE, 0.5, np.float32)] + seen), axis=0)
    np.testing.assert_allclose(np.abs(steps).mean(axis=(1, 2, 3, 4)), 0.01, rtol=1e-4)
    assert m.done == 6 and m.history["J"][-1] < m.history["J"][0]


def test_the_loop_passes_the_step_number_and_stops_on_the_callback_and_ctrl_c():
    param = _param("pixels")
    p = _start(param)
    numbers = []

    def value(x, t):
        J = tf.reduce_mean(tf.square(x - 0.2))
        return J, (J, tf.cast(t, tf.float32))

    def callback(step, image, history):
        numbers.append(history["t"][-1])
        if step == 4:
            raise KeyboardInterrupt
        return False

    m = Monitor(10, keys=("J", "t"), callback=callback, callback_every=1, progress=False)
    GradientLoop(value, param, p, keras.optimizers.Adam(0.01)).run(10, m, first=7)
    assert numbers == [7.0, 8.0, 9.0, 10.0] and m.stopped == "interrupted" and m.done == 4
    m = Monitor(10, keys=("J", "t"), callback=lambda step, image, h: step == 2, callback_every=1, progress=False)
    adam_loop(value, param, p, m, learning_rate=0.01, steps=10)
    assert m.stopped == "callback" and m.done == 2 and len(m.history["J"]) == 2


def test_the_optimizers_default_to_pixels():
    p = tf.Variable(np.full(SHAPE, 0.5, np.float32))
    m = cost_monitor(5, progress=False)
    OPTIMIZERS["adam"](QuadraticLoss(_target(1.5)), p, nu.DEFAULTS.replace(steps=5, learning_rate=0.2), m)
    assert p.numpy().max() <= 1.0 and m.done == 5


# --- every caller through the loop, on the real VGG19 ---------------------------------------------------

@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
@pytest.mark.parametrize("parameterization", ["pixels", "fourier"])
def test_synthesize_round_trips_each_parameterisation(small_pair, vgg19, optimizer, parameterization):
    content, style = small_pair
    kw = dict(learning_rate=0.05) if parameterization == "fourier" else {}
    r = nu.style_transfer(content, style, steps=6, model=vgg19, progress=False, optimizer=optimizer,
                          parameterization=parameterization, init="noise", **kw)
    assert r.steps == 6 and set(r.history) == {*COST_KEYS, "seconds"}
    assert all(len(v) == 6 for v in r.history.values())
    assert r.history["J"][-1] < r.history["J"][0] and not np.allclose(r.image, r.image.mean())
    assert r.image.shape == content.shape and 0.0 <= r.image.min() and r.image.max() <= 1.0
    stop = nu.style_transfer(content, style, steps=6, model=vgg19, progress=False, optimizer=optimizer,
                             parameterization=parameterization, callback=lambda s, i, h: s >= 2,
                             callback_every=1, **kw)
    assert stop.steps == 2 and stop.stopped == "callback" and len(stop.history["J"]) == 2


def _count_loops(monkeypatch, *modules) -> list:
    """Make each module's ``GradientLoop`` a subclass that records every loop built; returns that list."""
    made = []

    class Counting(GradientLoop):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    for module in modules:
        monkeypatch.setattr(module, "GradientLoop", Counting)
    return made


def test_visualise_and_deep_dream_go_through_the_loop(vgg19, small_pair, monkeypatch):
    import sys

    import nst_utils.loop as loop_module

    visualise_module = sys.modules["nst_utils.visualise"]   # nu.visualise is the function of that name
    made = _count_loops(monkeypatch, visualise_module, loop_module)
    v = nu.visualise(nu.objective("conv2_1", 5), size=32, steps=4, model=vgg19, progress=False)
    assert len(made) == 1 and isinstance(made[0].rule, keras.optimizers.Adam)
    assert v.history.shape == (4, 1) and v.stopped is None
    d = nu.deep_dream(small_pair[0], "conv3_1", octaves=2, steps=3, model=vgg19, progress=False)
    assert len(made) == 2 and isinstance(made[1].rule, NormalisedGradient)
    assert d.history.shape == (6, 1) and d.image.shape == small_pair[0].shape
    # the octaves differ in size, and the step was traced once for both
    assert made[1].step.experimental_get_tracing_count() == 1


def test_many_short_loops_print_no_retracing_warning_and_other_functions_still_do():
    """Review L-7: each GradientLoop traces its own step once; TensorFlow, which counts traces per code,
    warned after 5 loops in one cell. The warning for any other function is kept (the control below)."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Keep()
    tf.get_logger().addHandler(handler)
    try:
        for _ in range(8):
            param = _param("pixels")
            p = _start(param)
            GradientLoop(lambda x, t: (tf.reduce_mean(tf.square(x - 0.3)), [tf.reduce_mean(x)]), param, p,
                         keras.optimizers.Adam(0.01)).run(2, Monitor(2, keys=("J",), progress=False))
        assert not [m for m in records if "retracing" in m], records

        def control():
            v = tf.Variable(tf.zeros(SHAPE))

            @tf.function
            def step():
                return v + 1.0

            return step()

        for _ in range(8):
            control()
        assert any("retracing" in m and "control.<locals>.step" in m for m in records), records
    finally:
        tf.get_logger().removeHandler(handler)


def test_synthesize_and_each_pyramid_level_trace_their_step_once(vgg19, small_pair, monkeypatch):
    """Review 20 S-10: the retracing filter (L-7) hides TensorFlow's warning for GradientLoop's step, so these
    counts are what catch a step traced again at every call. With Adam the first call traces twice (Keras
    creates Adam's moment variables inside it, and tf.function traces again without creating them: 2 also
    after 1 step, measured); a step retraced at every call would count 1 + the steps it ran (7 for 6 steps)."""
    import nst_utils.loop as loop_module

    made = _count_loops(monkeypatch, loop_module)
    content, style = small_pair
    for parameterization, kw in (("pixels", {}), ("fourier", {"learning_rate": 0.05})):
        r = nu.synthesize(content, style, steps=6, model=vgg19, progress=False, parameterization=parameterization,
                          **kw)
        assert r.steps == 6 and made[-1].step.experimental_get_tracing_count() == 2
    p = nu.coarse_to_fine(content, style, steps=4, pyramid_base=32, model=vgg19, progress=False)
    assert [lv.done for lv in p.levels] == [4, 2] and len(made) == 4
    assert [loop.step.experimental_get_tracing_count() for loop in made[2:]] == [2, 2]
