"""cnn: the ResNet family (He et al. 2015) in plain torch, torchvision's layout (ResNet v1.5:
stride on the 3×3 convolution of a bottleneck), so ResNet-50 at 224×224 has 25.6M parameters and
compares with published training figures.

Images are class prototypes (smooth random patterns) plus noise: learnable, made on the device.
"""

from __future__ import annotations

import torch
from torch import nn

from core.measure.workloads.base import Workload, generator, to_device

POOL = 4


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.shortcut = _shortcut(c_in, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int) -> None:
        super().__init__()
        c_out = width * self.expansion
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.shortcut = _shortcut(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + self.shortcut(x))


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Module:
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))


class ResNet(nn.Module):
    def __init__(self, block: str, layers, widths, classes: int, stem: str) -> None:
        super().__init__()
        block_cls = Bottleneck if block == "bottleneck" else BasicBlock
        if stem == "imagenet":
            self.stem = nn.Sequential(
                nn.Conv2d(3, widths[0], 7, 2, 3, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(),
                nn.MaxPool2d(3, 2, 1))
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        stages = []
        c_in = widths[0]
        for i, (count, width) in enumerate(zip(layers, widths)):
            for j in range(count):
                stride = 2 if (i > 0 and j == 0) else 1
                stages.append(block_cls(c_in, width, stride))
                c_in = width * block_cls.expansion
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(c_in, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def make_model(params: dict) -> ResNet:
    return ResNet(params["block"], params["layers"], params["widths"], int(params["classes"]),
                  params["stem"])


def build(params: dict, batch_size: int, device: str, seed: int = 0, channels_last: bool = False) -> Workload:
    image, classes = int(params["image"]), int(params["classes"])
    gen = generator(seed)
    prototypes = torch.randn(classes, 3, 8, 8, generator=gen)
    batches = []
    for _ in range(POOL):
        labels = torch.randint(0, classes, (batch_size,), generator=gen)
        smooth = nn.functional.interpolate(prototypes[labels], size=(image, image), mode="bilinear",
                                           align_corners=False)
        x = smooth + 0.5 * torch.randn(batch_size, 3, image, image, generator=gen)
        batches.append((x, labels))
    batches = to_device(batches, device)
    torch.manual_seed(seed)
    model = make_model(params)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        batches = [(x.contiguous(memory_format=torch.channels_last), y) for x, y in batches]
    return Workload(
        model=model,
        batches=batches,
        loss_fn=nn.functional.cross_entropy,
        make_optimizer=lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
        samples_per_step=batch_size,
    )
