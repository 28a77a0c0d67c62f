"""The CPU fast path: tile compositing (forward + hand-written backward) in a tiny C++ kernel.

Why: compositing is a sequential loop per pixel with early exit, which vectorised torch can only
express with padded (tile, pixel, list) tensors — memory-bound and several times slower. Here a
tile is processed *splat-major*: each splat of the tile's depth-sorted list visits only the pixels
of its own culling box (where its alpha can reach 1/255) that have not terminated yet, so every
pixel sees exactly the front-to-back sequence of the per-pixel loop of the CUDA rasterisers, but a
small splat costs its footprint instead of the whole 16×16 tile; ``exp`` is skipped when ``power``
is below ``log(alpha_min / opacity)``. Tiles are spread over ``torch.get_num_threads()``
std::threads, heaviest first.

The maths is :mod:`inhabit.render.splat_torch`'s (same skip, clamp and termination rules); the
tests compare the two on random scenes and compare the backward against torch autograd and finite
differences (float64 entry points exist for that). Backward walks the list back to front (again
splat-major, each pixel starting from its last composited splat), recovering ``T_i = T_{i+1} / (1 - α_i)`` (α ≤ 0.99 keeps this
well conditioned) and carrying the colour "behind" each splat, background included::

    dC/dα_i = T_i (f_i - R_i),   R_last = bg,   R_{i-1} = α_i f_i + (1 - α_i) R_i
    dA/dα_i = T_i Π_{k>i} (1 - α_k)

Each splat's gradient is accumulated over its pixels locally and written once per (tile, splat)
pair, without contention (a pair belongs to one tile), then summed per Gaussian.

The source is compiled once with the system C++ compiler (``$CXX``, else ``c++``/``g++``/``clang++``)
into ``<inhabit cache>/splat_native/`` (about 2 s), keyed by a hash of source and flags; the
file is built to a temporary name and renamed, so concurrent first uses are safe. Set
``INHABIT_SPLAT_NATIVE=0`` to disable it. No torch headers are needed: the library is called
through ``ctypes`` with raw pointers of contiguous tensors.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import torch

from inhabit.render.splat_tiles import TileBins

_SOURCE = r"""
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

template <typename S>
struct Args {
  int64_t C, W, H, tile, tiles_x, tiles_y;
  const S *means2d, *conics, *opac, *feats, *bg, *extent;
  const int32_t *offsets, *ids;
  S alpha_min, alpha_max, T_min;
};

template <typename F>
void for_each_tile(int64_t n_tiles, int64_t n_threads, const int32_t* order, F fn) {
  std::atomic<int64_t> next(0);
  auto worker = [&]() {
    for (;;) {
      int64_t i = next.fetch_add(1);
      if (i >= n_tiles) break;
      fn(order[i]);
    }
  };
  n_threads = std::max<int64_t>(1, std::min<int64_t>(n_threads, n_tiles));
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < n_threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}

// A tile and the splats listed for it, copied contiguously: per splat mx, my, a, b, c, opacity,
// log(alpha_min/opacity) - margin, and the pixel rectangle [px0, px1] x [py0, py1] (inclusive) of
// the tile where its alpha can reach alpha_min (its culling box, widened by one pixel for rounding).
template <typename S>
struct Tile {
  int64_t x0, y0, x1, y1, TW, NP, start, L;
  std::vector<S> g, f;
  std::vector<int32_t> rect;

