"""Stand-ins the tests share: a kernel for ipywidgets' Output, and a dataset served as dictionaries."""
from __future__ import annotations

import torch
from torch.utils.data import Dataset


class FakeKernel:
    """What ipywidgets' Output asks of a kernel: the parent request (a widget's callback) whose outputs it captures.

    ``showtraceback`` fails the test: an explorer must let no exception reach its Output.
    """

    def __init__(self):
        self.kernel = self

    def get_parent(self):
        return {"header": {"msg_id": "widget-callback"}}

    def set_parent(self, parent):
        pass

    def showtraceback(self, *args, **kwargs):
        raise AssertionError("the explorer lets no exception reach the Output")


class DictDataset(Dataset):
    """A learnable ``classes``-class problem served as dictionaries ``{"image": (features,), "label": ()}``:
    Gaussian inputs, labels the argmax of a fixed random linear map (seeded)."""

    def __init__(self, n: int, features: int, classes: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, features, generator=g)
        self.y = (self.x @ torch.randn(features, classes, generator=g)).argmax(1)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"image": self.x[i], "label": self.y[i]}
