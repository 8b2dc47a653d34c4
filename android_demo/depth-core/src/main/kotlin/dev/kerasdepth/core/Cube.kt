package dev.kerasdepth.core

import kotlin.math.cos
import kotlin.math.max
import kotlin.math.min
import kotlin.math.sin
import kotlin.math.tan

/** Pinhole intrinsics in pixels; camera axes x right, y down, z forward (z is the depth the model predicts). */
data class Intrinsics(val fx: Double, val fy: Double, val cx: Double, val cy: Double) {
    companion object {
        /** Square pixels, principal point at the centre: good enough for placing a virtual object. */
        fun fromHorizontalFov(width: Int, height: Int, hfovDegrees: Double): Intrinsics {
            require(width > 0 && height > 0) { "image size must be positive, got ${width}x$height" }
            require(hfovDegrees > 0 && hfovDegrees < 180) { "horizontal FOV must be in (0, 180) degrees, got $hfovDegrees" }
            val f = (width / 2.0) / tan(Math.toRadians(hfovDegrees) / 2)
            return Intrinsics(f, f, width / 2.0, height / 2.0)
        }
    }
}

/** An axis-aligned cube (turned by [yawDegrees] about the vertical axis) centred at ([x], [y], [z]) metres. */
data class Cube(val x: Double, val y: Double, val z: Double, val size: Double, val yawDegrees: Double = 0.0, val color: Int = 0xFF2E9BFF.toInt()) {
    init { require(size > 0) { "cube size must be positive, got $size" } }
}

object CubeRenderer {
    // Faces as vertex indices, counter-clockwise seen from outside; vertex i has bits (x, y, z) = (i&1, i&2, i&4).
    private val FACES = arrayOf(
        intArrayOf(0, 1, 3, 2), // z- (front, facing the camera at yaw 0)
        intArrayOf(4, 6, 7, 5), // z+
        intArrayOf(0, 2, 6, 4), // x-
        intArrayOf(1, 5, 7, 3), // x+
        intArrayOf(0, 4, 5, 1), // y- (top: y points down)
        intArrayOf(2, 3, 7, 6), // y+
    )
    private val SHADE = floatArrayOf(1.0f, 0.5f, 0.75f, 0.75f, 0.9f, 0.6f)

    /**
     * Rasterises [cube] into a width×height [RenderedObject]: per pixel (sampled at pixel centres) the
     * nearest face's shaded colour and its z-depth, interpolated perspective-correctly (1/z is linear
     * in screen space); +inf and transparent where the cube is absent.
     */
    fun render(cube: Cube, k: Intrinsics, width: Int, height: Int, nearPlane: Double = 0.01): RenderedObject {
        require(width > 0 && height > 0) { "image size must be positive, got ${width}x$height" }
        val h = cube.size / 2
        val yaw = Math.toRadians(cube.yawDegrees)
        val c = cos(yaw)
        val s = sin(yaw)
        val vx = DoubleArray(8); val vy = DoubleArray(8); val vz = DoubleArray(8)
        for (i in 0 until 8) {
            val lx = if (i and 1 != 0) h else -h
            val ly = if (i and 2 != 0) h else -h
            val lz = if (i and 4 != 0) h else -h
            vx[i] = cube.x + c * lx + s * lz
            vy[i] = cube.y + ly
            vz[i] = cube.z - s * lx + c * lz
            require(vz[i] > nearPlane) { "cube must lie in front of the camera (z > $nearPlane), a corner has z=${vz[i]}" }
        }
        val px = DoubleArray(8) { k.fx * vx[it] / vz[it] + k.cx }
        val py = DoubleArray(8) { k.fy * vy[it] / vz[it] + k.cy }
        val invZ = DoubleArray(8) { 1.0 / vz[it] }
        val color = IntArray(width * height)
        val zbuf = FloatArray(width * height) { Float.POSITIVE_INFINITY }
        for ((f, face) in FACES.withIndex()) {
            val fc = shade(cube.color, SHADE[f])
            for ((a, b, d) in listOf(Triple(face[0], face[1], face[2]), Triple(face[0], face[2], face[3]))) {
                triangle(px, py, invZ, a, b, d, fc, width, height, color, zbuf)
            }
        }
        return RenderedObject(color, zbuf, width, height)
    }

    private fun triangle(px: DoubleArray, py: DoubleArray, iz: DoubleArray, a: Int, b: Int, c: Int, argb: Int,
                         w: Int, h: Int, color: IntArray, zbuf: FloatArray) {
        val area = (px[b] - px[a]) * (py[c] - py[a]) - (py[b] - py[a]) * (px[c] - px[a])
        if (kotlin.math.abs(area) < 1e-12) return
        val x0 = max(0, kotlin.math.floor(min(px[a], min(px[b], px[c])) - 0.5).toInt())
        val x1 = min(w - 1, kotlin.math.ceil(max(px[a], max(px[b], px[c])) - 0.5).toInt())
        val y0 = max(0, kotlin.math.floor(min(py[a], min(py[b], py[c])) - 0.5).toInt())
        val y1 = min(h - 1, kotlin.math.ceil(max(py[a], max(py[b], py[c])) - 0.5).toInt())
        for (y in y0..y1) {
            val sy = y + 0.5
            for (x in x0..x1) {
                val sx = x + 0.5
                val w0 = ((px[b] - sx) * (py[c] - sy) - (py[b] - sy) * (px[c] - sx)) / area
                val w1 = ((px[c] - sx) * (py[a] - sy) - (py[c] - sy) * (px[a] - sx)) / area
                val w2 = 1 - w0 - w1
                if (w0 < 0 || w1 < 0 || w2 < 0) continue
                val z = (1.0 / (w0 * iz[a] + w1 * iz[b] + w2 * iz[c])).toFloat()
                val i = y * w + x
                if (z < zbuf[i]) { zbuf[i] = z; color[i] = argb }
            }
        }
    }

    private fun shade(argb: Int, f: Float): Int {
        fun ch(shift: Int) = (((argb shr shift) and 0xFF) * f + 0.5f).toInt().coerceIn(0, 255)
        return Pixels.argb((argb ushr 24) and 0xFF, ch(16), ch(8), ch(0))
    }
}
