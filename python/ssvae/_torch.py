"""_torch.py — Model.to_torch(): the encoder of src/encoder.c as a
torch.nn.Module, loaded from the model's tensors under their PyTorch names
(the checkpoint's; docs/checkpoints.md). Evaluation mode:

    x = byte / 255, (N, C, H, W)
    conv1 3x3 pad 1 (C -> F) -> bn1 (running statistics, eps 1e-5) -> ReLU
    conv2 3x3 pad 1 (F -> K) -> bn2 -> sigmoid -> s (N, K, H, W)
    z[2k]   = (sum_ij s_ij j / sum_ij s_ij + 0.5) / W    centre of mass of
    z[2k+1] = (sum_ij s_ij i / sum_ij s_ij + 0.5) / H    the pixel centres

The network is float32 as a PyTorch user would run it; the centre-of-mass
sums are taken in float64 (as the C library takes its row sums into
doubles), so the latents agree with `ssvae encode` to about 1e-6, not only
to the 1e-4 a float32 sum over 65536 pixels allows.
"""
import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, C, F, K, H, W):
        super().__init__()
        self.conv1 = nn.Conv2d(C, F, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(F, eps=1e-5)
        self.conv2 = nn.Conv2d(F, K, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(K, eps=1e-5)
        self.frame_shape = (H, W, C)

    def maps(self, frames):
        """s (N, K, H, W) from frames (N, H, W, C): uint8 bytes (x = byte / 255),
        or floats already in [0, 1]; a tensor or an array."""
        if not torch.is_tensor(frames):
            frames = torch.as_tensor(frames)
        if frames.dim() == 3 and self.frame_shape[2] == 1:
            frames = frames.unsqueeze(-1)
        if frames.dim() != 4 or tuple(frames.shape[1:]) != self.frame_shape:
            raise ValueError("frames: expected (N, %d, %d, %d), got %s"
                             % (self.frame_shape + (tuple(frames.shape),)))
        x = frames.permute(0, 3, 1, 2).to(self.conv1.weight.dtype)
        if frames.dtype == torch.uint8:  # bytes, as the library reads them
            x = x / 255.0
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.sigmoid(self.bn2(self.conv2(h)))

    def forward(self, frames):
        s = self.maps(frames)
        N, K, H, W = s.shape
        d = s.to(torch.float64)
        mass = d.sum(dim=(2, 3))
        j = torch.arange(W, dtype=torch.float64, device=s.device)
        i = torch.arange(H, dtype=torch.float64, device=s.device)
        cx = (d.sum(dim=2) * j).sum(dim=2) / mass
        cy = (d.sum(dim=3) * i).sum(dim=2) / mass
        z = torch.stack(((cx + 0.5) / W, (cy + 0.5) / H), dim=2)
        return z.reshape(N, 2 * K).to(s.dtype)


def encoder_module(model):
    c = model.config
    net = Encoder(c["C"], c["F"], c["K"], c["H"], c["W"])
    state = {k: torch.from_numpy(v) for k, v in model.state_dict().items()
             if not k.startswith(("prior.", "head."))}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise RuntimeError("to_torch: missing %s, unexpected %s" % (missing, unexpected))
    return net.eval()