  void load(const Args<S>& a, int64_t t) {
    const int64_t tx = t % a.tiles_x, ty = t / a.tiles_x;
    x0 = tx * a.tile; y0 = ty * a.tile;
    x1 = std::min(x0 + a.tile, a.W); y1 = std::min(y0 + a.tile, a.H);
    TW = x1 - x0; NP = TW * (y1 - y0);
    start = a.offsets[t]; L = a.offsets[t + 1] - start;
    g.resize(L * 7); f.resize(L * a.C); rect.resize(L * 4);
    for (int64_t k = 0; k < L; ++k) {
      const int64_t id = a.ids[start + k];
      S* gk = &g[k * 7];
      gk[0] = a.means2d[2 * id];
      gk[1] = a.means2d[2 * id + 1];
      gk[2] = a.conics[3 * id];
      gk[3] = a.conics[3 * id + 1];
      gk[4] = a.conics[3 * id + 2];
      gk[5] = a.opac[id];
      // Below this power, opacity * exp(power) < alpha_min for sure: skip without exp.
      gk[6] = std::log(a.alpha_min / gk[5]) - S(1e-3);
      for (int64_t c = 0; c < a.C; ++c) f[k * a.C + c] = a.feats[id * a.C + c];
      // Pixel centres j + 0.5 within extent + 1 px of the mean.
      const S ex = a.extent[2 * id] + S(1), ey = a.extent[2 * id + 1] + S(1);
      int32_t* r = &rect[k * 4];
      r[0] = int32_t(std::max<S>(S(x0), std::ceil(gk[0] - ex - S(0.5))));
      r[1] = int32_t(std::min<S>(S(x1 - 1), std::floor(gk[0] + ex - S(0.5))));
      r[2] = int32_t(std::max<S>(S(y0), std::ceil(gk[1] - ey - S(0.5))));
      r[3] = int32_t(std::min<S>(S(y1 - 1), std::floor(gk[1] + ey - S(0.5))));
    }
  }
};

// Forward, splat-major inside a tile: splat k visits only the pixels of its rectangle that are not
// done yet, in front-to-back order, so each pixel sees exactly the sequence of the per-pixel loop.
template <typename S>
void forward(const Args<S>& a, const int32_t* order, int64_t n_threads, S* out, S* T_out, int32_t* last_out) {
  const int64_t n_tiles = a.tiles_x * a.tiles_y;
  for_each_tile(n_tiles, n_threads, order, [&](int64_t t) {
    thread_local Tile<S> tl;
    thread_local std::vector<S> T, acc;
    thread_local std::vector<int32_t> last;
    thread_local std::vector<uint8_t> done;
    tl.load(a, t);
    const int64_t C = a.C;
    T.assign(tl.NP, S(1)); acc.assign(tl.NP * C, S(0)); last.assign(tl.NP, 0); done.assign(tl.NP, 0);
    int64_t n_done = 0;
    for (int64_t k = 0; k < tl.L && n_done < tl.NP; ++k) {
      const S* gk = &tl.g[k * 7];
      const int32_t* r = &tl.rect[k * 4];
      const S* fk = &tl.f[k * C];
      for (int64_t y = r[2]; y <= r[3]; ++y) {
        const S dy = gk[1] - (S(y) + S(0.5));
        for (int64_t x = r[0]; x <= r[1]; ++x) {
          const int64_t i = (y - tl.y0) * tl.TW + (x - tl.x0);
          if (done[i]) continue;
          const S dx = gk[0] - (S(x) + S(0.5));
          const S power = S(-0.5) * (gk[2] * dx * dx + gk[4] * dy * dy) - gk[3] * dx * dy;
          if (power > 0 || power < gk[6]) continue;
          const S alpha = std::min(a.alpha_max, gk[5] * std::exp(power));
          if (alpha < a.alpha_min) continue;
          const S Tn = T[i] * (S(1) - alpha);
          if (Tn < a.T_min) { done[i] = 1; ++n_done; continue; }
          const S w = alpha * T[i];
          for (int64_t c = 0; c < C; ++c) acc[i * C + c] += w * fk[c];
          T[i] = Tn;
          last[i] = int32_t(k + 1);
        }
      }
    }
    for (int64_t y = tl.y0; y < tl.y1; ++y) {
      for (int64_t x = tl.x0; x < tl.x1; ++x) {
        const int64_t i = (y - tl.y0) * tl.TW + (x - tl.x0), pix = y * a.W + x;
        for (int64_t c = 0; c < C; ++c) out[pix * C + c] = acc[i * C + c] + T[i] * a.bg[c];
        T_out[pix] = T[i];
        last_out[pix] = int32_t(tl.start + last[i]);
      }
    }
  });
}

