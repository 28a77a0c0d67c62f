"""Small procedural textures (uint8 RGB, tileable) so rendered demo scenes look like scenes.

All are deterministic (seeded) and periodic, so they tile under ``REPEAT`` wrapping without seams:
the noise is white noise low-pass filtered in the Fourier domain, which is periodic by construction.
"""

from __future__ import annotations

import numpy as np


def periodic_noise(size: int, cutoff: float, seed: int) -> np.ndarray:
    """(size, size) smooth tileable noise in [0, 1]; ``cutoff`` is the feature count per tile."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal((size, size))
    fy = np.fft.fftfreq(size)[:, None] * size
    fx = np.fft.fftfreq(size)[None, :] * size
    spectrum = np.fft.fft2(white) * np.exp(-(fx**2 + fy**2) / (2.0 * cutoff**2))
    n = np.real(np.fft.ifft2(spectrum))
    n -= n.min()
    return n / max(n.max(), 1e-12)


def _mix(c0, c1, t: np.ndarray) -> np.ndarray:
    c0, c1 = np.asarray(c0, float), np.asarray(c1, float)
    return c0 + (c1 - c0) * t[..., None]


def _to_u8(img: np.ndarray) -> np.ndarray:
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def wood(size: int = 128, light=(176, 126, 80), dark=(120, 78, 44), rings: float = 9.0, seed: int = 0) -> np.ndarray:
    """Wood grain along the texture's u axis (rows = v): wavy stripes plus fine fibres."""
    n = periodic_noise(size, 3.0, seed)
    fibre = periodic_noise(size, 24.0, seed + 1)
    v = np.arange(size)[:, None] / size
    grain = 0.5 + 0.5 * np.sin(2 * np.pi * (rings * v + 1.5 * n))  # periodic in v, bent by noise
    t = 0.65 * grain**3 + 0.35 * fibre
    return _to_u8(_mix(light, dark, t))


def planks(size: int = 256, light=(181, 140, 96), dark=(128, 90, 56), boards: int = 4, seed: int = 0) -> np.ndarray:
    """Floor boards: wood grain in ``boards`` strips with dark seams and per-board tint."""
    img = wood(size, light, dark, rings=6.0, seed=seed).astype(float)
    rng = np.random.default_rng(seed + 7)
    w = size // boards
    for b in range(boards):
        img[:, b * w : (b + 1) * w] *= rng.uniform(0.85, 1.1)
        img[:, b * w : b * w + 2] *= 0.45
    return _to_u8(img)


def checker(size: int = 128, c0=(214, 208, 196), c1=(92, 88, 84), tiles: int = 2, seed: int = 0) -> np.ndarray:
    """Checkerboard tiles with grout lines and a little mottling."""
    i = np.arange(size)
    cell = size // (2 * tiles) if tiles else size
    board = ((i[:, None] // cell) + (i[None, :] // cell)) % 2
    mottle = periodic_noise(size, 10.0, seed) - 0.5
    img = np.where(board[..., None] == 0, np.asarray(c0, float), np.asarray(c1, float))
    img = img * (1.0 + 0.12 * mottle[..., None])
    grout = ((i % cell) < 2)[:, None] | ((i % cell) < 2)[None, :]
    img[grout] = (170, 166, 160)
    return _to_u8(img)


def fabric(size: int = 128, color=(90, 110, 150), seed: int = 0) -> np.ndarray:
    """Woven fabric: a fine cross-hatch weave and soft noise on a base colour."""
    i = np.arange(size)
    weave = 0.5 + 0.25 * (np.sin(2 * np.pi * i[:, None] * 16 / size) + np.sin(2 * np.pi * i[None, :] * 16 / size))
    n = periodic_noise(size, 6.0, seed)
    shade = 0.8 + 0.15 * weave + 0.15 * (n - 0.5)
    return _to_u8(np.asarray(color, float) * shade[..., None])


def plaster(size: int = 128, color=(226, 220, 206), seed: int = 0) -> np.ndarray:
    """Painted plaster: a base colour with broad and fine low-contrast noise."""
    n = 0.6 * periodic_noise(size, 4.0, seed) + 0.4 * periodic_noise(size, 30.0, seed + 1)
    return _to_u8(np.asarray(color, float) * (0.9 + 0.12 * n)[..., None])


def bricks(size: int = 256, color=(150, 72, 52), mortar=(196, 190, 178), rows: int = 8, seed: int = 0) -> np.ndarray:
    """Running-bond brickwork (rows along v)."""
    rng = np.random.default_rng(seed)
    i = np.arange(size)
    rh = size // rows
    bw = 2 * rh
    row = i[:, None] // rh
    shift = (row % 2) * (bw // 2)
    col = (i[None, :] + shift) // bw
    tint = rng.uniform(0.8, 1.15, (rows, size // bw + 2))
    n = periodic_noise(size, 20.0, seed + 1)
    img = np.asarray(color, float) * (tint[row % rows, col % tint.shape[1]] * (0.9 + 0.2 * n))[..., None]
    joint = ((i[:, None] % rh) < 3) | (((i[None, :] + shift) % bw) < 3)
    img[joint] = mortar
    return _to_u8(img)


def concrete(size: int = 128, color=(160, 158, 152), seed: int = 0) -> np.ndarray:
    """Concrete / stone: speckled grey."""
    n = 0.5 * periodic_noise(size, 5.0, seed) + 0.5 * periodic_noise(size, 40.0, seed + 1)
    return _to_u8(np.asarray(color, float) * (0.8 + 0.35 * n)[..., None])


def grass(size: int = 128, seed: int = 0) -> np.ndarray:
    """Grass: mottled greens with blade-scale speckle."""
    broad = periodic_noise(size, 4.0, seed)
    fine = periodic_noise(size, 48.0, seed + 1)
    return _to_u8(_mix((62, 104, 40), (118, 156, 66), 0.6 * broad + 0.4 * fine))
