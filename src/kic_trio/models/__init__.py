"""Slim, typed models of the Kubernetes objects the controller watches."""

from ._base import Failure, ObjectRef

__all__ = ["Failure", "ObjectRef"]