// Backward, splat-major from back to front: per pixel, T starts at T_final and is divided back by
// (1 - alpha) at each composited splat; R carries the colour behind the splat (background included)
// and P the product of (1 - alpha) behind it. Pair gradient layout: [mx, my, a, b, c, opacity, feats...].
template <typename S>
void backward(const Args<S>& a, const int32_t* order, int64_t n_threads, const S* T_final, const int32_t* last_in,
              const S* grad_out, const S* grad_alpha, S* pair_grad) {
  const int64_t n_tiles = a.tiles_x * a.tiles_y;
  const int64_t C = a.C, G = 6 + C;
  for_each_tile(n_tiles, n_threads, order, [&](int64_t t) {
    thread_local Tile<S> tl;
    thread_local std::vector<S> T, R, P, Gp, GA, gl;
    thread_local std::vector<int32_t> last;
    if (a.offsets[t + 1] == a.offsets[t]) return;
    tl.load(a, t);
    T.resize(tl.NP); P.assign(tl.NP, S(1)); R.resize(tl.NP * C); Gp.resize(tl.NP * C); GA.resize(tl.NP);
    last.resize(tl.NP);
    gl.resize(G);
    int64_t max_last = 0;
    for (int64_t y = tl.y0; y < tl.y1; ++y) {
      for (int64_t x = tl.x0; x < tl.x1; ++x) {
        const int64_t i = (y - tl.y0) * tl.TW + (x - tl.x0), pix = y * a.W + x;
        T[i] = T_final[pix];
        last[i] = int32_t(int64_t(last_in[pix]) - tl.start);
        max_last = std::max<int64_t>(max_last, last[i]);
        GA[i] = grad_alpha[pix];
        for (int64_t c = 0; c < C; ++c) { R[i * C + c] = a.bg[c]; Gp[i * C + c] = grad_out[pix * C + c]; }
      }
    }
    for (int64_t k = max_last - 1; k >= 0; --k) {
      const S* gk = &tl.g[k * 7];
      const int32_t* r = &tl.rect[k * 4];
      const S* fk = &tl.f[k * C];
      std::fill(gl.begin(), gl.end(), S(0));
      for (int64_t y = r[2]; y <= r[3]; ++y) {
        const S dy = gk[1] - (S(y) + S(0.5));
        for (int64_t x = r[0]; x <= r[1]; ++x) {
          const int64_t i = (y - tl.y0) * tl.TW + (x - tl.x0);
          if (k >= last[i]) continue;
          const S dx = gk[0] - (S(x) + S(0.5));
          const S power = S(-0.5) * (gk[2] * dx * dx + gk[4] * dy * dy) - gk[3] * dx * dy;
          if (power > 0 || power < gk[6]) continue;
          const S e = std::exp(power);
          const S raw = gk[5] * e;
          const S alpha = std::min(a.alpha_max, raw);
          if (alpha < a.alpha_min) continue;
          const S om = S(1) - alpha;
          const S Ti = T[i] / om;  // transmittance in front of splat k
          T[i] = Ti;
          const S w = alpha * Ti;
          S dL_dalpha = 0;
          S* Ri = &R[i * C];
          const S* Gi = &Gp[i * C];
          for (int64_t c = 0; c < C; ++c) {
            gl[6 + c] += w * Gi[c];
            dL_dalpha += (fk[c] - Ri[c]) * Gi[c];
            Ri[c] = alpha * fk[c] + om * Ri[c];
          }
          dL_dalpha = Ti * dL_dalpha + GA[i] * Ti * P[i];
          P[i] *= om;
          if (raw <= a.alpha_max) {  // the clamp passes the gradient only where it does not bite
            gl[5] += e * dL_dalpha;
            const S dp = dL_dalpha * alpha;
            gl[0] += -dp * (gk[2] * dx + gk[3] * dy);
            gl[1] += -dp * (gk[3] * dx + gk[4] * dy);
            gl[2] += S(-0.5) * dp * dx * dx;
            gl[3] += -dp * dx * dy;
            gl[4] += S(-0.5) * dp * dy * dy;
          }
        }
      }
      std::copy(gl.begin(), gl.end(), pair_grad + (tl.start + k) * G);
    }
  });
}

