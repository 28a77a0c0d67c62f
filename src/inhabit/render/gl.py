"""moderngl backend on a headless EGL context (no display, no window).

One context per process, created on first use; every :class:`~inhabit.render.mesh.PreparedPart`
is uploaded once (vertex/index buffers, texture with mipmaps) and its GPU objects are released
when the part is garbage-collected.

Projection: the OpenCV ``K`` becomes an OpenGL projection (:func:`opengl_projection`); the image
is read back bottom-up and flipped, so row 0 is the top of the picture as in OpenCV. Linear depth
is not recovered from the depth buffer but written by the shader as the interpolated camera-frame
z (exact for planar triangles up to float32 rounding), and face ids as ``gl_PrimitiveID`` + offset.

The GLSL here mirrors :mod:`inhabit.render.shading` (the numpy reference used by ray casting).
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from inhabit.camera.pinhole import Camera
from inhabit.conventions import T_gl_cv
from inhabit.render.mesh import Backend, PreparedPart, RenderSettings


def opengl_projection(K: np.ndarray, width: int, height: int, near: float, far: float) -> np.ndarray:
    """4x4 OpenGL projection (camera looks down −z, y up) equivalent to the OpenCV intrinsics ``K``.

    A point at OpenCV pixel (u, v) — origin at the top-left pixel's *corner* — lands at
    NDC x = 2u/W − 1 and y = 1 − 2v/H, so after flipping the read-back rows the pixel grids agree
    exactly (GL samples at pixel centres, j + 0.5). Handles off-centre principal points and skew.

    Args:
        K: (3, 3) intrinsics; width, height: image size; near, far: clip distances (> 0).
    """
    fx, s, cx = K[0, 0], K[0, 1], K[0, 2]
    fy, cy = K[1, 1], K[1, 2]
    W, H = float(width), float(height)
    return np.array(
        [
            [2 * fx / W, -2 * s / W, 1 - 2 * cx / W, 0.0],
            [0.0, 2 * fy / H, 2 * cy / H - 1, 0.0],
            [0.0, 0.0, -(far + near) / (far - near), -2 * far * near / (far - near)],
            [0.0, 0.0, -1.0, 0.0],
        ]
    )


_VS_FULL = """
#version 330
uniform mat4 mvp;
uniform vec4 cam_z_row;          // third row of T_cam_world: camera-frame z of a world point
in vec3 in_pos; in vec3 in_normal; in vec4 in_color; in vec2 in_uv;
out vec3 v_world; out vec3 v_normal; out vec4 v_color; out vec2 v_uv; out float v_z;
void main() {
    vec4 w = vec4(in_pos, 1.0);
    gl_Position = mvp * w;
    v_world = in_pos; v_normal = in_normal; v_color = in_color; v_uv = in_uv;
    v_z = dot(cam_z_row, w);
}
"""

_FS_FULL = """
#version 330
uniform vec3 eye; uniform vec3 forward;
uniform float ambient; uniform float headlight; uniform float alpha_cutoff;
uniform bool flat_shading; uniform bool use_texture; uniform sampler2D tex;
uniform int face_offset;
in vec3 v_world; in vec3 v_normal; in vec4 v_color; in vec2 v_uv; in float v_z;
layout(location = 0) out vec4 out_color;
layout(location = 1) out int out_id;
#ifdef WRITE_DEPTH
layout(location = 2) out float out_depth;
#endif
#ifdef WRITE_NORMAL
layout(location = NORMAL_LOCATION) out vec4 out_normal;
#endif
void main() {
    vec4 albedo = v_color;
    if (use_texture) albedo *= texture(tex, v_uv);
    if (albedo.a < alpha_cutoff) discard;
    vec3 n = cross(dFdx(v_world), dFdy(v_world));          // the triangle's plane
    if (!flat_shading && dot(v_normal, v_normal) > 1e-12) n = v_normal;
    n = (dot(n, n) > 0.0) ? normalize(n) : -forward;
    if (dot(n, eye - v_world) < 0.0) n = -n;                // two-sided: face the camera
    vec3 c = albedo.rgb * (ambient + headlight * abs(dot(n, forward)));
    out_color = vec4(c, 1.0);
    out_id = gl_PrimitiveID + face_offset + 1;               // 0 = nothing hit
#ifdef WRITE_DEPTH
    out_depth = v_z;
#endif
#ifdef WRITE_NORMAL
    out_normal = vec4(n, 0.0);
#endif
}
"""


def _variant_source(depth: bool, normal: bool) -> str:
    """The shading fragment shader writing colour + id, and depth / normal when asked (every
    extra render target costs llvmpipe time per fragment, so passes not asked for are not written)."""
    defs = []
    if depth:
        defs.append("#define WRITE_DEPTH")
    if normal:
        defs.append("#define WRITE_NORMAL")
        defs.append(f"#define NORMAL_LOCATION {3 if depth else 2}")
    head, rest = _FS_FULL.split("\n", 2)[1], _FS_FULL.split("\n", 2)[2]
    return "\n".join([head, *defs, rest])


_VS_GEO = """
#version 330
uniform mat4 mvp;
uniform vec4 cam_z_row;
in vec3 in_pos;
out float v_z;
void main() { vec4 w = vec4(in_pos, 1.0); gl_Position = mvp * w; v_z = dot(cam_z_row, w); }
"""

_FS_GEO = """
#version 330
uniform int face_offset;
in float v_z;
layout(location = 0) out int out_id;
layout(location = 1) out float out_depth;
void main() { out_id = gl_PrimitiveID + face_offset + 1; out_depth = v_z; }
"""


class _PartGL:
    """GPU objects of one prepared part."""

    def __init__(self) -> None:
        self.objects: list = []
        self.vbo_full = None
        self.ibo_full = None
        self.vao_full: dict = {}
        self.vao_geo = None
        self.texture = None

    def release(self) -> None:
        for o in self.objects:
            try:
                o.release()
            except Exception:  # context already gone at interpreter exit
                pass
        self.objects.clear()


class GLBackend(Backend):
    """Rasterise with moderngl on EGL. Creating it creates the process's GL context."""

    name = "gl"

    def __init__(self) -> None:
        import moderngl

        self._mgl = moderngl
        self.ctx = moderngl.create_standalone_context(backend="egl")
        self.info = {k: str(v) for k, v in self.ctx.info.items() if k in ("GL_RENDERER", "GL_VERSION", "GL_VENDOR")}
        self.prog_full = {(d, n): self.ctx.program(vertex_shader=_VS_FULL, fragment_shader=_variant_source(d, n))
                          for d in (False, True) for n in (False, True)}
        # Geometry passes only (ids, depth): positions only, no shading, no per-corner normals.
        self.prog_geo = self.ctx.program(vertex_shader=_VS_GEO, fragment_shader=_FS_GEO)
        self.white = self.ctx.texture((1, 1), 4, np.full(4, 255, np.uint8).tobytes())
        self._fbos: dict = {}
        self._parts: dict[int, tuple[weakref.ref, _PartGL]] = {}
        self._lock = threading.RLock()

    # -- resources --------------------------------------------------------------------------------

    def _fbo(self, W: int, H: int, kind: str):
        key = (W, H, kind)
        fbo = self._fbos.get(key)
        if fbo is None:
            ctx = self.ctx
            if len(self._fbos) >= 8:  # a few sizes in flight at most; free the oldest
                old_key = next(iter(self._fbos))
                old = self._fbos.pop(old_key)
                for a in [*old.color_attachments, old.depth_attachment]:
                    a.release()
                old.release()
            ids = ctx.renderbuffer((W, H), components=1, dtype="i4")
            depth = ctx.renderbuffer((W, H), components=1, dtype="f4")
            if kind == "geo":
                atts = [ids, depth]
            else:  # ("shade", depth, normal): colour, id, then the optional targets in order
                atts = [ctx.renderbuffer((W, H), components=4, dtype="f1"), ids]
                if kind[1]:
                    atts.append(depth)
                else:
                    depth.release()
                if kind[2]:
                    atts.append(ctx.renderbuffer((W, H), components=4, dtype="f2"))
            fbo = ctx.framebuffer(color_attachments=atts, depth_attachment=ctx.depth_renderbuffer((W, H)))
            self._fbos[key] = fbo
        return fbo

    def _upload(self, part: PreparedPart, full: tuple[bool, bool] | None) -> _PartGL:
        """GPU objects of ``part``; ``full`` = the shading variant (depth, normal) or None for geometry."""
        pid = id(part)
        hit = self._parts.get(pid)
        if hit is not None and hit[0]() is part:
            g = hit[1]
        else:
            g = _PartGL()
            self._parts[pid] = (weakref.ref(part), g)
            weakref.finalize(part, self._forget, pid, g)
        ctx = self.ctx
        if full is not None and g.vbo_full is None:
            s_v, s_f, s_n, s_c, s_uv = part.split()
            uv = s_uv if s_uv is not None else np.zeros((len(s_v), 2), np.float32)
            data = np.concatenate([s_v, s_n, s_c, uv], axis=1).astype(np.float32)
            g.vbo_full = ctx.buffer(np.ascontiguousarray(data).tobytes())
            g.ibo_full = ctx.buffer(np.ascontiguousarray(s_f, np.int32).tobytes())
            g.objects += [g.vbo_full, g.ibo_full]
            if part.texture is not None:
                t = part.texture[::-1]  # OpenGL's first texture row is v = 0 (the image's bottom)
                tex = ctx.texture((t.shape[1], t.shape[0]), 4, np.ascontiguousarray(t).tobytes())
                tex.build_mipmaps()
                tex.filter = (self._mgl.LINEAR_MIPMAP_LINEAR, self._mgl.LINEAR)
                tex.repeat_x = tex.repeat_y = True
                g.texture = tex
                g.objects.append(tex)
        if full is not None and full not in g.vao_full:
            vao = ctx.vertex_array(self.prog_full[full], [(g.vbo_full, "3f 3f 4f 2f", "in_pos", "in_normal",
                                                           "in_color", "in_uv")],
                                   index_buffer=g.ibo_full, index_element_size=4)
            g.vao_full[full] = vao
            g.objects.append(vao)
        if full is None and g.vao_geo is None:
            vbo = ctx.buffer(part.vertices.tobytes())
            ibo = ctx.buffer(part.faces.tobytes())
            g.vao_geo = ctx.vertex_array(self.prog_geo, [(vbo, "3f", "in_pos")], index_buffer=ibo,
                                         index_element_size=4)
            g.objects += [vbo, ibo, g.vao_geo]
        return g

    def _forget(self, pid: int, g: _PartGL) -> None:
        with self._lock:
            cur = self._parts.get(pid)
            if cur is not None and cur[1] is g:
                del self._parts[pid]
        g.release()

    # -- drawing ----------------------------------------------------------------------------------

    def render(self, camera: Camera, groups, offsets, passes, settings: RenderSettings, near: float, far: float):
        mgl = self._mgl
        W, H = camera.width, camera.height
        parts = [p for g in groups for p in g]
        offs = [o for os_ in offsets for o in os_]
        geometry_only = not (set(passes) & {"rgb", "normal"})
        # Parts with alpha holes need the texture even for ids: they go through a shading program.
        shade = not geometry_only or any(not p.opaque for p in parts)
        variant = ("depth" in passes, "normal" in passes) if shade else None
        mvp = opengl_projection(camera.K, W, H, near, far) @ T_gl_cv @ camera.T_cam_world
        with self._lock:
            ctx = self.ctx
            fbo = self._fbo(W, H, ("shade", *variant) if shade else "geo")
            fbo.use()
            ctx.viewport = (0, 0, W, H)
            ctx.enable(mgl.DEPTH_TEST)
            ctx.disable(mgl.CULL_FACE)
            fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
            mvp32 = np.ascontiguousarray(mvp.T, np.float32).tobytes()  # GLSL matrices are column-major
            z_row = camera.T_cam_world[2].astype(np.float32).tobytes()
            prog = self.prog_full[variant] if shade else self.prog_geo
            prog["mvp"].write(mvp32)
            if "cam_z_row" in prog:
                prog["cam_z_row"].write(z_row)
            if shade:
                prog["eye"].value = tuple(float(x) for x in camera.center)
                prog["forward"].value = tuple(float(x) for x in camera.forward)
                prog["ambient"].value = float(settings.ambient)
                prog["headlight"].value = float(settings.headlight)
                prog["alpha_cutoff"].value = -1.0 if settings.alpha_cutoff is None else float(settings.alpha_cutoff)
                prog["flat_shading"].value = bool(settings.flat_shading)
                prog["tex"].value = 0
            for p, o in zip(parts, offs):
                if p.num_faces == 0:
                    continue
                g = self._upload(p, variant)
                prog["face_offset"].value = int(o)
                if shade:
                    prog["use_texture"].value = g.texture is not None
                    (g.texture or self.white).use(0)
                    g.vao_full[variant].render(mgl.TRIANGLES)
                else:
                    g.vao_geo.render(mgl.TRIANGLES)
            # attachment indices: geo = [id, depth]; shade = [colour, id, depth?, normal?]
            a_id = 1 if shade else 0
            a_depth = 2 if shade else 1
            a_normal = 2 + int(variant[0]) if shade and variant[1] else None
            out = {}
            fid = np.frombuffer(fbo.read(attachment=a_id, components=1, dtype="i4"), np.int32)
            out["face_id"] = fid.reshape(H, W)[::-1] - 1
            if "rgb" in passes:
                c = np.frombuffer(fbo.read(attachment=0, components=3, dtype="f1"), np.uint8).reshape(H, W, 3)
                out["rgb"] = c[::-1].copy()  # uint8, as the colour buffer holds it
            if "depth" in passes:
                z = np.frombuffer(fbo.read(attachment=a_depth, components=1, dtype="f4"),
                                  np.float32).reshape(H, W)[::-1]
                out["depth"] = np.where(out["face_id"] >= 0, z, np.float32(np.inf))
            if "normal" in passes:
                n = np.frombuffer(fbo.read(attachment=a_normal, components=3, dtype="f2"),
                                  np.float16).reshape(H, W, 3)[::-1]
                out["normal"] = np.where((out["face_id"] >= 0)[..., None], n.astype(np.float32), 0.0)
        return out
