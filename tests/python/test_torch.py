"""model.to_torch(): a torch.nn.Module with the latents of `ssvae encode`
to 1e-5 (skipped, saying so, where PyTorch is not installed)."""
import numpy as np
import pytest

import ssvae
from conftest import cli

torch = pytest.importorskip("torch", reason="PyTorch is not installed (apt-get install python3-torch)")


@pytest.mark.parametrize("grey", [False, True])
def test_same_latents_as_cli_encode(tmp_path, grey):
    f, c = ssvae.generate(30, seed=1, width=48, height=40, balls=3, radius=5, step=5, grey=grey)
    ft, _ = ssvae.generate(20, seed=2, width=48, height=40, balls=3, radius=5, step=5, grey=grey)
    m = ssvae.train(f, epochs=2, seed=1, progress=False)
    m.save(tmp_path / "m.safetensors")
    np.save(tmp_path / "test.npy", ft)
    cli("encode", "--model", tmp_path / "m.safetensors", "--data", tmp_path / "test.npy", "--out",
        tmp_path / "z.npy", "--quiet")
    net = m.to_torch()
    assert isinstance(net, torch.nn.Module) and not net.training
    with torch.no_grad():
        z = net(torch.from_numpy(ft)).numpy()
    zc = np.load(tmp_path / "z.npy")
    assert z.shape == zc.shape
    assert np.abs(z.astype(np.float64) - zc).max() <= 1e-5