template <typename S>
void reduce_pairs(const Args<S>& a, int64_t n_pairs, const S* pair_grad, S* g_means2d, S* g_conics, S* g_opac,
                  S* g_feats) {
  const int64_t G = 6 + a.C;
  for (int64_t p = 0; p < n_pairs; ++p) {
    const int64_t id = a.ids[p];
    const S* v = pair_grad + p * G;
    g_means2d[2 * id] += v[0];
    g_means2d[2 * id + 1] += v[1];
    g_conics[3 * id] += v[2];
    g_conics[3 * id + 1] += v[3];
    g_conics[3 * id + 2] += v[4];
    g_opac[id] += v[5];
    for (int64_t c = 0; c < a.C; ++c) g_feats[id * a.C + c] += v[6 + c];
  }
}

template <typename S>
Args<S> make_args(int64_t C, int64_t W, int64_t H, int64_t tile, const void* means2d, const void* conics,
                  const void* opac, const void* feats, const void* bg, const void* extent, const int32_t* offsets,
                  const int32_t* ids, double alpha_min, double alpha_max, double T_min) {
  Args<S> a;
  a.C = C; a.W = W; a.H = H; a.tile = tile;
  a.tiles_x = (W + tile - 1) / tile; a.tiles_y = (H + tile - 1) / tile;
  a.means2d = static_cast<const S*>(means2d); a.conics = static_cast<const S*>(conics);
  a.opac = static_cast<const S*>(opac); a.feats = static_cast<const S*>(feats); a.bg = static_cast<const S*>(bg);
  a.extent = static_cast<const S*>(extent);
  a.offsets = offsets; a.ids = ids;
  a.alpha_min = S(alpha_min); a.alpha_max = S(alpha_max); a.T_min = S(T_min);
  return a;
}

}  // namespace

#define INHABIT_ENTRY(SUFFIX, S)                                                                          \
  extern "C" int inhabit_splat_forward_##SUFFIX(                                                          \
      int64_t C, int64_t W, int64_t H, int64_t tile, const void* means2d, const void* conics,             \
      const void* opac, const void* feats, const void* bg, const void* extent, const int32_t* offsets,    \
      const int32_t* ids, const int32_t* order, double alpha_min, double alpha_max, double T_min,         \
      int64_t n_threads, void* out, void* T_out, int32_t* last_out) {                                     \
    auto a = make_args<S>(C, W, H, tile, means2d, conics, opac, feats, bg, extent, offsets, ids,          \
                          alpha_min, alpha_max, T_min);                                                   \
    forward<S>(a, order, n_threads, static_cast<S*>(out), static_cast<S*>(T_out), last_out);              \
    return 0;                                                                                             \
  }                                                                                                       \
  extern "C" int inhabit_splat_backward_##SUFFIX(                                                         \
      int64_t C, int64_t W, int64_t H, int64_t tile, const void* means2d, const void* conics,             \
      const void* opac, const void* feats, const void* bg, const void* extent, const int32_t* offsets,    \
      const int32_t* ids, const int32_t* order, double alpha_min, double alpha_max, double T_min,         \
      int64_t n_threads, const void* T_final, const int32_t* last, const void* grad_out,                  \
      const void* grad_alpha, int64_t n_pairs, void* g_means2d, void* g_conics, void* g_opac,             \
      void* g_feats) {                                                                                    \
    auto a = make_args<S>(C, W, H, tile, means2d, conics, opac, feats, bg, extent, offsets, ids,          \
                          alpha_min, alpha_max, T_min);                                                   \
    std::vector<S> pair_grad(size_t(n_pairs) * size_t(6 + C), S(0));                                      \
    backward<S>(a, order, n_threads, static_cast<const S*>(T_final), last, static_cast<const S*>(grad_out), \
                static_cast<const S*>(grad_alpha), pair_grad.data());                                     \
    reduce_pairs<S>(a, n_pairs, pair_grad.data(), static_cast<S*>(g_means2d), static_cast<S*>(g_conics),  \
                    static_cast<S*>(g_opac), static_cast<S*>(g_feats));                                   \
    return 0;                                                                                             \
  }

