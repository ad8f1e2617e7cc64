r"""The loss of neural style transfer, built once from its targets, called at every step.

For a generated image :math:`x` with activations :math:`a_G`:

.. math:: J(x) = \alpha\, J_{content} + \beta\, J_{style} + w_{TV}\, J_{TV}(x),
   \qquad J_{style} = \sum_l \lambda_l\, J^{[l]}_{style}

The targets never change, so :class:`StyleTransferLoss` computes them once: the content image's
activation :math:`a_C` at the content layer, and at each style layer the style statistic of the
style image (its Gram matrix, :mod:`nst_utils.statistics`).

**Weighting.** The raw layer costs of the real VGG19 differ by orders of magnitude (for a photo
against The Starry Night, conv4_1's is about :math:`10^5` times conv1_1's), so with
:math:`\lambda_l = 1/5` conv4_1 alone decides :math:`J_{style}`. ``weighting="balanced"`` (the
default) divides every term by its target's own size, the cost of an all-zero activation:

.. math:: J_{content} = \frac{\sum (a_C - a_G)^2}{\sum a_C^2}, \qquad
   J_{style} = \sum_l \lambda_l \frac{J^{[l]}_{style}(a_S, a_G)}{J^{[l]}_{style}(a_S, 0)}
   \;\; \Big(= \sum_l \lambda_l \frac{\lVert G^{(S)} - G^{(x)} \rVert^2}{\lVert G^{(S)} \rVert^2}
   \text{ for Gram matrices}\Big)

so each term is a relative squared error: 1 means "as far as an empty image", and every layer, and
the content, count on the same scale whatever the layer, the image or its size.

**A batch** (fast style transfer, :mod:`nst_utils.fast`): :meth:`StyleTransferLoss.batch` takes
outputs :math:`x_b` (B, n_H, n_W, 3) and their own content images :math:`C_b`, and returns the mean
over the batch of the J above, each image with its own content target :math:`a_C^{(b)}` (balanced:
divided by its own :math:`\sum (a_C^{(b)})^2`) and the same style targets and weights:
:math:`J = \frac{1}{B} \sum_b J(x_b; C_b)`, and likewise each part. ``weighting="raw"``
uses the formulas of lesson 05 as they are (:math:`J_{content}` and :math:`J^{[l]}_{style}` of
:mod:`nst_utils.costs`). The values the loss returns are always the ones it adds up, so
``J == alpha * J_content + beta * J_style + tv_weight * J_TV`` holds in both.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nst_utils import costs
from nst_utils._tf import tf
from nst_utils.features import FeatureExtractor, feature_extractor
from nst_utils.models import cached_vgg19
from nst_utils.settings import DEFAULTS, Settings
from nst_utils.statistics import style_statistic


class LossValues(NamedTuple):
    """J and its parts (scalar tensors), as added up: J = alpha J_content + beta J_style + w_TV J_TV."""

    J: tf.Tensor
    J_content: tf.Tensor
    J_style: tf.Tensor
    J_tv: tf.Tensor


class StyleTransferLoss:
    """J(x) for images x of shape (1, n_H, n_W, 3) in [0, 1]; see the module docstring.

    Args:
        extractor: the "mini model" giving activations at the content and style layers
            (:func:`nst_utils.feature_extractor`); :meth:`build` makes one from the settings.
        content: (1, n_H, n_W, 3) in [0, 1], or None (no content term: texture synthesis).
        style: (1, n_H', n_W', 3) in [0, 1], any size, or None (no style term: reconstruction).
        settings: alpha, beta, tv_weight, content_layer, style_layers, weighting, style_statistic.

    Attributes:
        a_C: the content target, (1, n_H, n_W, n_C) at ``settings.content_layer`` (None without content).
        targets: ``{layer: the style statistic of the style image}`` (Gram matrices (n_C, n_C)).
        layer_weights: ``{layer: the factor of J^[l]_style in J_style}``: lambda_l, divided by the
            style's own J^[l](a_S, 0) when balanced.
        content_weight: the factor of the raw J_content in J_content (1, or 1 / J_content(a_C, 0)).
    """

    def __init__(self, extractor: FeatureExtractor, *, content: np.ndarray | None = None,
                 style: np.ndarray | None = None, settings: Settings = DEFAULTS) -> None:
        if content is None and style is None:
            raise ValueError("give a content image, a style image, or both")
        self.settings = settings
        self.extractor = extractor
        self.content_layer = settings.content_layer
        self.statistic = style_statistic(settings.style_statistic)
        balanced = settings.weighting == "balanced"

        self.a_C = None
        self.content_weight = 1.0
        if content is not None:
            extractor.check_size(content.shape, "the content image")
            self.a_C = extractor(content)[self.content_layer]
            if balanced:
                self.content_weight = 1.0 / _positive(costs.content_cost(self.a_C, tf.zeros_like(self.a_C)),
                                                      "the content image's activation")
        self.targets: dict[str, Any] = {}
        self.layer_weights: dict[str, float] = {}
        if style is not None:
            extractor.check_size(style.shape, "the style image")
            a_S = extractor(style)
            for layer, lam in settings.style_layers.items():
                self.targets[layer] = self.statistic.target(a_S[layer])
                energy = 1.0
                if balanced:
                    energy = _positive(self.statistic.cost(self.targets[layer], tf.zeros_like(a_S[layer])),
                                       f"the style image's statistic at {layer}")
                self.layer_weights[layer] = float(lam) / energy
        self._content_extractor: FeatureExtractor | None = None
        self._use_content = self.a_C is not None and settings.alpha != 0
        self._use_style = bool(self.targets) and settings.beta != 0
        self._weights = {layer: tf.constant(w, tf.float32) for layer, w in self.layer_weights.items()}

    @classmethod
    def build(cls, content: np.ndarray | None = None, style: np.ndarray | None = None, *,
              settings: Settings = DEFAULTS, model=None) -> "StyleTransferLoss":
        """The loss with its own extractor: VGG19 (``settings.pooling``, ``.precision``) unless ``model``."""
        if content is None and style is None:
            raise ValueError("give a content image, a style image, or both")
        names = ([settings.content_layer] if content is not None else []) + \
                (list(settings.style_layers) if style is not None else [])
        model = model if model is not None else cached_vgg19(settings.pooling, settings.precision)
        return cls(feature_extractor(model, names), content=content, style=style, settings=settings)

    def __call__(self, x: tf.Tensor) -> LossValues:
        """J and its parts for the image x (1, n_H, n_W, 3); differentiable with respect to x."""
        a_C = self.a_C if self._use_content else None
        return self._terms(x, self.extractor(x), a_C, self.content_weight)

    def _terms(self, x: tf.Tensor, a_G: dict[str, tf.Tensor], a_C: tf.Tensor | None,
               content_weight: float | tf.Tensor) -> LossValues:
        """J of one image x (1, n_H, n_W, 3) from its activations a_G and content target a_C (None: no content)."""
        s = self.settings
        zero = tf.constant(0.0)
        J_content = (content_weight * costs.content_cost(a_C, a_G[self.content_layer])
                     if a_C is not None else zero)
        J_style = (tf.add_n([self._weights[layer] * self.statistic.cost(target, a_G[layer])
                             for layer, target in self.targets.items()]) if self._use_style else zero)
        J_tv = costs.total_variation_cost(x) if s.tv_weight else zero
        J = s.alpha * J_content + s.beta * J_style + s.tv_weight * J_tv
        return LossValues(J, J_content, J_style, J_tv)

    def batch(self, content: tf.Tensor | np.ndarray, x: tf.Tensor) -> LossValues:
        """The batch mean of J and its parts: x (B, n_H, n_W, 3), each x_b with its own content image C_b.

        ``content`` (B, n_H, n_W, 3) in [0, 1] gives each image's content target (no gradient flows
        into it); the style targets and weights are this loss's. With B = 1 and C the loss's content
        image this is ``self(x)`` (module docstring). The extractor must reach the content layer.
        """
        if self.content_layer not in self.extractor.names:
            raise ValueError(f"the loss's extractor has no content layer {self.content_layer!r}; build it with "
                             f"feature_extractor(model, [{self.content_layer!r}, *style layers])")
        if self._content_extractor is None:
            self._content_extractor = feature_extractor(self.extractor.model, [self.content_layer]) \
                if len(self.extractor.names) > 1 else self.extractor
        a_C = tf.stop_gradient(self._content_extractor(content)[self.content_layer])
        a_G = self.extractor(x)
        use_content = self.settings.alpha != 0
        balanced = self.settings.weighting == "balanced"
        values = []
        for b in range(x.shape[0]):
            one = slice(b, b + 1)
            a_C_b = a_C[one]
            weight = (1.0 / tf.maximum(costs.content_cost(a_C_b, tf.zeros_like(a_C_b)), 1e-12)) if balanced else 1.0
            values.append(self._terms(x[one], {layer: a[one] for layer, a in a_G.items()},
                                      a_C_b if use_content else None, weight))
        return LossValues(*(tf.reduce_mean(tf.stack(parts)) for parts in zip(*values)))

    def layer_costs(self, x: tf.Tensor | np.ndarray) -> dict[str, float]:
        """The raw J^[l]_style of x at every style layer (no weights), as floats."""
        a_G = self.extractor(x)
        return {layer: float(self.statistic.cost(target, a_G[layer])) for layer, target in self.targets.items()}

    def layer_shares(self, x: tf.Tensor | np.ndarray) -> dict[str, float]:
        """Each style layer's share of J_style for the image x (fractions that sum to 1)."""
        terms = {layer: self.layer_weights[layer] * J for layer, J in self.layer_costs(x).items()}
        total = sum(terms.values()) or 1.0
        return {layer: t / total for layer, t in terms.items()}

    def __repr__(self) -> str:
        s = self.settings
        return (f"StyleTransferLoss({s.weighting} weighting, alpha={s.alpha:g}, beta={s.beta:g}, "
                f"tv_weight={s.tv_weight:g}, content {self.content_layer if self.a_C is not None else None}, "
                f"style {list(self.targets)}, statistic {self.statistic.name})")


def _positive(value: tf.Tensor, what: str) -> float:
    v = float(value)
    if not v > 0.0:
        raise ValueError(f"{what} is zero everywhere (an empty or flat image?), so the balanced weighting "
                         "cannot divide by its size; use another image or weighting='raw'")
    return v
