"""Wan Studio: a text-to-video studio for Alibaba's open Wan models.

Importing this package is cheap: it must never import torch or diffusers.
"""

__version__ = "0.1.0"