INHABIT_ENTRY(f32, float)
INHABIT_ENTRY(f64, double)

extern "C" int inhabit_splat_abi_version() { return 2; }
"""

_FLAGS = ["-O3", "-std=c++17", "-shared", "-fPIC", "-pthread", "-fno-math-errno"]
_LOCK = threading.Lock()
_LIB: ctypes.CDLL | None = None


class NativeUnavailable(RuntimeError):
    """The native kernel cannot be built or loaded here (no compiler, disabled, build error)."""


def _compiler() -> str | None:
    env = os.environ.get("CXX")
    if env:
        return env
    for name in ("c++", "g++", "clang++"):
        path = shutil.which(name)
        if path:
            return path
    return None


def library_path() -> Path:
    """Where the compiled kernel lives (it may not exist yet)."""
    import platform

    from inhabit.paths import cache_dir

    key = hashlib.sha256((_SOURCE + " ".join(_FLAGS) + platform.machine()).encode()).hexdigest()[:16]
    return cache_dir() / "splat_native" / f"libinhabit_splat_{key}.so"


def build_library(verbose: bool = False) -> Path:
    """Compile the kernel if it is not in the cache yet; returns the shared library's path."""
    so = library_path()
    if so.exists():
        return so
    cxx = _compiler()
    if cxx is None:
        raise NativeUnavailable("no C++ compiler found for the native splat kernel (install g++ or clang++, "
                                "or set $CXX); the pure-torch splatter works without it")
    so.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=so.parent) as tmp:
        src = Path(tmp) / "splat.cpp"
        src.write_text(_SOURCE)
        out = Path(tmp) / so.name
        cmd = [cxx, *_FLAGS, str(src), "-o", str(out)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise NativeUnavailable(f"building the native splat kernel with {cxx} failed: {res.stderr.strip()[:2000]}")
        if verbose and res.stderr:
            print(res.stderr)
        os.replace(out, so)
    return so


def load_library() -> ctypes.CDLL:
    """Build (first use) and load the kernel; raises :class:`NativeUnavailable`."""
    global _LIB
    if _LIB is not None:
        return _LIB
    if os.environ.get("INHABIT_SPLAT_NATIVE", "1") in ("0", "false", "no"):
        raise NativeUnavailable("the native splat kernel is disabled by INHABIT_SPLAT_NATIVE=0")
    with _LOCK:
        if _LIB is None:
            so = build_library()
            try:
                lib = ctypes.CDLL(str(so))
            except OSError as e:
                raise NativeUnavailable(f"could not load the native splat kernel {so}: {e}") from None
            i64, dbl, ptr = ctypes.c_int64, ctypes.c_double, ctypes.c_void_p
            for sfx in ("f32", "f64"):
                fwd = getattr(lib, f"inhabit_splat_forward_{sfx}")
                fwd.argtypes = [i64] * 4 + [ptr] * 9 + [dbl] * 3 + [i64] + [ptr] * 3
                fwd.restype = ctypes.c_int
                bwd = getattr(lib, f"inhabit_splat_backward_{sfx}")
                bwd.argtypes = [i64] * 4 + [ptr] * 9 + [dbl] * 3 + [i64] + [ptr] * 4 + [i64] + [ptr] * 4
                bwd.restype = ctypes.c_int
            _LIB = lib
    return _LIB


def _p(t: torch.Tensor) -> ctypes.c_void_p:
    return ctypes.c_void_p(t.data_ptr())


class _CompositeNative(torch.autograd.Function):
    @staticmethod
    def forward(ctx, means2d, conics, opacities, feats, background, extent, offsets, ids, order, width, height, tile,
                alpha_min, alpha_max, T_min, n_threads):
        lib = load_library()
        dt = means2d.dtype
        sfx = "f64" if dt == torch.float64 else "f32"
        m, c, o, f, bg, ext = (t.detach().contiguous() for t in (means2d, conics, opacities, feats, background, extent))
        C = f.shape[1]
        out = torch.empty(height, width, C, dtype=dt)
        T = torch.empty(height, width, dtype=dt)
        last = torch.empty(height, width, dtype=torch.int32)
        getattr(lib, f"inhabit_splat_forward_{sfx}")(
            C, width, height, tile, _p(m), _p(c), _p(o), _p(f), _p(bg), _p(ext), _p(offsets), _p(ids), _p(order),
            alpha_min, alpha_max, T_min, n_threads, _p(out), _p(T), _p(last))
        ctx.save_for_backward(m, c, o, f, bg, ext, offsets, ids, order, T, last)
        ctx.cfg = (width, height, tile, alpha_min, alpha_max, T_min, n_threads)
        return out, 1.0 - T

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out, grad_alpha):
        lib = load_library()
        m, c, o, f, bg, ext, offsets, ids, order, T, last = ctx.saved_tensors
        width, height, tile, alpha_min, alpha_max, T_min, n_threads = ctx.cfg
        dt = m.dtype
        sfx = "f64" if dt == torch.float64 else "f32"
        C = f.shape[1]
        go = torch.zeros(height, width, C, dtype=dt) if grad_out is None else grad_out.to(dt).contiguous()
        ga = torch.zeros(height, width, dtype=dt) if grad_alpha is None else grad_alpha.to(dt).contiguous()
        gm, gc, gop, gf = torch.zeros_like(m), torch.zeros_like(c), torch.zeros_like(o), torch.zeros_like(f)
        getattr(lib, f"inhabit_splat_backward_{sfx}")(
            C, width, height, tile, _p(m), _p(c), _p(o), _p(f), _p(bg), _p(ext), _p(offsets), _p(ids), _p(order),
            alpha_min, alpha_max, T_min, n_threads, _p(T), _p(last), _p(go), _p(ga), int(ids.shape[0]),
            _p(gm), _p(gc), _p(gop), _p(gf))
        g_bg = (T[..., None] * go).sum(dim=(0, 1)) if ctx.needs_input_grad[4] else None
        return gm, gc, gop, gf, g_bg, None, None, None, None, None, None, None, None, None, None, None


