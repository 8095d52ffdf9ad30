"""The networks the chapter trains, as ordinary :class:`torch.nn.Module` objects.

The textbook's MNIST network is a 784-64-16-10 perceptron with a Sigmoid and then
a Tanh hidden layer, a softmax output trained with cross-entropy, Xavier-uniform
weights (:cite:`glorot2010understanding`) and zero biases.  Its comparisons start
every run from the *same* initial weights, so that only the learning rate or the
batch size differs; here a run's initial weights are a pure function of its
``init_seed``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from . import checks
from .device import seeded_generator

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity,
}

#: The textbook's layer sizes and hidden activations.
TEXTBOOK_SIZES = (784, 64, 16, 10)
TEXTBOOK_ACTIVATIONS = ("sigmoid", "tanh")




def xavier_init_(model: nn.Module, init_seed: int) -> nn.Module:
    """Xavier-uniform weights, zero biases, drawn from a generator seeded with ``init_seed``.

    Weights of a layer with fan-in ``a`` and fan-out ``b`` are drawn from
    U(-r, r) with r = sqrt(6 / (a + b)) (Glorot & Bengio 2010, their equation 16).
    """
    generator = seeded_generator(checks.seed(init_seed, "init_seed"))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                nn.init.xavier_uniform_(module.weight, generator=generator)
                if module.bias is not None:
                    module.bias.zero_()
    return model


def mlp(sizes: Sequence[int] = TEXTBOOK_SIZES,
        activations: Sequence[str] = TEXTBOOK_ACTIVATIONS, *, init_seed: int = 0) -> nn.Sequential:
    """A multilayer perceptron ``Linear, act, Linear, act, ..., Linear`` (logits out).

    The softmax lives in the loss (``cross_entropy`` takes logits), which is the
    numerically stable way to compute softmax followed by cross-entropy.
    """
    sizes = checks.integers(sizes, "sizes", minimum=1, minimum_count=2)
    activations = tuple(activations)
    if len(activations) != len(sizes) - 2:
        raise ValueError(f"{len(sizes) - 2} hidden layers need {len(sizes) - 2} activations, "
                         f"got {len(activations)}: {activations}")
    unknown = [a for a in activations if a not in ACTIVATIONS]
    if unknown:
        raise ValueError(f"unknown activation(s) {unknown}; allowed: {sorted(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(activations):
            layers.append(ACTIVATIONS[activations[i]]())
    return xavier_init_(nn.Sequential(*layers), init_seed)


def textbook_mlp(init_seed: int = 0) -> nn.Sequential:
    """The textbook's 784-64-16-10 network: Sigmoid, then Tanh, then softmax."""
    return mlp(TEXTBOOK_SIZES, TEXTBOOK_ACTIVATIONS, init_seed=init_seed)


def relu_mlp(init_seed: int = 0) -> nn.Sequential:
    """The same 784-64-16-10 shape with ReLU hidden layers."""
    return mlp(TEXTBOOK_SIZES, ("relu", "relu"), init_seed=init_seed)


class SmallCNN(nn.Module):
    """A small convolutional network for 28x28 digits, optionally with batch norm.

    conv(1->c, 5x5) [BN] ReLU maxpool2 -> conv(c->2c, 5x5) [BN] ReLU maxpool2 -> linear(32c->10).
    """

    def __init__(self, channels: int = 8, batch_norm: bool = True):
        super().__init__()
        channels = checks.integer(channels, "channels", minimum=1)
        norm = (lambda c: nn.BatchNorm2d(c)) if batch_norm else (lambda c: nn.Identity())
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 5), norm(channels), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, 5), norm(2 * channels), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(2 * channels * 16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, 1, 28, 28)
        return self.classifier(self.features(x).flatten(1))


def small_cnn(init_seed: int = 0, *, channels: int = 8, batch_norm: bool = True) -> SmallCNN:
    """:class:`SmallCNN` with Xavier-uniform weights and zero biases from ``init_seed``."""
    return xavier_init_(SmallCNN(channels, batch_norm), init_seed)


def has_batch_norm(model: nn.Module) -> bool:
    """True when ``model`` holds a batch-norm layer (running statistics that a change of weights,
    an average say, leaves stale)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


#: Model factories by name: each takes ``init_seed`` and returns a fresh module.
MODELS: dict[str, Callable[..., nn.Module]] = {
    "textbook": textbook_mlp, "relu": relu_mlp, "cnn": small_cnn,
}


def build_model(model: str | Callable[..., nn.Module], init_seed: int = 0) -> nn.Module:
    """A fresh model from a name in :data:`MODELS` or from a factory ``f(init_seed)``."""
    if isinstance(model, str):
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; allowed: {sorted(MODELS)} "
                             "or a callable init_seed -> nn.Module")
        model = MODELS[model]
    if not callable(model):
        raise TypeError(f"model must be a name or a callable init_seed -> nn.Module, "
                        f"got {type(model).__name__}")
    module = model(init_seed)
    if not isinstance(module, nn.Module):
        raise TypeError(f"the model factory returned {type(module).__name__}, not an nn.Module")
    if not any(True for _ in module.parameters()):
        raise ValueError("the model has no parameters to train")
    return module
