"""What the pose and motion jobs share of their lazily built components."""

from __future__ import annotations


class BodyComponentsMixin:
    """``body``, ``prior`` and ``detector`` built on first use.

    The job provides ``self.cfg`` (with ``body``: :class:`~inhabit.config.BodyConfig` and
    ``keypoints``: :class:`~inhabit.config.KeypointConfig`), ``self.device`` and ``self.comps`` (with
    ``body_model``, ``prior`` and ``detector`` fields, None until built or given by the caller, e.g.
    a test's tiny model).
    """

    @property
    def body(self):
        if self.comps.body_model is None:
            self.comps.body_model = self.cfg.body.build_model(self.device)
        return self.comps.body_model

    @property
    def prior(self):
        if self.comps.prior is None:
            self.comps.prior = self.cfg.body.build_prior(self.body)
        return self.comps.prior

    @property
    def detector(self):
        if self.comps.detector is None:
            self.comps.detector = self.cfg.keypoints.build_detector()
        return self.comps.detector