def composite_tiles_native(
    means2d: torch.Tensor,
    conics: torch.Tensor,
    opacities: torch.Tensor,
    feats: torch.Tensor,
    background: torch.Tensor,
    bins: TileBins,
    width: int,
    height: int,
    alpha_min: float = 1.0 / 255.0,
    alpha_max: float = 0.99,
    T_min: float = 1e-4,
    num_threads: int | None = None,
    extent: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Same contract as :func:`inhabit.render.splat_torch.composite_tiles` (CPU, float32/float64).

    Args:
        means2d: (M, 2); conics: (M, 3); opacities: (M,); feats: (M, C); background: (C,).
        bins: tile lists. num_threads: default ``torch.get_num_threads()``.
        extent: (M, 2) half-widths (px) of each splat's box where alpha can reach ``alpha_min``
            (:class:`~inhabit.render.splat_project.Projected`'s ``extent``): a splat only visits
            the pixels of its box, which is exact and much cheaper for small splats. Default: the
            whole tile.

    Returns:
        image (H, W, C), alpha (H, W), differentiable through the hand-written backward.
    """
    dt = means2d.dtype
    if dt not in (torch.float32, torch.float64):
        raise TypeError(f"native splatting needs float32 or float64 tensors, got {dt}")
    if any(t.device.type != "cpu" for t in (means2d, conics, opacities, feats, background)):
        raise TypeError("native splatting needs CPU tensors")
    tensors = [t.to(dt) for t in (means2d, conics, opacities, feats, background)]
    if extent is None:
        extent = torch.full((means2d.shape[0], 2), float(width + height), dtype=dt)
    order = torch.argsort(bins.counts(), descending=True, stable=True).to(torch.int32).contiguous()
    n_threads = int(num_threads or torch.get_num_threads())
    return _CompositeNative.apply(*tensors, extent.detach().to(dt), bins.offsets.contiguous(), bins.ids.contiguous(),
                                  order, int(width), int(height), int(bins.tile), float(alpha_min), float(alpha_max),
                                  float(T_min), n_threads)
